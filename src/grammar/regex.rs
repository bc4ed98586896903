//! The engine's side of each grammar: a regex that accepts exactly what the
//! parser accepts.
//!
//! The engine checks each value against its regex before a VM starts, so a
//! regex looser than the parser lets typos through to the hook, and a
//! stricter one refuses good values. They are built from the same pieces as
//! the grammar, in syntax that reads the same in Java and in Rust's `regex`
//! crate (`(?:)`, `[0-9]`, `|`, `?`, `*`, `+`, `^`, `$`, `\^`), plus the
//! possessive `*+`, which only Java has.
//!
//! Why possessive: java.util.regex matches a greedy `(?:X)*` whose X has no
//! fixed length by recursing once per repetition, and on a freshly started
//! engine (interpreted frames, 1 MiB thread stacks) about 480 one-to-one
//! pins overflowed the stack: the administrator got an internal error
//! instead of a validation message. A possessive `(?:X)*+` matches one X
//! at a time in a loop, so the depth no longer grows with the value. It
//! never gives an iteration back, so each repeated group here is written
//! so that no match needs one back: then `*+` accepts exactly what `*`
//! does (`tests/engine-regex/run.sh` checks both forms agree, and the Rust
//! tests compile the `*` form).

/// `N` or `N-M`: a vCPU entry's head, or a host node range.
const RANGE: &str = "[0-9]+(?:-[0-9]+)?";

/// Zero or more of `item`, possessively.
fn repeated(item: &str) -> String {
    format!("(?:{item})*+")
}

/// One cpuset term: `N`, `N-M` or `^N`.
fn term() -> String {
    format!("(?:{RANGE}|\\^[0-9]+)")
}

/// A whole cpuset or node set. The possessive loop may take every `,TERM`
/// it finds: whatever follows a set in these grammars starts with `#`,
/// `_` or the end, never with a comma and a term.
fn set() -> String {
    let term = term();
    format!("{term}{}", repeated(&format!(",{term}")))
}

/// The `_`-separated form: `VCPUS#CPUSET` entries, whose cpusets may hold
/// commas.
fn cputune_by_underscore() -> String {
    let entry = format!("{RANGE}#{}", set());
    format!("{entry}{}", repeated(&format!("_{entry}")))
}

/// The `,`-separated form, `ENTRY(,ENTRY)*` with `ENTRY = VCPUS#SET`, read
/// term by term: an item after a comma starts a new entry exactly when
/// `#` follows its range, so no loop has to give an iteration back.
fn cputune_by_comma() -> String {
    let term = term();
    format!(
        "{RANGE}#{term}{}",
        repeated(&format!(",(?:{RANGE}#)?{term}"))
    )
}

pub fn cputune() -> String {
    format!("^(?:{}|{})$", cputune_by_underscore(), cputune_by_comma())
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
