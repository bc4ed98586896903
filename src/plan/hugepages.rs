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
use crate::domain::document::attribute_kib;
use crate::domain::facts::Domain;
use crate::domain::hugepages::{self, Page, SYSTEM_PAGE_KIB};
use crate::host::files::KernelFiles;
use crate::host::hugepages::{default_size_kib, free_on_node};
use crate::plan::binding::MemoryBinding;
use crate::plan::error::FitError;
use crate::plan::warning::Warning;
use crate::properties::guestnuma::{GuestCell, Size};
use crate::wording::count;

/// A `<page>` whose nodeset the edit rewrites.
#[derive(Debug)]
pub struct PageEdit<'a, 'i> {
    pub page: Node<'a, 'i>,
    pub nodeset: CpuSet,
}

/// Past this many distinct (nodes, size) demands, only each one alone is
/// compared with the free pages, not every union of them.
const MAX_GROUPS_COMPARED_TOGETHER: usize = 10;

pub struct HugePagesPlan<'a, 'i> {
    pub edits: Vec<PageEdit<'a, 'i>>,
    pub warnings: Vec<Warning>,
}

/// `cells` are the cells the edit writes (`None`: the VM's own stay).
pub fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    cells: Option<&[GuestCell]>,
    binding: &MemoryBinding,
    files: Option<&KernelFiles>,
) -> Result<HugePagesPlan<'a, 'i>, FitError> {
    let mut pages = hugepages::pages(domain.root)?;
    let mut plan = HugePagesPlan {
        edits: Vec::new(),
        warnings: Vec::new(),
    };
    if pages.is_empty() {
        return Ok(plan);
    }
    if let Some(cells) = cells {
        plan.edits = carry_over(&mut pages, domain.cells.len(), cells.len())?;
    }
    let default = match files {
        Some(files) if pages.iter().any(|p| p.size_kib.is_none()) => {
            match default_size_kib(&files.procfs) {
                Ok(size) => size,
                Err(err) => {
                    plan.warnings.push(skipped(err.to_string()));
                    None
                }
            }
        }
        _ => None,
    };
    let demands = demands(domain, cells, &pages, default, binding)?;
    if let Some(files) = files {
        if let Err(err) = check_free(&demands, &files.sysfs) {
            match err {
                Shortfall::Refused(err) => return Err(err),
                Shortfall::Unreadable(reason) => plan.warnings.push(skipped(reason)),
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
) -> Result<Vec<PageEdit<'a, 'i>>, FitError> {
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
        let missing = nodeset.difference(&new_all);
        if !missing.is_empty() {
            return Err(FitError::PageNodesetWithoutCell {
                size: node.attribute("size").unwrap_or("").to_string(),
                nodeset: nodeset.clone(),
                missing,
                cells: new_cells,
                old_cells,
            });
        }
    }
    Ok(edits)
}

fn first_n(count: usize) -> CpuSet {
    CpuSet::first_n(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Pages of one size a cell (`None`: the whole guest) needs, from the host
/// nodes it is bound to in strict mode.
struct Demand {
    cell: Option<u32>,
    size_kib: u64,
    pages: u64,
    nodes: NodeSet,
}

fn demands(
    domain: &Domain,
    cells: Option<&[GuestCell]>,
    pages: &[Page],
    default: Option<u64>,
    binding: &MemoryBinding,
) -> Result<Vec<Demand>, FitError> {
    let mut found = Vec::new();
    for (cell, kib) in cell_memory(domain, cells) {
        let Some(page) = hugepages::page_for(pages, cell) else {
            continue;
        };
        let Some(size_kib) = page.size_kib.or(default) else {
            continue;
        };
        if size_kib <= SYSTEM_PAGE_KIB || size_kib == 0 {
            continue;
        }
        if kib % size_kib != 0 {
            return Err(FitError::NotWholePages {
                place: place(cell),
                kib,
                size: Size(size_kib).to_string(),
                size_kib,
            });
        }
        if let Some(nodes) = binding.of(cell).and_then(|bind| bind.strict_nodes()) {
            found.push(Demand {
                cell,
                size_kib,
                pages: kib / size_kib,
                nodes: nodes.clone(),
            });
        }
    }
    Ok(found)
}

fn place(cell: Option<u32>) -> String {
    match cell {
        Some(cell) => format!("cell {cell}"),
        None => "the guest's memory".to_string(),
    }
}

/// Each cell's memory in KiB: the cells written, else the VM's own (one
/// libvirt could not read is left to it), else all memory outside devices.
fn cell_memory(domain: &Domain, cells: Option<&[GuestCell]>) -> Vec<(Option<u32>, u64)> {
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

enum Shortfall {
    Refused(FitError),
    Unreadable(String),
}

/// The demands of one page size on one set of nodes, added up.
#[derive(Debug, Clone)]
struct Group {
    nodes: NodeSet,
    pages: u64,
    cells: CpuSet,
}

/// Every group of demands against the free pages of the nodes they share:
/// two cells bound to one node draw on one pool, so each union of node sets
/// must hold the demands that fit inside it.
fn check_free(demands: &[Demand], sysfs: &std::path::Path) -> Result<(), Shortfall> {
    let mut by_size: BTreeMap<u64, Vec<Group>> = BTreeMap::new();
    for demand in demands {
        let groups = by_size.entry(demand.size_kib).or_default();
        let index = match groups.iter().position(|g| g.nodes == demand.nodes) {
            Some(index) => index,
            None => {
                groups.push(Group {
                    nodes: demand.nodes.clone(),
                    pages: 0,
                    cells: CpuSet::new(),
                });
                groups.len() - 1
            }
        };
        groups[index].pages = groups[index].pages.saturating_add(demand.pages);
        if let Some(cell) = demand.cell {
            groups[index].cells.insert(cell);
        }
    }
    let mut free_pages = FreePages {
        sysfs,
        known: HashMap::new(),
    };
    for (&size, groups) in &by_size {
        for union in unions(groups) {
            let inside: Vec<&Group> = groups
                .iter()
                .filter(|g| g.nodes.is_subset(&union))
                .collect();
            let needed = inside
                .iter()
                .fold(0u64, |sum, g| sum.saturating_add(g.pages));
            let mut free = 0u64;
            for node in union.iter() {
                free = free.saturating_add(free_pages.on(node, size)?);
            }
            if needed > free {
                let cells = inside.iter().fold(CpuSet::new(), |mut all, g| {
                    g.cells.iter().for_each(|cell| all.insert(cell));
                    all
                });
                let place = match cells.len() {
                    0 => "the guest's memory".to_string(),
                    1 => format!("cell {cells}"),
                    _ => format!("cells {cells}"),
                };
                return Err(Shortfall::Refused(FitError::NotEnoughHugePages {
                    place,
                    size: Size(size).to_string(),
                    nodes: union,
                    needed,
                    free,
                }));
            }
        }
    }
    Ok(())
}

/// Each node's free pages, read once.
struct FreePages<'p> {
    sysfs: &'p std::path::Path,
    known: HashMap<(u32, u64), u64>,
}

impl FreePages<'_> {
    fn on(&mut self, node: u32, size_kib: u64) -> Result<u64, Shortfall> {
        if let Some(&pages) = self.known.get(&(node, size_kib)) {
            return Ok(pages);
        }
        let pages = free_on_node(self.sysfs, node, size_kib)
            .map_err(|err| Shortfall::Unreadable(err.to_string()))?;
        self.known.insert((node, size_kib), pages);
        Ok(pages)
    }
}

/// The node sets to compare: each group's own, then, for a few groups,
/// every union of them, smallest first.
fn unions(groups: &[Group]) -> Vec<NodeSet> {
    if groups.len() > MAX_GROUPS_COMPARED_TOGETHER {
        return groups.iter().map(|group| group.nodes.clone()).collect();
    }
    let mut masks: Vec<u32> = (1..1u32 << groups.len()).collect();
    masks.sort_by_key(|mask| (mask.count_ones(), *mask));
    let mut seen = Vec::new();
    for mask in masks {
        let mut union = NodeSet::new();
        for (index, group) in groups.iter().enumerate() {
            if mask & (1 << index) != 0 {
                for &(lo, hi) in group.nodes.ranges() {
                    union.insert_range(lo, hi);
                }
            }
        }
        if !seen.contains(&union) {
            seen.push(union);
        }
    }
    seen
}

/// For the summary line: where the carried-over nodesets now point.
pub fn summary(edits: &[PageEdit]) -> Option<String> {
    let edit = edits.first()?;
    Some(format!(
        "huge page nodeset carried over to {} ({})",
        count(edit.nodeset.len(), "cell"),
        edit.nodeset
    ))
}
