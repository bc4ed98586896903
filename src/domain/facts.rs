//! What the domain XML says about the VM, as far as the plan needs it.

use roxmltree::{Document, Node};

use crate::domain::document::{bad_value, kib, number, DocumentError};
use crate::domain::metadata::OvirtMetadata;
use crate::domain::xml_edit::{child, children};
use crate::wording::{quoted, shorten};

/// The facts of the VM the checks compare the properties against.
pub struct Domain<'a, 'i> {
    pub root: Node<'a, 'i>,
    /// The maximum vCPU count, hotpluggable ones included.
    pub vcpus: u32,
    pub memory_kib: Option<u64>,
    /// `<memory>` in a decimal unit (KB, MB, GB, TB): 4 GB is not whole MiB.
    pub memory_in_decimal_unit: bool,
    /// `<devices><memory>` (DIMMs, NVDIMMs, virtio-mem): libvirt adds their
    /// sizes to the cells' sum to get `<memory>`.
    pub device_memory_kib: u64,
    /// The guest cells memory devices are plugged into.
    pub device_nodes: Vec<u32>,
    /// `<cpu><topology>`, when it is there and readable (libvirt refuses
    /// the domain itself otherwise).
    pub topology: Option<GuestTopology>,
    /// The engine's metadata: the CPU pinning policy VDSM will act on.
    pub ovirt: OvirtMetadata,
}

/// How QEMU numbers the vCPUs: threads first, so vCPU `i` is thread
/// `i % threads` of core `i / threads`, and a core, a cluster, a die and a
/// socket are each a run of consecutive vCPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestTopology {
    pub sockets: u32,
    pub dies: u32,
    pub clusters: u32,
    pub cores: u32,
    pub threads: u32,
}

impl GuestTopology {
    /// `sockets`, `cores` and `threads` are required; `dies` and `clusters`
    /// default to 1, as in libvirt.
    fn read(topology: Node) -> Option<GuestTopology> {
        let count = |name: &str, default: Option<u32>| match topology.attribute(name) {
            Some(text) => text.trim().parse::<u32>().ok().filter(|&n| n > 0),
            None => default,
        };
        Some(GuestTopology {
            sockets: count("sockets", None)?,
            dies: count("dies", Some(1))?,
            clusters: count("clusters", Some(1))?,
            cores: count("cores", None)?,
            threads: count("threads", None)?,
        })
    }

    /// The vCPUs of one core, one die and one socket, in that order.
    pub fn levels(&self) -> [(&'static str, u64); 3] {
        let core = u64::from(self.threads);
        let die = core * u64::from(self.cores) * u64::from(self.clusters);
        [
            ("core", core),
            ("die", die),
            ("socket", die * u64::from(self.dies)),
        ]
    }
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
            return Err(DocumentError::NotADomain(format!(
                "domain xmlns={}",
                quoted(&shown)
            )));
        }
        let vcpus = match child(root, "vcpu") {
            // libvirt refuses 0 too; past here every count starts at 1.
            Some(vcpu) => match number(vcpu, VCPU_COUNT)? {
                0 => return Err(bad_value(vcpu, VCPU_COUNT)),
                n => n,
            },
            None => 1,
        };
        let memory = child(root, "memory");
        let memory_kib = memory.map(kib).transpose()?;
        let memory_in_decimal_unit = memory
            .and_then(|m| m.attribute("unit"))
            .is_some_and(|unit| unit.len() == 2 && unit.to_ascii_lowercase().ends_with('b'));
        let mut domain = Domain {
            root,
            vcpus,
            memory_kib,
            memory_in_decimal_unit,
            device_memory_kib: 0,
            device_nodes: Vec::new(),
            topology: child(root, "cpu")
                .and_then(|cpu| child(cpu, "topology"))
                .and_then(GuestTopology::read),
            ovirt: OvirtMetadata::read(root),
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
