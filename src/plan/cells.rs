//! What becomes of `<cpu><numa>`: the cells to write, and what of the VM's
//! own cells carries over into them. libvirt keeps a cell's attributes and
//! children by its id, so that is how they carry over.

use roxmltree::Node;

use crate::domain::facts::Domain;
use crate::plan::refusal::Refusal;
use crate::properties::guestnuma::GuestCell;
use crate::xml::read::child;

/// `<cpu><numa>` rebuilt with these cells.
#[derive(Debug)]
pub struct CellsPlan<'a, 'i> {
    pub cells: Vec<NewCell<'a, 'i>>,
    /// With as many cells as before, `<numa>`'s other children (`<interconnects>`)
    /// still name valid cell ids, so they stay.
    pub keeps_other_children: bool,
}

/// One `<cell>`; its id is its position.
#[derive(Debug)]
pub struct NewCell<'a, 'i> {
    pub cell: GuestCell,
    pub mem_access: Option<String>,
    pub discard: Option<String>,
    /// The old cell of the same id, whose children (`<distances>`) this one keeps.
    pub children_of: Option<Node<'a, 'i>>,
}

/// The attributes a cell may carry that the guest depends on:
/// `memAccess='shared'` for vhost-user, `discard` for memory returned to the host.
const CARRIED: [&str; 2] = ["memAccess", "discard"];

/// With as many cells as before, cell k keeps old cell k's attributes and
/// children. With another count, an attribute all old cells share carries
/// to every new cell; one they differ in is a guess the plan refuses.
pub(crate) fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    cells: &[GuestCell],
) -> Result<CellsPlan<'a, 'i>, Refusal> {
    if domain.cpu_count > 1 {
        return Err(Refusal::SeveralCpus {
            count: domain.cpu_count,
        });
    }
    let same_count = domain.cells.len() == cells.len();
    if !same_count {
        check_hmat(domain, cells.len())?;
    }
    let mut values: Vec<[Option<String>; 2]> = vec![Default::default(); cells.len()];
    for (index, attribute) in CARRIED.into_iter().enumerate() {
        for (id, value) in carried(domain, attribute, cells.len())?
            .into_iter()
            .enumerate()
        {
            values[id][index] = value;
        }
    }
    let cells = cells
        .iter()
        .zip(values)
        .enumerate()
        .map(|(id, (cell, [mem_access, discard]))| NewCell {
            cell: cell.clone(),
            mem_access,
            discard,
            children_of: domain
                .cell_by_id(id as u32)
                .filter(|_| same_count)
                .map(|old| old.node),
        })
        .collect();
    Ok(CellsPlan {
        cells,
        keeps_other_children: same_count,
    })
}

/// Each new cell's value of `attribute`.
fn carried(
    domain: &Domain,
    attribute: &'static str,
    new: usize,
) -> Result<Vec<Option<String>>, Refusal> {
    let old: Vec<Option<String>> = (0..domain.cells.len() as u32)
        .map(|id| {
            let cell = domain.cell_by_id(id)?;
            cell.node.attribute(attribute).map(str::to_string)
        })
        .collect();
    if old.len() == new {
        return Ok(old);
    }
    let Some(first) = old.first() else {
        return Ok(vec![None; new]);
    };
    match old.iter().position(|value| value != first) {
        None => Ok(vec![first.clone(); new]),
        Some(other) => Err(Refusal::CellsDiffer {
            attribute,
            first: 0,
            other: other as u32,
            first_value: first.clone(),
            other_value: old[other].clone(),
            new,
            old: old.len(),
        }),
    }
}

/// HMAT (`<interconnects>` latencies and bandwidths, a cell's `<cache>`)
/// describes cells by id; with another count it cannot carry over, and
/// dropping it would change what the guest's firmware tables say.
fn check_hmat(domain: &Domain, new: usize) -> Result<(), Refusal> {
    let interconnects = domain
        .numa()
        .is_some_and(|numa| child(numa, "interconnects").is_some());
    let caches = domain
        .cells
        .iter()
        .any(|cell| child(cell.node, "cache").is_some());
    let what = match (interconnects, caches) {
        (true, true) => "<interconnects> and a cell's <cache>",
        (true, false) => "<interconnects>",
        (false, true) => "a cell's <cache>",
        (false, false) => return Ok(()),
    };
    Err(Refusal::HmatWouldVanish {
        what,
        new,
        old: domain.cells.len(),
    })
}

/// Whether the VM's cells give `<distances>`, which another cell count drops.
pub(crate) fn drops_distances(domain: &Domain, new: usize) -> bool {
    domain.cells.len() != new
        && domain
            .cells
            .iter()
            .any(|cell| child(cell.node, "distances").is_some())
}
