//! `verify DOMAIN`: whether a running guest is where its properties and its
//! live domain XML say it should be.
//!
//! Nothing in oVirt reads placement back once a VM runs, and much moves it
//! afterwards: VDSM's CPU management re-pins vCPUs, `preferred` and
//! `interleave` fall back when a node is full, NUMA balancing and KSM move
//! pages, an administrator runs `virsh vcpupin`. This reads what the kernel
//! says of the QEMU process (`/proc`) and compares it with what libvirt
//! recorded (`/run/libvirt/qemu/`) and with the VM's custom properties.
//! It only reads, and needs root to read another user's `numa_maps`.

mod compare;
mod live;
mod proc;
mod render;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::output;
use crate::topology::{self, TopologyError};

pub use compare::{Check, Report};
pub use live::{LiveDomain, RUN_ROOT_VARIABLE};
pub use proc::{Process, PROCFS_ROOT_VARIABLE};

const USAGE: &str = "\
usage: vdsm-hook-largeguest verify DOMAIN [--json]

Reads the running guest DOMAIN (name or UUID) on this host, as root: where
each vCPU, the emulator and each I/O thread may run, and where the guest's
memory is, and compares them with the live domain XML and the VM's custom
properties (cputune, numatune, guestnuma).

Exit status: 0 every check holds; 1 something differs (one line each);
2 the domain cannot be read.";

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("no running domain {domain:?} on this host: {} has no status file for that name or UUID; verify reads the guests this host runs", dir.display())]
    NotRunning { domain: String, dir: PathBuf },
    #[error("cannot read {}: {source}{}", path.display(), root_hint(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a regular file of at most {limit} bytes, so it is not the file libvirt or the kernel writes there", path.display())]
    NotAFile { path: PathBuf, limit: u64 },
    #[error("{} is not UTF-8 text, so it is not the file libvirt or the kernel writes there", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{} {what}", path.display())]
    Format { path: PathBuf, what: String },
    #[error("{} records QEMU pid {recorded} but the pid file says {pid}: libvirt is changing the domain's state; run verify again", path.display())]
    Stale {
        path: PathBuf,
        recorded: String,
        pid: u32,
    },
    #[error("QEMU process {pid} is not running ({} does not exist): the guest stopped, or libvirt's status file is stale", path.display())]
    NoProcess { pid: u32, path: PathBuf },
    #[error("process {pid} has none of the vCPU threads libvirt recorded for {domain:?}: the guest stopped and its pid was reused, or the status file is stale")]
    NotTheGuest { pid: u32, domain: String },
}

/// The folder a test variable names, else the real one.
fn root(variable: &str, real: &str) -> PathBuf {
    match std::env::var_os(variable) {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => PathBuf::from(real),
    }
}

fn root_hint(source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::PermissionDenied => "; run verify as root",
        _ => "",
    }
}

/// A file through the project's guarded reader, with messages about the
/// files verify reads rather than about sysfs.
pub(crate) fn read_file(path: &Path, limit: u64) -> Result<String, VerifyError> {
    topology::read_text_up_to(path, limit).map_err(|err| match err {
        TopologyError::Read { path, source } => VerifyError::Read { path, source },
        TopologyError::NotUtf8 { path } => VerifyError::NotUtf8 { path },
        _ => VerifyError::NotAFile {
            path: path.to_path_buf(),
            limit,
        },
    })
}

struct Options {
    domain: String,
    json: bool,
}

fn options(args: &[String]) -> Result<Option<Options>, Error> {
    let mut domain = None;
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            "--help" | "-h" => return Ok(None),
            flag if flag.starts_with("--") => {
                return Err(Error::Usage(format!(
                    "verify: unknown option {flag:?}; {}",
                    first_line()
                )))
            }
            name if domain.is_none() => domain = Some(name.to_string()),
            _ => {
                return Err(Error::Usage(format!(
                    "verify takes one domain; {}",
                    first_line()
                )))
            }
        }
    }
    match domain {
        Some(domain) => Ok(Some(Options { domain, json })),
        None => Err(Error::Usage(format!(
            "verify needs a domain name or UUID; {}",
            first_line()
        ))),
    }
}

fn first_line() -> &'static str {
    USAGE.lines().next().unwrap_or(USAGE)
}

/// `verify DOMAIN [--json]`: 0 when every check holds, 1 when one differs,
/// 2 (an error) when the domain cannot be read.
pub fn run(args: &[String]) -> Result<ExitCode, Error> {
    let Some(options) = options(args)? else {
        output::out(&format!("{USAGE}\n"))?;
        return Ok(ExitCode::Success);
    };
    let run = root(RUN_ROOT_VARIABLE, "/run");
    let procfs = root(PROCFS_ROOT_VARIABLE, "/proc");
    let report = verify(&run, &procfs, &options.domain)?;
    match options.json {
        true => output::out(&format!("{}\n", topology::to_json(&report)))?,
        false => output::out(&report.to_string())?,
    }
    let differs = report.differences().next().is_some();
    Ok(match differs {
        true => ExitCode::Differs,
        false => ExitCode::Success,
    })
}

/// Reads the domain under these roots and compares.
pub fn verify(run: &Path, procfs: &Path, domain: &str) -> Result<Report, VerifyError> {
    let status = live::locate(run, domain)?;
    let live = LiveDomain::read(&status)?;
    let process = Process::read(procfs, live.pid)?;
    let recorded = live.vcpu_threads.values();
    if !live.vcpu_threads.is_empty() && recorded.clone().all(|&tid| process.thread(tid).is_none()) {
        return Err(VerifyError::NotTheGuest {
            pid: live.pid,
            domain: live.name,
        });
    }
    Ok(compare::compare(&live, &process))
}
