//! The executable: `cli` dispatches, one file per command reads its own
//! arguments, calls the library and prints. May import every layer;
//! nothing imports it.

pub mod apply;
pub mod args;
pub mod check;
pub mod cli;
pub mod engine_config;
pub mod error;
pub mod exit_codes;
pub mod hook;
pub mod ksm;
pub mod output;
pub mod prepare;
pub mod suggest;
pub mod table;
pub mod topology;
pub mod verify;

use crate::host::files;
use crate::host::topology::HostLimits;

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
