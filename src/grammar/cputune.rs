//! `cputune`: which host CPUs each vCPU may run on.
//!
//! `VCPU#CPUSET` entries, VCPU an id or a range `A-B`. Entries are separated
//! by `,` as in the original design (a comma followed by `N#` or `N-M#`
//! starts a new entry, any other comma belongs to the cpuset) or by `_`, the
//! separator of oVirt's own CPU-pinning field.

use std::collections::BTreeMap;
use std::fmt;

use nom::character::complete::char;
use nom::combinator::map;
use nom::multi::separated_list1;
use nom::sequence::{separated_pair, terminated};
use nom::Parser;

use crate::cpuset::CpuSet;
use crate::grammar::problem::{
    end, expect, located, parse_value, Fail, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::grammar::sets::{self, SetEnd};

pub const PROPERTY: &str = "cputune";

/// A bound on the CPU ranges all pins hold together: a short value like
/// `0-16383#0,2,4,...` would otherwise copy a long cpuset to 16384 vCPUs
/// (a gigabyte) and write an equally huge domain XML. Real pinning is far
/// below it.
pub const MAX_PINNED_RANGES: usize = 65536;

/// One `<vcpupin vcpu= cpuset=/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcpuPin {
    pub vcpu: u32,
    pub cpuset: CpuSet,
}

/// Every pin the property asks for, one per vCPU, in vCPU order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuTune {
    pub pins: Vec<VcpuPin>,
}

pub fn parse(value: &str) -> Result<CpuTune, PropertyError> {
    parse_value(PROPERTY, value, cputune)
}

// cputune := entry (SEP entry)* EOF
//   SEP is "_" when the value holds one, else ","; each entry is checked
//   against those before it as soon as it is read
fn cputune<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, CpuTune> {
    let (separator, set_end) = match input.contains('_') {
        true => ('_', SetEnd::AtAnyOtherCharacter),
        false => (',', SetEnd::BeforeNextEntry),
    };
    let mut pins = Pins::default();
    let add = |(at, (vcpus, cpuset))| pins.add(at, vcpus, cpuset, notes);
    let entries = separated_list1(char(separator), map(located(entry(set_end, notes)), add));
    let (rest, _) = terminated(entries, end(&format!("'{separator}'"))).parse(input)?;
    Ok((rest, pins.into_tune()))
}

// entry := range "#" set
fn entry<'a, 'n>(
    set_end: SetEnd,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = ((u32, u32), CpuSet), Error = Fail<'a>> + 'n {
    let vcpus = expect(sets::range(Noun::Vcpu, notes), || "a vCPU number");
    let hash = expect(char('#'), || "'#' after the vCPU");
    let cpuset = sets::set(Noun::Cpu, set_end, notes);
    separated_pair(vcpus, hash, expect(cpuset, sets::expected_set(Noun::Cpu)))
}

/// The pins read so far.
#[derive(Default)]
struct Pins {
    by_vcpu: BTreeMap<u32, CpuSet>,
    pinned: CpuSet,
    ranges: usize,
}

impl Pins {
    /// Pins `first..=last` to `cpuset`, noting a vCPU pinned before or one
    /// pin too many. Checked as ranges: re-pinning 0-16383 in every entry of
    /// a 64 KiB value made a hundred million map inserts.
    fn add<'a>(
        &mut self,
        at: &'a str,
        (first, last): (u32, u32),
        cpuset: CpuSet,
        notes: &Notes<'a>,
    ) {
        let vcpus = CpuSet::from_range(first, last);
        self.ranges = self
            .ranges
            .saturating_add(vcpus.len() * cpuset.ranges().len());
        match vcpus.intersection(&self.pinned).first() {
            Some(vcpu) => notes.note(at, Problem::VcpuPinnedTwice { vcpu }),
            None if self.ranges > MAX_PINNED_RANGES => notes.note(
                at,
                Problem::TooManyPinnedRanges {
                    limit: MAX_PINNED_RANGES,
                },
            ),
            None => {
                let pins = (first..=last).map(|vcpu| (vcpu, cpuset.clone()));
                self.by_vcpu.extend(pins);
                self.pinned.insert_range(first, last);
            }
        }
    }

    fn into_tune(self) -> CpuTune {
        let pins = self.by_vcpu.into_iter();
        CpuTune {
            pins: pins
                .map(|(vcpu, cpuset)| VcpuPin { vcpu, cpuset })
                .collect(),
        }
    }
}

/// Canonical form: entries in vCPU order, neighbouring vCPUs with the same
/// cpuset folded into a range, `,` between entries.
impl fmt::Display for CpuTune {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(u32, u32, &CpuSet)> = Vec::new();
        for pin in &self.pins {
            match runs.last_mut() {
                Some((_, last, set)) if *last + 1 == pin.vcpu && **set == pin.cpuset => {
                    *last = pin.vcpu
                }
                _ => runs.push((pin.vcpu, pin.vcpu, &pin.cpuset)),
            }
        }
        for (index, (first, last, set)) in runs.into_iter().enumerate() {
            let separator = if index > 0 { "," } else { "" };
            match first == last {
                true => write!(f, "{separator}{first}#{set}")?,
                false => write!(f, "{separator}{first}-{last}#{set}")?,
            }
        }
        Ok(())
    }
}
