//! `verify --all --prometheus FILE`: the same findings as metrics in
//! Prometheus's text format, for node_exporter's textfile collector, which
//! reads every `*.prom` file of its folder at each scrape.
//!
//! Names follow Prometheus's conventions: the `largeguest_` prefix, base
//! units in the name (`_bytes`, `_seconds`), gauges only (every value is
//! what holds now, none counts up), no `_total` on a gauge, a HELP and a
//! TYPE line per family. The file is renamed into place, so the collector
//! never reads half of it.

use std::fmt::Write as _;
use std::path::Path;

use crate::host::replace::{replace, Replacement};
use crate::properties::guestnuma::Size;

use super::compare::{Report, ThreadRow, Verdict};
use super::fleet::{Entry, Fleet, Summary};
use super::glance::{Glance, NodeGlance, PagesGlance};

/// The metrics of a fleet read at `now` (seconds since the epoch).
pub(crate) fn render(fleet: &Fleet, now: u64) -> String {
    let mut out = Metrics::default();
    out.family(
        "largeguest_verify_last_run_timestamp_seconds",
        "When verify --all last read the host's guests, in seconds since the epoch.",
    );
    out.sample(&[], now);
    out.family(
        "largeguest_verify_domains",
        "Running domains verify --all looked at: those carrying the project's properties or pins of their own.",
    );
    out.sample(&[], fleet.entries.len() as u64);
    domains(&mut out, fleet);
    if let Ok(glance) = &fleet.glance {
        host(&mut out, glance);
    }
    out.text
}

/// The text format, family by family: every sample of a family follows its
/// HELP and TYPE lines.
#[derive(Default)]
struct Metrics {
    text: String,
    family: String,
}

impl Metrics {
    fn family(&mut self, name: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} gauge");
        self.family = name.to_string();
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: u64) {
        let _ = write!(self.text, "{}", self.family);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(name, value)| format!("{name}=\"{}\"", label_value(value)))
                .collect();
            let _ = write!(self.text, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A label value as the text format escapes it; domain names are anyone's.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn reports(fleet: &Fleet) -> Vec<&Report> {
    fleet.reports()
}

fn domains(out: &mut Metrics, fleet: &Fleet) {
    out.family(
        "largeguest_verify_unreadable",
        "1 when verify could not read the domain (its error is in verify --all's output), else 0.",
    );
    for entry in &fleet.entries {
        let (domain, unreadable) = match entry {
            Entry::Checked(report) => (&report.domain, 0),
            Entry::Unreadable { domain, .. } => (domain, 1),
        };
        out.sample(&[("domain", domain)], unreadable);
    }
    let reports = reports(fleet);
    let summaries: Vec<(&Report, Summary)> = reports.iter().map(|r| (*r, Summary::of(r))).collect();
    out.family(
        "largeguest_verify_checks",
        "Checks verify made of the domain: vCPU and thread pins, cell shapes, memory policies and placements.",
    );
    for (report, summary) in &summaries {
        let checks = summary.holding + summary.differing;
        out.sample(&[("domain", &report.domain)], checks as u64);
    }
    out.family(
        "largeguest_verify_differences",
        "Checks that differ from what was asked of the domain; 0 when everything holds.",
    );
    for (report, summary) in &summaries {
        out.sample(&[("domain", &report.domain)], summary.differing as u64);
    }
    pins(out, &reports);
    memory(out, &summaries);
}

fn holds(row: &ThreadRow) -> Option<u64> {
    match row.verdict {
        Verdict::Holds => Some(1),
        Verdict::Differs => Some(0),
        Verdict::Unasked => None,
    }
}

fn pins(out: &mut Metrics, reports: &[&Report]) {
    out.family(
        "largeguest_vcpu_pin_holds",
        "1 when the vCPU's thread may run exactly on the host CPUs asked of it, 0 when not; vCPUs nothing pins are left out.",
    );
    for report in reports {
        for row in &report.vcpus {
            let (Some(holds), Some(vcpu)) = (holds(row), row.what.strip_prefix("vCPU ")) else {
                continue;
            };
            out.sample(&[("domain", &report.domain), ("vcpu", vcpu)], holds);
        }
    }
    out.family(
        "largeguest_thread_pin_holds",
        "1 when the emulator or I/O thread may run exactly on the host CPUs asked of it, 0 when not.",
    );
    for report in reports {
        for row in &report.threads {
            let Some(holds) = holds(row) else { continue };
            let thread = row.what.replace(' ', "");
            out.sample(&[("domain", &report.domain), ("thread", &thread)], holds);
        }
    }
}

fn cell_label(cell: Option<u32>) -> String {
    cell.map_or_else(|| "all".to_string(), |id| id.to_string())
}

