//! The one list of the custom properties: each one's name, grammar,
//! canonical form, engine regex and meaning. The hook jobs, `check`,
//! `apply`, `engine-config`, the fuzz targets and the tests all read it, so
//! adding a property means adding it here.

use std::fmt;

use crate::cpuset::CpuSet;
use crate::grammar::affinity::{self, PciNumaAffinity};
use crate::grammar::cputune::{self, CpuTune};
use crate::grammar::emulatorpin;
use crate::grammar::guestnuma::{self, GuestNuma};
use crate::grammar::iothreadpin::{self, IoThreadPins};
use crate::grammar::numatune::{self, NumaTune};
use crate::grammar::problem::{Problem, PropertyError};
use crate::grammar::{regex, switch};

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

impl Property {
    /// In the order `engine-config` declares them and `check` reports them.
    pub const ALL: [Property; 7] = [
        Property::CpuTune,
        Property::NumaTune,
        Property::GuestNuma,
        Property::EmulatorPin,
        Property::IoThreadPin,
        Property::PciNumaAffinity,
        Property::KsmMergeAcrossNodes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::CpuTune => cputune::PROPERTY,
            Property::NumaTune => numatune::PROPERTY,
            Property::GuestNuma => guestnuma::PROPERTY,
            Property::KsmMergeAcrossNodes => "ksm_merge_across_nodes",
            Property::EmulatorPin => emulatorpin::PROPERTY,
            Property::IoThreadPin => iothreadpin::PROPERTY,
            Property::PciNumaAffinity => affinity::PROPERTY,
        }
    }

    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            Property::CpuTune => {
                "host CPUs each vCPU may run on (VCPU#CPUSET or VCPUS@SET:SET entries)"
            }
            Property::NumaTune => "host memory policy ([MODE#]NODESET or auto)",
            Property::GuestNuma => {
                "guest NUMA cells (VCPUS#MEMORY[#HOSTNODES] entries, or a count)"
            }
            Property::KsmMergeAcrossNodes => {
                "whether KSM may merge pages across host NUMA nodes (0 or 1)"
            }
            Property::EmulatorPin => "host CPUs QEMU's emulator threads may run on (a CPUSET)",
            Property::IoThreadPin => "host CPUs each I/O thread may run on (IOTHREAD#CPUSET entries)",
            Property::PciNumaAffinity => {
                "whether a passthrough device outside the guest's memory nodes refuses the start (required) or warns (preferred)"
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
            Property::EmulatorPin => regex::emulatorpin(),
            Property::IoThreadPin => regex::iothreadpin(),
            Property::PciNumaAffinity => regex::pci_numa_affinity(),
        }
    }

    /// Whether the rewrite job reads the property: it changes the domain XML
    /// or decides a check of it (`pci_numa_affinity`); the others act on the host.
    pub fn edits_domain(self) -> bool {
        !matches!(self, Property::KsmMergeAcrossNodes)
    }

    pub fn parse(self, text: &str) -> Result<Value, PropertyError> {
        Ok(match self {
            Property::CpuTune => Value::CpuTune(cputune::parse(text)?),
            Property::NumaTune => Value::NumaTune(numatune::parse(text)?),
            Property::GuestNuma => Value::GuestNuma(guestnuma::parse(text)?),
            Property::KsmMergeAcrossNodes => Value::Switch(switch::parse(self.name(), text)?),
            Property::EmulatorPin => Value::EmulatorPin(emulatorpin::parse(text)?),
            Property::IoThreadPin => Value::IoThreadPin(iothreadpin::parse(text)?),
            Property::PciNumaAffinity => Value::PciNumaAffinity(affinity::parse(text)?),
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
        return Err(format!("{arg:?} is not NAME=VALUE, e.g. cputune=0#2"));
    };
    let Some(property) = Property::from_name(name) else {
        let known: Vec<&str> = Property::ALL.iter().map(|p| p.name()).collect();
        return Err(format!(
            "unknown property {name:?}; known: {}",
            known.join(", ")
        ));
    };
    Ok((property, value))
}

/// A parsed value; it prints in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    CpuTune(CpuTune),
    NumaTune(NumaTune),
    GuestNuma(GuestNuma),
    Switch(bool),
    EmulatorPin(CpuSet),
    IoThreadPin(IoThreadPins),
    PciNumaAffinity(PciNumaAffinity),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::CpuTune(value) => value.fmt(f),
            Value::NumaTune(value) => value.fmt(f),
            Value::GuestNuma(value) => value.fmt(f),
            Value::Switch(on) => write!(f, "{}", u8::from(*on)),
            Value::EmulatorPin(value) => value.fmt(f),
            Value::IoThreadPin(value) => value.fmt(f),
            Value::PciNumaAffinity(value) => value.fmt(f),
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
    pub emulatorpin: Option<CpuSet>,
    pub iothreadpin: Option<IoThreadPins>,
    /// `None` is the default, preferred.
    pub pci_numa_affinity: Option<PciNumaAffinity>,
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
            Value::EmulatorPin(value) => self.emulatorpin = Some(value),
            Value::IoThreadPin(value) => self.iothreadpin = Some(value),
            Value::PciNumaAffinity(value) => self.pci_numa_affinity = Some(value),
        }
    }

    /// True when nothing in the domain XML is asked for: the rewrite then
    /// does not even open the file.
    pub fn leaves_domain_alone(&self) -> bool {
        self.cputune.is_none()
            && self.numatune.is_none()
            && self.guestnuma.is_none()
            && self.emulatorpin.is_none()
            && self.iothreadpin.is_none()
            && self.pci_numa_affinity.is_none()
    }
}
