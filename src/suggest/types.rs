//! What `suggest` is asked, what it proposes, and why it may not fit.

use std::fmt;

use thiserror::Error;

use crate::cpuset::{CpuSet, NodeSet};
use crate::host::topology::Gib;
use crate::properties::cputune::CpuTune;
use crate::properties::guestnuma::{GuestNuma, Size};
use crate::properties::iothreadpin::IoThreadPins;
use crate::properties::numatune::{MemoryMode, NumaTune};

/// What the administrator asks `suggest` for: the guest's size and the
/// options, as the command line gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestRequest {
    pub vcpus: u32,
    pub memory_kib: u64,
    pub threads_per_core: u32,
    pub mode: MemoryMode,
    /// None: CPU 0 and its siblings, where VDSM and the emulator threads run.
    pub reserve: Option<CpuSet>,
    /// Exactly this many host nodes, instead of the fewest that fit.
    pub nodes: Option<usize>,
    /// I/O threads to pin, 1 to N.
    pub iothreads: u32,
    /// Back the memory with huge pages of this size, counted per node.
    pub hugepage_kib: Option<u64>,
    /// The host nodes of the guest's passthrough devices.
    pub device_nodes: NodeSet,
    /// CPUs the host keeps for vCPUs (isolated, nohz_full): no emulator or
    /// I/O thread goes there, and by default no vCPU goes anywhere else.
    pub isolated: CpuSet,
}

impl SuggestRequest {
    /// A guest of this size with every option at `suggest`'s default.
    pub fn new(vcpus: u32, memory_kib: u64) -> SuggestRequest {
        SuggestRequest {
            vcpus,
            memory_kib,
            threads_per_core: 1,
            mode: MemoryMode::Strict,
            reserve: None,
            nodes: None,
            iothreads: 0,
            hugepage_kib: None,
            device_nodes: CpuSet::new(),
            isolated: CpuSet::new(),
        }
    }
}

/// One guest cell on one host node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedCell {
    pub node: u32,
    pub vcpus: CpuSet,
    pub host_cpus: CpuSet,
    pub memory_kib: u64,
    pub node_free_kib: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub reserve: CpuSet,
    pub cells: Vec<ProposedCell>,
    pub cputune: CpuTune,
    pub numatune: NumaTune,
    pub guestnuma: GuestNuma,
    /// Empty when no housekeeping CPU is left for the emulator.
    pub emulatorpin: CpuSet,
    pub iothreadpin: Option<IoThreadPins>,
    pub hugepage_kib: Option<u64>,
    pub engine: EngineSide,
}

/// What the engine needs for the same placement. On oVirt 4.5 the pins
/// stay only under CPU Pinning Policy Manual, and VDSM restores a
/// hibernated VM's pins from the engine's CPU Pinning topology, so that
/// string is part of the placement; the guest's sockets match its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSide {
    /// The same pins in the engine's syntax, one vCPU an entry.
    pub cpu_pinning: String,
    pub sockets: usize,
    pub cores_per_socket: u64,
    pub threads_per_core: u32,
    pub vcpus: u32,
    pub memory_mib: u64,
}

/// Why a set of nodes was the most the search could use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeLimit {
    /// `--nodes K`: the administrator gave the count.
    Nodes(usize),
    Preferred,
    Cores(usize),
    Usable(usize),
}

impl fmt::Display for NodeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeLimit::Nodes(k) => write!(f, "any {k} host nodes (--nodes {k})"),
            NodeLimit::Preferred => f.write_str("one host node (--mode preferred takes one)"),
            NodeLimit::Cores(k) => write!(
                f,
                "{k} host nodes (each guest cell needs a guest core, and the guest has {k})"
            ),
            NodeLimit::Usable(1) => f.write_str("the one host node with usable CPUs"),
            NodeLimit::Usable(k) => write!(f, "the {k} host nodes with usable CPUs"),
        }
    }
}

/// The resource the guest misses most on the best nodes it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortage {
    Cpus {
        need: u64,
        have: u64,
        threads: u32,
        reserve: CpuSet,
    },
    Memory {
        need_kib: u64,
        have_kib: u64,
    },
    /// Enough of each, but never on the same nodes.
    Together,
    /// Enough CPUs, but not in cells of equal size, which is what guest
    /// sockets need: `node` has room for `smallest` guest cores.
    UnequalCells {
        cores: u64,
        count: usize,
        smallest: u64,
        node: u32,
    },
    /// Not enough free huge pages: each node's free pages of the size.
    HugePages {
        need: u64,
        size_kib: u64,
        free: Vec<(u32, u64)>,
    },
}

