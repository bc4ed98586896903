//! `suggest`: choose host nodes and CPUs for a guest and write the three
//! property values, so nobody types a pinning of 48 vCPUs by hand.
//! Imports `properties` (the values it writes), `host` and `cpuset`.
//!
//! The rules, in order: the fewest host nodes that hold the vCPUs and the
//! memory; among those, the nodes closest to each other, then the most free
//! memory, then the lowest ids (so the answer is reproducible). One guest
//! cell per host node, its memory bound there. One vCPU per host CPU, none
//! shared, none in the reserve. vCPUs fill host cores sibling by sibling,
//! leaving whole cores free for other guests; with `--threads-per-core T`
//! each guest core lands on T siblings of one host core. The emulator and
//! the I/O threads go on housekeeping CPUs of the guest's nodes that no vCPU
//! has: never an isolated or `nohz_full` CPU. With `--hugepages SIZE` a
//! node's free memory is its free pages of that size; with `--device` the
//! nodes the devices sit on are taken first.

//!
//! `types` holds what is asked and what comes back, `choose` the choice of
//! nodes, `build` the cells and pins on them, `render` the text and JSON.

mod build;
mod choose;
mod render;
mod types;

use crate::cpuset::NodeSet;
use crate::host::topology::Topology;
use crate::properties::iothreadpin::{IoThreadPin, IoThreadPins};

use self::build::{build, check_request, checked_reserve, default_reserve, housekeeping};
use self::choose::{candidates, choose, node_limit, shortage, Memory};
pub use self::types::{
    Demand, EngineSide, NodeLimit, Proposal, ProposedCell, Shortage, SuggestError,
};

const KIB_PER_MIB: u64 = 1024;

pub fn propose(topology: &Topology, demand: &Demand) -> Result<Proposal, SuggestError> {
    let threads = demand.threads_per_core;
    check_request(demand)?;
    let reserve = match &demand.reserve {
        Some(reserve) => checked_reserve(topology, reserve)?,
        None => default_reserve(topology, &demand.isolated),
    };
    let memory = Memory {
        unit_kib: demand.hugepage_kib.unwrap_or(KIB_PER_MIB),
        hugepages: demand.hugepage_kib.is_some(),
    };
    let need_units = u64::from(demand.vcpus / threads);
    let need_mem = demand.memory_kib / memory.unit_kib;
    let candidates = candidates(topology, &reserve, threads, memory);
    let (limit, count) = node_limit(demand, &candidates, need_units, need_mem, &reserve)?;
    let wanted = Wanted {
        units: need_units,
        memory: need_mem,
        devices: &demand.device_nodes,
    };
    let chosen = choose(topology, &candidates, &wanted, count, demand.nodes)?;
    let Some(chosen) = chosen else {
        let shortage = shortage(&candidates, &wanted, count, threads, &reserve, memory);
        return Err(SuggestError::DoesNotFit { limit, shortage });
    };
    let mut proposal = build(&candidates, &chosen, demand, reserve, &wanted, memory);
    proposal.emulatorpin = housekeeping(topology, demand, &proposal);
    proposal.iothreadpin = (demand.iothreads > 0 && !proposal.emulatorpin.is_empty()).then(|| {
        let pins = (1..=demand.iothreads)
            .map(|iothread| IoThreadPin {
                iothread,
                cpuset: proposal.emulatorpin.clone(),
            })
            .collect();
        IoThreadPins { pins }
    });
    Ok(proposal)
}

/// What the guest needs: guest cores, memory in `Memory` units, and the
/// nodes of its devices.
pub(crate) struct Wanted<'d> {
    pub(crate) units: u64,
    pub(crate) memory: u64,
    pub(crate) devices: &'d NodeSet,
}
