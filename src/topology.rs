//! The host as sysfs describes it: online CPUs, NUMA nodes, their memory.
//!
//! The hook checks property values against this before a VM starts, and
//! `topology` / `suggest` show and plan with it. Everything here only reads.
//! The root can be moved by `LARGEGUEST_SYSFS_ROOT`, which may point at any
//! file, so a message never repeats a file's text: only the path, and at
//! most the column where parsing stopped.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cpuset::{self, CpuSet, NodeSet, SetEnd};
use crate::property::{end, parse_value, Noun};

/// Replaces `/sys`, so tests can run the hook against fake trees.
pub const SYSFS_ROOT_VARIABLE: &str = "LARGEGUEST_SYSFS_ROOT";

/// No sysfs file the hook reads comes near this; a bigger one is not sysfs.
const MAX_FILE_LEN: u64 = 64 * 1024;

/// LARGEGUEST_SYSFS_ROOT or /sys: tests point the hook at fake trees.
pub fn sysfs_root() -> PathBuf {
    match std::env::var_os(SYSFS_ROOT_VARIABLE) {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => PathBuf::from("/sys"),
    }
}

#[derive(Debug, Error)]
pub enum TopologyError {
    #[error("cannot read {path:?}: {source}; is this a Linux host with sysfs mounted?")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path:?} is not a regular file of at most {MAX_FILE_LEN} bytes, so it is not the sysfs file expected there")]
    NotSysfsFile { path: PathBuf },
    #[error("{path:?} is not valid UTF-8, so it is not the sysfs file expected there")]
    NotUtf8 { path: PathBuf },
    #[error("{path:?} is not a kernel CPU/node list (column {column}), so it is not the sysfs file expected there")]
    NotAList { path: PathBuf, column: usize },
}

/// What the host can give a guest at all: the hook refuses values that
/// name CPUs or nodes outside these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLimits {
    pub online_cpus: CpuSet,
    /// Nodes with memory; a CPU-only node cannot back guest memory.
    pub memory_nodes: NodeSet,
}

impl HostLimits {
    pub fn read(sysfs: &Path) -> Result<HostLimits, TopologyError> {
        let online_cpus = read_list(&sysfs.join("devices/system/cpu/online"))?;
        let node_dir = sysfs.join("devices/system/node");
        let memory_nodes = match node_dir.is_dir() {
            true => read_list(&node_dir.join("has_memory"))?,
            // A kernel built without NUMA has one node, 0, holding everything.
            false => NodeSet::from_range(0, 0),
        };
        Ok(HostLimits {
            online_cpus,
            memory_nodes,
        })
    }
}

/// A small sysfs text file, refusing anything that cannot be one (a FIFO
/// would block, /dev/zero would never end).
pub(crate) fn read_text(path: &Path) -> Result<String, TopologyError> {
    let read_error = |source| TopologyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    let not_sysfs = || TopologyError::NotSysfsFile {
        path: path.to_path_buf(),
    };
    if !metadata.is_file() || metadata.len() > MAX_FILE_LEN {
        return Err(not_sysfs());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(not_sysfs());
    }
    String::from_utf8(bytes).map_err(|_| TopologyError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// A kernel cpulist/nodelist file (`0-3,8-11\n`, or `\n` when empty): the
/// kernel prints the grammar the properties use.
pub(crate) fn read_list(path: &Path) -> Result<CpuSet, TopologyError> {
    let text = read_text(path)?;
    parse_list(&text).map_err(|column| TopologyError::NotAList {
        path: path.to_path_buf(),
        column,
    })
}

/// The set, or the column where the text stops being a list.
fn parse_list(text: &str) -> Result<CpuSet, usize> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Ok(CpuSet::new());
    }
    parse_value("list", text, |input, notes| {
        let (rest, set) = cpuset::set(input, Noun::Cpu, SetEnd::AtAnyOtherCharacter, notes)?;
        end(rest, "','")?;
        Ok((rest, set))
    })
    .map_err(|err| err.column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lists_parse_with_or_without_newline() {
        assert_eq!(parse_list("0-3,8-11\n").unwrap().to_string(), "0-3,8-11");
        assert_eq!(parse_list("5").unwrap().to_string(), "5");
        assert!(parse_list("\n").unwrap().is_empty());
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn garbage_gives_a_column_not_the_text() {
        assert_eq!(parse_list("0-3,x\n"), Err(5));
        assert_eq!(parse_list("root:x:0:0\n"), Err(1));
        assert_eq!(parse_list("0-3\n\n"), Err(4));
    }
}
