//! What can be wrong with a custom property value, and how it is said.
//!
//! Values come from anyone allowed to edit a VM, so every parser reports the
//! same way: the property, the problem, the 1-based column and the value
//! itself, quoted and escaped (see `wording::quoted`) so the message stays
//! one line of ASCII.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

use nom::combinator::eof;
use nom::error::{ErrorKind, ParseError};
use nom::{Finish, Parser};
use thiserror::Error;

use crate::cpuset::{CpuSet, MAX_ID};
use crate::wording::{count, quoted};

/// Longer values are refused before parsing: no real pinning needs more, and
/// the limit bounds the work an untrusted value can cause.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// What kind of id a number stands for, so messages say "CPU" or "node".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noun {
    Cpu,
    Node,
    Vcpu,
    IoThread,
}

impl Noun {
    /// The highest id a value may name: libvirt reads CPU, node and vCPU
    /// sets into bitmaps of 16384 bits, and an I/O thread id as any
    /// unsigned int (`virDomainIOThreadIDDefParseXML`).
    pub fn max_id(self) -> u32 {
        match self {
            Noun::IoThread => u32::MAX,
            Noun::Cpu | Noun::Node | Noun::Vcpu => MAX_ID,
        }
    }
}

impl fmt::Display for Noun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Noun::Cpu => "CPU",
            Noun::Node => "node",
            Noun::Vcpu => "vCPU",
            Noun::IoThread => "I/O thread",
        })
    }
}

/// The problem found at one place in a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    /// The text does not follow the grammar: the only kind the engine's
    /// regexes can see, so they must agree with the parser on it.
    #[error("expected {0}")]
    Expected(Cow<'static, str>),
    /// A syntax error in text after a host node range that cannot be a
    /// cell: most often a node list that needed `_` between cells.
    #[error("{0}")]
    AfterNodes(Box<Problem>),
    #[error("{noun} {id} is above the highest id")]
    IdTooLarge { noun: Noun, id: String },
    #[error("range {lo}-{hi} is reversed")]
    Reversed { lo: u32, hi: u32 },
    #[error("'^{id}' removes nothing, {noun} {id} is not in the set built so far")]
    RemovesNothing { noun: Noun, id: u32 },
    #[error("the {noun} set {} is empty", quoted(.set))]
    EmptySet { noun: Noun, set: String },
    #[error("vCPU {vcpu} is pinned twice")]
    VcpuPinnedTwice { vcpu: u32 },
    #[error("I/O thread {iothread} is pinned twice")]
    IoThreadPinnedTwice { iothread: u32 },
    #[error("I/O thread 0 does not exist")]
    IoThreadZero,
    #[error("the pins hold more than {limit} CPU ranges in all")]
    TooManyPinnedRanges { limit: usize },
    /// A `VCPUS@SET:SET...` entry whose sets are not all of one size.
    #[error("sets {first} and {second} after '@' both hold {}, so two vCPUs would share a CPU the one-to-one form gives each of them alone", crate::wording::Ids("CPU", .cpus))]
    OverlappingSets {
        first: usize,
        second: usize,
        cpus: CpuSet,
    },
    #[error(
        "set {set} after '@' holds {}, set 1 holds {}",
        count(*.size, "CPU"),
        count(*.first, "CPU")
    )]
    UnevenSets {
        set: usize,
        size: usize,
        first: usize,
    },
    /// A `VCPUS@SET:SET...` entry with more or fewer vCPUs than CPUs;
    /// `example` is the entry with its range corrected, when it can be.
    #[error(
        "{} cannot be pinned one to one to {}",
        count(*.vcpus, "vCPU"),
        count(*.cpus, "CPU")
    )]
    OneToOneCount {
        vcpus: usize,
        cpus: usize,
        example: Option<String>,
    },
    #[error("vCPU {vcpu} is in two guest cells")]
    VcpuInTwoCells { vcpu: u32 },
    #[error("{count} guest cells are asked for")]
    CellCount { count: String },
    #[error("the cell's memory is 0")]
    ZeroMemory,
    #[error("memory {text} is too large")]
    MemoryTooLarge { text: String },
    #[error("'preferred' takes a single node and {} has several", quoted(.nodes))]
    PreferredManyNodes { nodes: String },
    #[error("the value is {len} bytes long")]
    TooLong { len: usize },
    #[error("the value is not valid UTF-8")]
    NotUtf8,
}

impl Problem {
    pub fn expected(what: impl Into<Cow<'static, str>>) -> Problem {
        Problem::Expected(what.into())
    }

