//! Device locality: a passthrough PCI device does its DMA into guest
//! memory and raises its interrupts on the host node it sits on. When the
//! memory is bound strict (or restrictive) to other nodes, every transfer
//! crosses the
//! interconnect. `pci_numa_affinity` says whether that refuses the start
//! (`required`) or is said and allowed (`preferred`, the default), as
//! Nova's policy of the same name does.

use crate::cpuset::NodeSet;
use crate::domain::devices::pci_devices;
use crate::domain::facts::Domain;
use crate::host::paths::KernelTrees;
use crate::host::pci::numa_node;
use crate::plan::binding::MemoryBinding;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::affinity::PciNumaAffinity;

/// `cells`: how many guest cells the VM will have.
pub(crate) fn check(
    domain: &Domain,
    cells: usize,
    binding: &MemoryBinding,
    policy: PciNumaAffinity,
    kernel: &KernelTrees,
) -> Result<Vec<Warning>, Refusal> {
    let Some((mode, nodes)) = strict_nodes(cells, binding) else {
        return Ok(Vec::new());
    };
    let mut warnings = Vec::new();
    for device in pci_devices(domain.root) {
        let address = device.address.to_string();
        let node = match numa_node(&kernel.sysfs, &address) {
            Ok(Some(node)) => node,
            Ok(None) => continue,
            Err(err) => {
                warnings.push(Warning::CheckSkipped {
                    check: "the device locality check",
                    reason: err.to_string(),
                });
                continue;
            }
        };
        if nodes.contains(node) {
            continue;
        }
        let (element, nodes) = (device.element, nodes.clone());
        match policy {
            PciNumaAffinity::Required => {
                return Err(Refusal::DeviceOffNodes {
                    mode,
                    element,
                    address,
                    node,
                    nodes,
                })
            }
            PciNumaAffinity::Preferred => warnings.push(Warning::DeviceOffNodes {
                mode,
                element,
                address,
                node,
                nodes,
            }),
        }
    }
    Ok(warnings)
}

/// The mode and host nodes all guest memory is confined to (strict or
/// restrictive, which libvirt never mixes); `None` when some of it may come
/// from anywhere, where no device is far from it all.
fn strict_nodes(cells: usize, binding: &MemoryBinding) -> Option<(&'static str, NodeSet)> {
    let pieces: Vec<Option<u32>> = match cells {
        0 => vec![None],
        n => (0..n as u32).map(Some).collect(),
    };
    let mut nodes = NodeSet::new();
    let mut mode = "strict";
    for piece in pieces {
        let bind = binding.of(piece)?;
        let bound = bind.strict_nodes()?;
        mode = bind.confining_mode();
        for &(lo, hi) in bound.ranges() {
            nodes.insert_range(lo, hi);
        }
    }
    Some((mode, nodes))
}
