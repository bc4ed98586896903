//! The one list of the custom properties: each one's name, grammar,
//! canonical form, engine regex and meaning. The hook jobs, `check`,
//! `apply`, `engine-config`, the fuzz targets and the tests all read it, so
//! adding a property means adding it here.

use std::fmt;

use thiserror::Error;

use crate::grammar::cputune::{self, CpuTune};
use crate::grammar::guestnuma::{self, GuestNuma};
use crate::grammar::numatune::{self, NumaTune};
use crate::grammar::problem::{Problem, PropertyError};
use crate::grammar::{regex, switch};
use crate::wording::quoted;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    CpuTune,
    NumaTune,
    GuestNuma,
    KsmMergeAcrossNodes,
}

impl Property {
    /// In the order `engine-config` declares them and `check` reports them.
    pub const ALL: [Property; 4] = [
        Property::CpuTune,
        Property::NumaTune,
        Property::GuestNuma,
        Property::KsmMergeAcrossNodes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::CpuTune => cputune::PROPERTY,
            Property::NumaTune => numatune::PROPERTY,
            Property::GuestNuma => guestnuma::PROPERTY,
            Property::KsmMergeAcrossNodes => "ksm_merge_across_nodes",
        }
    }

    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            Property::CpuTune => "host CPUs each vCPU may run on (VCPU#CPUSET entries)",
            Property::NumaTune => "host memory policy ([MODE#]NODESET or auto)",
            Property::GuestNuma => {
                "guest NUMA cells (VCPUS#MEMORY[#HOSTNODES] entries, or a count)"
            }
            Property::KsmMergeAcrossNodes => {
                "whether KSM may merge pages across host NUMA nodes (0 or 1)"
            }
        }
    }

    /// The regex the engine checks a value against before the VM starts.
    pub fn engine_regex(self) -> String {
        match self {
            Property::CpuTune => regex::cputune(),
            Property::NumaTune => regex::numatune(),
            Property::GuestNuma => regex::guestnuma(),
            Property::KsmMergeAcrossNodes => regex::switch(),
        }
    }

    /// Whether the property changes the domain XML; the others act on the host.
    pub fn edits_domain(self) -> bool {
        !matches!(self, Property::KsmMergeAcrossNodes)
    }

    pub fn parse(self, text: &str) -> Result<Value, PropertyError> {
        Ok(match self {
            Property::CpuTune => Value::CpuTune(cputune::parse(text)?),
            Property::NumaTune => Value::NumaTune(numatune::parse(text)?),
            Property::GuestNuma => Value::GuestNuma(guestnuma::parse(text)?),
            Property::KsmMergeAcrossNodes => Value::Switch(switch::parse(self.name(), text)?),
        })
    }

    /// The raw value VDSM passed in the environment, if the VM sets it.
    pub fn from_env(self) -> Option<Result<String, PropertyError>> {
        let raw = std::env::var_os(self.name())?;
        Some(raw.into_string().map_err(|raw| {
            let text = raw.to_string_lossy().into_owned();
            PropertyError::new(self.name(), &text, &text, Problem::NotUtf8)
        }))
    }
}

/// `NAME=VALUE` as `check` and `apply` take it on their command lines.
pub fn split_pair(arg: &str) -> Result<(Property, &str), String> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(format!(
            "{} is not NAME=VALUE, e.g. cputune=0#2",
            quoted(arg)
        ));
    };
    let Some(property) = Property::from_name(name) else {
        let known: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        return Err(format!(
            "unknown property {}; known: {}",
            quoted(name),
            known.join(", ")
        ));
    };
    Ok((property, value))
}

/// The engine keeps all of a VM's user-defined custom properties in one
/// `name=value;name=value` string of at most this many characters
/// (`VmBase.userDefinedProperties`, a `varchar(4000)`): longer sets cannot
/// be saved, whatever the regexes say.
pub const ENGINE_STORAGE_LIMIT: usize = 4000;

/// A set of values the engine could not store.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "these values take {total} characters as the engine stores them (NAME=VALUE joined by ';'), over the {ENGINE_STORAGE_LIMIT} it keeps for all of a VM's custom properties, other hooks' included; {}",
    shorten_hint(.longest, *.longest_len)
)]
pub struct TooLongForEngine {
    pub total: usize,
    pub longest: Property,
    pub longest_len: usize,
}