    /// What is allowed instead, when the problem itself does not say it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Problem::Expected(_) | Problem::NotUtf8 => return None,
            Problem::AfterNodes(_) => "to bind a cell to a list of host nodes, separate \
                the cells with '_', as in 0-3#4G#0,2_4-7#4G#1,3"
                .into(),
            Problem::IdTooLarge { noun, .. } => format!("ids go from 0 to {}", noun.max_id()),
            Problem::Reversed { lo, hi } => format!("write it low to high, {hi}-{lo}"),
            Problem::RemovesNothing { .. } => {
                "put each exclusion after the range it cuts into, as in 0-3,^2".into()
            }
            Problem::EmptySet { .. } => "a set needs at least one id".into(),
            Problem::VcpuPinnedTwice { .. } => "give each vCPU one entry".into(),
            Problem::IoThreadPinnedTwice { .. } => "give each I/O thread one entry".into(),
            Problem::IoThreadZero => "libvirt numbers I/O threads from 1".into(),
            Problem::TooManyPinnedRanges { .. } => {
                "pin fewer vCPUs, or give them cpusets of fewer ranges".into()
            }
            Problem::OverlappingSets { .. } => {
                "give each set other CPUs, as in 0-7@0-3:8-11, or pin with '#' to share them".into()
            }
            Problem::UnevenSets { .. } => {
                "give every set after '@' the same number of CPUs, as in 0-7@0-3:8-11".into()
            }
            Problem::OneToOneCount {
                example: Some(example),
                ..
            } => format!("give the range one vCPU per CPU, as in {example}"),
            Problem::OneToOneCount { vcpus, .. } => {
                format!("give the sets after '@' one CPU per vCPU, {vcpus} in all")
            }
            Problem::VcpuInTwoCells { .. } => "each vCPU belongs to exactly one cell".into(),
            Problem::CellCount { .. } => "QEMU allows 1 to 128 cells".into(),
            Problem::ZeroMemory => "give each cell a size above 0, e.g. 4G".into(),
            Problem::MemoryTooLarge { .. } => "no host has that much memory".into(),
            Problem::PreferredManyNodes { .. } => {
                "use strict or interleave to spread memory over several nodes".into()
            }
            Problem::TooLong { .. } => format!("the limit is {MAX_VALUE_LEN} bytes"),
        })
    }

    /// True when the text breaks the grammar itself, as opposed to a
    /// well-formed value whose numbers do not make sense.
    pub fn is_syntax(&self) -> bool {
        match self {
            Problem::AfterNodes(problem) => problem.is_syntax(),
            _ => matches!(self, Problem::Expected(_) | Problem::NotUtf8),
        }
    }
}

/// A parse failure inside a value: the rest of the input where it happened,
/// which locates it, and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail<'a> {
    pub at: &'a str,
    pub problem: Problem,
}

/// How nom's own parsers (`char`, `digit1`, `tag`, ...) fail: at the text
/// they could not read. They fail often and harmlessly inside `opt`, `alt`
/// and the repetitions, so this costs no allocation; where a failure stands,
/// `expect` says what the grammar wanted there, and these words show only
/// if a rule forgot to.
impl<'a> ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(input: &'a str, _: ErrorKind) -> Self {
        Fail {
            at: input,
            problem: Problem::expected("other text"),
        }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

pub type PResult<'a, T> = nom::IResult<&'a str, T, Fail<'a>>;

/// `parser`, failing for good where it cannot start, saying `what` the
/// grammar expected there: no other reading of the text is left.
pub fn expect<'a, O, W: Into<Cow<'static, str>>>(
    mut parser: impl Parser<&'a str, Output = O, Error = Fail<'a>>,
    what: impl Fn() -> W,
) -> impl Parser<&'a str, Output = O, Error = Fail<'a>> {
    move |input: &'a str| match parser.parse(input) {
        Err(nom::Err::Error(_)) => Err(nom::Err::Failure(Fail {
            at: input,
            problem: Problem::expected(what()),
        })),
        parsed => parsed,
    }
}

/// `parser`'s output with the text it started at, where a note about that
/// output points.
pub fn located<'a, O>(
    mut parser: impl Parser<&'a str, Output = O, Error = Fail<'a>>,
) -> impl Parser<&'a str, Output = (&'a str, O), Error = Fail<'a>> {
    move |input: &'a str| {
        let (rest, output) = parser.parse(input)?;
        Ok((rest, (input, output)))
    }
}

/// The end of the value; `what` says what else could have followed.
pub fn end<'a: 'w, 'w>(what: &'w str) -> impl Parser<&'a str, Output = (), Error = Fail<'a>> + 'w {
    let what = move || format!("{what} or the end of the value");
    expect(eof, what).map(|_| ())
}

