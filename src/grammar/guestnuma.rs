//! `guestnuma`: the NUMA cells the guest sees.
//!
//! `CPUS#MEMORY` or `CPUS#MEMORY#HOSTNODES` entries, separated by `,` as in
//! the original design or by `_`. CPUS may hold commas; with `,` between
//! entries a HOSTNODES is one id or range, so a value whose host nodes need
//! commas separates its entries with `_`; a single cell has no separator, so
//! its HOSTNODES may always hold commas. A lone count asks for that many
//! equal cells, resolved against the VM by the domain edit.

use std::fmt;

use nom::character::complete::digit1;

use crate::cpuset::{CpuSet, NodeSet};
use crate::grammar::problem::{
    end, fail, parse_value, Fail, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::grammar::sets::{self, SetEnd};
use crate::wording::shorten;

pub const PROPERTY: &str = "guestnuma";

/// QEMU's MAX_NODES.
pub const MAX_CELLS: usize = 128;

/// One `<cell>` of `<cpu><numa>`, and the host nodes its memory is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestCell {
    pub cpus: CpuSet,
    pub memory_kib: u64,
    pub host_nodes: Option<NodeSet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestNuma {
    Cells(Vec<GuestCell>),
    /// `N` equal cells, split from the VM's own vCPUs and memory.
    Even(usize),
}

pub fn parse(value: &str) -> Result<GuestNuma, PropertyError> {
    parse_value(PROPERTY, value, guestnuma)
}

fn guestnuma<'a>(input: &'a str, notes: &mut Notes<'a>) -> PResult<'a, GuestNuma> {
    if !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(("", GuestNuma::Even(count(input, notes))));
    }
    let separator = if input.contains('_') { '_' } else { ',' };
    // Host nodes take two '#', so with at most two there is one cell with
    // host nodes and no separator after them to confuse with a node list.
    let wide_nodes = separator == '_' || input.matches('#').count() <= 2;
    let mut cells: Vec<GuestCell> = Vec::new();
    let mut seen = CpuSet::new();
    let mut rest = input;
    loop {
        // Text with no '#' left cannot be a cell: after host nodes it is
        // most often the rest of a node list that needed '_'.
        let after_nodes =
            cells.last().is_some_and(|cell| cell.host_nodes.is_some()) && !rest.contains('#');
        let (after, cell) = match cell(rest, wide_nodes, notes) {
            Err(nom::Err::Failure(fail)) if after_nodes && separator == ',' => {
                return Err(nom::Err::Failure(explain_narrow_nodes(fail)))
            }
            parsed => parsed?,
        };
        if let Some(vcpu) = cell.cpus.intersection(&seen).first() {
            notes.note(rest, Problem::VcpuInTwoCells { vcpu });
        }
        for &(lo, hi) in cell.cpus.ranges() {
            seen.insert_range(lo, hi);
        }
        cells.push(cell);
        if cells.len() == MAX_CELLS + 1 {
            notes.note(
                rest,
                Problem::CellCount {
                    count: format!("more than {MAX_CELLS}"),
                },
            );
        }
        rest = after;
        match rest.strip_prefix(separator) {
            Some(next) => rest = next,
            None => break,
        }
    }
    end(rest, &format!("'{separator}' and the next cell"))?;
    Ok((rest, GuestNuma::Cells(cells)))
}

/// With `,` between cells, what follows a host node range must be a new
/// cell; text that is not is most often a node list that needed `_`.
fn explain_narrow_nodes(fail: Fail<'_>) -> Fail<'_> {
    match fail.problem {
        Problem::Expected(what) => Fail {
            at: fail.at,
            problem: Problem::ExpectedAfterNodes(what),
        },
        _ => fail,
    }
}

fn count<'a>(digits: &'a str, notes: &mut Notes<'a>) -> usize {
    match digits.parse::<usize>() {
        Ok(count) if (1..=MAX_CELLS).contains(&count) => count,
        _ => {
            notes.note(
                digits,
                Problem::CellCount {
                    count: shorten(digits),
                },
            );
            1
        }
    }
}

