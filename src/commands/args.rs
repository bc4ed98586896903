//! What every command does with its arguments: lexopt reads them, each
//! command has one help text, and a wrong argument is said one way.

use std::ffi::OsString;

use crate::commands::error::Error;
use crate::exit_codes::ExitCode;
use crate::output::{self, PROGRAM};

/// A command line that `--help` may interrupt.
pub enum Parsed<T> {
    Run(T),
    Help,
}

/// Prints a command's help on stdout, as `--help` asks.
pub fn print_help(help: &str) -> Result<ExitCode, Error> {
    output::out(&format!("{}\n", help.trim_end()))?;
    Ok(ExitCode::Success)
}

/// A usage error, pointing at the help.
pub fn usage(problem: impl std::fmt::Display) -> Error {
    Error::Usage(format!(
        "{problem}; run '{PROGRAM} --help' for the commands"
    ))
}

/// An argument as text: the values here are numbers, sets, names and
/// paths that VDSM and administrators write in UTF-8.
pub fn text(value: OsString) -> Result<String, lexopt::Error> {
    value
        .into_string()
        .map_err(|value| lexopt::Error::from(format!("argument {value:?} is not valid UTF-8")))
}
