//! The emulator and I/O thread pins: whether the VM has the threads named,
//! whether the host has the CPUs, and where they would get in the way of
//! the vCPUs. The tuning guide's recipe pins all three together: vCPUs on
//! their own CPUs, the rest beside them on housekeeping CPUs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cpuset::CpuSet;
use crate::domain::facts::Domain;
use crate::domain::metadata::{CpuPolicy, ExclusivePolicy};
use crate::domain::threads;
use crate::host::files::read_list;
use crate::host::topology::HostLimits;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::Request;
use crate::wording::Ids;

/// An `iothreadpin` naming a thread the VM does not have is refused, as
/// libvirt would refuse the domain ("Cannot find 'iothread'").
pub(crate) fn check_iothreads(request: &Request, domain: &Domain) -> Result<(), Refusal> {
    let Some(pins) = &request.iothreadpin else {
        return Ok(());
    };
    let ids = threads::iothread_ids(domain.root)?;
    let Some(iothread) = pins.iothreads().difference(&ids).first() else {
        return Ok(());
    };
    let declared = match ids.is_empty() {
        true => "it has none".to_string(),
        false => format!("it has {}", Ids("I/O thread", &ids)),
    };
    Err(Refusal::IoThreadNotInDomain {
        iothread,
        ids,
        declared,
    })
}

/// Host CPUs the new pins name must be online, as for `cputune`.
pub(crate) fn check_host(request: &Request, host: &HostLimits) -> Result<(), Refusal> {
    let iothreads = request.iothreadpin.iter().flat_map(|p| &p.pins);
    let pins = request
        .emulatorpin
        .iter()
        .map(|cpus| ("emulatorpin", cpus))
        .chain(iothreads.map(|pin| ("iothreadpin", &pin.cpuset)));
    for (property, cpus) in pins {
        let missing = cpus.difference(&host.online_cpus);
        if !missing.is_empty() {
            return Err(Refusal::CpusNotOnline {
                property,
                missing,
                online: host.online_cpus.clone(),
            });
        }
    }
    Ok(())
}

/// Whether the request sets a pin, so that the pins are judged.
pub(crate) fn judged(request: &Request) -> bool {
    request.cputune.is_some() || request.emulatorpin.is_some() || request.iothreadpin.is_some()
}

/// The pins as they will be once written, the VM's own where the request
/// leaves them.
pub(crate) fn warnings(request: &Request, domain: &Domain, isolated: &CpuSet) -> Vec<Warning> {
    let vcpus = final_vcpu_pins(request, domain);
    let mut warnings = Vec::new();
    for (property, thread, cpus) in final_thread_pins(request, domain) {
        let sharing: CpuSet = vcpus
            .iter()
            .filter(|(_, pinned)| !pinned.intersection(&cpus).is_empty())
            .map(|(&vcpu, _)| vcpu)
            .collect();
        if !sharing.is_empty() {
            let pinned = union(sharing.iter().filter_map(|vcpu| vcpus.get(&vcpu)));
            warnings.push(Warning::SharesWithVcpus {
                property,
                thread: thread.clone(),
                cpus: cpus.intersection(&pinned),
                vcpus: sharing,
            });
        }
        let on_isolated = cpus.intersection(isolated);
        if !on_isolated.is_empty() {
            warnings.push(Warning::OnIsolatedCpus {
                property,
                thread,
                cpus: on_isolated,
            });
        }
    }
    warnings
}

/// Under `isolate-threads` (and `siblings`) VDSM keeps the sibling threads
/// of the CPUs the engine gave the vCPUs out of every other VM's pool, so
/// that each vCPU has its core to itself (`cpumanagement._shared_pool`). An
/// emulator or I/O thread pinned there shares those cores again: said, with
/// the CPUs, since the engine itself may have written the pin.
pub(crate) fn sibling_warnings(request: &Request, domain: &Domain, sysfs: &Path) -> Vec<Warning> {
    let Some(CpuPolicy::Exclusive(
        policy @ (ExclusivePolicy::IsolateThreads | ExclusivePolicy::Siblings),
    )) = domain.ovirt.cpu_policy
    else {
        return Vec::new();
    };
    let vcpu_cpus = union(final_vcpu_pins(request, domain).values());
    let mut siblings = CpuSet::new();
    for cpu in vcpu_cpus.iter() {
        let path = sysfs.join(format!(
            "devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"
        ));
        match read_list(&path) {
            Ok(core) => core.iter().for_each(|id| siblings.insert(id)),
            Err(err) => {
                return vec![Warning::CheckSkipped {
                    check: "the sibling thread check",
                    reason: err.to_string(),
                }]
            }
        }
    }
    let siblings = siblings.difference(&vcpu_cpus);
    final_thread_pins(request, domain)
        .into_iter()
        .filter_map(|(property, thread, cpus)| {
            let on = cpus.intersection(&siblings);
            (!on.is_empty()).then_some(Warning::OnIsolatedSiblings {
                property,
                thread,
                cpus: on,
                policy,
            })
        })
        .collect()
}

/// Each vCPU's pin once the edit is done: the VM's own, then those asked.
pub(crate) fn final_vcpu_pins(request: &Request, domain: &Domain) -> BTreeMap<u32, CpuSet> {
    let mut pins: BTreeMap<u32, CpuSet> = threads::pins(domain.root, "vcpupin")
        .into_iter()
        .filter(|(vcpu, _)| *vcpu < domain.vcpus)
        .collect();
    for pin in request.cputune.iter().flat_map(|tune| &tune.pins) {
        pins.insert(pin.vcpu, pin.cpuset.clone());
    }
    pins
}

/// `(property, what the message calls the thread, its CPUs)`.
fn final_thread_pins(request: &Request, domain: &Domain) -> Vec<(&'static str, String, CpuSet)> {
    let emulator = request
        .emulatorpin
        .clone()
        .or_else(|| threads::emulator_pin(domain.root));
    let mut iothreads: BTreeMap<u32, CpuSet> = threads::pins(domain.root, "iothreadpin")
        .into_iter()
        .collect();
    for pin in request.iothreadpin.iter().flat_map(|p| &p.pins) {
        iothreads.insert(pin.iothread, pin.cpuset.clone());
    }
    let emulator = emulator.map(|cpus| ("emulatorpin", "the emulator threads".to_string(), cpus));
    let iothreads = iothreads
        .into_iter()
        .map(|(id, cpus)| ("iothreadpin", format!("I/O thread {id}"), cpus));
    emulator.into_iter().chain(iothreads).collect()
}

fn union<'s>(sets: impl Iterator<Item = &'s CpuSet>) -> CpuSet {
    let mut all = CpuSet::new();
    for set in sets {
        for &(lo, hi) in set.ranges() {
            all.insert_range(lo, hi);
        }
    }
    all
}
