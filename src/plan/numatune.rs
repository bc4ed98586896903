//! What becomes of `<numatune>`: its `<memory>` and one `<memnode>` per
//! guest cell bound to host nodes, each kept as the VM had it or written
//! anew, and the combinations libvirt would refuse at start.

use roxmltree::Node;

use crate::cpuset::{CpuSet, NodeSet};
use crate::domain::facts::Domain;
use crate::domain::values::{libvirt_bitmap, BITMAP_SIZE};
use crate::plan::backing;
use crate::plan::refusal::Refusal;
use crate::properties::guestnuma::GuestCell;
use crate::properties::numatune::{MemoryMode, NumaTune, Placement};
use crate::wording::Ids;
use crate::xml::read::child;

/// `<numatune>` rebuilt whole: its only children are `<memory>` and the
/// memnodes, and the plan decides all of them.
#[derive(Debug)]
pub struct NumaTunePlan<'a, 'i> {
    pub memory: Option<MemoryElement<'a, 'i>>,
    pub memnodes: Vec<Memnode<'a, 'i>>,
}

#[derive(Debug)]
pub enum MemoryElement<'a, 'i> {
    New(NumaTune),
    Kept(Node<'a, 'i>),
}

/// One `<memnode>`, in cell id order.
#[derive(Debug)]
pub struct Memnode<'a, 'i> {
    pub cellid: u32,
    pub mode: String,
    pub source: MemnodeSource<'a, 'i>,
}

#[derive(Debug)]
pub enum MemnodeSource<'a, 'i> {
    /// The VM's own element, re-emitted byte for byte.
    Kept(Node<'a, 'i>),
    /// A guestnuma cell's host nodes.
    Bound(NodeSet),
}

/// How libvirt will place the guest's memory once the edit is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemoryPlacement {
    Static,
    /// `<memory placement='auto'>`, or the numatune property's `auto`.
    Numad,
    /// `<vcpu placement='auto'>` with no node set in `<numatune>`.
    NumadFromVcpu,
}

/// `None` leaves `<numatune>` exactly as it is.
pub(crate) fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    numatune: Option<&NumaTune>,
    cells: Option<&[GuestCell]>,
) -> Result<Option<NumaTunePlan<'a, 'i>>, Refusal> {
    let existing = child(domain.root, "numatune");
    let old_memory = existing.and_then(|node| child(node, "memory"));
    let binds_cells = cells.is_some_and(|cells| cells.iter().any(|c| c.host_nodes.is_some()));
    if numatune.is_none() && !binds_cells && !(cells.is_some() && existing.is_some()) {
        return Ok(None);
    }
    if domain.numatune_count > 1 {
        return Err(Refusal::SeveralNumatunes {
            count: domain.numatune_count,
        });
    }
    let memory_mode = final_mode(numatune, old_memory);
    let cell_count = cells.map_or(domain.cells.len(), <[GuestCell]>::len);
    if numatune.is_none() {
        check_engine_memnodes(domain, numatune, cells)?;
    }
    let memnodes = memnodes(domain, &memory_mode, cells, cell_count)?;
    let all_kept = memnodes
        .iter()
        .all(|m| matches!(m.source, MemnodeSource::Kept(_)));
    if numatune.is_none() && all_kept && memnodes.len() == domain.memnodes.len() {
        return Ok(None);
    }
    let has_memory = old_memory.is_some() || numatune.is_some();
    let placement = final_placement(domain, numatune, old_memory);
    check_modes(&memory_mode, placement, &memnodes, has_memory)?;
    if numatune.is_some() {
        check_engine_memnodes(domain, numatune, cells)?;
    }
    let memory = match (numatune, old_memory) {
        (Some(tune), _) => Some(MemoryElement::New(tune.clone())),
        (None, Some(old)) => Some(MemoryElement::Kept(old)),
        (None, None) => None,
    };
    Ok(Some(NumaTunePlan { memory, memnodes }))
}

/// The mode of the `<memory>` the edit leaves: the one asked for, else the
/// one there, else libvirt's default.
fn final_mode(numatune: Option<&NumaTune>, old: Option<Node>) -> String {
    match (numatune, old) {
        (Some(tune), _) => tune.mode.to_string(),
        (None, Some(old)) => old
            .attribute("mode")
            .unwrap_or(MemoryMode::Strict.as_str())
            .to_string(),
        (None, None) => MemoryMode::Strict.to_string(),
    }
}

