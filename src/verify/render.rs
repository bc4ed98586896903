//! The report as an administrator reads it at a glance, in the spirit of
//! `numastat -c`: a table of threads, a table of memory in MiB per host
//! node, each difference on its own line, and a last line that counts.

use std::collections::BTreeSet;
use std::fmt;

use crate::properties::guestnuma::Size;
use crate::wording::count;

use super::compare::{CellRow, Report, ThreadRow, Verdict, TOLERANCE_CAP_KIB, TOLERANCE_PERCENT};

/// Columns padded to their widest cell, numbers to the right.
pub(super) struct Table {
    pub(super) rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
}

impl Table {
    pub(super) fn new(header: Vec<String>, numeric: Vec<bool>) -> Table {
        Table {
            rows: vec![header],
            numeric,
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let width = widths[c];
                match self.numeric.get(c).copied().unwrap_or(false) {
                    true => line.push_str(&format!("{cell:>width$}  ")),
                    false => line.push_str(&format!("{cell:<width$}  ")),
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

pub(super) fn verdict(verdict: Verdict) -> String {
    match verdict {
        Verdict::Holds => "ok",
        Verdict::Differs => "DIFFERS",
        Verdict::Unasked => "-",
    }
    .to_string()
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn thread_table(rows: &[&ThreadRow]) -> Table {
    let header = ["", "tid", "asked", "asked by", "allowed", "last ran", ""];
    let mut table = Table::new(
        header.map(String::from).to_vec(),
        vec![false, true, false, false, false, true, false],
    );
    for row in rows {
        table.rows.push(vec![
            row.what.clone(),
            or_dash(row.tid),
            or_dash(row.asked.as_ref().map(|a| &a.set)),
            or_dash(row.asked.as_ref().map(|a| a.by)),
            or_dash(row.allowed.as_ref()),
            or_dash(row.last_cpu),
            verdict(row.verdict),
        ]);
    }
    table
}

/// Whole MiB, as `numastat -c` prints; a little memory shows as `<1`.
pub(super) fn mib(kib: u64) -> String {
    match kib {
        0 => "0".into(),
        kib if kib < 512 => "<1".into(),
        kib => ((kib + 512) / 1024).to_string(),
    }
}

fn memory_table(report: &Report) -> Table {
    let nodes: BTreeSet<u32> = report
        .cells
        .iter()
        .flat_map(|row| {
            let asked = row.asked.iter().flat_map(|a| a.nodes.iter());
            row.kib_per_node
                .keys()
                .copied()
                .chain(asked)
                .collect::<Vec<_>>()
        })
        .chain(report.qemu_kib_per_node.keys().copied())
        .collect();
    let mut header: Vec<String> = ["cell", "vCPUs", "memory", "asked", "asked by", "policy"]
        .map(String::from)
        .to_vec();
    header.extend(nodes.iter().map(|node| format!("node {node}")));
    header.extend(["huge pages".to_string(), String::new()]);
    let mut numeric = vec![false; 6];
    numeric.extend(nodes.iter().map(|_| true));
    let mut table = Table::new(header, numeric);
    for row in &report.cells {
        table.rows.push(cell_line(row, &nodes));
    }
    let mut rest = vec![
        "QEMU".to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ];
    rest.extend(
        nodes
            .iter()
            .map(|node| mib(report.qemu_kib_per_node.get(node).copied().unwrap_or(0))),
    );
    table.rows.push(rest);
    table
}

fn cell_line(row: &CellRow, nodes: &BTreeSet<u32>) -> Vec<String> {
    let memory = match row.device_kib {
        0 => Size(row.memory_kib).to_string(),
        devices => format!("{}+{}", Size(row.memory_kib), Size(devices)),
    };
    let policies: Vec<&str> = row.policies.iter().map(|p| p.text.as_str()).collect();
    let mut line = vec![
        row.cell
            .map_or_else(|| "all".to_string(), |id| id.to_string()),
        row.vcpus.to_string(),
        memory,
        or_dash(
            row.asked
                .as_ref()
                .map(|a| format!("{} {}", a.mode, a.nodes)),
        ),
        or_dash(row.asked.as_ref().map(|a| a.by)),
        match policies.is_empty() {
            true => "?".to_string(),
            false => policies.join(","),
        },
    ];
    line.extend(
        nodes
            .iter()
            .map(|node| mib(row.kib_per_node.get(node).copied().unwrap_or(0))),
    );
    let huge: Vec<String> = row
        .huge_pages
        .iter()
        .map(|p| format!("N{}:{}x{}", p.node, p.count, Size(p.size_kib)))
        .collect();
    line.push(match huge.is_empty() {
        true => "-".to_string(),
        false => huge.join(","),
    });
    line.push(verdict(row.verdict));
    line
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "domain {} ({}), QEMU pid {}",
            self.domain, self.uuid, self.pid
        )?;
        writeln!(f, "asked: {}", self.asked_from)?;
        writeln!(f)?;
        let threads: Vec<&ThreadRow> = self.vcpus.iter().chain(&self.threads).collect();
        write!(f, "{}", thread_table(&threads))?;
        if !self.offline_vcpus.is_empty() {
            let noun = match self.offline_vcpus.len() {
                1 => "vCPU",
                _ => "vCPUs",
            };
            writeln!(
                f,
                "{noun} {} offline (hot-pluggable), not checked",
                self.offline_vcpus
            )?;
        }
        writeln!(f)?;
        write!(f, "{}", memory_table(self))?;
        writeln!(
            f,
            "MiB resident per host node; outside the asked nodes up to {TOLERANCE_PERCENT}% of a cell (at most {} MiB) is tolerated",
            TOLERANCE_CAP_KIB / 1024
        )?;
        for row in self
            .cells
            .iter()
            .filter(|row| row.asked.is_none() && !row.missing.is_empty())
        {
            let cell = row
                .cell
                .map_or("the guest".to_string(), |id| format!("cell {id}"));
            writeln!(
                f,
                "{cell}: no mapping found for {}, so its memory is not shown",
                row.missing.join(", ")
            )?;
        }
        writeln!(f)?;
        for difference in self.differences() {
            writeln!(f, "{}", difference.detail)?;
        }
        let differing = self.checks.len() - self.holding();
        let holds = match self.holding() {
            1 => "1 check holds".to_string(),
            n => format!("{} hold", count(n, "check")),
        };
        let differs = match differing {
            1 => "1 differs".to_string(),
            n => format!("{n} differ"),
        };
        writeln!(f, "verify: {holds}, {differs}")
    }
}
