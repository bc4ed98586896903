//! `ksm_merge_across_nodes`: a switch, `0`/`1` as sysfs writes it or
//! `false`/`true` as the engine's boolean fields do.

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::combinator::{all_consuming, value};
use nom::Parser;

use crate::properties::problem::{expect, parse_value, Notes, PResult, PropertyError};

/// The one reading of `0|1|true|false`, for the property, `ksm set` and the
/// privileged `ksm-switch` alike.
pub fn parse(property: &str, text: &str) -> Result<bool, PropertyError> {
    parse_value(property, text, switch)
}

// switch := ("1" | "true" | "0" | "false") EOF
// A switch has no parts to point into, so any misfit is refused as a whole.
fn switch<'a>(input: &'a str, _: &Notes<'a>) -> PResult<'a, bool> {
    let on = value(true, alt((tag("true"), tag("1"))));
    let off = value(false, alt((tag("false"), tag("0"))));
    expect(all_consuming(alt((on, off))), || ALLOWED).parse(input)
}

const ALLOWED: &str =
    "0 (keep merged pages on their own NUMA node), 1 (merge across nodes), true or false";

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(text: &str) -> Result<bool, PropertyError> {
        parse("ksm_merge_across_nodes", text)
    }

    #[test]
    fn the_four_spellings_and_nothing_else() {
        assert!(switch("1").unwrap());
        assert!(switch("true").unwrap());
        assert!(!switch("0").unwrap());
        assert!(!switch("false").unwrap());
        for bad in ["", "2", "TRUE", " 1", "yes", "0\n", "10", "truex"] {
            let err = switch(bad).unwrap_err();
            assert_eq!(err.column, 1, "{err}");
            let quoted = crate::wording::quoted(bad).to_string();
            assert!(err.to_string().contains(&quoted), "{err}");
        }
        let err = switch(&"1".repeat(70_000)).unwrap_err().to_string();
        assert!(err.len() < 300, "a huge value made a huge message: {err}");
    }
}
