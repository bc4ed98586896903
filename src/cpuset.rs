//! The cpuset grammar every property shares, in libvirt's strict form.
//!
//! Terms `N`, `N-M` and `^N` separated by `,`, ids 0..=16383. The parser is
//! stricter than libvirt where libvirt would quietly do something the
//! administrator did not mean: an exclusion that removes nothing (`^2,0-3`
//! keeps 2 in libvirt) is refused, as are reversed ranges and empty sets.

use std::fmt;

use nom::character::complete::digit1;

use crate::property::{fail, shorten, Notes, Noun, PResult, Problem};

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

    pub fn from_range(lo: u32, hi: u32) -> CpuSet {
        let mut set = CpuSet::new();
        set.insert_range(lo, hi);
        set
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

    /// Removes `id`; false when it was not there.
    pub fn remove(&mut self, id: u32) -> bool {
        let index = self.ranges.partition_point(|&(_, hi)| hi < id);
        let Some(&(lo, hi)) = self.ranges.get(index) else {
            return false;
        };
        if id < lo {
            return false;
        }
        let mut pieces = Vec::with_capacity(2);
        if lo < id {
            pieces.push((lo, id - 1));
        }
        if id < hi {
            pieces.push((id + 1, hi));
        }
        self.ranges.splice(index..=index, pieces);
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

    /// The ids of `self` missing from `other`.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        let mut rest = self.clone();
        for id in other.iter_within(self) {
            rest.remove(id);
        }
        rest
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

    /// The ids of `self` that fall inside `bounds`' overall span, so that
    /// set arithmetic never walks a huge range the other side does not touch.
    fn iter_within<'s>(&'s self, bounds: &CpuSet) -> impl Iterator<Item = u32> + 's {
        let (lo, hi) = (bounds.first().unwrap_or(1), bounds.last().unwrap_or(0));
        self.ranges
            .iter()
            .filter(move |&&(l, h)| l.max(lo) <= h.min(hi))
            .flat_map(move |&(l, h)| l.max(lo)..=h.min(hi))
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

/// libvirt's canonical form: sorted, merged ranges, no `^`.
impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, &(lo, hi)) in self.ranges.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            match hi - lo {
                0 => write!(f, "{lo}")?,
                // libvirt prints two neighbours as a range too.
                _ => write!(f, "{lo}-{hi}")?,
            }
        }
        Ok(())
    }
}

/// Where a set ends in the surrounding property text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetEnd {
    /// Every `,` continues the set.
    AtAnyOtherCharacter,
    /// A `,` followed by `N#` or `N-M#` starts the next `VCPU#CPUSET` entry.
    BeforeNextEntry,
}

/// A cpuset or node set, stopping where `end` says.
pub fn set<'a>(
    input: &'a str,
    noun: Noun,
    end: SetEnd,
    notes: &mut Notes<'a>,
) -> PResult<'a, CpuSet> {
    let mut set = CpuSet::new();
    let (mut rest, ()) = term(input, noun, &mut set, "", notes)?;
    while let Some(after) = rest.strip_prefix(',') {
        if end == SetEnd::BeforeNextEntry && starts_entry(after) {
            break;
        }
        (rest, ()) = term(after, noun, &mut set, " after ','", notes)?;
    }
    if set.is_empty() {
        let text = &input[..input.len() - rest.len()];
        notes.note(
            input,
            Problem::EmptySet {
                noun,
                set: text.to_string(),
            },
        );
    }
    Ok((rest, set))
}

/// True when `text` opens with `N#` or `N-M#`, the start of a cputune entry.
pub fn starts_entry(text: &str) -> bool {
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let first = digits(text);
    if first == 0 {
        return false;
    }
    let rest = &text[first..];
    if rest.starts_with('#') {
        return true;
    }
    match rest.strip_prefix('-') {
        Some(after) => {
            let second = digits(after);
            second > 0 && after[second..].starts_with('#')
        }
        None => false,
    }
}

/// One `N`, `N-M` or `^N`; `place` ends the message of a missing term.
/// One `N`, `N-M` or `^N`; `place` ends the message of a missing term.
fn term<'a>(
    input: &'a str,
    noun: Noun,
    set: &mut CpuSet,
    place: &str,
    notes: &mut Notes<'a>,
) -> PResult<'a, ()> {
    if let Some(after) = input.strip_prefix('^') {
        let (rest, id) = id(after, noun, &format!("a {noun} number after '^'"), notes)?;
        if rest.starts_with('-') {
            let problem = Problem::expected(
                "',' after the excluded id ('^' takes a single number, not a range)",
            );
            return fail(rest, problem);
        }
        if !set.remove(id) {
            notes.note(input, Problem::RemovesNothing { noun, id });
        }
        return Ok((rest, ()));
    }
    let what = format!("a {noun} number or '^'{place}");
    let (rest, (lo, hi)) = range(input, noun, &what, notes)?;
    set.insert_range(lo, hi);
    Ok((rest, ()))
}

/// `N` or `N-M` with N <= M.
pub fn range<'a>(
    input: &'a str,
    noun: Noun,
    what: &str,
    notes: &mut Notes<'a>,
) -> PResult<'a, (u32, u32)> {
    let (rest, lo) = id(input, noun, what, notes)?;
    let Some(after) = rest.strip_prefix('-') else {
        return Ok((rest, (lo, lo)));
    };
    let (rest, hi) = id(after, noun, &format!("a {noun} number after '-'"), notes)?;
    if hi < lo {
        notes.note(input, Problem::Reversed { lo, hi });
    }
    Ok((rest, (lo.min(hi), lo.max(hi))))
}

/// A decimal id, ASCII digits only, at most 16383. A larger one is noted
/// and read as 16383 so that the rest of the value is still checked.
pub fn id<'a>(input: &'a str, noun: Noun, what: &str, notes: &mut Notes<'a>) -> PResult<'a, u32> {
    let Ok((rest, digits)) = digit1::<_, nom::error::Error<&str>>(input) else {
        return fail(input, Problem::expected(what));
    };
    match digits.parse::<u32>() {
        Ok(id) if id <= MAX_ID => Ok((rest, id)),
        _ => {
            notes.note(
                input,
                Problem::IdTooLarge {
                    noun,
                    id: shorten(digits),
                },
            );
            Ok((rest, MAX_ID))
        }
    }
}