impl fmt::Display for Shortage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shortage::Cpus {
                need,
                have,
                threads: 1,
                reserve,
            } => write!(
                f,
                "CPUs are the limit: the guest needs {need} host CPUs and the best of these nodes \
                 have {have} outside the reserve {}",
                Reserve(reserve)
            ),
            Shortage::Cpus {
                need,
                have,
                threads,
                reserve,
            } => write!(
                f,
                "cores are the limit: the guest needs {need} host cores with {threads} free \
                 threads each and the best of these nodes have {have} outside the reserve {}",
                Reserve(reserve)
            ),
            Shortage::Memory { need_kib, have_kib } => write!(
                f,
                "memory is the limit: the guest needs {} and the best of these nodes have {} free",
                Size(*need_kib),
                Gib(*have_kib)
            ),
            Shortage::Together => f.write_str(
                "the nodes with enough CPUs and the nodes with enough free memory are not the same",
            ),
            Shortage::UnequalCells { cores, count, .. } if !cores.is_multiple_of(*count as u64) => {
                write!(
                f,
                "the guest's {cores} cores do not split into {count} cells of equal size, and each \
                 guest socket must be one cell; choose a vCPU count whose cores {count} nodes \
                 share evenly"
            )
            }
            Shortage::UnequalCells {
                cores,
                count,
                smallest,
                node,
            } => write!(
                f,
                "each guest socket must be one cell of the same size, {} guest cores each, and \
                 host node {node} has room for {smallest}; choose fewer vCPUs (at most {} in all \
                 on {count} such nodes), or free CPUs on node {node}",
                cores / *count as u64,
                smallest * *count as u64
            ),
            Shortage::HugePages {
                need,
                size_kib,
                free,
            } => {
                let have: u64 = free.iter().map(|(_, pages)| pages).sum();
                let size = Size(*size_kib);
                let per_node: Vec<String> = free
                    .iter()
                    .map(|(node, pages)| format!("{pages} on node {node}"))
                    .collect();
                write!(
                    f,
                    "huge pages are the limit: the guest needs {need} pages of {size} and the best \
                     of these nodes have {have} free ({}); reserve {} more pages of {size} on them \
                     (/sys/devices/system/node/nodeN/hugepages/hugepages-{size_kib}kB/nr_hugepages)",
                    per_node.join(", "),
                    need - have
                )
            }
        }
    }
}

pub(crate) struct Reserve<'a>(pub(crate) &'a CpuSet);

impl fmt::Display for Reserve<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.is_empty() {
            true => f.write_str("(empty)"),
            false => write!(f, "{}", self.0),
        }
    }
}

#[derive(Debug, Error)]
pub enum SuggestError {
    #[error("--vcpus must be at least 1")]
    NoVcpus,
    #[error("--threads-per-core must be at least 1")]
    NoThreads,
    #[error("--vcpus {vcpus} is not a multiple of --threads-per-core {threads}; every guest core needs {threads} vCPUs")]
    VcpusNotMultiple { vcpus: u32, threads: u32 },
    #[error(
        "--memory {memory} is not a whole number of {size} pages; ask for a multiple of {size}"
    )]
    MemoryNotPages { memory: String, size: String },
    #[error("--memory {memory} KiB is not a whole number of MiB; QEMU rounds each cell up to a MiB, so ask for {rounded}")]
    MemoryNotMib { memory: String, rounded: String },
    #[error("--reserve names CPUs {cpus}, which this host does not have (its CPUs: {host})")]
    ReserveUnknown { cpus: CpuSet, host: CpuSet },
    #[error("--nodes must be at least 1")]
    NoNodes,
    #[error("--mode preferred takes a single node and --nodes {0} asks for more; use strict or interleave to spread memory")]
    PreferredManyNodes(usize),
    #[error("--nodes {nodes} asks for more cells than the guest has cores ({cores}); each cell needs one")]
    MoreCellsThanCores { nodes: usize, cores: u64 },
    #[error("{}only {usable} host node(s) have {what} outside the reserve {} and free memory", NodesPrefix(*.nodes), Reserve(.reserve))]
    NotEnoughNodes {
        /// `--nodes`, when given.
        nodes: Option<usize>,
        usable: usize,
        what: String,
        reserve: CpuSet,
    },
    #[error("the guest does not fit on {limit}: {shortage}")]
    DoesNotFit {
        limit: NodeLimit,
        shortage: Shortage,
    },
    #[error("the host has {nodes} usable nodes, too many to compare every choice of {count}; pass --nodes with a count near 1 or near {nodes}")]
    TooManyChoices { nodes: usize, count: usize },
}

/// `--nodes K: ` when the administrator gave it, else nothing.
struct NodesPrefix(Option<usize>);

impl fmt::Display for NodesPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(k) => write!(f, "--nodes {k}: "),
            None => Ok(()),
        }
    }
}
