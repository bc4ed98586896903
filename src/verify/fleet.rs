//! `verify --all`: every guest the host runs that something places (the
//! project's properties, or pins and a memory policy of its own), one row
//! each, then the differences and the host at a glance. Drift is found by
//! looking at every guest, not only at the one someone thought of.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::host::paths::HostPaths;
use crate::host::topology::HostTopology;
use crate::properties::guestnuma::Size;
use crate::wording::{count, quoted};

use super::compare::{Report, Verdict};
use super::glance::Glance;
use super::live::{self, LiveDomain};
use super::render::{mib, verdict, Table};
use super::{verify_live, VerifyError};

/// One guest of the host: what verify found, or why it could not look.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Checked(Box<Report>),
    Unreadable { domain: String, error: String },
}

/// In `--json`, a report as `verify DOMAIN --json` prints it, or
/// `{"domain": ..., "error": ...}`.
impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Entry::Checked(report) => report.serialize(serializer),
            Entry::Unreadable { domain, error } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("domain", domain)?;
                map.serialize_entry("error", error)?;
                map.end()
            }
        }
    }
}

/// Every placed guest, and the host they share.
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    pub entries: Vec<Entry>,
    /// The host's nodes, or why sysfs could not be read.
    pub glance: Result<Glance, String>,
}

/// What the exit status says, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Holds,
    Differs,
    Unreadable,
}

/// Reads every running domain on the host at `paths`; a domain that stops
/// while it is read (its status file is gone) is left out, one whose files
/// cannot be read is an entry of its own, and the others are still read.
pub(crate) fn verify_all(paths: &HostPaths) -> Result<Fleet, VerifyError> {
    let mut entries = Vec::new();
    for path in live::status_files(&paths.run)? {
        let checked = match LiveDomain::read(&path) {
            Ok(live) if !live.is_placed() => continue,
            Ok(live) => {
                let name = live.name.clone();
                verify_live(paths, live).map_err(|err| (name, err))
            }
            Err(err) => Err((domain_of_file(&path), err)),
        };
        match checked {
            Ok(report) => entries.push(Entry::Checked(Box::new(report))),
            Err(_) if !path.exists() => continue,
            Err((domain, err)) => entries.push(Entry::Unreadable {
                domain,
                error: err.to_string(),
            }),
        }
    }
    let glance = HostTopology::read(&paths.sysfs)
        .map(|topology| Glance::new(&topology, &reports(&entries)))
        .map_err(|err| err.to_string());
    Ok(Fleet { entries, glance })
}

/// libvirt names a status file after its domain.
fn domain_of_file(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn reports(entries: &[Entry]) -> Vec<&Report> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Checked(report) => Some(report.as_ref()),
            Entry::Unreadable { .. } => None,
        })
        .collect()
}

impl Fleet {
    pub(crate) fn reports(&self) -> Vec<&Report> {
        reports(&self.entries)
    }

    pub(crate) fn outcome(&self) -> Outcome {
        self.entries
            .iter()
            .map(|entry| match entry {
                Entry::Checked(report) if report.differences().next().is_some() => Outcome::Differs,
                Entry::Checked(_) => Outcome::Holds,
                Entry::Unreadable { .. } => Outcome::Unreadable,
            })
            .max()
            .unwrap_or(Outcome::Holds)
    }
}

/// One guest's line in the summary, and what its metrics count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub vcpus_holding: usize,
    pub vcpus_differing: usize,
    /// Guest memory outside the nodes asked of it, over every cell.
    pub outside_kib: u64,
    /// (host node, page size in KiB) -> huge pages the guest has there.
    pub huge_pages: BTreeMap<(u32, u64), u64>,
    pub holding: usize,
    pub differing: usize,
}

