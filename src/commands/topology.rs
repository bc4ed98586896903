//! `topology`: the host's NUMA layout, as the hook and `suggest` see it.

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{environment, output};
use crate::host::topology::HostTopology;

const HELP: &str = "\
usage: vdsm-hook-largeguest topology [--json]

Shows the host's online CPUs, NUMA nodes with their cores, memory and huge
pages, and the node distances, as read from sysfs.

  --json   the same as JSON, for scripts";

pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let json = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(json) => json,
    };
    let topology = HostTopology::read(&environment::host_paths().sysfs)?;
    match json {
        true => output::out(&format!("{}\n", output::to_json(&topology)))?,
        false => output::out(&topology.to_string())?,
    }
    Ok(ExitCode::Success)
}

fn parse(parser: &mut Parser) -> Result<Parsed<bool>, lexopt::Error> {
    let mut json = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("json") => json = true,
            _ => return Err("topology takes only --json".into()),
        }
    }
    Ok(Parsed::Run(json))
}
