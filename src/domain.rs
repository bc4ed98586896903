//! What the domain XML says about the VM, as far as the edit needs it, and
//! everything about the document that can make the hook refuse.

use roxmltree::{Document, Node, ParsingOptions};
use thiserror::Error;

use crate::cpuset::CpuSet;
use crate::xml_edit::{child, children};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("the domain XML is not well-formed{0}")]
    NotWellFormed(String),
    #[error("the domain XML's root element is <{0}>, expected <domain> with no xmlns")]
    NotADomain(String),
    #[error("the domain XML's <{element}> holds {text:?}, expected {expected}")]
    BadValue {
        element: String,
        text: String,
        expected: &'static str,
    },
    #[error("cputune: vCPU {vcpu} is pinned but <vcpu> gives the VM {} ({}), and libvirt would silently drop that pin; pin only {}", count(*.max as usize, "vCPU"), first_n(*.max), Ids("vCPU", &first_n(*.max)))]
    PinPastVcpus { vcpu: u32, max: u32 },
    #[error("guestnuma: the cells name {} but <vcpu> gives the VM {} ({}); use only {}", Ids("vCPU", .vcpus), count(*.max as usize, "vCPU"), first_n(*.max), Ids("vCPU", &first_n(*.max)))]
    CellsPastVcpus { vcpus: CpuSet, max: u32 },
    #[error("guestnuma: no cell holds {}; <vcpu> is {max} (hotpluggable vCPUs count too), so the cells must cover {}", Ids("vCPU", .missing), Ids("vCPU", &first_n(*.max)))]
    VcpusInNoCell { missing: CpuSet, max: u32 },
    #[error("guestnuma: the cells add up to {cells} KiB but the guest has {expected} KiB of memory for its cells ({explained}), and libvirt would silently resize the guest to the cells' sum; make the cells add up to {expected} KiB")]
    MemoryMismatch {
        cells: u64,
        expected: u64,
        explained: String,
    },
    #[error("guestnuma: cell {cell} has {kib} KiB, which QEMU rounds up to a whole MiB; give each cell a whole number of MiB")]
    CellNotWholeMib { cell: usize, kib: u64 },
    #[error("guestnuma: {0}")]
    CannotSplit(String),
    #[error("numatune: <memnode cellid='{cellid}'> names a guest cell the VM does not have (it has {}); remove it or add the cell with guestnuma", count(*.cells, "cell"))]
    MemnodeWithoutCell { cellid: u32, cells: usize },
    #[error("numatune: 'restrictive' cannot be mixed with other modes ({modes}); libvirt needs <memory> and every <memnode> restrictive, or none")]
    RestrictiveMix { modes: String },
    #[error("numatune: per-cell host nodes (guestnuma HOSTNODES or <memnode>) cannot be used with placement 'auto'; give numatune a node set")]
    MemnodesWithAuto,
    #[error("guestnuma: the memory device <target><node>{node}</node> names a guest cell the VM would not have (it would get {}); keep at least {}", count(*.cells, "cell"), count(*.node as usize + 1, "cell"))]
    DimmWithoutCell { node: u32, cells: usize },
    #[error("migration refused: the VM's <{element}> pins to host {}, which this host does not have online (online: {online})", Ids("CPU", .missing))]
    MigrationCpusMissing {
        element: &'static str,
        missing: CpuSet,
        online: CpuSet,
    },
    #[error("migration refused: the VM's <numatune><{element}> binds memory to host {}, where this host has no memory (nodes with memory: {with_memory})", Ids("node", .missing))]
    MigrationNodesMissing {
        element: &'static str,
        missing: CpuSet,
        with_memory: CpuSet,
    },
    #[error("{property}: this host does not have {} online (online: {online})", Ids("CPU", .missing))]
    CpusNotOnline {
        property: &'static str,
        missing: CpuSet,
        online: CpuSet,
    },
    #[error("{property}: this host has no memory on {} (nodes with memory: {nodes})", Ids("node", .missing))]
    NodesWithoutMemory {
        property: &'static str,
        missing: CpuSet,
        nodes: CpuSet,
    },
}

/// `1 cell`, `2 cells`: a count in a message reads right at any size.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// `vCPU 3` or `vCPUs 2-5`: a set in a message reads right at any size.
struct Ids<'a>(&'static str, &'a CpuSet);

impl std::fmt::Display for Ids<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ids(noun, set) = *self;
        match set.len() {
            1 => write!(f, "{noun} {set}"),
            _ => write!(f, "{noun}s {set}"),
        }
    }
}

