//! The command line: which job to run, from argv[0] (as VDSM runs a hook
//! entry) or from a subcommand (as an administrator runs it). Only
//! dispatch lives here; each command reads its own arguments.

use std::ffi::OsString;
use std::panic;
use std::path::Path;

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::hook::{self, HookJob};
use crate::commands::output;
use crate::commands::{apply, check, engine_config, ksm, prepare, suggest, topology, verify};
use crate::wording::{quoted, PROGRAM};

const HELP: &str = "\
usage: vdsm-hook-largeguest COMMAND [ARGS]

  check [NAME=VALUE...]        check property values, print them in canonical form
  engine-config [--cver X.Y]   print the engine-config command declaring the properties
  apply --domxml FILE [NAME=VALUE...] [--dry-run] [--diff]
                               rewrite a domain XML as the hook would
  hook before_vm_start|before_vm_migrate_destination|ksm
                               run a hook job as VDSM would (environment and _hook_domxml)
  ksm status                   show the host's KSM counters
  ksm set 0|1 [--timeout S]    switch merge_across_nodes safely
  topology [--json]            show the host's NUMA topology
  suggest --vcpus N --memory SIZE [...]
                               propose cputune, numatune and guestnuma values
  verify DOMAIN [--json]       check a running guest against what it asked for
  prepare PLAN.json... [--write ROOT | --check]
                               the host configuration the planned guests need

'vdsm-hook-largeguest COMMAND --help' describes one command.

Installed as a VDSM hook entry (NN_largeguest, NN_largeguest_validate,
NN_largeguest_ksm), the job is chosen by the entry's name.";

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
    let command = match parser.next().map_err(usage)? {
        Some(Arg::Value(command)) => text(command).map_err(usage)?,
        Some(Arg::Long("help") | Arg::Short('h')) => return print_help(HELP),
        Some(Arg::Long("version") | Arg::Short('V')) => {
            output::out(&format!("{PROGRAM} {}\n", env!("CARGO_PKG_VERSION")))?;
            return Ok(ExitCode::Success);
        }
        Some(other) => return Err(usage(other.unexpected())),
        None => return Err(usage("a command is required")),
    };
    match command.as_str() {
        "hook" => hook::command(&mut parser),
        "check" => check::command(&mut parser),
        "apply" => apply::command(&mut parser),
        "engine-config" => engine_config::command(&mut parser),
        "topology" => topology::command(&mut parser),
        "suggest" => suggest::command(&mut parser),
        "verify" => verify::command(&mut parser),
        "prepare" => prepare::command(&mut parser),
        "ksm" => ksm::command(&mut parser),
        "ksm-switch" => ksm::privileged(&mut parser),
        "help" => print_help(HELP),
        other => Err(usage(format!("unknown command {}", quoted(other)))),
    }
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
