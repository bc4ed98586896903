//! The vCPUs, the emulator and the I/O threads: where each may run against
//! where it was asked to, and who most likely moved it.

use crate::cpuset::CpuSet;
use crate::properties::cputune;
use crate::verify::live::LiveDomain;
use crate::verify::proc::{Process, Thread};

use super::asked::{default_pins, first_asked, Requested};
use super::report::{ids, Asked, Checks, ThreadRow, Verdict};

pub(super) fn vcpu_rows(
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
pub(super) fn vcpu_thread(process: &Process, vcpu: u32, recorded: Option<u32>) -> Option<&Thread> {
    let prefix = format!("CPU {vcpu}/");
    recorded
        .and_then(|tid| process.thread(tid))
        .filter(|thread| thread.name.starts_with(&prefix))
        .or_else(|| process.threads.iter().find(|t| t.name.starts_with(&prefix)))
}

/// Says who most likely moved the vCPU: libvirt recording the new pin means
/// it was re-pinned through libvirt after start; libvirt still recording
/// the asked pin means something outside libvirt changed the affinity.
pub(super) fn vcpu_difference(
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
pub(super) fn affinity_check(
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

pub(super) fn thread_row(
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
pub(super) fn thread_rows(
    live: &LiveDomain,
    process: &Process,
    checks: &mut Checks,
) -> Vec<ThreadRow> {
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

pub(super) fn pinned_thread(
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
