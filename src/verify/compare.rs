//! What was asked, what the kernel shows, and the checks between them.
//!
//! What was asked comes first from the VM's custom properties (what the
//! administrator set), else from the live domain XML (what libvirt holds
//! now), else from libvirt's defaults (`<vcpu cpuset>`, numad). The kernel's
//! side is always `/proc`: a pin libvirt records but the thread does not
//! have, or memory on a node the policy should keep it off, differs.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::cpuset::{CpuSet, NodeSet};
use crate::properties::cputune::{self, CpuTune};
use crate::properties::guestnuma::{self, GuestNuma};
use crate::properties::numatune::{self, MemoryMode, NumaTune, Placement};

use super::live::LiveDomain;
use super::proc::{Mapping, Policy, PolicyMode, Process, Thread};

/// Memory of a cell outside its asked nodes is tolerated up to this share
/// of the cell: numa_maps is read page by page while the guest runs, and a
/// page or two in flight (KSM's shared copy, a page being migrated) must not
/// make a healthy guest differ...
pub const TOLERANCE_PERCENT: u64 = 1;
/// ...but never more than this, so a large cell cannot hide gigabytes.
pub const TOLERANCE_CAP_KIB: u64 = 256 * 1024;

/// One comparison; `detail` is the line an administrator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub what: String,
    pub holds: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Holds,
    Differs,
    /// Nothing was asked of it: shown, not checked.
    Unasked,
}

impl Verdict {
    fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Differs, _) | (_, Verdict::Differs) => Verdict::Differs,
            (Verdict::Holds, _) | (_, Verdict::Holds) => Verdict::Holds,
            _ => Verdict::Unasked,
        }
    }
}

/// Where a set of host CPUs or nodes was asked, as an administrator names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asked {
    #[serde(serialize_with = "as_text")]
    pub set: CpuSet,
    pub by: &'static str,
}

/// A vCPU, the emulator or an I/O thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadRow {
    pub what: String,
    pub tid: Option<u32>,
    pub asked: Option<Asked>,
    #[serde(serialize_with = "option_as_text")]
    pub allowed: Option<CpuSet>,
    pub last_cpu: Option<u32>,
    pub verdict: Verdict,
}

/// A guest cell's memory placement as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryAsk {
    #[serde(serialize_with = "mode_text")]
    pub mode: MemoryMode,
    #[serde(serialize_with = "as_text")]
    pub nodes: NodeSet,
    pub by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HugePages {
    pub node: u32,
    pub size_kib: u64,
    pub count: u64,
}

/// A guest cell, or the whole guest when it has no cells.
#[derive(Debug, Clone, Serialize)]
pub struct CellRow {
    pub cell: Option<u32>,
    #[serde(serialize_with = "as_text")]
    pub vcpus: CpuSet,
    /// `<cell memory>`, or the whole guest's RAM.
    pub memory_kib: u64,
    /// Memory devices (DIMMs...) plugged into the cell.
    pub device_kib: u64,
    pub asked: Option<MemoryAsk>,
    /// The kernel's policy of each of its mappings, as numa_maps prints it.
    #[serde(serialize_with = "all_as_text")]
    pub policies: Vec<Policy>,
    pub kib_per_node: BTreeMap<u32, u64>,
    pub huge_pages: Vec<HugePages>,
    pub outside_kib: u64,
    pub tolerance_kib: u64,
    /// Backends of the cell no mapping was found for.
    pub missing: Vec<String>,
    pub verdict: Verdict,
}

/// Everything `verify` found, and the checks.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub uuid: String,
    pub pid: u32,
    pub vcpus: Vec<ThreadRow>,
    #[serde(serialize_with = "as_text")]
    pub offline_vcpus: CpuSet,
    pub threads: Vec<ThreadRow>,
    pub cells: Vec<CellRow>,
    /// The rest of the QEMU process's memory (its code, heap, device
    /// buffers), per host node: shown as numastat shows it, not checked.
    pub qemu_kib_per_node: BTreeMap<u32, u64>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn differences(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.holds)
    }

    pub fn holding(&self) -> usize {
        self.checks.iter().filter(|check| check.holds).count()
    }
}

fn as_text<S: Serializer>(set: &CpuSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(set)
}

fn option_as_text<S: Serializer>(set: &Option<CpuSet>, serializer: S) -> Result<S::Ok, S::Error> {
    match set {
        Some(set) => serializer.collect_str(set),
        None => serializer.serialize_none(),
    }
}

