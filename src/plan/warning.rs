//! What the hook says without refusing: settings that will run, but not as
//! well as they could. The commands print each as one line on stderr
//! (`vdsm-hook-largeguest: warning: ...`) and the start goes on.

use thiserror::Error;

use crate::cpuset::{CpuSet, NodeSet};
use crate::domain::metadata::ExclusivePolicy;
use crate::wording::Ids;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Warning {
    #[error("guestnuma: guest {level} {id} (vCPUs {vcpus}) is split across cells {cells}; QEMU starts it, but the guest sees one {level} on several NUMA nodes; {}", hint.wording(level, *.size))]
    SplitsTopology {
        level: &'static str,
        id: u64,
        vcpus: CpuSet,
        cells: String,
        size: u64,
        hint: TopologyHint,
    },
    #[error("{property}: CPU pinning policy none lets VDSM run the vCPUs on any host CPU of its shared pool, so memory bound to {} is remote to them part of the time; to keep them near it, set CPU Pinning Policy to Manual on the engine and pin them with cputune", Ids("node", .nodes))]
    VcpusFloat {
        property: &'static str,
        nodes: NodeSet,
    },
    /// What the start would refuse, met by a VM that already runs: it was
    /// started before this check, and refusing its migration would not
    /// bring anything back.
    #[error("{0}; the migration goes on, since the VM already runs this way")]
    RunningAgainstPolicy(String),
    /// What the start refuses under policy `manual`, met without any
    /// policy (engine 4.4 or older, or a document from elsewhere).
    #[error("{0} (no CPU pinning policy in the domain XML, so this start goes on)")]
    PinsLostAtRestore(String),
    #[error("{property}: {thread} {} {} with pinned {}, and would take time from {}; pin {thread} to CPUs no vCPU is pinned to", if .thread.starts_with("the ") { "share" } else { "shares" }, Ids("CPU", .cpus), Ids("vCPU", .vcpus), if .vcpus.len() == 1 { "it" } else { "them" })]
    SharesWithVcpus {
        property: &'static str,
        thread: String,
        cpus: CpuSet,
        vcpus: CpuSet,
    },
    #[error("{property}: {thread} would run on {}, sibling threads of the CPUs the engine gave the vCPUs under CPU pinning policy {policy}; VDSM keeps those siblings free of every other VM so that each vCPU has its core to itself, and {thread} would share those cores again; pin {thread} to CPUs outside the vCPUs' cores (for the engine's own pin of a High Performance VM, set CPU Pinning Policy to Dedicated, which leaves siblings shared)", Ids("CPU", .cpus))]
    OnIsolatedSiblings {
        property: &'static str,
        thread: String,
        cpus: CpuSet,
        policy: ExclusivePolicy,
    },
    #[error("{property}: {thread} would run on {}, which the host isolated (/sys/devices/system/cpu/isolated) for vCPUs, where the scheduler balances no load; pin {thread} to housekeeping CPUs", Ids("CPU", .cpus))]
    OnIsolatedCpus {
        property: &'static str,
        thread: String,
        cpus: CpuSet,
    },
    #[error("{property}: {place} {} {needed} KiB on host {}, which {} {free} KiB free; the kernel must reclaim memory (or swap) before the VM has it all; free memory there, or bind the memory to more nodes", if .place.contains("cells") { "need" } else { "needs" }, Ids("node", .nodes), if .nodes.len() == 1 { "has" } else { "have" })]
    MemoryAboveFree {
        property: &'static str,
        place: String,
        needed: u64,
        nodes: NodeSet,
        free: u64,
    },
    #[error("cputune: guest cell {cell}'s {} {} pinned to host {}, off host {} its memory is bound to, so every memory access of {} is remote; pin the cell's vCPUs to CPUs of {}, or bind the cell's memory (guestnuma HOSTNODES) near them", Ids("vCPU", .vcpus), if .vcpus.len() == 1 { "is" } else { "are" }, Ids("CPU", .cpus), Ids("node", .nodes), if .vcpus.len() == 1 { "it" } else { "them" }, Ids("node", .nodes))]
    CellCpusOffMemory {
        cell: u32,
        vcpus: CpuSet,
        cpus: CpuSet,
        nodes: NodeSet,
    },
    #[error("pci_numa_affinity: the host device {address} (<{element}>) sits on host node {node}, but the guest's memory is bound ({mode}) to {}, so its DMA and interrupts cross nodes; bind the memory to node {node}, or set pci_numa_affinity=required to refuse such a start", Ids("node", .nodes))]
    DeviceOffNodes {
        mode: &'static str,
        element: &'static str,
        address: String,
        node: u32,
        nodes: CpuSet,
    },
    #[error("cputune: {} pinned to {}, which vCPUs of running guests are pinned to as well: {guests}; they will take time from each other, and the engine's scheduler does not know the hook's pins; pin to CPUs no running guest's vCPU is pinned to ('vdsm-hook-largeguest suggest' plans around them)", Ids("vCPU", .vcpus), Ids("CPU", .cpus))]
    SharesCpusWithGuests {
        vcpus: CpuSet,
        cpus: CpuSet,
        guests: String,
    },
    #[error("{check} skipped: {reason}")]
    CheckSkipped { check: &'static str, reason: String },
}

/// How to keep a guest socket (or die, cluster) in one cell: cells of whole
/// units when their sizes allow it, else a topology of one unit a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopologyHint {
    WholeUnits,
    OneUnitPerCell { cells: usize },
}

impl TopologyHint {
    fn wording(self, level: &str, size: u64) -> String {
        match self {
            TopologyHint::WholeUnits => {
                format!(
                    "to keep each {level} whole, give every cell whole {level}s of {size} vCPUs"
                )
            }
            TopologyHint::OneUnitPerCell { cells } => format!(
                "to keep each {level} whole, give the VM {cells} {level}s, one a cell (sockets: \
                 Edit VM > System > Advanced Parameters > Virtual Sockets), or cells of whole \
                 {level}s of {size} vCPUs"
            ),
        }
    }
}
