//! What the domain XML says about the VM, as far as the plan needs it,
//! read the way libvirt reads it: element text is all of its text, numbers
//! follow libvirt's rules, and where libvirt merges repeated parents
//! (`<devices>`, `<cputune>`, the cells of every `<cpu>`) so does this.

use roxmltree::{Document, Node};

use crate::domain::document::{
    attribute_kib, attribute_number, bad_value, kib, libvirt_number, number, DocumentError,
};
use crate::domain::metadata::OvirtMetadata;
use crate::wording::{quoted, shorten};
use crate::xml::read::{child, children};

/// The facts of the VM the checks compare the properties against.
pub struct Domain<'a, 'i> {
    pub root: Node<'a, 'i>,
    /// The maximum vCPU count, hotpluggable ones included.
    pub vcpus: u32,
    /// `<vcpu placement='auto'>`: libvirt then places memory with numad
    /// too, unless `<numatune>` names a node set.
    pub vcpu_placement_auto: bool,
    pub memory_kib: Option<u64>,
    /// `<memory>` in a decimal unit (KB, MB, GB, TB), as written.
    pub memory_decimal_unit: Option<String>,
    /// `<devices><memory>` of every `<devices>` (DIMMs, NVDIMMs,
    /// virtio-mem): libvirt adds their sizes to the cells' sum to get `<memory>`.
    pub device_memory_kib: u64,
    /// The guest cells memory devices are plugged into.
    pub device_nodes: Vec<u32>,
    /// `<cpu><topology>` of the first `<cpu>`, when it is there and
    /// readable (libvirt refuses the domain itself otherwise).
    pub topology: Option<GuestTopology>,
    /// The engine's metadata: the CPU pinning policy VDSM will act on.
    pub ovirt: OvirtMetadata,
    /// How many `<cpu>` elements there are: libvirt reads cells from each.
    pub cpu_count: usize,
    /// The cells of the first `<numa>` of every `<cpu>`, in document order.
    pub cells: Vec<OldCell<'a, 'i>>,
    /// Every `<cputune>`, in document order: libvirt reads them as one.
    pub cputunes: Vec<Node<'a, 'i>>,
    /// The vcpupins of every `<cputune>`, in document order.
    pub pins: Vec<OldPin<'a, 'i>>,
    /// How many `<numatune>` elements there are: libvirt accepts one.
    pub numatune_count: usize,
    /// The memnodes of the first `<numatune>`.
    pub memnodes: Vec<OldMemnode<'a, 'i>>,
}

