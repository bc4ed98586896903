//! A NIC plugged into a running VM: VDSM runs `before_nic_hotplug` with
//! the `<interface>` alone and the VM's custom properties. An SR-IOV
//! function (`<interface type='hostdev'>`) is judged as the start judges a
//! passthrough device, against the memory binding the properties asked
//! for. A `<hostdev>` plugged later runs no hook at all (VDSM's
//! `hotplugHostdev`), so nothing can judge it.

use roxmltree::Node;

use crate::cpuset::NodeSet;
use crate::domain::devices::passed_device;
use crate::host::paths::KernelTrees;
use crate::host::pci::numa_node;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::affinity::PciNumaAffinity;
use crate::properties::guestnuma::GuestNuma;
use crate::properties::numatune::{MemoryMode, Placement};
use crate::properties::Request;

/// What the check found of a hot-plugged NIC it lets through.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NicOutcome {
    pub notes: Vec<String>,
    pub warnings: Vec<Warning>,
}

/// `nic` is the root of the document VDSM handed the hook.
pub(crate) fn check_nic(
    nic: Node,
    request: &Request,
    kernel: &KernelTrees,
) -> Result<NicOutcome, Refusal> {
    let mut outcome = NicOutcome::default();
    let devices = passed_device(nic);
    if devices.is_empty() {
        outcome
            .notes
            .push("the plugged NIC takes no host PCI function; nothing to check".into());
        return Ok(outcome);
    }
    let Some(nodes) = strict_nodes(request) else {
        outcome.notes.push(
            "numatune and guestnuma bind no memory strictly to host nodes; the plugged NIC's \
             node is not judged"
                .into(),
        );
        return Ok(outcome);
    };
    for device in devices {
        let address = device.address.to_string();
        let node = match numa_node(&kernel.sysfs, &address) {
            Ok(Some(node)) => node,
            Ok(None) => continue,
            Err(err) => {
                outcome.warnings.push(Warning::CheckSkipped {
                    check: "the device locality check",
                    reason: err.to_string(),
                });
                continue;
            }
        };
        if nodes.contains(node) {
            outcome.notes.push(format!(
                "the plugged interface {address} sits on host node {node}, where the guest's memory is"
            ));
            continue;
        }
        let (element, nodes) = (device.element, nodes.clone());
        match request.pci_numa_affinity.unwrap_or_default() {
            PciNumaAffinity::Required => {
                return Err(Refusal::DeviceOffNodes {
                    mode: "strict",
                    element,
                    address,
                    node,
                    nodes,
                })
            }
            PciNumaAffinity::Preferred => outcome.warnings.push(Warning::DeviceOffNodes {
                mode: "strict",
                element,
                address,
                node,
                nodes,
            }),
        }
    }
    Ok(outcome)
}

/// The host nodes all guest memory is bound to in strict mode, as the
/// properties ask: each guestnuma cell's host nodes, else numatune's.
/// Bindings the engine wrote itself (its NUMA pinning) are in the running
/// VM's XML, which this hook point does not get.
fn strict_nodes(request: &Request) -> Option<NodeSet> {
    let mode = request
        .numatune
        .as_ref()
        .map_or(MemoryMode::Strict, |t| t.mode);
    if mode != MemoryMode::Strict {
        return None;
    }
    let memory = request
        .numatune
        .as_ref()
        .and_then(|tune| match &tune.placement {
            Placement::Nodes(nodes) => Some(nodes.clone()),
            Placement::Auto => None,
        });
    let cells: Vec<Option<NodeSet>> = match &request.guestnuma {
        Some(GuestNuma::Cells(cells)) => cells.iter().map(|c| c.host_nodes.clone()).collect(),
        _ => vec![None],
    };
    let mut all = NodeSet::new();
    for nodes in cells {
        let nodes = nodes.or_else(|| memory.clone())?;
        for &(lo, hi) in nodes.ranges() {
            all.insert_range(lo, hi);
        }
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::Property;

    fn request(pairs: &[(Property, &str)]) -> Request {
        Request::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn the_binding_comes_from_the_cells_then_numatune() {
        let nodes = |pairs: &[(Property, &str)]| strict_nodes(&request(pairs));
        assert_eq!(
            nodes(&[(Property::NumaTune, "strict#1")]),
            Some(NodeSet::from_range(1, 1))
        );
        assert_eq!(nodes(&[(Property::NumaTune, "interleave#0-1")]), None);
        assert_eq!(
            nodes(&[(Property::GuestNuma, "0-1#1G#0,2-3#1G#1")]),
            Some(NodeSet::from_range(0, 1))
        );
        // A cell without host nodes takes numatune's, or is unbound.
        assert_eq!(nodes(&[(Property::GuestNuma, "0-1#1G#0,2-3#1G")]), None);
        assert_eq!(
            nodes(&[
                (Property::GuestNuma, "0-1#1G#0,2-3#1G"),
                (Property::NumaTune, "strict#1")
            ]),
            Some(NodeSet::from_range(0, 1))
        );
        assert_eq!(nodes(&[(Property::PciNumaAffinity, "required")]), None);
    }
}
