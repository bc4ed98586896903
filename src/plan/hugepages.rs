//! Huge pages per guest cell: `<memoryBacking>` kept in step with the cells
//! the hook writes, memory that is a whole number of pages, and, where a
//! cell is bound strict to host nodes, enough free pages there.
//!
//! A `<page nodeset>` names guest cells. When the cells change, a nodeset
//! that covered every old cell covers every new one (its meaning, "all of
//! them", is plain); any other that names a cell the VM loses is refused,
//! since which new cells it meant is anyone's guess.

use std::collections::{BTreeMap, HashMap};

use roxmltree::Node;

use crate::cpuset::{CpuSet, NodeSet};
use crate::domain::document::{attribute_kib, kib, libvirt_number, text_content};
use crate::domain::facts::Domain;
use crate::domain::hugepages::{self, Page, SYSTEM_PAGE_KIB};
use crate::domain::values::{libvirt_bitmap, BITMAP_SIZE};
use crate::host::hugepages::{default_size_kib, free_on_node};
use crate::host::paths::KernelTrees;
use crate::plan::backing::{self, PageEdit};
use crate::plan::binding::MemoryBinding;
use crate::plan::placement;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::guestnuma::{GuestCell, Size};
use crate::wording::count;
use crate::xml::read::{child, children};

pub(crate) struct HugePagesPlan<'a, 'i> {
    pub edits: Vec<PageEdit<'a, 'i>>,
    pub warnings: Vec<Warning>,
}

/// `cells` are the cells the edit writes (`None`: the VM's own stay).
pub(crate) fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    cells: Option<&[GuestCell]>,
    binding: &MemoryBinding,
    kernel: Option<&KernelTrees>,
) -> Result<HugePagesPlan<'a, 'i>, Refusal> {
    let mut pages = hugepages::pages(domain.root)?;
    let mut plan = HugePagesPlan {
        edits: Vec::new(),
        warnings: Vec::new(),
    };
    if pages.is_empty() {
        return Ok(plan);
    }
    if let Some(cells) = cells {
        plan.edits = match backing::reassign_pages(&mut pages, domain, cells) {
            Some(edits) => edits?,
            None => carry_over(&mut pages, domain.cells.len(), cells.len())?,
        };
        check_nodesets(&pages, domain.cells.len(), cells.len())?;
    }
    let default = match kernel {
        Some(kernel) if pages.iter().any(|p| p.size_kib.is_none()) => {
            match default_size_kib(&kernel.procfs) {
                Ok(size) => size,
                Err(err) => {
                    plan.warnings.push(skipped(err.to_string()));
                    None
                }
            }
        }
        _ => None,
    };
    let needs = needs(domain, cells, &pages, default, binding)?;
    if let Some(kernel) = kernel {
        if let Err(err) = check_free(&needs, &kernel.sysfs) {
            match err {
                FreeError::Refused(err) => return Err(err),
                FreeError::Unreadable(reason) => plan.warnings.push(skipped(reason)),
            }
        }
    }
    Ok(plan)
}

fn skipped(reason: String) -> Warning {
    Warning::CheckSkipped {
        check: "the huge page check",
        reason,
    }
}

/// Rewrites the nodesets that covered every old cell; refuses those that
/// name a cell the VM would lose.
fn carry_over<'a, 'i>(
    pages: &mut [Page<'a, 'i>],
    old_cells: usize,
    new_cells: usize,
) -> Result<Vec<PageEdit<'a, 'i>>, Refusal> {
    let (old_all, new_all) = (first_n(old_cells), first_n(new_cells));
    let mut edits = Vec::new();
    for page in pages.iter_mut() {
        let (Some(nodeset), Some(node)) = (&page.nodeset, page.node) else {
            continue;
        };
        if old_cells > 0 && old_all.is_subset(nodeset) {
            if *nodeset != new_all {
                edits.push(PageEdit {
                    page: node,
                    nodeset: new_all.clone(),
                });
                page.nodeset = Some(new_all.clone());
            }
            continue;
        }
        refuse_lost_cells(node, nodeset, &new_all, old_cells, new_cells)?;
    }
    Ok(edits)
}

/// libvirt refuses a `<page>` nodeset naming a cell the VM does not have.
fn refuse_lost_cells(
    page: Node,
    nodeset: &CpuSet,
    cells: &CpuSet,
    old_cells: usize,
    new_cells: usize,
) -> Result<(), Refusal> {
    let missing = nodeset.difference(cells);
    if missing.is_empty() {
        return Ok(());
    }
    Err(Refusal::PageNodesetWithoutCell {
        size: page.attribute("size").unwrap_or("").to_string(),
        nodeset: nodeset.clone(),
        missing,
        cells: new_cells,
        old_cells,
    })
}

/// libvirt refuses a nodeset naming a cell the VM does not have.
fn check_nodesets(pages: &[Page], old_cells: usize, new_cells: usize) -> Result<(), Refusal> {
    let new_all = first_n(new_cells);
    for page in pages {
        let (Some(nodeset), Some(node)) = (&page.nodeset, page.node) else {
            continue;
        };
        refuse_lost_cells(node, nodeset, &new_all, old_cells, new_cells)?;
    }
    Ok(())
}

