//! The oracle for the located tree: how the tree `document::parse` builds
//! from the reduced text differs from roxmltree's tree of the whole
//! document, if it does. The fuzz targets `locate` and `rewrite`, the
//! property test of the domain edit and `tests/locate.rs` run it on every
//! document they have; it is a test's judge, so it lives with the tests
//! and does not ship in the library.

use roxmltree::{Document, Node};

use vdsm_hook_largeguest::domain::document::{parse_whole, Reduced};
use vdsm_hook_largeguest::domain::locate::{
    is_plain, DEVICES, KEPT, METADATA, METADATA_KEPT, METADATA_VM,
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
pub fn disagreement(text: &str) -> Option<String> {
    let mut reduced = Reduced::default();
    let located = reduced.reduce(text);
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
    if !located {
        return Some("the scan accepted, but nothing was located".into());
    }
    match parse_whole(reduced.text()) {
        Ok(tree) => trees(&whole, &tree, text).err(),
        Err(err) => Some(format!(
            "the reduced text is refused: {err}\n{}",
            reduced.text()
        )),
    }
}

fn trees(whole: &Document, reduced: &Document, text: &str) -> Agreement {
    let (a, b) = (whole.root(), reduced.root());
    same_children(a, b, |a, b| match a.is_element() {
        true => root(a, b),
        false => same_node(a, b),
    })?;
    let (a, b) = (Style::of(whole, text), Style::of(reduced, text));
    agree(a == b, || format!("style {a:?} against {b:?}"))
}

fn agree(ok: bool, what: impl FnOnce() -> String) -> Agreement {
    match ok {
        true => Ok(()),
        false => Err(what()),
    }
}

fn root(whole: Node, reduced: Node) -> Agreement {
    same_node(whole, reduced)?;
    let (a, b) = (OvirtMetadata::read(whole), OvirtMetadata::read(reduced));
    agree(a == b, || {
        format!("the engine's metadata {a:?} against {b:?}")
    })?;
    same_children(whole, reduced, |a, b| match a.is_element() {
        false => same_node(a, b),
        true if kept_child(a) => same_subtree(a, b),
        true if plain(a, DEVICES) => devices(a, b),
        true if plain(a, METADATA) => metadata(a, b),
        true => placeholder(a, b),
    })
}

/// Every child as it is, but the engine's `<ovirt-vm:vm>`, whose entries
/// the hook does not read are runs of `<_/>`, as devices are.
fn metadata(whole: Node, reduced: Node) -> Agreement {
    same_node(whole, reduced)?;
    same_children(whole, reduced, |a, b| {
        match a.is_element() && name_of(a).local == METADATA_VM && a.has_children() {
            true => sorted(a, b, |n| METADATA_KEPT.contains(&name_of(*n).local)),
            false => same_subtree(a, b),
        }
    })
}

/// Kept devices whole, at the same place; the others in runs of `<_/>`.
fn devices(whole: Node, reduced: Node) -> Agreement {
    sorted(whole, reduced, |n| kept_device(*n))
}

/// The children `is_kept` picks whole, at the same place; the others in
/// runs of `<_/>`.
fn sorted(whole: Node, reduced: Node, is_kept: impl Fn(&Node) -> bool) -> Agreement {
    same_node(whole, reduced)?;
    let kept = |n: &Node| n.is_element() && is_kept(n);
    let a: Vec<Node> = whole.children().filter(kept).collect();
    let b: Vec<Node> = reduced.children().filter(kept).collect();
    agree(a.len() == b.len(), || {
        format!("{} kept devices against {}", a.len(), b.len())
    })?;
    a.iter()
        .zip(&b)
        .try_for_each(|(a, b)| same_subtree(*a, *b))?;
    let stray = reduced
        .children()
        .find(|n| n.is_element() && !kept(n) && (!plain(*n, "_") || n.has_children()));
    agree(stray.is_none(), || format!("a stray device {stray:?}"))
}

/// A child of `<domain>` the hook does not read: its start tag as it was,
/// perhaps with the filler attribute, and nothing inside.
fn placeholder(whole: Node, reduced: Node) -> Agreement {
    same_element(whole, reduced, |extra| {
        extra.len() <= 1 && extra.iter().all(|a| a.name() == "_")
    })?;
    agree(!reduced.has_children(), || {
        format!("{reduced:?} has children")
    })
}

fn same_children<'a, 'i>(
    whole: Node<'a, 'i>,
    reduced: Node<'a, 'i>,
    each: impl Fn(Node<'a, 'i>, Node<'a, 'i>) -> Agreement,
) -> Agreement {
    let (a, b) = (whole.children().count(), reduced.children().count());
    agree(a == b, || format!("{whole:?}: {a} children against {b}"))?;
    whole
        .children()
        .zip(reduced.children())
        .try_for_each(|(a, b)| each(a, b))
}

/// Node for node, in document order: no recursion, however deep.
fn same_subtree(whole: Node, reduced: Node) -> Agreement {
    let (a, b) = (whole.descendants().count(), reduced.descendants().count());
    agree(a == b, || format!("{whole:?}: {a} nodes against {b}"))?;
    whole
        .descendants()
        .zip(reduced.descendants())
        .try_for_each(|(a, b)| same_node(a, b))
}

fn same_node(whole: Node, reduced: Node) -> Agreement {
    let same = whole.node_type() == reduced.node_type()
        && whole.range() == reduced.range()
        && whole.text() == reduced.text()
        && whole.pi() == reduced.pi();
    agree(same, || format!("{whole:?} against {reduced:?}"))?;
    match whole.is_element() {
        true => same_element(whole, reduced, |extra| extra.is_empty()),
        false => Ok(()),
    }
}

fn same_element(
    whole: Node,
    reduced: Node,
    extra_allowed: impl Fn(&[roxmltree::Attribute]) -> bool,
) -> Agreement {
    let (a, b): (Vec<_>, Vec<_>) = (whole.attributes().collect(), reduced.attributes().collect());
    let same = whole.tag_name() == reduced.tag_name()
        && whole.range() == reduced.range()
        && b.len() >= a.len()
        && a.iter().zip(&b).all(|(a, b)| {
            (a.namespace(), a.name(), a.value(), a.range())
                == (b.namespace(), b.name(), b.value(), b.range())
        })
        && extra_allowed(&b[a.len().min(b.len())..])
        && whole.namespaces().eq(reduced.namespaces());
    agree(same, || format!("{whole:?} against {reduced:?}"))
}

fn plain(node: Node, name: &str) -> bool {
    is_plain(name_of(node), name)
}

fn kept_child(node: Node) -> bool {
    KEPT.iter().any(|kept| kept.is_child(name_of(node)))
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
    KEPT.iter().any(|kept| kept.is_device(&tag))
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
