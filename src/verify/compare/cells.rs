//! The checks of each guest cell: its shape against guestnuma, the
//! kernel's memory policy against the mode asked, and where its pages are.

use crate::cpuset::CpuSet;
use crate::properties::guestnuma::GuestNuma;
use crate::properties::numatune::MemoryMode;
use crate::verify::proc::{Policy, PolicyMode, Process};

use super::asked::AskedFrom;
use super::report::{
    ids, mib, CellRow, Checks, MemoryAsk, Verdict, TOLERANCE_CAP_KIB, TOLERANCE_PERCENT,
};

/// The kernel's policy is the one the mode stands for: QEMU gives each
/// backend `bind`, `interleave` or `prefer` on the nodes. `restrictive`
/// sets no policy; only the cgroup's cpuset.mems limits where pages go.
pub(super) fn policy_agrees(ask: &MemoryAsk, policy: &Policy, process: &Process) -> bool {
    let modes: &[PolicyMode] = match ask.mode {
        MemoryMode::Strict => &[PolicyMode::Bind],
        MemoryMode::Interleave => &[PolicyMode::Interleave],
        MemoryMode::Preferred => &[PolicyMode::Prefer, PolicyMode::PreferMany],
        MemoryMode::Restrictive => return process.mems_allowed.is_subset(&ask.nodes),
    };
    policy.mode.is_some_and(|mode| modes.contains(&mode)) && policy.nodes == ask.nodes
}

/// The guestnuma property's cells against the running guest's, one verdict
/// per row.
pub(super) fn cell_shapes(rows: &[CellRow], from: &AskedFrom, checks: &mut Checks) -> Vec<Verdict> {
    let mut verdicts = vec![Verdict::Unasked; rows.len()];
    let running = rows.iter().filter(|row| row.cell.is_some()).count();
    let cells = match &from.properties.guestnuma {
        None => return verdicts,
        Some(GuestNuma::Even(count)) if *count != running => {
            let detail = format!(
                "guest NUMA: guestnuma asks {count} cells, the running guest has {running}"
            );
            checks.add("guest NUMA", false, detail);
            return verdicts;
        }
        Some(GuestNuma::Even(_)) => return verdicts,
        Some(GuestNuma::Cells(cells)) => cells,
    };
    if cells.len() != running {
        let detail = format!(
            "guest NUMA: guestnuma asks {} cells, the running guest has {running}",
            cells.len()
        );
        checks.add("guest NUMA", false, detail);
        return verdicts;
    }
    for (row, verdict) in rows.iter().zip(&mut verdicts) {
        let Some(want) = row.cell.and_then(|id| cells.get(id as usize)) else {
            continue;
        };
        let what = format!("cell {}", row.cell.unwrap_or_default());
        let holds = want.cpus == row.vcpus && want.memory_kib == row.memory_kib;
        let detail = format!(
            "{what}: guestnuma asks {} and {}, the running guest has {} and {}",
            ids("vCPU", &want.cpus),
            mib(want.memory_kib),
            ids("vCPU", &row.vcpus),
            mib(row.memory_kib)
        );
        *verdict = checks.add(what, holds, detail);
    }
    verdicts
}

/// The policy and the placement of a row's memory, when something was asked.
pub(super) fn check_cell(row: &mut CellRow, process: &Process, checks: &mut Checks) -> Verdict {
    let what = match row.cell {
        Some(id) => format!("cell {id}"),
        None => "guest memory".to_string(),
    };
    let Some(ask) = row.asked.clone() else {
        return Verdict::Unasked;
    };
    let asked_words = format!(
        "{} asks {} on {}",
        ask.by,
        ask.mode,
        ids("node", &ask.nodes)
    );
    if !row.missing.is_empty() {
        let detail = format!(
            "{what}: {asked_words}, but QEMU process {} has no mapping for {} (verify finds guest RAM by its size), so where it is cannot be told",
            process.pid,
            row.missing.join(", ")
        );
        return checks.add(what, false, detail);
    }
    row.outside_kib = row
        .kib_per_node
        .iter()
        .filter(|(node, _)| !ask.nodes.contains(**node))
        .map(|(_, kib)| kib)
        .sum();
    let policy = policy_check(&what, &asked_words, &ask, row, process, checks);
    let placement = placement_check(&what, &ask, row, checks);
    policy.and(placement)
}

