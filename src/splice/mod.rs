//! The splice: the plan carried out on the document's bytes. Imports
//! `plan` and the layers below it.
//!
//! Everything was decided and checked in the plan, so the splice refuses
//! nothing of its own; what is here is only where each element goes and
//! what of the old bytes stays. Every edit is collected as data and handed
//! to the editor at once, which also checks that the result is still a
//! document (a refusal there is a bug of the splice).

use std::collections::HashMap;
use std::ops::Range;

use roxmltree::Node;

use crate::cpuset::CpuSet;
use crate::domain::document::Located;
use crate::domain::facts::Domain;
use crate::domain::threads;
use crate::plan::cells::{CellsPlan, NewCell};
use crate::plan::numatune::{Memnode, MemnodeSource, MemoryElement, NumaTunePlan};
use crate::plan::Plan;
use crate::properties::numatune::{NumaTune, Placement};
use crate::xml::edit::{self, Content, Edit, NewElement};
use crate::xml::edited::Edited;
use crate::xml::read::{child, in_no_namespace, is_blank, Refused};

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

/// libvirt's order of `<cputune>` children, used to place a new pin where
/// libvirt itself would print it.
const CPUTUNE_ORDER: &[&str] = &[
    "shares",
    "period",
    "quota",
    "global_period",
    "global_quota",
    "emulator_period",
    "emulator_quota",
    "iothread_period",
    "iothread_quota",
    "vcpupin",
    "emulatorpin",
    "iothreadpin",
    "emulatorsched",
    "vcpusched",
    "iothreadsched",
    "cachetune",
    "memorytune",
];

/// `text` with the plan applied, through the tree `located` holds of it;
/// the check of the result scans only what changed where the text's scan
/// left boundaries to resume at.
pub fn splice<'t>(
    located: &Located,
    text: &'t str,
    domain: &Domain,
    plan: &Plan,
) -> Result<Edited<'t>, Refused> {
    let mut edits = Vec::new();
    splice_cputune(&mut edits, domain, plan);
    if let Some(numatune) = &plan.numatune {
        splice_numatune(&mut edits, domain, numatune);
    }
    if let Some(cells) = &plan.cells {
        splice_cells(&mut edits, domain, cells);
    }
    for page in &plan.page_edits {
        let nodeset = page.nodeset.to_string();
        edits.push(Edit::SetAttribute(page.page, "nodeset", nodeset));
    }
    let offsets = located.offsets;
    let original = |at| offsets.original(at);
    edit::apply(&located.doc, text, original, edits, located.boundaries)
}

/// The edits of one document, in the order they are made.
type Edits<'a, 'i> = Vec<Edit<'a, 'i>>;

/// One pin element: the one it replaces (same vCPU or I/O thread), if any.
struct Pin<'a, 'i> {
    replaces: Option<Node<'a, 'i>>,
    element: NewElement<'a>,
}

