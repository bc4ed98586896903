//! `<memoryBacking><hugepages>`: which guest cells get huge pages of which
//! size. A `<page>` with a `nodeset` serves those guest cells; one without
//! serves every cell no other page names; `<hugepages/>` alone is one such
//! page of the host's default size.

use roxmltree::Node;

use crate::cpuset::CpuSet;
use crate::domain::document::{attribute_kib, DocumentError};
use crate::domain::values::{libvirt_bitmap, BITMAP_SIZE};
use crate::xml::read::{child, children};

/// The page size of regular memory: libvirt treats a "huge" page of this
/// size as no huge page at all.
pub(crate) const SYSTEM_PAGE_KIB: u64 = 4;

#[derive(Debug, Clone)]
pub(crate) struct Page<'a, 'i> {
    /// `None` for `<hugepages/>` alone.
    pub node: Option<Node<'a, 'i>>,
    /// `None`: the host's default huge page size.
    pub size_kib: Option<u64>,
    /// The guest cells it serves; `None` for every cell no other page names.
    pub nodeset: Option<CpuSet>,
}

/// The VM's huge page settings; empty when it has no `<hugepages>`.
pub(crate) fn pages<'a, 'i>(root: Node<'a, 'i>) -> Result<Vec<Page<'a, 'i>>, DocumentError> {
    let Some(hugepages) = child(root, "memoryBacking").and_then(|mb| child(mb, "hugepages")) else {
        return Ok(Vec::new());
    };
    let listed: Vec<Node> = children(hugepages, "page").collect();
    if listed.is_empty() {
        let master = Page {
            node: None,
            size_kib: None,
            nodeset: None,
        };
        return Ok(vec![master]);
    }
    listed.into_iter().map(page).collect()
}

fn page<'a, 'i>(node: Node<'a, 'i>) -> Result<Page<'a, 'i>, DocumentError> {
    let bad = |attribute: &'static str, text: &str, expected| DocumentError::BadAttribute {
        element: "page".into(),
        attribute,
        text: crate::wording::shorten(text),
        expected,
    };
    let size_kib = match node.attribute("size") {
        Some(size) => Some(
            attribute_kib(size, node.attribute("unit"))
                .ok_or_else(|| bad("size", size, "a page size (unit KiB unless given)"))?,
        ),
        None => None,
    };
    // virDomainHugepagesParseXML reads it with virBitmapParse: spaces,
    // ranges and ^ exclusions as in every libvirt set.
    let nodeset = match node.attribute("nodeset") {
        Some(set) => Some(
            libvirt_bitmap(set, BITMAP_SIZE)
                .ok_or_else(|| bad("nodeset", set, "a set of guest NUMA cells"))?,
        ),
        None => None,
    };
    Ok(Page {
        node: Some(node),
        size_kib,
        nodeset,
    })
}

/// The page serving guest cell `cell` (`None`: a VM without cells), as
/// libvirt picks it: the page naming the cell, else the one naming none.
pub(crate) fn page_for<'p, 'a, 'i>(
    pages: &'p [Page<'a, 'i>],
    cell: Option<u32>,
) -> Option<&'p Page<'a, 'i>> {
    let named = cell.and_then(|cell| {
        pages
            .iter()
            .find(|page| page.nodeset.as_ref().is_some_and(|set| set.contains(cell)))
    });
    named.or_else(|| pages.iter().find(|page| page.nodeset.is_none()))
}