pub(super) fn policy_check(
    what: &str,
    asked_words: &str,
    ask: &MemoryAsk,
    row: &CellRow,
    process: &Process,
    checks: &mut Checks,
) -> Verdict {
    let label = format!("{what} policy");
    if ask.mode == MemoryMode::Restrictive {
        let holds = process.mems_allowed.is_subset(&ask.nodes);
        let detail = match holds {
            true => format!("{what}: the QEMU process may allocate only on {}", ids("node", &process.mems_allowed)),
            false => format!(
                "{what}: {asked_words}, but the QEMU process may allocate on {} (Mems_allowed_list: no cgroup cpuset.mems holds it to the nodes)",
                ids("node", &process.mems_allowed)
            ),
        };
        return checks.add(label, holds, detail);
    }
    let texts: Vec<&str> = row.policies.iter().map(|p| p.text.as_str()).collect();
    let policies = texts.join(", ");
    let holds = row
        .policies
        .iter()
        .all(|policy| policy_agrees(ask, policy, process));
    let detail = match holds {
        true => format!("{what}: the kernel applies {policies} as {} asks", ask.by),
        false => format!("{what}: {asked_words}, but the kernel applies {policies} to its memory"),
    };
    checks.add(label, holds, detail)
}

pub(super) fn placement_check(
    what: &str,
    ask: &MemoryAsk,
    row: &CellRow,
    checks: &mut Checks,
) -> Verdict {
    let label = format!("{what} placement");
    let holds = row.outside_kib <= row.tolerance_kib;
    let outside: CpuSet = row
        .kib_per_node
        .iter()
        .filter(|(node, kib)| **kib > 0 && !ask.nodes.contains(**node))
        .map(|(node, _)| *node)
        .collect();
    let detail = match holds {
        true => format!(
            "{what}: {} resident, {} outside {} (tolerated: {})",
            mib(row.kib_per_node.values().sum()),
            mib(row.outside_kib),
            ids("node", &ask.nodes),
            mib(row.tolerance_kib)
        ),
        false => format!(
            "{what}: {} of its memory is on {}, outside {} that {} asks (tolerated: {}, {TOLERANCE_PERCENT}% of the cell, at most {}); a full node under preferred or interleave, automatic NUMA balancing or KSM merging across nodes puts it there",
            mib(row.outside_kib),
            ids("node", &outside),
            ids("node", &ask.nodes),
            ask.by,
            mib(row.tolerance_kib),
            mib(TOLERANCE_CAP_KIB)
        ),
    };
    checks.add(label, holds, detail)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::cpuset::NodeSet;
    use crate::verify::proc::Mapping;
    use std::collections::BTreeMap;

    pub(in crate::verify::compare) fn mapping(
        bytes: u64,
        perms: &str,
        policy: &str,
        page_kib: u64,
    ) -> Mapping {
        let (mode, nodes) = policy.split_once(':').unwrap_or((policy, ""));
        Mapping {
            start: 0x7f00_0000_0000,
            end: 0x7f00_0000_0000 + bytes,
            writable: perms.as_bytes()[1] == b'w',
            executable: perms.as_bytes()[2] == b'x',
            shared: perms.as_bytes()[3] == b's',
            path: None,
            policy: Policy {
                mode: PolicyMode::WORDS
                    .iter()
                    .find(|(w, _)| *w == mode)
                    .map(|&(_, m)| m),
                nodes: nodes.parse::<CpuSet>().unwrap(),
                text: policy.to_string(),
            },
            pages: BTreeMap::new(),
            page_kib,
            huge: page_kib > 4,
        }
    }

    #[test]
    fn each_mode_is_the_kernel_policy_qemu_sets() {
        let process = Process {
            pid: 1,
            threads: Vec::new(),
            mems_allowed: NodeSet::from_range(0, 1),
            mappings: Vec::new(),
        };
        let ask = |mode, nodes: &str| MemoryAsk {
            mode,
            nodes: nodes.parse::<CpuSet>().unwrap(),
            by: "numatune",
        };
        let agrees = |ask: &MemoryAsk, policy: &str| {
            policy_agrees(ask, &mapping(4096, "rw-p", policy, 4).policy, &process)
        };
        assert!(agrees(&ask(MemoryMode::Strict, "0-1"), "bind:0-1"));
        assert!(!agrees(&ask(MemoryMode::Strict, "0"), "bind:0-1"));
        assert!(!agrees(&ask(MemoryMode::Strict, "0"), "prefer:0"));
        assert!(agrees(
            &ask(MemoryMode::Interleave, "0-1"),
            "interleave:0-1"
        ));
        assert!(agrees(&ask(MemoryMode::Preferred, "1"), "prefer:1"));
        assert!(agrees(
            &ask(MemoryMode::Preferred, "0-1"),
            "prefer (many):0-1"
        ));
        assert!(!agrees(&ask(MemoryMode::Interleave, "0"), "default"));
        // restrictive is the cgroup's cpuset.mems, whatever the policy.
        assert!(agrees(&ask(MemoryMode::Restrictive, "0-1"), "default"));
        assert!(!agrees(&ask(MemoryMode::Restrictive, "0"), "default"));
    }
}
