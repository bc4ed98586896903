//! What every command does with its arguments: lexopt reads them, each
//! command has one help text, and a wrong argument is said one way.

use std::ffi::OsString;

use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::output;
use crate::wording::quoted;
use crate::wording::PROGRAM;

/// A command line that `--help` may interrupt.
pub(crate) enum Parsed<T> {
    Run(T),
    Help,
}

/// Prints a command's help on stdout, as `--help` asks.
pub(crate) fn print_help(help: &str) -> Result<ExitCode, Error> {
    output::out(&format!("{}\n", help.trim_end()))?;
    Ok(ExitCode::Success)
}

/// A command line that does not parse. The dispatch adds where to read
/// the usage, the same way for every command.
pub(crate) fn usage(problem: impl Into<lexopt::Error>) -> Error {
    Error::Arguments(describe(&problem.into()))
}

/// A command line that does not parse, with the help that tells the
/// usage: the command's own (`command`), or with none the list of commands.
pub(crate) fn pointing_to_help(err: Error, command: Option<&str>) -> Error {
    let Error::Arguments(problem) = err else {
        return err;
    };
    Error::Arguments(match command {
        Some(command) => format!("{problem}; run '{PROGRAM} {command} --help' for its usage"),
        None => format!("{problem}; run '{PROGRAM} --help' for the commands"),
    })
}

/// lexopt's own wording, but quoted the program's way: lexopt quotes
/// values with Rust's `{:?}` (double quotes) and options with bare `'`.
pub(crate) fn describe(err: &lexopt::Error) -> String {
    use lexopt::Error::*;
    let lossy = |value: &OsString| value.to_string_lossy().into_owned();
    match err {
        MissingValue { option: None } => "missing argument".into(),
        MissingValue {
            option: Some(option),
        } => format!("missing argument for option {}", quoted(option)),
        UnexpectedOption(option) => format!("invalid option {}", quoted(option)),
        UnexpectedArgument(value) => format!("unexpected argument {}", quoted(&lossy(value))),
        UnexpectedValue { option, value } => format!(
            "unexpected argument for option {}: {}",
            quoted(option),
            quoted(&lossy(value))
        ),
        NonUnicodeValue(value) => not_utf8(value),
        ParsingFailed { value, error } => {
            format!("cannot parse argument {}: {error}", quoted(value))
        }
        Custom(error) => error.to_string(),
    }
}

fn not_utf8(value: &OsString) -> String {
    let value = value.to_string_lossy();
    format!("argument {} is not valid UTF-8", quoted(&value))
}

/// An argument as text: the values here are numbers, sets, names and
/// paths that VDSM and administrators write in UTF-8.
pub(crate) fn text(value: OsString) -> Result<String, lexopt::Error> {
    value
        .into_string()
        .map_err(|value| lexopt::Error::from(not_utf8(&value)))
}
