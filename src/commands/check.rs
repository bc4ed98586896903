//! `check`: try property values before setting them on a VM.

use lexopt::{Arg, Parser};

use crate::commands::args::{print_help, text, usage, Parsed};
use crate::commands::error::Error;
use crate::commands::exit_codes::ExitCode;
use crate::commands::{environment, output};
use crate::properties::{check_engine_storage, split_pair, Property};

const HELP: &str = "\
usage: vdsm-hook-largeguest check [NAME=VALUE...]

Checks custom property values against their grammar and prints each in
canonical form, or why it is refused (exit 2), then whether the engine can
store them together (4000 characters, names included). With no arguments,
the properties set in the environment are checked, as the hook would see
them.";

/// `check` has no domain XML, so no policy to read: it says which one
/// cputune needs, since only the hook can refuse the others at start.
const CPUTUNE_NEEDS_MANUAL: &str = "note: cputune needs the VM's CPU Pinning Policy \
    set to Manual on the engine (Edit VM > Resource Allocation): under None VDSM moves \
    the vCPUs back to its shared pool once the VM runs, and under Dedicated or Isolate \
    Threads the hook refuses it";

/// The help text with every property the registry knows and what it is.
fn help() -> String {
    let width = Property::ALL
        .iter()
        .map(|p| p.name().len())
        .max()
        .unwrap_or(0);
    let properties: String = Property::ALL
        .iter()
        .map(|p| format!("  {:width$}  {}\n", p.name(), p.description()))
        .collect();
    format!("{HELP}\n\nProperties:\n{properties}")
}

/// Checks `NAME=VALUE` arguments, or with none the properties found in the
/// environment, printing each canonical value or its error.
pub(crate) fn command(parser: &mut Parser) -> Result<ExitCode, Error> {
    let args = match parse(parser).map_err(usage)? {
        Parsed::Help => return print_help(&help()),
        Parsed::Run(args) => args,
    };
    let pairs = match args.as_slice() {
        [] => from_environment(),
        _ => args
            .iter()
            .map(|arg| split_pair(arg).map(|(p, v)| (p, Ok(v.to_string()))))
            .collect::<Result<_, _>>()
            .map_err(Error::Usage)?,
    };
    if pairs.is_empty() {
        let names: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        output::note(&format!(
            "none of {} is set; nothing to check",
            names.join(", ")
        ));
        return Ok(ExitCode::Success);
    }
    let mut code = ExitCode::Success;
    let mut canonical_values = Vec::new();
    for (property, value) in &pairs {
        let canonical = match value {
            Ok(value) => property
                .canonical_form(value)
                .map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        match canonical {
            Ok(value) => {
                output::out(&format!("{}={value}\n", property.name()))?;
                canonical_values.push((*property, value));
                if *property == Property::CpuTune {
                    output::note(CPUTUNE_NEEDS_MANUAL);
                }
            }
            Err(message) => {
                output::note(&message);
                code = ExitCode::Refused;
            }
        }
    }
    // Once every value is right on its own: a refused value changes anyway.
    if code == ExitCode::Success {
        let canonical: Vec<(Property, &str)> = canonical_values
            .iter()
            .map(|(property, value)| (*property, value.as_str()))
            .collect();
        if let Err(err) = check_engine_storage(&stored(&pairs), &canonical) {
            output::note(&err.to_string());
            code = ExitCode::Refused;
        }
    }
    Ok(code)
}

/// The values as the engine would store them: as typed, not canonical.
fn stored(pairs: &[Pair]) -> Vec<(Property, &str)> {
    pairs
        .iter()
        .filter_map(|(property, value)| Some((*property, value.as_deref().ok()?)))
        .collect()
}

fn parse(parser: &mut Parser) -> Result<Parsed<Vec<String>>, lexopt::Error> {
    let mut args = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Parsed::Help),
            Arg::Value(value) => args.push(text(value)?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(args))
}

type Pair = (Property, Result<String, Error>);

fn from_environment() -> Vec<Pair> {
    Property::ALL
        .into_iter()
        .filter_map(|property| {
            let raw = environment::variable(property.name())?;
            Some((property, property.text_of(raw).map_err(Error::from)))
        })
        .collect()
}
