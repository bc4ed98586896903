//! The cpuset grammar every property shares, in libvirt's strict form.
//!
//! Terms `N`, `N-M` and `^N` separated by `,`, ids 0..=16383. The parser is
//! stricter than libvirt where libvirt would quietly do something the
//! administrator did not mean: an exclusion that removes nothing (`^2,0-3`
//! keeps 2 in libvirt) is refused, as are reversed ranges and empty sets.

use nom::character::complete::digit1;

use crate::cpuset::{CpuSet, MAX_ID};
use crate::grammar::problem::{end, fail, parse_value, Notes, Noun, PResult, Problem};
use crate::wording::shorten;

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
        parse_value("list", text, |input, notes| {
            let (rest, set) = set(input, Noun::Cpu, SetEnd::AtAnyOtherCharacter, notes)?;
            end(rest, "','")?;
            Ok((rest, set))
        })
        .map_err(|err| ListError {
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
