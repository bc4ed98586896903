//! What the domain XML says about the VM, as far as the plan needs it.

use roxmltree::{Document, Node};

use crate::domain::document::{bad_value, kib, number, DocumentError};
use crate::domain::xml_edit::{child, children};
use crate::wording::shorten;

/// The facts of the VM the checks compare the properties against.
pub struct Domain<'a, 'i> {
    pub root: Node<'a, 'i>,
    /// The maximum vCPU count, hotpluggable ones included.
    pub vcpus: u32,
    pub memory_kib: Option<u64>,
    /// `<devices><memory>` (DIMMs, NVDIMMs, virtio-mem): libvirt adds their
    /// sizes to the cells' sum to get `<memory>`.
    pub device_memory_kib: u64,
    /// The guest cells memory devices are plugged into.
    pub device_nodes: Vec<u32>,
}

impl<'a, 'i> Domain<'a, 'i> {
    pub fn read(doc: &'a Document<'i>) -> Result<Domain<'a, 'i>, DocumentError> {
        let root = doc.root_element();
        if root.tag_name().name() != "domain" {
            return Err(DocumentError::NotADomain(
                root.tag_name().name().to_string(),
            ));
        }
        // libvirt reads no element of a <domain> in a namespace (it refuses
        // it for a missing <name>), and the hook would not find its own edit.
        if let Some(namespace) = root.tag_name().namespace().filter(|ns| !ns.is_empty()) {
            let shown = shorten(namespace);
            return Err(DocumentError::NotADomain(format!("domain xmlns={shown:?}")));
        }
        let vcpus = match child(root, "vcpu") {
            // libvirt refuses 0 too; past here every count starts at 1.
            Some(vcpu) => match number(vcpu, VCPU_COUNT)? {
                0 => return Err(bad_value(vcpu, VCPU_COUNT)),
                n => n,
            },
            None => 1,
        };
        let memory_kib = child(root, "memory").map(kib).transpose()?;
        let mut domain = Domain {
            root,
            vcpus,
            memory_kib,
            device_memory_kib: 0,
            device_nodes: Vec::new(),
        };
        domain.read_memory_devices()?;
        Ok(domain)
    }

    fn read_memory_devices(&mut self) -> Result<(), DocumentError> {
        let Some(devices) = child(self.root, "devices") else {
            return Ok(());
        };
        for device in children(devices, "memory") {
            let Some(target) = child(device, "target") else {
                continue;
            };
            if let Some(size) = child(target, "size") {
                self.device_memory_kib = self.device_memory_kib.saturating_add(kib(size)?);
            }
            if let Some(node) = child(target, "node") {
                self.device_nodes
                    .push(number(node, "a guest NUMA cell id")?);
            }
        }
        Ok(())
    }

    /// The existing guest cells, `<cpu><numa><cell>`.
    pub fn cells(&self) -> Vec<Node<'a, 'i>> {
        self.numa()
            .map(|numa| children(numa, "cell").collect())
            .unwrap_or_default()
    }

    pub fn numa(&self) -> Option<Node<'a, 'i>> {
        child(self.root, "cpu").and_then(|cpu| child(cpu, "numa"))
    }
}

const VCPU_COUNT: &str = "a number of vCPUs, 1 or more";
