//! Guest cells against the guest's CPU topology. A core's threads must
//! share a cell: QEMU starts the guest either way, but a Linux guest then
//! logs a kernel WARNING and drops the SMT relation of the split core. A die
//! or socket split across cells is something real hosts do too (sub-NUMA
//! clustering), so it is allowed and said.

use crate::cpuset::CpuSet;
use crate::domain::facts::GuestTopology;
use crate::plan::refusal::Refusal;
use crate::plan::warning::{TopologyHint, Warning};
use crate::properties::guestnuma::GuestCell;

/// Refuses a split core; warns once per level about split dies and sockets.
/// Runs after the cells were checked to cover exactly vCPUs 0..vcpus.
pub(crate) fn check(
    cells: &[GuestCell],
    vcpus: u32,
    topology: &GuestTopology,
) -> Result<Vec<Warning>, Refusal> {
    if !topology.holds(vcpus) {
        return Ok(Vec::new());
    }
    let levels = topology.levels();
    let owner = owners(cells, vcpus);
    let mut warnings = Vec::new();
    for (index, &(level, size)) in levels.iter().enumerate() {
        // A level as large as the next is that level: one die per socket is the socket.
        let same_as_next = levels.get(index + 1).is_some_and(|&(_, next)| next == size);
        if size == 1 || same_as_next {
            continue;
        }
        let Some(split) = first_split(&owner, size as usize) else {
            continue;
        };
        if level == "core" {
            let second = split.start + split.change;
            return Err(Refusal::CoreSplit {
                first: second - 1,
                second,
                first_cell: owner[second as usize - 1],
                second_cell: owner[second as usize],
                threads: topology.threads,
            });
        }
        // Whole units per cell are possible only when each cell's vCPU
        // count is a multiple of the unit; else the unit itself must shrink.
        let cells_can_hold = cells
            .iter()
            .all(|cell| (cell.cpus.len() as u64).is_multiple_of(size));
        warnings.push(Warning::SplitsTopology {
            level,
            id: split.index,
            vcpus: CpuSet::from_range(split.start, split.start + size as u32 - 1),
            cells: split.cells,
            size,
            hint: match cells_can_hold {
                true => TopologyHint::WholeUnits,
                false => TopologyHint::OneUnitPerCell { cells: cells.len() },
            },
        });
    }
    Ok(warnings)
}

/// The cell of each vCPU.
fn owners(cells: &[GuestCell], vcpus: u32) -> Vec<usize> {
    let mut owner = vec![0; vcpus as usize];
    for (index, cell) in cells.iter().enumerate() {
        for vcpu in cell.cpus.iter().filter(|&v| v < vcpus) {
            owner[vcpu as usize] = index;
        }
    }
    owner
}

/// A unit of the topology whose vCPUs are not all in one cell.
struct Split {
    index: u64,
    start: u32,
    /// The offset of the first vCPU in another cell than the unit's first.
    change: u32,
    cells: String,
}

fn first_split(owner: &[usize], size: usize) -> Option<Split> {
    owner.chunks(size).enumerate().find_map(|(index, unit)| {
        let change = unit.iter().position(|&cell| cell != unit[0])?;
        let mut spanned = unit.to_vec();
        spanned.sort_unstable();
        spanned.dedup();
        let names: Vec<String> = spanned.iter().map(usize::to_string).collect();
        Some(Split {
            index: index as u64,
            start: (index * size) as u32,
            change: change as u32,
            cells: join(&names),
        })
    })
}

/// `0 and 1`, `0, 1 and 2`.
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
