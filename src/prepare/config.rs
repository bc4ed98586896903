//! What the host must hold for all its guests together, or why it cannot:
//! the CPUs kept for vCPUs (isolated) and for everything else
//! (housekeeping), and the huge pages reserved per node and size.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::host::kernel::KernelRelease;
use crate::host::topology::{Gib, HostTopology};
use crate::prepare::needs::GuestNeeds;
use crate::properties::guestnuma::Size;
use crate::wording::count;

/// Huge pages of one size to reserve on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodePages {
    pub node: u32,
    pub size_kib: u64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostConfig {
    /// CPUs that run only pinned vCPUs: no host task, no interrupt.
    pub isolated: CpuSet,
    /// Every other CPU the host has: VDSM, libvirt, emulator and I/O threads.
    pub housekeeping: CpuSet,
    /// By node, then size.
    pub pages: Vec<NodePages>,
    /// The running kernel, which decides the form of the kernel arguments.
    pub kernel: Option<KernelRelease>,
    /// One line each: what holds but an administrator should know.
    pub warnings: Vec<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HostError {
    #[error("{guest}: cputune pins vCPUs to host CPUs {cpus}, which this host does not have online (its online CPUs: {online})")]
    CpusMissing {
        guest: String,
        cpus: CpuSet,
        online: CpuSet,
    },
    #[error("{guest}: its emulator and I/O threads are pinned to host CPUs {cpus}, which this host does not have online (its online CPUs: {online})")]
    ThreadCpusMissing {
        guest: String,
        cpus: CpuSet,
        online: CpuSet,
    },
    #[error("{guest}: its emulator and I/O threads are pinned to host CPUs {cpus}, which {owner} pins vCPUs to; those CPUs are isolated, so give the threads housekeeping CPUs")]
    ThreadsOnIsolated {
        guest: String,
        cpus: CpuSet,
        owner: String,
    },
    #[error("the guests' vCPUs take every online host CPU ({online}); leave at least one core for the host, VDSM and the emulator threads")]
    NoHousekeeping { online: CpuSet },
    #[error("{guest}: guestnuma cell {cell} is on host node {node}, which this host does not have (its nodes: {nodes})")]
    NodeMissing {
        guest: String,
        cell: usize,
        node: u32,
        nodes: CpuSet,
    },
    #[error("node {node}: the kernel offers no {} huge pages there (no hugepages-{size_kib}kB pool); {}", Size(*.size_kib), size_hint(*.size_kib))]
    NoPool { node: u32, size_kib: u64 },
    #[error("node {node} cannot hold {} of huge pages ({}) with {} of memory", Size(*.need_kib), .pages, Gib(*.total_kib))]
    BeyondNode {
        node: u32,
        pages: String,
        need_kib: u64,
        total_kib: u64,
    },
}

fn size_hint(size_kib: u64) -> &'static str {
    match size_kib {
        1048576 => "1G pages need a CPU with pdpe1gb (and, for a guest, a host that passes it)",
        _ => "use a size the host lists under /sys/kernel/mm/hugepages",
    }
}

/// Below this much memory left to the host on a node, prepare warns.
const HOST_MEMORY_KIB: u64 = 4 * 1024 * 1024;

