//! `cputune`: which host CPUs each vCPU may run on.
//!
//! `VCPU#CPUSET` entries, VCPU an id or a range `A-B`, and the compact
//! one-to-one `VCPUS@SET:SET...` (see `one_to_one`). Entries are separated
//! by `,` as in the original design (a comma followed by `N#`, `N-M#`, `N@`
//! or `N-M@` starts a new entry, any other comma belongs to the cpuset) or
//! by `_`, the separator of oVirt's own CPU-pinning field.

use std::collections::BTreeMap;
use std::fmt;

use nom::branch::alt;
use nom::character::complete::char;
use nom::combinator::{consumed, map};
use nom::multi::many0;
use nom::sequence::preceded;
use nom::Parser;

use crate::cpuset::CpuSet;
use crate::properties::one_to_one::{self, Run};
use crate::properties::problem::{
    expect, located, parse_value, Fail, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::properties::sets::{self, SetEnd};

mod plain;

pub const PROPERTY: &str = "cputune";

/// A bound on the CPU ranges all pins hold together: a short value like
/// `0-16383#0,2,4,...` would otherwise copy a long cpuset to 16384 vCPUs
/// (a gigabyte) and write an equally huge domain XML. Real pinning is far
/// below it.
pub const MAX_PINNED_RANGES: usize = 65536;

pub use crate::properties::vcpupin::VcpuPin;

/// Every pin the property asks for, one per vCPU, in vCPU order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuTune {
    pub pins: Vec<VcpuPin>,
}

/// Reads the common one-vCPU-per-entry shape on its own (see `plain`),
/// anything else with the grammar below.
pub fn parse(value: &str) -> Result<CpuTune, PropertyError> {
    match plain::parse(value) {
        Some(tune) => Ok(tune),
        None => parse_value(PROPERTY, value, cputune),
    }
}

// cputune := entries (see sets::entries)
fn cputune<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, CpuTune> {
    let mut pins = Pins::default();
    let entry = |set_end| entry(set_end, notes);
    let add = |at, (vcpus, target)| pins.add(at, vcpus, target, notes);
    let (rest, ()) = sets::entries(input, entry, add)?;
    Ok((rest, pins.into_tune()))
}

/// What an entry pins its vCPUs to.
enum Target<'a> {
    /// `#CPUSET`: each vCPU of the range may run on any CPU of the set.
    Shared(CpuSet),
    /// `@SET:SET...`: each vCPU on a CPU of its own, from the sets in turn;
    /// `text` is the sets as written.
    OneToOne {
        sets: Vec<(&'a str, CpuSet)>,
        text: &'a str,
    },
}

