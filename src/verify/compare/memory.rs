//! Guest memory in numa_maps: which mapping backs each cell (or the whole
//! guest, or a memory device), and what is resident on each host node.

use std::collections::BTreeMap;

use crate::cpuset::CpuSet;
use crate::verify::live::LiveDomain;
use crate::verify::proc::{Mapping, Process};

use super::asked::{memory_ask, AskedFrom};
use super::cells::{cell_shapes, check_cell, policy_agrees};
use super::report::{
    mib, CellRow, Checks, HugePages, Verdict, TOLERANCE_CAP_KIB, TOLERANCE_PERCENT,
};

/// A QEMU memory backend the guest has: a cell's RAM, the whole RAM of a
/// guest without cells, or a memory device.
pub(super) struct Backend {
    row: usize,
    label: String,
    kib: u64,
}

/// The guest's memory rows and the mappings found for each.
pub(super) struct MemoryRows<'p> {
    rows: Vec<CellRow>,
    backends: Vec<Backend>,
    found: Vec<Option<&'p Mapping>>,
    process: &'p Process,
}

impl<'p> MemoryRows<'p> {
    pub(super) fn new(live: &LiveDomain, process: &'p Process, from: &AskedFrom) -> MemoryRows<'p> {
        let mut rows = Vec::new();
        let mut backends = Vec::new();
        let device_kib: u64 = live.memory_devices.iter().map(|d| d.size_kib).sum();
        if live.cells.is_empty() {
            let kib = live.memory_kib.saturating_sub(device_kib);
            rows.push(cell_row(
                None,
                CpuSet::from_range(0, live.vcpus.max(1) - 1),
                kib,
            ));
            backends.push(Backend {
                row: 0,
                label: format!("{} guest RAM", mib(kib)),
                kib,
            });
        }
        for cell in &live.cells {
            backends.push(Backend {
                row: rows.len(),
                label: format!("{} of cell {}", mib(cell.memory_kib), cell.id),
                kib: cell.memory_kib,
            });
            rows.push(cell_row(Some(cell.id), cell.vcpus.clone(), cell.memory_kib));
        }
        for (index, device) in live.memory_devices.iter().enumerate() {
            let row = rows
                .iter()
                .position(|r| r.cell.is_none_or(|id| id == device.cell));
            let Some(row) = row else { continue };
            rows[row].device_kib += device.size_kib;
            let label = format!("{} {} {index}", mib(device.size_kib), device.model);
            backends.push(Backend {
                row,
                label,
                kib: device.size_kib,
            });
        }
        for row in &mut rows {
            row.asked = memory_ask(live, from, row.cell);
            let total = row.memory_kib + row.device_kib;
            row.tolerance_kib = (total * TOLERANCE_PERCENT)
                .div_ceil(100)
                .min(TOLERANCE_CAP_KIB);
        }
        let mut memory = MemoryRows {
            found: Vec::new(),
            rows,
            backends,
            process,
        };
        memory.attribute();
        memory
    }

    /// Each backend gets an unused mapping of its size. Among several, one
    /// whose policy is the one asked of that backend wins (QEMU sets the
    /// policy per backend, so it tells equal cells apart), then the highest
    /// address: QEMU creates the backends in cell order and the kernel
    /// places each new mapping below the last.
    fn attribute(&mut self) {
        let mut used = vec![false; self.process.mappings.len()];
        for backend in &self.backends {
            let ask = self.rows[backend.row].asked.as_ref();
            let best = self
                .process
                .mappings
                .iter()
                .enumerate()
                .filter(|&(index, mapping)| !used[index] && is_backend_of(mapping, backend.kib))
                .max_by_key(|(_, mapping)| {
                    let agrees =
                        ask.is_some_and(|ask| policy_agrees(ask, &mapping.policy, self.process));
                    (agrees, mapping.start)
                });
            if let Some((index, _)) = best {
                used[index] = true;
            }
            self.found.push(best.map(|(_, mapping)| mapping));
        }
    }

    pub(super) fn rows(
        mut self,
        from: &AskedFrom,
        checks: &mut Checks,
    ) -> (Vec<CellRow>, BTreeMap<u32, u64>) {
        let mut attributed: BTreeMap<u32, u64> = BTreeMap::new();
        for (backend, mapping) in self.backends.iter().zip(&self.found) {
            let row = &mut self.rows[backend.row];
            let Some(mapping) = mapping else {
                row.missing.push(backend.label.clone());
                continue;
            };
            add_mapping(row, mapping);
            for (node, kib) in mapping.kib_per_node() {
                *attributed.entry(node).or_default() += kib;
            }
        }
        let shapes = cell_shapes(&self.rows, from, checks);
        for (row, shape) in self.rows.iter_mut().zip(shapes) {
            row.verdict = shape.and(check_cell(row, self.process, checks));
        }
        (self.rows, qemu_rest(self.process, &attributed))
    }
}

pub(super) fn cell_row(cell: Option<u32>, vcpus: CpuSet, memory_kib: u64) -> CellRow {
    CellRow {
        cell,
        vcpus,
        memory_kib,
        device_kib: 0,
        asked: None,
        policies: Vec::new(),
        kib_per_node: BTreeMap::new(),
        huge_pages: Vec::new(),
        outside_kib: 0,
        tolerance_kib: 0,
        missing: Vec::new(),
        verdict: Verdict::Unasked,
    }
}

/// Guest RAM is a writable, non-executable mapping of exactly the backend's
/// size (QEMU's code buffer for TCG is executable); libvirt and QEMU round
/// a size up to a whole MiB, or to the huge page size.
pub(super) fn is_backend_of(mapping: &Mapping, kib: u64) -> bool {
    if !mapping.writable || mapping.executable {
        return false;
    }
    let bytes = kib.saturating_mul(1024);
    let granule = (mapping.page_kib.max(1024)).saturating_mul(1024);
    mapping.bytes() == bytes || mapping.bytes() == bytes.div_ceil(granule).saturating_mul(granule)
}

pub(super) fn add_mapping(row: &mut CellRow, mapping: &Mapping) {
    if !row.policies.contains(&mapping.policy) {
        row.policies.push(mapping.policy.clone());
    }
    for (node, kib) in mapping.kib_per_node() {
        *row.kib_per_node.entry(node).or_default() += kib;
    }
    if !mapping.huge {
        return;
    }
    for (&node, &count) in &mapping.pages {
        match row
            .huge_pages
            .iter_mut()
            .find(|p| p.node == node && p.size_kib == mapping.page_kib)
        {
            Some(pages) => pages.count += count,
            None => row.huge_pages.push(HugePages {
                node,
                size_kib: mapping.page_kib,
                count,
            }),
        }
    }
}

/// Every resident page of the process not in guest RAM.
pub(super) fn qemu_rest(process: &Process, attributed: &BTreeMap<u32, u64>) -> BTreeMap<u32, u64> {
    let mut rest: BTreeMap<u32, u64> = BTreeMap::new();
    for mapping in &process.mappings {
        for (node, kib) in mapping.kib_per_node() {
            *rest.entry(node).or_default() += kib;
        }
    }
    for (node, kib) in attributed {
        if let Some(total) = rest.get_mut(node) {
            *total = total.saturating_sub(*kib);
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::compare::cells::tests::mapping;

    #[test]
    fn guest_ram_is_a_writable_mapping_of_the_backends_size() {
        let mib = 1024 * 1024;
        assert!(is_backend_of(
            &mapping(256 * mib, "rw-p", "default", 4),
            262144
        ));
        assert!(is_backend_of(
            &mapping(256 * mib, "rw-s", "default", 4),
            262144
        ));
        // QEMU rounds a cell to a whole MiB, a hugetlbfs backend to its page.
        assert!(is_backend_of(
            &mapping(257 * mib, "rw-p", "default", 4),
            262145
        ));
        assert!(is_backend_of(
            &mapping(1024 * mib, "rw-p", "default", 1048576),
            786432
        ));
        // TCG's code buffer is executable; a reservation is not writable.
        assert!(!is_backend_of(
            &mapping(256 * mib, "rwxp", "default", 4),
            262144
        ));
        assert!(!is_backend_of(
            &mapping(256 * mib, "---p", "default", 4),
            262144
        ));
        assert!(!is_backend_of(
            &mapping(255 * mib, "rw-p", "default", 4),
            262144
        ));
    }
}
