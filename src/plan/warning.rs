//! What the plan lets through but says: the start goes on, and each
//! warning is one line on stderr, which VDSM logs.

use thiserror::Error;

use crate::cpuset::CpuSet;

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
}
