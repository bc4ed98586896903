//! The custom properties: the one list of them (each one's name, grammar,
//! canonical form, engine regex and meaning) and their grammars, read with
//! nom, one module per grammar. The hook jobs, `check`, `apply`,
//! `engine-config`, the fuzz targets and the tests all read the list, so
//! adding a property means adding it here; `engine_storage` is what the
//! engine can store of them all. Imports `cpuset` and `wording`.
//!
//! Each parser has its rule above it, in a small EBNF: `:=` defines a rule,
//! `|` separates choices, `?`, `*` and `+` mean optional, any number and one
//! or more, `"x"` is literal text and `EOF` the end of the value. Indented
//! lines under a rule say what it notes beyond the syntax: problems of
//! meaning, collected in `Notes` while parsing goes on, so that a syntax
//! error anywhere in the value wins.

pub mod affinity;
pub mod cputune;
pub mod emulatorpin;
pub mod engine_storage;
pub mod guestnuma;
pub mod iothreadpin;
pub mod numatune;
pub(crate) mod one_to_one;
pub mod problem;
pub(crate) mod regex;
pub mod sets;
pub mod switch;
pub(crate) mod vcpupin;

use std::ffi::OsString;

use crate::cpuset::CpuSet;
use crate::wording::quoted;

pub use self::engine_storage::{check_engine_storage, TooLongForEngine, ENGINE_STORAGE_LIMIT};

use self::affinity::PciNumaAffinity;
use self::cputune::CpuTune;
use self::guestnuma::GuestNuma;
use self::iothreadpin::IoThreadPins;
use self::numatune::NumaTune;
use self::problem::{Problem, PropertyError};

/// A custom property, by name. What each one is lives in `REGISTRY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    CpuTune,
    NumaTune,
    GuestNuma,
    EmulatorPin,
    IoThreadPin,
    PciNumaAffinity,
    KsmMergeAcrossNodes,
}

/// Everything the hook, the commands and the tests know of one property.
pub struct Definition {
    pub property: Property,
    pub name: &'static str,
    /// One line for `check --help`.
    pub description: &'static str,
    /// A value it accepts, for the tests that go through the registry.
    pub example: &'static str,
    /// The regex the engine checks a value against before the VM starts.
    pub engine_regex: fn() -> String,
    /// Whether the rewrite job reads the property: it changes the domain
    /// XML or decides a check of it (`pci_numa_affinity`); the others act
    /// on the host.
    pub edits_domain: bool,
    /// Parses a value into its field of the request.
    read: Read,
    /// Its field of the request in canonical form, if it is set.
    canonical: Canonical,
}

type Read = fn(&str, &mut Request) -> Result<(), PropertyError>;
type Canonical = fn(&Request) -> Option<String>;

/// A definition's `read` and `canonical`: `$parse` puts its value in
/// `request.$field`, which prints with `$print`.
macro_rules! field {
    ($field:ident, $parse:expr) => {
        field!($field, $parse, ToString::to_string)
    };
    ($field:ident, $parse:expr, $print:expr) => {
        (
            |text, request| {
                request.$field = Some($parse(text)?);
                Ok(())
            },
            |request| request.$field.as_ref().map($print),
        )
    };
}

/// A definition from its fields, `field!` giving `read` and `canonical`.
const fn define(
    property: Property,
    name: &'static str,
    description: &'static str,
    example: &'static str,
    engine_regex: fn() -> String,
    edits_domain: bool,
    (read, canonical): (Read, Canonical),
) -> Definition {
    Definition {
        property,
        name,
        description,
        example,
        engine_regex,
        edits_domain,
        read,
        canonical,
    }
}

/// The one list of the properties, in the order `engine-config` declares
/// them and `check` reports them; entry `i` is `Property` number `i`.
pub const REGISTRY: [Definition; 7] = [
    define(
        Property::CpuTune,
        cputune::PROPERTY,
        "host CPUs each vCPU may run on (VCPU#CPUSET or VCPUS@SET:SET entries)",
        "0#2,1#3",
        regex::cputune,
        true,
        field!(cputune, cputune::parse),
    ),
    define(
        Property::NumaTune,
        numatune::PROPERTY,
        "host memory policy ([MODE#]NODESET or auto)",
        "strict#0",
        regex::numatune,
        true,
        field!(numatune, numatune::parse),
    ),
    define(
        Property::GuestNuma,
        guestnuma::PROPERTY,
        "guest NUMA cells (VCPUS#MEMORY[#HOSTNODES] entries, or a count)",
        "0-1#1G#0,2-3#1G#1",
        regex::guestnuma,
        true,
        field!(guestnuma, guestnuma::parse),
    ),
    define(
        Property::EmulatorPin,
        emulatorpin::PROPERTY,
        "host CPUs QEMU's emulator threads may run on (a CPUSET)",
        "0-1",
        regex::emulatorpin,
        true,
        field!(emulatorpin, emulatorpin::parse),
    ),
    define(
        Property::IoThreadPin,
        iothreadpin::PROPERTY,
        "host CPUs each I/O thread may run on (IOTHREAD#CPUSET entries)",
        "1#0-1",
        regex::iothreadpin,
        true,
        field!(iothreadpin, iothreadpin::parse),
    ),
    define(
        Property::PciNumaAffinity,
        affinity::PROPERTY,
        "whether a passthrough device outside the guest's memory nodes refuses the start (required) or warns (preferred)",
        "required",
        regex::pci_numa_affinity,
        true,
        field!(pci_numa_affinity, affinity::parse),
    ),
    define(
        Property::KsmMergeAcrossNodes,
        KSM_MERGE_ACROSS_NODES,
        "whether KSM may merge pages across host NUMA nodes (0 or 1)",
        "1",
        regex::switch,
        false,
        field!(
            ksm_merge_across_nodes,
            |text| switch::parse(KSM_MERGE_ACROSS_NODES, text),
            |on: &bool| u8::from(*on).to_string()
        ),
    ),
];

