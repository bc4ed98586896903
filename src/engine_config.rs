//! The engine side: the `engine-config` command that declares the custom
//! properties, with regexes that accept exactly what the parsers accept.
//!
//! The engine checks each value against its regex before a VM starts, so a
//! regex looser than the parser lets typos through to the hook, and a
//! stricter one refuses good values. They are built from the same pieces as
//! the grammar and use only syntax that reads the same in Java and in Rust's
//! `regex` crate: `(?:)`, `[0-9]`, `|`, `?`, `*`, `+`, `^`, `$`, `\^`.

use crate::error::Error;

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

pub fn cputune_regex() -> String {
    let entry = format!("{RANGE}#{}", set());
    format!("^(?:{entry}(?:_{entry})*|{entry}(?:,{entry})*)$")
}

pub fn numatune_regex() -> String {
    format!(
        "^(?:(?:strict|interleave|preferred|restrictive)#)?(?:auto|{})$",
        set()
    )
}

pub fn guestnuma_regex() -> String {
    let memory = "[0-9]+(?:KiB|MiB|GiB|TiB|K|M|G|T)?";
    let set = set();
    let wide = format!("{set}#{memory}(?:#{set})?");
    let narrow = format!("{set}#{memory}(?:#{RANGE})?");
    format!("^(?:[0-9]+|{wide}(?:_{wide})*|{narrow}(?:,{narrow})*)$")
}

pub const KSM_REGEX: &str = "^(0|1|true|false)$";

/// Every property the project reads, with its regex, in declaration order.
pub fn properties() -> Vec<(&'static str, String)> {
    vec![
        (crate::cputune::PROPERTY, cputune_regex()),
        (crate::numatune::PROPERTY, numatune_regex()),
        (crate::guestnuma::PROPERTY, guestnuma_regex()),
        ("ksm_merge_across_nodes", KSM_REGEX.to_string()),
    ]
}

/// The cluster level used when none is given: the newest oVirt 4.5 offers.
pub const DEFAULT_CLUSTER_LEVEL: &str = "4.7";

/// The command to run on the engine for one cluster level.
pub fn command(cluster_level: &str) -> Result<String, Error> {
    let well_formed = cluster_level
        .split_once('.')
        .is_some_and(|(major, minor)| is_number(major) && is_number(minor));
    if !well_formed {
        return Err(Error::Usage(format!(
            "cluster level {cluster_level:?} is not of the form X.Y, e.g. {DEFAULT_CLUSTER_LEVEL}"
        )));
    }
    let declarations: Vec<String> = properties()
        .into_iter()
        .map(|(name, regex)| format!("{name}={regex}"))
        .collect();
    Ok(format!(
        "engine-config -s UserDefinedVMProperties='{}' --cver={cluster_level}",
        declarations.join(";")
    ))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// What `engine-config` prints: a shell snippet, comments first.
pub fn run(args: &[String]) -> Result<String, Error> {
    let level = match args {
        [] => DEFAULT_CLUSTER_LEVEL,
        [flag, level] if flag == "--cver" => level,
        [flag] if flag.starts_with("--cver=") => &flag["--cver=".len()..],
        _ => return Err(Error::Usage("usage: engine-config [--cver X.Y]".into())),
    };
    Ok(format!(
        "# Run on the engine once per cluster level, then: systemctl restart ovirt-engine\n\
         # This replaces UserDefinedVMProperties; if it already declares other properties,\n\
         # see them with 'engine-config -g UserDefinedVMProperties' and append them after a ';'.\n\
         {}",
        command(level)?
    ))
}
