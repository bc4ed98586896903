//! Memory that fits the nodes it is bound to, and vCPUs near their cell's
//! memory. A region of guest memory confined to host nodes (strict, or
//! restrictive through the cgroup) larger than those nodes' memory cannot
//! start well: QEMU preallocates it or the guest is OOM-killed later. One
//! larger than what the nodes have free may still start, as the kernel
//! reclaims caches, and is said. A cell whose vCPUs are pinned to CPUs of
//! other nodes than its memory reads remote memory on every access.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cpuset::{CpuSet, NodeSet};
use crate::domain::facts::Domain;
use crate::host::topology::node_memory_and_cpus;
use crate::plan::binding::MemoryBinding;
use crate::plan::hugepages::cell_memory;
use crate::plan::placement;
use crate::plan::refusal::Refusal;
use crate::plan::threads::VcpuPins;
use crate::plan::warning::Warning;
use crate::properties::guestnuma::GuestCell;

/// The host's nodes as far as these checks read them, each read once.
struct Nodes<'p> {
    sysfs: &'p Path,
    known: BTreeMap<u32, Option<(u64, u64, CpuSet)>>,
}

impl Nodes<'_> {
    fn of(&mut self, node: u32) -> Option<&(u64, u64, CpuSet)> {
        let sysfs = self.sysfs;
        self.known
            .entry(node)
            .or_insert_with(|| node_memory_and_cpus(sysfs, node).ok())
            .as_ref()
    }
}

/// `property`: what the administrator changes to bind the memory elsewhere.
pub(crate) fn check(
    domain: &Domain,
    cells: Option<&[GuestCell]>,
    binding: &MemoryBinding,
    vcpu_pins: &VcpuPins,
    property: &'static str,
    sysfs: &Path,
) -> Result<Vec<Warning>, Refusal> {
    let mut nodes = Nodes {
        sysfs,
        known: BTreeMap::new(),
    };
    let regions = cell_memory(domain, cells);
    let mut bound: Vec<(Option<u32>, NodeSet, u64, &'static str)> = Vec::new();
    for (cell, kib) in &regions {
        let Some(bind) = binding.of(*cell) else {
            continue;
        };
        if let Some(set) = bind.strict_nodes() {
            bound.push((*cell, set.clone(), *kib, bind.confining_mode()));
        }
    }
    let mut warnings = Vec::new();
    let demands: Vec<(NodeSet, u64)> = bound.iter().map(|b| (b.1.clone(), b.2)).collect();
    let unreadable = |()| ();
    let total = |node| nodes.of(node).map(|n| n.0).ok_or(());
    if let Ok(Some(short)) = placement::shortfall(&demands, total).map_err(unreadable) {
        let cells: Vec<Option<u32>> = short.demands.iter().map(|&i| bound[i].0).collect();
        return Err(Refusal::MemoryAboveNodes {
            property,
            place: place(&cells).into(),
            mode: bound[short.demands[0]].3,
            needed: short.needed,
            nodes: short.nodes,
            have: short.have,
        });
    }
    let free = |node| nodes.of(node).map(|n| n.1).ok_or(());
    if let Ok(Some(short)) = placement::shortfall(&demands, free) {
        warnings.push(Warning::MemoryAboveFree {
            property,
            place: place(
                &short
                    .demands
                    .iter()
                    .map(|&i| bound[i].0)
                    .collect::<Vec<_>>(),
            ),
            needed: short.needed,
            nodes: short.nodes,
            free: short.have,
        });
    }
    warnings.extend(locality(cells, domain, binding, vcpu_pins, &mut nodes));
    Ok(warnings)
}

/// Each cell whose pinned vCPUs may run on CPUs of other nodes than the
/// ones its memory is bound to (strict, restrictive or preferred).
fn locality(
    cells: Option<&[GuestCell]>,
    domain: &Domain,
    binding: &MemoryBinding,
    vcpu_pins: &VcpuPins,
    nodes: &mut Nodes,
) -> Vec<Warning> {
    let cell_cpus: Vec<CpuSet> = match cells {
        Some(cells) => cells.iter().map(|c| c.cpus.clone()).collect(),
        None => (0..domain.cells.len() as u32)
            .map(|id| {
                domain
                    .cell_by_id(id)
                    .and_then(|c| c.node.attribute("cpus"))
                    .and_then(|set| {
                        crate::domain::values::libvirt_bitmap(
                            set,
                            crate::domain::values::BITMAP_SIZE,
                        )
                    })
                    .unwrap_or_default()
            })
            .collect(),
    };
    let mut warnings = Vec::new();
    for (cell, vcpus) in (0u32..).zip(&cell_cpus) {
        let Some(bind) = binding.of(Some(cell)) else {
            continue;
        };
        let confined = ["strict", "restrictive", "preferred"].contains(&bind.mode.as_str());
        let Some(memory_nodes) = bind.nodes.as_ref().filter(|_| confined) else {
            continue;
        };
        let mut near = CpuSet::new();
        for node in memory_nodes.iter() {
            match nodes.of(node) {
                Some((_, _, cpus)) => near = near.union(cpus),
                None => return warnings,
            }
        }
        let far: CpuSet = vcpus
            .iter()
            .filter(|&vcpu| vcpu_pins.get(vcpu).is_some_and(|pin| !pin.is_subset(&near)))
            .collect();
        if let Some(pin) = far.first().and_then(|vcpu| vcpu_pins.get(vcpu)) {
            warnings.push(Warning::CellCpusOffMemory {
                cell,
                vcpus: far.clone(),
                cpus: pin.difference(&near),
                nodes: memory_nodes.clone(),
            });
        }
    }
    warnings
}

fn place(cells: &[Option<u32>]) -> String {
    let ids: CpuSet = cells.iter().flatten().copied().collect();
    match ids.len() {
        0 => "the guest's memory".to_string(),
        1 => format!("cell {ids}"),
        _ => format!("cells {ids}"),
    }
}
