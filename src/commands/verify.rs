//! `verify DOMAIN`: whether a running guest is where its properties and
//! its live domain XML say it should be.

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::output;
use crate::host::files;
use crate::verify::verify;

const HELP: &str = "\
usage: vdsm-hook-largeguest verify DOMAIN [--json]

Reads the running guest DOMAIN (name or UUID) on this host, as root: where
each vCPU, the emulator and each I/O thread may run, and where the guest's
memory is, and compares them with the live domain XML and the VM's custom
properties (cputune, numatune, guestnuma).

  --json   the report as JSON, for monitoring

Exit status: 0 every check holds; 1 something differs (one line each);
2 the domain cannot be read.";

struct Options {
    domain: String,
    json: bool,
}

/// 0 when every check holds, 1 when one differs, 2 (an error) when the
/// domain cannot be read.
pub fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let options = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(options) => options,
    };
    let report = verify(&files::run_root(), &files::procfs_root(), &options.domain)?;
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

fn parse(parser: &mut Parser) -> Result<Parsed<Options>, lexopt::Error> {
    let (mut domain, mut json) = (None, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("json") => json = true,
            Arg::Value(name) if domain.is_none() => domain = Some(text(name)?),
            Arg::Value(_) => return Err("verify takes one domain".into()),
            _ => return Err(arg.unexpected()),
        }
    }
    let domain = domain.ok_or("verify needs a domain name or UUID")?;
    Ok(Parsed::Run(Options { domain, json }))
}
