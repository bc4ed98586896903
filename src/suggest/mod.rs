//! `suggest`: choose host nodes and CPUs for a guest and write the three
//! property values, so nobody types a pinning of 48 vCPUs by hand.
//!
//! The rules, in order: the fewest host nodes that hold the vCPUs and the
//! memory; among those, the nodes closest to each other, then the most free
//! memory, then the lowest ids (so the answer is reproducible). One guest
//! cell per host node, its memory bound there. One vCPU per host CPU, none
//! shared, none in the reserve. vCPUs fill host cores sibling by sibling,
//! leaving whole cores free for other guests; with `--threads-per-core T`
//! each guest core lands on T siblings of one host core. The emulator and
//! the I/O threads go on housekeeping CPUs of the guest's nodes that no vCPU
//! has: never an isolated or `nohz_full` CPU. With `--hugepages SIZE` a
//! node's free memory is its free pages of that size; with `--device` the
//! nodes the devices sit on are taken first.

use std::cmp::Reverse;
use std::fmt::{self, Write};

use serde::Serialize;
use thiserror::Error;

use crate::cpuset::{CpuSet, NodeSet};
use crate::host::topology::{Gib, Topology};
use crate::properties::cputune::{CpuTune, VcpuPin};
use crate::properties::guestnuma::{GuestCell, GuestNuma, Size};
use crate::properties::iothreadpin::{IoThreadPin, IoThreadPins};
use crate::properties::numatune::{MemoryMode, NumaTune, Placement};

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
    /// I/O threads to pin, 1 to N.
    pub iothreads: u32,
    /// Back the memory with huge pages of this size, counted per node.
    pub hugepage_kib: Option<u64>,
    /// The host nodes of the guest's passthrough devices.
    pub device_nodes: NodeSet,
    /// CPUs the host keeps for vCPUs (isolated, nohz_full): no emulator or
    /// I/O thread goes there, and by default no vCPU goes anywhere else.
    pub isolated: CpuSet,
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
    /// Empty when no housekeeping CPU is left for the emulator.
    pub emulatorpin: CpuSet,
    pub iothreadpin: Option<IoThreadPins>,
    pub hugepage_kib: Option<u64>,
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
    #[error(
        "--memory {memory} is not a whole number of {size} pages; ask for a multiple of {size}"
    )]
    MemoryNotPages { memory: String, size: String },
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
    /// Free memory in units of `Memory::unit_kib`.
    free_units: u64,
    free_kib: u64,
}

/// Memory is counted and split in MiB, or in huge pages.
#[derive(Debug, Clone, Copy)]
struct Memory {
    unit_kib: u64,
    hugepages: bool,
}

pub fn propose(topology: &Topology, demand: &Demand) -> Result<Proposal, SuggestError> {
    let threads = demand.threads_per_core;
    check_request(demand)?;
    let reserve = match &demand.reserve {
        Some(reserve) => checked_reserve(topology, reserve)?,
        None => default_reserve(topology, &demand.isolated),
    };
    let memory = Memory {
        unit_kib: demand.hugepage_kib.unwrap_or(KIB_PER_MIB),
        hugepages: demand.hugepage_kib.is_some(),
    };
    let need_units = u64::from(demand.vcpus / threads);
    let need_mem = demand.memory_kib / memory.unit_kib;
    let candidates = candidates(topology, &reserve, threads, memory);
    let (limit, count) = node_limit(demand, &candidates, need_units, need_mem, &reserve)?;
    let wanted = Wanted {
        units: need_units,
        memory: need_mem,
        devices: &demand.device_nodes,
    };
    let chosen = choose(topology, &candidates, &wanted, count, demand.nodes)?;
    let Some(chosen) = chosen else {
        let shortage = shortage(&candidates, &wanted, count, threads, &reserve, memory);
        return Err(SuggestError::DoesNotFit { limit, shortage });
    };
    let mut proposal = build(&candidates, &chosen, demand, reserve, &wanted, memory);
    proposal.emulatorpin = housekeeping(topology, demand, &proposal);
    proposal.iothreadpin = (demand.iothreads > 0 && !proposal.emulatorpin.is_empty()).then(|| {
        let pins = (1..=demand.iothreads)
            .map(|iothread| IoThreadPin {
                iothread,
                cpuset: proposal.emulatorpin.clone(),
            })
            .collect();
        IoThreadPins { pins }
    });
    Ok(proposal)
}

