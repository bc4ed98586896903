//! `verify DOMAIN` and `verify --all`: whether running guests are where
//! their properties and their domain XML say they should be.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{environment, output};
use crate::verify::{self, verify, verify_all, Outcome};

const HELP: &str = "\
usage: vdsm-hook-largeguest verify DOMAIN [--json]
       vdsm-hook-largeguest verify --all [--json] [--prometheus FILE]

Reads the running guest DOMAIN (name or UUID) on this host, as root: where
each vCPU, the emulator and each I/O thread may run, and where the guest's
memory is, and compares them with the VM's custom properties (cputune,
numatune, guestnuma, emulatorpin, iothreadpin) and the live domain XML; a
domain without properties, with its persistent definition.

  --all               every running guest carrying the project's properties
                      or pins of its own: one row each, the differences,
                      then the host at a glance (CPUs pinned per node and by
                      whom, memory and huge pages bound and free)
  --json              the report as JSON, for monitoring (with --all, an
                      array of reports)
  --prometheus FILE   with --all, also write the findings as Prometheus
                      metrics to FILE, replaced whole (node_exporter's
                      textfile collector reads it)

Exit status: 0 every check holds; 1 something differs (one line each);
2 a domain cannot be read.";

struct Options {
    domain: Option<String>,
    json: bool,
    prometheus: Option<PathBuf>,
}

/// 0 when every check holds, 1 when one differs, 2 (an error) when the
/// domain cannot be read.
pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let options = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(options) => options,
    };
    let Some(domain) = &options.domain else {
        return all(&options);
    };
    let report = verify(environment::host_paths(), domain)?;
    match options.json {
        true => output::out(&format!("{}\n", output::to_json(&report)))?,
        false => output::out(&report.to_string())?,
    }
    let differs = report.differences().next().is_some();
    Ok(match differs {
        true => ExitCode::Differs,
        false => ExitCode::Success,
    })
}

/// `--all`: the metrics are written before the report is printed, so a
/// closed stdout never leaves them stale.
fn all(options: &Options) -> Result<ExitCode, Error> {
    let fleet = verify_all(environment::host_paths())?;
    if let Some(path) = &options.prometheus {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        verify::write_atomically(path, &verify::prometheus(&fleet, now)).map_err(|source| {
            Error::Verify(verify::VerifyError::Write {
                path: path.clone(),
                source,
            })
        })?;
    }
    match options.json {
        true => output::out(&format!("{}\n", output::to_json(&fleet.entries)))?,
        false => output::out(&fleet.to_string())?,
    }
    Ok(match fleet.outcome() {
        Outcome::Holds => ExitCode::Success,
        Outcome::Differs => ExitCode::Differs,
        Outcome::Unreadable => ExitCode::Refused,
    })
}

fn parse(parser: &mut Parser) -> Result<Parsed<Options>, lexopt::Error> {
    let (mut domain, mut json, mut every, mut prometheus) = (None, false, false, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("json") => json = true,
            Arg::Long("all") => every = true,
            Arg::Long("prometheus") => prometheus = Some(PathBuf::from(parser.value()?)),
            Arg::Value(name) if domain.is_none() => domain = Some(text(name)?),
            Arg::Value(_) => return Err("verify takes one domain".into()),
            _ => return Err(arg.unexpected()),
        }
    }
    match (domain.is_some(), every) {
        (true, true) => return Err("verify takes a domain or --all, not both".into()),
        (false, false) => return Err("verify needs a domain name or UUID, or --all".into()),
        _ => {}
    }
    if prometheus.is_some() && !every {
        return Err("--prometheus goes with --all".into());
    }
    Ok(Parsed::Run(Options {
        domain,
        json,
        prometheus,
    }))
}
