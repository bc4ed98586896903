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
use crate::host::topology::HostTopology;
use crate::properties::iothreadpin::{IoThreadPin, IoThreadPins};

use self::build::{build, check_request, checked_reserve, default_reserve, housekeeping};
use self::choose::{candidates, choose, node_limit, shortage, Memory};
pub use self::types::{
    EngineSide, NodeLimit, Proposal, ProposedCell, Shortage, SuggestError, SuggestRequest,
};

const KIB_PER_MIB: u64 = 1024;

pub fn propose(
    topology: &HostTopology,
    request: &SuggestRequest,
) -> Result<Proposal, SuggestError> {
    let threads = request.threads_per_core;
    check_request(request)?;
    let reserve = match &request.reserve {
        Some(reserve) => checked_reserve(topology, reserve)?,
        None => default_reserve(topology, &request.isolated),
    };
    let memory = Memory {
        unit_kib: request.hugepage_kib.unwrap_or(KIB_PER_MIB),
        hugepages: request.hugepage_kib.is_some(),
    };
    let need = Need {
        units: u64::from(request.vcpus / threads),
        memory: request.memory_kib / memory.unit_kib,
        devices: &request.device_nodes,
    };
    let candidates = candidates(topology, &reserve, threads, memory);
    let (limit, count) = node_limit(request, &candidates, need.units, need.memory, &reserve)?;
    let chosen = choose(topology, &candidates, &need, count, request.nodes)?;
    let Some(chosen) = chosen else {
        let shortage = shortage(&candidates, &need, count, threads, &reserve, memory);
        return Err(SuggestError::DoesNotFit { limit, shortage });
    };
    let mut proposal = build(&candidates, &chosen, request, reserve, &need, memory);
    proposal.emulatorpin = housekeeping(topology, request, &proposal);
    proposal.iothreadpin = (request.iothreads > 0 && !proposal.emulatorpin.is_empty()).then(|| {
        let pins = (1..=request.iothreads)
            .map(|iothread| IoThreadPin {
                iothread,
                cpuset: proposal.emulatorpin.clone(),
            })
            .collect();
        IoThreadPins { pins }
    });
    Ok(proposal)
}

/// What the request comes to for the search: guest cores, memory in
/// `Memory` units, and the nodes of its devices.
pub(crate) struct Need<'d> {
    pub(crate) units: u64,
    pub(crate) memory: u64,
    pub(crate) devices: &'d NodeSet,
}
