//! Every way the properties can fail to fit the VM or the host. Each one
//! says what libvirt would otherwise have done quietly (drop a pin, resize
//! the guest) or failed at start, and what to write instead.

use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::domain::metadata::ExclusivePolicy;
use crate::wording::{count, Ids};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    /// A value the checks need from the domain XML that libvirt could not read either.
    #[error(transparent)]
    Domain(#[from] crate::domain::document::DocumentError),
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
    #[error("numatune: the engine binds the memory of this VM's NUMA {} itself (<numatune><memnode>, from Edit VM > Host > NUMA Pinning), and those bindings decide where that memory goes, so numatune would reach none of it; remove the VM's NUMA Pinning on the engine, or give every cell its host nodes with guestnuma (CPUS#MEMORY#HOSTNODES, each then bound with numatune's mode), or remove numatune", Ids("node", .cells))]
    EngineMemnodesOutrankNumatune { cells: CpuSet },
    #[error("guestnuma: the engine binds its NUMA node {cellid} to host nodes {} (<numatune><memnode cellid='{cellid}'>, from Edit VM > Host > NUMA Pinning), and {}, so that binding would {}; give every cell its host nodes (CPUS#MEMORY#HOSTNODES), or remove the VM's NUMA Pinning on the engine, or remove guestnuma", crate::wording::quoted(.nodes), NewCell(*.cellid, .new_vcpus.as_ref()), if .new_vcpus.is_some() { "land on other vCPUs" } else { "be dropped" })]
    EngineMemnodeMoved {
        cellid: u32,
        nodes: String,
        new_vcpus: Option<CpuSet>,
    },
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
    #[error("guestnuma: the guest <topology> has clusters='{clusters}', which libvirt 10.1 and later count and EL8's libvirt 8.0 and EL9's 9.x ignore, so the cells' dies and sockets (and whether libvirt accepts the vCPU count) depend on the host; give the topology without clusters (fold them into cores) to use guestnuma")]
    ClustersByVersion { clusters: u32 },
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
    #[error("cputune: vCPU {vcpu} is pinned to {} here, but {reason}; VDSM rebuilds the pins from that string when the VM resumes from hibernation or a memory snapshot; in Edit VM set Resource Allocation > CPU Pinning topology to {fix} (REST: cpu_tune vcpu_pins), or remove cputune", Ids("CPU", .cpus))]
    EngineStringContradicts {
        vcpu: u32,
        cpus: CpuSet,
        reason: EngineStringReason,
        /// The engine string that agrees, as the message offers it.
        fix: String,
    },
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
    #[error("guestnuma: {} of {} would split a core between cells (vCPUs {} are the {threads} threads of one core in <topology>); choose a cell count that divides the {cores} cores", count(*.cells, "equal cell"), count(*.per_cell as usize, "vCPU"), .split_core)]
    EvenSplitSplitsCores {
        cells: usize,
        per_cell: u32,
        split_core: CpuSet,
        threads: u32,
        cores: u64,
    },
    #[error("guestnuma: <vcpu> gives the VM {vcpus} vCPUs, but libvirt reads a cell's cpus only up to vCPU 16383; give the VM at most 16384 vCPUs to use guestnuma")]
    PastCellLimit { vcpus: u32 },
    #[error("guestnuma: the domain XML has {count} <cpu> elements, and libvirt reads guest NUMA cells from each of them; merge them into one <cpu>")]
    SeveralCpus { count: usize },
    #[error("guestnuma: cells {first} and {other} differ in {attribute} ({} and {}) and the new layout has {} instead of {old}, so the hook cannot tell which new cell gets which; give every cell the same {attribute}, or keep {}", Shown(.first_value), Shown(.other_value), count(*.new, "cell"), count(*.old, "cell"))]
    CellsDiffer {
        attribute: &'static str,
        first: u32,
        other: u32,
        first_value: Option<String>,
        other_value: Option<String>,
        new: usize,
        old: usize,
    },
    #[error("numatune: the domain XML has {count} <numatune> elements, and libvirt accepts only one; merge them into one <numatune>")]
    SeveralNumatunes { count: usize },
    #[error("numatune: per-cell host nodes (guestnuma HOSTNODES or <memnode>) cannot be used with placement 'auto', which <vcpu placement='auto'> gives memory when <numatune> names no node set; give numatune a node set")]
    MemnodesWithVcpuAuto,
    #[error("guestnuma: cell {cell} binds its memory to host nodes {nodes} in 'preferred' mode, which takes a single node; bind each cell to one node, or use strict or interleave in numatune")]
    PreferredManyNodes { cell: u32, nodes: CpuSet },
    #[error("numatune: placement 'auto' asks numad for the host nodes when the VM starts, and this host has no numad ({} is missing); install numad, or give numatune a node set", crate::wording::bare_path(.path))]
    NoNumad { path: std::path::PathBuf },
    #[error("iothreadpin: I/O thread {iothread} is not one of the VM's I/O threads ({declared}), and libvirt would refuse the domain; {}", IoThreadsHint(.ids))]
    IoThreadNotInDomain {
        iothread: u32,
        ids: CpuSet,
        declared: String,
    },
    #[error("guestnuma: the VM's cells carry HMAT ({what}), which names the old cells by id and would not survive {new} cells instead of {old}; keep {old} cells, or remove the HMAT description first")]
    HmatWouldVanish {
        what: &'static str,
        new: usize,
        old: usize,
    },
    /// A refusal of what the even split of `guestnuma=N` made: the
    /// administrator sets N, not the cells, so the message names N.
    #[error("guestnuma={count} splits the guest into {}, and then {reason}; choose a cell count for which this holds, or give the cells explicitly", crate::wording::count(*.count, "equal cell"))]
    EvenSplit { count: usize, reason: String },
    #[error("{property}: {place} {} {needed} KiB bound {mode} to host {}, which {} {have} KiB of memory in all, so the VM cannot have it; bind the memory to more nodes, or give the VM less memory", if .place.contains("cells") { "need" } else { "needs" }, Ids("node", .nodes), if .nodes.len() == 1 { "has" } else { "have" })]
    MemoryAboveNodes {
        property: &'static str,
        place: Box<str>,
        mode: &'static str,
        needed: u64,
        nodes: CpuSet,
        have: u64,
    },
    #[error("guestnuma: new cell {cell} would take guest memory that {old} backed with {first} and with {second}, but QEMU gives one cell one memory backend; cut the cells where the {what} changes (QEMU lays the cells' memory out in cell order), or give the VM one {what}")]
    CellSpansBackings {
        cell: usize,
        old: Box<str>,
        what: &'static str,
        first: Box<str>,
        second: Box<str>,
    },
    #[error("guestnuma: <memoryBacking><hugepages><page size={} nodeset='{nodeset}'> names guest {}, which the VM would not have (it would get {}: {}), and libvirt would refuse the domain (hugepages: node {} not found); write the page's nodeset for the new cells, or make it cover every cell ({}) to have it carried over", crate::wording::quoted(.size), Ids("cell", .missing), count(*.cells, "cell"), CpuSet::first_n(*.cells as u32), .missing.first().unwrap_or(0), CpuSet::first_n(*.old_cells as u32))]
    PageNodesetWithoutCell {
        size: String,
        nodeset: CpuSet,
        missing: CpuSet,
        cells: usize,
        old_cells: usize,
    },
    #[error("hugepages: {place} has {kib} KiB, not a whole number of {size} pages, so QEMU would round it up to {} pages and leave part of the last one unused; give it a multiple of {size}", .kib.div_ceil(*.size_kib))]
    NotWholePages {
        place: String,
        kib: u64,
        size: String,
        size_kib: u64,
    },
    #[error("hugepages: {place} {} {needed} pages of {size} on host {} (bound {}), and {} {free} free, so QEMU would fail at start (os_mem_prealloc: Insufficient free host memory pages); free or reserve {} more pages of {size} there, or bind the memory to other nodes", if .place.contains("cells") { "need" } else { "needs" }, Ids("node", .nodes), if *.restrictive { "restrictive" } else { "strict" }, if .nodes.len() == 1 { "it has" } else { "they have" }, .needed - .free)]
    NotEnoughHugePages {
        restrictive: bool,
        place: String,
        size: String,
        nodes: CpuSet,
        needed: u64,
        free: u64,
    },
    #[error("pci_numa_affinity: the host device {address} (<{element}>) sits on host node {node}, but the guest's memory is bound ({mode}) to {}, so its DMA and interrupts cross nodes; with pci_numa_affinity=required the VM does not start: bind the memory to node {node}, or pass through a device on {}", Ids("node", .nodes), Ids("node", .nodes))]
    DeviceOffNodes {
        mode: &'static str,
        element: &'static str,
        address: String,
        node: u32,
        nodes: CpuSet,
    },
}

