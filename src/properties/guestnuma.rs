//! `guestnuma`: the NUMA cells the guest sees.
//!
//! `CPUS#MEMORY` or `CPUS#MEMORY#HOSTNODES` entries, separated by `,` as in
//! the original design or by `_`. CPUS may hold commas; with `,` between
//! entries a HOSTNODES is one id or range, so a value whose host nodes need
//! commas separates its entries with `_`; a single cell has no separator, so
//! its HOSTNODES may always hold commas. A lone count asks for that many
//! equal cells, resolved against the VM by the domain edit.

use std::cell::RefCell;
use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1, satisfy};
use nom::combinator::{all_consuming, consumed, map, not, opt, value};
use nom::multi::separated_list1;
use nom::sequence::{preceded, terminated};
use nom::Parser;

use crate::cpuset::{CpuSet, NodeSet};
use crate::properties::problem::{
    end, expect, located, parse_value, Fail, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::properties::sets::{self, SetEnd};
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

// guestnuma := count | cells
// count     := digit+ EOF
//   that many equal cells, 1 to 128; any other count is noted
fn guestnuma<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, GuestNuma> {
    let count = map(located(all_consuming(digit1)), |(at, digits)| {
        GuestNuma::Even(count(at, digits, notes))
    });
    alt((count, cells(Layout::of(input), notes))).parse(input)
}

fn count<'a>(at: &'a str, digits: &str, notes: &Notes<'a>) -> usize {
    match digits.parse::<usize>() {
        Ok(count) if (1..=MAX_CELLS).contains(&count) => count,
        _ => {
            let count = shorten(digits);
            notes.note(at, Problem::CellCount { count });
            1
        }
    }
}

/// How the cells of a value are separated, which the whole value decides.
#[derive(Debug, Clone, Copy)]
struct Layout {
    separator: char,
    /// Whether host nodes may be a set with commas, not only one range.
    wide_nodes: bool,
}

impl Layout {
    fn of(value: &str) -> Layout {
        let separator = if value.contains('_') { '_' } else { ',' };
        // Host nodes take two '#', so with at most two there is one cell with
        // host nodes and no separator after them to confuse with a node list.
        let wide_nodes = separator == '_' || value.matches('#').count() <= 2;
        Layout {
            separator,
            wide_nodes,
        }
    }
}

// cells := cell (SEP cell)* EOF
//   SEP is "_" when the value holds one, else ","; each cell is checked
//   against those before it as soon as it is read
fn cells<'a, 'n>(
    layout: Layout,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = GuestNuma, Error = Fail<'a>> + 'n {
    move |input: &'a str| {
        let cells = RefCell::new(Cells::default());
        let read = &cells;
        let add = |(at, cell)| read.borrow_mut().add(at, cell, notes);
        let mut cell = map(located(cell(layout.wide_nodes, notes)), add);
        let explained = move |text: &'a str| {
            let after_nodes = layout.separator == ',' && read.borrow().end_in_nodes();
            cell.parse(text)
                .map_err(|err| err.map(|fail| explain_after_nodes(after_nodes, text, fail)))
        };
        let list = separated_list1(char(layout.separator), explained);
        let separator = format!("'{}' and the next cell", layout.separator);
        let (rest, _) = terminated(list, end(&separator)).parse(input)?;
        Ok((rest, GuestNuma::Cells(cells.into_inner().list)))
    }
}

/// With `,` between cells, a host node range is followed by a new cell;
/// text there with no '#' left cannot be one, and is most often the rest of
/// a node list that needed `_`.
fn explain_after_nodes<'a>(after_nodes: bool, text: &str, fail: Fail<'a>) -> Fail<'a> {
    if !after_nodes || text.contains('#') {
        return fail;
    }
    let problem = Problem::AfterNodes(Box::new(fail.problem));
    Fail { problem, ..fail }
}

/// The cells read so far.
#[derive(Default)]
struct Cells {
    list: Vec<GuestCell>,
    vcpus: CpuSet,
}

