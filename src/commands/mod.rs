//! The executable: `cli` dispatches, one file per command reads its own
//! arguments, calls the library and prints. May import every layer;
//! nothing imports it.

pub(crate) mod apply;
pub(crate) mod args;
pub(crate) mod check;
pub mod cli;
pub(crate) mod engine_config;
pub mod environment;
pub(crate) mod error;
pub mod exit_codes;
pub(crate) mod hook;
pub(crate) mod ksm;
pub(crate) mod output;
pub(crate) mod prepare;
pub mod rewrite;
pub(crate) mod suggest;
pub mod table;
pub(crate) mod topology;
pub(crate) mod verify;

use crate::host::topology::HostLimits;

/// The host's limits, or `None` with a warning when sysfs cannot be read:
/// libvirt checks the host again at start, so the VM is not refused for it.
pub fn host_limits() -> Option<HostLimits> {
    let paths = environment::host_paths();
    match HostLimits::read(&paths.sysfs, &paths.procfs) {
        Ok(limits) => Some(limits),
        Err(err) => {
            output::warn(&format!("host checks skipped: {err}"));
            None
        }
    }
}
