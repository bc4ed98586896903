//! Where KSM's files are: the kernel's KSM folder, the node folder, meminfo,
//! the lock two switches share, and MoM's configuration.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::host::files::read_number;
use crate::host::mom::{self, KernelKsm};
use crate::host::paths::HostPaths;

use super::KsmError;

const REAL_LOCK: &str = "/run/lock/vdsm-hook-largeguest-ksm.lock";
const LOCK_NAME: &str = "vdsm-hook-largeguest-ksm.lock";

/// Where KSM's files are, taken from the host's paths. Tests point these
/// at fake trees; the privileged side always uses [`KsmFiles::real`].
#[derive(Debug, Clone)]
pub(crate) struct KsmFiles {
    /// `kernel/mm/ksm`, the counters and switches.
    pub(super) folder: PathBuf,
    pub(super) nodes: PathBuf,
    pub(super) meminfo: PathBuf,
    pub(super) lock: PathBuf,
    /// MoM's configuration, which says whether MoM manages KSM here.
    pub(super) mom_conf: PathBuf,
}

impl KsmFiles {
    /// The running kernel's files, whatever the environment says.
    pub(crate) fn real() -> KsmFiles {
        KsmFiles::from_paths(&HostPaths::real())
    }

    /// The host at `paths`. A fake sysfs gets its own lock file, so tests
    /// on separate trees do not wait for each other or for the real host.
    pub(crate) fn from_paths(paths: &HostPaths) -> KsmFiles {
        let lock = match paths.is_real_sysfs() {
            true => PathBuf::from(REAL_LOCK),
            false => paths.sysfs.join(LOCK_NAME),
        };
        KsmFiles::at(&paths.sysfs, &paths.procfs, lock, paths.mom_conf.clone())
    }

    fn at(sysfs: &Path, procfs: &Path, lock: PathBuf, mom_conf: PathBuf) -> KsmFiles {
        KsmFiles {
            folder: sysfs.join("kernel/mm/ksm"),
            nodes: sysfs.join("devices/system/node"),
            meminfo: procfs.join("meminfo"),
            lock,
            mom_conf,
        }
    }

    /// MoM, when its configuration makes it manage merge_across_nodes here.
    pub(crate) fn mom(&self) -> Result<Option<mom::Mom>, KsmError> {
        Ok(mom::managing(&self.mom_conf)?)
    }

    /// What MoM's judgement needs of the kernel.
    pub(crate) fn kernel_state(&self) -> Result<KernelKsm, KsmError> {
        Ok(KernelKsm {
            merge_across_nodes: self.merge_across_nodes()?,
            run: self.read("run")?,
            pages_shared: self.read("pages_shared")?,
        })
    }

    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.folder.join(name)
    }

    pub(super) fn read(&self, name: &str) -> Result<u64, KsmError> {
        Ok(read_number(&self.file(name))?)
    }

    pub(super) fn write(&self, name: &str, value: u64) -> Result<(), KsmError> {
        let path = self.file(name);
        write_number(&path, value).map_err(|source| KsmError::Write {
            path,
            value,
            source,
        })
    }

    /// Current merge_across_nodes, read without any privilege.
    pub(crate) fn merge_across_nodes(&self) -> Result<bool, KsmError> {
        Ok(self.read("merge_across_nodes")? != 0)
    }
}

/// One write() like `echo`. No O_TRUNC: sysfs ignores it, and on a fake tree
/// it would let a concurrent reader see an empty file. The values written
/// (run 0-2, merge_across_nodes 0-1) are one digit, so the length never changes.
fn write_number(path: &Path, value: u64) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(format!("{value}\n").as_bytes())
}
