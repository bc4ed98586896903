//! CPUs the host keeps for latency-critical work: `isolcpus` takes them out
//! of the scheduler's balancing, `nohz_full` stops their tick. vCPUs belong
//! there; emulator and I/O threads, which wake often and briefly, do not.

use std::path::Path;

use crate::cpuset::CpuSet;
use crate::host::files::{read_list, FileError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Isolation {
    /// `/sys/devices/system/cpu/isolated`.
    pub isolated: CpuSet,
    /// `/sys/devices/system/cpu/nohz_full`; absent on kernels built without it.
    pub nohz_full: CpuSet,
}

impl Isolation {
    pub(crate) fn read(sysfs: &Path) -> Result<Isolation, FileError> {
        let cpu_dir = sysfs.join("devices/system/cpu");
        let list = |name: &str| {
            let path = cpu_dir.join(name);
            match path.exists() {
                true => read_list(&path),
                false => Ok(CpuSet::new()),
            }
        };
        // The kernel writes "(null)" in nohz_full when it has no such CPUs.
        let nohz_full = list("nohz_full").unwrap_or_default();
        Ok(Isolation {
            isolated: list("isolated")?,
            nohz_full,
        })
    }

    /// CPUs that are not housekeeping CPUs.
    pub(crate) fn reserved_for_vcpus(&self) -> CpuSet {
        let mut all = self.isolated.clone();
        for &(lo, hi) in self.nohz_full.ranges() {
            all.insert_range(lo, hi);
        }
        all
    }
}
