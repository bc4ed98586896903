//! `iothreadpin`: which host CPUs each I/O thread may run on.
//!
//! `IOTHREAD#CPUSET` entries, IOTHREAD an id or a range `A-B`, separated
//! as `cputune` separates its entries: by `_`, or by `,` where a comma
//! followed by `N#` or `N-M#` starts the next entry. libvirt numbers I/O
//! threads from 1.

use std::collections::BTreeMap;
use std::fmt;

use crate::cpuset::CpuSet;
use crate::grammar::cputune::MAX_PINNED_RANGES;
use crate::grammar::problem::{
    end, fail, parse_value, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::grammar::sets::{self, SetEnd};

pub const PROPERTY: &str = "iothreadpin";

/// One `<iothreadpin iothread= cpuset=/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoThreadPin {
    pub iothread: u32,
    pub cpuset: CpuSet,
}

/// Every pin asked for, one per I/O thread, in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoThreadPins {
    pub pins: Vec<IoThreadPin>,
}

impl IoThreadPins {
    /// The I/O threads named.
    pub fn iothreads(&self) -> CpuSet {
        self.pins.iter().map(|pin| pin.iothread).collect()
    }
}

pub fn parse(value: &str) -> Result<IoThreadPins, PropertyError> {
    parse_value(PROPERTY, value, iothreadpin)
}

fn iothreadpin<'a>(input: &'a str, notes: &mut Notes<'a>) -> PResult<'a, IoThreadPins> {
    let (separator, set_end) = match input.contains('_') {
        true => ('_', SetEnd::AtAnyOtherCharacter),
        false => (',', SetEnd::BeforeNextEntry),
    };
    let mut pins = BTreeMap::new();
    let mut rest = input;
    let mut ranges = 0usize;
    loop {
        let (after, entry) = entry(rest, set_end, notes)?;
        let (first, last, cpuset) = entry;
        let threads = CpuSet::from_range(first, last);
        ranges = ranges.saturating_add(threads.len() * cpuset.ranges().len());
        let pinned: CpuSet = pins.keys().copied().collect();
        match threads.intersection(&pinned).first() {
            _ if first == 0 => notes.note(rest, Problem::IoThreadZero),
            Some(iothread) => notes.note(rest, Problem::IoThreadPinnedTwice { iothread }),
            None if ranges > MAX_PINNED_RANGES => notes.note(
                rest,
                Problem::TooManyPinnedRanges {
                    limit: MAX_PINNED_RANGES,
                },
            ),
            None => pins.extend((first..=last).map(|id| (id, cpuset.clone()))),
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
        .map(|(iothread, cpuset)| IoThreadPin { iothread, cpuset })
        .collect();
    Ok((rest, IoThreadPins { pins }))
}

/// `A-B#CPUSET`, as `(A, B, CPUSET)`.
fn entry<'a>(
    input: &'a str,
    set_end: SetEnd,
    notes: &mut Notes<'a>,
) -> PResult<'a, (u32, u32, CpuSet)> {
    let what = "an I/O thread number";
    let (after, (first, last)) = sets::range(input, Noun::IoThread, what, notes)?;
    let Some(after) = after.strip_prefix('#') else {
        return fail(after, Problem::expected("'#' after the I/O thread"));
    };
    let (after, cpuset) = sets::set(after, Noun::Cpu, set_end, notes)?;
    Ok((after, (first, last, cpuset)))
}

/// Canonical form: entries in id order, neighbouring threads with the
/// same cpuset folded into a range, `,` between entries.
impl fmt::Display for IoThreadPins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(u32, u32, &CpuSet)> = Vec::new();
        for pin in &self.pins {
            match runs.last_mut() {
                Some((_, last, set)) if *last + 1 == pin.iothread && **set == pin.cpuset => {
                    *last = pin.iothread
                }
                _ => runs.push((pin.iothread, pin.iothread, &pin.cpuset)),
            }
        }
        let entries: Vec<String> = runs
            .into_iter()
            .map(|(first, last, set)| match first == last {
                true => format!("{first}#{set}"),
                false => format!("{first}-{last}#{set}"),
            })
            .collect();
        f.write_str(&entries.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(value: &str) -> String {
        parse(value).unwrap_or_else(|e| panic!("{e}")).to_string()
    }

    #[test]
    fn entries_as_cputune_writes_them() {
        assert_eq!(canonical("1#0-1"), "1#0-1");
        assert_eq!(canonical("2#3_1#0,2"), "1#0,2,2#3");
        assert_eq!(canonical("1#0,2,2#3"), "1#0,2,2#3");
        assert_eq!(canonical("1-3#4"), "1-3#4");
        assert_eq!(canonical("1#4,2#4,3#5"), "1-2#4,3#5");
    }

    #[test]
    fn refusals_say_where() {
        let err = parse("0#1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "iothreadpin: I/O thread 0 does not exist at column 1 in \"0#1\"; libvirt numbers I/O threads from 1"
        );
        let err = parse("1#1,1#2").unwrap_err();
        assert_eq!(err.column, 5, "{err}");
        assert!(
            err.to_string().contains("I/O thread 1 is pinned twice"),
            "{err}"
        );
        assert_eq!(parse("1#").unwrap_err().column, 3);
        assert_eq!(parse("1-#2").unwrap_err().column, 3);
        assert_eq!(parse("x").unwrap_err().column, 1);
    }
}
