//! `suggest`: choose host nodes and CPUs for a guest and write the three
//! property values, so nobody types a pinning of 48 vCPUs by hand.
//!
//! The rules, in order: the fewest host nodes that hold the vCPUs and the
//! memory; among those, the nodes closest to each other, then the most free
//! memory, then the lowest ids (so the answer is reproducible). One guest
//! cell per host node, its memory bound there. One vCPU per host CPU, none
//! shared, none in the reserve. vCPUs fill host cores sibling by sibling,
//! leaving whole cores free for other guests; with `--threads-per-core T`
//! each guest core lands on T siblings of one host core.

use std::cmp::Reverse;
use std::fmt::{self, Write};

use serde::Serialize;
use thiserror::Error;

use crate::cpuset::{CpuSet, NodeSet};
use crate::grammar::cputune::{CpuTune, VcpuPin};
use crate::grammar::guestnuma::{GuestCell, GuestNuma, Size};
use crate::grammar::numatune::{MemoryMode, NumaTune, Placement};
use crate::host::topology::{Gib, Topology};
use crate::output::to_json;

/// Past this many node combinations for one count, the host is too big to
/// compare them all and the administrator is asked to narrow the choice.
const MAX_COMBINATIONS: u64 = 1_000_000;

const KIB_PER_MIB: u64 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub vcpus: u32,
    pub memory_kib: u64,
    pub threads_per_core: u32,
    pub mode: MemoryMode,
    /// None: CPU 0 and its siblings, where VDSM and the emulator threads run.
    pub reserve: Option<CpuSet>,
    /// Exactly this many host nodes, instead of the fewest that fit.
    pub nodes: Option<usize>,
}

/// One guest cell on one host node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedCell {
    pub node: u32,
    pub vcpus: CpuSet,
    pub host_cpus: CpuSet,
    pub memory_kib: u64,
    pub node_free_kib: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub reserve: CpuSet,
    pub cells: Vec<ProposedCell>,
    pub cputune: CpuTune,
    pub numatune: NumaTune,
    pub guestnuma: GuestNuma,
}

/// Why a set of nodes was the most the search could use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeLimit {
    Asked(usize),
    Preferred,
    Cores(usize),
    Usable(usize),
}

impl fmt::Display for NodeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeLimit::Asked(k) => write!(f, "any {k} host nodes (--nodes {k})"),
            NodeLimit::Preferred => f.write_str("one host node (--mode preferred takes one)"),
            NodeLimit::Cores(k) => write!(
                f,
                "{k} host nodes (each guest cell needs a guest core, and the guest has {k})"
            ),
            NodeLimit::Usable(1) => f.write_str("the one host node with usable CPUs"),
            NodeLimit::Usable(k) => write!(f, "the {k} host nodes with usable CPUs"),
        }
    }
}

/// The resource the guest misses most on the best nodes it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortage {
    Cpus {
        need: u64,
        have: u64,
        threads: u32,
        reserve: CpuSet,
    },
    Memory {
        need_kib: u64,
        have_kib: u64,
    },
    /// Enough of each, but never on the same nodes.
    Together,
}

impl fmt::Display for Shortage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shortage::Cpus {
                need,
                have,
                threads: 1,
                reserve,
            } => write!(
                f,
                "CPUs are the limit: the guest needs {need} host CPUs and the best of these nodes \
                 have {have} outside the reserve {}",
                Reserve(reserve)
            ),
            Shortage::Cpus {
                need,
                have,
                threads,
                reserve,
            } => write!(
                f,
                "cores are the limit: the guest needs {need} host cores with {threads} free \
                 threads each and the best of these nodes have {have} outside the reserve {}",
                Reserve(reserve)
            ),
            Shortage::Memory { need_kib, have_kib } => write!(
                f,
                "memory is the limit: the guest needs {} and the best of these nodes have {} free",
                Size(*need_kib),
                Gib(*have_kib)
            ),
            Shortage::Together => f.write_str(
                "the nodes with enough CPUs and the nodes with enough free memory are not the same",
            ),
        }
    }
}

