//! What was asked, what the kernel shows, and the checks between them.
//!
//! What was asked comes first from the VM's custom properties (what the
//! administrator set), else from the live domain XML (what libvirt holds
//! now), else from libvirt's defaults (`<vcpu cpuset>`, numad). The kernel's
//! side is always `/proc`: a pin libvirt records but the thread does not
//! have, or memory on a node the policy should keep it off, differs.

mod asked;
mod cells;
mod memory;
mod report;
mod threads;

use crate::verify::live::LiveDomain;
use crate::verify::proc::Process;

use asked::{asked_from, AskedFrom};
use memory::MemoryRows;
use report::Checks;
use threads::{thread_rows, vcpu_rows};

pub(crate) use report::{
    CellRow, Report, ThreadRow, Verdict, TOLERANCE_CAP_KIB, TOLERANCE_PERCENT,
};

pub(super) fn compare(live: &LiveDomain, process: &Process) -> Report {
    let mut checks = Checks::default();
    let from = AskedFrom::read(live, &mut checks);
    let (vcpus, offline_vcpus) = vcpu_rows(live, process, &from, &mut checks);
    let threads = thread_rows(live, process, &from, &mut checks);
    let memory = MemoryRows::new(live, process, &from);
    let (cells, qemu_kib_per_node) = memory.rows(&from, &mut checks);
    Report {
        domain: live.name.clone(),
        uuid: live.uuid.clone(),
        pid: live.pid,
        asked_from: asked_from(live),
        vcpus,
        offline_vcpus,
        threads,
        cells,
        qemu_kib_per_node,
        checks: checks.0,
    }
}
