//! The domain edit: from the three properties to `<cputune>`, `<numatune>`
//! and `<cpu><numa>`, with every check made before a byte is written.

use std::collections::HashMap;

use roxmltree::Node;

use crate::cpuset::{CpuSet, NodeSet};
use crate::cputune::CpuTune;
use crate::domain::{self, count, Domain, DomainError};
use crate::fit;
use crate::guestnuma::{GuestCell, GuestNuma};
use crate::numatune::{MemoryMode, NumaTune, Placement};
use crate::topology::HostLimits;
use crate::xml_edit::{child, children, in_no_namespace, is_blank, Content, Editor, NewElement};

/// The properties the VM asks for; `None` leaves that part alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub cputune: Option<CpuTune>,
    pub numatune: Option<NumaTune>,
    pub guestnuma: Option<GuestNuma>,
}

impl Request {
    pub fn is_empty(&self) -> bool {
        self.cputune.is_none() && self.numatune.is_none() && self.guestnuma.is_none()
    }
}

/// The rewritten document and the line VDSM logs about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub text: String,
    pub summary: String,
}

/// libvirt's order of `<domain>` children, used to place a new element
/// where libvirt itself would print it.
const DOMAIN_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
];

/// `<cputune>` children libvirt prints after the vcpupins.
const AFTER_VCPUPIN: &[&str] = &[
    "emulatorpin",
    "iothreadpin",
    "emulatorsched",
    "vcpusched",
    "iothreadsched",
    "cachetune",
    "memorytune",
];

pub fn rewrite(
    text: &str,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Outcome, DomainError> {
    let outcome = edit(text, request, host)?;
    // Never hand libvirt a broken document, whatever went wrong in the edit.
    // The edit's tree is gone by now, so the two trees never share memory.
    if let Err(err) = domain::parse(&outcome.text) {
        return Err(DomainError::NotWellFormed(format!(
            " after the edit ({err}); this is a bug"
        )));
    }
    Ok(outcome)
}

fn edit(text: &str, request: &Request, host: Option<&HostLimits>) -> Result<Outcome, DomainError> {
    let doc = domain::parse(text)?;
    let domain = Domain::read(&doc)?;
    let cells = match &request.guestnuma {
        Some(guestnuma) => Some(fit::resolve_cells(guestnuma, &domain)?),
        None => None,
    };
    fit::check_pins(request.cputune.as_ref(), &domain)?;
    if let Some(host) = host {
        fit::check_host(request, cells.as_deref(), host)?;
    }
    let mut editor = Editor::new(&doc, text);
    if let Some(cputune) = &request.cputune {
        edit_cputune(&mut editor, &domain, cputune);
    }
    edit_numatune(
        &mut editor,
        &domain,
        request.numatune.as_ref(),
        cells.as_deref(),
    )?;
    if let Some(cells) = &cells {
        edit_cells(&mut editor, &domain, cells);
    }
    let summary = summary(request, cells.as_deref());
    let text = editor.splices.apply(text);
    Ok(Outcome { text, summary })
}

fn summary(request: &Request, cells: Option<&[GuestCell]>) -> String {
    let mut parts = Vec::new();
    if let Some(cputune) = &request.cputune {
        parts.push(format!("pinned {}", count(cputune.pins.len(), "vCPU")));
    }
    if let Some(numatune) = &request.numatune {
        parts.push(match &numatune.placement {
            Placement::Nodes(nodes) if nodes.len() == 1 => {
                format!("memory {} on node {nodes}", numatune.mode)
            }
            Placement::Nodes(nodes) => format!("memory {} on nodes {nodes}", numatune.mode),
            Placement::Auto => format!("memory {} placed by numad", numatune.mode),
        });
    }
    if let Some(cells) = cells {
        parts.push(count(cells.len(), "guest NUMA cell"));
    }
    if parts.is_empty() {
        return "none of cputune, numatune, guestnuma is set; nothing to change".into();
    }
    parts.join(", ")
}

/// Replaces the vcpupins of the vCPUs named and adds the others; every
/// other child of `<cputune>` stays as it is.
fn edit_cputune(editor: &mut Editor, domain: &Domain, cputune: &CpuTune) {
    let pin = |vcpu: u32, cpuset: &CpuSet| {
        NewElement::new("vcpupin")
            .attribute("vcpu", vcpu)
            .attribute("cpuset", cpuset)
    };
    let Some(existing) = child(domain.root, "cputune") else {
        let pins = cputune
            .pins
            .iter()
            .map(|p| pin(p.vcpu, &p.cpuset))
            .collect();
        return insert_in_domain(
            editor,
            domain.root,
            NewElement::new("cputune").children(pins),
        );
    };
    let old: Vec<Node> = children(existing, "vcpupin").collect();
    // By vCPU, the first pin of each winning as before: a search per wanted
    // pin made re-pinning 1024 vCPUs quadratic.
    let mut by_vcpu = HashMap::new();
    for node in &old {
        if let Some(vcpu) = node
            .attribute("vcpu")
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            by_vcpu.entry(vcpu).or_insert(*node);
        }
    }
    let mut added = Vec::new();
    for wanted in &cputune.pins {
        match by_vcpu.get(&wanted.vcpu) {
            Some(node) => editor.replace(*node, &pin(wanted.vcpu, &wanted.cpuset)),
            None => added.push(pin(wanted.vcpu, &wanted.cpuset)),
        }
    }
    if added.is_empty() {
        return;
    }
    let later = existing
        .children()
        .find(|node| node.is_element() && AFTER_VCPUPIN.contains(&node.tag_name().name()));
    match (old.last(), later) {
        (Some(last), _) => editor.insert_after(*last, &added),
        (None, Some(later)) => editor.insert_before(later, &added),
        (None, None) => editor.append(existing, &added),
    }
}

