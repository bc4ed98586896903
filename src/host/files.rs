//! Where the host's kernel files are, and the one way the hook reads them.
//!
//! Tests move the roots with `LARGEGUEST_SYSFS_ROOT` and
//! `LARGEGUEST_PROCFS_ROOT`, which may then point at any file: so every read
//! is bounded, refuses what cannot be a kernel file (a FIFO would block,
//! /dev/zero would never end), and no message repeats a file's text.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cpuset::CpuSet;

/// Replaces `/sys`, so tests can run the hook against fake trees.
pub const SYSFS_ROOT_VARIABLE: &str = "LARGEGUEST_SYSFS_ROOT";
/// Replaces `/proc`, for the same reason.
pub const PROCFS_ROOT_VARIABLE: &str = "LARGEGUEST_PROCFS_ROOT";

/// No sysfs or procfs file the hook reads comes near this.
pub const MAX_FILE_LEN: u64 = 64 * 1024;

pub fn sysfs_root() -> PathBuf {
    root(SYSFS_ROOT_VARIABLE, "/sys")
}

pub fn procfs_root() -> PathBuf {
    root(PROCFS_ROOT_VARIABLE, "/proc")
}

/// The two trees the host's kernel files are in, for what is read only
/// when a VM needs it (huge pages, PCI devices, isolated CPUs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFiles {
    pub sysfs: PathBuf,
    pub procfs: PathBuf,
}

fn root(variable: &str, real: &str) -> PathBuf {
    match std::env::var_os(variable) {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => PathBuf::from(real),
    }
}

#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path:?} is not a regular file of at most {MAX_FILE_LEN} bytes, so it is not the kernel file expected there")]
    NotAKernelFile { path: PathBuf },
    #[error("{path:?} is not valid UTF-8, so it is not the kernel file expected there")]
    NotUtf8 { path: PathBuf },
    #[error("{path:?} is not a kernel CPU/node list (column {column}), so it is not the kernel file expected there")]
    NotAList { path: PathBuf, column: usize },
    #[error("{path:?} does not hold a whole number, so it is not the kernel file expected there")]
    NotANumber { path: PathBuf },
}

/// A small kernel text file, whole.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    let read_error = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    let not_kernel_file = || FileError::NotAKernelFile {
        path: path.to_path_buf(),
    };
    if !metadata.is_file() || metadata.len() > MAX_FILE_LEN {
        return Err(not_kernel_file());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
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
        .map_err(|err: crate::grammar::sets::ListError| FileError::NotAList {
            path: path.to_path_buf(),
            column: err.column,
        })
}
