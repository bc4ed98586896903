//! Whether the properties fit the VM and the host: every check the edit
//! makes before a byte is written, each a refusal that says what libvirt
//! would otherwise have done quietly (drop a pin, resize the guest) or
//! failed at start.

use crate::cpuset::{CpuSet, NodeSet, MAX_ID};
use crate::domain::facts::{Domain, GuestTopology};
use crate::host::topology::HostLimits;
use crate::plan::cores;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::cputune::CpuTune;
use crate::properties::guestnuma::{GuestCell, GuestNuma};
use crate::properties::numatune::{NumaTune, Placement};
use crate::properties::Request;
use crate::wording;

pub(crate) fn check_pins(cputune: Option<&CpuTune>, domain: &Domain) -> Result<(), Refusal> {
    let max = domain.vcpus;
    match cputune.and_then(|tune| tune.pins.iter().find(|pin| pin.vcpu >= max)) {
        Some(pin) => Err(Refusal::PinPastVcpus {
            vcpu: pin.vcpu,
            max,
        }),
        None => Ok(()),
    }
}

/// The cells to write: the ones given, checked against the VM, or `N`
/// equal ones split from its vCPUs and memory.
/// With the guest's topology, no cell may split a core; split dies and
/// sockets come back as warnings.
pub(crate) fn resolve_cells(
    guestnuma: &GuestNuma,
    domain: &Domain,
) -> Result<(Vec<GuestCell>, Vec<Warning>), Refusal> {
    if domain.vcpus > MAX_ID + 1 {
        return Err(Refusal::PastCellLimit {
            vcpus: domain.vcpus,
        });
    }
    let cells = match guestnuma {
        GuestNuma::Cells(cells) => cells.clone(),
        GuestNuma::Even(count) => split_evenly(*count, domain)?,
    };
    check_cells(&cells, domain)?;
    // virCPUDefParseXML reads clusters from libvirt 10.1 on; EL8's 8.0 and
    // EL9's 9.x ignore the attribute, so the size of a die or socket, and
    // whether the domain defines at all, depend on the host's libvirt.
    if let Some(clusters) = domain.topology.map(|t| t.clusters).filter(|&c| c != 1) {
        return Err(Refusal::ClustersByVersion { clusters });
    }
    let warnings = match &domain.topology {
        Some(shape) => cores::check(&cells, domain.vcpus, shape)?,
        None => Vec::new(),
    };
    Ok((cells, warnings))
}

fn split_evenly(count: usize, domain: &Domain) -> Result<Vec<GuestCell>, Refusal> {
    let vcpus = domain.vcpus as usize;
    if !vcpus.is_multiple_of(count) {
        let why = format!(
            "{} cannot be split into {}; choose a count that divides {vcpus}",
            wording::count(vcpus, "vCPU"),
            wording::count(count, "equal cell")
        );
        return Err(Refusal::CannotSplit(why));
    }
    let per_cell = (vcpus / count) as u32;
    if let Some(shape) = domain.topology.as_ref().filter(|t| t.holds(domain.vcpus)) {
        check_whole_cores(count, per_cell, domain.vcpus, shape)?;
    }
    let total = split_memory(count, domain)?;
    let (mib, extra) = (total / 1024 / count as u64, total / 1024 % count as u64);
    Ok((0..count)
        .map(|index| GuestCell {
            cpus: CpuSet::from_range(index as u32 * per_cell, (index as u32 + 1) * per_cell - 1),
            memory_kib: (mib + u64::from((index as u64) < extra)) * 1024,
            host_nodes: None,
        })
        .collect())
}

/// Cells of `per_cell` consecutive vCPUs keep cores whole when they hold a
/// whole number of them; the message names the first core they would split.
fn check_whole_cores(
    count: usize,
    per_cell: u32,
    vcpus: u32,
    shape: &GuestTopology,
) -> Result<(), Refusal> {
    let threads = shape.threads;
    if per_cell.is_multiple_of(threads) {
        return Ok(());
    }
    let start = per_cell - per_cell % threads;
    Err(Refusal::EvenSplitSplitsCores {
        cells: count,
        per_cell,
        split_core: CpuSet::from_range(start, start + threads - 1),
        threads,
        cores: u64::from(vcpus / threads),
    })
}

