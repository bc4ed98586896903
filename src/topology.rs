//! The host as sysfs describes it: online CPUs, NUMA nodes, their memory.
//!
//! The hook checks property values against this before a VM starts, and
//! `topology` / `suggest` show and plan with it. Everything here only reads.
//! The root can be moved by `LARGEGUEST_SYSFS_ROOT`, which may point at any
//! file, so a message never repeats a file's text: only the path, and at
//! most the column where parsing stopped.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::cpuset::{self, CpuSet, NodeSet, SetEnd};
use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::guestnuma::Size;
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
    #[error("{path:?} does not hold a whole number, so it is not the sysfs file expected there")]
    NotANumber { path: PathBuf },
    #[error("{path:?} has no {field} line; node meminfo files have one")]
    NoMeminfoField { path: PathBuf, field: &'static str },
    #[error("{path:?} should hold {expected} distances, one per online node")]
    Distances { path: PathBuf, expected: usize },
    #[error("{path:?} does not exist: this kernel has no NUMA nodes in sysfs, so there is no topology to show or plan on")]
    NoNodes { path: PathBuf },
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

/// `topology [--json]`.
pub fn run(args: &[String]) -> Result<ExitCode, Error> {
    let json = match args {
        [] => false,
        [flag] if flag == "--json" => true,
        _ => return Err(Error::Usage("topology takes only --json".to_string())),
    };
    let topology = Topology::read(&sysfs_root())?;
    match json {
        true => crate::output::out(&format!("{}\n", to_json(&topology)))?,
        false => crate::output::out(&topology.to_string())?,
    }
    Ok(ExitCode::Success)
}

/// Pretty JSON; the structs hold only numbers and strings, which always serialize.
pub fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|err| format!("{{\"error\": {:?}}}", err.to_string()))
}

/// The host as `topology` shows it and `suggest` plans on it.
#[derive(Debug, Clone, Serialize)]
pub struct Topology {
    #[serde(serialize_with = "as_text")]
    pub online_cpus: CpuSet,
    #[serde(serialize_with = "as_text")]
    pub offline_cpus: CpuSet,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub id: u32,
    /// Online CPUs only: the kernel drops a CPU from its node when it goes offline.
    #[serde(serialize_with = "as_text")]
    pub cpus: CpuSet,
    /// Thread siblings, each a physical core, ordered by their first CPU.
    #[serde(serialize_with = "all_as_text")]
    pub cores: Vec<CpuSet>,
    pub memory_total_kib: u64,
    pub memory_free_kib: u64,
    pub hugepages: Vec<HugePages>,
    /// To every node of `Topology::nodes`, in that order; 10 is local.
    pub distances: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HugePages {
    pub size_kib: u64,
    pub total: u64,
    pub free: u64,
}

fn as_text<S: serde::Serializer>(set: &CpuSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(set)
}

fn all_as_text<S: serde::Serializer>(sets: &[CpuSet], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(sets.iter().map(|set| set.to_string()))
}

impl Topology {
    pub fn read(sysfs: &Path) -> Result<Topology, TopologyError> {
        let cpu_dir = sysfs.join("devices/system/cpu");
        let node_dir = sysfs.join("devices/system/node");
        let online_cpus = read_list(&cpu_dir.join("online"))?;
        // Kernels without CPU hotplug have no `offline` file: nothing is offline.
        let offline_cpus = match cpu_dir.join("offline") {
            path if path.exists() => read_list(&path)?,
            _ => CpuSet::new(),
        };
        if !node_dir.is_dir() {
            return Err(TopologyError::NoNodes { path: node_dir });
        }
        let ids = read_list(&node_dir.join("online"))?;
        let nodes = ids
            .iter()
            .map(|id| read_node(&cpu_dir, &node_dir.join(format!("node{id}")), id, ids.len()))
            .collect::<Result<_, _>>()?;
        Ok(Topology {
            online_cpus,
            offline_cpus,
            nodes,
        })
    }

    /// The distance between two nodes given by position in `nodes`.
    pub fn distance(&self, from: usize, to: usize) -> u32 {
        self.nodes[from].distances[to]
    }
}

/// Memory as administrators read it in `numactl --hardware`-like output.
pub struct Gib(pub u64);

impl fmt::Display for Gib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} GiB", self.0 as f64 / (1024.0 * 1024.0))
    }
}

/// An empty set reads better as a word than as nothing.
struct OrNone<'a>(&'a CpuSet);

impl fmt::Display for OrNone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.is_empty() {
            true => f.write_str("none"),
            false => write!(f, "{}", self.0),
        }
    }
}

