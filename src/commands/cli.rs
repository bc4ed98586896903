//! The command line: which job to run, from `argv[0]` (as VDSM runs a hook
//! entry) or from a subcommand (as an administrator runs it). Only
//! dispatch lives here; each command reads its own arguments.

use std::ffi::OsString;
use std::panic;
use std::path::Path;

use lexopt::{Arg, Parser};

use crate::commands::args::{pointing_to_help, print_help, text, usage};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::hook::{self, HookJob};
use crate::commands::{output, table};
use crate::wording::{quoted, PROGRAM};

/// The top help; the commands' lines come from the command table.
fn help() -> String {
    format!(
        "usage: {PROGRAM} COMMAND [ARGS]\n\n{}\n\
         '{PROGRAM} COMMAND --help' describes one command.\n\n\
         Installed as a VDSM hook entry (NN_largeguest, NN_largeguest_validate,\n\
         NN_largeguest_nic, NN_largeguest_ksm), the job is chosen by the entry's name.",
        table::listing()
    )
}

/// Runs the command and turns every failure, a panic included, into a
/// one-line message and exit 2, so VDSM never starts a VM on a half-done job.
pub fn main(args: Vec<OsString>) -> ExitCode {
    // The default hook prints a multi-line report; the one line below replaces it.
    panic::set_hook(Box::new(|_| {}));
    match guarded(|| run(args)) {
        Ok(code) => code,
        Err(err) => {
            output::note(&err.to_string());
            ExitCode::Refused
        }
    }
}

/// A job's result, with a panic turned into an internal error.
fn guarded(job: impl FnOnce() -> Result<ExitCode, Error>) -> Result<ExitCode, Error> {
    panic::catch_unwind(panic::AssertUnwindSafe(job))
        .unwrap_or_else(|payload| Err(Error::Internal(panic_message(payload.as_ref()))))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unexpected panic".to_string()
    }
}

fn run(args: Vec<OsString>) -> Result<ExitCode, Error> {
    let mut args = args.into_iter();
    let argv0 = args.next().unwrap_or_default();
    if let Some(job) = HookJob::from_entry_name(Path::new(&argv0)) {
        return hook::run(job);
    }
    let mut parser = Parser::from_args(args);
    let name = match parser.next().map_err(usage) {
        Ok(Some(Arg::Value(name))) => text(name).map_err(usage),
        Ok(Some(Arg::Long("help") | Arg::Short('h'))) => return print_help(&help()),
        Ok(Some(Arg::Long("version") | Arg::Short('V'))) => {
            output::out(&format!("{PROGRAM} {}\n", env!("CARGO_PKG_VERSION")))?;
            return Ok(ExitCode::Success);
        }
        Ok(Some(other)) => Err(usage(other.unexpected())),
        Ok(None) => Err(usage("a command is required")),
        Err(err) => Err(err),
    }
    .map_err(|err| pointing_to_help(err, None))?;
    if name == "help" {
        return print_help(&help());
    }
    let Some(command) = table::find(&name) else {
        let err = usage(format!("unknown command {}", quoted(&name)));
        return Err(pointing_to_help(err, None));
    };
    let own_help = command.is_listed().then_some(command.name);
    (command.run)(&mut parser).map_err(|err| pointing_to_help(err, own_help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_that_refuses() {
        let err = guarded(|| panic!("index out of bounds")).unwrap_err();
        assert!(matches!(err, Error::Internal(_)));
        assert_eq!(
            err.to_string(),
            "internal error: index out of bounds; the domain XML was left unchanged, please report this"
        );
        let formatted = guarded(|| panic!("cell {} missing", 3)).unwrap_err();
        assert!(formatted
            .to_string()
            .starts_with("internal error: cell 3 missing;"));
        assert_eq!(
            guarded(|| Ok(ExitCode::Success)).unwrap(),
            ExitCode::Success
        );
    }
}
