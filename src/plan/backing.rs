//! The backing model. QEMU lays the guest's memory out in NUMA node order:
//! cell 0's memory first, then cell 1's, and a guest without cells is one
//! region. Each region has its own memory backend: a page size, and a host
//! binding. When `guestnuma` cuts the memory into other cells, each stretch
//! of memory must keep what backed it: a new cell takes the backing of the
//! old regions it overlaps, and one that would span two backings is refused,
//! naming the cell and what differs, since no value of a property can give
//! one QEMU backend two page sizes or two bindings.

use crate::cpuset::CpuSet;
use crate::domain::facts::Domain;
use crate::domain::hugepages::{page_for, Page};
use crate::plan::hugepages::PageEdit;
use crate::plan::refusal::Refusal;
use crate::properties::guestnuma::{GuestCell, Size};

/// For each new region (sizes in KiB, in order), the indexes of the old
/// regions whose memory it takes. Both lists cover the same memory; a new
/// region past the old ones' end takes from the last.
pub(crate) fn taken_from(old: &[u64], new: &[u64]) -> Vec<Vec<usize>> {
    let mut ends = Vec::with_capacity(old.len());
    let mut end = 0u64;
    for size in old {
        end = end.saturating_add(*size);
        ends.push(end);
    }
    let mut start = 0u64;
    new.iter()
        .map(|size| {
            let stop = start.saturating_add(*size);
            let taken: Vec<usize> = (0..old.len())
                .filter(|&i| {
                    let (lo, hi) = (ends[i] - old[i], ends[i]);
                    lo < stop && start < hi
                })
                .collect();
            start = stop;
            match taken.is_empty() && !old.is_empty() {
                true => vec![old.len() - 1],
                false => taken,
            }
        })
        .collect()
}

/// The one value every old region taken from has, or the first two that
/// differ (old region indexes).
pub(crate) fn uniform<T: PartialEq + Clone>(
    taken: &[usize],
    value_of: impl Fn(usize) -> T,
) -> Result<Option<T>, (usize, usize)> {
    let Some(&first) = taken.first() else {
        return Ok(None);
    };
    let value = value_of(first);
    match taken.iter().find(|&&i| value_of(i) != value) {
        Some(&other) => Err((first, other)),
        None => Ok(Some(value)),
    }
}

/// The page each new cell gets: that of the old memory it takes (a guest
/// without cells is one region, which libvirt serves like cell 0: by the
/// page naming cell 0, else the one naming none). Each `<page nodeset>` is
/// rewritten to name the new cells it now serves; `None` when the old
/// cells' sizes cannot be read (libvirt refuses such a domain itself).
pub(crate) fn reassign_pages<'a, 'i>(
    pages: &mut [Page<'a, 'i>],
    domain: &Domain,
    cells: &[GuestCell],
) -> Option<Result<Vec<PageEdit<'a, 'i>>, Refusal>> {
    let old_sizes = match domain.cells.is_empty() {
        true => vec![domain.cells_memory_kib()?],
        false => domain.cell_sizes()?,
    };
    let index_of = |pages: &[Page], cell: usize| {
        let page = page_for(pages, Some(cell as u32))?;
        pages.iter().position(|p| std::ptr::eq(p, page))
    };
    let old_pages: Vec<Option<usize>> = (0..old_sizes.len()).map(|c| index_of(pages, c)).collect();
    let new_sizes: Vec<u64> = cells.iter().map(|cell| cell.memory_kib).collect();
    let mut assigned = Vec::with_capacity(cells.len());
    for (cell, taken) in taken_from(&old_sizes, &new_sizes).iter().enumerate() {
        match uniform(taken, |i| old_pages[i]) {
            Ok(page) => assigned.push(page.flatten()),
            Err((a, b)) => {
                let spans = spans(pages, domain, cell, (a, old_pages[a]), (b, old_pages[b]));
                return Some(Err(spans));
            }
        }
    }
    let mut edits = Vec::new();
    for (index, page) in pages.iter_mut().enumerate() {
        let (Some(nodeset), Some(node)) = (&page.nodeset, page.node) else {
            continue;
        };
        let serves: CpuSet = (0u32..)
            .zip(&assigned)
            .filter(|(_, p)| **p == Some(index))
            .map(|(cell, _)| cell)
            .collect();
        if !serves.is_empty() && serves != *nodeset {
            edits.push(PageEdit {
                page: node,
                nodeset: serves.clone(),
            });
            page.nodeset = Some(serves);
        }
    }
    // A page without nodeset serves every cell no other names: a cell that
    // had no huge pages cannot keep none beside it.
    for (cell, want) in assigned.iter().enumerate() {
        let got = index_of(pages, cell);
        if got != *want {
            let old = (cell.min(old_pages.len() - 1), *want);
            return Some(Err(spans(pages, domain, cell, old, (old.0, got))));
        }
    }
    Some(Ok(edits))
}

/// The refusal of a new cell that would need two backings.
fn spans(
    pages: &[Page],
    domain: &Domain,
    cell: usize,
    (first_old, first): (usize, Option<usize>),
    (second_old, second): (usize, Option<usize>),
) -> Refusal {
    let describe = |page: Option<usize>| match page.map(|i| pages[i].size_kib) {
        None => "no huge pages".to_string(),
        Some(Some(kib)) => format!("pages of {}", Size(kib)),
        Some(None) => "pages of the host's default size".to_string(),
    };
    let old = match (domain.cells.is_empty(), first_old == second_old) {
        (true, _) => "the guest".to_string(),
        (false, true) => format!("old cell {first_old}"),
        (false, false) => format!("old cells {first_old} and {second_old}"),
    };
    Refusal::CellSpansBackings {
        cell,
        old: old.into(),
        what: "page size",
        first: describe(first).into(),
        second: describe(second).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_cells_take_memory_in_address_order() {
        let gib = 1 << 20;
        assert_eq!(
            taken_from(&[2 * gib; 4], &[gib; 8]),
            [[0], [0], [1], [1], [2], [2], [3], [3]]
        );
        assert_eq!(
            taken_from(&[2 * gib; 4], &[4 * gib; 2]),
            [vec![0, 1], vec![2, 3]]
        );
        assert_eq!(taken_from(&[4 * gib], &[gib, 3 * gib]), [[0], [0]]);
        assert_eq!(
            taken_from(&[2 * gib, 2 * gib], &[gib, 3 * gib]),
            [vec![0], vec![0, 1]]
        );
    }

    #[test]
    fn a_backing_is_uniform_or_names_two_regions() {
        let pages = [Some(1), Some(1), None];
        assert_eq!(uniform(&[0, 1], |i| pages[i]), Ok(Some(Some(1))));
        assert_eq!(uniform(&[1, 2], |i| pages[i]), Err((1, 2)));
        assert_eq!(uniform(&[], |i| pages[i]), Ok(None));
    }
}
