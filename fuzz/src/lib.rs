//! Checks the fuzz targets share: what a property may carry into the
//! domain XML, and how a refusal reads.

use std::fmt::{Debug, Display};

/// The pruned tree's oracle, shared with the tests.
#[path = "../../tests/it/support/agreement.rs"]
pub mod agreement;

/// Characters that would let a value become markup, or break the one-line
/// message or the quoted attribute it is written into.
pub fn is_dangerous(c: char) -> bool {
    matches!(c, '<' | '>' | '&' | '\'' | '"') || c.is_control() || c.is_whitespace()
}

/// The value as a grammar gets it: the hook refuses a non-UTF-8 variable
/// before any grammar runs, so only text is worth feeding them.
pub fn value(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// An accepted value holds no markup, and its canonical form parses back
/// to the same thing and is its own canonical form.
pub fn accepted<T, E>(value: &str, parsed: &T, parse: impl Fn(&str) -> Result<T, E>)
where
    T: Display + PartialEq + Debug,
    E: Debug,
{
    assert!(
        !value.chars().any(is_dangerous),
        "accepted a value with markup or control characters: {value:?}"
    );
    let canonical = parsed.to_string();
    assert!(!canonical.chars().any(is_dangerous), "{canonical:?}");
    let again = parse(&canonical)
        .unwrap_or_else(|err| panic!("canonical {canonical:?} of {value:?} refused: {err:?}"));
    assert_eq!(
        &again, parsed,
        "canonical {canonical:?} of {value:?} means something else"
    );
    assert_eq!(
        again.to_string(),
        canonical,
        "canonical form is not a fixed point"
    );
}

/// A refusal is one short line an administrator reads: ASCII with one kind
/// of quote (as the engine shows it), and a hostile value cannot make it long.
pub fn refused(message: &str) {
    assert!(
        vdsm_hook_largeguest::wording::is_clean_message(message),
        "message is not one clean line: {message:?}"
    );
    assert!(
        message.len() < 1024,
        "message is {} bytes long",
        message.len()
    );
}

/// The whole check of a grammar target: any text, no panic, and either an
/// accepted value that round-trips or a clean refusal.
pub fn grammar<T, E>(data: &[u8], parse: impl Fn(&str) -> Result<T, E>)
where
    T: Display + PartialEq + Debug,
    E: Display + Debug,
{
    let Some(value) = value(data) else {
        return;
    };
    match parse(value) {
        Ok(parsed) => accepted(value, &parsed, parse),
        Err(err) => refused(&err.to_string()),
    }
}
