//! What becomes of `<cpu><numa>`: the cells to write, and what of the VM's
//! own cells carries over into them.

use roxmltree::Node;

use crate::domain::facts::Domain;
use crate::grammar::guestnuma::GuestCell;

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
    /// The old cell whose children (`<distances>`) this one keeps.
    pub children_of: Option<Node<'a, 'i>>,
}

/// An attribute every old cell shared (`memAccess='shared'` for vhost-user,
/// `discard`) carries over; with the same number of cells each keeps its
/// inner elements, which name cell ids and so go when the count changes.
pub fn plan<'a, 'i>(domain: &Domain<'a, 'i>, cells: &[GuestCell]) -> CellsPlan<'a, 'i> {
    let old = domain.cells();
    let shared = |name: &str| -> Option<String> {
        let first = old.first()?.attribute(name)?;
        old.iter()
            .all(|cell| cell.attribute(name) == Some(first))
            .then(|| first.to_string())
    };
    let (mem_access, discard) = (shared("memAccess"), shared("discard"));
    let same_count = old.len() == cells.len();
    let cells = cells
        .iter()
        .enumerate()
        .map(|(id, cell)| NewCell {
            cell: cell.clone(),
            mem_access: mem_access.clone(),
            discard: discard.clone(),
            children_of: old.get(id).copied().filter(|_| same_count),
        })
        .collect();
    CellsPlan {
        cells,
        keeps_other_children: same_count,
    }
}
