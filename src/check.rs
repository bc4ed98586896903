//! `check`: try property values before setting them on a VM.

use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::property::{Problem, PropertyError};
use crate::{cputune, guestnuma, numatune};

/// A custom property `check` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    CpuTune,
    NumaTune,
    GuestNuma,
}

impl Property {
    pub const ALL: [Property; 3] = [Property::CpuTune, Property::NumaTune, Property::GuestNuma];

    pub fn name(self) -> &'static str {
        match self {
            Property::CpuTune => cputune::PROPERTY,
            Property::NumaTune => numatune::PROPERTY,
            Property::GuestNuma => guestnuma::PROPERTY,
        }
    }

    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL
            .into_iter()
            .find(|property| property.name() == name)
    }

    /// The value in canonical form, or why it is refused.
    pub fn canonical(self, value: &str) -> Result<String, PropertyError> {
        match self {
            Property::CpuTune => cputune::parse(value).map(|v| v.to_string()),
            Property::NumaTune => numatune::parse(value).map(|v| v.to_string()),
            Property::GuestNuma => guestnuma::parse(value).map(|v| v.to_string()),
        }
    }
}

type Pair = (Property, Result<String, PropertyError>);

/// Checks `NAME=VALUE` arguments, or with none the properties found in the
/// environment, printing each canonical value or its error.
pub fn run(args: &[String]) -> Result<ExitCode, Error> {
    let pairs = match args {
        [] => from_environment(),
        _ => args
            .iter()
            .map(|arg| split_pair(arg))
            .collect::<Result<_, _>>()?,
    };
    if pairs.is_empty() {
        let names: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        eprintln!(
            "{}: none of {} is set; nothing to check",
            crate::cli::PROGRAM,
            names.join(", ")
        );
        return Ok(ExitCode::Success);
    }
    let mut code = ExitCode::Success;
    for (property, value) in pairs {
        match value.and_then(|value| property.canonical(&value)) {
            Ok(text) => println!("{}={text}", property.name()),
            Err(err) => {
                eprintln!("{}: {err}", crate::cli::PROGRAM);
                code = ExitCode::Refused;
            }
        }
    }
    Ok(code)
}

fn split_pair(arg: &str) -> Result<Pair, Error> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(Error::Usage(format!("{arg:?} is not NAME=VALUE")));
    };
    let Some(property) = Property::from_name(name) else {
        let known: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        return Err(Error::Usage(format!(
            "unknown property {name:?}; known: {}",
            known.join(", ")
        )));
    };
    Ok((property, Ok(value.to_string())))
}

fn from_environment() -> Vec<Pair> {
    Property::ALL
        .into_iter()
        .filter_map(|property| {
            let value = std::env::var_os(property.name())?;
            let value = value.into_string().map_err(|raw| {
                let text = raw.to_string_lossy().into_owned();
                PropertyError::new(property.name(), &text, &text, Problem::NotUtf8)
            });
            Some((property, value))
        })
        .collect()
}