/// libvirt's own rule (numa_conf.c): memory is placed by numad when
/// `<memory>` says so, or when `<vcpu placement='auto'>` and `<memory>`
/// is missing or names no node set.
fn final_placement(
    domain: &Domain,
    numatune: Option<&NumaTune>,
    old: Option<Node>,
) -> MemoryPlacement {
    let (auto, nodeset) = match (numatune, old) {
        (Some(tune), _) => (
            tune.placement == Placement::Auto,
            tune.placement != Placement::Auto,
        ),
        (None, Some(old)) => (
            old.attribute("placement") == Some("auto"),
            old.has_attribute("nodeset") || old.attribute("placement") == Some("static"),
        ),
        (None, None) => (false, false),
    };
    match (auto, domain.vcpu_placement_auto && !nodeset) {
        (true, _) => MemoryPlacement::Numad,
        (false, true) => MemoryPlacement::NumadFromVcpu,
        (false, false) => MemoryPlacement::Static,
    }
}

/// The engine writes a `<memnode>` per NUMA node pinned in Edit VM > Host
/// (engine-native vNUMA). Each decides where its cell's memory goes, so a
/// `numatune` beside one that stays reaches none of that cell's memory,
/// and new cells of other vCPUs would carry a binding made for another
/// node (or drop it). Both are refused rather than left without effect; a
/// cell guestnuma gives host nodes replaces the engine's memnode.
fn check_engine_memnodes(
    domain: &Domain,
    numatune: Option<&NumaTune>,
    cells: Option<&[GuestCell]>,
) -> Result<(), Refusal> {
    let rebound = |cellid: u32| {
        cells
            .and_then(|cells| cells.get(cellid as usize))
            .is_some_and(|cell| cell.host_nodes.is_some())
    };
    let kept: Vec<_> = domain
        .memnodes
        .iter()
        .filter(|memnode| !rebound(memnode.cellid))
        .collect();
    if let (Some(_), false) = (numatune, kept.is_empty()) {
        let cells = kept.iter().map(|memnode| memnode.cellid).collect();
        return Err(Refusal::EngineMemnodesOutrankNumatune { cells });
    }
    let Some(cells) = cells else {
        return Ok(());
    };
    if cells.iter().all(|cell| cell.host_nodes.is_some()) {
        // Every cell bound anew: nothing of the engine's binding is left.
        return Ok(());
    }
    for memnode in kept {
        let old_vcpus = domain
            .cells
            .iter()
            .find(|cell| cell.id == memnode.cellid)
            .and_then(|cell| cell.node.attribute("cpus")?.parse::<CpuSet>().ok());
        let new_vcpus = cells.get(memnode.cellid as usize).map(|cell| &cell.cpus);
        if old_vcpus.is_some() && old_vcpus.as_ref() == new_vcpus {
            continue;
        }
        return Err(Refusal::EngineMemnodeMoved {
            cellid: memnode.cellid,
            nodes: memnode.node.attribute("nodeset").unwrap_or("").to_string(),
            new_vcpus: new_vcpus.cloned(),
        });
    }
    Ok(())
}

/// The VM's memnodes for cells that stay and are not rebound, then one
/// per cell the guestnuma value binds, in cell id order.
fn memnodes<'a, 'i>(
    domain: &Domain<'a, 'i>,
    mode: &str,
    cells: Option<&[GuestCell]>,
    cell_count: usize,
) -> Result<Vec<Memnode<'a, 'i>>, Refusal> {
    if let Some(cells) = cells {
        if let Some(mapped) = follow_memory(domain, mode, cells) {
            return mapped;
        }
    }
    let mut memnodes = Vec::new();
    for old in &domain.memnodes {
        let cellid = old.cellid;
        if cellid as usize >= cell_count && cells.is_none() {
            return Err(Refusal::MemnodeWithoutCell {
                cellid,
                cells: cell_count,
            });
        }
        let rebound = cells
            .and_then(|cells| cells.get(cellid as usize))
            .is_some_and(|cell| cell.host_nodes.is_some());
        if rebound || cellid as usize >= cell_count {
            continue;
        }
        memnodes.push(Memnode {
            cellid,
            mode: old.node.attribute("mode").unwrap_or("strict").to_string(),
            source: MemnodeSource::Kept(old.node),
        });
    }
    for (cellid, cell) in cells.unwrap_or_default().iter().enumerate() {
        if let Some(nodes) = &cell.host_nodes {
            if mode == MemoryMode::Preferred.as_str() && nodes.len() > 1 {
                return Err(Refusal::PreferredManyNodes {
                    cell: cellid as u32,
                    nodes: nodes.clone(),
                });
            }
            memnodes.push(Memnode {
                cellid: cellid as u32,
                mode: mode.to_string(),
                source: MemnodeSource::Bound(nodes.clone()),
            });
        }
    }
    memnodes.sort_by_key(|m| m.cellid);
    Ok(memnodes)
}