/// The host configuration for `guests`, refused when the host cannot hold it.
pub(crate) fn plan_host(
    topology: &HostTopology,
    guests: &[GuestNeeds],
    kernel: Option<KernelRelease>,
) -> Result<HostConfig, HostError> {
    let online = &topology.online_cpus;
    let mut isolated = CpuSet::new();
    let mut owners: Vec<(&str, &CpuSet)> = Vec::new();
    let mut warnings = Vec::new();
    for guest in guests {
        let missing = guest.vcpu_cpus.difference(online);
        if !missing.is_empty() {
            return Err(HostError::CpusMissing {
                guest: guest.source.clone(),
                cpus: missing,
                online: online.clone(),
            });
        }
        for (owner, cpus) in &owners {
            let shared = guest.vcpu_cpus.intersection(cpus);
            if !shared.is_empty() {
                warnings.push(format!(
                    "{} and {owner} pin vCPUs to the same host CPUs {shared}: they will share them",
                    guest.source
                ));
            }
        }
        owners.push((&guest.source, &guest.vcpu_cpus));
        for cpu in guest.vcpu_cpus.iter() {
            isolated.insert(cpu);
        }
    }
    check_threads(guests, online, &owners)?;
    let housekeeping = online.difference(&isolated);
    if housekeeping.is_empty() && !isolated.is_empty() {
        return Err(HostError::NoHousekeeping {
            online: online.clone(),
        });
    }
    warnings.extend(split_cores(topology, &isolated));
    let pages = node_pages(topology, guests, &mut warnings)?;
    Ok(HostConfig {
        isolated,
        housekeeping,
        pages,
        kernel,
        warnings,
    })
}

/// Emulator and I/O threads stay on online housekeeping CPUs.
fn check_threads(
    guests: &[GuestNeeds],
    online: &CpuSet,
    owners: &[(&str, &CpuSet)],
) -> Result<(), HostError> {
    for guest in guests {
        let missing = guest.thread_cpus.difference(online);
        if !missing.is_empty() {
            return Err(HostError::ThreadCpusMissing {
                guest: guest.source.clone(),
                cpus: missing,
                online: online.clone(),
            });
        }
        for (owner, cpus) in owners {
            let shared = guest.thread_cpus.intersection(cpus);
            if !shared.is_empty() {
                let owner = match *owner == guest.source {
                    true => "its own cputune".to_string(),
                    false => owner.to_string(),
                };
                return Err(HostError::ThreadsOnIsolated {
                    guest: guest.source.clone(),
                    cpus: shared,
                    owner,
                });
            }
        }
    }
    Ok(())
}

/// A core half isolated shares its caches and pipeline with host tasks:
/// one warning for all such cores, naming the host's side of each.
fn split_cores(topology: &HostTopology, isolated: &CpuSet) -> Option<String> {
    const NAMED: usize = 8;
    let split: Vec<&CpuSet> = topology
        .nodes
        .iter()
        .flat_map(|node| &node.cores)
        .filter(|core| {
            !core.intersection(isolated).is_empty() && !core.difference(isolated).is_empty()
        })
        .collect();
    if split.is_empty() {
        return None;
    }
    let shared: CpuSet = split
        .iter()
        .flat_map(|core| core.difference(isolated).iter().collect::<Vec<_>>())
        .collect();
    let mut named: Vec<String> = split.iter().take(NAMED).map(|c| c.to_string()).collect();
    if split.len() > NAMED {
        named.push(format!("and {} more", split.len() - NAMED));
    }
    Some(format!(
        "vCPUs and host tasks share {} ({}): the host keeps CPUs {shared} of them; plan guests on whole cores (suggest --threads-per-core 2) to avoid it",
        count(split.len(), "core"),
        named.join("; ")
    ))
}

