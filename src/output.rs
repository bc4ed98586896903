//! Where text goes. `println!` and `eprintln!` panic when their stream is
//! gone (`check | head`), which the top would report as an internal error;
//! a reader that stopped early is not a failure.

use std::io::Write;

use crate::cli::PROGRAM;

/// Prints to stdout; a closed pipe ends the output quietly.
pub fn out(text: &str) -> Result<(), std::io::Error> {
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
/// shows. Nothing can be done if stderr itself is gone, so that is ignored.
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{PROGRAM}: {line}");
}