/// The readable table `topology` prints.
impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "CPUs online: {}", OrNone(&self.online_cpus))?;
        writeln!(f, "CPUs offline: {}", OrNone(&self.offline_cpus))?;
        for node in &self.nodes {
            writeln!(f)?;
            write!(f, "{node}")?;
        }
        writeln!(f)?;
        writeln!(f, "distances:")?;
        let width = self
            .nodes
            .iter()
            .map(|n| n.id.to_string().len())
            .max()
            .unwrap_or(1);
        let width = width.max(3) + 2;
        write!(f, "{:>width$}", "node")?;
        for node in &self.nodes {
            write!(f, "{:>width$}", node.id)?;
        }
        writeln!(f)?;
        for node in &self.nodes {
            write!(f, "{:>width$}", node.id)?;
            for distance in &node.distances {
                write!(f, "{distance:>width$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = Gib(self.memory_total_kib);
        let free = Gib(self.memory_free_kib);
        match self.cpus.len() {
            0 => writeln!(f, "node {}: no CPUs, memory {total}, {free} free", self.id)?,
            count => writeln!(
                f,
                "node {}: CPUs {} ({count} in {} cores), memory {total}, {free} free",
                self.id,
                self.cpus,
                self.cores.len()
            )?,
        }
        const CORES_PER_LINE: usize = 8;
        for (index, line) in self.cores.chunks(CORES_PER_LINE).enumerate() {
            let label = if index == 0 { "cores:" } else { "" };
            let cores: Vec<String> = line
                .iter()
                .map(|core| format!("{:<7}", core.to_string()))
                .collect();
            writeln!(f, "  {label:<12}{}", cores.join(" ").trim_end())?;
        }
        if !self.hugepages.is_empty() {
            let pages: Vec<String> = self
                .hugepages
                .iter()
                .map(|p| format!("{}: {} free of {}", Size(p.size_kib), p.free, p.total))
                .collect();
            writeln!(f, "  {:<12}{}", "hugepages:", pages.join(", "))?;
        }
        Ok(())
    }
}

fn read_node(cpu_dir: &Path, dir: &Path, id: u32, count: usize) -> Result<Node, TopologyError> {
    let cpus = read_list(&dir.join("cpulist"))?;
    let mut cores: Vec<CpuSet> = Vec::new();
    let mut seen = CpuSet::new();
    for cpu in cpus.iter() {
        if seen.contains(cpu) {
            continue;
        }
        let path = cpu_dir.join(format!("cpu{cpu}/topology/thread_siblings_list"));
        // A sibling elsewhere would be a kernel bug; keep the node's CPUs its own.
        let mut core = read_list(&path)?.intersection(&cpus);
        core.insert(cpu);
        for id in core.iter() {
            seen.insert(id);
        }
        cores.push(core);
    }
    let meminfo_path = dir.join("meminfo");
    let meminfo = read_text(&meminfo_path)?;
    let field = |field| {
        meminfo_kib(&meminfo, field).ok_or(TopologyError::NoMeminfoField {
            path: meminfo_path.clone(),
            field,
        })
    };
    Ok(Node {
        id,
        cpus,
        cores,
        memory_total_kib: field("MemTotal")?,
        memory_free_kib: field("MemFree")?,
        hugepages: read_hugepages(&dir.join("hugepages"))?,
        distances: read_distances(&dir.join("distance"), count)?,
    })
}

/// `Node N FIELD:   VALUE kB` from a node's meminfo.
fn meminfo_kib(meminfo: &str, field: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let (Some("Node"), Some(_), Some(key), Some(value), Some("kB"), None) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            return None;
        };
        (key.strip_suffix(':') == Some(field))
            .then(|| value.parse().ok())
            .flatten()
    })
}

fn read_distances(path: &Path, count: usize) -> Result<Vec<u32>, TopologyError> {
    let wrong = || TopologyError::Distances {
        path: path.to_path_buf(),
        expected: count,
    };
    let distances = read_text(path)?
        .split_whitespace()
        .map(|word| word.parse::<u32>().map_err(|_| wrong()))
        .collect::<Result<Vec<u32>, _>>()?;
    match distances.len() == count {
        true => Ok(distances),
        false => Err(wrong()),
    }
}

/// One entry per `hugepages-SIZEkB` directory; none when the kernel has no
/// hugepage support.
fn read_hugepages(dir: &Path) -> Result<Vec<HugePages>, TopologyError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| TopologyError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut pages = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| TopologyError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let size_kib = name
            .to_str()
            .and_then(|name| name.strip_prefix("hugepages-")?.strip_suffix("kB"))
            .and_then(|size| size.parse().ok());
        let Some(size_kib) = size_kib else { continue };
        pages.push(HugePages {
            size_kib,
            total: read_number(&entry.path().join("nr_hugepages"))?,
            free: read_number(&entry.path().join("free_hugepages"))?,
        });
    }
    pages.sort_by_key(|pages| pages.size_kib);
    Ok(pages)
}

fn read_number(path: &Path) -> Result<u64, TopologyError> {
    let text = read_text(path)?;
    text.strip_suffix('\n')
        .unwrap_or(&text)
        .parse()
        .map_err(|_| TopologyError::NotANumber {
            path: path.to_path_buf(),
        })
}

/// A small sysfs text file, refusing anything that cannot be one (a FIFO
/// would block, /dev/zero would never end).
pub(crate) fn read_text(path: &Path) -> Result<String, TopologyError> {
    read_text_up_to(path, MAX_FILE_LEN)
}

/// The same guarded read with another bound, for kernel and libvirt files
/// that grow with the guest (numa_maps, a status XML). `NotSysfsFile` then
/// means larger than `limit`, or not a regular file.
pub(crate) fn read_text_up_to(path: &Path, limit: u64) -> Result<String, TopologyError> {
    let read_error = |source| TopologyError::Read {
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
    let not_sysfs = || TopologyError::NotSysfsFile {
        path: path.to_path_buf(),
    };
    if !metadata.is_file() || metadata.len() > limit {
        return Err(not_sysfs());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
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
pub(crate) fn parse_list(text: &str) -> Result<CpuSet, usize> {
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