fn shorten_hint(longest: &Property, len: usize) -> String {
    match longest {
        Property::CpuTune => format!(
            "cputune takes {len} of them: pin runs of vCPUs one to one with the compact form A-B@SET (e.g. 0-383@0-383)"
        ),
        other => format!("shorten {}, which takes {len} of them", other.name()),
    }
}

/// Refuses values whose `name=value` pairs, joined by `;`, are longer than
/// the engine stores, counted as the engine counts (UTF-16 units).
pub fn check_engine_storage(pairs: &[(Property, &str)]) -> Result<(), TooLongForEngine> {
    let length = |(property, value): &(Property, &str)| {
        property.name().len() + 1 + value.encode_utf16().count()
    };
    let total = pairs.iter().map(length).sum::<usize>() + pairs.len().saturating_sub(1);
    let Some(longest) = pairs.iter().max_by_key(|pair| length(pair)) else {
        return Ok(());
    };
    if total <= ENGINE_STORAGE_LIMIT {
        return Ok(());
    }
    Err(TooLongForEngine {
        total,
        longest: longest.0,
        longest_len: length(longest),
    })
}

/// A parsed value; it prints in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    CpuTune(CpuTune),
    NumaTune(NumaTune),
    GuestNuma(GuestNuma),
    Switch(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::CpuTune(value) => value.fmt(f),
            Value::NumaTune(value) => value.fmt(f),
            Value::GuestNuma(value) => value.fmt(f),
            Value::Switch(on) => write!(f, "{}", u8::from(*on)),
        }
    }
}

/// What a VM asks for; `None` leaves that part alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub cputune: Option<CpuTune>,
    pub numatune: Option<NumaTune>,
    pub guestnuma: Option<GuestNuma>,
    pub ksm_merge_across_nodes: Option<bool>,
}

impl Request {
    /// The properties the environment sets, as VDSM passes them to a hook,
    /// of those `wanted` picks: each job reads only what it acts on.
    pub fn from_env(wanted: impl Fn(Property) -> bool) -> Result<Request, PropertyError> {
        let mut request = Request::default();
        for property in Property::ALL.into_iter().filter(|p| wanted(*p)) {
            if let Some(text) = property.from_env() {
                request.set(property.parse(&text?)?);
            }
        }
        Ok(request)
    }

    /// Parsed `(property, text)` pairs, as `apply` and the tests give them.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (Property, &'a str)>,
    ) -> Result<Request, PropertyError> {
        let mut request = Request::default();
        for (property, text) in pairs {
            request.set(property.parse(text)?);
        }
        Ok(request)
    }

    pub fn set(&mut self, value: Value) {
        match value {
            Value::CpuTune(value) => self.cputune = Some(value),
            Value::NumaTune(value) => self.numatune = Some(value),
            Value::GuestNuma(value) => self.guestnuma = Some(value),
            Value::Switch(on) => self.ksm_merge_across_nodes = Some(on),
        }
    }

    /// True when nothing in the domain XML is asked for: the rewrite then
    /// does not even open the file.
    pub fn leaves_domain_alone(&self) -> bool {
        self.cputune.is_none() && self.numatune.is_none() && self.guestnuma.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_counts_names_equals_and_semicolons() {
        // 8 for "cputune=" and 3,992 for the value: exactly the limit. The
        // count does not read the values, so any text of that length will do.
        let value = "0".repeat(3992);
        assert_eq!(check_engine_storage(&[(Property::CpuTune, &value)]), Ok(()));
        // One more property: its name, '=', its value and a ';' too many.
        let err = check_engine_storage(&[(Property::CpuTune, &value), (Property::NumaTune, "0")])
            .unwrap_err();
        assert_eq!(
            (err.total, err.longest, err.longest_len),
            (4011, Property::CpuTune, 4000)
        );
        assert!(err.to_string().contains("compact form A-B@SET"), "{err}");
        assert_eq!(check_engine_storage(&[]), Ok(()));
        // Java counts UTF-16 units: one per character here, two for an emoji.
        let wide = "\u{1f600}".repeat(1996);
        assert!(check_engine_storage(&[(Property::CpuTune, &wide)]).is_ok());
        let wider = "\u{1f600}".repeat(1997);
        assert!(check_engine_storage(&[(Property::CpuTune, &wider)]).is_err());
    }

    #[test]
    fn the_hint_names_the_longest_value() {
        let cells = "0".repeat(3990);
        let err =
            check_engine_storage(&[(Property::CpuTune, "0#0"), (Property::GuestNuma, &cells)])
                .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("shorten guestnuma, which takes 4000 of them"),
            "{err}"
        );
    }
}
