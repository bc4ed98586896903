//! What was asked of the guest: the VM's custom properties first, else a
//! domain XML, else libvirt's defaults (`<vcpu cpuset>`, numad).
//!
//! Which domain XML: the live one follows a live re-pin, so it cannot tell
//! the pin asked from the pin now. A domain with custom properties has them
//! to say what was asked, and the live XML only fills in; one without them
//! (started from `apply`'s output, outside oVirt) is judged against its
//! persistent definition, which a live change leaves alone. A transient
//! domain without properties has only the live XML.

use crate::cpuset::CpuSet;
use crate::properties::cputune::{self, CpuTune};
use crate::properties::emulatorpin;
use crate::properties::guestnuma::{self, GuestNuma};
use crate::properties::iothreadpin::{self, IoThreadPins};
use crate::properties::numatune::{self, NumaTune, Placement};
use crate::verify::live::{LiveDomain, XmlPlacement};

use super::report::{Asked, Checks, MemoryAsk};

/// The properties found in the metadata, and the domain XML that says the
/// rest; a property value the grammar refuses is a difference in itself
/// (the hook would have refused to start the VM).
pub(super) struct Requested<'l> {
    pub(super) cputune: Option<CpuTune>,
    pub(super) numatune: Option<NumaTune>,
    pub(super) guestnuma: Option<GuestNuma>,
    pub(super) emulatorpin: Option<CpuSet>,
    pub(super) iothreadpin: Option<IoThreadPins>,
    pub(super) xml: &'l XmlPlacement,
    /// The XML is the persistent definition, not the live one.
    pub(super) defined: bool,
}

impl Requested<'_> {
    /// An element of the XML asked from, as the report names it.
    pub(super) fn element(&self, element: &'static str) -> &'static str {
        match (self.defined, element) {
            (false, element) => element,
            (true, "<vcpupin>") => "defined <vcpupin>",
            (true, "<emulatorpin>") => "defined <emulatorpin>",
            (true, "<iothreadpin>") => "defined <iothreadpin>",
            (true, "<memnode>") => "defined <memnode>",
            (true, "<numatune>") => "defined <numatune>",
            (true, "<vcpu cpuset>") => "defined <vcpu cpuset>",
            (true, element) => element,
        }
    }
}

/// Says which sources `verify` asked from, for the report's header.
pub(super) fn asked_from(live: &LiveDomain) -> String {
    match (&live.defined, live.properties.is_empty()) {
        (_, false) => "the VM's custom properties (in the domain's metadata), then the live domain XML".into(),
        (Some(defined), true) => format!(
            "the persistent definition {} (the domain carries no custom properties in its metadata)",
            defined.path.display()
        ),
        (None, true) => "the live domain XML (no custom properties in the metadata, and no persistent definition: a live re-pin cannot be told from what was asked)".into(),
    }
}

pub(super) fn requested<'l>(live: &'l LiveDomain, checks: &mut Checks) -> Requested<'l> {
    fn parsed<T, E: std::fmt::Display>(
        name: &str,
        value: &Option<String>,
        parse: impl Fn(&str) -> Result<T, E>,
        checks: &mut Checks,
    ) -> Option<T> {
        match parse(value.as_deref()?) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                let why =
                    format!("{err} (the value in the VM's metadata, which the hook would refuse)");
                checks.add(name, false, why);
                None
            }
        }
    }
    let props = &live.properties;
    let defined = live.defined.as_ref().filter(|_| props.is_empty());
    Requested {
        cputune: parsed(cputune::PROPERTY, &props.cputune, cputune::parse, checks),
        numatune: parsed(numatune::PROPERTY, &props.numatune, numatune::parse, checks),
        guestnuma: parsed(
            guestnuma::PROPERTY,
            &props.guestnuma,
            guestnuma::parse,
            checks,
        ),
        emulatorpin: parsed(
            emulatorpin::PROPERTY,
            &props.emulatorpin,
            emulatorpin::parse,
            checks,
        ),
        iothreadpin: parsed(
            iothreadpin::PROPERTY,
            &props.iothreadpin,
            iothreadpin::parse,
            checks,
        ),
        xml: defined.map_or(&live.placement, |d| &d.placement),
        defined: defined.is_some(),
    }
}

/// The first of the candidates that is set.
pub(super) fn first_asked(candidates: &[(Option<&CpuSet>, &'static str)]) -> Option<Asked> {
    candidates.iter().find_map(|&(set, by)| {
        Some(Asked {
            set: set?.clone(),
            by,
        })
    })
}

/// libvirt's own default for a thread with no pin of its own.
pub(super) fn default_pins<'a>(
    live: &'a LiveDomain,
    requested: &'a Requested,
) -> [(Option<&'a CpuSet>, &'static str); 2] {
    [
        (
            requested.xml.vcpu_cpuset.as_ref(),
            requested.element("<vcpu cpuset>"),
        ),
        (live.numad_cpus.as_ref(), "numad"),
    ]
}

/// What was asked of a cell's memory (or the whole guest's, `None`), first
/// found: the cell's host nodes in guestnuma, its `<memnode>`, numatune,
/// `<numatune><memory>`, numad's nodes. A memnode's mode is numatune's, as
/// the hook writes it.
pub(super) fn memory_ask(
    live: &LiveDomain,
    requested: &Requested,
    cell: Option<u32>,
) -> Option<MemoryAsk> {
    let xml = requested.xml;
    let live_mode = xml.numatune.as_ref().map(|tune| tune.mode);
    let property_mode = requested.numatune.as_ref().map(|tune| tune.mode);
    let cell_nodes = match (&requested.guestnuma, cell) {
        (Some(GuestNuma::Cells(cells)), Some(id)) => {
            cells.get(id as usize).and_then(|c| c.host_nodes.clone())
        }
        _ => None,
    };
    if let Some(nodes) = cell_nodes {
        let mode = property_mode.or(live_mode).unwrap_or_default();
        return Some(MemoryAsk {
            mode,
            nodes,
            by: guestnuma::PROPERTY,
        });
    }
    if let Some((mode, nodes)) = cell.and_then(|id| xml.memnodes.get(&id)) {
        return Some(MemoryAsk {
            mode: *mode,
            nodes: nodes.clone(),
            by: requested.element("<memnode>"),
        });
    }
    let tune = |tune: &NumaTune, by: &'static str| {
        let nodes = match &tune.placement {
            Placement::Nodes(nodes) => nodes.clone(),
            Placement::Auto => live.numad_nodes.clone()?,
        };
        let by = match tune.placement {
            Placement::Auto => "numad",
            Placement::Nodes(_) => by,
        };
        Some(MemoryAsk {
            mode: tune.mode,
            nodes,
            by,
        })
    };
    let from_property = requested
        .numatune
        .as_ref()
        .and_then(|t| tune(t, numatune::PROPERTY));
    let by_xml = requested.element("<numatune>");
    from_property.or_else(|| xml.numatune.as_ref().and_then(|t| tune(t, by_xml)))
}
