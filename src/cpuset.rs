//! A set of CPU or node ids: what every property, the domain XML and the
//! host's sysfs lists talk about. Its grammar lives in `properties::sets`.

use std::fmt;

/// libvirt's VIR_DOMAIN_CPUMASK_LEN is 16384.
pub const MAX_ID: u32 = 16383;

/// A set of CPU (or node) ids, kept as sorted, disjoint, non-touching
/// ranges so that huge sets cost nothing and print canonically.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct CpuSet {
    ranges: Vec<(u32, u32)>,
}

/// libvirt gives node sets the grammar and limits of cpusets.
pub type NodeSet = CpuSet;

impl CpuSet {
    pub fn new() -> CpuSet {
        CpuSet::default()
    }

    /// Built directly, not by `insert_range`: `cputune` makes one per
    /// vCPU, hundreds on a large guest.
    pub fn from_range(lo: u32, hi: u32) -> CpuSet {
        CpuSet {
            ranges: vec![(lo.min(hi), lo.max(hi))],
        }
    }

    /// The ids 0..count: the vCPUs of a VM with `count` of them.
    pub fn first_n(count: u32) -> CpuSet {
        match count {
            0 => CpuSet::new(),
            n => CpuSet::from_range(0, n - 1),
        }
    }

    pub fn insert_range(&mut self, lo: u32, hi: u32) {
        let (mut lo, mut hi) = (lo.min(hi), lo.max(hi));
        // Ranges touching or overlapping the new one merge into it.
        let first = self
            .ranges
            .partition_point(|&(_, h)| h.saturating_add(1) < lo);
        let mut last = first;
        while last < self.ranges.len() && self.ranges[last].0 <= hi.saturating_add(1) {
            lo = lo.min(self.ranges[last].0);
            hi = hi.max(self.ranges[last].1);
            last += 1;
        }
        self.ranges.splice(first..last, [(lo, hi)]);
    }

    pub fn insert(&mut self, id: u32) {
        self.insert_range(id, id);
    }

    /// Removes `id`; false when it was not there. In place: a split range
    /// needs one insert, never a fresh list of pieces.
    pub fn remove(&mut self, id: u32) -> bool {
        let index = self.ranges.partition_point(|&(_, hi)| hi < id);
        let Some(&(lo, hi)) = self.ranges.get(index) else {
            return false;
        };
        if id < lo {
            return false;
        }
        match (lo < id, id < hi) {
            (false, false) => {
                self.ranges.remove(index);
            }
            (false, true) => self.ranges[index].0 = id + 1,
            (true, false) => self.ranges[index].1 = id - 1,
            (true, true) => {
                self.ranges[index].1 = id - 1;
                self.ranges.insert(index + 1, (id + 1, hi));
            }
        }
        true
    }

    pub fn contains(&self, id: u32) -> bool {
        let index = self.ranges.partition_point(|&(_, hi)| hi < id);
        self.ranges.get(index).is_some_and(|&(lo, _)| lo <= id)
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many ids the set holds.
    pub fn len(&self) -> usize {
        self.ranges
            .iter()
            .map(|&(lo, hi)| (hi - lo) as usize + 1)
            .sum()
    }

    pub fn first(&self) -> Option<u32> {
        self.ranges.first().map(|&(lo, _)| lo)
    }

    pub fn last(&self) -> Option<u32> {
        self.ranges.last().map(|&(_, hi)| hi)
    }

    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|&(lo, hi)| lo..=hi)
    }

    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.ranges.iter().all(|&(lo, hi)| {
            let index = other.ranges.partition_point(|&(_, h)| h < lo);
            other
                .ranges
                .get(index)
                .is_some_and(|&(l, h)| l <= lo && hi <= h)
        })
    }

    /// The ids of `self` missing from `other`. Walks both range lists side
    /// by side: removing id by id cost a reallocation per id, and checking
    /// 384 pins against the host's CPUs did that for each of them.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        let mut rest = CpuSet::new();
        let mut theirs = other.ranges.iter().peekable();
        for &(lo, hi) in &self.ranges {
            // The first id of this range neither kept nor removed yet.
            let mut from = Some(lo);
            while let (Some(start), Some(&&(b_lo, b_hi))) = (from, theirs.peek()) {
                if b_hi < start {
                    theirs.next();
                    continue;
                }
                if b_lo > hi {
                    break;
                }
                if b_lo > start {
                    rest.ranges.push((start, b_lo - 1));
                }
                // A range of `other` reaching past this one may cut the next.
                match b_hi < hi {
                    true => {
                        from = Some(b_hi + 1);
                        theirs.next();
                    }
                    false => from = None,
                }
            }
            if let Some(start) = from {
                rest.ranges.push((start, hi));
            }
        }
        rest
    }

    /// The ids in either; range by range, so two wide sets stay cheap.
    pub fn union(&self, other: &CpuSet) -> CpuSet {
        let mut both = self.clone();
        for &(lo, hi) in &other.ranges {
            both.insert_range(lo, hi);
        }
        both
    }

    /// Walks both range lists side by side: per-id work made a value of many
    /// overlapping guestnuma cells take tens of seconds.
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        let mut both = CpuSet::new();
        let (mut mine, mut theirs) = (
            self.ranges.iter().peekable(),
            other.ranges.iter().peekable(),
        );
        while let (Some(&&(a_lo, a_hi)), Some(&&(b_lo, b_hi))) = (mine.peek(), theirs.peek()) {
            if a_lo.max(b_lo) <= a_hi.min(b_hi) {
                both.ranges.push((a_lo.max(b_lo), a_hi.min(b_hi)));
            }
            match a_hi < b_hi {
                true => mine.next(),
                false => theirs.next(),
            };
        }
        both
    }
}

