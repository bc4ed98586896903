//! The cpuset grammar every property shares, in libvirt's strict form.
//!
//! Terms `N`, `N-M` and `^N` separated by `,`, ids 0..=16383. The parser is
//! stricter than libvirt where libvirt would quietly do something the
//! administrator did not mean: an exclusion that removes nothing (`^2,0-3`
//! keeps 2 in libvirt) is refused, as are reversed ranges and empty sets.

use std::cell::RefCell;

use nom::branch::alt;
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{cond, map, not, opt, recognize};
use nom::multi::{many0_count, separated_list1};
use nom::sequence::{preceded, terminated};
use nom::Parser;

use crate::cpuset::CpuSet;
use crate::properties::problem::{
    end, expect, located, parse_value, Fail, Notes, Noun, PResult, Problem,
};
use crate::wording::shorten;

/// Where a set ends in the surrounding property text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetEnd {
    /// Every `,` continues the set.
    AtAnyOtherCharacter,
    /// A `,` followed by `N#`, `N-M#`, `N@` or `N-M@` starts the next
    /// cputune entry.
    BeforeNextEntry,
}

// entries := entry (SEP entry)* EOF
//   SEP is "_" when the value holds one, else "," (and then a comma that
//   starts the next entry ends the set before it); each entry goes to `add`
//   as soon as it is read, with where it starts, so that it is checked
//   against those before it in the order an administrator reads them
pub fn entries<'a, O, E>(
    input: &'a str,
    entry: impl FnOnce(SetEnd) -> E,
    mut add: impl FnMut(&'a str, O),
) -> PResult<'a, ()>
where
    E: Parser<&'a str, Output = O, Error = Fail<'a>>,
{
    let (separator, set_end) = match input.contains('_') {
        true => ('_', SetEnd::AtAnyOtherCharacter),
        false => (',', SetEnd::BeforeNextEntry),
    };
    let each = map(located(entry(set_end)), |(at, output)| add(at, output));
    let all = separated_list1(char(separator), each);
    let (rest, _) = terminated(all, end(&format!("'{separator}'"))).parse(input)?;
    Ok((rest, ()))
}

// set := term (comma term)*
//   a set that ends up empty is noted. Where no set starts it fails softly,
//   and the caller says what it expected there, most often `expected_set`.
pub fn set<'a, 'n>(
    noun: Noun,
    end: SetEnd,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = CpuSet, Error = Fail<'a>> + 'n {
    move |input: &'a str| {
        let ids = RefCell::new(CpuSet::new());
        let next = expect(term(noun, &ids, notes), move || {
            format!("a {noun} number or '^' after ','")
        });
        let terms = (
            term(noun, &ids, notes),
            many0_count(preceded(comma(end), next)),
        );
        let (rest, text) = recognize(terms).parse(input)?;
        let ids = ids.into_inner();
        if ids.is_empty() {
            let set = text.to_string();
            notes.note(input, Problem::EmptySet { noun, set });
        }
        Ok((rest, ids))
    }
}

/// What a set that cannot start was expected to be.
pub fn expected_set(noun: Noun) -> impl Fn() -> String {
    move || format!("a {noun} number or '^'")
}

// comma := ","
//   not before an entry head when the set ends before the next entry
fn comma<'a>(end: SetEnd) -> impl Parser<&'a str, Output = char, Error = Fail<'a>> {
    let before_entry = end == SetEnd::BeforeNextEntry;
    terminated(char(','), cond(before_entry, not(entry_head())))
}

// entry_head := digit+ ("-" digit+)? ("#" | "@")
//   the start of a cputune entry
fn entry_head<'a>() -> impl Parser<&'a str, Output = &'a str, Error = Fail<'a>> {
    recognize((digit1, opt((char('-'), digit1)), one_of("#@")))
}

// term := exclusion | range
//   each term adds to or cuts from the ids so far
fn term<'a, 'n>(
    noun: Noun,
    ids: &'n RefCell<CpuSet>,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = (), Error = Fail<'a>> + 'n {
    let add = move |(lo, hi)| ids.borrow_mut().insert_range(lo, hi);
    alt((exclusion(noun, ids, notes), map(range(noun, notes), add)))
}