fn first_n(count: usize) -> CpuSet {
    CpuSet::first_n(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Pages of one size a cell (`None`: the whole guest) needs, from the host
/// nodes it is bound to in strict mode.
struct PagesNeeded {
    place: Place,
    size_kib: u64,
    pages: u64,
    nodes: NodeSet,
    mode: &'static str,
}

/// The region of guest memory a demand is for.
enum Place {
    Cell(u32),
    Guest,
    /// A memory device, as the message names it.
    Device(String),
}

fn needs(
    domain: &Domain,
    cells: Option<&[GuestCell]>,
    pages: &[Page],
    default: Option<u64>,
    binding: &MemoryBinding,
) -> Result<Vec<PagesNeeded>, Refusal> {
    let mut found = Vec::new();
    for (cell, kib) in cell_memory(domain, cells) {
        // libvirt serves a guest without cells as it serves cell 0.
        let Some(page) = hugepages::page_for(pages, cell.or(Some(0))) else {
            continue;
        };
        let Some(size_kib) = page.size_kib.or(default) else {
            continue;
        };
        if size_kib <= SYSTEM_PAGE_KIB || size_kib == 0 {
            continue;
        }
        if kib % size_kib != 0 {
            return Err(Refusal::NotWholePages {
                place: place(cell),
                kib,
                size: Size(size_kib).to_string(),
                size_kib,
            });
        }
        if let Some(bind) = binding.of(cell) {
            if let Some(nodes) = bind.strict_nodes() {
                found.push(PagesNeeded {
                    place: cell.map_or(Place::Guest, Place::Cell),
                    size_kib,
                    pages: kib / size_kib,
                    nodes: nodes.clone(),
                    mode: bind.confining_mode(),
                });
            }
        }
    }
    found.extend(device_needs(domain, pages, default, binding));
    Ok(found)
}

/// What each DIMM and virtio-mem device preallocates: its own page size
/// (`<source><pagesize>`) or its cell's, on its own nodes
/// (`<source><nodemask>`, in the `<numatune><memory>` mode) or its cell's
/// (qemuBuildMemoryBackendProps). An NVDIMM is backed by its file.
fn device_needs(
    domain: &Domain,
    pages: &[Page],
    default: Option<u64>,
    binding: &MemoryBinding,
) -> Vec<PagesNeeded> {
    let mut found = Vec::new();
    let devices = children(domain.root, "devices").flat_map(|d| children(d, "memory"));
    for (index, device) in devices.enumerate() {
        let model = device.attribute("model").unwrap_or("");
        let size = match model {
            "dimm" => child_kib(device, &["target", "size"]),
            "virtio-mem" => child_kib(device, &["target", "requested"]),
            _ => None,
        };
        let Some(kib) = size.filter(|&kib| kib > 0) else {
            continue;
        };
        let node = child_number(device, &["target", "node"]);
        let own_size = child_kib(device, &["source", "pagesize"]);
        let size_kib = own_size.or_else(|| {
            let page = hugepages::page_for(pages, Some(node.unwrap_or(0)))?;
            page.size_kib.or(default)
        });
        let Some(size_kib) = size_kib.filter(|&s| s > SYSTEM_PAGE_KIB) else {
            continue;
        };
        let nodemask = path(device, &["source", "nodemask"])
            .and_then(|n| libvirt_bitmap(&text_content(n), BITMAP_SIZE));
        let bind = binding.of(node);
        // A nodemask binds in the <numatune><memory> mode (strict by default).
        let (mode, nodes) = match (nodemask, bind) {
            (Some(mask), _) => match binding
                .memory
                .as_ref()
                .map_or("strict", |b| b.mode.as_str())
            {
                "strict" => ("strict", mask),
                "restrictive" => ("restrictive", mask),
                _ => continue,
            },
            (None, Some(bind)) => match bind.strict_nodes() {
                Some(nodes) => (bind.confining_mode(), nodes.clone()),
                None => continue,
            },
            (None, None) => continue,
        };
        let alias = path(device, &["alias"]).and_then(|a| a.attribute("name"));
        let name = match alias {
            Some(alias) => format!("{model} {alias}"),
            None => format!("{model} #{}", index + 1),
        };
        found.push(PagesNeeded {
            place: Place::Device(name),
            size_kib,
            pages: kib.div_ceil(size_kib),
            nodes,
            mode,
        });
    }
    found
}

fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&'static str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |at, name| child(at, name))
}

fn child_kib(node: Node, names: &[&'static str]) -> Option<u64> {
    kib(path(node, names)?).ok()
}

fn child_number(node: Node, names: &[&'static str]) -> Option<u32> {
    libvirt_number(&text_content(path(node, names)?)).and_then(|n| u32::try_from(n).ok())
}

fn place(cell: Option<u32>) -> String {
    match cell {
        Some(cell) => format!("cell {cell}"),
        None => "the guest's memory".to_string(),
    }
}

/// Each cell's memory in KiB: the cells written, else the VM's own (one
/// libvirt could not read is left to it), else all memory outside devices.
pub(crate) fn cell_memory(domain: &Domain, cells: Option<&[GuestCell]>) -> Vec<(Option<u32>, u64)> {
    if let Some(cells) = cells {
        return (0u32..)
            .zip(cells)
            .map(|(id, cell)| (Some(id), cell.memory_kib))
            .collect();
    }
    let old = &domain.cells;
    if old.is_empty() {
        let memory = domain
            .memory_kib
            .map(|kib| kib.saturating_sub(domain.device_memory_kib));
        return memory.map(|kib| (None, kib)).into_iter().collect();
    }
    old.iter()
        .filter_map(|cell| {
            let node = cell.node;
            let kib = attribute_kib(node.attribute("memory")?, node.attribute("unit"))?;
            Some((Some(cell.id), kib))
        })
        .collect()
}

/// Why the free pages check did not pass: a refusal, or a file it could
/// not read, which only skips the check.
enum FreeError {
    Refused(Refusal),
    Unreadable(String),
}

/// The needs of one page size on one set of nodes, added up.
#[derive(Debug, Clone)]
struct Group {
    nodes: NodeSet,
    pages: u64,
    cells: CpuSet,
    devices: Vec<String>,
    mode: &'static str,
}

/// Every need against the free pages of the nodes it is bound to: two
/// regions bound to overlapping nodes draw on one pool, so all of one page
/// size are placed together (`placement::shortfall`, no cap on how many
/// node sets).
fn check_free(needs: &[PagesNeeded], sysfs: &std::path::Path) -> Result<(), FreeError> {
    let mut by_size: BTreeMap<u64, Vec<Group>> = BTreeMap::new();
    for need in needs {
        let groups = by_size.entry(need.size_kib).or_default();
        let index = match groups.iter().position(|g| g.nodes == need.nodes) {
            Some(index) => index,
            None => {
                groups.push(Group {
                    nodes: need.nodes.clone(),
                    pages: 0,
                    cells: CpuSet::new(),
                    devices: Vec::new(),
                    mode: need.mode,
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        group.pages = group.pages.saturating_add(need.pages);
        match &need.place {
            Place::Cell(cell) => group.cells.insert(*cell),
            Place::Guest => {}
            Place::Device(name) => group.devices.push(name.clone()),
        }
    }
    let mut free_pages = FreePages {
        sysfs,
        known: HashMap::new(),
    };
    for (&size, groups) in &by_size {
        let demands: Vec<(NodeSet, u64)> =
            groups.iter().map(|g| (g.nodes.clone(), g.pages)).collect();
        let Some(short) = placement::shortfall(&demands, |node| free_pages.on(node, size))? else {
            continue;
        };
        let inside: Vec<&Group> = short.demands.iter().map(|&i| &groups[i]).collect();
        return Err(FreeError::Refused(Refusal::NotEnoughHugePages {
            restrictive: inside[0].mode == "restrictive",
            place: place_of(&inside),
            size: Size(size).to_string(),
            nodes: short.nodes,
            needed: short.needed,
            free: short.have,
        }));
    }
    Ok(())
}

/// The cells and devices of some groups, as the message names them.
fn place_of(groups: &[&Group]) -> String {
    let cells = groups.iter().fold(CpuSet::new(), |mut all, g| {
        g.cells.iter().for_each(|cell| all.insert(cell));
        all
    });
    let devices: Vec<&str> = groups
        .iter()
        .flat_map(|g| g.devices.iter().map(String::as_str))
        .collect();
    let cells = match cells.len() {
        0 if devices.is_empty() => Some("the guest's memory".to_string()),
        0 => None,
        1 => Some(format!("cell {cells}")),
        _ => Some(format!("cells {cells}")),
    };
    let devices = match devices.as_slice() {
        [] => None,
        [one] => Some(format!("the memory device {one}")),
        many => Some(format!("the memory devices {}", many.join(", "))),
    };
    match (cells, devices) {
        (Some(cells), Some(devices)) => format!("{cells} and {devices}"),
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => String::new(),
    }
}

/// Each node's free pages, read once.
struct FreePages<'p> {
    sysfs: &'p std::path::Path,
    known: HashMap<(u32, u64), u64>,
}

impl FreePages<'_> {
    fn on(&mut self, node: u32, size_kib: u64) -> Result<u64, FreeError> {
        if let Some(&pages) = self.known.get(&(node, size_kib)) {
            return Ok(pages);
        }
        let pages = free_on_node(self.sysfs, node, size_kib)
            .map_err(|err| FreeError::Unreadable(err.to_string()))?;
        self.known.insert((node, size_kib), pages);
        Ok(pages)
    }
}

/// For the summary line: where the carried-over nodesets now point.
pub(crate) fn summary(edits: &[PageEdit]) -> Option<String> {
    let said: Vec<String> = edits
        .iter()
        .map(|edit| {
            format!(
                "huge page nodeset carried over to {} ({})",
                count(edit.nodeset.len(), "cell"),
                edit.nodeset
            )
        })
        .collect();
    (!said.is_empty()).then(|| said.join(", "))
}