struct Reserve<'a>(&'a CpuSet);

impl fmt::Display for Reserve<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.is_empty() {
            true => f.write_str("(empty)"),
            false => write!(f, "{}", self.0),
        }
    }
}

#[derive(Debug, Error)]
pub enum SuggestError {
    #[error("--vcpus must be at least 1")]
    NoVcpus,
    #[error("--threads-per-core must be at least 1")]
    NoThreads,
    #[error("--vcpus {vcpus} is not a multiple of --threads-per-core {threads}; every guest core needs {threads} vCPUs")]
    VcpusNotMultiple { vcpus: u32, threads: u32 },
    #[error("--memory {memory} KiB is not a whole number of MiB; QEMU rounds each cell up to a MiB, so ask for {rounded}")]
    MemoryNotMib { memory: String, rounded: String },
    #[error("--reserve names CPUs {cpus}, which this host does not have (its CPUs: {host})")]
    ReserveUnknown { cpus: CpuSet, host: CpuSet },
    #[error("--nodes must be at least 1")]
    NoNodes,
    #[error("--mode preferred takes a single node and --nodes {0} asks for more; use strict or interleave to spread memory")]
    PreferredManyNodes(usize),
    #[error("--nodes {asked} asks for more cells than the guest has cores ({cores}); each cell needs one")]
    MoreCellsThanCores { asked: usize, cores: u64 },
    #[error("--nodes {asked}: only {usable} host node(s) have {what} outside the reserve {} and free memory", Reserve(.reserve))]
    NotEnoughNodes {
        asked: usize,
        usable: usize,
        what: String,
        reserve: CpuSet,
    },
    #[error("the guest does not fit on {limit}: {shortage}")]
    DoesNotFit {
        limit: NodeLimit,
        shortage: Shortage,
    },
    #[error("the host has {nodes} usable nodes, too many to compare every choice of {count}; pass --nodes with a count near 1 or near {nodes}")]
    TooManyChoices { nodes: usize, count: usize },
}

/// A host node the guest could use: its free CPUs in guest-core units.
struct Candidate {
    /// Position in `Topology::nodes`, for distances.
    index: usize,
    id: u32,
    /// Each unit holds `threads_per_core` siblings of one host core.
    units: Vec<Vec<u32>>,
    free_mib: u64,
    free_kib: u64,
}

pub fn propose(topology: &Topology, demand: &Demand) -> Result<Proposal, SuggestError> {
    let threads = demand.threads_per_core;
    check_request(demand)?;
    let reserve = match &demand.reserve {
        Some(reserve) => checked_reserve(topology, reserve)?,
        None => default_reserve(topology),
    };
    let need_units = u64::from(demand.vcpus / threads);
    let need_mib = demand.memory_kib / KIB_PER_MIB;
    let candidates = candidates(topology, &reserve, threads);
    let (limit, count) = node_limit(demand, &candidates, need_units, need_mib, &reserve)?;
    let chosen = choose(
        topology,
        &candidates,
        need_units,
        need_mib,
        count,
        demand.nodes,
    )?;
    let Some(chosen) = chosen else {
        let shortage = shortage(&candidates, need_units, need_mib, count, threads, &reserve);
        return Err(SuggestError::DoesNotFit { limit, shortage });
    };
    Ok(build(
        &candidates,
        &chosen,
        demand,
        reserve,
        need_units,
        need_mib,
    ))
}

fn check_request(demand: &Demand) -> Result<(), SuggestError> {
    let (vcpus, threads) = (demand.vcpus, demand.threads_per_core);
    if vcpus == 0 {
        return Err(SuggestError::NoVcpus);
    }
    if threads == 0 {
        return Err(SuggestError::NoThreads);
    }
    if vcpus % threads != 0 {
        return Err(SuggestError::VcpusNotMultiple { vcpus, threads });
    }
    if !demand.memory_kib.is_multiple_of(KIB_PER_MIB) {
        let rounded = demand.memory_kib.div_ceil(KIB_PER_MIB) * KIB_PER_MIB;
        return Err(SuggestError::MemoryNotMib {
            memory: demand.memory_kib.to_string(),
            rounded: Size(rounded).to_string(),
        });
    }
    match demand.nodes {
        Some(0) => Err(SuggestError::NoNodes),
        Some(asked) if asked > 1 && demand.mode == MemoryMode::Preferred => {
            Err(SuggestError::PreferredManyNodes(asked))
        }
        _ => Ok(()),
    }
}

