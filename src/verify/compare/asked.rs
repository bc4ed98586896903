//! What was asked of the guest: the VM's custom properties first, else the
//! domain XML, else libvirt's defaults (`<vcpu cpuset>`, numad).

use crate::cpuset::CpuSet;
use crate::properties::cputune::{self, CpuTune};
use crate::properties::guestnuma::{self, GuestNuma};
use crate::properties::numatune::{self, NumaTune, Placement};
use crate::verify::live::LiveDomain;

use super::report::{Asked, Checks, MemoryAsk};

/// The properties found in the metadata; a value the grammar refuses is a
/// difference in itself (the hook would have refused to start the VM).
#[derive(Default)]
pub(super) struct Requested {
    pub(super) cputune: Option<CpuTune>,
    pub(super) numatune: Option<NumaTune>,
    pub(super) guestnuma: Option<GuestNuma>,
}

pub(super) fn requested(live: &LiveDomain, checks: &mut Checks) -> Requested {
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
    Requested {
        cputune: parsed(cputune::PROPERTY, &props.cputune, cputune::parse, checks),
        numatune: parsed(numatune::PROPERTY, &props.numatune, numatune::parse, checks),
        guestnuma: parsed(
            guestnuma::PROPERTY,
            &props.guestnuma,
            guestnuma::parse,
            checks,
        ),
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
pub(super) fn default_pins(live: &LiveDomain) -> [(Option<&CpuSet>, &'static str); 2] {
    [
        (live.vcpu_cpuset.as_ref(), "<vcpu cpuset>"),
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
    let live_mode = live.numatune.as_ref().map(|tune| tune.mode);
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
    if let Some((mode, nodes)) = cell.and_then(|id| live.memnodes.get(&id)) {
        return Some(MemoryAsk {
            mode: *mode,
            nodes: nodes.clone(),
            by: "<memnode>",
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
    from_property.or_else(|| live.numatune.as_ref().and_then(|t| tune(t, "<numatune>")))
}
