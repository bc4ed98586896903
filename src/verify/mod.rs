//! `verify DOMAIN`: whether a running guest is where its properties and its
//! live domain XML say it should be. Imports `xml`, `domain`, `host` and
//! `properties`: it reads a running guest the way the hook reads a new one.
//!
//! Nothing in oVirt reads placement back once a VM runs, and much moves it
//! afterwards: VDSM's CPU management re-pins vCPUs, `preferred` and
//! `interleave` fall back when a node is full, NUMA balancing and KSM move
//! pages, an administrator runs `virsh vcpupin`. This reads what the kernel
//! says of the QEMU process (`/proc`) and compares it with what libvirt
//! recorded (`/run/libvirt/qemu/`) and with the VM's custom properties.
//! It only reads, and needs root to read another user's `numa_maps`.

mod compare;
mod fleet;
mod glance;
mod live;
mod metrics;
mod proc;
mod render;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::host::files::{self, FileError};
use crate::host::paths::HostPaths;
use crate::wording::{bare_path, quoted};

pub(crate) use compare::Report;
pub(crate) use fleet::{verify_all, Outcome};
pub(crate) use live::LiveDomain;
pub(crate) use metrics::{render as prometheus, write_atomically};
pub(crate) use proc::Process;

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("no running domain {} on this host: {} has no status file for that name or UUID; verify reads the guests this host runs", quoted(.domain), bare_path(.dir))]
    NotRunning { domain: String, dir: PathBuf },
    #[error("cannot read {}: {source}{}", bare_path(.path), root_hint(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the metrics to {}: {source}", bare_path(.path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a regular file of at most {limit} bytes, so it is not the file libvirt or the kernel writes there", bare_path(.path))]
    NotAFile { path: PathBuf, limit: u64 },
    #[error("{} is not UTF-8 text, so it is not the file libvirt or the kernel writes there", bare_path(.path))]
    NotUtf8 { path: PathBuf },
    #[error("{} {what}", bare_path(.path))]
    Format { path: PathBuf, what: String },
    #[error("{} records QEMU pid {recorded} but the pid file says {pid}: libvirt is changing the domain's state; run verify again", bare_path(.path))]
    Stale {
        path: PathBuf,
        recorded: String,
        pid: u32,
    },
    #[error("QEMU process {pid} is not running ({} does not exist): the guest stopped, or libvirt's status file is stale", bare_path(.path))]
    NoProcess { pid: u32, path: PathBuf },
    #[error("process {pid} has none of the vCPU threads libvirt recorded for {}: the guest stopped and its pid was reused, or the status file is stale", quoted(.domain))]
    NotTheGuest { pid: u32, domain: String },
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
    files::read_text_up_to(path, limit).map_err(|err| match err {
        FileError::Read { path, source } => VerifyError::Read { path, source },
        FileError::NotUtf8 { path } => VerifyError::NotUtf8 { path },
        _ => VerifyError::NotAFile {
            path: path.to_path_buf(),
            limit,
        },
    })
}

/// Reads the domain on the host at `paths` and compares.
pub(crate) fn verify(paths: &HostPaths, domain: &str) -> Result<Report, VerifyError> {
    let status = live::locate(&paths.run, domain)?;
    verify_live(paths, LiveDomain::read(&status)?)
}

/// Compares a domain already read with its QEMU process and, when it has
/// one, its persistent definition.
fn verify_live(paths: &HostPaths, mut live: LiveDomain) -> Result<Report, VerifyError> {
    if let (true, Some(etc)) = (live.properties.is_empty(), &paths.etc) {
        live.defined = live::definition(etc, &live.name)?;
    }
    let process = Process::read(&paths.procfs, live.pid)?;
    let recorded = live.vcpu_threads.values();
    if !live.vcpu_threads.is_empty() && recorded.clone().all(|&tid| process.thread(tid).is_none()) {
        return Err(VerifyError::NotTheGuest {
            pid: live.pid,
            domain: live.name.clone(),
        });
    }
    Ok(compare::compare(&live, &process))
}