/// Writes the vcpupins, the emulatorpin and the iothreadpins: each replaces
/// the VM's pin of the same vCPU or thread in place, the others go where
/// libvirt prints them; every other child of `<cputune>` stays as it is.
fn splice_cputune<'a, 'i>(edits: &mut Edits<'a, 'i>, domain: &Domain<'a, 'i>, plan: &'a Plan) {
    let existing = child(domain.root, "cputune");
    let mut pins = Vec::new();
    if let Some(tune) = &plan.pins {
        // libvirt reads the pins of every <cputune> as one list, so a pin
        // is replaced where it is, whichever <cputune> holds it.
        let old = domain.pins.iter().map(|pin| (pin.vcpu, pin.node));
        let new = tune.pins.iter().map(|p| (p.vcpu, &p.cpuset));
        pins.extend(keyed_pins(old, "vcpupin", "vcpu", new));
    }
    // The emulator's and the I/O threads' pins too are replaced in
    // whichever <cputune> holds them: a second one would be a duplicate
    // libvirt refuses ("only one emulatorpin is supported").
    if let Some(cpus) = &plan.emulatorpin {
        let old = threads::tuned_pins(domain.root, "emulatorpin");
        pins.push(Pin {
            replaces: old.first().map(|pin| pin.node),
            element: NewElement::new("emulatorpin").attribute("cpuset", cpus),
        });
    }
    if let Some(tune) = &plan.iothreadpins {
        let old = threads::tuned_pins(domain.root, "iothreadpin")
            .into_iter()
            .map(|pin| (pin.id, pin.node));
        let new = tune.pins.iter().map(|p| (p.iothread, &p.cpuset));
        pins.extend(keyed_pins(old, "iothreadpin", "iothread", new));
    }
    if pins.is_empty() {
        return;
    }
    let Some(cputune) = existing else {
        let children = pins.into_iter().map(|pin| pin.element).collect();
        return insert_in_domain(
            edits,
            domain.root,
            NewElement::new("cputune").children(children),
        );
    };
    let mut added: Vec<NewElement> = Vec::new();
    for pin in pins {
        match pin.replaces {
            Some(old) => edits.push(Edit::Replace(old, pin.element)),
            None => added.push(pin.element),
        }
    }
    // Pins come in libvirt's order; those sharing a place go in at once, in
    // it. Moved, not copied: cloning 384 pins cost more than placing them.
    let mut places: Vec<(Place, Vec<NewElement>)> = Vec::new();
    let mut placed_name = None;
    for element in added {
        if placed_name != Some(element.name) {
            placed_name = Some(element.name);
            let place = place_in_cputune(cputune, element.name);
            if places.last().is_none_or(|(last, _)| *last != place) {
                places.push((place, Vec::new()));
            }
        }
        if let Some((_, elements)) = places.last_mut() {
            elements.push(element);
        }
    }
    for (place, elements) in places {
        match place {
            Place::After(node) => edits.push(Edit::InsertAfter(node, elements)),
            Place::Before(node) => edits.push(Edit::InsertBefore(node, elements)),
            Place::End => edits.push(Edit::Append(cputune, elements)),
        }
    }
}

/// The `new` pins of `name` keyed by `key` (a vCPU, an I/O thread), each
/// replacing the VM's first pin of the same key among the `old`.
fn keyed_pins<'a, 'i>(
    old: impl Iterator<Item = (u32, Node<'a, 'i>)>,
    name: &'static str,
    key: &'static str,
    new: impl Iterator<Item = (u32, &'a CpuSet)>,
) -> Vec<Pin<'a, 'i>> {
    // By key, the first pin of each winning as before: a search per new
    // pin made re-pinning 1024 vCPUs quadratic.
    let mut by_key = HashMap::new();
    for (id, node) in old {
        by_key.entry(id).or_insert(node);
    }
    new.map(|(id, cpuset)| Pin {
        replaces: by_key.get(&id).copied(),
        element: NewElement::new(name)
            .attribute(key, id)
            .attribute("cpuset", cpuset),
    })
    .collect()
}

/// Where new children go in an element the edit keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place<'a, 'i> {
    After(Node<'a, 'i>),
    Before(Node<'a, 'i>),
    End,
}

/// Where libvirt prints a new pin called `name`: after the VM's last child
/// that comes no later in libvirt's order, else before its first that
/// comes later, else at the end.
fn place_in_cputune<'a, 'i>(cputune: Node<'a, 'i>, name: &str) -> Place<'a, 'i> {
    let rank = |name: &str| CPUTUNE_ORDER.iter().position(|&known| known == name);
    let Some(own) = rank(name) else {
        return Place::End;
    };
    let ranked = || {
        cputune
            .children()
            .filter(|n| n.is_element() && in_no_namespace(*n))
            .filter_map(|n| rank(n.tag_name().name()).map(|r| (r, n)))
    };
    let before = ranked().rfind(|&(r, _)| r <= own);
    let after = ranked().find(|&(r, _)| r > own);
    match (before, after) {
        (Some((_, node)), _) => Place::After(node),
        (None, Some((_, node))) => Place::Before(node),
        (None, None) => Place::End,
    }
}