impl Cells {
    /// Adds `cell`, noting a vCPU already in a cell and one cell too many.
    fn add<'a>(&mut self, at: &'a str, cell: GuestCell, notes: &Notes<'a>) {
        if let Some(vcpu) = cell.cpus.intersection(&self.vcpus).first() {
            notes.note(at, Problem::VcpuInTwoCells { vcpu });
        }
        for &(lo, hi) in cell.cpus.ranges() {
            self.vcpus.insert_range(lo, hi);
        }
        self.list.push(cell);
        if self.list.len() == MAX_CELLS + 1 {
            let count = format!("more than {MAX_CELLS}");
            notes.note(at, Problem::CellCount { count });
        }
    }

    fn end_in_nodes(&self) -> bool {
        self.list
            .last()
            .is_some_and(|cell| cell.host_nodes.is_some())
    }
}

// cell := set "#" memory ("#" host_nodes)?
fn cell<'a, 'n>(
    wide_nodes: bool,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = GuestCell, Error = Fail<'a>> + 'n {
    let cpus = sets::set(Noun::Vcpu, SetEnd::AtAnyOtherCharacter, notes);
    let cpus = expect(cpus, sets::expected_set(Noun::Vcpu));
    let hash = expect(char('#'), || "'#' after the cell's vCPUs");
    let nodes = opt(preceded(char('#'), host_nodes(wide_nodes, notes)));
    let cell = |(cpus, memory_kib, host_nodes)| GuestCell {
        cpus,
        memory_kib,
        host_nodes,
    };
    map((terminated(cpus, hash), memory(notes), nodes), cell)
}

// host_nodes := set      when the layout allows wide nodes
//             | range    otherwise
fn host_nodes<'a, 'n>(
    wide: bool,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = NodeSet, Error = Fail<'a>> + 'n {
    let set = sets::set(Noun::Node, SetEnd::AtAnyOtherCharacter, notes);
    let mut set = expect(set, sets::expected_set(Noun::Node));
    let range = map(sets::range(Noun::Node, notes), |(lo, hi)| {
        NodeSet::from_range(lo, hi)
    });
    let mut range = expect(range, || "a host node number or range after '#'");
    move |input| match wide {
        true => set.parse(input),
        false => range.parse(input),
    }
}

/// A size written as a cell's memory is (`4096`, `4G`, `512MiB`), in KiB,
/// for commands that take sizes on the command line.
pub fn parse_size(what: &str, value: &str) -> Result<u64, PropertyError> {
    parse_value(what, value, |input, notes| {
        terminated(memory(notes), end(EXPECTED_UNIT)).parse(input)
    })
}

const EXPECTED_UNIT: &str = "a unit K, KiB, M, MiB, G, GiB, T or TiB";

// memory := digit+ unit? (no letter follows)
//   in KiB; 0 and sizes past 2^64 KiB are noted
fn memory<'a, 'n>(
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = u64, Error = Fail<'a>> + 'n {
    let digits = expect(digit1, || {
        "the cell's memory, e.g. 4096 (KiB) or 4G, after '#'"
    });
    let no_letter = expect(not(satisfy(char::is_alphabetic)), || EXPECTED_UNIT);
    let size = consumed((digits, opt(unit())));
    let kib = move |(at, (text, (digits, power)))| kib(at, text, digits, power, notes);
    map(located(terminated(size, no_letter)), kib)
}

// unit := ("K" | "M" | "G" | "T") "iB"?
//   binary units, as a power of 1024 over KiB
fn unit<'a>() -> impl Parser<&'a str, Output = u32, Error = Fail<'a>> {
    let power = alt((
        value(0, char('K')),
        value(1, char('M')),
        value(2, char('G')),
        value(3, char('T')),
    ));
    terminated(power, opt(tag("iB")))
}

/// `digits` times 1024^`power` KiB; 0 and overflow are noted at `at`.
fn kib<'a>(at: &'a str, text: &str, digits: &str, power: Option<u32>, notes: &Notes<'a>) -> u64 {
    let power = power.unwrap_or(0);
    let kib = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1024u64.pow(power)));
    match kib {
        Some(0) => notes.note(at, Problem::ZeroMemory),
        None => notes.note(
            at,
            Problem::MemoryTooLarge {
                text: shorten(text),
            },
        ),
        Some(_) => {}
    }
    kib.unwrap_or(u64::MAX)
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
