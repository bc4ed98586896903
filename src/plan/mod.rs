//! The plan: from the request, the domain's facts and the host, every
//! decision the edit carries out, and every refusal. The splice then only
//! applies it, and cannot refuse.

pub mod cells;
pub mod error;
pub mod fit;
pub mod numatune;
pub mod topology;
pub mod warning;

use crate::domain::facts::Domain;
use crate::grammar::cputune::CpuTune;
use crate::grammar::numatune::Placement;
use crate::host::topology::HostLimits;
use crate::properties::Request;
use crate::wording::count;

use self::cells::CellsPlan;
use self::error::FitError;
use self::numatune::NumaTunePlan;
use self::warning::Warning;

#[derive(Debug)]
pub struct Plan<'a, 'i> {
    /// The vcpupins to write: they replace the VM's pins of the same
    /// vCPUs; pins of other vCPUs stay.
    pub pins: Option<CpuTune>,
    /// `None` leaves `<numatune>` as it is.
    pub numatune: Option<NumaTunePlan<'a, 'i>>,
    /// `None` leaves `<cpu><numa>` as it is.
    pub cells: Option<CellsPlan<'a, 'i>>,
    /// The line VDSM logs about the edit.
    pub summary: String,
    /// What goes through but is said, one line each.
    pub warnings: Vec<Warning>,
}

/// Every check is made here, before a byte is written. Without `host` (sysfs
/// unreadable) the host checks are skipped: libvirt checks again at start.
pub fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Plan<'a, 'i>, FitError> {
    let (cells, warnings) = match &request.guestnuma {
        Some(guestnuma) => {
            let (cells, warnings) = fit::resolve_cells(guestnuma, domain)?;
            (Some(cells), warnings)
        }
        None => (None, Vec::new()),
    };
    fit::check_pins(request.cputune.as_ref(), domain)?;
    if let Some(host) = host {
        fit::check_host(request, cells.as_deref(), host)?;
    }
    let numatune = numatune::plan(domain, request.numatune.as_ref(), cells.as_deref())?;
    let summary = summary(request, cells.as_ref().map(Vec::len));
    let cells = match cells {
        Some(cells) => {
            fit::check_pages(domain, cells.len())?;
            Some(cells::plan(domain, &cells)?)
        }
        None => None,
    };
    Ok(Plan {
        pins: request.cputune.clone(),
        numatune,
        summary,
        cells,
        warnings,
    })
}

fn summary(request: &Request, cells: Option<usize>) -> String {
    let mut parts = Vec::new();
    if let Some(cputune) = &request.cputune {
        parts.push(format!("pinned {}", count(cputune.pins.len(), "vCPU")));
    }
    if let Some(numatune) = &request.numatune {
        parts.push(match &numatune.placement {
            Placement::Nodes(nodes) if nodes.len() == 1 => {
                format!("memory {} on node {nodes}", numatune.mode)
            }
            Placement::Nodes(nodes) => format!("memory {} on nodes {nodes}", numatune.mode),
            Placement::Auto => format!("memory {} placed by numad", numatune.mode),
        });
    }
    if let Some(cells) = cells {
        parts.push(count(cells, "guest NUMA cell"));
    }
    if parts.is_empty() {
        return "none of cputune, numatune, guestnuma is set; nothing to change".into();
    }
    parts.join(", ")
}