fn cell<'a>(input: &'a str, wide_nodes: bool, notes: &mut Notes<'a>) -> PResult<'a, GuestCell> {
    let (rest, cpus) = sets::set(input, Noun::Vcpu, SetEnd::AtAnyOtherCharacter, notes)?;
    let Some(rest) = rest.strip_prefix('#') else {
        return fail(rest, Problem::expected("'#' after the cell's vCPUs"));
    };
    let (rest, memory_kib) = memory(rest, notes)?;
    let Some(rest) = rest.strip_prefix('#') else {
        return Ok((
            rest,
            GuestCell {
                cpus,
                memory_kib,
                host_nodes: None,
            },
        ));
    };
    let (rest, host_nodes) = host_nodes(rest, wide_nodes, notes)?;
    let host_nodes = Some(host_nodes);
    Ok((
        rest,
        GuestCell {
            cpus,
            memory_kib,
            host_nodes,
        },
    ))
}

fn host_nodes<'a>(input: &'a str, wide: bool, notes: &mut Notes<'a>) -> PResult<'a, NodeSet> {
    if wide {
        return sets::set(input, Noun::Node, SetEnd::AtAnyOtherCharacter, notes);
    }
    let what = "a host node number or range after '#'";
    let (rest, (lo, hi)) = sets::range(input, Noun::Node, what, notes)?;
    Ok((rest, NodeSet::from_range(lo, hi)))
}

/// Binary units, longest spelling first so `KiB` is not read as `K`.
const UNITS: [(&str, u32); 8] = [
    ("KiB", 0),
    ("MiB", 1),
    ("GiB", 2),
    ("TiB", 3),
    ("K", 0),
    ("M", 1),
    ("G", 2),
    ("T", 3),
];

/// A size written as a cell's memory is (`4096`, `4G`, `512MiB`), in KiB,
/// for commands that take sizes on the command line.
pub fn parse_size(what: &str, value: &str) -> Result<u64, PropertyError> {
    parse_value(what, value, |input, notes| {
        let (rest, kib) = memory(input, notes)?;
        end(rest, "a unit K, KiB, M, MiB, G, GiB, T or TiB")?;
        Ok((rest, kib))
    })
}

/// A size in KiB: a whole number, with an optional binary unit.
fn memory<'a>(input: &'a str, notes: &mut Notes<'a>) -> PResult<'a, u64> {
    let Ok((rest, digits)) = digit1::<_, nom::error::Error<&str>>(input) else {
        return fail(
            input,
            Problem::expected("the cell's memory, e.g. 4096 (KiB) or 4G, after '#'"),
        );
    };
    let (rest, power) = match UNITS.iter().find(|(unit, _)| rest.starts_with(unit)) {
        Some(&(unit, power)) => (&rest[unit.len()..], power),
        None => (rest, 0),
    };
    if rest.starts_with(|c: char| c.is_alphabetic()) {
        return fail(
            rest,
            Problem::expected("a unit K, KiB, M, MiB, G, GiB, T or TiB"),
        );
    }
    let kib = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1024u64.pow(power)));
    match kib {
        Some(0) => notes.note(input, Problem::ZeroMemory),
        None => notes.note(
            input,
            Problem::MemoryTooLarge {
                text: shorten(&input[..input.len() - rest.len()]),
            },
        ),
        Some(_) => {}
    }
    Ok((rest, kib.unwrap_or(u64::MAX)))
}

/// A size in the largest unit that divides it, `G` rather than `1048576`.
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kib = self.0;
        for (unit, power) in [("T", 3), ("G", 2), ("M", 1)] {
            let scale = 1024u64.pow(power);
            if kib > 0 && kib.is_multiple_of(scale) {
                return write!(f, "{}{unit}", kib / scale);
            }
        }
        write!(f, "{kib}")
    }
}

/// Canonical form: cells in the given order, `,` between them unless some
/// cell's host nodes need a comma, then `_`.
impl fmt::Display for GuestNuma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells = match self {
            GuestNuma::Even(count) => return write!(f, "{count}"),
            GuestNuma::Cells(cells) => cells,
        };
        let needs_underscore = cells.iter().any(|cell| {
            cell.host_nodes
                .as_ref()
                .is_some_and(|nodes| nodes.ranges().len() > 1)
        });
        let separator = if needs_underscore { "_" } else { "," };
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                f.write_str(separator)?;
            }
            write!(f, "{}#{}", cell.cpus, Size(cell.memory_kib))?;
            if let Some(nodes) = &cell.host_nodes {
                write!(f, "#{nodes}")?;
            }
        }
        Ok(())
    }
}
