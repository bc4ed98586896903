//! The cells and pins on the chosen nodes, and the CPUs left for the
//! emulator and I/O threads.

use crate::cpuset::{CpuSet, NodeSet};
use crate::host::topology::HostTopology;
use crate::properties::cputune::{CpuTune, VcpuPin};
use crate::properties::guestnuma::{GuestCell, GuestNuma, Size};
use crate::properties::numatune::{MemoryMode, NumaTune, Placement};

use super::choose::{Candidate, Memory};
use super::types::{EngineSide, Proposal, ProposedCell, SuggestError, SuggestRequest};
use super::{Need, KIB_PER_MIB};

/// Housekeeping CPUs for the emulator and I/O threads, a few per guest
/// node: the reserve's CPUs there (where VDSM and libvirt run, which is
/// what `--reserve` keeps from the vCPUs), else one core no vCPU took;
/// never an isolated CPU. When the vCPUs took every core, the reserve.
pub(super) fn housekeeping(
    topology: &HostTopology,
    request: &SuggestRequest,
    proposal: &Proposal,
) -> CpuSet {
    let vcpu_cpus: CpuSet = proposal
        .cells
        .iter()
        .flat_map(|cell| cell.host_cpus.iter())
        .collect();
    let usable = |cpus: &CpuSet| {
        cpus.intersection(&topology.online_cpus)
            .difference(&request.isolated)
    };
    let mut chosen = CpuSet::new();
    for node in &topology.nodes {
        if !proposal.cells.iter().any(|cell| cell.node == node.id) {
            continue;
        }
        let reserved = usable(&proposal.reserve.intersection(&node.cpus));
        let free_core = || {
            node.cores
                .iter()
                .find(|core| core.intersection(&vcpu_cpus).is_empty() && usable(core) == **core)
                .cloned()
        };
        let here = match reserved.is_empty() {
            false => Some(reserved),
            true => free_core(),
        };
        here.iter()
            .flat_map(|cpus| cpus.iter().collect::<Vec<_>>())
            .for_each(|cpu| chosen.insert(cpu));
    }
    match chosen.is_empty() {
        false => chosen,
        true => usable(&proposal.reserve),
    }
}

pub(super) fn check_request(request: &SuggestRequest) -> Result<(), SuggestError> {
    let (vcpus, threads) = (request.vcpus, request.threads_per_core);
    if vcpus == 0 {
        return Err(SuggestError::NoVcpus);
    }
    if threads == 0 {
        return Err(SuggestError::NoThreads);
    }
    if vcpus % threads != 0 {
        return Err(SuggestError::VcpusNotMultiple { vcpus, threads });
    }
    if let Some(size) = request.hugepage_kib.filter(|&s| s > 0) {
        if !request.memory_kib.is_multiple_of(size) {
            return Err(SuggestError::MemoryNotPages {
                memory: Size(request.memory_kib).to_string(),
                size: Size(size).to_string(),
            });
        }
    }
    if !request.memory_kib.is_multiple_of(KIB_PER_MIB) {
        let rounded = request.memory_kib.div_ceil(KIB_PER_MIB) * KIB_PER_MIB;
        return Err(SuggestError::MemoryNotMib {
            memory: request.memory_kib.to_string(),
            rounded: Size(rounded).to_string(),
        });
    }
    match request.nodes {
        Some(0) => Err(SuggestError::NoNodes),
        Some(nodes) if nodes > 1 && request.mode == MemoryMode::Preferred => {
            Err(SuggestError::PreferredManyNodes(nodes))
        }
        _ => Ok(()),
    }
}

/// A reserve naming CPUs the host never had is most likely a typo.
pub(super) fn checked_reserve(
    topology: &HostTopology,
    reserve: &CpuSet,
) -> Result<CpuSet, SuggestError> {
    let mut host = topology.online_cpus.clone();
    for cpu in topology.offline_cpus.iter() {
        host.insert(cpu);
    }
    let unknown = reserve.difference(&host);
    match unknown.is_empty() {
        true => Ok(reserve.clone()),
        false => Err(SuggestError::ReserveUnknown {
            cpus: unknown,
            host,
        }),
    }
}

/// On a host that isolates CPUs for vCPUs, every other CPU; elsewhere CPU 0
/// and its siblings: VDSM, libvirt and the emulator threads live there.
pub(super) fn default_reserve(topology: &HostTopology, isolated: &CpuSet) -> CpuSet {
    if !isolated.is_empty() {
        return topology.online_cpus.difference(isolated);
    }
    topology
        .nodes
        .iter()
        .flat_map(|node| &node.cores)
        .find(|core| core.contains(0))
        .cloned()
        .unwrap_or_else(|| CpuSet::from_range(0, 0))
}