/// roxmltree refuses DTDs: libvirt never writes one, and it rules out
/// external entities and entity bombs at once.
pub fn parse(text: &str) -> Result<Document<'_>, DomainError> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|err| {
        let message = match err {
            roxmltree::Error::DtdDetected => {
                ": it has a DOCTYPE, which domain XML never has; refusing to read it".to_string()
            }
            other => {
                let pos = other.pos();
                let text = other.to_string();
                let text = text
                    .strip_suffix(&format!(" at {pos}"))
                    .unwrap_or(&text)
                    .to_string();
                format!(
                    " at line {}, column {}: {}",
                    pos.row,
                    pos.col,
                    printable(&text)
                )
            }
        };
        DomainError::NotWellFormed(message)
    })
}

/// roxmltree quotes the document as it is: an ESC or a backspace would reach
/// VDSM's log and an administrator's terminal raw, and a tag name can be as
/// long as the document.
fn printable(text: &str) -> String {
    const KEEP: usize = 160;
    let mut out: String = text
        .chars()
        .take(KEEP)
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect();
    if text.chars().nth(KEEP).is_some() {
        out.push_str("...");
    }
    out
}

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
    pub fn read(doc: &'a Document<'i>) -> Result<Domain<'a, 'i>, DomainError> {
        let root = doc.root_element();
        if root.tag_name().name() != "domain" {
            return Err(DomainError::NotADomain(root.tag_name().name().to_string()));
        }
        // libvirt reads no element of a <domain> in a namespace (it refuses
        // it for a missing <name>), and the hook would not find its own edit.
        if let Some(namespace) = root.tag_name().namespace().filter(|ns| !ns.is_empty()) {
            let shown = crate::property::shorten(namespace);
            return Err(DomainError::NotADomain(format!("domain xmlns={shown:?}")));
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

    fn read_memory_devices(&mut self) -> Result<(), DomainError> {
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

fn number(node: Node, expected: &'static str) -> Result<u32, DomainError> {
    node.text()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| bad_value(node, expected))
}

fn bad_value(node: Node, expected: &'static str) -> DomainError {
    DomainError::BadValue {
        element: node.tag_name().name().to_string(),
        text: crate::property::shorten(node.text().unwrap_or("").trim()),
        expected,
    }
}

/// The size an element gives, in KiB, honouring `unit` as libvirt does:
/// `KB` is 1000 bytes, `K` and `KiB` 1024, and bytes round up to a KiB.
pub fn kib(node: Node) -> Result<u64, DomainError> {
    let bad = || {
        let expected =
            "a whole number, with a unit attribute of b, KiB, KB, MiB, MB, GiB, GB, TiB or TB";
        bad_value(node, expected)
    };
    let value: u64 = node
        .text()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let scale = unit_scale(node.attribute("unit").unwrap_or("KiB")).ok_or_else(bad)?;
    let bytes = u128::from(value) * u128::from(scale);
    u64::try_from(bytes.div_ceil(1024)).map_err(|_| bad())
}

/// Bytes per unit, for libvirt's unit names (case-insensitive).
fn unit_scale(unit: &str) -> Option<u64> {
    let unit = unit.to_ascii_lowercase();
    if matches!(unit.as_str(), "b" | "byte" | "bytes") {
        return Some(1);
    }
    let mut chars = unit.chars();
    let power = "kmgtpe".find(chars.next()?)? as u32 + 1;
    let base: u64 = match chars.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    base.checked_pow(power)
}

/// `CpuSet` of ids 0..count.
pub fn first_n(count: u32) -> CpuSet {
    match count {
        0 => CpuSet::new(),
        n => CpuSet::from_range(0, n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(xml: &str) -> Result<u64, DomainError> {
        let doc = Document::parse(xml).unwrap();
        kib(doc.root_element())
    }

    #[test]
    fn a_control_character_in_the_document_is_escaped_in_the_message() {
        let err = parse("<domain a=\u{1b}'1'/>").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("the domain XML is not well-formed at line 1, column 11: expected a quote not '\\u{1b}'")
        );
    }

    #[test]
    fn sizes_follow_libvirt_units() {
        assert_eq!(size("<memory>4</memory>"), Ok(4));
        assert_eq!(size("<memory unit='KiB'>4</memory>"), Ok(4));
        assert_eq!(size("<memory unit='k'>4</memory>"), Ok(4));
        assert_eq!(size("<memory unit='MiB'>4</memory>"), Ok(4096));
        assert_eq!(size("<memory unit='G'>1</memory>"), Ok(1_048_576));
        assert_eq!(size("<memory unit='b'>1025</memory>"), Ok(2));
        assert_eq!(size("<memory unit='KB'>1024</memory>"), Ok(1000));
        assert!(size("<memory unit='parsecs'>1</memory>").is_err());
        assert!(size("<memory>lots</memory>").is_err());
        assert!(size("<memory unit='EiB'>99999</memory>").is_err());
    }
}
