//! What `verify` reports: each row (a vCPU, a thread, a guest cell), its
//! verdict, and the checks with the line an administrator reads.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::cpuset::{CpuSet, NodeSet};
use crate::properties::numatune::MemoryMode;

use crate::verify::proc::Policy;

/// Memory of a cell outside its asked nodes is tolerated up to this share
/// of the cell: numa_maps is read page by page while the guest runs, and a
/// page or two in flight (KSM's shared copy, a page being migrated) must not
/// make a healthy guest differ...
pub(crate) const TOLERANCE_PERCENT: u64 = 1;
/// ...but never more than this, so a large cell cannot hide gigabytes.
pub(crate) const TOLERANCE_CAP_KIB: u64 = 256 * 1024;

/// One comparison; `detail` is the line an administrator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    pub what: String,
    pub holds: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Holds,
    Differs,
    /// Nothing was asked of it: shown, not checked.
    Unasked,
}

impl Verdict {
    pub(super) fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Differs, _) | (_, Verdict::Differs) => Verdict::Differs,
            (Verdict::Holds, _) | (_, Verdict::Holds) => Verdict::Holds,
            _ => Verdict::Unasked,
        }
    }
}

/// Where a set of host CPUs or nodes was asked, as an administrator names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CpuAsk {
    #[serde(serialize_with = "as_text")]
    pub set: CpuSet,
    pub by: &'static str,
}

/// A vCPU, the emulator or an I/O thread.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ThreadRow {
    pub what: String,
    pub tid: Option<u32>,
    pub asked: Option<CpuAsk>,
    #[serde(serialize_with = "option_as_text")]
    pub allowed: Option<CpuSet>,
    pub last_cpu: Option<u32>,
    pub verdict: Verdict,
}

/// A guest cell's memory placement as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MemoryAsk {
    #[serde(serialize_with = "mode_text")]
    pub mode: MemoryMode,
    #[serde(serialize_with = "as_text")]
    pub nodes: NodeSet,
    pub by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct HugePages {
    pub node: u32,
    pub size_kib: u64,
    pub count: u64,
}

/// A guest cell, or the whole guest when it has no cells.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CellRow {
    pub cell: Option<u32>,
    #[serde(serialize_with = "as_text")]
    pub vcpus: CpuSet,
    /// `<cell memory>`, or the whole guest's RAM.
    pub memory_kib: u64,
    /// Memory devices (DIMMs...) plugged into the cell.
    pub device_kib: u64,
    pub asked: Option<MemoryAsk>,
    /// The kernel's policy of each of its mappings, as numa_maps prints it.
    #[serde(serialize_with = "all_as_text")]
    pub policies: Vec<Policy>,
    pub kib_per_node: BTreeMap<u32, u64>,
    pub huge_pages: Vec<HugePages>,
    pub outside_kib: u64,
    pub tolerance_kib: u64,
    /// Backends of the cell no mapping was found for.
    pub missing: Vec<String>,
    pub verdict: Verdict,
}

/// Everything `verify` found, and the checks.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub domain: String,
    pub uuid: String,
    pub pid: u32,
    /// Which sources say what was asked: the properties, the persistent
    /// definition or the live XML.
    pub asked_from: String,
    pub vcpus: Vec<ThreadRow>,
    #[serde(serialize_with = "as_text")]
    pub offline_vcpus: CpuSet,
    pub threads: Vec<ThreadRow>,
    pub cells: Vec<CellRow>,
    /// The rest of the QEMU process's memory (its code, heap, device
    /// buffers), per host node: shown as numastat shows it, not checked.
    pub qemu_kib_per_node: BTreeMap<u32, u64>,
    pub checks: Vec<Check>,
}

impl Report {
    pub(crate) fn differences(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.holds)
    }

    pub(crate) fn holding(&self) -> usize {
        self.checks.iter().filter(|check| check.holds).count()
    }
}

fn as_text<S: Serializer>(set: &CpuSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(set)
}

fn option_as_text<S: Serializer>(set: &Option<CpuSet>, serializer: S) -> Result<S::Ok, S::Error> {
    match set {
        Some(set) => serializer.collect_str(set),
        None => serializer.serialize_none(),
    }
}

fn all_as_text<S: Serializer>(policies: &[Policy], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(policies.iter().map(|policy| policy.text.as_str()))
}

fn mode_text<S: Serializer>(mode: &MemoryMode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(mode.as_str())
}

/// `CPU 3` or `CPUs 0-3`, `node 1` or `nodes 0-1`.
pub(super) fn ids(noun: &str, set: &CpuSet) -> String {
    match set.len() {
        1 => format!("{noun} {set}"),
        0 => format!("no {noun}s"),
        _ => format!("{noun}s {set}"),
    }
}

/// MiB as an administrator reads it in a message.
pub(super) fn mib(kib: u64) -> String {
    match kib {
        0 => "0 MiB".into(),
        kib if kib < 1024 => format!("{kib} KiB"),
        kib => format!("{} MiB", kib.div_ceil(1024)),
    }
}

#[derive(Default)]
pub(super) struct Checks(pub(super) Vec<Check>);

impl Checks {
    pub(super) fn add(&mut self, what: impl Into<String>, holds: bool, detail: String) -> Verdict {
        self.0.push(Check {
            what: what.into(),
            holds,
            detail,
        });
        match holds {
            true => Verdict::Holds,
            false => Verdict::Differs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_differs_when_any_of_its_checks_does() {
        use Verdict::*;
        assert_eq!(Holds.and(Differs), Differs);
        assert_eq!(Unasked.and(Holds), Holds);
        assert_eq!(Unasked.and(Unasked), Unasked);
        assert_eq!(Differs.and(Unasked), Differs);
    }
}
