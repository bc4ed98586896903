//! The oracle for the pruned tree: how the tree `document::parse` builds
//! from the pruned text differs from roxmltree's tree of the whole
//! document, if it does. The fuzz targets `locate` and `rewrite`, the
//! property test of the domain edit and `tests/it/locate.rs` run it on every
//! document they have; it is a test's judge, so it lives with the tests
//! and does not ship in the library.

use roxmltree::{Document, Node};

use vdsm_hook_largeguest::domain::document::{parse_whole, Offsets, Pruned};
use vdsm_hook_largeguest::domain::locate::{
    is_plain, DEVICES, METADATA, METADATA_NEEDED, METADATA_VM, NEEDED,
};
use vdsm_hook_largeguest::domain::metadata::OvirtMetadata;
use vdsm_hook_largeguest::xml::edit::Style;
use vdsm_hook_largeguest::xml::read::qualified_name;
use vdsm_hook_largeguest::xml::scan::{self, Attribute, QName, StartTag, NAMESPACE_LIMIT};

type Agreement = Result<(), String>;

/// They must agree on whether it is a document, and on everything the
/// hook can see: the root, the children of `<domain>` with their names and
/// attributes, every kept element whole at the same offsets, and the style
/// the editor learns.
#[allow(unreachable_pub)] // The fuzz crate's lib includes this file and exports it.
pub fn disagreement(text: &str) -> Option<String> {
    let mut pruned = Pruned::default();
    let scanned = pruned.prune(text);
    let declarations = scan::document(text, &mut ()).map(|s| s.namespace_declarations);
    let whole = match (parse_whole(text), declarations) {
        (Err(_), Err(_)) => return None,
        (Err(err), Ok(_)) => {
            return Some(format!("the scan accepts what roxmltree refuses: {err}"))
        }
        (Ok(_), Err(at)) => {
            return Some(format!("the scan refuses what roxmltree accepts: {at:?}"))
        }
        (Ok(_), Ok(n)) if n > NAMESPACE_LIMIT => return None,
        (Ok(doc), Ok(_)) => doc,
    };
    if !scanned {
        return Some("the scan accepted, but the pruned text was not built".into());
    }
    match parse_whole(pruned.text()) {
        Ok(tree) => trees(&whole, &tree, pruned.offsets(), text).err(),
        Err(err) => Some(format!(
            "the pruned text is refused: {err}\n{}",
            pruned.text()
        )),
    }
}

/// `at` takes the pruned tree's offsets to the document's.
fn trees(whole: &Document, pruned: &Document, at: Offsets, text: &str) -> Agreement {
    let (a, b) = (whole.root(), pruned.root());
    same_children(a, b, |a, b| match a.is_element() {
        true => root(a, b, at),
        false => same_node(a, b, at),
    })?;
    let (a, b) = (Style::of(whole, text), Style::of(pruned, text));
    agree(a == b, || format!("style {a:?} against {b:?}"))
}

fn agree(ok: bool, what: impl FnOnce() -> String) -> Agreement {
    match ok {
        true => Ok(()),
        false => Err(what()),
    }
}

fn root(whole: Node, pruned: Node, at: Offsets) -> Agreement {
    same_node(whole, pruned, at)?;
    let (a, b) = (OvirtMetadata::read(whole), OvirtMetadata::read(pruned));
    agree(a == b, || {
        format!("the engine's metadata {a:?} against {b:?}")
    })?;
    same_children(whole, pruned, |a, b| match a.is_element() {
        false => same_node(a, b, at),
        true if kept_child(a) => same_subtree(a, b, at),
        true if plain(a, DEVICES) => devices(a, b, at),
        true if plain(a, METADATA) => metadata(a, b, at),
        true => placeholder(a, b, at),
    })
}

/// Every child as it is, but the engine's `<ovirt-vm:vm>`, whose entries
/// the hook does not read are runs of `<_/>`, as devices are.
fn metadata(whole: Node, pruned: Node, at: Offsets) -> Agreement {
    same_node(whole, pruned, at)?;
    same_children(whole, pruned, |a, b| {
        match a.is_element() && name_of(a).local == METADATA_VM && a.has_children() {
            true => sorted(a, b, at, |n| METADATA_NEEDED.contains(&name_of(*n).local)),
            false => same_subtree(a, b, at),
        }
    })
}

/// Needed devices whole, at the same place; the others in runs of `<_/>`.
fn devices(whole: Node, pruned: Node, at: Offsets) -> Agreement {
    sorted(whole, pruned, at, |n| kept_device(*n))
}

