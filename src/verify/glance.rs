//! The host at a glance, after `verify --all`'s guests: per host node, the
//! CPUs running guests' vCPUs are pinned to (and whose), the CPUs no guest
//! pins, and the memory and huge pages guests hold there beside what is
//! free. What the next large guest can still get, without adding up
//! `virsh vcpupin` of every guest by hand.

use std::collections::BTreeMap;
use std::fmt;

use crate::cpuset::CpuSet;
use crate::host::guests::{self, GuestPins, Share};
use crate::host::topology::HostTopology;
use crate::properties::guestnuma::Size;

use super::compare::Report;
use super::render::{mib, Table};

/// Huge pages of one size on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PagesGlance {
    pub size_kib: u64,
    pub total: u64,
    pub free: u64,
    /// Held by the guests verify read.
    pub guests: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeGlance {
    pub id: u32,
    pub cpus: CpuSet,
    /// CPUs some running guest's vCPU is pinned to.
    pub pinned: CpuSet,
    /// Who pins them, one per guest.
    pub pinned_by: Vec<Share>,
    pub memory_total_kib: u64,
    pub memory_free_kib: u64,
    /// Guest RAM resident here whose cell asks for this node.
    pub guest_bound_kib: u64,
    pub huge_pages: Vec<PagesGlance>,
}

impl NodeGlance {
    pub(crate) fn unpinned(&self) -> CpuSet {
        self.cpus.difference(&self.pinned)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glance {
    pub nodes: Vec<NodeGlance>,
}

impl Glance {
    pub(crate) fn new(topology: &HostTopology, reports: &[&Report]) -> Glance {
        let pins: Vec<GuestPins> = reports
            .iter()
            .map(|report| pins_of(report, &topology.online_cpus))
            .collect();
        let nodes = topology
            .nodes
            .iter()
            .map(|node| {
                let all_pinned = pins
                    .iter()
                    .fold(CpuSet::new(), |all, guest| all.union(&guest.cpus()));
                let pinned = node.cpus.intersection(&all_pinned);
                NodeGlance {
                    id: node.id,
                    cpus: node.cpus.clone(),
                    pinned_by: guests::shares(&pins, &pinned),
                    pinned,
                    memory_total_kib: node.memory_total_kib,
                    memory_free_kib: node.memory_free_kib,
                    guest_bound_kib: bound_kib(reports, node.id),
                    huge_pages: node
                        .hugepages
                        .iter()
                        .map(|pages| PagesGlance {
                            size_kib: pages.size_kib,
                            total: pages.total,
                            free: pages.free,
                            guests: guest_pages(reports, node.id, pages.size_kib),
                        })
                        .collect(),
                }
            })
            .collect();
        Glance { nodes }
    }
}

/// The vCPUs the kernel keeps on fewer than every online CPU.
fn pins_of(report: &Report, online: &CpuSet) -> GuestPins {
    let vcpus: BTreeMap<u32, CpuSet> = report
        .vcpus
        .iter()
        .filter_map(|row| {
            let vcpu = row.what.strip_prefix("vCPU ")?.parse().ok()?;
            let allowed = row.allowed.clone()?;
            (allowed != *online).then_some((vcpu, allowed))
        })
        .collect();
    GuestPins {
        domain: report.domain.clone(),
        pid: report.pid,
        vcpus,
    }
}

fn bound_kib(reports: &[&Report], node: u32) -> u64 {
    reports
        .iter()
        .flat_map(|report| &report.cells)
        .filter(|cell| {
            cell.asked
                .as_ref()
                .is_some_and(|ask| ask.nodes.contains(node))
        })
        .filter_map(|cell| cell.kib_per_node.get(&node))
        .sum()
}

fn guest_pages(reports: &[&Report], node: u32, size_kib: u64) -> u64 {
    reports
        .iter()
        .flat_map(|report| &report.cells)
        .flat_map(|cell| &cell.huge_pages)
        .filter(|pages| pages.node == node && pages.size_kib == size_kib)
        .map(|pages| pages.count)
        .sum()
}

fn or_dash(set: &CpuSet) -> String {
    match set.is_empty() {
        true => "-".into(),
        false => set.to_string(),
    }
}

impl fmt::Display for Glance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the host at a glance:")?;
        let header = [
            "node",
            "CPUs",
            "pinned",
            "unpinned",
            "MiB bound",
            "MiB free",
            "MiB total",
            "huge pages bound/free/total",
        ];
        let numeric = vec![false, false, false, false, true, true, true, false];
        let mut table = Table::new(header.map(String::from).to_vec(), numeric);
        for node in &self.nodes {
            let pages: Vec<String> = node
                .huge_pages
                .iter()
                .filter(|pages| pages.total > 0 || pages.guests > 0)
                .map(|p| format!("{}:{}/{}/{}", Size(p.size_kib), p.guests, p.free, p.total))
                .collect();
            table.rows.push(vec![
                node.id.to_string(),
                or_dash(&node.cpus),
                or_dash(&node.pinned),
                or_dash(&node.unpinned()),
                mib(node.guest_bound_kib),
                mib(node.memory_free_kib),
                mib(node.memory_total_kib),
                match pages.is_empty() {
                    true => "-".into(),
                    false => pages.join(" "),
                },
            ]);
        }
        write!(f, "{table}")?;
        for node in self.nodes.iter().filter(|node| !node.pinned_by.is_empty()) {
            writeln!(
                f,
                "node {} pinned by {}",
                node.id,
                node.pinned_by
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }
}
