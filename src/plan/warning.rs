//! What the plan lets through but says: the start goes on, and each
//! warning is one line on stderr, which VDSM logs.

use thiserror::Error;

use crate::cpuset::{CpuSet, NodeSet};
use crate::wording::Ids;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Warning {
    #[error("guestnuma: guest {level} {id} (vCPUs {vcpus}) is split across cells {cells}; QEMU starts it, but the guest sees one {level} on several NUMA nodes; to keep each {level} whole, give every cell whole {level}s of {size} vCPUs")]
    SplitsTopology {
        level: &'static str,
        id: u64,
        vcpus: CpuSet,
        cells: String,
        size: u64,
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
}
