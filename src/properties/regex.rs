//! The engine's side of each grammar: a regex that accepts exactly what the
//! parser accepts.
//!
//! The engine checks each value against its regex twice, in two languages:
//! the VM dialog in the browser (JavaScript's `RegExp`, `test`) and the
//! backend (`java.util.regex`, `String.matches`). So the regexes keep to
//! what both read alike: `(?:)`, the lookaheads `(?=)` and `(?!)`, classes
//! of ASCII characters, `|`, `?`, `*`, `+` and the anchors. No possessive
//! quantifier, atomic group, lookbehind, named group or `\p{..}`: a regex
//! JavaScript cannot compile breaks the dialog for that property.
//!
//! Why the lookaheads: java.util.regex matches a repeated group whose
//! matches differ in length, such as `(?:,[0-9]+)*`, by recursing once per
//! repetition, and a freshly started engine (interpreted frames, 1 MiB
//! thread stacks) overflowed its stack on a few hundred list items: the
//! administrator got an internal error instead of a validation message. A
//! repetition of one character class, or of a group that always matches
//! one character, is a loop instead. So each list is read one character at
//! a time ([`scan`]), and a lookahead at the start of each item checks the
//! whole item and what may follow it. Inside a lookahead nothing repeats
//! but single character classes, so the depth never grows with the value.
//! `tests/engine-regex/run.sh` measures that on a fresh JVM, and runs every
//! regex in Java and in JavaScript over the project's test values.

/// `N` or `N-M`: a vCPU entry's head, or a host node range.
const RANGE: &str = "[0-9]+(?:-[0-9]+)?";

/// One cpuset term: `N`, `N-M` or `^N`.
const TERM: &str = "(?:[0-9]+(?:-[0-9]+)?|\\^[0-9]+)";

/// Memory of a guest cell: KiB, or a number with a binary unit.
const MEMORY: &str = "[0-9]+(?:KiB|MiB|GiB|TiB|K|M|G|T)?";

/// The characters of a set, for lookaheads that skip over one.
const SET_CHARS: &str = "[0-9,^-]*";

/// Followed by one of `chars` or by the end: `(?![^...])` says it without
/// `$`, which Java also lets match before a final line break.
fn then(chars: &str) -> String {
    format!("(?![^{chars}])")
}

/// A list read one character at a time: `first` must hold at the start,
/// and each separator of `guards` (`(separator, item)`) must be followed by
/// an item that `item` describes, up to what may follow it. Every other
/// character is consumed unchecked: it lies inside an item that its
/// lookahead has already read. The repeated group always matches exactly
/// one character, which java.util.regex repeats in a loop.
fn scan(alphabet: &str, first: &str, guards: &[(&str, String)]) -> String {
    let separators: String = guards.iter().map(|(separator, _)| *separator).collect();
    let items: Vec<String> = guards
        .iter()
        .map(|(separator, item)| format!("{separator}{item}"))
        .collect();
    format!(
        "(?={first})(?:(?=[^{separators}]|{})[{alphabet}])*",
        items.join("|")
    )
}

/// A whole cpuset or node set: terms separated by `,`, then the end.
fn set() -> String {
    let term = format!("{TERM}{}", then(","));
    scan("0-9,^-", &term, &[(",", term.clone())])
}

/// `VCPUS#SET` or `VCPUS@SET:SET...` entries separated by `_`, read as the
/// items between `,`, `:` and `_`. A `#` entry has no `:` before its `_`.
fn cputune_by_underscore() -> String {
    let end = then(",:_");
    let head = format!("{RANGE}(?:#(?![^#@_]*:)|@){TERM}{end}");
    scan(
        "0-9#@:,_^-",
        &head,
        &[
            (",", format!("{TERM}{end}")),
            (":", format!("{TERM}{end}")),
            ("_", head.clone()),
        ],
    )
}

/// The same entries separated by `,`: an item after a comma that starts
/// with `VCPUS#` or `VCPUS@` starts a new entry, any other belongs to the
/// set before it; `:` may follow a term only where the last entry head was
/// an `@`.
fn cputune_by_comma() -> String {
    let end = then(",:");
    let head = format!("{RANGE}(?:#(?![^#@]*:)|@){TERM}{end}");
    scan(
        "0-9#@:,^-",
        &head,
        &[
            (",", format!("(?:{head}|{TERM}{end})")),
            (":", format!("{TERM}{end}")),
        ],
    )
}

/// `VCPUS#CPUSET` or `VCPUS@SET:SET...`, joined by `_` or by `,`.
pub(crate) fn cputune() -> String {
    format!("^(?:{}|{})$", cputune_by_underscore(), cputune_by_comma())
}

pub(crate) fn emulatorpin() -> String {
    format!("^{}$", set())
}

/// `cputune`'s `#` entries and separators, with I/O thread ids in front.
pub(crate) fn iothreadpin() -> String {
    let end = then(",_");
    let head = format!("{RANGE}#{TERM}{end}");
    let by_underscore = scan(
        "0-9#,_^-",
        &head,
        &[(",", format!("{TERM}{end}")), ("_", head.clone())],
    );
    let end = then(",");
    let by_comma = scan(
        "0-9#,^-",
        &format!("{RANGE}#{TERM}{end}"),
        &[(",", format!("(?:{RANGE}#)?{TERM}{end}"))],
    );
    format!("^(?:{by_underscore}|{by_comma})$")
}

pub(crate) fn pci_numa_affinity() -> String {
    "^(required|preferred)$".to_string()
}

pub(crate) fn numatune() -> String {
    format!(
        "^(?:(?:strict|interleave|preferred|restrictive)#)?(?:auto|{})$",
        set()
    )
}

/// A count of cells, or cells `CPUS#MEMORY[#NODES]` separated by `_`
/// (where NODES is a set) or by `,` (where NODES is one range).
pub(crate) fn guestnuma() -> String {
    // By `_`: each cell is checked whole where it starts, its sets' first
    // terms included; the terms after a comma where the comma is.
    let nodes = format!("#{TERM}{}{SET_CHARS}", then(",_"));
    let cell = format!(
        "{TERM}{}{SET_CHARS}#{MEMORY}(?:{nodes})?{}",
        then(",#"),
        then("_")
    );
    let by_underscore = scan(
        "0-9,_#^KMGTiB-",
        &cell,
        &[(",", format!("{TERM}{}", then(",#_"))), ("_", cell.clone())],
    );
    // By `,`: every item is a term of a cell's CPUs followed by a comma, or
    // the cell's last CPU term with its memory and node range.
    let item = format!("{TERM}(?:,|#{MEMORY}(?:#{RANGE})?{})", then(","));
    let by_comma = scan("0-9,#^KMGTiB-", &item, &[(",", item.clone())]);
    format!("^(?:[0-9]+|{by_underscore}|{by_comma})$")
}

pub(crate) fn switch() -> String {
    "^(0|1|true|false)$".to_string()
}
