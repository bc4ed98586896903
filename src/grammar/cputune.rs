//! `cputune`: which host CPUs each vCPU may run on.
//!
//! `VCPU#CPUSET` entries, VCPU an id or a range `A-B`. Entries are separated
//! by `,` as in the original design (a comma followed by `N#` or `N-M#`
//! starts a new entry, any other comma belongs to the cpuset) or by `_`, the
//! separator of oVirt's own CPU-pinning field.

use std::collections::BTreeMap;
use std::fmt;

use crate::cpuset::CpuSet;
use crate::grammar::problem::{end, parse_value, Notes, Noun, PResult, Problem, PropertyError};
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

fn cputune<'a>(input: &'a str, notes: &mut Notes<'a>) -> PResult<'a, CpuTune> {
    let (separator, set_end) = match input.contains('_') {
        true => ('_', SetEnd::AtAnyOtherCharacter),
        false => (',', SetEnd::BeforeNextEntry),
    };
    let mut pins = BTreeMap::new();
    let mut pinned = CpuSet::new();
    let mut ranges = 0usize;
    let mut rest = input;
    loop {
        let (after, (first, last)) = sets::range(rest, Noun::Vcpu, "a vCPU number", notes)?;
        let Some(after) = after.strip_prefix('#') else {
            return crate::grammar::problem::fail(after, Problem::expected("'#' after the vCPU"));
        };
        let (after, cpuset) = sets::set(after, Noun::Cpu, set_end, notes)?;
        // Checked as ranges: re-pinning 0-16383 in every entry of a 64 KiB
        // value made a hundred million map inserts.
        let vcpus = CpuSet::from_range(first, last);
        ranges = ranges.saturating_add(vcpus.len() * cpuset.ranges().len());
        match vcpus.intersection(&pinned).first() {
            Some(vcpu) => notes.note(rest, Problem::VcpuPinnedTwice { vcpu }),
            None if ranges > MAX_PINNED_RANGES => notes.note(
                rest,
                Problem::TooManyPinnedRanges {
                    limit: MAX_PINNED_RANGES,
                },
            ),
            None => {
                pins.extend((first..=last).map(|vcpu| (vcpu, cpuset.clone())));
                pinned.insert_range(first, last);
            }
        }
        rest = after;
        match rest.strip_prefix(separator) {
            Some(next) => rest = next,
            None => break,
        }
    }
    end(rest, &format!("'{separator}'"))?;
    let pins = pins
        .into_iter()
        .map(|(vcpu, cpuset)| VcpuPin { vcpu, cpuset })
        .collect();
    Ok((rest, CpuTune { pins }))
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
