//! The host PCI devices passed through to the VM: `<hostdev type='pci'>`
//! and SR-IOV functions given as `<interface type='hostdev'>`.

use std::fmt;

use roxmltree::Node;

use crate::domain::values::{c_unsigned, Base};
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
    // libvirt's XPath ./devices/hostdev reads every <devices>.
    children(root, "devices")
        .flat_map(|devices| devices.children())
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

/// Each part as libvirt's `virPCIDeviceAddressParseXML` reads it: base 0
/// (`0x` hex, a leading `0` octal, else decimal, so `bus='010'` is bus 8),
/// a missing part 0. An address libvirt refuses (`virPCIDeviceAddressIsValid`:
/// domain past 0xffff, bus past 0xff, slot past 0x1f, function past 7, or
/// all of domain, bus and slot 0) is left to it.
fn pci_address(node: Node) -> Option<PciAddress> {
    if node.attribute("type").is_some_and(|t| t != "pci") {
        return None;
    }
    let part = |name: &str| -> Option<u32> {
        match node.attribute(name) {
            Some(text) => c_unsigned(text, Base::C),
            None => Some(0),
        }
    };
    let address = PciAddress {
        domain: part("domain")?,
        bus: part("bus")?,
        slot: part("slot")?,
        function: part("function")?,
    };
    let valid = address.domain <= 0xffff
        && address.bus <= 0xff
        && address.slot <= 0x1f
        && address.function <= 7
        && (address.domain, address.bus, address.slot) != (0, 0, 0);
    valid.then_some(address)
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

    #[test]
    fn addresses_are_read_in_c_bases() {
        let xml = "<domain><devices>\
            <hostdev type='pci'><source><address domain='0' bus='010' slot='2' function='1'/></source></hostdev>\
            <hostdev type='pci'><source><address bus='59' slot='0x00' function='0'/></source></hostdev>\
            <hostdev type='pci'><source><address bus='08' slot='0' function='0'/></source></hostdev>\
            <hostdev type='pci'><source><address bus='0x100' slot='0' function='0'/></source></hostdev>\
            </devices></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let found: Vec<String> = pci_devices(doc.root_element())
            .iter()
            .map(|d| d.address.to_string())
            .collect();
        assert_eq!(found, ["0000:08:02.1", "0000:3b:00.0"]);
    }
}