fn all_as_text<S: Serializer>(policies: &[Policy], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(policies.iter().map(|policy| policy.text.as_str()))
}

fn mode_text<S: Serializer>(mode: &MemoryMode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(mode.as_str())
}

/// `CPU 3` or `CPUs 0-3`, `node 1` or `nodes 0-1`.
fn ids(noun: &str, set: &CpuSet) -> String {
    match set.len() {
        1 => format!("{noun} {set}"),
        0 => format!("no {noun}s"),
        _ => format!("{noun}s {set}"),
    }
}

/// MiB as an administrator reads it in a message.
fn mib(kib: u64) -> String {
    match kib {
        0 => "0 MiB".into(),
        kib if kib < 1024 => format!("{kib} KiB"),
        kib => format!("{} MiB", kib.div_ceil(1024)),
    }
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, what: impl Into<String>, holds: bool, detail: String) -> Verdict {
        self.0.push(Check {
            what: what.into(),
            holds,
            detail,
        });
        match holds {
            true => Verdict::Holds,
            false => Verdict::Differs,
        }
    }
}

/// The properties found in the metadata; a value the grammar refuses is a
/// difference in itself (the hook would have refused to start the VM).
#[derive(Default)]
struct Requested {
    cputune: Option<CpuTune>,
    numatune: Option<NumaTune>,
    guestnuma: Option<GuestNuma>,
}

