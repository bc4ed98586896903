//! A running domain as libvirt records it under `/run/libvirt/qemu/`: the
//! pid file, and the status XML (`<domstatus>` around the live `<domain>`,
//! with the thread id of each online vCPU and numad's placement).
//!
//! The live `<domain>` is what libvirt believes the guest has now: a
//! `virsh vcpupin --live` or VDSM's CPU management shows here, and so do the
//! custom properties the engine put in `<metadata>` when it started the VM.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use roxmltree::{Document, Node};

use crate::cpuset::{CpuSet, NodeSet};
use crate::properties::numatune::{MemoryMode, NumaTune, Placement};
use crate::properties::Property;
use crate::wording::quoted;
use crate::xml::read::{child, children};

use super::{read_file, VerifyError};

/// Where the QEMU driver of `qemu:///system` keeps its status files.
const STATUS_DIR: &str = "libvirt/qemu";
/// The namespace VDSM and the engine give `<ovirt-vm:vm>` in `<metadata>`.
const OVIRT_VM_NS: &str = "http://ovirt.org/vm/1.0";
/// libvirt's status files hold the whole domain and QEMU's capabilities;
/// even a guest with hundreds of disks stays far below this.
const MAX_STATUS_LEN: u64 = 16 * 1024 * 1024;

/// One `<cpu><numa><cell>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveCell {
    pub id: u32,
    pub vcpus: CpuSet,
    pub memory_kib: u64,
}

/// One `<devices><memory>` (DIMM, NVDIMM, virtio-mem): QEMU maps it as a
/// backend of its own, plugged into a guest cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryDevice {
    pub model: String,
    pub size_kib: u64,
    pub cell: u32,
}

/// The properties that place the guest, which `verify` reads back.
const PLACING: [Property; 5] = [
    Property::CpuTune,
    Property::NumaTune,
    Property::GuestNuma,
    Property::EmulatorPin,
    Property::IoThreadPin,
];

/// Those of `PLACING` the engine wrote into `<ovirt-vm:custom>`, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Properties(pub Vec<(Property, String)>);

impl Properties {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a domain XML places the guest: its pins and its memory policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct XmlPlacement {
    /// `<vcpu cpuset=>`: the default for vCPUs, emulator and I/O threads.
    pub vcpu_cpuset: Option<CpuSet>,
    pub vcpupins: BTreeMap<u32, CpuSet>,
    pub emulatorpin: Option<CpuSet>,
    pub iothreadpins: BTreeMap<u32, CpuSet>,
    pub numatune: Option<NumaTune>,
    pub memnodes: BTreeMap<u32, (MemoryMode, NodeSet)>,
}

impl XmlPlacement {
    fn is_empty(&self) -> bool {
        *self == XmlPlacement::default()
    }
}

/// The definition libvirt keeps of a persistent domain, which a live
/// change (`virsh vcpupin --live`, `virsh emulatorpin --live`) leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Definition {
    pub path: PathBuf,
    pub placement: XmlPlacement,
}

/// What `verify` needs of the running domain.
#[derive(Debug, Clone)]
pub(crate) struct LiveDomain {
    pub name: String,
    pub uuid: String,
    pub pid: u32,
    /// vCPU id -> thread id, for the online vCPUs (`<vcpus><vcpu id= pid=>`).
    pub vcpu_threads: BTreeMap<u32, u32>,
    /// numad's advice when placement is auto (`<numad nodeset= cpuset=>`).
    pub numad_nodes: Option<NodeSet>,
    pub numad_cpus: Option<CpuSet>,
    /// The maximum vCPU count, hot-pluggable ones included.
    pub vcpus: u32,
    pub iothreads: Vec<u32>,
    /// The live XML's pins and memory policy.
    pub placement: XmlPlacement,
    /// The persistent definition, when the domain has one and it was read.
    pub defined: Option<Definition>,
    pub cells: Vec<LiveCell>,
    pub memory_kib: u64,
    pub memory_devices: Vec<MemoryDevice>,
    pub properties: Properties,
}

impl LiveDomain {
    /// Whether anything places the guest: one of the project's properties
    /// in its metadata, or pins or a memory policy of its own. Only such
    /// guests are worth `verify --all`'s look.
    pub(crate) fn is_placed(&self) -> bool {
        !self.properties.is_empty() || !self.placement.is_empty()
    }
}