/// The memory the cells share (`<memory>` less the memory devices), when it
/// splits into `count` cells of whole MiB.
fn split_memory(count: usize, domain: &Domain) -> Result<u64, Refusal> {
    // With cells, libvirt gives the guest their sum, not <memory>.
    let Some(total) = domain.cells_memory_kib() else {
        return Err(Refusal::CannotSplit(
            "the domain has no <memory> to split".into(),
        ));
    };
    let cells = wording::count(count, "cell");
    if total % 1024 != 0 {
        let why = match &domain.memory_decimal_unit {
            Some(unit) => format!(
                "{total} KiB of memory cannot be split into {cells} of whole MiB: <memory unit={}> counts in decimal units (1 {} = {} bytes); give <memory> in MiB or GiB",
                crate::wording::quoted(unit),
                crate::wording::bare(unit),
                decimal_bytes(unit)
            ),
            None => format!(
                "{total} KiB of memory cannot be split into {cells} of whole MiB; make <memory> a whole number of MiB"
            ),
        };
        return Err(Refusal::CannotSplit(why));
    }
    if total / 1024 < count as u64 {
        let why = format!("{total} KiB of memory is less than 1 MiB for each of {cells}");
        return Err(Refusal::CannotSplit(why));
    }
    Ok(total)
}

/// Bytes in one of a decimal unit: `KB` 1000, `MB` 1000000, ...
fn decimal_bytes(unit: &str) -> u64 {
    let power = "kmgtpe"
        .find(unit.to_ascii_lowercase().chars().next().unwrap_or('k'))
        .unwrap_or(0) as u32
        + 1;
    1000u64.saturating_pow(power)
}

fn check_cells(cells: &[GuestCell], domain: &Domain) -> Result<(), Refusal> {
    let max = domain.vcpus;
    let all = CpuSet::first_n(max);
    let mut covered = CpuSet::new();
    for cell in cells {
        for &(lo, hi) in cell.cpus.ranges() {
            covered.insert_range(lo, hi);
        }
    }
    let past = covered.difference(&all);
    if !past.is_empty() {
        return Err(Refusal::CellsPastVcpus { vcpus: past, max });
    }
    let missing = all.difference(&covered);
    if !missing.is_empty() {
        return Err(Refusal::VcpusInNoCell { missing, max });
    }
    if let Some((cell, kib)) = cells
        .iter()
        .map(|c| c.memory_kib)
        .enumerate()
        .find(|(_, kib)| kib % 1024 != 0)
    {
        return Err(Refusal::CellNotWholeMib { cell, kib });
    }
    check_memory_sum(cells, domain)?;
    match domain
        .device_nodes
        .iter()
        .find(|&&node| node as usize >= cells.len())
    {
        Some(&node) => Err(Refusal::DimmWithoutCell {
            node,
            cells: cells.len(),
        }),
        None => Ok(()),
    }
}

fn check_memory_sum(cells: &[GuestCell], domain: &Domain) -> Result<(), Refusal> {
    let Some(expected) = domain.cells_memory_kib() else {
        return Ok(());
    };
    let sum = cells
        .iter()
        .fold(0u64, |sum, cell| sum.saturating_add(cell.memory_kib));
    if sum == expected {
        return Ok(());
    }
    let memory = domain.memory_kib.unwrap_or(0);
    let by_memory = memory.saturating_sub(domain.device_memory_kib);
    let explained = match (domain.cells.len(), domain.device_memory_kib) {
        // libvirt sizes a guest with cells from their sum (virDomainDefPostParseMemory).
        (old, _) if old > 0 && expected != by_memory => format!(
            "the sum of its {}, which libvirt gives it whatever <memory> says",
            crate::wording::count(old, "cell")
        ),
        (_, 0) => format!("<memory> is {memory} KiB"),
        (_, devices) => format!("<memory> {memory} KiB minus {devices} KiB of memory devices"),
    };
    Err(Refusal::MemoryMismatch {
        cells: sum,
        expected,
        explained,
    })
}

pub(crate) fn check_host(
    request: &Request,
    cells: Option<&[GuestCell]>,
    host: &HostLimits,
) -> Result<(), Refusal> {
    if let Some(cputune) = &request.cputune {
        let mut pinned = CpuSet::new();
        for pin in &cputune.pins {
            for &(lo, hi) in pin.cpuset.ranges() {
                pinned.insert_range(lo, hi);
            }
        }
        let missing = pinned.difference(&host.online_cpus);
        if !missing.is_empty() {
            let online = host.online_cpus.clone();
            return Err(Refusal::CpusNotOnline {
                property: "cputune",
                missing,
                online,
            });
        }
    }
    if let Some(NumaTune {
        placement: Placement::Nodes(nodes),
        ..
    }) = &request.numatune
    {
        check_nodes("numatune", nodes, host)?;
    }
    for nodes in cells
        .unwrap_or_default()
        .iter()
        .filter_map(|cell| cell.host_nodes.as_ref())
    {
        check_nodes("guestnuma", nodes, host)?;
    }
    Ok(())
}

fn check_nodes(property: &'static str, nodes: &NodeSet, host: &HostLimits) -> Result<(), Refusal> {
    let missing = nodes.difference(&host.memory_nodes);
    match missing.is_empty() {
        true => Ok(()),
        false => {
            let nodes = host.memory_nodes.clone();
            Err(Refusal::NodesWithoutMemory {
                property,
                missing,
                nodes,
            })
        }
    }
}