/// Problems with the meaning of a well-formed value. Parsing goes on past
/// them so that a syntax error anywhere wins: the engine's regexes see only
/// syntax, and this keeps them and the parser agreeing on what is well-formed.
/// Shared, not borrowed mutably, so that every parser of a rule can note.
#[derive(Debug, Default)]
pub struct Notes<'a> {
    first: OnceCell<Fail<'a>>,
}

impl<'a> Notes<'a> {
    /// Keeps the first problem: the one an administrator meets reading left to right.
    pub fn note(&self, at: &'a str, problem: Problem) {
        let _ = self.first.set(Fail { at, problem });
    }
}

/// A refused property value, ready to be shown to an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{property}: {problem} at column {column} in {}{}", Excerpt(value, *column), Hint(problem))]
pub struct PropertyError {
    pub property: String,
    pub value: String,
    pub column: usize,
    pub problem: Problem,
}

impl PropertyError {
    pub fn new(property: &str, value: &str, at: &str, problem: Problem) -> PropertyError {
        PropertyError {
            property: property.to_string(),
            value: value.to_string(),
            column: column(value, at),
            problem,
        }
    }
}

/// The 1-based column, in characters, of `at`, a suffix of `value`.
pub fn column(value: &str, at: &str) -> usize {
    let offset = value.len().saturating_sub(at.len());
    value
        .get(..offset)
        .map_or(1, |head| head.chars().count() + 1)
}

/// `; HINT` when the problem has one.
struct Hint<'a>(&'a Problem);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.hint() {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

/// A value quoted with escapes; a long one is cut around the column so the
/// message stays readable.
struct Excerpt<'a>(&'a str, usize);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const WINDOW: usize = 40;
        let Excerpt(value, column) = *self;
        let total = value.chars().count();
        if total <= 2 * WINDOW {
            return write!(f, "{}", quoted(value));
        }
        let start = column.saturating_sub(WINDOW);
        let shown: String = value.chars().skip(start).take(2 * WINDOW).collect();
        let before = if start > 0 { "..." } else { "" };
        let after = if start + 2 * WINDOW < total {
            "..."
        } else {
            ""
        };
        write!(f, "{before}{}{after}", quoted(&shown))
    }
}

/// Parses a whole value with `parser`, which must consume all of it,
/// refusing overlong values before any parsing.
pub fn parse_value<'a, T>(
    property: &str,
    value: &'a str,
    parser: impl FnOnce(&'a str, &Notes<'a>) -> PResult<'a, T>,
) -> Result<T, PropertyError> {
    if value.len() > MAX_VALUE_LEN {
        let problem = Problem::TooLong { len: value.len() };
        return Err(PropertyError::new(property, value, value, problem));
    }
    let notes = Notes::default();
    // `finish` cannot meet `Incomplete`: the grammars read a whole value
    // with nom's `complete` parsers, which never ask for more input.
    let parsed = parser(value, &notes).finish();
    let failure = match (parsed, notes.first.into_inner()) {
        (Ok((_, parsed)), None) => return Ok(parsed),
        (Ok(_), Some(fail)) | (Err(fail), _) => fail,
    };
    Err(PropertyError::new(
        property,
        value,
        failure.at,
        failure.problem,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_characters_not_bytes() {
        let value = "é#x";
        assert_eq!(column(value, &value[2..]), 2);
        assert_eq!(column(value, ""), 4);
    }

    #[test]
    fn message_is_one_line_even_with_control_characters() {
        let value = "0#1\n<x>\"'";
        let err = PropertyError::new("cputune", value, &value[3..], Problem::expected("','"));
        let text = err.to_string();
        assert_eq!(
            text,
            "cputune: expected ',' at column 4 in '0#1\\n<x>\\u{22}\\''"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn long_values_are_cut_around_the_column() {
        let value = format!("{}x{}", "0,".repeat(100), "1,".repeat(100));
        let at = &value[200..];
        let err = PropertyError::new("numatune", &value, at, Problem::expected("a node number"));
        let text = err.to_string();
        assert!(text.contains("at column 201 in ...'"), "{text}");
        assert!(text.contains("x1,"), "{text}");
        assert!(text.len() < 200, "{text}");
    }

    #[test]
    fn overlong_values_are_refused_before_parsing() {
        let value = "0".repeat(MAX_VALUE_LEN + 1);
        let err = parse_value("cputune", &value, |_, _| -> PResult<'_, ()> {
            unreachable!("the parser must not run")
        })
        .unwrap_err();
        assert_eq!(
            err.problem,
            Problem::TooLong {
                len: MAX_VALUE_LEN + 1
            }
        );
        assert_eq!(err.column, 1);
    }
}
