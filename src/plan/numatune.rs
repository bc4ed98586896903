//! What becomes of `<numatune>`: its `<memory>` and one `<memnode>` per
//! guest cell bound to host nodes, each kept as the VM had it or written
//! anew, and the combinations libvirt would refuse at start.

use roxmltree::Node;

use crate::cpuset::NodeSet;
use crate::domain::facts::Domain;
use crate::domain::xml_edit::{child, children};
use crate::grammar::guestnuma::GuestCell;
use crate::grammar::numatune::{MemoryMode, NumaTune, Placement};
use crate::plan::error::FitError;

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

/// `None` leaves `<numatune>` exactly as it is.
pub fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    numatune: Option<&NumaTune>,
    cells: Option<&[GuestCell]>,
) -> Result<Option<NumaTunePlan<'a, 'i>>, FitError> {
    let existing = child(domain.root, "numatune");
    let old_memory = existing.and_then(|node| child(node, "memory"));
    let binds_cells = cells.is_some_and(|cells| cells.iter().any(|c| c.host_nodes.is_some()));
    if numatune.is_none() && !binds_cells && !(cells.is_some() && existing.is_some()) {
        return Ok(None);
    }
    let (memory_mode, auto) = final_memory(numatune, old_memory);
    let cell_count = cells.map_or(domain.cells().len(), <[GuestCell]>::len);
    let memnodes = memnodes(existing, &memory_mode, cells, cell_count)?;
    let old_count = existing.map_or(0, |node| children(node, "memnode").count());
    let all_kept = memnodes
        .iter()
        .all(|m| matches!(m.source, MemnodeSource::Kept(_)));
    if numatune.is_none() && all_kept && memnodes.len() == old_count {
        return Ok(None);
    }
    let has_memory = old_memory.is_some() || numatune.is_some();
    check_modes(&memory_mode, auto, &memnodes, has_memory)?;
    let memory = match (numatune, old_memory) {
        (Some(tune), _) => Some(MemoryElement::New(tune.clone())),
        (None, Some(old)) => Some(MemoryElement::Kept(old)),
        (None, None) => None,
    };
    Ok(Some(NumaTunePlan { memory, memnodes }))
}

/// The mode of the `<memory>` the edit leaves (the one asked for, else the
/// one there, else libvirt's default), and whether numad places it.
fn final_memory(numatune: Option<&NumaTune>, old: Option<Node>) -> (String, bool) {
    match (numatune, old) {
        (Some(tune), _) => (tune.mode.to_string(), tune.placement == Placement::Auto),
        (None, Some(old)) => {
            let mode = old.attribute("mode").unwrap_or(MemoryMode::Strict.as_str());
            (mode.to_string(), old.attribute("placement") == Some("auto"))
        }
        (None, None) => (MemoryMode::Strict.to_string(), false),
    }
}

/// The VM's memnodes for cells that stay and are not rebound, then one
/// per cell the guestnuma value binds, in cell id order.
fn memnodes<'a, 'i>(
    existing: Option<Node<'a, 'i>>,
    mode: &str,
    cells: Option<&[GuestCell]>,
    cell_count: usize,
) -> Result<Vec<Memnode<'a, 'i>>, FitError> {
    let mut memnodes = Vec::new();
    for old in existing
        .into_iter()
        .flat_map(|node| children(node, "memnode"))
    {
        let Some(cellid) = old
            .attribute("cellid")
            .and_then(|id| id.parse::<u32>().ok())
        else {
            continue;
        };
        if cellid as usize >= cell_count && cells.is_none() {
            return Err(FitError::MemnodeWithoutCell {
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
            mode: old.attribute("mode").unwrap_or("strict").to_string(),
            source: MemnodeSource::Kept(old),
        });
    }
    for (cellid, cell) in cells.unwrap_or_default().iter().enumerate() {
        if let Some(nodes) = &cell.host_nodes {
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

/// What libvirt refuses at start: per-cell binding under numad's placement,
/// and `restrictive` beside any other mode.
fn check_modes(
    memory_mode: &str,
    auto: bool,
    memnodes: &[Memnode],
    has_memory: bool,
) -> Result<(), FitError> {
    if auto && !memnodes.is_empty() {
        return Err(FitError::MemnodesWithAuto);
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
        return Err(FitError::RestrictiveMix {
            modes: modes.join(", "),
        });
    }
    Ok(())
}
