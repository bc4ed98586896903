//! One vCPU's pin, what `cputune` reads and its canonical form prints,
//! in a module of its own so that both can use it.

use crate::cpuset::CpuSet;

/// One `<vcpupin vcpu= cpuset=/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcpuPin {
    pub vcpu: u32,
    pub cpuset: CpuSet,
}
