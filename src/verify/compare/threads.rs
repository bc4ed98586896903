//! The vCPUs, the emulator and the I/O threads: where each may run against
//! where it was asked to, and who most likely moved it.

use crate::cpuset::CpuSet;
use crate::properties::{cputune, emulatorpin, iothreadpin};
use crate::verify::live::LiveDomain;
use crate::verify::proc::{Process, Thread};

use super::asked::{default_pins, first_asked, AskedFrom};
use super::report::{ids, Checks, CpuAsk, ThreadRow, Verdict};

pub(super) fn vcpu_rows(
    live: &LiveDomain,
    process: &Process,
    from: &AskedFrom,
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
        let property = from
            .properties
            .cputune
            .as_ref()
            .and_then(|tune| tune.pins.iter().find(|pin| pin.vcpu == vcpu))
            .map(|pin| &pin.cpuset);
        let live_pin = live.placement.vcpupins.get(&vcpu);
        let [by_default, by_numad] = default_pins(live, from);
        let asked = first_asked(&[
            (property, cputune::PROPERTY),
            (from.xml.vcpupins.get(&vcpu), from.element("<vcpupin>")),
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
                let head = format!(
                    "{what}: {} asks host {}, but its thread (tid {}) may run on {}",
                    asked.by,
                    ids("CPU", &asked.set),
                    thread.tid,
                    ids("CPU", &thread.allowed)
                );
                format!("{head}; {}", moved(asked, live_pin, VCPU_REPIN))
            }),
        };
        rows.push(thread_row(what, thread, recorded, asked, verdict));
    }
    (rows, offline)
}

/// libvirt's thread id when that thread is the vCPU's, else the thread QEMU
/// named after the vCPU.
pub(super) fn vcpu_thread(process: &Process, vcpu: u32, recorded: Option<u32>) -> Option<&Thread> {
    let prefix = format!("CPU {vcpu}/");
    recorded
        .and_then(|tid| process.thread(tid))
        .filter(|thread| thread.name.starts_with(&prefix))
        .or_else(|| process.threads.iter().find(|t| t.name.starts_with(&prefix)))
}

/// How a vCPU is re-pinned after start.
const VCPU_REPIN: &str =
    "virsh vcpupin, or VDSM's CPU management when the VM's CPU pinning policy is not Manual";

/// Says who most likely moved a thread: libvirt recording the new pin means
/// it was re-pinned through libvirt after start (`repin` says how);
/// libvirt still recording the asked pin means something outside libvirt
/// changed the affinity.
pub(super) fn moved(asked: &CpuAsk, live_pin: Option<&CpuSet>, repin: &str) -> String {
    match live_pin {
        Some(pin) if *pin == asked.set => format!(
            "libvirt still records {}, so the affinity was changed outside libvirt (taskset, a cgroup cpuset)",
            ids("CPU", pin)
        ),
        Some(pin) => format!(
            "the live XML pins it to {}: re-pinned after start ({repin})",
            ids("CPU", pin)
        ),
        None => "the live XML does not pin it: the pin was never written (is the hook installed on this host?) or was removed after start".into(),
    }
}

/// Whether the thread may run exactly where asked; `difference` says how
/// it may not.
pub(super) fn affinity_check(
    checks: &mut Checks,
    what: &str,
    thread: &Thread,
    asked: &CpuAsk,
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

pub(super) fn thread_row(
    what: String,
    thread: Option<&Thread>,
    recorded: Option<u32>,
    asked: Option<CpuAsk>,
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

/// The emulator (QEMU's main thread) and each I/O thread, asked first by
/// the emulatorpin and iothreadpin properties, as the vCPUs are by cputune.
pub(super) fn thread_rows(
    live: &LiveDomain,
    process: &Process,
    from: &AskedFrom,
    checks: &mut Checks,
) -> Vec<ThreadRow> {
    let [by_default, by_numad] = default_pins(live, from);
    let mut rows = Vec::new();
    let emulator = first_asked(&[
        (from.properties.emulatorpin.as_ref(), emulatorpin::PROPERTY),
        (from.xml.emulatorpin.as_ref(), from.element("<emulatorpin>")),
        by_default,
        by_numad,
    ]);
    let main = process.thread(process.pid);
    let pinned = Pinned {
        what: "emulator".into(),
        thread_words: "the main QEMU thread".into(),
        live_pin: live.placement.emulatorpin.as_ref(),
        repin: "virsh emulatorpin",
    };
    rows.push(pinned.row(main, emulator, checks));
    for &id in &live.iothreads {
        let property = from
            .properties
            .iothreadpin
            .as_ref()
            .and_then(|pins| pins.pins.iter().find(|pin| pin.iothread == id))
            .map(|pin| &pin.cpuset);
        let asked = first_asked(&[
            (property, iothreadpin::PROPERTY),
            (
                from.xml.iothreadpins.get(&id),
                from.element("<iothreadpin>"),
            ),
            by_default,
            by_numad,
        ]);
        let name = format!("IO iothread{id}");
        let thread = process.thread_named(&name);
        let pinned = Pinned {
            what: format!("iothread {id}"),
            thread_words: format!("its thread '{name}'"),
            live_pin: live.placement.iothreadpins.get(&id),
            repin: "virsh iothreadpin",
        };
        rows.push(pinned.row(thread, asked, checks));
    }
    rows
}

/// The emulator or an I/O thread, and the live XML's pin of it.
struct Pinned<'l> {
    what: String,
    thread_words: String,
    live_pin: Option<&'l CpuSet>,
    repin: &'static str,
}

impl Pinned<'_> {
    /// Why it moved is said when its own pin asked (not `<vcpu cpuset>` or
    /// numad, which libvirt applies but does not record per thread).
    fn why(&self, asked: &CpuAsk) -> String {
        let default = asked.by.contains("<vcpu cpuset>") || asked.by == "numad";
        let own = self.live_pin.is_some() || !default;
        match own {
            true => format!("; {}", moved(asked, self.live_pin, self.repin)),
            false => String::new(),
        }
    }

    fn row(
        &self,
        thread: Option<&Thread>,
        asked: Option<CpuAsk>,
        checks: &mut Checks,
    ) -> ThreadRow {
        let Pinned {
            what, thread_words, ..
        } = self;
        let what = what.as_str();
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
                    "{what}: {} asks host {}, but {thread_words} (tid {}) may run on {}{}",
                    asked.by,
                    ids("CPU", &asked.set),
                    thread.tid,
                    ids("CPU", &thread.allowed),
                    self.why(asked)
                )
            }),
        };
        thread_row(what.to_string(), thread, None, asked, verdict)
    }
}
