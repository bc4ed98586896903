//! One file per command: each reads its own arguments, calls the library,
//! and prints. Nothing below this folder imports it.

pub mod apply;
pub mod args;
pub mod check;
pub mod engine_config;
pub mod error;
pub mod hook;
pub mod ksm;
pub mod prepare;
pub mod suggest;
pub mod topology;
pub mod verify;

use crate::host::files;
use crate::host::topology::HostLimits;
use crate::output;

/// The host's limits, or `None` with a warning when sysfs cannot be read:
/// libvirt checks the host again at start, so the VM is not refused for it.
pub fn host_limits() -> Option<HostLimits> {
    match HostLimits::read(&files::sysfs_root()) {
        Ok(limits) => Some(limits),
        Err(err) => {
            output::warn(&format!("host checks skipped: {err}"));
            None
        }
    }
}