/// One `<memnode>` as the edit wants it: cell id, mode, and either the
/// kept element's text or the node set to write.
struct Memnode {
    cellid: u32,
    mode: String,
    kept: Option<String>,
    nodes: Option<NodeSet>,
}

/// Rewrites `<numatune>` whole: its only children are `<memory>` and the
/// memnodes, and the edit decides all of them.
fn edit_numatune(
    editor: &mut Editor,
    domain: &Domain,
    numatune: Option<&NumaTune>,
    cells: Option<&[GuestCell]>,
) -> Result<(), DomainError> {
    let existing = child(domain.root, "numatune");
    let old_memory = existing.and_then(|node| child(node, "memory"));
    let binds_cells = cells.is_some_and(|cells| cells.iter().any(|c| c.host_nodes.is_some()));
    if numatune.is_none() && !binds_cells && !(cells.is_some() && existing.is_some()) {
        return Ok(());
    }
    let (memory_mode, auto) = final_memory(numatune, old_memory);
    let cell_count = cells.map_or(domain.cells().len(), <[GuestCell]>::len);
    let memnodes = memnodes(editor.text, existing, &memory_mode, cells, cell_count)?;
    let old_count = existing.map_or(0, |node| children(node, "memnode").count());
    if numatune.is_none()
        && memnodes.iter().all(|m| m.kept.is_some())
        && memnodes.len() == old_count
    {
        return Ok(());
    }
    check_numatune(
        &memory_mode,
        auto,
        &memnodes,
        old_memory.is_some() || numatune.is_some(),
    )?;
    let mut items = kept_comments(editor.text, existing);
    match (numatune, old_memory) {
        (Some(tune), _) => items.push(memory_element(tune)),
        (None, Some(old)) => items.push(NewElement::verbatim(&editor.text[old.range()])),
        (None, None) => {}
    }
    items.extend(memnodes.iter().map(memnode_element));
    let new = NewElement::new("numatune").children(items);
    match existing {
        Some(old) if new.is_childless() => editor.remove(old),
        Some(old) => editor.replace(old, &new),
        None if new.is_childless() => {}
        None => insert_in_domain(editor, domain.root, new),
    }
    Ok(())
}

/// The mode of the `<memory>` the edit leaves (the one asked for, else the
/// one there, else libvirt's default), and whether numad places it.
fn final_memory(numatune: Option<&NumaTune>, old: Option<Node>) -> (String, bool) {
    match (numatune, old) {
        (Some(tune), _) => (tune.mode.to_string(), tune.placement == Placement::Auto),
        (None, Some(old)) => {
            let mode = old.attribute("mode").unwrap_or(MemoryMode::Strict.as_str());
            (mode.to_string(), old.attribute("placement") == Some("auto"))
        }
        (None, None) => (MemoryMode::Strict.to_string(), false),
    }
}

