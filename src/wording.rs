//! How messages say counts, sets and untrusted text, so that every refusal
//! reads right at any size and stays one short line.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

use crate::cpuset::CpuSet;

/// The name every message starts with, as VDSM logs it.
pub const PROGRAM: &str = "vdsm-hook-largeguest";

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

/// How every message quotes: single quotes around untrusted text, never a
/// double quote, ASCII only. VDSM hands the engine a failed hook's stderr
/// as Python's bytes repr (`Hook Error: (b'...',)`), which escapes every
/// non-ASCII byte, and escapes `'` as `\'` as soon as the text also holds
/// `"`; a message with one kind of quote and plain ASCII reads there as
/// it reads in `vdsm.log`. English apostrophes (`the VM's`) are the same
/// character as the quotes, which is why single quotes won.
pub struct Untrusted<'a> {
    text: Cow<'a, str>,
    quoted: bool,
}

/// Untrusted text in single quotes, escaped so that it stays one line of
/// ASCII with no double quote, and its own `'` cannot end the quoting.
pub fn quoted(text: &str) -> Untrusted<'_> {
    Untrusted {
        text: Cow::Borrowed(text),
        quoted: true,
    }
}

/// A path in single quotes, escaped the same way.
pub fn quoted_path(path: &Path) -> Untrusted<'_> {
    Untrusted {
        text: path.to_string_lossy(),
        quoted: true,
    }
}

/// A path shown bare, where the sentence makes clear where it ends
/// (`cannot read PATH: reason`), escaped like quoted text.
pub fn bare_path(path: &Path) -> Untrusted<'_> {
    Untrusted {
        text: path.to_string_lossy(),
        quoted: false,
    }
}

/// Text shown bare, escaped like quoted text but for its `'`, which is
/// allowed in a message: a library's message that quotes with `'` itself.
pub fn bare(text: &str) -> Untrusted<'_> {
    Untrusted {
        text: Cow::Borrowed(text),
        quoted: false,
    }
}

impl std::fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.quoted {
            f.write_char('\'')?;
        }
        for c in self.text.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\'' if self.quoted => f.write_str("\\'")?,
                _ => write_ascii(f, c)?,
            }
        }
        if self.quoted {
            f.write_char('\'')?;
        }
        Ok(())
    }
}

/// Printable ASCII as is, but `"`; `\n`, `\r`, `\t` as such; the rest as
/// `\u{HEX}`, the way Rust writes an escaped character.
fn write_ascii(f: &mut impl std::fmt::Write, c: char) -> std::fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        ' '..='~' if c != '"' => f.write_char(c),
        _ => write!(f, "\\u{{{:x}}}", c as u32),
    }
}

/// The last guard before stderr: one line of ASCII without a double
/// quote, whatever a message was built from. Every message is already so
/// (the tests check them before this guard), so it changes nothing but a
/// bug's output.
pub fn message_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        // Writing to a String cannot fail.
        let _ = write_ascii(&mut line, c);
    }
    line
}

/// True for a line VDSM shows the engine as it is: printable ASCII, and
/// not both kinds of quote (in fact never a double quote).
pub fn is_clean_message(line: &str) -> bool {
    line.bytes().all(|b| (b' '..=b'~').contains(&b)) && !line.contains('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_escapes_what_would_mix_quotes_or_leave_ascii() {
        let shown = quoted("it's \"x\"\\\n\u{1b}é").to_string();
        assert_eq!(shown, r"'it\'s \u{22}x\u{22}\\\n\u{1b}\u{e9}'");
        assert!(is_clean_message(&shown));
        assert_eq!(quoted("0#1-").to_string(), "'0#1-'");
    }

    #[test]
    fn bare_text_keeps_its_apostrophes() {
        assert_eq!(
            bare("expected 'x' not '\"'").to_string(),
            r"expected 'x' not '\u{22}'"
        );
        let path = Path::new("/tmp/a\"b/c'd");
        assert_eq!(bare_path(path).to_string(), r"/tmp/a\u{22}b/c'd");
        assert_eq!(quoted_path(path).to_string(), r"'/tmp/a\u{22}b/c\'d'");
    }

    #[test]
    fn the_last_guard_makes_any_text_a_clean_line() {
        let line = message_line("a \"b\" c\nd\té");
        assert_eq!(line, r"a \u{22}b\u{22} c\nd\t\u{e9}");
        assert!(is_clean_message(&line));
        // A clean message goes through unchanged.
        let clean = r"cputune: expected ',' at column 4 in '0#1\n'";
        assert_eq!(message_line(clean), clean);
    }
}
