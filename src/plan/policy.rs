//! The engine's CPU pinning policy against what the properties ask.
//!
//! Engine 4.5 sends `<ovirt-vm:cpuPolicy>`, and once the VM runs VDSM acts
//! on it (`cpumanagement.py`): under `none` it pins every vCPU to its shared
//! pool, undoing any pin the hook wrote; under `manual` it keeps the pins
//! of the started XML; under `dedicated` and `isolate-threads` the engine
//! chose the host CPUs, and VDSM fences other VMs off them by reading the
//! pins. What each policy allows, and why, is in README "With oVirt 4.5".

use roxmltree::Node;

use crate::cpuset::{CpuSet, NodeSet};
use crate::domain::metadata::{CpuPolicy, OvirtMetadata};
use crate::host::topology::HostLimits;
use crate::plan::refusal::{EngineStringReason, Refusal};
use crate::plan::warning::Warning;
use crate::properties::cputune::CpuTune;
use crate::properties::guestnuma::GuestNuma;
use crate::properties::numatune::Placement;
use crate::properties::Request;
use crate::xml::read::{child, children};

/// The engine string that shows the admin what to type: these pins, one
/// vCPU per entry, when short enough to read; else the first of them.
const EXAMPLE_LEN: usize = 40;

/// Refuses what VDSM would undo or what would fight the engine's own
/// placement; warns where it goes through but the policy weakens it.
/// `root` is the domain, for the engine's own `<numatune><memnode>`s.
pub(crate) fn check(
    metadata: &OvirtMetadata,
    root: Node,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Vec<Warning>, Refusal> {
    let Some(policy) = &metadata.cpu_policy else {
        // Engine 4.4 and older: VDSM infers `manual` from the pins, and
        // restores from the engine's string all the same; but a document
        // without the engine's policy may not come from the engine at all.
        let restore = request
            .cputune
            .as_ref()
            .and_then(|cputune| check_engine_string(cputune, &engine_vcpupins(root)).err());
        return Ok(restore
            .map(|err| Warning::PinsLostAtRestore(err.to_string()))
            .into_iter()
            .collect());
    };
    match policy {
        CpuPolicy::Manual => {
            check_manually_pinned(request.cputune.as_ref(), metadata.manually_pinned.as_ref())?;
            if let Some(cputune) = &request.cputune {
                check_engine_string(cputune, &engine_vcpupins(root))?;
            }
            Ok(Vec::new())
        }
        CpuPolicy::NoPinning => {
            if let Some(cputune) = &request.cputune {
                return Err(Refusal::PinsUndoneByPolicyNone {
                    example: engine_pins(cputune),
                });
            }
            Ok(floating_vcpus(request, host))
        }
        CpuPolicy::Exclusive(policy) => {
            let policy = *policy;
            if request.cputune.is_some() {
                return Err(Refusal::EnginePinsCpus { policy });
            }
            if request.numatune.is_some() {
                return Err(Refusal::EnginePlacesMemory { policy });
            }
            if host_nodes(request).is_some() {
                return Err(Refusal::HostNodesUnderExclusivePolicy { policy });
            }
            if request.guestnuma.is_some() && has_memnodes(root) {
                return Err(Refusal::EngineNumaNodesUnderExclusivePolicy { policy });
            }
            Ok(Vec::new())
        }
        CpuPolicy::Other(_) if request.cputune.is_some() => Err(Refusal::UnknownCpuPolicy {
            policy: policy.to_string(),
        }),
        CpuPolicy::Other(_) => Ok(Vec::new()),
    }
}

/// How `apply`, the hook and the migration check name the policy they saw.
pub(crate) fn describe(policy: Option<&CpuPolicy>) -> String {
    match policy {
        Some(other @ CpuPolicy::Other(_)) => {
            format!("CPU pinning policy: {other} (unknown to this hook)")
        }
        Some(policy) => format!("CPU pinning policy: {policy}"),
        None => "CPU pinning policy: not given (engine 4.4 or older; VDSM takes manual \
                 when the VM has pins, else none)"
            .to_string(),
    }
}

/// Under `manual` with `manuallyPinedCPUs` (a domain VDSM has run before),
/// VDSM keeps only those vCPUs' pins.
fn check_manually_pinned(
    cputune: Option<&CpuTune>,
    manual: Option<&CpuSet>,
) -> Result<(), Refusal> {
    let (Some(cputune), Some(manual)) = (cputune, manual) else {
        return Ok(());
    };
    let pinned: CpuSet = cputune.pins.iter().map(|pin| pin.vcpu).collect();
    let lost = pinned.difference(manual);
    match lost.is_empty() {
        true => Ok(()),
        false => Err(Refusal::PinsNotManuallyPinned {
            vcpus: lost,
            manual: manual.clone(),
        }),
    }
}

/// A restore from hibernation or a memory snapshot rebuilds the pins from
/// the engine's string, the `<vcpupin>`s of the XML the engine sent
/// (`cpumanagement.replace_cpu_pinning` with `initialVCPUPin`): a vCPU both
/// pin gets the engine's CPUs, and a vCPU only `cputune` pins, below the
/// last one the engine pins, gets `cpuset="None"`, which libvirt refuses.
/// A vCPU past the engine's last one keeps the hook's pin.
fn check_engine_string(cputune: &CpuTune, engine: &[(u32, CpuSet)]) -> Result<(), Refusal> {
    let Some(last) = engine.iter().map(|(vcpu, _)| *vcpu).max() else {
        return Ok(());
    };
    for pin in &cputune.pins {
        let reason = match engine.iter().find(|(vcpu, _)| *vcpu == pin.vcpu) {
            Some((_, cpus)) if *cpus == pin.cpuset => continue,
            Some((_, cpus)) => EngineStringReason::OtherCpus(cpus.clone()),
            None if pin.vcpu < last => EngineStringReason::Unpinned { last },
            None => continue,
        };
        return Err(Refusal::EngineStringContradicts {
            vcpu: pin.vcpu,
            cpus: pin.cpuset.clone(),
            reason,
            fix: agreeing_string(cputune),
        });
    }
    Ok(())
}

/// The engine string to type: these pins when short, else the first of
/// them alone, which a restore also leaves the later ones alone with.
fn agreeing_string(cputune: &CpuTune) -> String {
    let example = engine_pins(cputune);
    match cputune.pins.len() > 1 && !example.contains('_') {
        true => format!("{example}, the first of these pins (or all of them, one vCPU an entry)"),
        false => format!("the same pins, {example}"),
    }
}

/// The engine's CPU pinning string as it wrote it: one `<vcpupin>` per
/// entry. A cpuset this grammar cannot read is left to libvirt.
fn engine_vcpupins(root: Node) -> Vec<(u32, CpuSet)> {
    children(root, "cputune")
        .flat_map(|cputune| children(cputune, "vcpupin"))
        .filter_map(|pin| {
            let vcpu = pin.attribute("vcpu")?.trim().parse().ok()?;
            Some((vcpu, pin.attribute("cpuset")?.parse().ok()?))
        })
        .collect()
}

/// Under `none` the memory binding stays but the vCPUs float over the
/// whole shared pool, so bound memory is remote to them part of the time;
/// not so when the binding covers every node with memory.
fn floating_vcpus(request: &Request, host: Option<&HostLimits>) -> Vec<Warning> {
    let mut bound: Vec<(&'static str, NodeSet)> = Vec::new();
    if let Some(numatune) = &request.numatune {
        if let Placement::Nodes(nodes) = &numatune.placement {
            bound.push(("numatune", nodes.clone()));
        }
    }
    if let Some(nodes) = host_nodes(request) {
        bound.push(("guestnuma", nodes));
    }
    bound
        .into_iter()
        .filter(|(_, nodes)| host.is_none_or(|host| !host.memory_nodes.is_subset(nodes)))
        .map(|(property, nodes)| Warning::VcpusFloat { property, nodes })
        .collect()
}

/// Every host node the guestnuma cells bind memory to, if any does.
fn host_nodes(request: &Request) -> Option<NodeSet> {
    let Some(GuestNuma::Cells(cells)) = &request.guestnuma else {
        return None;
    };
    let nodes: NodeSet = cells
        .iter()
        .filter_map(|cell| cell.host_nodes.as_ref())
        .flat_map(|nodes| nodes.iter().collect::<Vec<_>>())
        .collect();
    (!nodes.is_empty()).then_some(nodes)
}

fn has_memnodes(root: Node) -> bool {
    child(root, "numatune").is_some_and(|numatune| children(numatune, "memnode").next().is_some())
}

/// The pins in the engine's own syntax (`0#0_1#2-3`), or the first one.
fn engine_pins(cputune: &CpuTune) -> String {
    let entries: Vec<String> = cputune
        .pins
        .iter()
        .map(|pin| format!("{}#{}", pin.vcpu, pin.cpuset))
        .collect();
    let all = entries.join("_");
    match all.len() <= EXAMPLE_LEN {
        true => all,
        false => entries.into_iter().next().unwrap_or_else(|| "0#0".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metadata::ExclusivePolicy;
    use crate::properties::{Property, Request};

    const DOMAIN: &str = "<domain><vcpu>4</vcpu></domain>";
    const WITH_MEMNODES: &str = "<domain><vcpu>4</vcpu><numatune>\
        <memnode cellid='0' mode='interleave' nodeset='0'/></numatune></domain>";

    fn request(pairs: &[(Property, &str)]) -> Request {
        Request::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn decide(
        policy: Option<CpuPolicy>,
        xml: &str,
        pairs: &[(Property, &str)],
    ) -> Result<Vec<Warning>, Refusal> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let metadata = OvirtMetadata {
            cpu_policy: policy,
            manually_pinned: None,
        };
        let host = HostLimits {
            online_cpus: CpuSet::from_range(0, 7),
            memory_nodes: NodeSet::from_range(0, 1),
            kernel: None,
        };
        check(&metadata, doc.root_element(), &request(pairs), Some(&host))
    }

    const DEDICATED: CpuPolicy = CpuPolicy::Exclusive(ExclusivePolicy::Dedicated);

    #[test]
    fn absent_and_manual_allow_everything() {
        let all = [
            (Property::CpuTune, "0#0"),
            (Property::NumaTune, "strict#0"),
            (Property::GuestNuma, "0-1#1G#0,2-3#1G#1"),
        ];
        assert_eq!(decide(None, DOMAIN, &all), Ok(vec![]));
        assert_eq!(decide(Some(CpuPolicy::Manual), DOMAIN, &all), Ok(vec![]));
    }

    #[test]
    fn none_refuses_pins_and_warns_about_partial_binding() {
        let err = decide(
            Some(CpuPolicy::NoPinning),
            DOMAIN,
            &[(Property::CpuTune, "0#0,1#1-3,^2")],
        );
        assert_eq!(
            err,
            Err(Refusal::PinsUndoneByPolicyNone {
                example: "0#0_1#1,3".into()
            })
        );
        let warned = decide(
            Some(CpuPolicy::NoPinning),
            DOMAIN,
            &[(Property::NumaTune, "strict#0")],
        );
        assert_eq!(
            warned,
            Ok(vec![Warning::VcpusFloat {
                property: "numatune",
                nodes: NodeSet::from_range(0, 0)
            }])
        );
        // Memory spread over every node with memory is never remote-only.
        let everywhere = [
            (Property::NumaTune, "interleave#0-1"),
            (Property::GuestNuma, "0-1#1G#0,2-3#1G#1"),
        ];
        assert_eq!(
            decide(Some(CpuPolicy::NoPinning), DOMAIN, &everywhere),
            Ok(vec![])
        );
    }

    #[test]
    fn long_pins_are_shown_by_their_first_entry() {
        let pins = (0..16)
            .map(|i| format!("{i}#{i}"))
            .collect::<Vec<_>>()
            .join("_");
        let tune = crate::properties::cputune::parse(&pins).unwrap();
        assert_eq!(engine_pins(&tune), "0#0");
    }

    #[test]
    fn exclusive_policies_leave_cpus_and_memory_to_the_engine() {
        let refused = |pairs: &[(Property, &str)], xml: &str| decide(Some(DEDICATED), xml, pairs);
        let policy = ExclusivePolicy::Dedicated;
        assert_eq!(
            refused(&[(Property::CpuTune, "0#0")], DOMAIN),
            Err(Refusal::EnginePinsCpus { policy })
        );
        assert_eq!(
            refused(&[(Property::NumaTune, "interleave#0-1")], DOMAIN),
            Err(Refusal::EnginePlacesMemory { policy })
        );
        assert_eq!(
            refused(&[(Property::GuestNuma, "0-1#1G#0,2-3#1G#1")], DOMAIN),
            Err(Refusal::HostNodesUnderExclusivePolicy { policy })
        );
        assert_eq!(
            refused(&[(Property::GuestNuma, "2")], WITH_MEMNODES),
            Err(Refusal::EngineNumaNodesUnderExclusivePolicy { policy })
        );
        assert_eq!(refused(&[(Property::GuestNuma, "2")], DOMAIN), Ok(vec![]));
    }

    #[test]
    fn an_unknown_policy_refuses_pins_only() {
        let other = Some(CpuPolicy::Other("exclusive".into()));
        assert_eq!(
            decide(other.clone(), DOMAIN, &[(Property::CpuTune, "0#0")]),
            Err(Refusal::UnknownCpuPolicy {
                policy: "'exclusive'".into()
            })
        );
        assert_eq!(
            decide(other, DOMAIN, &[(Property::NumaTune, "0")]),
            Ok(vec![])
        );
    }

    #[test]
    fn manually_pinned_vcpus_bound_what_vdsm_keeps() {
        let tune = crate::properties::cputune::parse("0-3#0").unwrap();
        let manual = CpuSet::from_range(0, 1);
        assert_eq!(
            check_manually_pinned(Some(&tune), Some(&manual)),
            Err(Refusal::PinsNotManuallyPinned {
                vcpus: CpuSet::from_range(2, 3),
                manual
            })
        );
        assert_eq!(check_manually_pinned(Some(&tune), None), Ok(()));
    }

    #[test]
    fn the_engine_string_must_agree_with_cputune_for_a_restore() {
        let tune = crate::properties::cputune::parse("0#4,1#5,3#7").unwrap();
        let set = |lo, hi| CpuSet::from_range(lo, hi);
        // The same pins, or fewer entries at the start: the restore keeps them.
        assert_eq!(check_engine_string(&tune, &[(0, set(4, 4))]), Ok(()));
        assert_eq!(check_engine_string(&tune, &[]), Ok(()));
        let other = check_engine_string(&tune, &[(0, set(0, 0))]);
        assert_eq!(
            other,
            Err(Refusal::EngineStringContradicts {
                vcpu: 0,
                cpus: set(4, 4),
                reason: EngineStringReason::OtherCpus(set(0, 0)),
                fix: "the same pins, 0#4_1#5_3#7".into(),
            })
        );
        let gap = check_engine_string(&tune, &[(0, set(4, 4)), (2, set(6, 6))]);
        assert!(matches!(
            gap,
            Err(Refusal::EngineStringContradicts {
                vcpu: 1,
                reason: EngineStringReason::Unpinned { last: 2 },
                ..
            })
        ));
    }

    #[test]
    fn manual_reads_the_engine_pins_from_the_domain() {
        let xml = "<domain><vcpu>4</vcpu><cputune><vcpupin vcpu='0' cpuset='0'/>\
            </cputune></domain>";
        let refused = decide(Some(CpuPolicy::Manual), xml, &[(Property::CpuTune, "0#1")]);
        assert!(matches!(
            refused,
            Err(Refusal::EngineStringContradicts { vcpu: 0, .. })
        ));
        let agreed = decide(
            Some(CpuPolicy::Manual),
            xml,
            &[(Property::CpuTune, "0-3@0-3")],
        );
        assert_eq!(agreed, Ok(vec![]));
    }

    #[test]
    fn the_policy_is_named_for_the_log() {
        assert_eq!(
            describe(Some(&CpuPolicy::Manual)),
            "CPU pinning policy: manual"
        );
        assert_eq!(
            describe(Some(&CpuPolicy::Other("x'y".into()))),
            "CPU pinning policy: 'x\\'y' (unknown to this hook)"
        );
        assert!(describe(None).starts_with("CPU pinning policy: not given"));
    }
}