/// A reserve naming CPUs the host never had is most likely a typo.
fn checked_reserve(topology: &Topology, reserve: &CpuSet) -> Result<CpuSet, SuggestError> {
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

/// CPU 0 and its siblings: VDSM, libvirt and the emulator threads live there.
fn default_reserve(topology: &Topology) -> CpuSet {
    topology
        .nodes
        .iter()
        .flat_map(|node| &node.cores)
        .find(|core| core.contains(0))
        .cloned()
        .unwrap_or_else(|| CpuSet::from_range(0, 0))
}

fn candidates(topology: &Topology, reserve: &CpuSet, threads: u32) -> Vec<Candidate> {
    let threads = threads as usize;
    topology
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let units = node
                .cores
                .iter()
                .flat_map(|core| {
                    let free: Vec<u32> = core.difference(reserve).iter().collect();
                    let whole = free.len() / threads * threads;
                    free[..whole]
                        .chunks(threads)
                        .map(<[u32]>::to_vec)
                        .collect::<Vec<_>>()
                })
                .collect();
            Candidate {
                index,
                id: node.id,
                units,
                free_mib: node.memory_free_kib / KIB_PER_MIB,
                free_kib: node.memory_free_kib,
            }
        })
        .filter(|candidate| !candidate.units.is_empty() && candidate.free_mib > 0)
        .collect()
}

/// How many nodes the search may use at most, and why.
fn node_limit(
    demand: &Demand,
    candidates: &[Candidate],
    need_units: u64,
    need_mib: u64,
    reserve: &CpuSet,
) -> Result<(NodeLimit, usize), SuggestError> {
    let usable = candidates.len();
    let what = match demand.threads_per_core {
        1 => "a CPU".to_string(),
        threads => format!("a core with {threads} free threads"),
    };
    let not_enough = |asked| SuggestError::NotEnoughNodes {
        asked,
        usable,
        what: what.clone(),
        reserve: reserve.clone(),
    };
    // A cell needs a guest core and a MiB; the memory bound never binds in practice.
    let cells = need_units.min(need_mib);
    if let Some(asked) = demand.nodes {
        if asked as u64 > cells {
            return Err(SuggestError::MoreCellsThanCores {
                asked,
                cores: need_units,
            });
        }
        if asked > usable {
            return Err(not_enough(asked));
        }
        return Ok((NodeLimit::Asked(asked), asked));
    }
    if usable == 0 {
        return Err(not_enough(1));
    }
    let limits = [
        (demand.mode == MemoryMode::Preferred).then_some((NodeLimit::Preferred, 1)),
        Some((NodeLimit::Cores(cells as usize), cells as usize)),
        Some((NodeLimit::Usable(usable), usable)),
    ];
    Ok(limits
        .into_iter()
        .flatten()
        .min_by_key(|&(_, count)| count)
        .unwrap_or((NodeLimit::Usable(usable), usable)))
}

/// Closer first, then more free memory, then lower ids.
type Score = (u64, Reverse<u64>, Vec<u32>);

