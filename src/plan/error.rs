//! Every way the properties can fail to fit the VM or the host. Each one
//! says what libvirt would otherwise have done quietly (drop a pin, resize
//! the guest) or failed at start, and what to write instead.

use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::domain::metadata::ExclusivePolicy;
use crate::wording::{count, Ids};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FitError {
    #[error("cputune: vCPU {vcpu} is pinned but <vcpu> gives the VM {} ({}), and libvirt would silently drop that pin; pin only {}", count(*.max as usize, "vCPU"), CpuSet::first_n(*.max), Ids("vCPU", &CpuSet::first_n(*.max)))]
    PinPastVcpus { vcpu: u32, max: u32 },
    #[error("guestnuma: the cells name {} but <vcpu> gives the VM {} ({}); use only {}", Ids("vCPU", .vcpus), count(*.max as usize, "vCPU"), CpuSet::first_n(*.max), Ids("vCPU", &CpuSet::first_n(*.max)))]
    CellsPastVcpus { vcpus: CpuSet, max: u32 },
    #[error("guestnuma: no cell holds {}; <vcpu> is {max} (hotpluggable vCPUs count too), so the cells must cover {}", Ids("vCPU", .missing), Ids("vCPU", &CpuSet::first_n(*.max)))]
    VcpusInNoCell { missing: CpuSet, max: u32 },
    #[error("guestnuma: the cells add up to {cells} KiB but the guest has {expected} KiB of memory for its cells ({explained}), and libvirt would silently resize the guest to the cells' sum; make the cells add up to {expected} KiB")]
    MemoryMismatch {
        cells: u64,
        expected: u64,
        explained: String,
    },
    #[error("guestnuma: cell {cell} has {kib} KiB, which QEMU rounds up to a whole MiB; give each cell a whole number of MiB")]
    CellNotWholeMib { cell: usize, kib: u64 },
    #[error("guestnuma: {0}")]
    CannotSplit(String),
    #[error("numatune: <memnode cellid='{cellid}'> names a guest cell the VM does not have (it has {}); remove it or add the cell with guestnuma", count(*.cells, "cell"))]
    MemnodeWithoutCell { cellid: u32, cells: usize },
    #[error("numatune: 'restrictive' cannot be mixed with other modes ({modes}); libvirt needs <memory> and every <memnode> restrictive, or none")]
    RestrictiveMix { modes: String },
    #[error("numatune: per-cell host nodes (guestnuma HOSTNODES or <memnode>) cannot be used with placement 'auto'; give numatune a node set")]
    MemnodesWithAuto,
    #[error("guestnuma: the memory device <target><node>{node}</node> names a guest cell the VM would not have (it would get {}); keep at least {}", count(*.cells, "cell"), count(*.node as usize + 1, "cell"))]
    DimmWithoutCell { node: u32, cells: usize },
    #[error("{property}: this host does not have {} online (online: {online})", Ids("CPU", .missing))]
    CpusNotOnline {
        property: &'static str,
        missing: CpuSet,
        online: CpuSet,
    },
    #[error("{property}: this host has no memory on {} (nodes with memory: {nodes})", Ids("node", .missing))]
    NodesWithoutMemory {
        property: &'static str,
        missing: CpuSet,
        nodes: CpuSet,
    },
    #[error("guestnuma: vCPUs {first} and {second} are threads of one guest core (the guest <topology> has {threads} threads per core) but would sit in cells {first_cell} and {second_cell}, and a Linux guest then drops their SMT relation with a kernel warning; keep each core's {threads} vCPUs in one cell")]
    CoreSplit {
        first: u32,
        second: u32,
        first_cell: usize,
        second_cell: usize,
        threads: u32,
    },
    #[error("cputune: the engine starts this VM with CPU pinning policy none, so VDSM replaces these pins with its shared pool of host CPUs as soon as the VM runs; to keep them, in Edit VM set Resource Allocation > CPU Pinning Policy to Manual with a CPU Pinning topology, e.g. {example} (Manual needs Host > Start Running On: Specific Host(s); REST: cpu_pinning_policy manual with cpu_tune vcpu_pins), or remove cputune")]
    PinsUndoneByPolicyNone { example: String },
    #[error("cputune: the engine pins this VM itself (CPU pinning policy {policy}) and VDSM keeps other VMs off those host CPUs by reading the pins, so pins written here would let VMs overlap; remove cputune, or set Edit VM > Resource Allocation > CPU Pinning Policy to Manual")]
    EnginePinsCpus { policy: ExclusivePolicy },
    #[error("numatune: the engine places this VM itself (CPU pinning policy {policy}): it picks the host CPUs when it schedules the VM and binds the memory of the VM's NUMA nodes to theirs, so nodes named here may not be local to them; remove numatune, or set CPU Pinning Policy to Manual and pin the vCPUs with cputune")]
    EnginePlacesMemory { policy: ExclusivePolicy },
    #[error("guestnuma: the cells' host nodes cannot be chosen here under CPU pinning policy {policy}: the engine picks the host CPUs when it schedules the VM, so nodes named here may not be local to them; drop the #HOSTNODES part of each cell, or set CPU Pinning Policy to Manual")]
    HostNodesUnderExclusivePolicy { policy: ExclusivePolicy },
    #[error("guestnuma: the engine gave this VM NUMA nodes of its own (<numatune><memnode>) and binds them to the host CPUs it picked (CPU pinning policy {policy}), and a migration rewrites them node by node; set NUMA Node Count to 0 in Edit VM > Host, or remove guestnuma")]
    EngineNumaNodesUnderExclusivePolicy { policy: ExclusivePolicy },
    #[error("cputune: the engine sent CPU pinning policy {policy}, which this hook does not know, so it cannot tell whether VDSM keeps these pins; set Edit VM > Resource Allocation > CPU Pinning Policy to Manual, or remove cputune")]
    UnknownCpuPolicy { policy: String },
    #[error("cputune: the VM's metadata lists the vCPUs VDSM keeps pinned (manuallyPinedCPUs: {}), and VDSM would move {} to its shared pool; pin only vCPUs listed there, or start the VM from the engine, which does not send that list", listed(.manual), Ids("vCPU", .vcpus))]
    PinsNotManuallyPinned { vcpus: CpuSet, manual: CpuSet },
    #[error("guestnuma: {} in {} of {} would split guest cores (the guest <topology> has {threads} threads per core); use a count whose cells hold whole cores: {counts}", count(*.vcpus as usize, "vCPU"), count(*.cells, "equal cell"), count(*.vcpus as usize / *.cells, "vCPU"))]
    EvenSplitSplitsCores {
        vcpus: u32,
        cells: usize,
        threads: u32,
        counts: String,
    },
}

/// A set in a message, or `none` for an empty one.
fn listed(set: &CpuSet) -> String {
    match set.is_empty() {
        true => "none".into(),
        false => set.to_string(),
    }
}
