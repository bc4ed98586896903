//! `engine-config`: the command that declares the custom properties on the
//! engine, with the regexes the registry gives.

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::output;
use crate::properties::Property;
use crate::wording::quoted;

const HELP: &str = "\
usage: vdsm-hook-largeguest engine-config [--cver X.Y]

Prints the engine-config command that declares the custom VM properties,
each with the regex the engine checks values against, for one cluster level
(default 4.8).";

/// The cluster level used when none is given: the newest engine 4.5.7
/// offers (its SupportedClusterLevels go up to 4.8).
pub const DEFAULT_CLUSTER_LEVEL: &str = "4.8";

pub fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let level = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(HELP),
        Parsed::Run(level) => level,
    };
    output::out(&format!(
        "# Run on the engine once per cluster level, then: systemctl restart ovirt-engine\n\
         # -s replaces UserDefinedVMProperties for that level. To add to what it already\n\
         # declares (other hooks' properties, or older regexes of these), run the same\n\
         # line with -m instead of -s: it appends, and the last declaration of a name wins.\n\
         {}\n",
        declaration(&level)?
    ))?;
    Ok(ExitCode::Success)
}

fn parse(parser: &mut Parser) -> Result<Parsed<String>, lexopt::Error> {
    let mut level = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Long("cver") if level.is_none() => level = Some(text(parser.value()?)?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(
        level.unwrap_or_else(|| DEFAULT_CLUSTER_LEVEL.to_string()),
    ))
}

/// The command to run on the engine for one cluster level.
pub fn declaration(cluster_level: &str) -> Result<String, Error> {
    let well_formed = cluster_level
        .split_once('.')
        .is_some_and(|(major, minor)| is_number(major) && is_number(minor));
    if !well_formed {
        return Err(Error::Usage(format!(
            "cluster level {} is not of the form X.Y, e.g. {DEFAULT_CLUSTER_LEVEL}",
            quoted(cluster_level)
        )));
    }
    let declarations: Vec<String> = Property::ALL
        .into_iter()
        .map(|property| format!("{}={}", property.name(), property.engine_regex()))
        .collect();
    Ok(format!(
        "engine-config -s UserDefinedVMProperties='{}' --cver={cluster_level}",
        declarations.join(";")
    ))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}