fn memnodes(
    text: &str,
    existing: Option<Node>,
    mode: &str,
    cells: Option<&[GuestCell]>,
    cell_count: usize,
) -> Result<Vec<Memnode>, DomainError> {
    let mut memnodes: Vec<Memnode> = Vec::new();
    for old in existing
        .into_iter()
        .flat_map(|node| children(node, "memnode"))
    {
        let Some(cellid) = old
            .attribute("cellid")
            .and_then(|id| id.parse::<u32>().ok())
        else {
            continue;
        };
        let rebound = cells
            .and_then(|cells| cells.get(cellid as usize))
            .is_some_and(|cell| cell.host_nodes.is_some());
        if cellid as usize >= cell_count && cells.is_none() {
            return Err(DomainError::MemnodeWithoutCell {
                cellid,
                cells: cell_count,
            });
        }
        if rebound || cellid as usize >= cell_count {
            continue;
        }
        let mode = old.attribute("mode").unwrap_or("strict").to_string();
        memnodes.push(Memnode {
            cellid,
            mode,
            kept: Some(text[old.range()].to_string()),
            nodes: None,
        });
    }
    for (cellid, cell) in cells.unwrap_or_default().iter().enumerate() {
        if let Some(nodes) = &cell.host_nodes {
            let (cellid, mode) = (cellid as u32, mode.to_string());
            memnodes.push(Memnode {
                cellid,
                mode,
                kept: None,
                nodes: Some(nodes.clone()),
            });
        }
    }
    memnodes.sort_by_key(|m| m.cellid);
    Ok(memnodes)
}

fn check_numatune(
    memory_mode: &str,
    auto: bool,
    memnodes: &[Memnode],
    has_memory: bool,
) -> Result<(), DomainError> {
    if auto && !memnodes.is_empty() {
        return Err(DomainError::MemnodesWithAuto);
    }
    let mut modes: Vec<&str> = memnodes.iter().map(|m| m.mode.as_str()).collect();
    if has_memory {
        modes.push(memory_mode);
    }
    let restrictive = modes
        .iter()
        .filter(|&&m| m == MemoryMode::Restrictive.as_str())
        .count();
    if restrictive > 0 && restrictive < modes.len() {
        modes.sort_unstable();
        modes.dedup();
        return Err(DomainError::RestrictiveMix {
            modes: modes.join(", "),
        });
    }
    Ok(())
}

fn memory_element(tune: &NumaTune) -> NewElement {
    let memory = NewElement::new("memory").attribute("mode", tune.mode);
    match &tune.placement {
        Placement::Nodes(nodes) => memory.attribute("nodeset", nodes),
        Placement::Auto => memory.attribute("placement", "auto"),
    }
}

fn memnode_element(memnode: &Memnode) -> NewElement {
    match (&memnode.kept, &memnode.nodes) {
        (Some(text), _) => NewElement::verbatim(text),
        (None, nodes) => NewElement::new("memnode")
            .attribute("cellid", memnode.cellid)
            .attribute("mode", &memnode.mode)
            .attribute("nodeset", nodes.clone().unwrap_or_default()),
    }
}

/// Rewrites `<cpu><numa>` whole. An attribute every old cell shared
/// (`memAccess='shared'` for vhost-user, `discard`) carries over; with the
/// same number of cells each keeps its inner elements (`<distances>`),
/// which name cell ids and so go when the count changes.
fn edit_cells(editor: &mut Editor, domain: &Domain, cells: &[GuestCell]) {
    let old: Vec<Node> = domain.cells();
    let shared = |name: &str| -> Option<String> {
        let first = old.first()?.attribute(name)?;
        old.iter()
            .all(|cell| cell.attribute(name) == Some(first))
            .then(|| first.to_string())
    };
    let (mem_access, discard) = (shared("memAccess"), shared("discard"));
    let same_count = old.len() == cells.len();
    let mut items: Vec<NewElement> = cells
        .iter()
        .enumerate()
        .map(|(id, cell)| {
            let mut element = NewElement::new("cell")
                .attribute("id", id)
                .attribute("cpus", &cell.cpus)
                .attribute("memory", cell.memory_kib)
                .attribute("unit", "KiB");
            if let Some(value) = &mem_access {
                element = element.attribute("memAccess", value);
            }
            if let Some(value) = &discard {
                element = element.attribute("discard", value);
            }
            match old
                .get(id)
                .filter(|_| same_count)
                .and_then(|o| inner_text(editor.text, *o))
            {
                Some(inner) => NewElement {
                    content: Content::Verbatim(inner),
                    ..element
                },
                None => element,
            }
        })
        .collect();
    let numa = domain.numa();
    if same_count {
        let others = numa
            .into_iter()
            .flat_map(|n| n.children())
            .filter(|n| n.is_element() && n.tag_name().name() != "cell");
        items.extend(others.map(|node| NewElement::verbatim(&editor.text[node.range()])));
    }
    items.splice(0..0, kept_comments(editor.text, numa));
    let new_numa = NewElement::new("numa").children(items);
    match (numa, child(domain.root, "cpu")) {
        (Some(numa), _) => editor.replace(numa, &new_numa),
        (None, Some(cpu)) => editor.append(cpu, &[new_numa]),
        (None, None) => {
            let cpu = NewElement::new("cpu").children(vec![new_numa]);
            insert_in_domain(editor, domain.root, cpu);
        }
    }
}

