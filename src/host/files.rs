//! Where the host's kernel files are, and the one way the hook reads them.
//!
//! Tests move the roots with `LARGEGUEST_SYSFS_ROOT` and
//! `LARGEGUEST_PROCFS_ROOT`, which may then point at any file: so every read
//! is bounded, refuses what cannot be a kernel file (a FIFO would block,
//! /dev/zero would never end), and no message repeats a file's text.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::wording::{bare_path, quoted_path};

/// Replaces `/sys`, so tests can run the hook against fake trees.
pub const SYSFS_ROOT_VARIABLE: &str = "LARGEGUEST_SYSFS_ROOT";
/// Replaces `/proc`, for the same reason.
pub const PROCFS_ROOT_VARIABLE: &str = "LARGEGUEST_PROCFS_ROOT";
/// Replaces `/run`, where libvirt keeps its running guests' status files.
pub const RUN_ROOT_VARIABLE: &str = "LARGEGUEST_RUN_ROOT";

/// Replaces `/etc`, where libvirt keeps its persistent domains' definitions.
pub const ETC_ROOT_VARIABLE: &str = "LARGEGUEST_ETC_ROOT";

/// Replaces `/usr/bin/numad`, where libvirt runs numad from (a path fixed
/// when libvirt is built); the hook only looks whether it is there.
pub const NUMAD_VARIABLE: &str = "LARGEGUEST_NUMAD";

/// No sysfs or procfs file the hook reads comes near this.
pub const MAX_FILE_LEN: u64 = 64 * 1024;

pub fn sysfs_root() -> PathBuf {
    root(SYSFS_ROOT_VARIABLE, "/sys")
}

pub fn procfs_root() -> PathBuf {
    root(PROCFS_ROOT_VARIABLE, "/proc")
}

/// Where the running guests' QEMU processes are read, if anywhere: a fake
/// sysfs describes another host, whose guests the real `/proc` does not
/// show, so with `LARGEGUEST_SYSFS_ROOT` set the guests are read only from
/// a `LARGEGUEST_PROCFS_ROOT` set beside it.
pub fn guests_procfs_root() -> Option<PathBuf> {
    match set(SYSFS_ROOT_VARIABLE) && !set(PROCFS_ROOT_VARIABLE) {
        true => None,
        false => Some(procfs_root()),
    }
}

pub fn run_root() -> PathBuf {
    root(RUN_ROOT_VARIABLE, "/run")
}

/// Where libvirt's persistent definitions are read, if anywhere: with
/// `LARGEGUEST_RUN_ROOT` set, the running domains are a test's, whose
/// definitions the real `/etc` does not hold, so only a
/// `LARGEGUEST_ETC_ROOT` set beside it is read.
pub fn etc_root() -> Option<PathBuf> {
    match set(RUN_ROOT_VARIABLE) && !set(ETC_ROOT_VARIABLE) {
        true => None,
        false => Some(root(ETC_ROOT_VARIABLE, "/etc")),
    }
}

pub fn numad_path() -> PathBuf {
    root(NUMAD_VARIABLE, "/usr/bin/numad")
}

/// Whether numad is installed where libvirt will run it from.
pub fn numad_installed() -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(numad_path())
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The two trees the host's kernel files are in, for what is read only
/// when a VM needs it (huge pages, PCI devices, isolated CPUs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFiles {
    pub sysfs: PathBuf,
    pub procfs: PathBuf,
}

fn set(variable: &str) -> bool {
    std::env::var_os(variable).is_some_and(|root| !root.is_empty())
}

fn root(variable: &str, real: &str) -> PathBuf {
    match std::env::var_os(variable) {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => PathBuf::from(real),
    }
}

#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", bare_path(.path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a regular file of at most {limit} bytes, so it is not the kernel file expected there", quoted_path(.path))]
    NotAKernelFile { path: PathBuf, limit: u64 },
    #[error("{} is not valid UTF-8, so it is not the kernel file expected there", quoted_path(.path))]
    NotUtf8 { path: PathBuf },
    #[error("{} is not a kernel CPU/node list (column {column}), so it is not the kernel file expected there", quoted_path(.path))]
    NotAList { path: PathBuf, column: usize },
    #[error("{} does not hold a whole number, so it is not the kernel file expected there", quoted_path(.path))]
    NotANumber { path: PathBuf },
}

/// A small kernel text file, whole.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    read_text_up_to(path, MAX_FILE_LEN)
}

/// The same guarded read with another bound, for files that grow with the
/// guest (numa_maps, a libvirt status XML).
pub fn read_text_up_to(path: &Path, limit: u64) -> Result<String, FileError> {
    let read_error = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer before the check below could refuse it.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    let not_kernel_file = || FileError::NotAKernelFile {
        path: path.to_path_buf(),
        limit,
    };
    if !metadata.is_file() || metadata.len() > limit {
        return Err(not_kernel_file());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(not_kernel_file());
    }
    String::from_utf8(bytes).map_err(|_| FileError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// A whole number, as sysfs counters hold (surrounding whitespace allowed).
pub fn read_number(path: &Path) -> Result<u64, FileError> {
    read_text(path)?
        .trim()
        .parse()
        .map_err(|_| FileError::NotANumber {
            path: path.to_path_buf(),
        })
}

/// A kernel cpulist/nodelist file (`0-3,8-11\n`, or `\n` when empty).
pub fn read_list(path: &Path) -> Result<CpuSet, FileError> {
    read_text(path)?
        .parse()
        .map_err(
            |err: crate::properties::sets::ListError| FileError::NotAList {
                path: path.to_path_buf(),
                column: err.column,
            },
        )
}
