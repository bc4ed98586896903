//! The emulator and I/O thread pins: whether the VM has the threads named,
//! whether the host has the CPUs, and where they would get in the way of
//! the vCPUs. The tuning guide's recipe pins all three together: vCPUs on
//! their own CPUs, the rest beside them on housekeeping CPUs.

use std::borrow::Cow;
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
pub(crate) fn warnings(
    request: &Request,
    domain: &Domain,
    vcpus: &VcpuPins,
    isolated: &CpuSet,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for (property, thread, cpus) in final_thread_pins(request, domain) {
        let sharing: CpuSet = vcpus
            .iter()
            .filter(|(_, pinned)| !pinned.intersection(&cpus).is_empty())
            .map(|(vcpu, _)| vcpu)
            .collect();
        if !sharing.is_empty() {
            let pinned = union(sharing.iter().filter_map(|vcpu| vcpus.get(vcpu)));
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
pub(crate) fn sibling_warnings(
    request: &Request,
    domain: &Domain,
    vcpu_pins: &VcpuPins,
    sysfs: &Path,
) -> Vec<Warning> {
    let Some(CpuPolicy::Exclusive(
        policy @ (ExclusivePolicy::IsolateThreads | ExclusivePolicy::Siblings),
    )) = domain.ovirt.cpu_policy
    else {
        return Vec::new();
    };
    let vcpu_cpus = union(vcpu_pins.iter().map(|(_, cpus)| cpus));
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

/// Each vCPU's pin once the edit is done, in vCPU order: the VM's own,
/// then those asked. Made once for every check, as a sorted list that
/// borrows the request's sets: a map of copies, made for each check, cost
/// the plan half its time with 384 pins.
#[derive(Debug)]
pub(crate) struct VcpuPins<'r> {
    /// Sorted by vCPU, one pin each.
    pins: Vec<(u32, Cow<'r, CpuSet>)>,
}

impl<'r> VcpuPins<'r> {
    pub(crate) fn of(request: &'r Request, domain: &Domain) -> VcpuPins<'r> {
        let old = threads::pins(domain.root, "vcpupin")
            .into_iter()
            .filter(|(vcpu, _)| *vcpu < domain.vcpus)
            .map(|(vcpu, cpus)| (vcpu, Cow::Owned(cpus)));
        let asked = request.cputune.iter().flat_map(|tune| &tune.pins);
        let asked = asked.map(|pin| (pin.vcpu, Cow::Borrowed(&pin.cpuset)));
        VcpuPins::last_of_each(old.chain(asked).collect())
    }

    /// The last pin of each vCPU wins (the request's over the VM's, a later
    /// element over an earlier), as it would inserted into a map in turn:
    /// reversed, a stable sort puts it first of its vCPU's, where the dedup
    /// keeps it.
    fn last_of_each(mut pins: Vec<(u32, Cow<'r, CpuSet>)>) -> VcpuPins<'r> {
        pins.reverse();
        pins.sort_by_key(|&(vcpu, _)| vcpu);
        pins.dedup_by_key(|&mut (vcpu, _)| vcpu);
        VcpuPins { pins }
    }

    pub(crate) fn get(&self, vcpu: u32) -> Option<&CpuSet> {
        let index = self.pins.binary_search_by_key(&vcpu, |&(v, _)| v).ok()?;
        Some(&self.pins[index].1)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &CpuSet)> {
        self.pins.iter().map(|(vcpu, cpus)| (*vcpu, &**cpus))
    }
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

/// Pins read from a domain alone, the last of a vCPU winning.
impl FromIterator<(u32, CpuSet)> for VcpuPins<'_> {
    fn from_iter<I: IntoIterator<Item = (u32, CpuSet)>>(pins: I) -> Self {
        let owned = pins
            .into_iter()
            .map(|(vcpu, cpus)| (vcpu, Cow::Owned(cpus)));
        VcpuPins::last_of_each(owned.collect())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::cputune;

    fn cpus(text: &str) -> CpuSet {
        text.parse().unwrap()
    }

    fn listed(pins: &VcpuPins) -> Vec<(u32, String)> {
        pins.iter()
            .map(|(vcpu, set)| (vcpu, set.to_string()))
            .collect()
    }

    #[test]
    fn the_last_pin_of_a_vcpu_wins_and_pins_come_in_vcpu_order() {
        let read = [(3, "1"), (0, "2"), (3, "4-5"), (1, "6"), (0, "7")];
        let pins: VcpuPins = read.iter().map(|&(v, s)| (v, cpus(s))).collect();
        let expected = [(0, "7"), (1, "6"), (3, "4-5")].map(|(v, s)| (v, s.to_string()));
        assert_eq!(listed(&pins), expected);
        assert_eq!(pins.get(3), Some(&cpus("4-5")));
        assert_eq!(pins.get(2), None);
    }

    #[test]
    fn the_requests_pins_replace_the_vms_past_its_last_vcpu_dropped() {
        let xml = "<domain><vcpu>4</vcpu><cputune><vcpupin vcpu='2' cpuset='9'/>\
            <vcpupin vcpu='1' cpuset='8'/><vcpupin vcpu='7' cpuset='5'/></cputune></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let domain = Domain::read(&doc).unwrap();
        let request = Request {
            cputune: Some(cputune::parse("2#0-1_3#3").unwrap()),
            ..Request::default()
        };
        let pins = VcpuPins::of(&request, &domain);
        let expected = [(1, "8"), (2, "0-1"), (3, "3")].map(|(v, s)| (v, s.to_string()));
        assert_eq!(listed(&pins), expected);
    }
}
