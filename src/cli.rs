//! The command line: which job to run, from argv[0] (as VDSM runs a hook
//! entry) or from a subcommand (as an administrator runs it).

use std::ffi::OsString;
use std::panic;
use std::path::Path;

use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::{hook, ksm, output, rewrite, validate};

pub const PROGRAM: &str = "vdsm-hook-largeguest";

const USAGE: &str = "\
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

Installed as a VDSM hook entry (NN_largeguest, NN_largeguest_validate,
NN_largeguest_ksm), the job is chosen by the entry's name.";

/// The jobs a VDSM hook entry can run, chosen by the entry's file name so
/// that entries are plain symlinks to the executable, with no shell between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookJob {
    /// `before_vm_start`: rewrite the domain XML.
    Rewrite,
    /// `before_vm_migrate_destination`: VDSM drops edits there, so only refuse
    /// a migration this host cannot honour.
    Validate,
    /// Switch KSM's merge_across_nodes to what the VM asks for.
    Ksm,
}

impl HookJob {
    /// `50_largeguest` -> Rewrite, `50_largeguest_validate` -> Validate,
    /// `60_largeguest_ksm` -> Ksm; anything else is not a hook entry.
    pub fn from_entry_name(argv0: &Path) -> Option<HookJob> {
        let name = argv0.file_name()?.to_str()?;
        let (prefix, job) = name.split_once('_')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match job {
            "largeguest" => Some(HookJob::Rewrite),
            "largeguest_validate" => Some(HookJob::Validate),
            "largeguest_ksm" => Some(HookJob::Ksm),
            _ => None,
        }
    }

    fn from_subcommand(name: &str) -> Option<HookJob> {
        match name {
            "before_vm_start" => Some(HookJob::Rewrite),
            "before_vm_migrate_destination" => Some(HookJob::Validate),
            "ksm" => Some(HookJob::Ksm),
            _ => None,
        }
    }
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
        return run_hook(job);
    }
    let args = args
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| Error::Usage(format!("argument {arg:?} is not valid UTF-8")))
        })
        .collect::<Result<Vec<String>, Error>>()?;
    let Some((command, rest)) = args.split_first() else {
        return Err(usage("a command is required"));
    };
    match command.as_str() {
        "hook" => match rest {
            [name] => match HookJob::from_subcommand(name) {
                Some(job) => run_hook(job),
                None => Err(usage(&format!("unknown hook job {name:?}"))),
            },
            _ => Err(usage("hook takes one job name")),
        },
        "check" => crate::check::run(rest),
        "apply" => crate::apply::run(rest),
        "engine-config" => {
            output::out(&format!("{}\n", crate::engine_config::run(rest)?))?;
            Ok(ExitCode::Success)
        }
        "topology" => crate::topology::run(rest),
        "suggest" => crate::planner::run(rest),
        "verify" => crate::verify::run(rest),
        "ksm" => ksm_command(rest),
        "ksm-switch" => match rest {
            [value] if value == "0" || value == "1" => {
                summarise(ksm::privileged_switch(value == "1")?.to_string())
            }
            _ => Err(usage("ksm-switch takes exactly one argument, 0 or 1")),
        },
        "help" | "--help" | "-h" => {
            output::out(&format!("{USAGE}\n"))?;
            Ok(ExitCode::Success)
        }
        "--version" | "-V" => {
            output::out(&format!("{PROGRAM} {}\n", env!("CARGO_PKG_VERSION")))?;
            Ok(ExitCode::Success)
        }
        other => Err(usage(&format!("unknown command {other:?}"))),
    }
}

fn run_hook(job: HookJob) -> Result<ExitCode, Error> {
    match job {
        HookJob::Rewrite => run_rewrite(),
        HookJob::Validate => run_validate(),
        HookJob::Ksm => match ksm::hook()? {
            Some(summary) => summarise(summary),
            None => Ok(ExitCode::Success),
        },
    }
}

/// `before_vm_start`: with none of the properties set, the file is not even
/// opened, so a VM that does not use the hook pays nothing for it.
fn run_rewrite() -> Result<ExitCode, Error> {
    let request = hook::request_from_env()?;
    if request.is_empty() {
        return Ok(ExitCode::Success);
    }
    let path = hook::domxml_path()?;
    let text = hook::read_domxml(&path)?;
    let outcome = rewrite::rewrite(&text, &request, hook::host_limits().as_ref())?;
    if outcome.text != text {
        hook::write_atomically(&path, &outcome.text)?;
    }
    output::note(&outcome.summary);
    Ok(ExitCode::Success)
}

/// `before_vm_migrate_destination`: refuse what this host cannot honour.
fn run_validate() -> Result<ExitCode, Error> {
    if hook::request_from_env()?.is_empty() {
        return Ok(ExitCode::Success);
    }
    let text = hook::read_domxml(&hook::domxml_path()?)?;
    let Some(host) = hook::host_limits() else {
        return Ok(ExitCode::Success);
    };
    validate::check_incoming(&text, &host)?;
    output::note("this host has every CPU and memory node the VM is pinned to");
    Ok(ExitCode::Success)
}

/// `ksm status` and `ksm set 0|1 [--timeout S]`, on the host the test
/// overrides point at.
fn ksm_command(rest: &[String]) -> Result<ExitCode, Error> {
    let host = ksm::Host::from_env();
    let (value, timeout) = match rest {
        [status] if status == "status" => {
            output::out(&ksm::status(&host)?)?;
            return Ok(ExitCode::Success);
        }
        [set, value] if set == "set" => (value, ksm::configured_timeout()?),
        [set, value, flag, secs] if set == "set" && flag == "--timeout" => {
            (value, ksm::parse_timeout(secs).map_err(|e| usage(&e))?)
        }
        _ => return Err(usage("ksm takes 'status' or 'set 0|1 [--timeout S]'")),
    };
    let wanted = match value.as_str() {
        "0" => false,
        "1" => true,
        other => return Err(usage(&format!("ksm set takes 0 or 1, not {other:?}"))),
    };
    summarise(ksm::switch(&host, wanted, timeout)?.to_string())
}

/// The one-line success summary goes to stderr, which VDSM logs.
fn summarise(summary: String) -> Result<ExitCode, Error> {
    output::note(&summary);
    Ok(ExitCode::Success)
}

fn usage(problem: &str) -> Error {
    Error::Usage(format!(
        "{problem}; run '{PROGRAM} --help' for the commands"
    ))
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

    #[test]
    fn entry_names_choose_the_job() {
        let job = |name: &str| HookJob::from_entry_name(Path::new(name));
        assert_eq!(
            job("/usr/libexec/vdsm/hooks/before_vm_start/50_largeguest"),
            Some(HookJob::Rewrite)
        );
        assert_eq!(job("50_largeguest_validate"), Some(HookJob::Validate));
        assert_eq!(job("60_largeguest_ksm"), Some(HookJob::Ksm));
        assert_eq!(job("vdsm-hook-largeguest"), None);
        assert_eq!(job("_largeguest"), None);
        assert_eq!(job("5a_largeguest"), None);
        assert_eq!(job("50_largeguest_other"), None);
    }
}