impl FromIterator<u32> for CpuSet {
    fn from_iter<I: IntoIterator<Item = u32>>(ids: I) -> CpuSet {
        let mut set = CpuSet::new();
        for id in ids {
            set.insert(id);
        }
        set
    }
}

impl CpuSet {
    /// In libvirt's canonical form, straight into `out`: the splice prints
    /// a set per pin, and a formatter around each id cost more than its
    /// digits.
    pub fn write_into(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for (index, &(lo, hi)) in self.ranges.iter().enumerate() {
            if index > 0 {
                out.write_char(',')?;
            }
            write_decimal(out, lo.into())?;
            // libvirt prints two neighbours as a range too.
            if hi > lo {
                out.write_char('-')?;
                write_decimal(out, hi.into())?;
            }
        }
        Ok(())
    }
}

/// libvirt's canonical form: sorted, merged ranges, no `^`.
impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_into(f)
    }
}

/// `number` in decimal, digit by digit, without a formatter: ids and sizes
/// are printed by the thousand.
pub fn write_decimal(out: &mut impl fmt::Write, number: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = number;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    digits[start..]
        .iter()
        .try_for_each(|&digit| out.write_char(char::from(digit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> CpuSet {
        text.parse().unwrap()
    }

    #[test]
    fn a_union_merges_touching_and_overlapping_ranges() {
        assert_eq!(set("0-3,8").union(&set("4-5,7-9")), set("0-5,7-9"));
        assert_eq!(
            set("0-3,8").union(&set("4-5,7-9")).ranges(),
            [(0, 5), (7, 9)]
        );
        assert_eq!(CpuSet::new().union(&set("2")), set("2"));
        assert_eq!(set("1-4095").union(&set("5")).ranges(), [(1, 4095)]);
    }

    /// Sets drawn from a small generator, so that ranges meet, touch,
    /// nest and overlap in every way.
    fn drawn(seed: &mut u32) -> CpuSet {
        let mut next = || {
            *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (*seed >> 16) % 24
        };
        let mut set = CpuSet::new();
        for _ in 0..next() % 6 {
            let lo = next();
            set.insert_range(lo, lo + next() % 5);
        }
        set
    }

    #[test]
    fn a_difference_is_the_ids_of_one_missing_from_the_other() {
        let mut seed = 7;
        for _ in 0..2000 {
            let (a, b) = (drawn(&mut seed), drawn(&mut seed));
            let expected: CpuSet = a.iter().filter(|&id| !b.contains(id)).collect();
            assert_eq!(a.difference(&b), expected, "{a} less {b}");
            assert_eq!(a.difference(&b).ranges(), expected.ranges());
        }
        assert_eq!(set("0-383").difference(&set("0-511")), CpuSet::new());
        assert_eq!(
            set("0-9").difference(&set("2,4-5,9")).ranges(),
            [(0, 1), (3, 3), (6, 8)]
        );
        assert_eq!(set("0-4095").difference(&set("4095")).ranges(), [(0, 4094)]);
    }

    #[test]
    fn sets_and_numbers_print_as_libvirt_writes_them() {
        assert_eq!(set("0-3,5,7-8,16383").to_string(), "0-3,5,7-8,16383");
        assert_eq!(CpuSet::new().to_string(), "");
        for number in [0, 7, 10, 99, 100, 4_294_967_295, u64::MAX] {
            let mut out = String::new();
            write_decimal(&mut out, number).unwrap();
            assert_eq!(out, number.to_string());
        }
    }

    #[test]
    fn removing_an_id_splits_or_trims_its_range() {
        let mut cpus = set("0-9,12");
        assert!(cpus.remove(5));
        assert_eq!(cpus.ranges(), [(0, 4), (6, 9), (12, 12)]);
        assert!(cpus.remove(0) && cpus.remove(9) && cpus.remove(12));
        assert_eq!(cpus.ranges(), [(1, 4), (6, 8)]);
        assert!(!cpus.remove(5) && !cpus.remove(12));
        assert_eq!(cpus, set("1-4,6-8"));
    }
}
