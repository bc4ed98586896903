//! `iothreadpin`: which host CPUs each I/O thread may run on.
//!
//! `IOTHREAD#CPUSET` entries, IOTHREAD an id or a range `A-B`, separated
//! as `cputune` separates its entries: by `_`, or by `,` where a comma
//! followed by `N#` or `N-M#` starts the next entry. libvirt numbers I/O
//! threads from 1.

use std::collections::BTreeMap;
use std::fmt;

use crate::cpuset::CpuSet;
use crate::properties::cputune::MAX_PINNED_RANGES;
use nom::character::complete::char;
use nom::sequence::preceded;
use nom::Parser;

use crate::properties::problem::{
    expect, parse_value, Fail, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::properties::sets::{self, SetEnd};

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

// iothreadpin := entries (see sets::entries)
fn iothreadpin<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, IoThreadPins> {
    let mut pins = Pins::default();
    let entry = |set_end| entry(set_end, notes);
    let add = |at, (threads, cpuset)| pins.add(at, threads, cpuset, notes);
    let (rest, ()) = sets::entries(input, entry, add)?;
    Ok((rest, pins.into_pins()))
}

// entry := range "#" set
fn entry<'a, 'n>(
    set_end: SetEnd,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = ((u32, u32), CpuSet), Error = Fail<'a>> + 'n {
    let threads = expect(sets::range(Noun::IoThread, notes), || {
        "an I/O thread number"
    });
    let cpuset = expect(
        sets::set(Noun::Cpu, set_end, notes),
        sets::expected_set(Noun::Cpu),
    );
    let cpuset = expect(preceded(char('#'), cpuset), || "'#' after the I/O thread");
    (threads, cpuset)
}

/// The pins read so far.
#[derive(Default)]
struct Pins {
    by_thread: BTreeMap<u32, CpuSet>,
    pinned: CpuSet,
    ranges: usize,
}

impl Pins {
    /// Pins `first..=last` to `cpuset`, noting thread 0 (libvirt numbers
    /// I/O threads from 1), a thread pinned before, or one pin too many.
    fn add<'a>(
        &mut self,
        at: &'a str,
        (first, last): (u32, u32),
        cpuset: CpuSet,
        notes: &Notes<'a>,
    ) {
        let threads = CpuSet::from_range(first, last);
        self.ranges = self
            .ranges
            .saturating_add(threads.len() * cpuset.ranges().len().max(1));
        match threads.intersection(&self.pinned).first() {
            _ if first == 0 => notes.note(at, Problem::IoThreadZero),
            Some(iothread) => notes.note(at, Problem::IoThreadPinnedTwice { iothread }),
            None if self.ranges > MAX_PINNED_RANGES => notes.note(
                at,
                Problem::TooManyPinnedRanges {
                    limit: MAX_PINNED_RANGES,
                },
            ),
            None => {
                let pins = (first..=last).map(|id| (id, cpuset.clone()));
                self.by_thread.extend(pins);
                self.pinned.insert_range(first, last);
            }
        }
    }

    fn into_pins(self) -> IoThreadPins {
        let pins = self.by_thread.into_iter();
        let pins = pins.map(|(iothread, cpuset)| IoThreadPin { iothread, cpuset });
        IoThreadPins {
            pins: pins.collect(),
        }
    }
}

/// Canonical form: entries in id order, neighbouring threads with the
/// same cpuset folded into a range, `,` between entries.
impl fmt::Display for IoThreadPins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(u32, u32, &CpuSet)> = Vec::new();
        for pin in &self.pins {
            match runs.last_mut() {
                Some((_, last, set))
                    if last.checked_add(1) == Some(pin.iothread) && **set == pin.cpuset =>
                {
                    *last = pin.iothread;
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
            "iothreadpin: I/O thread 0 does not exist at column 1 in '0#1'; libvirt numbers I/O threads from 1"
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
