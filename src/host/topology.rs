//! The host as sysfs describes it: online CPUs, NUMA nodes, their memory.
//!
//! The hook checks property values against this before a VM starts, and
//! `topology` / `suggest` show and plan with it. Everything here only reads.
//! Tests move the root into fake trees, which may hold any file, so a message never repeats a file's text: only the path, and at
//! most the column where parsing stopped.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::cpuset::{CpuSet, NodeSet};
use crate::host::files::{read_list, read_number, read_text, FileError};
use crate::host::paths::KernelTrees;
use crate::properties::guestnuma::Size;
use crate::wording::quoted_path;

#[derive(Debug, Error)]
pub enum TopologyError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{} has no {field} line; node meminfo files have one", quoted_path(.path))]
    NoMeminfoField { path: PathBuf, field: &'static str },
    #[error("{} should hold {expected} distances, one per online node", quoted_path(.path))]
    Distances { path: PathBuf, expected: usize },
    #[error("{} does not exist: this kernel has no NUMA nodes in sysfs, so there is no topology to show or plan on", quoted_path(.path))]
    NoNodes { path: PathBuf },
}

/// What the host can give a guest at all: the hook refuses values that
/// name CPUs or nodes outside these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLimits {
    pub online_cpus: CpuSet,
    /// Nodes with memory; a CPU-only node cannot back guest memory.
    pub memory_nodes: NodeSet,
    /// Where the checks that only some VMs need read the rest (huge pages,
    /// PCI devices, isolated CPUs); `None` skips them.
    pub kernel: Option<KernelTrees>,
}

impl HostLimits {
    /// `procfs` is where the checks that only some VMs need read the rest.
    pub fn read(sysfs: &Path, procfs: &Path) -> Result<HostLimits, TopologyError> {
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
            kernel: Some(KernelTrees {
                sysfs: sysfs.to_path_buf(),
                procfs: procfs.to_path_buf(),
            }),
        })
    }
}

/// The host's whole NUMA layout, as `topology` shows it and `suggest`
/// plans on it; the hook reads only `HostLimits`, which is two files.
#[derive(Debug, Clone, Serialize)]
pub struct HostTopology {
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
    /// To every node of `HostTopology::nodes`, in that order; 10 is local.
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

impl HostTopology {
    pub fn read(sysfs: &Path) -> Result<HostTopology, TopologyError> {
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
        Ok(HostTopology {
            online_cpus,
            offline_cpus,
            nodes,
        })
    }

    /// The host with `taken` CPUs gone from its nodes and cores, as a plan
    /// that must not use them sees it; the online CPUs stay, so a reserve
    /// naming a taken CPU is still one the host has.
    pub fn without_cpus(mut self, taken: &CpuSet) -> HostTopology {
        for node in &mut self.nodes {
            node.cpus = node.cpus.difference(taken);
            node.cores = std::mem::take(&mut node.cores)
                .into_iter()
                .map(|core| core.difference(taken))
                .filter(|core| !core.is_empty())
                .collect();
        }
        self
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
impl fmt::Display for HostTopology {
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
/// A node's `MemTotal` and `MemFree` in KiB, and its CPUs, from sysfs.
pub fn node_memory_and_cpus(sysfs: &Path, node: u32) -> Result<(u64, u64, CpuSet), TopologyError> {
    let dir = sysfs.join(format!("devices/system/node/node{node}"));
    let cpus = read_list(&dir.join("cpulist"))?;
    let path = dir.join("meminfo");
    let meminfo = read_text(&path)?;
    let field = |field| {
        meminfo_kib(&meminfo, field).ok_or(TopologyError::NoMeminfoField {
            path: path.clone(),
            field,
        })
    };
    Ok((field("MemTotal")?, field("MemFree")?, cpus))
}

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
    let unreadable = |source| FileError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let entries = std::fs::read_dir(dir).map_err(unreadable)?;
    let mut pages = Vec::new();
    for entry in entries {
        let entry = entry.map_err(unreadable)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_taken_leave_their_nodes_and_cores_but_stay_online() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sysfs/two-socket-ht");
        let host = HostTopology::read(&root).unwrap();
        let taken: CpuSet = "2,24,50".parse().unwrap();
        let left = host.clone().without_cpus(&taken);
        assert_eq!(left.online_cpus, host.online_cpus);
        assert_eq!(left.nodes[0].cpus, host.nodes[0].cpus.difference(&taken));
        assert_eq!(left.nodes[1].cpus, host.nodes[1].cpus.difference(&taken));
        // CPU 2's sibling 50 went too: that core is gone; 24's sibling 72 stays alone.
        assert_eq!(left.nodes[0].cores.len(), host.nodes[0].cores.len() - 1);
        assert!(left.nodes[1].cores.contains(&"72".parse().unwrap()));
        assert!(left
            .nodes
            .iter()
            .flat_map(|n| &n.cores)
            .all(|c| !c.is_empty()));
    }
}
