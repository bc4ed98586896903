//! `check`: try property values before setting them on a VM.

use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::output;
use crate::property::{Problem, PropertyError};
use crate::{cputune, guestnuma, ksm, numatune};

/// A custom property `check` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    CpuTune,
    NumaTune,
    GuestNuma,
    Ksm,
}

impl Property {
    pub const ALL: [Property; 4] = [
        Property::CpuTune,
        Property::NumaTune,
        Property::GuestNuma,
        Property::Ksm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::CpuTune => cputune::PROPERTY,
            Property::NumaTune => numatune::PROPERTY,
            Property::GuestNuma => guestnuma::PROPERTY,
            Property::Ksm => ksm::PROPERTY,
        }
    }

    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL
            .into_iter()
            .find(|property| property.name() == name)
    }

    /// The value in canonical form, or why it is refused.
    pub fn canonical(self, value: &str) -> Result<String, Error> {
        Ok(match self {
            Property::CpuTune => cputune::parse(value)?.to_string(),
            Property::NumaTune => numatune::parse(value)?.to_string(),
            Property::GuestNuma => guestnuma::parse(value)?.to_string(),
            Property::Ksm => u8::from(ksm::parse_property(value)?).to_string(),
        })
    }
}

type Pair = (Property, Result<String, Error>);

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
        output::note(&format!(
            "none of {} is set; nothing to check",
            names.join(", ")
        ));
        return Ok(ExitCode::Success);
    }
    let mut code = ExitCode::Success;
    for (property, value) in pairs {
        match value.and_then(|value| property.canonical(&value)) {
            Ok(text) => output::out(&format!("{}={text}\n", property.name()))?,
            Err(err) => {
                output::note(&err.to_string());
                code = ExitCode::Refused;
            }
        }
    }
    Ok(code)
}

fn split_pair(arg: &str) -> Result<Pair, Error> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(Error::Usage(format!(
            "{arg:?} is not NAME=VALUE, e.g. cputune=0#2"
        )));
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
                Error::from(PropertyError::new(
                    property.name(),
                    &text,
                    &text,
                    Problem::NotUtf8,
                ))
            });
            Some((property, value))
        })
        .collect()
}