fn memory(out: &mut Metrics, summaries: &[(&Report, Summary)]) {
    out.family(
        "largeguest_memory_bytes",
        "Guest RAM resident on the host node, per guest cell (cell=\"all\" for a guest without cells), from numa_maps.",
    );
    for (report, _) in summaries {
        for row in &report.cells {
            let cell = cell_label(row.cell);
            for (node, kib) in &row.kib_per_node {
                let labels = [
                    ("domain", report.domain.as_str()),
                    ("cell", &cell),
                    ("host_node", &node.to_string()),
                ];
                out.sample(&labels, kib * 1024);
            }
        }
    }
    out.family(
        "largeguest_memory_outside_bytes",
        "Guest RAM resident outside the host nodes asked of its cell, over every cell of the domain.",
    );
    for (report, summary) in summaries {
        out.sample(&[("domain", &report.domain)], summary.outside_kib * 1024);
    }
    out.family(
        "largeguest_hugepages",
        "Huge pages of the size backing the domain's RAM on the host node.",
    );
    for (report, summary) in summaries {
        for ((node, size), pages) in &summary.huge_pages {
            let labels = [
                ("domain", report.domain.as_str()),
                ("host_node", &node.to_string()),
                ("size", &Size(*size).to_string()),
            ];
            out.sample(&labels, *pages);
        }
    }
}

/// One number of a host node.
type NodeValue = fn(&NodeGlance) -> u64;

fn host(out: &mut Metrics, glance: &Glance) {
    let node_label = |id: u32| id.to_string();
    let per_node: [(&str, &str, NodeValue); 6] = [
        (
            "largeguest_host_cpus",
            "Online host CPUs of the node.",
            |n| n.cpus.len() as u64,
        ),
        (
            "largeguest_host_pinned_cpus",
            "Host CPUs of the node that a running guest's vCPU is pinned to.",
            |n| n.pinned.len() as u64,
        ),
        (
            "largeguest_host_unpinned_cpus",
            "Host CPUs of the node no running guest's vCPU is pinned to.",
            |n| n.unpinned().len() as u64,
        ),
        (
            "largeguest_host_memory_size_bytes",
            "Memory of the host node.",
            |n| n.memory_total_kib * 1024,
        ),
        (
            "largeguest_host_memory_free_bytes",
            "Free memory of the host node (MemFree).",
            |n| n.memory_free_kib * 1024,
        ),
        (
            "largeguest_host_memory_bound_bytes",
            "Guest RAM resident on the host node whose cell asks for that node.",
            |n| n.guest_bound_kib * 1024,
        ),
    ];
    for (name, help, value) in per_node {
        out.family(name, help);
        for node in &glance.nodes {
            out.sample(&[("host_node", &node_label(node.id))], value(node));
        }
    }
    out.family(
        "largeguest_host_guest_pinned_cpus",
        "Host CPUs of the node that vCPUs of the domain are pinned to.",
    );
    for node in &glance.nodes {
        for share in &node.pinned_by {
            let labels = [
                ("host_node", node_label(node.id)),
                ("domain", share.domain.clone()),
            ];
            out.sample(&pairs(&labels), share.cpus.len() as u64);
        }
    }
    out.family(
        "largeguest_host_hugepages",
        "Huge pages of the size reserved on the host node.",
    );
    pages(out, glance, |p| p.total);
    out.family(
        "largeguest_host_hugepages_free",
        "Huge pages of the size free on the host node.",
    );
    pages(out, glance, |p| p.free);
}

fn pages(out: &mut Metrics, glance: &Glance, value: fn(&PagesGlance) -> u64) {
    for node in &glance.nodes {
        for page in node.huge_pages.iter().filter(|p| p.total > 0) {
            let labels = [
                ("host_node", node.id.to_string()),
                ("size", Size(page.size_kib).to_string()),
            ];
            out.sample(&pairs(&labels), value(page));
        }
    }
}

fn pairs<'a>(labels: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    labels
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

/// Replaces the file whole: the collector sees the old file or the new
/// one, never half of one, and the temporary name does not end in `.prom`,
/// so the collector never reads it. Not synced: the next run rewrites it.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let how = Replacement {
        mode: 0o644,
        owner: None,
        sync: false,
    };
    replace(path, text, how)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn label_values_are_escaped_as_the_text_format_says() {
        assert_eq!(label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label_value("a\nb"), "a\\nb");
    }

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = std::env::temp_dir().join(format!("largeguest-prom-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("largeguest.prom");
        fs::write(&path, "old\n").unwrap();
        write_atomically(&path, "new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["largeguest.prom"]);
        let _ = fs::remove_dir_all(&dir);
    }
}
