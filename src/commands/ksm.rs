//! `ksm status`, `ksm set`, the hook job's switch and `ksm-switch`, the
//! privileged side sudo runs.

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{environment, output};
use crate::host::ksm::{self, KsmFiles, Outcome};
use crate::host::mom;
use crate::host::sudo;
use crate::properties::switch;

const HELP: &str = "\
usage: vdsm-hook-largeguest ksm status
       vdsm-hook-largeguest ksm set 0|1 [--timeout S]

  status         show the host's KSM counters and what each means
  set 0|1        switch merge_across_nodes safely: unmerge (run=2) when pages
                 are shared, write, and put run back whatever happens;
                 refused where MoM (mom-vdsm) manages KSM
  --timeout S    how long the lock and the unmerging may take, in seconds
                 (default: unmerge_timeout in /etc/vdsm-hook-largeguest/ksm.conf, or 120)";

const WRONG: &str = "ksm takes 'status' or 'set 0|1 [--timeout S]'";

enum KsmCommand {
    Status,
    Set {
        wanted: String,
        timeout: Option<String>,
    },
}

pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let command = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(command) => command,
    };
    let files = KsmFiles::from_paths(environment::host_paths());
    match command {
        KsmCommand::Status => {
            output::out(&ksm::status(&files)?)?;
            Ok(ExitCode::Success)
        }
        KsmCommand::Set { wanted, timeout } => {
            let wanted = switch::parse("ksm set", &wanted)?;
            let timeout = match timeout {
                Some(secs) => ksm::parse_timeout(&secs).map_err(usage)?,
                None => ksm::configured_timeout()?,
            };
            summarise(ksm::switch(&files, wanted, timeout)?.to_string())
        }
    }
}

fn parse(parser: &mut Parser) -> Result<Parsed<KsmCommand>, lexopt::Error> {
    let mut words = Vec::new();
    let mut timeout = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("timeout") => timeout = Some(text(parser.value()?)?),
            Arg::Value(word) => words.push(text(word)?),
            _ => return Err(WRONG.into()),
        }
    }
    match (words.as_slice(), timeout) {
        ([status], None) if status == "status" => Ok(Parsed::Run(KsmCommand::Status)),
        ([set, wanted], timeout) if set == "set" => Ok(Parsed::Run(KsmCommand::Set {
            wanted: wanted.clone(),
            timeout,
        })),
        _ => Err(WRONG.into()),
    }
}

/// The hook job: already as asked is a no-op; otherwise switch, as root
/// directly or through the one command line sudo allows. Where MoM manages
/// KSM, never a write: the host satisfies the VM, or the start is refused.
pub(crate) fn switch_for_vm(wanted: bool) -> Result<ExitCode, Error> {
    let files = KsmFiles::from_paths(environment::host_paths());
    if let Some(mom) = files.mom()? {
        let verdict = mom::judge(wanted, files.kernel_state()?, mom::cluster_ksm(&mom));
        return summarise(verdict.map_err(ksm::KsmError::from)?);
    }
    if files.merge_across_nodes()? == wanted {
        return summarise(Outcome::Unchanged { value: wanted }.to_string());
    }
    if sudo::is_root() {
        let outcome = ksm::switch(&files, wanted, ksm::configured_timeout()?)?;
        return summarise(outcome.to_string());
    }
    summarise(sudo::switch_as_root(wanted).map_err(ksm::KsmError::from)?)
}

/// `ksm-switch 0|1`: exactly the two command lines the sudoers drop-in
/// allows, on the real host whatever the environment says.
pub(crate) fn privileged(parser: &mut Parser) -> Result<ExitCode, Error> {
    let mut values = Vec::new();
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Arg::Value(value) => values.push(value),
            _ => values.push("-".into()),
        }
    }
    let wanted = match values.as_slice() {
        [value] if value == "0" => false,
        [value] if value == "1" => true,
        _ => return Err(usage("ksm-switch takes exactly one argument, 0 or 1")),
    };
    summarise(ksm::privileged_switch(wanted)?.to_string())
}

/// The one-line success summary goes to stderr, which VDSM logs.
fn summarise(summary: String) -> Result<ExitCode, Error> {
    output::note(&summary);
    Ok(ExitCode::Success)
}