impl Summary {
    pub(crate) fn of(report: &Report) -> Summary {
        let vcpus = |verdict| {
            report
                .vcpus
                .iter()
                .filter(|row| row.verdict == verdict)
                .count()
        };
        let mut huge_pages = BTreeMap::new();
        for pages in report.cells.iter().flat_map(|cell| &cell.huge_pages) {
            *huge_pages.entry((pages.node, pages.size_kib)).or_default() += pages.count;
        }
        Summary {
            vcpus_holding: vcpus(Verdict::Holds),
            vcpus_differing: vcpus(Verdict::Differs),
            outside_kib: report.cells.iter().map(|cell| cell.outside_kib).sum(),
            huge_pages,
            holding: report.holding(),
            differing: report.checks.len() - report.holding(),
        }
    }

    fn verdict(&self) -> String {
        match (self.holding, self.differing) {
            (_, 1..) => verdict(Verdict::Differs),
            (0, 0) => verdict(Verdict::Unasked),
            _ => verdict(Verdict::Holds),
        }
    }
}

fn summary_table(entries: &[Entry]) -> Table {
    let header = [
        "domain",
        "vCPUs ok",
        "differ",
        "MiB outside",
        "huge pages",
        "checks ok",
        "differ",
        "",
    ];
    let numeric = vec![false, true, true, true, false, true, true, false];
    let mut table = Table::new(header.map(String::from).to_vec(), numeric);
    for entry in entries {
        table.rows.push(match entry {
            Entry::Checked(report) => summary_line(report),
            Entry::Unreadable { domain, .. } => {
                let mut line = vec![quoted(domain).to_string()];
                line.extend(["-"; 6].map(String::from));
                line.push("UNREADABLE".into());
                line
            }
        });
    }
    table
}

fn summary_line(report: &Report) -> Vec<String> {
    let summary = Summary::of(report);
    let huge: Vec<String> = summary
        .huge_pages
        .iter()
        .map(|((node, size), pages)| format!("N{node}:{pages}x{}", Size(*size)))
        .collect();
    vec![
        quoted(&report.domain).to_string(),
        summary.vcpus_holding.to_string(),
        summary.vcpus_differing.to_string(),
        mib(summary.outside_kib),
        match huge.is_empty() {
            true => "-".into(),
            false => huge.join(","),
        },
        summary.holding.to_string(),
        summary.differing.to_string(),
        summary.verdict(),
    ]
}

impl fmt::Display for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            writeln!(
                f,
                "no running domain on this host carries the project's properties or pins of its own"
            )?;
        } else {
            write!(f, "{}", summary_table(&self.entries))?;
        }
        let mut lines = Vec::new();
        for entry in &self.entries {
            match entry {
                Entry::Checked(report) => lines.extend(
                    report
                        .differences()
                        .map(|check| format!("{}: {}", quoted(&report.domain), check.detail)),
                ),
                Entry::Unreadable { domain, error } => {
                    lines.push(format!("{}: cannot be read: {error}", quoted(domain)));
                }
            }
        }
        if !lines.is_empty() {
            writeln!(f)?;
            lines.iter().try_for_each(|line| writeln!(f, "{line}"))?;
        }
        writeln!(f)?;
        match &self.glance {
            Ok(glance) => write!(f, "{glance}")?,
            Err(err) => writeln!(f, "the host at a glance is not shown: {err}")?,
        }
        writeln!(f)?;
        writeln!(f, "{}", self.count_line())
    }
}

impl Fleet {
    /// `verify --all: 3 domains, 2 hold, 1 differs, 0 cannot be read`.
    fn count_line(&self) -> String {
        let reports = self.reports();
        let differ = reports
            .iter()
            .filter(|report| report.differences().next().is_some())
            .count();
        let unreadable = self.entries.len() - reports.len();
        let differs = match differ {
            1 => "1 differs".to_string(),
            n => format!("{n} differ"),
        };
        format!(
            "verify --all: {}, {} hold, {differs}, {unreadable} cannot be read",
            count(self.entries.len(), "domain"),
            reports.len() - differ
        )
    }
}