// entry := range ("#" set | "@" sets)
fn entry<'a, 'n>(
    set_end: SetEnd,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = ((u32, u32), Target<'a>), Error = Fail<'a>> + 'n {
    let vcpus = expect(sets::range(Noun::Vcpu, notes), || "a vCPU number");
    let shared = preceded(char('#'), map(cpuset(set_end, notes), Target::Shared));
    let one_to_one = preceded(char('@'), one_to_one_sets(set_end, notes));
    let target = expect(alt((shared, one_to_one)), || "'#' or '@' after the vCPU");
    (vcpus, target)
}

// sets := set (":" set)*
fn one_to_one_sets<'a, 'n>(
    set_end: SetEnd,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = Target<'a>, Error = Fail<'a>> + 'n {
    let next = sets::set(Noun::Cpu, set_end, notes);
    let next = expect(next, || "a CPU number or '^' after ':'");
    let more = many0(preceded(char(':'), located(next)));
    let target = |(text, (first, more)): (&'a str, (_, Vec<_>))| Target::OneToOne {
        sets: [first].into_iter().chain(more).collect(),
        text,
    };
    map(consumed((located(cpuset(set_end, notes)), more)), target)
}

/// A cpuset, said to be expected where none starts.
fn cpuset<'a, 'n>(
    set_end: SetEnd,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = CpuSet, Error = Fail<'a>> + 'n {
    let set = sets::set(Noun::Cpu, set_end, notes);
    expect(set, sets::expected_set(Noun::Cpu))
}

impl Target<'_> {
    /// How many CPU ranges `vcpus` pins to it hold.
    fn ranges(&self, vcpus: usize) -> usize {
        match self {
            Target::Shared(cpuset) => vcpus * cpuset.ranges().len(),
            Target::OneToOne { .. } => vcpus,
        }
    }

    /// The cpuset of each of `vcpus` vCPUs in turn.
    fn cpusets(self, vcpus: usize) -> Vec<CpuSet> {
        match self {
            Target::Shared(cpuset) => vec![cpuset; vcpus],
            Target::OneToOne { sets, .. } => {
                let sets: Vec<CpuSet> = sets.into_iter().map(|(_, set)| set).collect();
                let cpus = one_to_one::cpus(&sets).into_iter();
                cpus.map(|cpu| CpuSet::from_range(cpu, cpu)).collect()
            }
        }
    }
}

/// The pins read so far.
#[derive(Default)]
struct Pins {
    by_vcpu: BTreeMap<u32, CpuSet>,
    pinned: CpuSet,
    ranges: usize,
}

impl Pins {
    /// Pins `first..=last` to `target`, noting a `@` entry that does not
    /// pair vCPUs and CPUs one to one, a vCPU pinned before, or one pin too
    /// many. Checked as ranges: re-pinning 0-16383 in every entry of a
    /// 64 KiB value made a hundred million map inserts.
    fn add<'a>(
        &mut self,
        at: &'a str,
        (first, last): (u32, u32),
        target: Target<'a>,
        notes: &Notes<'a>,
    ) {
        if let Target::OneToOne { sets, text } = &target {
            if let Err((at, problem)) = one_to_one::check(at, (first, last), sets, text) {
                return notes.note(at, problem);
            }
        }
        let vcpus = CpuSet::from_range(first, last);
        self.ranges = self.ranges.saturating_add(target.ranges(vcpus.len()));
        match vcpus.intersection(&self.pinned).first() {
            Some(vcpu) => notes.note(at, Problem::VcpuPinnedTwice { vcpu }),
            None if self.ranges > MAX_PINNED_RANGES => notes.note(
                at,
                Problem::TooManyPinnedRanges {
                    limit: MAX_PINNED_RANGES,
                },
            ),
            None => {
                let cpusets = target.cpusets(vcpus.len());
                self.by_vcpu.extend((first..=last).zip(cpusets));
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

/// Canonical form: entries in vCPU order, `,` between them. A run of
/// `one_to_one::MIN_RUN` or more neighbouring vCPUs pinned one to one to
/// blocks of consecutive CPUs is written `A-B@C-D`, or `A-B@C-D:E-F...`
/// when the vCPUs take several blocks in turn (siblings threads); other
/// neighbouring vCPUs with the same cpuset fold into `A-B#CPUSET`.
impl fmt::Display for CpuTune {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.pins.as_slice();
        let mut separator = "";
        while let Some(pin) = rest.first() {
            f.write_str(separator)?;
            separator = ",";
            let taken = match Run::longest(rest) {
                Some(run) => {
                    write!(f, "{run}")?;
                    run.vcpus()
                }
                None => {
                    let same = shared_run(rest);
                    match same {
                        1 => write!(f, "{}#{}", pin.vcpu, pin.cpuset)?,
                        _ => write!(
                            f,
                            "{}-{}#{}",
                            pin.vcpu,
                            pin.vcpu as usize + same - 1,
                            pin.cpuset
                        )?,
                    }
                    same
                }
            };
            rest = rest.get(taken..).unwrap_or_default();
        }
        Ok(())
    }
}

/// How many pins from the first are neighbouring vCPUs with its cpuset.
fn shared_run(pins: &[VcpuPin]) -> usize {
    let same =
        |pair: &&[VcpuPin]| pair[1].vcpu == pair[0].vcpu + 1 && pair[1].cpuset == pair[0].cpuset;
    1 + pins.windows(2).take_while(same).count()
}
