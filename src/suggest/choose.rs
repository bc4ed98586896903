//! Which host nodes: the fewest that hold the guest, then the closest,
//! then the most free memory, then the lowest ids.

use std::cmp::Reverse;

use crate::cpuset::CpuSet;
use crate::host::topology::HostTopology;
use crate::properties::numatune::MemoryMode;

use super::types::{NodeLimit, Shortage, SuggestError, SuggestRequest};
use super::Need;

/// Past this many node combinations for one count, the host is too big to
/// compare them all and the administrator is asked to narrow the choice.
const MAX_COMBINATIONS: u64 = 1_000_000;

/// A host node the guest could use: its free CPUs in guest-core units.
pub(super) struct Candidate {
    /// Position in `HostTopology::nodes`, for distances.
    pub(super) index: usize,
    pub(super) id: u32,
    /// Each unit holds `threads_per_core` siblings of one host core.
    pub(super) units: Vec<Vec<u32>>,
    /// Free memory in units of `Memory::unit_kib`.
    pub(super) free_units: u64,
    pub(super) free_kib: u64,
}

/// Memory is counted and split in MiB, or in huge pages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Memory {
    pub(super) unit_kib: u64,
    pub(super) hugepages: bool,
}

pub(super) fn candidates(
    topology: &HostTopology,
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
pub(super) fn node_limit(
    request: &SuggestRequest,
    candidates: &[Candidate],
    need_units: u64,
    need_mem: u64,
    reserve: &CpuSet,
) -> Result<(NodeLimit, usize), SuggestError> {
    let usable = candidates.len();
    let what = match request.threads_per_core {
        1 => "a CPU".to_string(),
        threads => format!("a core with {threads} free threads"),
    };
    let not_enough = |nodes| SuggestError::NotEnoughNodes {
        nodes: request.nodes.and(Some(nodes)),
        usable,
        what: what.clone(),
        reserve: reserve.clone(),
    };
    // A cell needs a guest core and a unit of memory; the memory bound
    // never binds in practice.
    let cells = need_units.min(need_mem);
    if let Some(nodes) = request.nodes {
        if nodes as u64 > cells {
            return Err(SuggestError::MoreCellsThanCores {
                nodes,
                cores: need_units,
            });
        }
        if nodes > usable {
            return Err(not_enough(nodes));
        }
        return Ok((NodeLimit::Nodes(nodes), nodes));
    }
    if usable == 0 {
        return Err(not_enough(1));
    }
    let limits = [
        (request.mode == MemoryMode::Preferred).then_some((NodeLimit::Preferred, 1)),
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
pub(super) fn choose(
    topology: &HostTopology,
    candidates: &[Candidate],
    need: &Need,
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
            // Guest sockets are all of one size and each is one cell, so
            // every node takes the same number of guest cores.
            let per_cell = need.units / k as u64;
            let equal = need.units.is_multiple_of(k as u64)
                && chosen.iter().all(|c| c.units.len() as u64 >= per_cell);
            if units < need.units || !equal || free < need.memory {
                continue;
            }
            let ids: Vec<u32> = chosen.iter().map(|c| c.id).collect();
            let missed = need.devices.iter().filter(|n| !ids.contains(n)).count();
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

fn distance_sum(topology: &HostTopology, chosen: &[&Candidate]) -> u64 {
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
pub(super) fn shortage(
    candidates: &[Candidate],
    need: &Need,
    count: usize,
    threads: u32,
    reserve: &CpuSet,
    memory: Memory,
) -> Shortage {
    let (need_units, need_mem) = (need.units, need.memory);
    let best = |amount: &dyn Fn(&Candidate) -> u64| {
        let mut amounts: Vec<u64> = candidates.iter().map(amount).collect();
        amounts.sort_unstable_by_key(|&a| Reverse(a));
        amounts.iter().take(count).sum::<u64>()
    };
    let units = best(&|c| c.units.len() as u64);
    let free_kib = best(&|c| c.free_kib);
    let cpu_ratio = need_units as f64 / units.max(1) as f64;
    let memory_unit = memory;
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
    let memory = match memory_unit.hugepages {
        true => Shortage::HugePages {
            need: need_mem,
            size_kib: memory_unit.unit_kib,
            free: best_nodes(candidates, count, |c| c.free_units),
        },
        false => memory,
    };
    if units >= need_units && !short_of_memory {
        let caps = best_nodes(candidates, count, |c| c.units.len() as u64);
        let per_cell = need_units / caps.len().max(1) as u64;
        let smallest = caps.iter().min_by_key(|(_, units)| *units);
        let uneven = !need_units.is_multiple_of(caps.len().max(1) as u64);
        if let Some(&(node, smallest)) = smallest.filter(|(_, units)| uneven || *units < per_cell) {
            return Shortage::UnequalCells {
                cores: need_units,
                count: caps.len(),
                smallest,
                node,
            };
        }
    }
    match (units < need_units, short_of_memory) {
        (true, true) if memory_ratio > cpu_ratio => memory,
        (true, _) => cpus,
        (false, true) => memory,
        (false, false) => Shortage::Together,
    }
}

/// The `count` nodes with the most of `amount`, as (node, amount), by id.
fn best_nodes(
    candidates: &[Candidate],
    count: usize,
    amount: impl Fn(&Candidate) -> u64,
) -> Vec<(u32, u64)> {
    let mut nodes: Vec<(u32, u64)> = candidates.iter().map(|c| (c.id, amount(c))).collect();
    nodes.sort_by_key(|&(id, amount)| (Reverse(amount), id));
    nodes.truncate(count);
    nodes.sort_unstable();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

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
