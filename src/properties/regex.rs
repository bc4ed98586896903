//! The engine's side of each grammar: a regex that accepts exactly what the
//! parser accepts.
//!
//! The engine checks each value against its regex before a VM starts, so a
//! regex looser than the parser lets typos through to the hook, and a
//! stricter one refuses good values. They are built from the same pieces as
//! the grammar, in syntax that reads the same in Java and in Rust's `regex`
//! crate (`(?:)`, `[0-9]`, `|`, `?`, `*`, `+`, `^`, `$`, `\^`, and literal
//! digits, letters, `#`, `@`, `:`, `,`, `-`, `_`), plus the possessive `*+`,
//! which only Java has.
//!
//! Why possessive: java.util.regex matches a greedy `(?:X)*` whose X has no
//! fixed length by recursing once per repetition, and on a freshly started
//! engine (interpreted frames, 1 MiB thread stacks) fewer than 400 one-to-one
//! pins overflowed the stack: the administrator got an internal error
//! instead of a validation message. A possessive `(?:X)*+` matches one X
//! at a time in a loop, so the depth no longer grows with the value. It
//! never gives an iteration back, so each repeated group here is written
//! so that no match needs one back: then `*+` accepts exactly what `*`
//! does (`tests/engine-regex/run.sh` checks both forms agree, and the Rust
//! tests compile the `*` form).

/// `N` or `N-M`: a vCPU entry's head, or a host node range.
const RANGE: &str = "[0-9]+(?:-[0-9]+)?";

/// `^N`: an exclusion, a term that can never start an entry.
const EXCLUSION: &str = "\\^[0-9]+";

/// Zero or more of `item`, possessively.
fn repeated(item: &str) -> String {
    format!("(?:{item})*+")
}

/// One cpuset term: `N`, `N-M` or `^N`.
fn term() -> String {
    format!("(?:{RANGE}|{EXCLUSION})")
}

/// A whole cpuset or node set. The possessive loop may take every `,TERM`
/// it finds: wherever a set may end with a comma after it (the `,` form of
/// `cputune`), the set is read term by term instead.
fn set() -> String {
    let term = term();
    format!("{term}{}", repeated(&format!(",{term}")))
}

/// `VCPUS#SET` or, when `one_to_one`, also `VCPUS@SET:SET...`, entries
/// separated by `_`: a set there ends at `_`, `:` or the end.
fn by_underscore(one_to_one: bool) -> String {
    let set = set();
    let entry = match one_to_one {
        true => format!("{RANGE}(?:#{set}|@{set}{})", repeated(&format!(":{set}"))),
        false => format!("{RANGE}#{set}"),
    };
    format!("{entry}{}", repeated(&format!("_{entry}")))
}

/// `VCPUS#SET` entries separated by `,`, read term by term: an item after a
/// comma starts a new entry exactly when `#` follows its range, so no loop
/// has to give an iteration back.
fn by_comma_shared() -> String {
    let term = term();
    format!(
        "{RANGE}#{term}{}",
        repeated(&format!(",(?:{RANGE}#)?{term}"))
    )
}

/// The `,` form with one-to-one entries too, where `:` may start another
/// set only inside a `VCPUS@...` entry. Read as tokens, each followed by
/// its comma: an entry head (`VCPUS#TERM`, `VCPUS@TERM`) or a term of the
/// current set. A loop over the tokens of a `#` entry stops, without taking
/// anything, at a token that would need `@` (and the other way round), so
/// the value is a run of `#` blocks and `@` blocks that alternate, then its
/// last token, which has no comma after it. The three alternatives below
/// are the value with no block, ending in a `#` block, or in an `@` block.
fn by_comma_one_to_one() -> String {
    let term = term();
    let colons = repeated(&format!(":{term}"));
    // The tokens of a `#` block, and of an `@` block (terms may carry `:SET`).
    let hash_token = format!("(?:{EXCLUSION}|{RANGE}(?:#{term})?)");
    let at_token = format!("(?:{EXCLUSION}|{RANGE}(?:@{term}{colons})?){colons}");
    let hash_block = format!("{RANGE}#{term},{}", repeated(&format!("{hash_token},")));
    let at_block = format!(
        "{RANGE}@{term}{colons},{}",
        repeated(&format!("{at_token},"))
    );
    let pairs_ha = repeated(&format!("{hash_block}{at_block}"));
    let pairs_ah = repeated(&format!("{at_block}{hash_block}"));
    let last_in_hash = format!("(?:{EXCLUSION}|{RANGE}(?:#{term}|@{term}{colons})?)");
    let last_in_at = format!("(?:{RANGE}#{term}|{at_token})");
    let alone = format!("{RANGE}(?:#{term}|@{term}{colons})");
    format!(
        "{alone}|(?:{at_block})?{pairs_ha}{hash_block}{last_in_hash}|(?:{hash_block})?{pairs_ah}{at_block}{last_in_at}"
    )
}

/// `VCPUS#CPUSET` or `VCPUS@SET:SET...`, joined by `_` or by `,`.
pub fn cputune() -> String {
    format!("^(?:{}|{})$", by_underscore(true), by_comma_one_to_one())
}

pub fn emulatorpin() -> String {
    format!("^{}$", set())
}

/// `cputune`'s `#` entries and separators, with I/O thread ids in front.
pub fn iothreadpin() -> String {
    format!("^(?:{}|{})$", by_underscore(false), by_comma_shared())
}

pub fn pci_numa_affinity() -> String {
    "^(required|preferred)$".to_string()
}

pub fn numatune() -> String {
    format!(
        "^(?:(?:strict|interleave|preferred|restrictive)#)?(?:auto|{})$",
        set()
    )
}

pub fn guestnuma() -> String {
    let memory = "[0-9]+(?:KiB|MiB|GiB|TiB|K|M|G|T)?";
    let set = set();
    let wide = format!("{set}#{memory}(?:#{set})?");
    let narrow = format!("{set}#{memory}(?:#{RANGE})?");
    format!(
        "^(?:[0-9]+|{wide}{}|{narrow}{})$",
        repeated(&format!("_{wide}")),
        repeated(&format!(",{narrow}"))
    )
}

pub fn switch() -> String {
    "^(0|1|true|false)$".to_string()
}
