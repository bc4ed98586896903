//! The host PCI devices passed through to the VM: `<hostdev type='pci'>`
//! and SR-IOV functions given as `<interface type='hostdev'>`.

use std::fmt;

use roxmltree::Node;

use crate::xml::read::{child, children};

/// `DDDD:BB:SS.F`, the name sysfs gives the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PciAddress {
    pub domain: u32,
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PassedDevice {
    pub address: PciAddress,
    /// `hostdev` or `interface`, as the message names it.
    pub element: &'static str,
}

/// Every PCI device the VM takes from the host, in document order. One
/// whose address libvirt could not read either is left to libvirt.
pub(crate) fn pci_devices(root: Node) -> Vec<PassedDevice> {
    let Some(devices) = child(root, "devices") else {
        return Vec::new();
    };
    devices
        .children()
        .filter(Node::is_element)
        .flat_map(passed_device)
        .collect()
}

/// The host PCI functions one device element takes: none unless it is a
/// `<hostdev type='pci'>` or an `<interface type='hostdev'>`. A NIC
/// hotplug hands the hook such an element alone.
pub(crate) fn passed_device(node: Node) -> Vec<PassedDevice> {
    let element = match (node.tag_name().name(), node.attribute("type")) {
        ("hostdev", Some("pci")) => "hostdev",
        ("interface", Some("hostdev")) => "interface",
        _ => return Vec::new(),
    };
    child(node, "source")
        .into_iter()
        .flat_map(|s| children(s, "address"))
        .filter_map(pci_address)
        .map(|address| PassedDevice { address, element })
        .collect()
}

/// libvirt writes each part in hex with `0x`; the domain defaults to 0.
fn pci_address(node: Node) -> Option<PciAddress> {
    if node.attribute("type").is_some_and(|t| t != "pci") {
        return None;
    }
    let part = |name: &str| -> Option<u32> {
        let text = node.attribute(name)?.trim();
        match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        }
    };
    Some(PciAddress {
        domain: node
            .attribute("domain")
            .map_or(Some(0), |_| part("domain"))?,
        bus: part("bus")?,
        slot: part("slot")?,
        function: part("function")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostdevs_and_sriov_interfaces_are_found() {
        let xml = "<domain><devices>\
            <hostdev mode='subsystem' type='pci' managed='yes'><source>\
            <address domain='0x0000' bus='0x06' slot='0x02' function='0x1'/></source></hostdev>\
            <interface type='hostdev'><source><address type='pci' domain='0x0001' bus='0x81' slot='0x10' function='0x2'/></source></interface>\
            <interface type='bridge'><source bridge='br0'/></interface>\
            <hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>\
            </devices></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let found: Vec<String> = pci_devices(doc.root_element())
            .iter()
            .map(|d| format!("{} {}", d.element, d.address))
            .collect();
        assert_eq!(found, ["hostdev 0000:06:02.1", "interface 0001:81:10.2"]);
    }
}