/// Finds the status file of a running domain by name, else by UUID.
pub(super) fn locate(run: &Path, wanted: &str) -> Result<PathBuf, VerifyError> {
    let dir = run.join(STATUS_DIR);
    let not_running = || VerifyError::NotRunning {
        domain: wanted.to_string(),
        dir: dir.clone(),
    };
    // A name with a '/' could climb out of the folder; libvirt refuses it too.
    if wanted.is_empty() || wanted.contains('/') || wanted.starts_with('.') {
        return Err(not_running());
    }
    let by_name = dir.join(format!("{wanted}.xml"));
    if by_name.is_file() {
        return Ok(by_name);
    }
    let Some(uuid) = normalise_uuid(wanted) else {
        return Err(not_running());
    };
    by_uuid(&dir, &uuid)?.ok_or_else(not_running)
}

/// Lowercase hex without dashes, when the text is a UUID at all.
fn normalise_uuid(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|&c| c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// The status file of every domain libvirt runs, by name; none when
/// libvirt's QEMU driver never ran here.
pub(super) fn status_files(run: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    let dir = run.join(STATUS_DIR);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    list_status_files(&dir)
}

fn list_status_files(dir: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| VerifyError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Scans the status files; one that cannot be read or parsed is some other
/// domain's problem and is passed over.
fn by_uuid(dir: &Path, uuid: &str) -> Result<Option<PathBuf>, VerifyError> {
    for path in list_status_files(dir)? {
        let Ok(text) = read_file(&path, MAX_STATUS_LEN) else {
            continue;
        };
        let Ok(doc) = crate::domain::document::parse_whole(&text) else {
            continue;
        };
        let found = domain_of(&doc)
            .and_then(|domain| child(domain, "uuid"))
            .and_then(|node| normalise_uuid(node.text()?.trim()));
        if found.as_deref() == Some(uuid) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

fn domain_of<'a, 'i>(doc: &'a Document<'i>) -> Option<Node<'a, 'i>> {
    let root = doc.root_element();
    (root.tag_name().name() == "domstatus")
        .then(|| child(root, "domain"))
        .flatten()
}

impl LiveDomain {
    /// Reads the status file and the pid file beside it.
    pub(crate) fn read(status_path: &Path) -> Result<LiveDomain, VerifyError> {
        let text = read_file(status_path, MAX_STATUS_LEN)?;
        let bad = |what: String| VerifyError::Format {
            path: status_path.to_path_buf(),
            what,
        };
        let doc =
            crate::domain::document::parse_whole(&text).map_err(|err| bad(err.to_string()))?;
        let status = doc.root_element();
        let domain = domain_of(&doc)
            .ok_or_else(|| bad("is not a libvirt <domstatus> holding a <domain>".into()))?;
        let pid = read_pid(&status_path.with_extension("pid"))?;
        if let Some(recorded) = status.attribute("pid") {
            if recorded.parse::<u32>().ok() != Some(pid) {
                return Err(VerifyError::Stale {
                    path: status_path.to_path_buf(),
                    recorded: recorded.to_string(),
                    pid,
                });
            }
        }
        let reader = Reader { bad: &bad };
        reader.domain(status, domain, pid)
    }
}

/// Where libvirt's QEMU driver keeps the definitions of persistent domains.
const CONFIG_DIR: &str = "libvirt/qemu";

/// The persistent definition of domain `name` (`/etc/libvirt/qemu/NAME.xml`
/// under `etc`), or none for a transient domain (VDSM starts its VMs so).
pub(super) fn definition(etc: &Path, name: &str) -> Result<Option<Definition>, VerifyError> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Ok(None);
    }
    let path = etc.join(CONFIG_DIR).join(format!("{name}.xml"));
    if !path.exists() {
        return Ok(None);
    }
    let text = read_file(&path, MAX_STATUS_LEN)?;
    let bad = |what: String| VerifyError::Format {
        path: path.clone(),
        what,
    };
    let doc = crate::domain::document::parse_whole(&text).map_err(|err| bad(err.to_string()))?;
    let domain = doc.root_element();
    if domain.tag_name().name() != "domain" {
        return Err(bad("is not a libvirt domain definition (<domain>)".into()));
    }
    let placement = Reader { bad: &bad }.placement(domain)?;
    Ok(Some(Definition { path, placement }))
}

fn read_pid(path: &Path) -> Result<u32, VerifyError> {
    let text = read_file(path, 64)?;
    text.trim().parse().map_err(|_| VerifyError::Format {
        path: path.to_path_buf(),
        what: "does not hold a process id".into(),
    })
}

/// Reads the parts of the status XML, each failure naming the element.
struct Reader<'b> {
    bad: &'b dyn Fn(String) -> VerifyError,
}

impl Reader<'_> {
    fn domain(&self, status: Node, domain: Node, pid: u32) -> Result<LiveDomain, VerifyError> {
        let text = |name: &'static str| child(domain, name).and_then(|n| n.text()).map(str::trim);
        let vcpu = child(domain, "vcpu");
        let numad = child(status, "numad");
        Ok(LiveDomain {
            name: text("name").unwrap_or_default().to_string(),
            uuid: text("uuid").unwrap_or_default().to_string(),
            pid,
            vcpu_threads: self.vcpu_threads(status)?,
            numad_nodes: self.set_attribute(numad, "nodeset")?,
            numad_cpus: self.set_attribute(numad, "cpuset")?,
            vcpus: match vcpu {
                Some(node) => self.number(node, node.text())?,
                None => 1,
            },
            iothreads: self.iothreads(domain)?,
            placement: self.placement(domain)?,
            defined: None,
            cells: self.cells(domain)?,
            memory_kib: match child(domain, "memory") {
                Some(node) => self.kib(node)?,
                None => 0,
            },
            memory_devices: self.memory_devices(domain)?,
            properties: properties(domain),
        })
    }

    fn placement(&self, domain: Node) -> Result<XmlPlacement, VerifyError> {
        let cputune = child(domain, "cputune");
        let (numatune, memnodes) = self.numatune(domain)?;
        Ok(XmlPlacement {
            vcpu_cpuset: self.set_attribute(child(domain, "vcpu"), "cpuset")?,
            vcpupins: self.pins(cputune, "vcpupin", "vcpu")?,
            emulatorpin: self
                .set_attribute(cputune.and_then(|c| child(c, "emulatorpin")), "cpuset")?,
            iothreadpins: self.pins(cputune, "iothreadpin", "iothread")?,
            numatune,
            memnodes,
        })
    }

    fn vcpu_threads(&self, status: Node) -> Result<BTreeMap<u32, u32>, VerifyError> {
        let mut threads = BTreeMap::new();
        for vcpu in child(status, "vcpus")
            .into_iter()
            .flat_map(|n| children(n, "vcpu"))
        {
            let id = self.number(vcpu, vcpu.attribute("id"))?;
            threads.insert(id, self.number(vcpu, vcpu.attribute("pid"))?);
        }
        Ok(threads)
    }

    /// `<iothreadids>` when present, else ids 1..=`<iothreads>`.
    fn iothreads(&self, domain: Node) -> Result<Vec<u32>, VerifyError> {
        if let Some(ids) = child(domain, "iothreadids") {
            return children(ids, "iothread")
                .map(|node| self.number(node, node.attribute("id")))
                .collect();
        }
        match child(domain, "iothreads") {
            Some(node) => Ok((1..=self.number(node, node.text())?).collect()),
            None => Ok(Vec::new()),
        }
    }

    fn pins(
        &self,
        cputune: Option<Node>,
        element: &'static str,
        id: &'static str,
    ) -> Result<BTreeMap<u32, CpuSet>, VerifyError> {
        let mut pins = BTreeMap::new();
        for pin in cputune.into_iter().flat_map(|c| children(c, element)) {
            let key = self.number(pin, pin.attribute(id))?;
            if let Some(set) = self.set_attribute(Some(pin), "cpuset")? {
                pins.insert(key, set);
            }
        }
        Ok(pins)
    }

    #[allow(clippy::type_complexity)]
    fn numatune(
        &self,
        domain: Node,
    ) -> Result<(Option<NumaTune>, BTreeMap<u32, (MemoryMode, NodeSet)>), VerifyError> {
        let Some(numatune) = child(domain, "numatune") else {
            return Ok((None, BTreeMap::new()));
        };
        let memory = match child(numatune, "memory") {
            Some(node) => {
                let mode = self.mode(node)?;
                let placement = match self.set_attribute(Some(node), "nodeset")? {
                    Some(nodes) => Placement::Nodes(nodes),
                    None => Placement::Auto,
                };
                Some(NumaTune { mode, placement })
            }
            None => None,
        };
        let mut memnodes = BTreeMap::new();
        for node in children(numatune, "memnode") {
            let cell = self.number(node, node.attribute("cellid"))?;
            let nodes = self
                .set_attribute(Some(node), "nodeset")?
                .unwrap_or_default();
            memnodes.insert(cell, (self.mode(node)?, nodes));
        }
        Ok((memory, memnodes))
    }

    fn mode(&self, node: Node) -> Result<MemoryMode, VerifyError> {
        let name = node.attribute("mode").unwrap_or("strict");
        MemoryMode::from_name(name).ok_or_else(|| {
            (self.bad)(format!(
                "<{}> has an unknown mode {}",
                node.tag_name().name(),
                quoted(name)
            ))
        })
    }

    fn cells(&self, domain: Node) -> Result<Vec<LiveCell>, VerifyError> {
        let Some(numa) = child(domain, "cpu").and_then(|cpu| child(cpu, "numa")) else {
            return Ok(Vec::new());
        };
        children(numa, "cell")
            .enumerate()
            .map(|(index, cell)| {
                let id = match cell.attribute("id") {
                    Some(id) => self.number(cell, Some(id))?,
                    None => index as u32,
                };
                let memory = self.kib_attribute(cell)?;
                Ok(LiveCell {
                    id,
                    vcpus: self.set_attribute(Some(cell), "cpus")?.unwrap_or_default(),
                    memory_kib: memory,
                })
            })
            .collect()
    }

    fn memory_devices(&self, domain: Node) -> Result<Vec<MemoryDevice>, VerifyError> {
        let mut devices = Vec::new();
        for device in child(domain, "devices")
            .into_iter()
            .flat_map(|d| children(d, "memory"))
        {
            let Some(target) = child(device, "target") else {
                continue;
            };
            let Some(size) = child(target, "size") else {
                continue;
            };
            let cell = match child(target, "node") {
                Some(node) => self.number(node, node.text())?,
                None => 0,
            };
            devices.push(MemoryDevice {
                model: device.attribute("model").unwrap_or("memory").to_string(),
                size_kib: self.kib(size)?,
                cell,
            });
        }
        Ok(devices)
    }

    fn number(&self, node: Node, text: Option<&str>) -> Result<u32, VerifyError> {
        text.and_then(|t| t.trim().parse().ok()).ok_or_else(|| {
            (self.bad)(format!(
                "<{}> does not hold a whole number where libvirt writes one",
                node.tag_name().name()
            ))
        })
    }

    fn set_attribute(&self, node: Option<Node>, name: &str) -> Result<Option<CpuSet>, VerifyError> {
        let Some((node, text)) = node.and_then(|n| Some((n, n.attribute(name)?))) else {
            return Ok(None);
        };
        text.parse::<CpuSet>().map(Some).map_err(|err| {
            let column = err.column;
            let element = node.tag_name().name();
            (self.bad)(format!(
                "<{element} {name}=> is not a CPU/node set (column {column})"
            ))
        })
    }

    fn kib(&self, node: Node) -> Result<u64, VerifyError> {
        crate::domain::document::kib(node).map_err(|err| (self.bad)(err.to_string()))
    }

    /// A cell's `memory=`: libvirt writes it in KiB in its status files.
    fn kib_attribute(&self, cell: Node) -> Result<u64, VerifyError> {
        let value = cell.attribute("memory").unwrap_or("");
        match (cell.attribute("unit"), value.trim().parse()) {
            (None | Some("KiB" | "k"), Ok(kib)) => Ok(kib),
            _ => Err((self.bad)(format!(
                "<cell memory={}> is not a size in KiB as libvirt writes it",
                quoted(value)
            ))),
        }
    }
}

