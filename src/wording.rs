//! How messages say counts, sets and untrusted text, so that every refusal
//! reads right at any size and stays one short line.

use crate::cpuset::CpuSet;

/// `1 cell`, `2 cells`: a count in a message reads right at any size.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// `vCPU 3` or `vCPUs 2-5`: a set in a message reads right at any size.
pub struct Ids<'a>(pub &'static str, pub &'a CpuSet);

impl std::fmt::Display for Ids<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ids(noun, set) = *self;
        match set.len() {
            1 => write!(f, "{noun} {set}"),
            _ => write!(f, "{noun}s {set}"),
        }
    }
}

/// Cuts a long piece of a value that a message repeats, so a hostile
/// 64 KiB number cannot make a 64 KiB error line.
pub fn shorten(text: &str) -> String {
    const KEEP: usize = 24;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