/// Splits `need` over cells of capacity `caps`, as evenly as they allow;
/// earlier cells take the remainder. The caller ensures the caps suffice.
fn split(need: u64, caps: &[u64]) -> Vec<u64> {
    let mut shares = vec![0; caps.len()];
    let mut open: Vec<usize> = (0..caps.len()).collect();
    let mut left = need;
    while !open.is_empty() {
        let count = open.len() as u64;
        let share = |position: usize| left / count + u64::from((position as u64) < left % count);
        let capped: Vec<usize> = open
            .iter()
            .enumerate()
            .filter(|&(position, &cell)| caps[cell] < share(position))
            .map(|(_, &cell)| cell)
            .collect();
        if capped.is_empty() {
            for (position, &cell) in open.iter().enumerate() {
                shares[cell] = share(position);
            }
            break;
        }
        for &cell in &capped {
            shares[cell] = caps[cell];
            left -= caps[cell];
        }
        open.retain(|cell| !capped.contains(cell));
    }
    shares
}

pub(super) fn build(
    candidates: &[Candidate],
    chosen: &[usize],
    request: &SuggestRequest,
    reserve: CpuSet,
    need: &Need,
    memory: Memory,
) -> Proposal {
    let chosen: Vec<&Candidate> = chosen.iter().map(|&i| &candidates[i]).collect();
    let unit_caps: Vec<u64> = chosen.iter().map(|c| c.units.len() as u64).collect();
    let memory_caps: Vec<u64> = chosen.iter().map(|c| c.free_units).collect();
    // Equal cells, so that each guest socket is one cell; `choose` made
    // sure every node has room for its share.
    let unit_shares = vec![need.units / unit_caps.len().max(1) as u64; unit_caps.len()];
    let memory_shares = split(need.memory, &memory_caps);
    let mut pins = Vec::new();
    let mut cells = Vec::new();
    let mut vcpu = 0;
    for ((candidate, &units), &share) in chosen.iter().zip(&unit_shares).zip(&memory_shares) {
        let first_vcpu = vcpu;
        let mut host_cpus = CpuSet::new();
        for &cpu in candidate.units.iter().take(units as usize).flatten() {
            host_cpus.insert(cpu);
            pins.push(VcpuPin {
                vcpu,
                cpuset: CpuSet::from_range(cpu, cpu),
            });
            vcpu += 1;
        }
        cells.push(ProposedCell {
            node: candidate.id,
            vcpus: CpuSet::from_range(first_vcpu, vcpu - 1),
            host_cpus,
            memory_kib: share * memory.unit_kib,
            node_free_kib: candidate.free_kib,
        });
    }
    let nodes: NodeSet = cells.iter().map(|cell| cell.node).collect();
    let guest_cells = cells
        .iter()
        .map(|cell| GuestCell {
            cpus: cell.vcpus.clone(),
            memory_kib: cell.memory_kib,
            host_nodes: Some(NodeSet::from_range(cell.node, cell.node)),
        })
        .collect();
    let engine = EngineSide {
        cpu_pinning: pins
            .iter()
            .map(|pin| format!("{}#{}", pin.vcpu, pin.cpuset))
            .collect::<Vec<_>>()
            .join("_"),
        sockets: cells.len(),
        cores_per_socket: unit_shares.first().copied().unwrap_or(0),
        threads_per_core: request.threads_per_core,
        vcpus: request.vcpus,
        memory_mib: request.memory_kib / KIB_PER_MIB,
    };
    Proposal {
        reserve,
        cells,
        engine,
        cputune: CpuTune { pins },
        numatune: NumaTune {
            mode: request.mode,
            placement: Placement::Nodes(nodes),
        },
        guestnuma: GuestNuma::Cells(guest_cells),
        emulatorpin: CpuSet::new(),
        iothreadpin: None,
        hugepage_kib: request.hugepage_kib,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_even_when_it_can_be() {
        assert_eq!(split(10, &[100, 100, 100]), vec![4, 3, 3]);
    }

    #[test]
    fn split_moves_what_a_small_cell_cannot_take() {
        assert_eq!(split(10, &[2, 100, 100]), vec![2, 4, 4]);
        assert_eq!(split(7, &[1, 1, 5]), vec![1, 1, 5]);
    }
}
