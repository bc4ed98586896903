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
use crate::properties::guestnuma::{self, GuestNuma};
use crate::properties::numatune::{self, NumaTune, Placement};
use crate::properties::Request;
use crate::verify::live::{LiveDomain, XmlPlacement};

use super::report::{Checks, CpuAsk, MemoryAsk};

/// Where what was asked is read: the properties found in the metadata, as
/// the hook reads them, and the domain XML that says the rest. A property
/// value the grammar refuses is a difference in itself (the hook would have
/// refused to start the VM).
pub(super) struct AskedFrom<'l> {
    pub(super) properties: Request,
    pub(super) xml: &'l XmlPlacement,
    /// The XML is the persistent definition, not the live one.
    pub(super) defined: bool,
}

impl AskedFrom<'_> {
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

impl<'l> AskedFrom<'l> {
    pub(super) fn read(live: &'l LiveDomain, checks: &mut Checks) -> AskedFrom<'l> {
        let mut properties = Request::default();
        for (property, value) in &live.properties.0 {
            if let Err(err) = properties.read(*property, value) {
                let why =
                    format!("{err} (the value in the VM's metadata, which the hook would refuse)");
                checks.add(property.name(), false, why);
            }
        }
        let defined = live.defined.as_ref().filter(|_| live.properties.is_empty());
        AskedFrom {
            properties,
            xml: defined.map_or(&live.placement, |d| &d.placement),
            defined: defined.is_some(),
        }
    }
}

/// The first of the candidates that is set.
pub(super) fn first_asked(candidates: &[(Option<&CpuSet>, &'static str)]) -> Option<CpuAsk> {
    candidates.iter().find_map(|&(set, by)| {
        Some(CpuAsk {
            set: set?.clone(),
            by,
        })
    })
}

/// libvirt's own default for a thread with no pin of its own.
pub(super) fn default_pins<'a>(
    live: &'a LiveDomain,
    from: &'a AskedFrom,
) -> [(Option<&'a CpuSet>, &'static str); 2] {
    [
        (from.xml.vcpu_cpuset.as_ref(), from.element("<vcpu cpuset>")),
        (live.numad_cpus.as_ref(), "numad"),
    ]
}

/// What was asked of a cell's memory (or the whole guest's, `None`), first
/// found: the cell's host nodes in guestnuma, its `<memnode>`, numatune,
/// `<numatune><memory>`, numad's nodes. A memnode's mode is numatune's, as
/// the hook writes it.
pub(super) fn memory_ask(
    live: &LiveDomain,
    from: &AskedFrom,
    cell: Option<u32>,
) -> Option<MemoryAsk> {
    let xml = from.xml;
    let live_mode = xml.numatune.as_ref().map(|tune| tune.mode);
    let property_mode = from.properties.numatune.as_ref().map(|tune| tune.mode);
    let cell_nodes = match (&from.properties.guestnuma, cell) {
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
            by: from.element("<memnode>"),
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
    let from_property = from
        .properties
        .numatune
        .as_ref()
        .and_then(|t| tune(t, numatune::PROPERTY));
    let by_xml = from.element("<numatune>");
    from_property.or_else(|| xml.numatune.as_ref().and_then(|t| tune(t, by_xml)))
}
