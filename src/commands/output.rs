//! Where text goes. `println!` and `eprintln!` panic when their stream is
//! gone (`check | head`), which the top would report as an internal error;
//! a reader that stopped early is not a failure.

use std::io::Write;

use crate::wording::{is_clean_message, message_line, PROGRAM};

/// Prints to stdout; a closed pipe ends the output quietly.
pub(crate) fn out(text: &str) -> Result<(), std::io::Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err),
        _ => Ok(()),
    }
}

/// One line on stderr, prefixed with the program name: what VDSM logs or
/// shows. It passes [`message_line`], so whatever went into it, the engine
/// gets one line of ASCII with one kind of quote. Nothing can be done if
/// stderr itself is gone, so that is ignored.
pub(crate) fn note(line: &str) {
    // Debug builds, which the tests run, stop on a message that needed the
    // guard; release builds print it guarded.
    debug_assert!(
        is_clean_message(line),
        "a message that is not one clean line of ASCII: {}",
        message_line(line)
    );
    // Unbuffered stderr would make each piece of the format its own write
    // (four a line); one write puts the line in VDSM's pipe whole.
    let line = format!("{PROGRAM}: {}\n", message_line(line));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A warning: one line, and the job goes on.
pub(crate) fn warn(warning: &impl std::fmt::Display) {
    note(&format!("warning: {warning}"));
}

/// Pretty JSON; the structs printed hold only numbers and strings, which
/// always serialize.
pub(crate) fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|err| format!("{{\"error\": {:?}}}", err.to_string()))
}
