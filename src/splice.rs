//! The splice: the plan carried out on the document's bytes. Everything was
//! decided and checked in the plan, so nothing here can refuse; what is
//! here is only where each element goes and what of the old bytes stays.

use std::collections::HashMap;

use roxmltree::{Document, Node};

use crate::cpuset::CpuSet;
use crate::domain::facts::Domain;
use crate::domain::xml_edit::{child, in_no_namespace, is_blank, Content, Editor, NewElement};
use crate::grammar::cputune::CpuTune;
use crate::grammar::numatune::{NumaTune, Placement};
use crate::plan::cells::{CellsPlan, NewCell};
use crate::plan::numatune::{Memnode, MemnodeSource, MemoryElement, NumaTunePlan};
use crate::plan::Plan;

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

/// The document with the plan applied.
pub fn splice(doc: &Document, text: &str, domain: &Domain, plan: &Plan) -> String {
    let mut editor = Editor::new(doc, text);
    if let Some(pins) = &plan.pins {
        splice_pins(&mut editor, domain, pins);
    }
    if let Some(numatune) = &plan.numatune {
        splice_numatune(&mut editor, domain, numatune);
    }
    if let Some(cells) = &plan.cells {
        splice_cells(&mut editor, domain, cells);
    }
    editor.splices.apply(text)
}

/// Replaces the vcpupins of the vCPUs named and adds the others; every
/// other child of `<cputune>` stays as it is.
fn splice_pins(editor: &mut Editor, domain: &Domain, cputune: &CpuTune) {
    let pin = |vcpu: u32, cpuset: &CpuSet| {
        NewElement::new("vcpupin")
            .attribute("vcpu", vcpu)
            .attribute("cpuset", cpuset)
    };
    let Some(&first) = domain.cputunes.first() else {
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
    // libvirt reads the pins of every <cputune> as one list, so a pin is
    // replaced where it is. By vCPU, through a map: a search per wanted
    // pin made re-pinning 1024 vCPUs quadratic.
    let mut by_vcpu = HashMap::new();
    for old in &domain.pins {
        by_vcpu.entry(old.vcpu).or_insert(old.node);
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
    let later = first
        .children()
        .find(|node| node.is_element() && AFTER_VCPUPIN.contains(&node.tag_name().name()));
    match (domain.pins.last().map(|pin| pin.node), later) {
        (Some(last), _) => editor.insert_after(last, &added),
        (None, Some(later)) => editor.insert_before(later, &added),
        (None, None) => editor.append(first, &added),
    }
}

/// Rewrites `<numatune>` whole, the VM's comments first.
fn splice_numatune(editor: &mut Editor, domain: &Domain, plan: &NumaTunePlan) {
    let existing = child(domain.root, "numatune");
    let mut items = kept_comments(editor.text, existing);
    match &plan.memory {
        Some(MemoryElement::New(tune)) => items.push(memory_element(tune)),
        Some(MemoryElement::Kept(old)) => {
            items.push(NewElement::verbatim(&editor.text[old.range()]))
        }
        None => {}
    }
    items.extend(
        plan.memnodes
            .iter()
            .map(|m| memnode_element(editor.text, m)),
    );
    let new = NewElement::new("numatune").children(items);
    match existing {
        Some(old) if new.is_childless() => editor.remove(old),
        Some(old) => editor.replace(old, &new),
        None if new.is_childless() => {}
        None => insert_in_domain(editor, domain.root, new),
    }
}

fn memory_element(tune: &NumaTune) -> NewElement {
    let memory = NewElement::new("memory").attribute("mode", tune.mode);
    match &tune.placement {
        Placement::Nodes(nodes) => memory.attribute("nodeset", nodes),
        Placement::Auto => memory.attribute("placement", "auto"),
    }
}

fn memnode_element(text: &str, memnode: &Memnode) -> NewElement {
    match &memnode.source {
        MemnodeSource::Kept(old) => NewElement::verbatim(&text[old.range()]),
        MemnodeSource::Bound(nodes) => NewElement::new("memnode")
            .attribute("cellid", memnode.cellid)
            .attribute("mode", &memnode.mode)
            .attribute("nodeset", nodes),
    }
}

/// Rewrites `<cpu><numa>` whole, the VM's comments first.
fn splice_cells(editor: &mut Editor, domain: &Domain, plan: &CellsPlan) {
    let mut items: Vec<NewElement> = plan
        .cells
        .iter()
        .enumerate()
        .map(|(id, cell)| cell_element(editor.text, id, cell))
        .collect();
    let numa = domain.numa();
    if plan.keeps_other_children {
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

fn cell_element(text: &str, id: usize, new: &NewCell) -> NewElement {
    let mut element = NewElement::new("cell")
        .attribute("id", id)
        .attribute("cpus", &new.cell.cpus)
        .attribute("memory", new.cell.memory_kib)
        .attribute("unit", "KiB");
    if let Some(value) = &new.mem_access {
        element = element.attribute("memAccess", value);
    }
    if let Some(value) = &new.discard {
        element = element.attribute("discard", value);
    }
    match new.children_of.and_then(|old| inner_text(text, old)) {
        Some(inner) => NewElement {
            content: Content::Verbatim(inner),
            ..element
        },
        None => element,
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
