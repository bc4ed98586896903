//! The plan: from the request, the domain's facts and the host, every
//! decision the edit carries out, and every refusal. Imports `properties`,
//! `domain`, `host` and `xml`; the splice then only applies it.

pub(crate) mod backing;
pub(crate) mod binding;
pub(crate) mod cells;
pub(crate) mod cores;
pub(crate) mod devices;
pub(crate) mod fit;
pub(crate) mod hotplug;
pub(crate) mod hugepages;
pub(crate) mod memory_fit;
pub(crate) mod migration;
pub(crate) mod numatune;
pub(crate) mod placement;
pub(crate) mod policy;
pub mod refusal;
pub(crate) mod threads;
pub mod warning;

use crate::cpuset::CpuSet;
use crate::domain::facts::Domain;
use crate::host::topology::HostLimits;
use crate::properties::cputune::CpuTune;
use crate::properties::guestnuma::GuestNuma;
use crate::properties::iothreadpin::IoThreadPins;
use crate::properties::numatune::Placement;
use crate::properties::Request;
use crate::wording::count;

use self::backing::PageEdit;
use self::binding::MemoryBinding;
use self::cells::CellsPlan;
use self::numatune::NumaTunePlan;
use self::refusal::Refusal;
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
    /// The `<emulatorpin>` to write, replacing the VM's.
    pub emulatorpin: Option<CpuSet>,
    /// The iothreadpins to write: they replace the VM's pins of the same
    /// I/O threads; pins of other threads stay.
    pub iothreadpins: Option<IoThreadPins>,
    /// `<page nodeset>`s carried over to the new cells.
    pub page_edits: Vec<PageEdit<'a, 'i>>,
    /// What the VM will run with but not as well as it could, one line each.
    pub warnings: Vec<Warning>,
    /// The line VDSM logs about the edit.
    pub summary: String,
    /// The line naming the engine's CPU pinning policy the plan followed.
    pub cpu_policy: String,
}

/// Every check is made here, before a byte is written. Without `host` (sysfs
/// unreadable) the host checks are skipped: libvirt checks again at start.
pub fn plan<'a, 'i>(
    domain: &Domain<'a, 'i>,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Plan<'a, 'i>, Refusal> {
    let even = match &request.guestnuma {
        Some(GuestNuma::Even(count)) => Some(*count),
        _ => None,
    };
    let named = |err: Refusal| match even {
        Some(count) => err.from_even_split(count),
        None => err,
    };
    // First: what the engine's policy rules out, no value can fix.
    let mut warnings = policy::check(&domain.ovirt, domain.root, request, host)?;
    let cells = match &request.guestnuma {
        Some(guestnuma) => {
            let (cells, cell_warnings) = fit::resolve_cells(guestnuma, domain)?;
            warnings.extend(cell_warnings);
            Some(cells)
        }
        None => None,
    };
    fit::check_pins(request.cputune.as_ref(), domain)?;
    threads::check_iothreads(request, domain)?;
    if let Some(host) = host {
        fit::check_host(request, cells.as_deref(), host)?;
        threads::check_host(request, host)?;
    }
    let numatune =
        numatune::plan(domain, request.numatune.as_ref(), cells.as_deref()).map_err(named)?;
    let kernel = host.and_then(|host| host.kernel.as_ref());
    let binding = MemoryBinding::after(domain, numatune.as_ref());
    let pages = hugepages::plan(domain, cells.as_deref(), &binding, kernel).map_err(named)?;
    warnings.extend(pages.warnings);
    let vcpu_pins = threads::VcpuPins::of(request, domain);
    if let Some(kernel) = kernel {
        let count = cells.as_ref().map_or(domain.cells.len(), Vec::len);
        let policy = request.pci_numa_affinity.unwrap_or_default();
        warnings.extend(devices::check(domain, count, &binding, policy, kernel)?);
        let binds_cells = matches!(&request.guestnuma, Some(GuestNuma::Cells(cells))
            if cells.iter().any(|cell| cell.host_nodes.is_some()));
        let property = match (request.numatune.is_some(), binds_cells) {
            (false, true) => "guestnuma",
            _ => "numatune",
        };
        let fits = memory_fit::check(
            domain,
            cells.as_deref(),
            &binding,
            &vcpu_pins,
            property,
            &kernel.sysfs,
        );
        warnings.extend(fits?);
    }
    if threads::judged(request) {
        let isolated = isolated_cpus(kernel, &mut warnings);
        warnings.extend(threads::warnings(request, domain, &vcpu_pins, &isolated));
    }
    if let Some(kernel) = kernel {
        let sysfs = &kernel.sysfs;
        warnings.extend(threads::sibling_warnings(
            request, domain, &vcpu_pins, sysfs,
        ));
    }
    let mut summary = summary(request, cells.as_ref().map(Vec::len));
    if cells
        .as_ref()
        .is_some_and(|cells| cells::drops_distances(domain, cells.len()))
    {
        summary.push_str(", <distances> of the old cells dropped (they name old cell ids)");
    }
    if let Some(carried) = hugepages::summary(&pages.edits) {
        summary.push_str(&format!(", {carried}"));
    }
    let cells = match cells {
        Some(cells) => Some(cells::plan(domain, &cells).map_err(named)?),
        None => None,
    };
    Ok(Plan {
        pins: request.cputune.clone(),
        numatune,
        emulatorpin: request.emulatorpin.clone(),
        iothreadpins: request.iothreadpin.clone(),
        page_edits: pages.edits,
        cpu_policy: policy::describe(domain.ovirt.cpu_policy.as_ref()),
        warnings,
        summary,
        cells,
    })
}

/// The CPUs the host isolated, read only when a thread pin is judged.
fn isolated_cpus(
    kernel: Option<&crate::host::paths::KernelTrees>,
    warnings: &mut Vec<Warning>,
) -> CpuSet {
    let Some(kernel) = kernel else {
        return CpuSet::new();
    };
    match crate::host::isolation::Isolation::read(&kernel.sysfs) {
        Ok(isolation) => isolation.isolated,
        Err(err) => {
            warnings.push(Warning::CheckSkipped {
                check: "the isolated CPU check",
                reason: err.to_string(),
            });
            CpuSet::new()
        }
    }
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
    if let Some(cpus) = &request.emulatorpin {
        parts.push(format!("emulator on {}", crate::wording::Ids("CPU", cpus)));
    }
    if let Some(pins) = &request.iothreadpin {
        parts.push(format!("pinned {}", count(pins.pins.len(), "I/O thread")));
    }
    if parts.is_empty() {
        return match request.pci_numa_affinity {
            Some(_) => "devices checked; nothing to change".into(),
            None => "none of cputune, numatune, guestnuma is set; nothing to change".into(),
        };
    }
    parts.join(", ")
}