/// The memnodes of new cells: each cell guestnuma binds gets its host
/// nodes; each other cell keeps the binding of the old memory it takes
/// (the backing model: memory in cell order), written as the old memnode
/// where it is the same cell, else anew. `None` when the old cells or
/// memnodes cannot be read as libvirt would (libvirt refuses those).
fn follow_memory<'a, 'i>(
    domain: &Domain<'a, 'i>,
    mode: &str,
    cells: &[GuestCell],
) -> Option<Result<Vec<Memnode<'a, 'i>>, Refusal>> {
    let old_sizes = domain.cell_sizes().filter(|sizes| !sizes.is_empty())?;
    let mut old_binds: Vec<Option<(String, NodeSet, Node<'a, 'i>)>> = vec![None; old_sizes.len()];
    for old in &domain.memnodes {
        let slot = old_binds.get_mut(old.cellid as usize)?;
        let nodes = libvirt_bitmap(old.node.attribute("nodeset")?, BITMAP_SIZE)?;
        let old_mode = old.node.attribute("mode").unwrap_or("strict").to_string();
        *slot = Some((old_mode, nodes, old.node));
    }
    let new_sizes: Vec<u64> = cells.iter().map(|cell| cell.memory_kib).collect();
    let taken = backing::taken_from(&old_sizes, &new_sizes);
    let mut memnodes = Vec::new();
    for (cellid, (cell, taken)) in (0u32..).zip(cells.iter().zip(&taken)) {
        if let Some(nodes) = &cell.host_nodes {
            if mode == MemoryMode::Preferred.as_str() && nodes.len() > 1 {
                let nodes = nodes.clone();
                return Some(Err(Refusal::PreferredManyNodes {
                    cell: cellid,
                    nodes,
                }));
            }
            let source = MemnodeSource::Bound(nodes.clone());
            let mode = mode.to_string();
            memnodes.push(Memnode {
                cellid,
                mode,
                source,
            });
            continue;
        }
        let bind_of = |i: usize| {
            old_binds[i]
                .as_ref()
                .map(|(m, n, _)| (m.clone(), n.clone()))
        };
        match backing::uniform(taken, bind_of) {
            Ok(Some(Some((old_mode, nodes)))) => {
                let source = match taken.as_slice() {
                    [only] if *only == cellid as usize => {
                        MemnodeSource::Kept(old_binds[*only].as_ref()?.2)
                    }
                    _ => MemnodeSource::Bound(nodes),
                };
                memnodes.push(Memnode {
                    cellid,
                    mode: old_mode,
                    source,
                });
            }
            Ok(_) => {}
            Err((a, b)) => {
                let describe = |i: usize| match &old_binds[i] {
                    Some((m, n, _)) => format!("a <memnode> {m} on {}", Ids("node", n)),
                    None => "the <numatune><memory> binding".to_string(),
                };
                let old = format!("old cells {a} and {b}").into();
                let (first, second) = (describe(a).into(), describe(b).into());
                let what = "host binding";
                let cell = cellid as usize;
                return Some(Err(Refusal::CellSpansBackings {
                    cell,
                    old,
                    what,
                    first,
                    second,
                }));
            }
        }
    }
    Some(Ok(memnodes))
}

/// What libvirt refuses at start: per-cell binding under numad's placement,
/// and `restrictive` beside any other mode.
fn check_modes(
    memory_mode: &str,
    placement: MemoryPlacement,
    memnodes: &[Memnode],
    has_memory: bool,
) -> Result<(), Refusal> {
    match (placement, memnodes.is_empty()) {
        (MemoryPlacement::Numad, false) => return Err(Refusal::MemnodesWithAuto),
        (MemoryPlacement::NumadFromVcpu, false) => return Err(Refusal::MemnodesWithVcpuAuto),
        _ => {}
    }
    let mut modes: Vec<&str> = memnodes.iter().map(|m| m.mode.as_str()).collect();
    if has_memory {
        modes.push(memory_mode);
    }
    let restrictive = modes
        .iter()
        .filter(|&&m| m == MemoryMode::Restrictive.as_str())
        .count();
    if restrictive > 0 && restrictive < modes.len() {
        modes.sort_unstable();
        modes.dedup();
        return Err(Refusal::RestrictiveMix {
            modes: modes.join(", "),
        });
    }
    Ok(())
}