/// The best `count`-node choice that fits, trying fewer nodes first unless
/// `exact` fixes the count.
fn choose(
    topology: &Topology,
    candidates: &[Candidate],
    need_units: u64,
    need_mib: u64,
    count: usize,
    exact: Option<usize>,
) -> Result<Option<Vec<usize>>, SuggestError> {
    let first = exact.unwrap_or(1);
    for k in first..=count {
        if binomial(candidates.len(), k) > MAX_COMBINATIONS {
            return Err(SuggestError::TooManyChoices {
                nodes: candidates.len(),
                count: k,
            });
        }
        let mut best: Option<(Score, Vec<usize>)> = None;
        for combination in Combinations::new(candidates.len(), k) {
            let chosen: Vec<&Candidate> = combination.iter().map(|&i| &candidates[i]).collect();
            let units: u64 = chosen.iter().map(|c| c.units.len() as u64).sum();
            let free: u64 = chosen.iter().map(|c| c.free_mib).sum();
            if units < need_units || free < need_mib {
                continue;
            }
            let score = (
                distance_sum(topology, &chosen),
                Reverse(free),
                chosen.iter().map(|c| c.id).collect(),
            );
            if best.as_ref().is_none_or(|(known, _)| score < *known) {
                best = Some((score, combination));
            }
        }
        if let Some((_, combination)) = best {
            return Ok(Some(combination));
        }
    }
    Ok(None)
}

fn distance_sum(topology: &Topology, chosen: &[&Candidate]) -> u64 {
    let mut sum = 0;
    for (position, a) in chosen.iter().enumerate() {
        for b in &chosen[position + 1..] {
            sum += u64::from(topology.distance(a.index, b.index));
        }
    }
    sum
}

fn binomial(n: usize, k: usize) -> u64 {
    let k = k.min(n.saturating_sub(k)) as u64;
    let mut result: u64 = 1;
    for i in 0..k {
        result = result.saturating_mul(n as u64 - i) / (i + 1);
    }
    result
}

/// Index combinations of `k` out of `n`, in lexicographic order.
struct Combinations {
    n: usize,
    next: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Combinations {
        let next = (k <= n).then(|| (0..k).collect());
        Combinations { n, next }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let k = current.len();
        let mut following = current.clone();
        // The rightmost index that can still move right.
        if let Some(i) = (0..k).rev().find(|&i| following[i] < self.n - k + i) {
            following[i] += 1;
            for j in i + 1..k {
                following[j] = following[j - 1] + 1;
            }
            self.next = Some(following);
        }
        Some(current)
    }
}