/// A set in a message, or `none` for an empty one.
fn listed(set: &CpuSet) -> String {
    match set.is_empty() {
        true => "none".into(),
        false => set.to_string(),
    }
}

/// A per-cell attribute as a message shows it: quoted, or `unset`.
struct Shown<'a>(&'a Option<String>);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(value) => write!(f, "{}", crate::wording::quoted(value)),
            None => f.write_str("unset"),
        }
    }
}

/// What to pin instead: the threads the VM has, or how to give it some.
struct IoThreadsHint<'a>(&'a CpuSet);

impl std::fmt::Display for IoThreadsHint<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.is_empty() {
            true => f.write_str("give the VM I/O threads first (<iothreads>, set by the engine for a VM with I/O threads enabled)"),
            false => write!(f, "pin only {}", Ids("I/O thread", self.0)),
        }
    }
}

/// How the engine's CPU pinning string disagrees with `cputune`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineStringReason {
    /// It pins the vCPU to these CPUs.
    OtherCpus(CpuSet),
    /// It leaves the vCPU out but pins a later one: VDSM then writes
    /// `cpuset="None"`, which libvirt cannot read.
    Unpinned { last: u32 },
}

impl std::fmt::Display for EngineStringReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineStringReason::OtherCpus(cpus) => write!(
                f,
                "the engine's CPU Pinning topology pins it to {}, which the VM would get there",
                Ids("CPU", cpus)
            ),
            EngineStringReason::Unpinned { last } => write!(
                f,
                "the engine's CPU Pinning topology leaves it out while pinning vCPU {last}, \
                 and VDSM then writes cpuset='None' for it, which libvirt cannot read, so the \
                 VM would not resume"
            ),
        }
    }
}

/// What becomes of an engine NUMA node's cell under the new cells.
struct NewCell<'a>(u32, Option<&'a CpuSet>);

impl std::fmt::Display for NewCell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Some(vcpus) => write!(f, "the new cell {} holds {}", self.0, Ids("vCPU", vcpus)),
            None => write!(f, "the new cells have no cell {}", self.0),
        }
    }
}

impl Refusal {
    /// This refusal as caused by `guestnuma=count`'s even split.
    pub fn from_even_split(self, count: usize) -> Refusal {
        let caused = matches!(
            self,
            Refusal::NotWholePages { .. }
                | Refusal::CellSpansBackings { .. }
                | Refusal::HmatWouldVanish { .. }
                | Refusal::PageNodesetWithoutCell { .. }
        );
        if !caused {
            return self;
        }
        let text = self.to_string();
        let reason = match text.split_once(": ") {
            Some((_, reason)) => reason.to_string(),
            None => text,
        };
        Refusal::EvenSplit { count, reason }
    }
}