/// The pages of every guest summed per node and size, checked against
/// what each node has.
fn node_pages(
    topology: &HostTopology,
    guests: &[GuestNeeds],
    warnings: &mut Vec<String>,
) -> Result<Vec<NodePages>, HostError> {
    let nodes: CpuSet = topology.nodes.iter().map(|node| node.id).collect();
    let mut sums: BTreeMap<(u32, u64), u64> = BTreeMap::new();
    for guest in guests {
        for cell in &guest.pages {
            if !nodes.contains(cell.node) {
                return Err(HostError::NodeMissing {
                    guest: guest.source.clone(),
                    cell: cell.cell,
                    node: cell.node,
                    nodes,
                });
            }
            let sum = sums.entry((cell.node, cell.size_kib)).or_default();
            // Saturating: a sum past any node's memory is refused below.
            *sum = sum.saturating_add(cell.count);
        }
    }
    for node in &topology.nodes {
        let on_node: Vec<(u64, u64)> = sums
            .iter()
            .filter(|((id, _), _)| *id == node.id)
            .map(|(&(_, size), &count)| (size, count))
            .collect();
        if on_node.is_empty() {
            continue;
        }
        for &(size_kib, _) in &on_node {
            if !node.hugepages.iter().any(|pool| pool.size_kib == size_kib) {
                return Err(HostError::NoPool {
                    node: node.id,
                    size_kib,
                });
            }
        }
        let need_kib: u64 = on_node
            .iter()
            .map(|&(size, count)| size.saturating_mul(count))
            .fold(0, u64::saturating_add);
        let pages: Vec<String> = on_node
            .iter()
            .map(|&(size, count)| format!("{count} of {}", Size(size)))
            .collect();
        if need_kib > node.memory_total_kib {
            return Err(HostError::BeyondNode {
                node: node.id,
                pages: pages.join(", "),
                need_kib,
                total_kib: node.memory_total_kib,
            });
        }
        if node.memory_total_kib - need_kib < HOST_MEMORY_KIB {
            warnings.push(format!(
                "node {}: {} of huge pages leave the host {} of its {}",
                node.id,
                Size(need_kib),
                Gib(node.memory_total_kib - need_kib),
                Gib(node.memory_total_kib)
            ));
        }
    }
    Ok(sums
        .into_iter()
        .map(|((node, size_kib), count)| NodePages {
            node,
            size_kib,
            count,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::topology::Node;

    /// One node of `cores` two-thread cores: CPU n and n + cores.
    fn host(cores: u32) -> HostTopology {
        let cpus = CpuSet::from_range(0, 2 * cores - 1);
        HostTopology {
            online_cpus: cpus.clone(),
            offline_cpus: CpuSet::new(),
            nodes: vec![Node {
                id: 0,
                cpus,
                cores: (0..cores)
                    .map(|n| [n, n + cores].into_iter().collect())
                    .collect(),
                memory_total_kib: 64 << 20,
                memory_free_kib: 32 << 20,
                hugepages: Vec::new(),
                distances: vec![10],
            }],
        }
    }

    #[test]
    fn split_cores_are_one_warning_naming_eight_of_them() {
        let topology = host(16);
        assert_eq!(split_cores(&topology, &"0-15,16-31".parse().unwrap()), None);
        let warning = split_cores(&topology, &"1-10".parse().unwrap()).unwrap();
        assert_eq!(
            warning,
            "vCPUs and host tasks share 10 cores (1,17; 2,18; 3,19; 4,20; 5,21; 6,22; 7,23; 8,24; and 2 more): the host keeps CPUs 17-26 of them; plan guests on whole cores (suggest --threads-per-core 2) to avoid it"
        );
        let one = split_cores(&topology, &"3".parse().unwrap()).unwrap();
        assert!(one.starts_with("vCPUs and host tasks share 1 core (3,19):"));
    }

    #[test]
    fn pages_past_any_memory_are_refused_not_overflowed() {
        use crate::host::topology::HugePages;
        use crate::prepare::needs::CellPages;
        let mut topology = host(4);
        topology.nodes[0].hugepages = vec![HugePages {
            size_kib: 1048576,
            total: 0,
            free: 0,
        }];
        let guest = |count| GuestNeeds {
            source: "guest".to_string(),
            vcpu_cpus: CpuSet::new(),
            thread_cpus: CpuSet::new(),
            pages: vec![CellPages {
                cell: 0,
                node: 0,
                size_kib: 1048576,
                count,
            }],
        };
        let err = plan_host(
            &topology,
            &[guest(u64::MAX / 2), guest(u64::MAX / 2 + 2)],
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, HostError::BeyondNode { node: 0, .. }),
            "{err}"
        );
    }
}