// exclusion := "^" id
//   not followed by "-"; an id missing from the ids so far is noted
fn exclusion<'a, 'n>(
    noun: Noun,
    ids: &'n RefCell<CpuSet>,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = (), Error = Fail<'a>> + 'n {
    let excluded = expect(id(noun, notes), move || {
        format!("a {noun} number after '^'")
    });
    let single = expect(not(char('-')), || {
        "',' after the excluded id ('^' takes a single number, not a range)"
    });
    let remove = move |(at, id)| {
        if !ids.borrow_mut().remove(id) {
            notes.note(at, Problem::RemovesNothing { noun, id });
        }
    };
    map(
        located(preceded(char('^'), terminated(excluded, single))),
        remove,
    )
}

// range := id ("-" id)?
//   a reversed range is noted, and read low to high
pub fn range<'a, 'n>(
    noun: Noun,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = (u32, u32), Error = Fail<'a>> + 'n {
    let hi = expect(id(noun, notes), move || {
        format!("a {noun} number after '-'")
    });
    let ordered = move |(at, (lo, hi)): (&'a str, (u32, Option<u32>))| {
        let hi = hi.unwrap_or(lo);
        if hi < lo {
            notes.note(at, Problem::Reversed { lo, hi });
        }
        (lo.min(hi), lo.max(hi))
    };
    map(
        located((id(noun, notes), opt(preceded(char('-'), hi)))),
        ordered,
    )
}

// id := digit+
//   ASCII digits only; one above 16383 is noted and read as 16383, so that
//   the rest of the value is still checked
fn id<'a, 'n>(
    noun: Noun,
    notes: &'n Notes<'a>,
) -> impl Parser<&'a str, Output = u32, Error = Fail<'a>> + 'n {
    let checked = move |(at, digits): (&'a str, &'a str)| match digits.parse::<u32>() {
        Ok(id) if id <= noun.max_id() => id,
        _ => {
            let id = shorten(digits);
            notes.note(at, Problem::IdTooLarge { noun, id });
            noun.max_id()
        }
    };
    map(located(digit1), checked)
}

// list := set EOF
//   a cpuset alone, as libvirt and the kernel write it
pub fn list<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, CpuSet> {
    let set = set(Noun::Cpu, SetEnd::AtAnyOtherCharacter, notes);
    terminated(expect(set, expected_set(Noun::Cpu)), end("','")).parse(input)
}

/// Where a list stops being a list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at column {column}")]
pub struct ListError {
    pub column: usize,
    pub problem: Problem,
}

/// The list syntax libvirt writes in the domain XML and the kernel in sysfs
/// (`0-3,8-11`, with an optional final newline; empty for no ids): one
/// parser for every set the hook reads back, the same the properties use.
impl std::str::FromStr for CpuSet {
    type Err = ListError;

    fn from_str(text: &str) -> Result<CpuSet, ListError> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty() {
            return Ok(CpuSet::new());
        }
        parse_value("list", text, list).map_err(|err| ListError {
            column: err.column,
            problem: err.problem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(text: &str) -> Option<usize> {
        text.parse::<CpuSet>().err().map(|err| err.column)
    }

    #[test]
    fn kernel_lists_parse_with_or_without_newline() {
        let parsed = |text: &str| text.parse::<CpuSet>().unwrap().to_string();
        assert_eq!(parsed("0-3,8-11\n"), "0-3,8-11");
        assert_eq!(parsed("5"), "5");
        assert_eq!(parsed("0-3,^2"), "0-1,3");
        assert_eq!(parsed("\n"), "");
        assert_eq!(parsed(""), "");
    }

    #[test]
    fn garbage_gives_a_column_not_the_text() {
        assert_eq!(column("0-3,x\n"), Some(5));
        assert_eq!(column("root:x:0:0\n"), Some(1));
        assert_eq!(column("0-3\n\n"), Some(4));
    }
}