/// Rewrites `<numatune>` whole, the VM's comments first.
fn splice_numatune<'a, 'i>(
    edits: &mut Edits<'a, 'i>,
    domain: &Domain<'a, 'i>,
    plan: &'a NumaTunePlan,
) {
    let existing = child(domain.root, "numatune");
    let mut items = kept_comments(existing);
    match &plan.memory {
        Some(MemoryElement::New(tune)) => items.push(memory_element(tune)),
        Some(MemoryElement::Kept(old)) => items.push(NewElement::kept(old.range())),
        None => {}
    }
    items.extend(plan.memnodes.iter().map(memnode_element));
    let new = NewElement::new("numatune").children(items);
    match existing {
        Some(old) if new.is_childless() => edits.push(Edit::Remove(old)),
        Some(old) => edits.push(Edit::Replace(old, new)),
        None if new.is_childless() => {}
        None => insert_in_domain(edits, domain.root, new),
    }
}

fn memory_element(tune: &NumaTune) -> NewElement<'_> {
    let memory = NewElement::new("memory").attribute("mode", tune.mode.as_str());
    match &tune.placement {
        Placement::Nodes(nodes) => memory.attribute("nodeset", nodes),
        Placement::Auto => memory.attribute("placement", "auto"),
    }
}

fn memnode_element<'v>(memnode: &'v Memnode) -> NewElement<'v> {
    match &memnode.source {
        MemnodeSource::Kept(old) => NewElement::kept(old.range()),
        MemnodeSource::Bound(nodes) => NewElement::new("memnode")
            .attribute("cellid", memnode.cellid)
            .attribute("mode", &memnode.mode)
            .attribute("nodeset", nodes),
    }
}

/// Rewrites `<cpu><numa>` whole, the VM's comments first.
fn splice_cells<'a, 'i>(edits: &mut Edits<'a, 'i>, domain: &Domain<'a, 'i>, plan: &'a CellsPlan) {
    let mut items: Vec<NewElement> = plan
        .cells
        .iter()
        .enumerate()
        .map(|(id, cell)| cell_element(id, cell))
        .collect();
    let numa = domain.numa();
    if plan.keeps_other_children {
        let others = numa
            .into_iter()
            .flat_map(|n| n.children())
            .filter(|n| n.is_element() && n.tag_name().name() != "cell");
        items.extend(others.map(|node| NewElement::kept(node.range())));
    }
    items.splice(0..0, kept_comments(numa));
    let new_numa = NewElement::new("numa").children(items);
    match (numa, child(domain.root, "cpu")) {
        (Some(numa), _) => edits.push(Edit::Replace(numa, new_numa)),
        (None, Some(cpu)) => edits.push(Edit::Append(cpu, vec![new_numa])),
        (None, None) => {
            let cpu = NewElement::new("cpu").children(vec![new_numa]);
            insert_in_domain(edits, domain.root, cpu);
        }
    }
}

fn cell_element<'v>(id: usize, new: &'v NewCell) -> NewElement<'v> {
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
    match new.children_of.and_then(inner_range) {
        Some(inner) => NewElement {
            content: Content::Verbatim(inner),
            ..element
        },
        None => element,
    }
}

/// Comments of an element the edit rebuilds, carried into the new one (at
/// its start) so that nothing an administrator wrote there is lost.
fn kept_comments<'v>(element: Option<Node>) -> Vec<NewElement<'v>> {
    let comments = element
        .into_iter()
        .flat_map(|node| node.children())
        .filter(|n| n.is_comment());
    comments
        .map(|comment| NewElement::kept(comment.range()))
        .collect()
}

/// Where the text between a cell's tags is, when it has element children.
fn inner_range(cell: Node) -> Option<Range<usize>> {
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
    Some(start..end)
}

/// Puts a new child of `<domain>` where libvirt prints it: after the
/// present element that comes latest before it in libvirt's order.
fn insert_in_domain<'a, 'i>(edits: &mut Edits<'a, 'i>, root: Node<'a, 'i>, new: NewElement<'a>) {
    let rank = |name: &str| DOMAIN_ORDER.iter().position(|&known| known == name);
    let Some(own) = rank(new.name) else {
        return edits.push(Edit::Append(root, vec![new]));
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
    let edit = match (before, after) {
        (Some((_, node)), _) => Edit::InsertAfter(node, vec![new]),
        (None, Some(node)) => Edit::InsertBefore(node, vec![new]),
        (None, None) => Edit::Append(root, vec![new]),
    };
    edits.push(edit);
}