/// The children `is_kept` picks whole, at the same place; the others in
/// runs of `<_/>`.
fn sorted(whole: Node, pruned: Node, at: Offsets, is_kept: impl Fn(&Node) -> bool) -> Agreement {
    same_node(whole, pruned, at)?;
    let kept = |n: &Node| n.is_element() && is_kept(n);
    let a: Vec<Node> = whole.children().filter(kept).collect();
    let b: Vec<Node> = pruned.children().filter(kept).collect();
    agree(a.len() == b.len(), || {
        format!("{} kept devices against {}", a.len(), b.len())
    })?;
    a.iter()
        .zip(&b)
        .try_for_each(|(a, b)| same_subtree(*a, *b, at))?;
    let stray = pruned
        .children()
        .find(|n| n.is_element() && !kept(n) && (!plain(*n, "_") || n.has_children()));
    agree(stray.is_none(), || format!("a stray device {stray:?}"))
}

/// A child of `<domain>` the hook does not read: its start tag as it was,
/// perhaps with the attribute that carries the document's first quote,
/// and nothing inside.
fn placeholder(whole: Node, pruned: Node, at: Offsets) -> Agreement {
    same_element(whole, pruned, at, |extra| {
        extra.len() <= 1 && extra.iter().all(|a| a.name() == "_")
    })?;
    agree(!pruned.has_children(), || {
        format!("{pruned:?} has children")
    })
}

fn same_children<'a, 'i>(
    whole: Node<'a, 'i>,
    pruned: Node<'a, 'i>,
    each: impl Fn(Node<'a, 'i>, Node<'a, 'i>) -> Agreement,
) -> Agreement {
    let (a, b) = (whole.children().count(), pruned.children().count());
    agree(a == b, || format!("{whole:?}: {a} children against {b}"))?;
    whole
        .children()
        .zip(pruned.children())
        .try_for_each(|(a, b)| each(a, b))
}

/// Node for node, in document order: no recursion, however deep.
fn same_subtree(whole: Node, pruned: Node, at: Offsets) -> Agreement {
    let (a, b) = (whole.descendants().count(), pruned.descendants().count());
    agree(a == b, || format!("{whole:?}: {a} nodes against {b}"))?;
    whole
        .descendants()
        .zip(pruned.descendants())
        .try_for_each(|(a, b)| same_node(a, b, at))
}

/// The same node, at the same place in the document.
fn same_node(whole: Node, pruned: Node, at: Offsets) -> Agreement {
    let same = whole.node_type() == pruned.node_type()
        && whole.range() == at.range(pruned.range())
        && whole.text() == pruned.text()
        && whole.pi() == pruned.pi();
    agree(same, || format!("{whole:?} against {pruned:?}"))?;
    match whole.is_element() {
        true => same_element(whole, pruned, at, |extra| extra.is_empty()),
        false => Ok(()),
    }
}

fn same_element(
    whole: Node,
    pruned: Node,
    at: Offsets,
    extra_allowed: impl Fn(&[roxmltree::Attribute]) -> bool,
) -> Agreement {
    let (a, b): (Vec<_>, Vec<_>) = (whole.attributes().collect(), pruned.attributes().collect());
    let same = whole.tag_name() == pruned.tag_name()
        && whole.range() == at.range(pruned.range())
        && b.len() >= a.len()
        && a.iter().zip(&b).all(|(a, b)| {
            (a.namespace(), a.name(), a.value(), a.range())
                == (b.namespace(), b.name(), b.value(), at.range(b.range()))
        })
        && extra_allowed(&b[a.len().min(b.len())..])
        && whole.namespaces().eq(pruned.namespaces());
    agree(same, || format!("{whole:?} against {pruned:?}"))
}

fn plain(node: Node, name: &str) -> bool {
    is_plain(name_of(node), name)
}

fn kept_child(node: Node) -> bool {
    NEEDED.iter().any(|kept| kept.is_child(name_of(node)))
}

/// Decided from the start tag as written, as the scan decides it.
fn kept_device(node: Node) -> bool {
    let text = node.document().input_text();
    let attributes: Vec<Attribute> = node
        .attributes()
        .map(|a| {
            let written = &text[a.range()];
            Attribute {
                name: split(written.split('=').next().unwrap_or("").trim_end()),
                value: &text[a.range_value()],
                range: a.range(),
            }
        })
        .collect();
    let tag = StartTag {
        depth: 2,
        name: name_of(node),
        range: node.range(),
        empty: false,
        attributes: &attributes,
    };
    NEEDED.iter().any(|kept| kept.is_device(&tag))
}

fn name_of<'i>(node: Node<'_, 'i>) -> QName<'i> {
    split(qualified_name(node.document().input_text(), node))
}

/// A name as written, split as roxmltree and the scan split it.
fn split(written: &str) -> QName<'_> {
    match written.split_once(':') {
        Some((prefix, local)) => QName { prefix, local },
        None => QName {
            prefix: "",
            local: written,
        },
    }
}
