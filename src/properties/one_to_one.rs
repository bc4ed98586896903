//! The compact one-to-one form of a `cputune` entry, `VCPUS@SET:SET...`.
//!
//! The engine stores all of a VM's custom properties in 4,000 characters:
//! pinned one entry each (`0#0_1#192_2#1_...`), 384 vCPUs take 2,851 of
//! them and 768 vCPUs do not fit. Here vCPU `first + k` gets one CPU of its
//! own, taken from the sets in turn: with T sets, the `k / T`-th CPU of set
//! `k % T`. One set pins a range to a range (`0-383@0-383`); T sets put a
//! guest core's T threads on one host core's T sibling threads where the
//! host numbers siblings k, k+N, ... (`0-383@0-191:192-383`).

use std::cmp::Reverse;
use std::fmt;

use crate::cpuset::{CpuSet, MAX_ID};
use crate::properties::problem::Problem;
use crate::properties::vcpupin::VcpuPin;
use crate::wording::shorten;

/// The sets must be of one size and hold one CPU per vCPU of `first..=last`;
/// `text` is the sets as written, for the corrected example.
pub(crate) fn check<'a>(
    at: &'a str,
    (first, last): (u32, u32),
    sets: &[(&'a str, CpuSet)],
    text: &str,
) -> Result<(), (&'a str, Problem)> {
    let size = sets.first().map_or(0, |(_, set)| set.len());
    let uneven = sets
        .iter()
        .enumerate()
        .find(|(_, (_, set))| set.len() != size);
    if let Some((index, (set_at, set))) = uneven {
        let problem = Problem::UnevenSets {
            set: index + 1,
            size: set.len(),
            first: size,
        };
        return Err((set_at, problem));
    }
    for (index, (_, set)) in sets.iter().enumerate() {
        let later = sets.iter().enumerate().skip(index + 1);
        if let Some((other, (other_at, shared))) = later
            .map(|(other, (at, next))| (other, (at, set.intersection(next))))
            .find(|(_, (_, shared))| !shared.is_empty())
        {
            let problem = Problem::OverlappingSets {
                first: index + 1,
                second: other + 1,
                cpus: shared,
            };
            return Err((other_at, problem));
        }
    }
    let vcpus = (last - first) as usize + 1;
    let cpus = size * sets.len();
    if vcpus == cpus {
        return Ok(());
    }
    let example = corrected_range(first, cpus).map(|range| format!("{range}@{}", shorten(text)));
    let problem = Problem::OneToOneCount {
        vcpus,
        cpus,
        example,
    };
    Err((at, problem))
}

/// The range from `first` with one vCPU per CPU, if its ids exist.
fn corrected_range(first: u32, cpus: usize) -> Option<String> {
    let last = first as usize + cpus.checked_sub(1)?;
    if last > MAX_ID as usize {
        None
    } else if last == first as usize {
        Some(first.to_string())
    } else {
        Some(format!("{first}-{last}"))
    }
}

/// The CPU of each vCPU in turn, for sets of one size: the first CPU of
/// each set, then the second of each, and so on.
pub(crate) fn cpus(sets: &[CpuSet]) -> Vec<u32> {
    let columns: Vec<Vec<u32>> = sets.iter().map(|set| set.iter().collect()).collect();
    let count = columns.len();
    let rows = columns.first().map_or(0, Vec::len);
    (0..rows * count)
        .filter_map(|k| columns[k % count].get(k / count).copied())
        .collect()
}

/// Runs shorter than this print as `#` entries: `0-1@4-5` is no shorter
/// than `0#4,1#5` and reads worse, while `0-2@4-6` beats `0#4,1#5,2#6`.
pub(crate) const MIN_RUN: usize = 3;

/// The most sets the canonical form looks for: SMT8, the most threads per
/// core a host has.
const MOST_SETS: usize = 8;

/// Neighbouring vCPUs pinned one to one to T blocks of consecutive CPUs in
/// turn, which the canonical form writes `A-B@C-D:E-F...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    first_vcpu: u32,
    /// The CPUs of each block.
    per_set: u32,
    /// The first CPU of each block, in the order the vCPUs take them.
    starts: Vec<u32>,
}

impl Run {
    /// The longest run the pins start with, fewest blocks first among equals.
    pub(crate) fn longest(pins: &[VcpuPin]) -> Option<Run> {
        (1..=MOST_SETS)
            .filter_map(|sets| Run::of(pins, sets))
            .max_by_key(|run| (run.vcpus(), Reverse(run.starts.len())))
    }

    /// How many vCPUs it pins.
    pub(crate) fn vcpus(&self) -> usize {
        self.per_set as usize * self.starts.len()
    }

    /// The run in `sets` blocks that the pins start with, if it is at least
    /// MIN_RUN vCPUs long and every block holds two CPUs or more.
    fn of(pins: &[VcpuPin], sets: usize) -> Option<Run> {
        let first_vcpu = pins.first()?.vcpu;
        let cpu = |k: usize| {
            let pin = pins
                .get(k)
                .filter(|pin| pin.vcpu as usize == first_vcpu as usize + k)?;
            only_cpu(&pin.cpuset)
        };
        let starts: Vec<u32> = (0..sets).map(cpu).collect::<Option<_>>()?;
        let next_block = |block: usize| {
            (0..sets).all(|set| cpu(block * sets + set) == Some(starts[set] + block as u32))
        };
        // Blocks stop short of the next block's start, so that no CPU serves
        // two vCPUs (and a run that would is not read to its end in vain).
        let room = room(&starts);
        let per_set = 1 + (1..room).take_while(|&block| next_block(block)).count();
        let run = Run {
            first_vcpu,
            per_set: per_set as u32,
            starts,
        };
        (per_set >= 2 && run.vcpus() >= MIN_RUN).then_some(run)
    }
}

/// The most CPUs blocks starting at `starts` can hold without overlapping.
fn room(starts: &[u32]) -> usize {
    let mut sorted = starts.to_vec();
    sorted.sort_unstable();
    let gaps = sorted.windows(2).map(|pair| (pair[1] - pair[0]) as usize);
    gaps.min().unwrap_or(usize::MAX)
}

/// The one CPU of a set that holds one.
fn only_cpu(set: &CpuSet) -> Option<u32> {
    match set.ranges() {
        [(lo, hi)] if lo == hi => Some(*lo),
        _ => None,
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last_vcpu = self.first_vcpu as usize + self.vcpus() - 1;
        write!(f, "{}-{last_vcpu}@", self.first_vcpu)?;
        for (index, start) in self.starts.iter().enumerate() {
            let separator = if index > 0 { ":" } else { "" };
            write!(f, "{separator}{start}-{}", start + self.per_set - 1)?;
        }
        Ok(())
    }
}