/// What the best `count` nodes miss, naming the resource short by the most.
fn shortage(
    candidates: &[Candidate],
    need_units: u64,
    need_mib: u64,
    count: usize,
    threads: u32,
    reserve: &CpuSet,
) -> Shortage {
    let best = |amount: &dyn Fn(&Candidate) -> u64| {
        let mut amounts: Vec<u64> = candidates.iter().map(amount).collect();
        amounts.sort_unstable_by_key(|&a| Reverse(a));
        amounts.iter().take(count).sum::<u64>()
    };
    let units = best(&|c| c.units.len() as u64);
    let free_kib = best(&|c| c.free_kib);
    let cpu_ratio = need_units as f64 / units.max(1) as f64;
    let memory_ratio = (need_mib * KIB_PER_MIB) as f64 / free_kib.max(1) as f64;
    let cpus = Shortage::Cpus {
        need: need_units,
        have: units,
        threads,
        reserve: reserve.clone(),
    };
    let memory = Shortage::Memory {
        need_kib: need_mib * KIB_PER_MIB,
        have_kib: free_kib,
    };
    match (units < need_units, free_kib / KIB_PER_MIB < need_mib) {
        (true, true) if memory_ratio > cpu_ratio => memory,
        (true, _) => cpus,
        (false, true) => memory,
        (false, false) => Shortage::Together,
    }
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

fn build(
    candidates: &[Candidate],
    chosen: &[usize],
    demand: &Demand,
    reserve: CpuSet,
    need_units: u64,
    need_mib: u64,
) -> Proposal {
    let chosen: Vec<&Candidate> = chosen.iter().map(|&i| &candidates[i]).collect();
    let unit_caps: Vec<u64> = chosen.iter().map(|c| c.units.len() as u64).collect();
    let memory_caps: Vec<u64> = chosen.iter().map(|c| c.free_mib).collect();
    let unit_shares = split(need_units, &unit_caps);
    let memory_shares = split(need_mib, &memory_caps);
    let mut pins = Vec::new();
    let mut cells = Vec::new();
    let mut vcpu = 0;
    for ((candidate, &units), &mib) in chosen.iter().zip(&unit_shares).zip(&memory_shares) {
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
            memory_kib: mib * KIB_PER_MIB,
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
    Proposal {
        reserve,
        cells,
        cputune: CpuTune { pins },
        numatune: NumaTune {
            mode: demand.mode,
            placement: Placement::Nodes(nodes),
        },
        guestnuma: GuestNuma::Cells(guest_cells),
    }
}

impl Proposal {
    /// The elements the three values make the hook write, in libvirt's form.
    pub fn fragment(&self) -> String {
        let mut xml = String::from("<cputune>\n");
        for pin in &self.cputune.pins {
            let _ = writeln!(
                xml,
                "  <vcpupin vcpu='{}' cpuset='{}'/>",
                pin.vcpu, pin.cpuset
            );
        }
        xml.push_str("</cputune>\n<numatune>\n");
        let mode = self.numatune.mode;
        if let Placement::Nodes(nodes) = &self.numatune.placement {
            let _ = writeln!(xml, "  <memory mode='{mode}' nodeset='{nodes}'/>");
        }
        for (id, cell) in self.cells.iter().enumerate() {
            let _ = writeln!(
                xml,
                "  <memnode cellid='{id}' mode='{mode}' nodeset='{}'/>",
                cell.node
            );
        }
        xml.push_str("</numatune>\n<cpu>\n  <numa>\n");
        for (id, cell) in self.cells.iter().enumerate() {
            let _ = writeln!(
                xml,
                "    <cell id='{id}' cpus='{}' memory='{}' unit='KiB'/>",
                cell.vcpus, cell.memory_kib
            );
        }
        xml.push_str("  </numa>\n</cpu>\n");
        xml
    }

    /// `NAME=VALUE` lines, as `check` prints them.
    pub fn values(&self) -> String {
        format!(
            "cputune={}\nnumatune={}\nguestnuma={}\n",
            self.cputune, self.numatune, self.guestnuma
        )
    }
}

/// What the administrator reads first: where each cell went and why it fits.
impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# host CPUs kept free: {}", Reserve(&self.reserve))?;
        for (id, cell) in self.cells.iter().enumerate() {
            writeln!(
                f,
                "# cell {id}: vCPUs {} on host node {} CPUs {}, {} of its {} free",
                cell.vcpus,
                cell.node,
                cell.host_cpus,
                Size(cell.memory_kib),
                Gib(cell.node_free_kib)
            )?;
        }
        writeln!(f, "{}", self.values())?;
        f.write_str(&self.fragment())
    }
}

#[derive(Serialize)]
struct ProposalJson {
    cputune: String,
    numatune: String,
    guestnuma: String,
    reserve: String,
    cells: Vec<CellJson>,
    xml: String,
}

#[derive(Serialize)]
struct CellJson {
    node: u32,
    vcpus: String,
    host_cpus: String,
    memory_kib: u64,
}

impl Proposal {
    pub fn to_json(&self) -> String {
        let json = ProposalJson {
            cputune: self.cputune.to_string(),
            numatune: self.numatune.to_string(),
            guestnuma: self.guestnuma.to_string(),
            reserve: self.reserve.to_string(),
            cells: self
                .cells
                .iter()
                .map(|cell| CellJson {
                    node: cell.node,
                    vcpus: cell.vcpus.to_string(),
                    host_cpus: cell.host_cpus.to_string(),
                    memory_kib: cell.memory_kib,
                })
                .collect(),
            xml: self.fragment(),
        };
        to_json(&json)
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

    #[test]
    fn combinations_are_all_there_once() {
        let all: Vec<Vec<usize>> = Combinations::new(4, 2).collect();
        assert_eq!(
            all,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(Combinations::new(2, 3).count(), 0);
        assert_eq!(binomial(8, 4), 70);
        assert_eq!(binomial(16, 8), 12870);
        assert!(binomial(64, 32) > MAX_COMBINATIONS);
    }
}