/// What the guest needs: guest cores, memory in `Memory` units, and the
/// nodes of its devices.
struct Wanted<'d> {
    units: u64,
    memory: u64,
    devices: &'d NodeSet,
}

/// Housekeeping CPUs for the emulator and I/O threads: on the guest's nodes,
/// outside its vCPUs, never isolated; when the vCPUs took them all, the
/// reserve (where VDSM and libvirt run), never isolated either.
fn housekeeping(topology: &Topology, demand: &Demand, proposal: &Proposal) -> CpuSet {
    let vcpu_cpus: CpuSet = proposal
        .cells
        .iter()
        .flat_map(|cell| cell.host_cpus.iter())
        .collect();
    let on_nodes: CpuSet = topology
        .nodes
        .iter()
        .filter(|node| proposal.cells.iter().any(|cell| cell.node == node.id))
        .flat_map(|node| node.cpus.iter())
        .collect();
    let beside = on_nodes.difference(&vcpu_cpus).difference(&demand.isolated);
    match beside.is_empty() {
        false => beside,
        true => proposal
            .reserve
            .intersection(&topology.online_cpus)
            .difference(&demand.isolated),
    }
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
    if let Some(size) = demand.hugepage_kib.filter(|&s| s > 0) {
        if !demand.memory_kib.is_multiple_of(size) {
            return Err(SuggestError::MemoryNotPages {
                memory: Size(demand.memory_kib).to_string(),
                size: Size(size).to_string(),
            });
        }
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

/// On a host that isolates CPUs for vCPUs, every other CPU; elsewhere CPU 0
/// and its siblings: VDSM, libvirt and the emulator threads live there.
fn default_reserve(topology: &Topology, isolated: &CpuSet) -> CpuSet {
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

fn candidates(
    topology: &Topology,
    reserve: &CpuSet,
    threads: u32,
    memory: Memory,
) -> Vec<Candidate> {
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
            let free_kib = match memory.hugepages {
                true => node
                    .hugepages
                    .iter()
                    .find(|pages| pages.size_kib == memory.unit_kib)
                    .map_or(0, |pages| pages.free.saturating_mul(pages.size_kib)),
                false => node.memory_free_kib,
            };
            Candidate {
                index,
                id: node.id,
                units,
                free_units: free_kib / memory.unit_kib,
                free_kib,
            }
        })
        .filter(|candidate| !candidate.units.is_empty() && candidate.free_units > 0)
        .collect()
}

/// How many nodes the search may use at most, and why.
fn node_limit(
    demand: &Demand,
    candidates: &[Candidate],
    need_units: u64,
    need_mem: u64,
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
    // A cell needs a guest core and a unit of memory; the memory bound
    // never binds in practice.
    let cells = need_units.min(need_mem);
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

/// Fewer devices' nodes missed, then closer, then more free memory, then
/// lower ids.
type Score = (usize, u64, Reverse<u64>, Vec<u32>);

/// The best `count`-node choice that fits, trying fewer nodes first unless
/// `exact` fixes the count. A choice that misses a device's node gives way
/// to one of more nodes that has them all.
fn choose(
    topology: &Topology,
    candidates: &[Candidate],
    wanted: &Wanted,
    count: usize,
    exact: Option<usize>,
) -> Result<Option<Vec<usize>>, SuggestError> {
    let first = exact.unwrap_or(1);
    let mut fallback = None;
    for k in first..=count {
        if binomial(candidates.len(), k) > MAX_COMBINATIONS {
            if fallback.is_some() {
                break;
            }
            return Err(SuggestError::TooManyChoices {
                nodes: candidates.len(),
                count: k,
            });
        }
        let mut best: Option<(Score, Vec<usize>)> = None;
        for combination in Combinations::new(candidates.len(), k) {
            let chosen: Vec<&Candidate> = combination.iter().map(|&i| &candidates[i]).collect();
            let units: u64 = chosen.iter().map(|c| c.units.len() as u64).sum();
            let free: u64 = chosen.iter().map(|c| c.free_units).sum();
            if units < wanted.units || free < wanted.memory {
                continue;
            }
            let ids: Vec<u32> = chosen.iter().map(|c| c.id).collect();
            let missed = wanted.devices.iter().filter(|n| !ids.contains(n)).count();
            let score = (missed, distance_sum(topology, &chosen), Reverse(free), ids);
            if best.as_ref().is_none_or(|(known, _)| score < *known) {
                best = Some((score, combination));
            }
        }
        match best {
            Some((score, combination)) if score.0 == 0 => return Ok(Some(combination)),
            Some((_, combination)) => {
                fallback.get_or_insert(combination);
            }
            None => {}
        }
    }
    Ok(fallback)
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
    wanted: &Wanted,
    count: usize,
    threads: u32,
    reserve: &CpuSet,
    memory: Memory,
) -> Shortage {
    let (need_units, need_mem) = (wanted.units, wanted.memory);
    let best = |amount: &dyn Fn(&Candidate) -> u64| {
        let mut amounts: Vec<u64> = candidates.iter().map(amount).collect();
        amounts.sort_unstable_by_key(|&a| Reverse(a));
        amounts.iter().take(count).sum::<u64>()
    };
    let units = best(&|c| c.units.len() as u64);
    let free_kib = best(&|c| c.free_kib);
    let cpu_ratio = need_units as f64 / units.max(1) as f64;
    let memory_ratio = (need_mem * memory.unit_kib) as f64 / free_kib.max(1) as f64;
    let cpus = Shortage::Cpus {
        need: need_units,
        have: units,
        threads,
        reserve: reserve.clone(),
    };
    let short_of_memory = free_kib / memory.unit_kib < need_mem;
    let memory = Shortage::Memory {
        need_kib: need_mem * memory.unit_kib,
        have_kib: free_kib,
    };
    match (units < need_units, short_of_memory) {
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
    wanted: &Wanted,
    memory: Memory,
) -> Proposal {
    let chosen: Vec<&Candidate> = chosen.iter().map(|&i| &candidates[i]).collect();
    let unit_caps: Vec<u64> = chosen.iter().map(|c| c.units.len() as u64).collect();
    let memory_caps: Vec<u64> = chosen.iter().map(|c| c.free_units).collect();
    let unit_shares = split(wanted.units, &unit_caps);
    let memory_shares = split(wanted.memory, &memory_caps);
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
    Proposal {
        reserve,
        cells,
        cputune: CpuTune { pins },
        numatune: NumaTune {
            mode: demand.mode,
            placement: Placement::Nodes(nodes),
        },
        guestnuma: GuestNuma::Cells(guest_cells),
        emulatorpin: CpuSet::new(),
        iothreadpin: None,
        hugepage_kib: demand.hugepage_kib,
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
        if !self.emulatorpin.is_empty() {
            let _ = writeln!(xml, "  <emulatorpin cpuset='{}'/>", self.emulatorpin);
        }
        for pin in self.iothreadpin.iter().flat_map(|p| &p.pins) {
            let _ = writeln!(
                xml,
                "  <iothreadpin iothread='{}' cpuset='{}'/>",
                pin.iothread, pin.cpuset
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
        let mut values = format!(
            "cputune={}\nnumatune={}\nguestnuma={}\n",
            self.cputune, self.numatune, self.guestnuma
        );
        if !self.emulatorpin.is_empty() {
            let _ = writeln!(values, "emulatorpin={}", self.emulatorpin);
        }
        if let Some(pins) = &self.iothreadpin {
            let _ = writeln!(values, "iothreadpin={pins}");
        }
        values
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
        match self.emulatorpin.is_empty() {
            true => writeln!(
                f,
                "# no housekeeping CPU is left for the emulator and I/O threads: reserve one with --reserve"
            )?,
            false => writeln!(
                f,
                "# emulator and I/O threads: host CPUs {}, housekeeping CPUs outside the vCPUs",
                self.emulatorpin
            )?,
        }
        if let Some(size) = self.hugepage_kib {
            writeln!(
                f,
                "# huge pages of {}: set oVirt's own custom property hugepages={size} too",
                Size(size)
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
    #[serde(skip_serializing_if = "Option::is_none")]
    emulatorpin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iothreadpin: Option<String>,
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
    /// What `suggest --json` prints: the commands layer renders it.
    pub fn json(&self) -> impl Serialize + '_ {
        ProposalJson {
            cputune: self.cputune.to_string(),
            numatune: self.numatune.to_string(),
            guestnuma: self.guestnuma.to_string(),
            emulatorpin: (!self.emulatorpin.is_empty()).then(|| self.emulatorpin.to_string()),
            iothreadpin: self.iothreadpin.as_ref().map(ToString::to_string),
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
        }
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