/// A `<cell>` of the VM, with its id as libvirt reads it (its position
/// among the cells when it has none).
#[derive(Debug, Clone, Copy)]
pub struct OldCell<'a, 'i> {
    pub node: Node<'a, 'i>,
    pub id: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct OldPin<'a, 'i> {
    pub node: Node<'a, 'i>,
    pub vcpu: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct OldMemnode<'a, 'i> {
    pub node: Node<'a, 'i>,
    pub cellid: u32,
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
            Some(text) => libvirt_number(text)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n > 0),
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

    /// The vCPUs of one core, one die and one socket, in that order. The
    /// counts come from the document, so a product past `u64` saturates
    /// (and then matches no `<vcpu>`) rather than wrapping into one that might.
    pub fn levels(&self) -> [(&'static str, u64); 3] {
        let core = u64::from(self.threads);
        let die = core
            .saturating_mul(u64::from(self.cores))
            .saturating_mul(u64::from(self.clusters));
        [
            ("core", core),
            ("die", die),
            ("socket", die.saturating_mul(u64::from(self.dies))),
        ]
    }

    /// libvirt refuses a topology that does not multiply out to `<vcpu>`
    /// ("CPU topology doesn't match maximum vcpu count"), so the hook reasons
    /// about cores, dies and sockets only when it does.
    pub fn holds(&self, vcpus: u32) -> bool {
        self.levels()[2].1.saturating_mul(u64::from(self.sockets)) == u64::from(vcpus)
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
        let vcpu = child(root, "vcpu");
        let vcpus = match vcpu {
            // libvirt refuses 0 too; past here every count starts at 1.
            Some(vcpu) => match number(vcpu, VCPU_COUNT)? {
                0 => return Err(bad_value(vcpu, VCPU_COUNT)),
                n => n,
            },
            None => 1,
        };
        let memory = child(root, "memory");
        let cpus: Vec<Node> = children(root, "cpu").collect();
        let numatunes: Vec<Node> = children(root, "numatune").collect();
        let cputunes: Vec<Node> = children(root, "cputune").collect();
        let (device_memory_kib, device_nodes) = memory_devices(root)?;
        Ok(Domain {
            root,
            vcpus,
            vcpu_placement_auto: vcpu.and_then(|v| v.attribute("placement")) == Some("auto"),
            memory_kib: memory.map(kib).transpose()?,
            memory_decimal_unit: memory
                .and_then(|m| m.attribute("unit"))
                .filter(|unit| unit.len() == 2 && unit.to_ascii_lowercase().ends_with('b'))
                .map(str::to_string),
            device_memory_kib,
            device_nodes,
            topology: cpus
                .first()
                .and_then(|cpu| child(*cpu, "topology"))
                .and_then(GuestTopology::read),
            ovirt: OvirtMetadata::read(root),
            cpu_count: cpus.len(),
            cells: cells(&cpus)?,
            pins: pins(&cputunes)?,
            cputunes,
            numatune_count: numatunes.len(),
            memnodes: memnodes(numatunes.first().copied())?,
        })
    }

    /// The first `<cpu>`'s `<numa>`, which the edit rebuilds.
    pub fn numa(&self) -> Option<Node<'a, 'i>> {
        child(self.root, "cpu").and_then(|cpu| child(cpu, "numa"))
    }

    /// The old cell of each id, when the ids are the 0..n-1 libvirt needs.
    pub fn cell_by_id(&self, id: u32) -> Option<&OldCell<'a, 'i>> {
        self.cells.iter().find(|cell| cell.id == id)
    }

    /// Each old cell's memory in KiB, in id order (the order of the guest's
    /// memory, as QEMU lays out its NUMA nodes); `None` when the ids are not
    /// 0..n-1 or a size cannot be read (libvirt refuses such a domain).
    pub fn cell_sizes(&self) -> Option<Vec<u64>> {
        (0..self.cells.len() as u32)
            .map(|id| {
                let node = self.cell_by_id(id)?.node;
                attribute_kib(node.attribute("memory")?, node.attribute("unit"))
            })
            .collect()
    }

    /// The memory the cells hold, as libvirt counts it: with cells, their
    /// sum, whatever `<memory>` says (virDomainDefPostParseMemory makes
    /// `<memory>` the cells plus the memory devices); without, `<memory>`
    /// less the memory devices.
    pub fn cells_memory_kib(&self) -> Option<u64> {
        match self.cells.is_empty() {
            true => self
                .memory_kib
                .map(|kib| kib.saturating_sub(self.device_memory_kib)),
            false => self.cell_sizes().map(|sizes| sizes.iter().sum()),
        }
    }
}

/// The size and the guest cell of every `<devices><memory>`.
fn memory_devices(root: Node) -> Result<(u64, Vec<u32>), DocumentError> {
    let (mut total, mut nodes) = (0u64, Vec::new());
    let devices = children(root, "devices").flat_map(|d| children(d, "memory"));
    for target in devices.filter_map(|device| child(device, "target")) {
        if let Some(size) = child(target, "size") {
            total = total.saturating_add(kib(size)?);
        }
        if let Some(node) = child(target, "node") {
            nodes.push(number(node, "a guest NUMA cell id")?);
        }
    }
    Ok((total, nodes))
}

fn cells<'a, 'i>(cpus: &[Node<'a, 'i>]) -> Result<Vec<OldCell<'a, 'i>>, DocumentError> {
    let cells = cpus
        .iter()
        .filter_map(|cpu| child(*cpu, "numa"))
        .flat_map(|numa| children(numa, "cell"));
    cells
        .enumerate()
        .map(|(position, node)| {
            let id = attribute_number(node, "id", CELL_ID)?.unwrap_or(position as u32);
            Ok(OldCell { node, id })
        })
        .collect()
}

fn pins<'a, 'i>(cputunes: &[Node<'a, 'i>]) -> Result<Vec<OldPin<'a, 'i>>, DocumentError> {
    let pins = cputunes
        .iter()
        .flat_map(|cputune| children(*cputune, "vcpupin"));
    pins.map(|node| {
        let vcpu = required_number(node, "vcpu", VCPU_ID)?;
        Ok(OldPin { node, vcpu })
    })
    .collect()
}

fn memnodes<'a, 'i>(
    numatune: Option<Node<'a, 'i>>,
) -> Result<Vec<OldMemnode<'a, 'i>>, DocumentError> {
    let memnodes = numatune.into_iter().flat_map(|n| children(n, "memnode"));
    memnodes
        .map(|node| {
            let cellid = required_number(node, "cellid", CELL_ID)?;
            Ok(OldMemnode { node, cellid })
        })
        .collect()
}

/// libvirt refuses the element without the attribute, so the hook never
/// skips it: skipping would drop it when the parent is rebuilt.
fn required_number(
    node: Node,
    attribute: &'static str,
    expected: &'static str,
) -> Result<u32, DocumentError> {
    attribute_number(node, attribute, expected)?.ok_or_else(|| DocumentError::BadAttribute {
        element: node.tag_name().name().to_string(),
        attribute,
        text: String::new(),
        expected,
    })
}

const VCPU_COUNT: &str = "a number of vCPUs, 1 or more";
const CELL_ID: &str = "a guest cell id, a whole number 0 or more";
const VCPU_ID: &str = "a vCPU id, a whole number 0 or more";

#[cfg(test)]
mod tests {
    use super::GuestTopology;

    #[test]
    fn a_topology_past_u64_saturates_and_holds_no_vcpu_count() {
        let huge = GuestTopology {
            sockets: 1,
            dies: 65536,
            clusters: 65536,
            cores: 65536,
            threads: 65536,
        };
        // 2^64 would wrap to 0 and, times anything, match <vcpu>0</vcpu>.
        assert_eq!(huge.levels()[2].1, u64::MAX);
        assert!(!huge.holds(0));
        assert!(!huge.holds(u32::MAX));
    }

    #[test]
    fn a_topology_holds_only_the_vcpu_count_it_multiplies_out_to() {
        let two_sockets = GuestTopology {
            sockets: 2,
            dies: 1,
            clusters: 1,
            cores: 8,
            threads: 2,
        };
        assert_eq!(two_sockets.levels().map(|(_, size)| size), [2, 16, 16]);
        assert!(two_sockets.holds(32));
        assert!(!two_sockets.holds(4));
    }
}
