//! The engine's side of each grammar: a regex that accepts exactly what the
//! parser accepts.
//!
//! The engine checks each value against its regex before a VM starts, so a
//! regex looser than the parser lets typos through to the hook, and a
//! stricter one refuses good values. They are built from the same pieces as
//! the grammar and use only syntax that reads the same in Java and in Rust's
//! `regex` crate: `(?:)`, `[0-9]`, `|`, `?`, `*`, `+`, `^`, `$`, `\^`, and
//! literal digits, letters, `#`, `@`, `:`, `,`, `-`, `_`.

/// `N` or `N-M`: a vCPU entry's head, or a host node range.
const RANGE: &str = "[0-9]+(?:-[0-9]+)?";

/// One cpuset term: `N`, `N-M` or `^N`.
fn term() -> String {
    format!("(?:{RANGE}|\\^[0-9]+)")
}

/// A whole cpuset or node set.
fn set() -> String {
    let term = term();
    format!("{term}(?:,{term})*")
}

/// `VCPUS#CPUSET` or `VCPUS@SET:SET...`.
pub fn cputune() -> String {
    let set = set();
    let entry = format!("{RANGE}(?:#{set}|@{set}(?::{set})*)");
    format!("^(?:{entry}(?:_{entry})*|{entry}(?:,{entry})*)$")
}

pub fn emulatorpin() -> String {
    format!("^{}$", set())
}

/// `cputune`'s entry syntax and separators, with I/O thread ids in front.
pub fn iothreadpin() -> String {
    let entry = format!("{RANGE}#{}", set());
    format!("^(?:{entry}(?:_{entry})*|{entry}(?:,{entry})*)$")
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
    format!("^(?:[0-9]+|{wide}(?:_{wide})*|{narrow}(?:,{narrow})*)$")
}

pub fn switch() -> String {
    "^(0|1|true|false)$".to_string()
}