const KSM_MERGE_ACROSS_NODES: &str = "ksm_merge_across_nodes";

// `Property::definition` finds an entry by the property's number.
const _: () = {
    let mut i = 0;
    while i < REGISTRY.len() {
        assert!(REGISTRY[i].property as usize == i);
        i += 1;
    }
};

impl Property {
    /// In the registry's order.
    pub const ALL: [Property; REGISTRY.len()] = {
        let mut all = [Property::CpuTune; REGISTRY.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = REGISTRY[i].property;
            i += 1;
        }
        all
    };

    pub fn definition(self) -> &'static Definition {
        &REGISTRY[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.definition().name
    }

    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn description(self) -> &'static str {
        self.definition().description
    }

    /// The regex the engine checks a value against before the VM starts.
    pub fn engine_regex(self) -> String {
        (self.definition().engine_regex)()
    }

    pub fn edits_domain(self) -> bool {
        self.definition().edits_domain
    }

    /// The value read into a request of its own.
    pub fn parse(self, text: &str) -> Result<Request, PropertyError> {
        let mut request = Request::default();
        request.read(self, text)?;
        Ok(request)
    }

    /// The value in canonical form, as `check` prints it.
    pub fn canonical_form(self, text: &str) -> Result<String, PropertyError> {
        let request = self.parse(text)?;
        Ok(self.canonical(&request).unwrap_or_default())
    }

    /// The property's value in `request` in canonical form, if it is set.
    pub fn canonical(self, request: &Request) -> Option<String> {
        (self.definition().canonical)(request)
    }

    /// The raw value VDSM passed in the environment (as `commands` read
    /// it), as text.
    pub fn text_of(self, raw: OsString) -> Result<String, PropertyError> {
        raw.into_string().map_err(|raw| {
            let text = raw.to_string_lossy().into_owned();
            PropertyError::new(self.name(), &text, &text, Problem::NotUtf8)
        })
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

/// What a VM asks for; `None` leaves that part alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub cputune: Option<CpuTune>,
    pub numatune: Option<NumaTune>,
    pub guestnuma: Option<GuestNuma>,
    pub ksm_merge_across_nodes: Option<bool>,
    pub emulatorpin: Option<CpuSet>,
    pub iothreadpin: Option<IoThreadPins>,
    /// `None` is the default, preferred.
    pub pci_numa_affinity: Option<PciNumaAffinity>,
}

impl Request {
    /// The properties VDSM set, as `lookup` gives each one's raw value, of
    /// those `wanted` picks: each job reads only what it acts on.
    pub fn from_values(
        wanted: impl Fn(Property) -> bool,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Request, PropertyError> {
        let mut request = Request::default();
        for property in Property::ALL.into_iter().filter(|p| wanted(*p)) {
            if let Some(raw) = lookup(property.name()) {
                request.read(property, &property.text_of(raw)?)?;
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
            request.read(property, text)?;
        }
        Ok(request)
    }

    /// Parses `text` as `property` into its field.
    pub fn read(&mut self, property: Property, text: &str) -> Result<(), PropertyError> {
        (property.definition().read)(text, self)
    }

    /// True when nothing in the domain XML is asked for: the rewrite then
    /// does not even open the file.
    pub fn leaves_domain_alone(&self) -> bool {
        Property::ALL
            .into_iter()
            .filter(|property| property.edits_domain())
            .all(|property| property.canonical(self).is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_is_found_by_its_name() {
        for definition in &REGISTRY {
            assert_eq!(
                Property::from_name(definition.name),
                Some(definition.property)
            );
            assert_eq!(definition.property.definition().name, definition.name);
        }
        assert_eq!(Property::from_name("cpu_tune"), None);
    }

    #[test]
    fn every_example_reads_into_its_own_field_and_prints_back() {
        for property in Property::ALL {
            let request = property.parse(property.definition().example).unwrap();
            let canonical = property.canonical(&request).expect("set by its read");
            assert_eq!(
                property.parse(&canonical),
                Ok(request.clone()),
                "{canonical}"
            );
            for other in Property::ALL.into_iter().filter(|o| *o != property) {
                assert_eq!(
                    other.canonical(&request),
                    None,
                    "{property:?} set {other:?}"
                );
            }
            assert_eq!(request.leaves_domain_alone(), !property.edits_domain());
        }
    }

    #[test]
    fn every_refusal_names_its_property() {
        for property in Property::ALL {
            let err = property.parse("#").unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("{}: ", property.name())),
                "{err}"
            );
        }
    }
}