/// `<metadata><ovirt-vm:vm><ovirt-vm:custom><ovirt-vm:NAME>VALUE`: where the
/// engine writes a VM's custom properties and VDSM keeps them.
fn properties(domain: Node) -> Properties {
    fn ovirt<'a, 'i>(parent: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
        parent.children().find(|n| {
            n.is_element()
                && n.tag_name().name() == name
                && n.tag_name().namespace() == Some(OVIRT_VM_NS)
        })
    }
    let custom = child(domain, "metadata")
        .and_then(|metadata| ovirt(metadata, "vm"))
        .and_then(|vm| ovirt(vm, "custom"));
    let value = |name: &str| {
        custom
            .and_then(|custom| ovirt(custom, name))
            .map(|node| node.text().unwrap_or("").to_string())
    };
    Properties(
        PLACING
            .into_iter()
            .filter_map(|property| Some((property, value(property.name())?)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_compare_without_case_or_dashes() {
        assert_eq!(
            normalise_uuid("6C0E2E00-0000-4000-8000-0000000000AA").as_deref(),
            Some("6c0e2e000000400080000000000000aa")
        );
        assert_eq!(normalise_uuid("largeguest-e2e"), None);
        assert_eq!(normalise_uuid("6c0e2e00"), None);
    }

    #[test]
    fn names_that_leave_the_folder_are_not_running_domains() {
        for name in ["", "../../etc/passwd", ".hidden", "a/b"] {
            let err = locate(Path::new("/nonexistent-run"), name).unwrap_err();
            assert!(
                matches!(err, VerifyError::NotRunning { .. }),
                "{name}: {err}"
            );
        }
    }
}
