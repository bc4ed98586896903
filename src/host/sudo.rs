//! The privilege split: VDSM runs hooks as `vdsm`, and only root may write
//! `/sys/kernel/mm/ksm`. The hook asks sudo for exactly one of two fixed
//! command lines, which the package's sudoers drop-in allows and nothing else.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use thiserror::Error;

use crate::wording::{bare, quoted, PROGRAM};

/// The subcommand sudo may run; its only argument is `0` or `1`.
pub(crate) const SWITCH_COMMAND: &str = "ksm-switch";
/// The drop-in the package installs; named in every refusal.
pub(crate) const SUDOERS_FILE: &str = "/etc/sudoers.d/50_vdsm_hook_largeguest";

#[derive(Debug, Error)]
pub enum SudoError {
    #[error("cannot find this executable's path to hand to sudo: {0}")]
    NoExe(io::Error),
    #[error(
        "cannot run sudo ({0}) to switch KSM as root; install sudo and the sudoers drop-in {SUDOERS_FILE} shipped with {PROGRAM}"
    )]
    Missing(io::Error),
    #[error(
        "sudo refused {} ({}); install the drop-in {SUDOERS_FILE} from the {PROGRAM} package (mode 0440, it allows exactly this command line to user vdsm), or run the hook as root",
        quoted(.command), bare(.detail)
    )]
    Refused { command: String, detail: String },
    /// The privileged side ran and failed; its own message says why.
    #[error("as root: {0}")]
    Failed(String),
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `sudo -n <this executable> ksm-switch 0|1` and returns the privileged
/// side's one-line summary. `current_exe` resolves the hook entry's symlink,
/// so the command line is the installed binary's, as the sudoers rule names it.
pub(crate) fn switch_as_root(wanted: bool) -> Result<String, SudoError> {
    let exe: PathBuf = std::env::current_exe().map_err(SudoError::NoExe)?;
    let value = if wanted { "1" } else { "0" };
    let output = Command::new("sudo")
        .arg("-n")
        .arg(&exe)
        .arg(SWITCH_COMMAND)
        .arg(value)
        .stdin(Stdio::null())
        .output()
        .map_err(SudoError::Missing)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let own_line = stderr
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{PROGRAM}: ")))
        .map(str::to_string);
    match (output.status.success(), own_line) {
        (true, Some(summary)) => Ok(summary),
        (false, Some(message)) => Err(SudoError::Failed(message)),
        (_, None) => Err(SudoError::Refused {
            command: format!("sudo -n {} {SWITCH_COMMAND} {value}", exe.display()),
            detail: first_line_or_status(&stderr, output.status),
        }),
    }
}

fn first_line_or_status(stderr: &str, status: std::process::ExitStatus) -> String {
    match stderr.lines().map(str::trim).find(|line| !line.is_empty()) {
        Some(line) => line.to_string(),
        None => format!("it exited with {status} and said nothing"),
    }
}
