//! The parts of a domain XML the hook edits, read the way libvirt 9.0 reads
//! them (src/conf/domain_conf.c, numa_conf.c, src/util/virxml.c), the hook
//! run on a document as VDSM runs it, and libvirt's test driver on it.
//!
//! libvirt reads an element's number from XPath `string()`: every text node
//! below it, comments and processing instructions adding nothing. It parses
//! numbers (element text and attributes alike) with g_ascii_strtoull: ASCII
//! white space before the digits and one `+` are skipped, nothing may follow
//! them, a `-` is refused. Where a parent may appear twice it reads what
//! the XPath selects: `./devices/memory` takes the memory devices of every
//! `<devices>`, `./cputune/vcpupin` the pins of every `<cputune>`,
//! `./cpu/numa[1]/cell` the cells of the first `<numa>` of every `<cpu>`,
//! and `./memory[1]`, `./vcpu[1]` only the first element.

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use roxmltree::{Document, Node};

use super::scene::Scene;

/// What g_ascii_isspace skips before a number.
const ASCII_SPACE: [char; 6] = [' ', '\t', '\n', '\r', '\u{b}', '\u{c}'];

/// g_ascii_strtoull as virStrToLong_ullp and virXMLPropUInt use it.
pub(crate) fn number(text: &str) -> Option<u64> {
    let rest = text.trim_start_matches(ASCII_SPACE);
    let digits = rest.strip_prefix('+').unwrap_or(rest);
    match !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        true => digits.parse().ok(),
        false => None,
    }
}

/// XPath `string()` of an element: all its text, comments and PIs left out.
pub(crate) fn text(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// virScaleInteger, then bytes rounded up to KiB (virDomainParseMemory).
pub(crate) fn kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let unit = unit.unwrap_or("").to_ascii_lowercase();
    let scale: u128 = match unit.as_str() {
        "" | "k" | "kib" => 1024,
        "b" | "byte" | "bytes" => 1,
        _ => {
            let power = "kmgtpe".find(unit.chars().next()?)? as u32 + 1;
            let base: u128 = match &unit[1..] {
                "" | "ib" => 1024,
                "b" => 1000,
                _ => return None,
            };
            base.pow(power)
        }
    };
    let bytes = u128::from(number(value)?) * scale;
    u64::try_from(bytes.div_ceil(1024)).ok()
}

/// One `<cell>` as libvirt reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    pub id: u32,
    pub cpus: String,
    pub kib: u64,
    pub mem_access: Option<String>,
    pub discard: Option<String>,
    /// `<distances><sibling id= value=>`, as written.
    pub distances: Vec<(u32, u32)>,
}

/// One `<memnode>` as libvirt reads it; `cellid_text` is the attribute as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Memnode {
    pub cellid: Option<u32>,
    pub cellid_text: String,
    pub mode: String,
    pub nodeset: String,
}

/// What libvirt reads of the elements the hook edits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Guest {
    pub memory_kib: Option<u64>,
    pub vcpus: Option<u64>,
    pub device_kib: u64,
    pub device_nodes: Vec<u64>,
    /// In the order libvirt meets them, from every `<cpu>`.
    pub cells: Vec<Cell>,
    pub memnodes: Vec<Memnode>,
    /// `(vCPU, cpuset)` from every `<cputune>`.
    pub pins: Vec<(u64, String)>,
    pub cpu_elements: usize,
    pub cputune_elements: usize,
    pub numatune_elements: usize,
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| n.has_tag_name(name))
}

fn first<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> Option<Node<'a, 'i>> {
    children(node, name).next()
}

pub(crate) fn read(xml: &str) -> Guest {
    let doc = Document::parse(xml).expect("a well-formed document");
    let root = doc.root_element();
    let mut guest = Guest {
        memory_kib: first(root, "memory").and_then(|m| kib(&text(m), m.attribute("unit"))),
        vcpus: first(root, "vcpu").and_then(|v| number(&text(v))),
        cpu_elements: children(root, "cpu").count(),
        cputune_elements: children(root, "cputune").count(),
        numatune_elements: children(root, "numatune").count(),
        ..Guest::default()
    };
    for device in children(root, "devices").flat_map(|d| children(d, "memory")) {
        let Some(target) = first(device, "target") else {
            continue;
        };
        if let Some(size) = first(target, "size") {
            guest.device_kib += kib(&text(size), size.attribute("unit")).unwrap_or(0);
        }
        if let Some(node) = first(target, "node").and_then(|n| number(&text(n))) {
            guest.device_nodes.push(node);
        }
    }
    let numas = children(root, "cpu").filter_map(|cpu| first(cpu, "numa"));
    for (position, cell) in numas.flat_map(|numa| children(numa, "cell")).enumerate() {
        guest.cells.push(read_cell(cell, position));
    }
    for memnode in children(root, "numatune").flat_map(|t| children(t, "memnode")) {
        let cellid_text = memnode.attribute("cellid").unwrap_or("").to_string();
        guest.memnodes.push(Memnode {
            cellid: number(&cellid_text).and_then(|id| u32::try_from(id).ok()),
            cellid_text,
            mode: memnode.attribute("mode").unwrap_or("strict").to_string(),
            nodeset: memnode.attribute("nodeset").unwrap_or("").to_string(),
        });
    }
    for pin in children(root, "cputune").flat_map(|t| children(t, "vcpupin")) {
        if let Some(vcpu) = pin.attribute("vcpu").and_then(number) {
            let cpuset = pin.attribute("cpuset").unwrap_or("").to_string();
            guest.pins.push((vcpu, cpuset));
        }
    }
    guest
}