/// Comments of an element the edit rebuilds, carried into the new one (at
/// its start) so that nothing an administrator wrote there is lost.
fn kept_comments(text: &str, element: Option<Node>) -> Vec<NewElement> {
    let comments = element
        .into_iter()
        .flat_map(|node| node.children())
        .filter(|n| n.is_comment());
    comments
        .map(|comment| NewElement::verbatim(&text[comment.range()]))
        .collect()
}

/// The text between a cell's tags when it has element children.
fn inner_text(text: &str, cell: Node) -> Option<String> {
    let first = cell.children().find(|n| !is_blank(*n))?;
    let last = cell.children().rev().find(|n| !is_blank(*n))?;
    let start = first
        .prev_sibling()
        .filter(|n| is_blank(*n))
        .map_or(first.range().start, |n| n.range().start);
    let end = last
        .next_sibling()
        .filter(|n| is_blank(*n))
        .map_or(last.range().end, |n| n.range().end);
    Some(text[start..end].to_string())
}

/// Puts a new child of `<domain>` where libvirt prints it: after the
/// present element that comes latest before it in libvirt's order.
fn insert_in_domain(editor: &mut Editor, root: Node, new: NewElement) {
    let rank = |name: &str| DOMAIN_ORDER.iter().position(|&known| known == name);
    let Some(own) = rank(new.name) else {
        return editor.append(root, &[new]);
    };
    let elements = || {
        root.children()
            .filter(|n| n.is_element() && in_no_namespace(*n))
    };
    let before = elements()
        .filter_map(|n| {
            rank(n.tag_name().name())
                .filter(|&r| r < own)
                .map(|r| (r, n))
        })
        .max_by_key(|&(r, n)| (r, n.range().start));
    let after = elements().find(|n| rank(n.tag_name().name()).is_some_and(|r| r > own));
    match (before, after) {
        (Some((_, node)), _) => editor.insert_after(node, &[new]),
        (None, Some(node)) => editor.insert_before(node, &[new]),
        (None, None) => editor.append(root, &[new]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn even(count: usize) -> Request {
        Request {
            guestnuma: Some(GuestNuma::Even(count)),
            ..Request::default()
        }
    }

    #[test]
    fn comments_inside_rebuilt_elements_are_kept() {
        let text = "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  <numatune>\n    \
                    <!-- pinned by the DBA -->\n    <memory mode='strict' nodeset='0'/>\n  \
                    </numatune>\n  <cpu>\n    <numa>\n      <!-- two sockets -->\n      \
                    <cell id='0' cpus='0-1' memory='2097152' unit='KiB'/>\n    </numa>\n  \
                    </cpu>\n</domain>\n";
        let request = Request {
            numatune: Some(crate::numatune::parse("interleave#0").unwrap()),
            guestnuma: Some(GuestNuma::Even(2)),
            ..Request::default()
        };
        let once = rewrite(text, &request, None).unwrap().text;
        assert!(
            once.contains(
                "<numatune>\n    <!-- pinned by the DBA -->\n    <memory mode='interleave'"
            ),
            "{once}"
        );
        assert!(
            once.contains("<numa>\n      <!-- two sockets -->\n      <cell id='0' cpus='0'"),
            "{once}"
        );
        assert_eq!(rewrite(&once, &request, None).unwrap().text, once);
    }

    #[test]
    fn an_element_sharing_its_line_gets_its_new_child_inline() {
        let text = "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  \
                    <cpu match='exact'><model>X</model></cpu>\n</domain>\n";
        let once = rewrite(text, &even(2), None).unwrap().text;
        assert_eq!(
            once,
            "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  <cpu match='exact'>\
             <model>X</model><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/>\
             <cell id='1' cpus='1' memory='1048576' unit='KiB'/></numa></cpu>\n</domain>\n"
        );
        assert_eq!(rewrite(&once, &even(2), None).unwrap().text, once);
    }
}
