//! Every way the properties can fail to fit the VM or the host. Each one
//! says what libvirt would otherwise have done quietly (drop a pin, resize
//! the guest) or failed at start, and what to write instead.

use thiserror::Error;

use crate::cpuset::CpuSet;
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
    #[error("guestnuma: {} in {} of {} would split guest cores (the guest <topology> has {threads} threads per core); use a count whose cells hold whole cores: {counts}", count(*.vcpus as usize, "vCPU"), count(*.cells, "equal cell"), count(*.vcpus as usize / *.cells, "vCPU"))]
    EvenSplitSplitsCores {
        vcpus: u32,
        cells: usize,
        threads: u32,
        counts: String,
    },
}