fn requested(live: &LiveDomain, checks: &mut Checks) -> Requested {
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

pub fn compare(live: &LiveDomain, process: &Process) -> Report {
    let mut checks = Checks::default();
    let asked = requested(live, &mut checks);
    let (vcpus, offline_vcpus) = vcpu_rows(live, process, &asked, &mut checks);
    let threads = thread_rows(live, process, &mut checks);
    let memory = MemoryRows::new(live, process, &asked);
    let (cells, qemu_kib_per_node) = memory.rows(&asked, &mut checks);
    Report {
        domain: live.name.clone(),
        uuid: live.uuid.clone(),
        pid: live.pid,
        vcpus,
        offline_vcpus,
        threads,
        cells,
        qemu_kib_per_node,
        checks: checks.0,
    }
}

/// The first of the candidates that is set.
fn first_asked(candidates: &[(Option<&CpuSet>, &'static str)]) -> Option<Asked> {
    candidates.iter().find_map(|&(set, by)| {
        Some(Asked {
            set: set?.clone(),
            by,
        })
    })
}

/// libvirt's own default for a thread with no pin of its own.
fn default_pins(live: &LiveDomain) -> [(Option<&CpuSet>, &'static str); 2] {
    [
        (live.vcpu_cpuset.as_ref(), "<vcpu cpuset>"),
        (live.numad_cpus.as_ref(), "numad"),
    ]
}

fn vcpu_rows(
    live: &LiveDomain,
    process: &Process,
    requested: &Requested,
    checks: &mut Checks,
) -> (Vec<ThreadRow>, CpuSet) {
    let mut rows = Vec::new();
    let mut offline = CpuSet::new();
    for vcpu in 0..live.vcpus {
        let recorded = live.vcpu_threads.get(&vcpu).copied();
        let thread = vcpu_thread(process, vcpu, recorded);
        if thread.is_none() && recorded.is_none() {
            offline.insert(vcpu);
            continue;
        }
        let property = requested
            .cputune
            .as_ref()
            .and_then(|tune| tune.pins.iter().find(|pin| pin.vcpu == vcpu))
            .map(|pin| &pin.cpuset);
        let live_pin = live.vcpupins.get(&vcpu);
        let [by_default, by_numad] = default_pins(live);
        let asked = first_asked(&[
            (property, cputune::PROPERTY),
            (live_pin, "<vcpupin>"),
            by_default,
            by_numad,
        ]);
        let what = format!("vCPU {vcpu}");
        let verdict = match (thread, &asked) {
            (None, _) => {
                let detail = format!(
                    "{what}: libvirt records thread {} but QEMU process {} has no thread 'CPU {vcpu}/...'; the status file may be stale",
                    recorded.unwrap_or_default(),
                    process.pid
                );
                checks.add(&what, false, detail)
            }
            (Some(_), None) => Verdict::Unasked,
            (Some(thread), Some(asked)) => affinity_check(checks, &what, thread, asked, || {
                vcpu_difference(&what, thread, asked, live_pin)
            }),
        };
        rows.push(thread_row(what, thread, recorded, asked, verdict));
    }
    (rows, offline)
}

/// libvirt's thread id when that thread is the vCPU's, else the thread QEMU
/// named after the vCPU.
fn vcpu_thread(process: &Process, vcpu: u32, recorded: Option<u32>) -> Option<&Thread> {
    let prefix = format!("CPU {vcpu}/");
    recorded
        .and_then(|tid| process.thread(tid))
        .filter(|thread| thread.name.starts_with(&prefix))
        .or_else(|| process.threads.iter().find(|t| t.name.starts_with(&prefix)))
}

/// Says who most likely moved the vCPU: libvirt recording the new pin means
/// it was re-pinned through libvirt after start; libvirt still recording
/// the asked pin means something outside libvirt changed the affinity.
fn vcpu_difference(
    what: &str,
    thread: &Thread,
    asked: &Asked,
    live_pin: Option<&CpuSet>,
) -> String {
    let head = format!(
        "{what}: {} asks host {}, but its thread (tid {}) may run on {}",
        asked.by,
        ids("CPU", &asked.set),
        thread.tid,
        ids("CPU", &thread.allowed)
    );
    let why = match live_pin {
        Some(pin) if *pin == asked.set => format!(
            "libvirt still records {}, so the affinity was changed outside libvirt (taskset, a cgroup cpuset)",
            ids("CPU", pin)
        ),
        Some(pin) => format!(
            "the live XML pins it to {}: re-pinned after start (virsh vcpupin, or VDSM's CPU management when the VM's CPU pinning policy is not Manual)",
            ids("CPU", pin)
        ),
        None => "the live XML does not pin it: the pin was never written (is the hook installed on this host?) or was removed after start".into(),
    };
    format!("{head}; {why}")
}

/// Whether the thread may run exactly where asked; `difference` says how
/// it may not.
fn affinity_check(
    checks: &mut Checks,
    what: &str,
    thread: &Thread,
    asked: &Asked,
    difference: impl FnOnce() -> String,
) -> Verdict {
    let holds = thread.allowed == asked.set;
    let detail = match holds {
        true => format!(
            "{what}: runs on {} as {} asks",
            ids("CPU", &thread.allowed),
            asked.by
        ),
        false => difference(),
    };
    checks.add(what, holds, detail)
}

fn thread_row(
    what: String,
    thread: Option<&Thread>,
    recorded: Option<u32>,
    asked: Option<Asked>,
    verdict: Verdict,
) -> ThreadRow {
    ThreadRow {
        what,
        tid: thread.map(|t| t.tid).or(recorded),
        asked,
        allowed: thread.map(|t| t.allowed.clone()),
        last_cpu: thread.and_then(|t| t.last_cpu),
        verdict,
    }
}

/// The emulator (QEMU's main thread) and each I/O thread.
fn thread_rows(live: &LiveDomain, process: &Process, checks: &mut Checks) -> Vec<ThreadRow> {
    let [by_default, by_numad] = default_pins(live);
    let mut rows = Vec::new();
    let emulator = first_asked(&[
        (live.emulatorpin.as_ref(), "<emulatorpin>"),
        by_default,
        by_numad,
    ]);
    let main = process.thread(process.pid);
    rows.push(pinned_thread(
        "emulator",
        "the main QEMU thread".into(),
        main,
        emulator,
        checks,
    ));
    for &id in &live.iothreads {
        let asked = first_asked(&[
            (live.iothreadpins.get(&id), "<iothreadpin>"),
            by_default,
            by_numad,
        ]);
        let name = format!("IO iothread{id}");
        let thread = process.thread_named(&name);
        rows.push(pinned_thread(
            &format!("iothread {id}"),
            format!("its thread '{name}'"),
            thread,
            asked,
            checks,
        ));
    }
    rows
}

fn pinned_thread(
    what: &str,
    thread_words: String,
    thread: Option<&Thread>,
    asked: Option<Asked>,
    checks: &mut Checks,
) -> ThreadRow {
    let verdict = match (&asked, thread) {
        (None, _) => Verdict::Unasked,
        (Some(asked), None) => {
            let detail = format!(
                "{what}: {} asks host {}, but QEMU has no such thread ({thread_words})",
                asked.by,
                ids("CPU", &asked.set)
            );
            checks.add(what, false, detail)
        }
        (Some(asked), Some(thread)) => affinity_check(checks, what, thread, asked, || {
            format!(
                "{what}: {} asks host {}, but {thread_words} (tid {}) may run on {}",
                asked.by,
                ids("CPU", &asked.set),
                thread.tid,
                ids("CPU", &thread.allowed)
            )
        }),
    };
    thread_row(what.to_string(), thread, None, asked, verdict)
}

/// A QEMU memory backend the guest has: a cell's RAM, the whole RAM of a
/// guest without cells, or a memory device.
struct Backend {
    row: usize,
    label: String,
    kib: u64,
}

/// The guest's memory rows and the mappings found for each.
struct MemoryRows<'p> {
    rows: Vec<CellRow>,
    backends: Vec<Backend>,
    found: Vec<Option<&'p Mapping>>,
    process: &'p Process,
}

impl<'p> MemoryRows<'p> {
    fn new(live: &LiveDomain, process: &'p Process, requested: &Requested) -> MemoryRows<'p> {
        let mut rows = Vec::new();
        let mut backends = Vec::new();
        let device_kib: u64 = live.memory_devices.iter().map(|d| d.size_kib).sum();
        if live.cells.is_empty() {
            let kib = live.memory_kib.saturating_sub(device_kib);
            rows.push(cell_row(
                None,
                CpuSet::from_range(0, live.vcpus.max(1) - 1),
                kib,
            ));
            backends.push(Backend {
                row: 0,
                label: format!("{} guest RAM", mib(kib)),
                kib,
            });
        }
        for cell in &live.cells {
            backends.push(Backend {
                row: rows.len(),
                label: format!("{} of cell {}", mib(cell.memory_kib), cell.id),
                kib: cell.memory_kib,
            });
            rows.push(cell_row(Some(cell.id), cell.vcpus.clone(), cell.memory_kib));
        }
        for (index, device) in live.memory_devices.iter().enumerate() {
            let row = rows
                .iter()
                .position(|r| r.cell.is_none_or(|id| id == device.cell));
            let Some(row) = row else { continue };
            rows[row].device_kib += device.size_kib;
            let label = format!("{} {} {index}", mib(device.size_kib), device.model);
            backends.push(Backend {
                row,
                label,
                kib: device.size_kib,
            });
        }
        for row in &mut rows {
            row.asked = memory_ask(live, requested, row.cell);
            let total = row.memory_kib + row.device_kib;
            row.tolerance_kib = (total * TOLERANCE_PERCENT)
                .div_ceil(100)
                .min(TOLERANCE_CAP_KIB);
        }
        let mut memory = MemoryRows {
            found: Vec::new(),
            rows,
            backends,
            process,
        };
        memory.attribute();
        memory
    }

    /// Each backend gets an unused mapping of its size. Among several, one
    /// whose policy is the one asked of that backend wins (QEMU sets the
    /// policy per backend, so it tells equal cells apart), then the highest
    /// address: QEMU creates the backends in cell order and the kernel
    /// places each new mapping below the last.
    fn attribute(&mut self) {
        let mut used = vec![false; self.process.mappings.len()];
        for backend in &self.backends {
            let ask = self.rows[backend.row].asked.as_ref();
            let best = self
                .process
                .mappings
                .iter()
                .enumerate()
                .filter(|&(index, mapping)| !used[index] && is_backend_of(mapping, backend.kib))
                .max_by_key(|(_, mapping)| {
                    let agrees =
                        ask.is_some_and(|ask| policy_agrees(ask, &mapping.policy, self.process));
                    (agrees, mapping.start)
                });
            if let Some((index, _)) = best {
                used[index] = true;
            }
            self.found.push(best.map(|(_, mapping)| mapping));
        }
    }

    fn rows(
        mut self,
        requested: &Requested,
        checks: &mut Checks,
    ) -> (Vec<CellRow>, BTreeMap<u32, u64>) {
        let mut attributed: BTreeMap<u32, u64> = BTreeMap::new();
        for (backend, mapping) in self.backends.iter().zip(&self.found) {
            let row = &mut self.rows[backend.row];
            let Some(mapping) = mapping else {
                row.missing.push(backend.label.clone());
                continue;
            };
            add_mapping(row, mapping);
            for (node, kib) in mapping.kib_per_node() {
                *attributed.entry(node).or_default() += kib;
            }
        }
        let shapes = cell_shapes(&self.rows, requested, checks);
        for (row, shape) in self.rows.iter_mut().zip(shapes) {
            row.verdict = shape.and(check_cell(row, self.process, checks));
        }
        (self.rows, qemu_rest(self.process, &attributed))
    }
}

fn cell_row(cell: Option<u32>, vcpus: CpuSet, memory_kib: u64) -> CellRow {
    CellRow {
        cell,
        vcpus,
        memory_kib,
        device_kib: 0,
        asked: None,
        policies: Vec::new(),
        kib_per_node: BTreeMap::new(),
        huge_pages: Vec::new(),
        outside_kib: 0,
        tolerance_kib: 0,
        missing: Vec::new(),
        verdict: Verdict::Unasked,
    }
}

/// Guest RAM is a writable, non-executable mapping of exactly the backend's
/// size (QEMU's code buffer for TCG is executable); libvirt and QEMU round
/// a size up to a whole MiB, or to the huge page size.
fn is_backend_of(mapping: &Mapping, kib: u64) -> bool {
    if !mapping.writable || mapping.executable {
        return false;
    }
    let bytes = kib.saturating_mul(1024);
    let granule = (mapping.page_kib.max(1024)).saturating_mul(1024);
    mapping.bytes() == bytes || mapping.bytes() == bytes.div_ceil(granule).saturating_mul(granule)
}

fn add_mapping(row: &mut CellRow, mapping: &Mapping) {
    if !row.policies.contains(&mapping.policy) {
        row.policies.push(mapping.policy.clone());
    }
    for (node, kib) in mapping.kib_per_node() {
        *row.kib_per_node.entry(node).or_default() += kib;
    }
    if !mapping.huge {
        return;
    }
    for (&node, &count) in &mapping.pages {
        match row
            .huge_pages
            .iter_mut()
            .find(|p| p.node == node && p.size_kib == mapping.page_kib)
        {
            Some(pages) => pages.count += count,
            None => row.huge_pages.push(HugePages {
                node,
                size_kib: mapping.page_kib,
                count,
            }),
        }
    }
}

/// What was asked of a cell's memory (or the whole guest's, `None`), first
/// found: the cell's host nodes in guestnuma, its `<memnode>`, numatune,
/// `<numatune><memory>`, numad's nodes. A memnode's mode is numatune's, as
/// the hook writes it.
fn memory_ask(live: &LiveDomain, requested: &Requested, cell: Option<u32>) -> Option<MemoryAsk> {
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

/// The kernel's policy is the one the mode stands for: QEMU gives each
/// backend `bind`, `interleave` or `prefer` on the nodes. `restrictive`
/// sets no policy; only the cgroup's cpuset.mems limits where pages go.
fn policy_agrees(ask: &MemoryAsk, policy: &Policy, process: &Process) -> bool {
    let modes: &[PolicyMode] = match ask.mode {
        MemoryMode::Strict => &[PolicyMode::Bind],
        MemoryMode::Interleave => &[PolicyMode::Interleave],
        MemoryMode::Preferred => &[PolicyMode::Prefer, PolicyMode::PreferMany],
        MemoryMode::Restrictive => return process.mems_allowed.is_subset(&ask.nodes),
    };
    policy.mode.is_some_and(|mode| modes.contains(&mode)) && policy.nodes == ask.nodes
}

/// The guestnuma property's cells against the running guest's, one verdict
/// per row.
fn cell_shapes(rows: &[CellRow], requested: &Requested, checks: &mut Checks) -> Vec<Verdict> {
    let mut verdicts = vec![Verdict::Unasked; rows.len()];
    let running = rows.iter().filter(|row| row.cell.is_some()).count();
    let cells = match &requested.guestnuma {
        None => return verdicts,
        Some(GuestNuma::Even(count)) if *count != running => {
            let detail = format!(
                "guest NUMA: guestnuma asks {count} cells, the running guest has {running}"
            );
            checks.add("guest NUMA", false, detail);
            return verdicts;
        }
        Some(GuestNuma::Even(_)) => return verdicts,
        Some(GuestNuma::Cells(cells)) => cells,
    };
    if cells.len() != running {
        let detail = format!(
            "guest NUMA: guestnuma asks {} cells, the running guest has {running}",
            cells.len()
        );
        checks.add("guest NUMA", false, detail);
        return verdicts;
    }
    for (row, verdict) in rows.iter().zip(&mut verdicts) {
        let Some(want) = row.cell.and_then(|id| cells.get(id as usize)) else {
            continue;
        };
        let what = format!("cell {}", row.cell.unwrap_or_default());
        let holds = want.cpus == row.vcpus && want.memory_kib == row.memory_kib;
        let detail = format!(
            "{what}: guestnuma asks {} and {}, the running guest has {} and {}",
            ids("vCPU", &want.cpus),
            mib(want.memory_kib),
            ids("vCPU", &row.vcpus),
            mib(row.memory_kib)
        );
        *verdict = checks.add(what, holds, detail);
    }
    verdicts
}

/// The policy and the placement of a row's memory, when something was asked.
fn check_cell(row: &mut CellRow, process: &Process, checks: &mut Checks) -> Verdict {
    let what = match row.cell {
        Some(id) => format!("cell {id}"),
        None => "guest memory".to_string(),
    };
    let Some(ask) = row.asked.clone() else {
        return Verdict::Unasked;
    };
    let asked_words = format!(
        "{} asks {} on {}",
        ask.by,
        ask.mode,
        ids("node", &ask.nodes)
    );
    if !row.missing.is_empty() {
        let detail = format!(
            "{what}: {asked_words}, but QEMU process {} has no mapping for {} (verify finds guest RAM by its size), so where it is cannot be told",
            process.pid,
            row.missing.join(", ")
        );
        return checks.add(what, false, detail);
    }
    row.outside_kib = row
        .kib_per_node
        .iter()
        .filter(|(node, _)| !ask.nodes.contains(**node))
        .map(|(_, kib)| kib)
        .sum();
    let policy = policy_check(&what, &asked_words, &ask, row, process, checks);
    let placement = placement_check(&what, &ask, row, checks);
    policy.and(placement)
}

fn policy_check(
    what: &str,
    asked_words: &str,
    ask: &MemoryAsk,
    row: &CellRow,
    process: &Process,
    checks: &mut Checks,
) -> Verdict {
    let label = format!("{what} policy");
    if ask.mode == MemoryMode::Restrictive {
        let holds = process.mems_allowed.is_subset(&ask.nodes);
        let detail = match holds {
            true => format!("{what}: the QEMU process may allocate only on {}", ids("node", &process.mems_allowed)),
            false => format!(
                "{what}: {asked_words}, but the QEMU process may allocate on {} (Mems_allowed_list: no cgroup cpuset.mems holds it to the nodes)",
                ids("node", &process.mems_allowed)
            ),
        };
        return checks.add(label, holds, detail);
    }
    let texts: Vec<&str> = row.policies.iter().map(|p| p.text.as_str()).collect();
    let policies = texts.join(", ");
    let holds = row
        .policies
        .iter()
        .all(|policy| policy_agrees(ask, policy, process));
    let detail = match holds {
        true => format!("{what}: the kernel applies {policies} as {} asks", ask.by),
        false => format!("{what}: {asked_words}, but the kernel applies {policies} to its memory"),
    };
    checks.add(label, holds, detail)
}

fn placement_check(what: &str, ask: &MemoryAsk, row: &CellRow, checks: &mut Checks) -> Verdict {
    let label = format!("{what} placement");
    let holds = row.outside_kib <= row.tolerance_kib;
    let outside: CpuSet = row
        .kib_per_node
        .iter()
        .filter(|(node, kib)| **kib > 0 && !ask.nodes.contains(**node))
        .map(|(node, _)| *node)
        .collect();
    let detail = match holds {
        true => format!(
            "{what}: {} resident, {} outside {} (tolerated: {})",
            mib(row.kib_per_node.values().sum()),
            mib(row.outside_kib),
            ids("node", &ask.nodes),
            mib(row.tolerance_kib)
        ),
        false => format!(
            "{what}: {} of its memory is on {}, outside {} that {} asks (tolerated: {}, {TOLERANCE_PERCENT}% of the cell, at most {}); a full node under preferred or interleave, automatic NUMA balancing or KSM merging across nodes puts it there",
            mib(row.outside_kib),
            ids("node", &outside),
            ids("node", &ask.nodes),
            ask.by,
            mib(row.tolerance_kib),
            mib(TOLERANCE_CAP_KIB)
        ),
    };
    checks.add(label, holds, detail)
}

/// Every resident page of the process not in guest RAM.
fn qemu_rest(process: &Process, attributed: &BTreeMap<u32, u64>) -> BTreeMap<u32, u64> {
    let mut rest: BTreeMap<u32, u64> = BTreeMap::new();
    for mapping in &process.mappings {
        for (node, kib) in mapping.kib_per_node() {
            *rest.entry(node).or_default() += kib;
        }
    }
    for (node, kib) in attributed {
        if let Some(total) = rest.get_mut(node) {
            *total = total.saturating_sub(*kib);
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(bytes: u64, perms: &str, policy: &str, page_kib: u64) -> Mapping {
        let (mode, nodes) = policy.split_once(':').unwrap_or((policy, ""));
        Mapping {
            start: 0x7f00_0000_0000,
            end: 0x7f00_0000_0000 + bytes,
            writable: perms.as_bytes()[1] == b'w',
            executable: perms.as_bytes()[2] == b'x',
            shared: perms.as_bytes()[3] == b's',
            path: None,
            policy: Policy {
                mode: PolicyMode::WORDS
                    .iter()
                    .find(|(w, _)| *w == mode)
                    .map(|&(_, m)| m),
                nodes: nodes.parse::<CpuSet>().unwrap(),
                text: policy.to_string(),
            },
            pages: BTreeMap::new(),
            page_kib,
            huge: page_kib > 4,
        }
    }

    #[test]
    fn guest_ram_is_a_writable_mapping_of_the_backends_size() {
        let mib = 1024 * 1024;
        assert!(is_backend_of(
            &mapping(256 * mib, "rw-p", "default", 4),
            262144
        ));
        assert!(is_backend_of(
            &mapping(256 * mib, "rw-s", "default", 4),
            262144
        ));
        // QEMU rounds a cell to a whole MiB, a hugetlbfs backend to its page.
        assert!(is_backend_of(
            &mapping(257 * mib, "rw-p", "default", 4),
            262145
        ));
        assert!(is_backend_of(
            &mapping(1024 * mib, "rw-p", "default", 1048576),
            786432
        ));
        // TCG's code buffer is executable; a reservation is not writable.
        assert!(!is_backend_of(
            &mapping(256 * mib, "rwxp", "default", 4),
            262144
        ));
        assert!(!is_backend_of(
            &mapping(256 * mib, "---p", "default", 4),
            262144
        ));
        assert!(!is_backend_of(
            &mapping(255 * mib, "rw-p", "default", 4),
            262144
        ));
    }

    #[test]
    fn each_mode_is_the_kernel_policy_qemu_sets() {
        let process = Process {
            pid: 1,
            threads: Vec::new(),
            mems_allowed: NodeSet::from_range(0, 1),
            mappings: Vec::new(),
        };
        let ask = |mode, nodes: &str| MemoryAsk {
            mode,
            nodes: nodes.parse::<CpuSet>().unwrap(),
            by: "numatune",
        };
        let agrees = |ask: &MemoryAsk, policy: &str| {
            policy_agrees(ask, &mapping(4096, "rw-p", policy, 4).policy, &process)
        };
        assert!(agrees(&ask(MemoryMode::Strict, "0-1"), "bind:0-1"));
        assert!(!agrees(&ask(MemoryMode::Strict, "0"), "bind:0-1"));
        assert!(!agrees(&ask(MemoryMode::Strict, "0"), "prefer:0"));
        assert!(agrees(
            &ask(MemoryMode::Interleave, "0-1"),
            "interleave:0-1"
        ));
        assert!(agrees(&ask(MemoryMode::Preferred, "1"), "prefer:1"));
        assert!(agrees(
            &ask(MemoryMode::Preferred, "0-1"),
            "prefer (many):0-1"
        ));
        assert!(!agrees(&ask(MemoryMode::Interleave, "0"), "default"));
        // restrictive is the cgroup's cpuset.mems, whatever the policy.
        assert!(agrees(&ask(MemoryMode::Restrictive, "0-1"), "default"));
        assert!(!agrees(&ask(MemoryMode::Restrictive, "0"), "default"));
    }

    #[test]
    fn a_row_differs_when_any_of_its_checks_does() {
        use Verdict::*;
        assert_eq!(Holds.and(Differs), Differs);
        assert_eq!(Unasked.and(Holds), Holds);
        assert_eq!(Unasked.and(Unasked), Unasked);
        assert_eq!(Differs.and(Unasked), Differs);
    }
}