fn read_cell(cell: Node, position: usize) -> Cell {
    let id = match cell.attribute("id") {
        Some(id) => number(id).expect("a cell id libvirt reads") as u32,
        None => position as u32,
    };
    let distances = first(cell, "distances")
        .into_iter()
        .flat_map(|d| children(d, "sibling"))
        .filter_map(|s| {
            let id = number(s.attribute("id")?)? as u32;
            Some((id, number(s.attribute("value")?)? as u32))
        })
        .collect();
    Cell {
        id,
        cpus: cell.attribute("cpus").unwrap_or("").to_string(),
        kib: kib(
            cell.attribute("memory").unwrap_or(""),
            cell.attribute("unit"),
        )
        .unwrap_or(0),
        mem_access: cell.attribute("memAccess").map(str::to_string),
        discard: cell.attribute("discard").map(str::to_string),
        distances,
    }
}

impl Guest {
    /// The cells by id, as libvirt keeps them.
    pub(crate) fn cells_by_id(&self) -> BTreeMap<u32, Cell> {
        self.cells.iter().map(|c| (c.id, c.clone())).collect()
    }

    /// What the QEMU driver sets `<memory>` to at define when there are cells.
    pub(crate) fn cells_and_devices_kib(&self) -> u64 {
        self.cells.iter().map(|c| c.kib).sum::<u64>() + self.device_kib
    }
}

/// `N`, `N-M`, `^N` terms as virBitmapParse reads them.
pub(crate) fn ids(set: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = Vec::new();
    for term in set.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if let Some(id) = term.strip_prefix('^') {
            let id: u32 = id.trim().parse().expect("an id");
            ids.retain(|&i| i != id);
            continue;
        }
        let (lo, hi) = term.split_once('-').unwrap_or((term, term));
        let (lo, hi): (u32, u32) = (lo.trim().parse().unwrap(), hi.trim().parse().unwrap());
        ids.extend(lo..=hi);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What `apply` did with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Exit 0: the file as it was written.
    Written(String),
    /// Exit 2: the one line on stderr; the file was checked to be as it was.
    Refused(String),
}

impl Applied {
    pub(crate) fn written(self) -> String {
        match self {
            Applied::Written(text) => text,
            Applied::Refused(line) => panic!("refused: {line}"),
        }
    }

    pub(crate) fn refused(self) -> String {
        match self {
            Applied::Refused(line) => line,
            Applied::Written(text) => panic!("accepted, and wrote:\n{text}"),
        }
    }
}

/// The `before_vm_start` hook run on `xml` as VDSM runs it (a host with
/// CPUs 0-3 online and memory on nodes 0-1), properties given as
/// `NAME=VALUE`.
pub(crate) fn apply(xml: &str, properties: &[&str]) -> Applied {
    apply_with(xml, properties, &[])
}

/// The same, with more variables in the environment.
pub(crate) fn apply_with(xml: &str, properties: &[&str], env: &[(&str, &str)]) -> Applied {
    let scene = Scene::new(xml.as_bytes());
    let properties: Vec<(&str, &str)> = properties
        .iter()
        .map(|p| p.split_once('=').expect("NAME=VALUE"))
        .collect();
    let out = scene
        .run(&properties)
        .envs(env.iter().copied())
        .output()
        .expect("run the hook");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let after = fs::read_to_string(scene.domxml()).unwrap();
    match out.status.code() {
        Some(0) => Applied::Written(after),
        Some(2) => {
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
            assert!(out.stdout.is_empty(), "nothing on stdout");
            assert_eq!(after, xml, "a refusal must leave the file as it was");
            Applied::Refused(stderr.trim_end().to_string())
        }
        other => panic!("exit {other:?}: {stderr}"),
    }
}

/// libvirt's test driver on `xml`, in virsh's own process: Ok, or what it
/// said. The tests that call it are `#[ignore = "needs virsh"]`; where
/// virsh is missing they fail, as tests/run-all.sh runs them.
pub(crate) fn test_driver_defines(xml: &str) -> Result<(), String> {
    let scene = Scene::new(xml.as_bytes());
    let out = Command::new("virsh")
        .args(["-q", "-c", "test:///default", "define"])
        .arg(scene.domxml())
        .output()
        .map_err(|err| format!("virsh (libvirt's clients) cannot run: {err}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
    }
}

/// A sample of `testdata/agreement/`.
pub(crate) fn sample(name: &str) -> String {
    let path = super::testdata("agreement").join(format!("{name}.xml"));
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
