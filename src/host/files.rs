//! Where the host's kernel files are, and the one way the hook reads them.
//!
//! Tests move the roots (`host::paths`), which may then point at any
//! file: so every read
//! is bounded, refuses what cannot be a kernel file (a FIFO would block,
//! /dev/zero would never end), and no message repeats a file's text.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::wording::{bare_path, quoted_path};

/// No sysfs or procfs file the hook reads comes near this.
pub const MAX_FILE_LEN: u64 = 64 * 1024;

/// Whether numad is installed at `path`, where libvirt will run it from.
pub fn numad_installed(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
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
