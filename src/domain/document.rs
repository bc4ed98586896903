//! The domain XML as a document: parsed safely, and its values read the way
//! libvirt reads them.

use roxmltree::{Document, Node};
use thiserror::Error;

use crate::wording::{bare, quoted, shorten};
use crate::xml::boundaries::Boundaries;
use crate::xml::read::{self, Refused};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("the domain XML is not well-formed{0}")]
    NotWellFormed(String),
    #[error("the domain XML's root element is <{}>, expected <domain> with no xmlns", bare(.0))]
    NotADomain(String),
    #[error("the domain XML's <{}> holds {}, expected {expected}", bare(.element), quoted(.text))]
    BadValue {
        element: String,
        text: String,
        expected: &'static str,
    },
    #[error("the domain XML's <{}> has {attribute}={}, expected {expected}", bare(.element), quoted(.text))]
    BadAttribute {
        element: String,
        attribute: &'static str,
        text: String,
        expected: &'static str,
    },
}

pub use crate::domain::locate::{Offsets, Pruned};

/// The domain XML as a tree of the elements the hook reads (the list is in
/// `locate`), found by a scan of the whole text and built by roxmltree from
/// a short text of only those: the cost of a scan, not of a tree of every
/// device. Any refusal is roxmltree's own, from a parse of the whole text,
/// with its message.
pub fn parse<'t>(text: &'t str, pruned: &'t mut Pruned) -> Result<Document<'t>, DocumentError> {
    parse_located(text, pruned).map(|located| located.doc)
}

/// The tree, where its offsets are in `text`, and where a scan of `text`
/// can resume: what an edit of the document through the tree needs.
pub fn parse_located<'t>(
    text: &'t str,
    pruned: &'t mut Pruned,
) -> Result<Located<'t>, DocumentError> {
    let scanned = pruned.prune(text);
    let pruned: &'t Pruned = pruned;
    let whole = || {
        read::parse(text).map(|doc| Located {
            doc,
            offsets: Offsets::SAME,
            boundaries: pruned.boundaries(),
        })
    };
    match scanned {
        true => read::parse(pruned.text())
            .map(|doc| Located {
                doc,
                offsets: pruned.offsets(),
                boundaries: pruned.boundaries(),
            })
            .or_else(|_| whole()),
        false => whole(),
    }
    .map_err(DocumentError::from)
}

/// A tree of the document and what ties it back to the document's text.
pub struct Located<'t> {
    pub doc: Document<'t>,
    pub offsets: Offsets<'t>,
    /// Where a scan of the document can resume, if the scan accepted it.
    pub boundaries: Option<&'t Boundaries>,
}

/// roxmltree's tree of the whole text. DTDs are refused: libvirt never
/// writes one, and it rules out external entities and entity bombs at once.
pub fn parse_whole(text: &str) -> Result<Document<'_>, DocumentError> {
    read::parse(text).map_err(DocumentError::from)
}

impl From<Refused> for DocumentError {
    fn from(refused: Refused) -> DocumentError {
        DocumentError::NotWellFormed(match refused {
            Refused::Dtd => {
                ": it has a DOCTYPE, which domain XML never has; refusing to read it".to_string()
            }
            Refused::At { row, col, message } => {
                format!(" at line {row}, column {col}: {message}")
            }
        })
    }
}

/// An element's text as libvirt reads it, XPath's `string()`: every
/// descendant text node (CDATA included), comments and processing
/// instructions contributing nothing.
pub fn text_content(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// A number as libvirt's `virStrToLong_ullp` reads one: leading ASCII
/// white space skipped, one optional `+`, decimal digits, and nothing after.
pub fn libvirt_number(text: &str) -> Option<u64> {
    let digits = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A whole number in an element's text.
pub fn number(node: Node, expected: &'static str) -> Result<u32, DocumentError> {
    libvirt_number(&text_content(node))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad_value(node, expected))
}

/// A whole number in an attribute, as libvirt's `virXMLPropUInt` reads it;
/// `None` when the attribute is absent.
pub fn attribute_number(
    node: Node,
    attribute: &'static str,
    expected: &'static str,
) -> Result<Option<u32>, DocumentError> {
    let Some(text) = node.attribute(attribute) else {
        return Ok(None);
    };
    match libvirt_number(text).and_then(|n| u32::try_from(n).ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(DocumentError::BadAttribute {
            element: node.tag_name().name().to_string(),
            attribute,
            text: shorten(text),
            expected,
        }),
    }
}

pub fn bad_value(node: Node, expected: &'static str) -> DocumentError {
    DocumentError::BadValue {
        element: node.tag_name().name().to_string(),
        text: shorten(text_content(node).trim()),
        expected,
    }
}

/// The size an element gives, in KiB, honouring `unit` as libvirt does:
/// `KB` is 1000 bytes, `K` and `KiB` 1024, and bytes round up to a KiB.
pub fn kib(node: Node) -> Result<u64, DocumentError> {
    let bad = || {
        let expected =
            "a whole number, with a unit attribute of b, KiB, KB, MiB, MB, GiB, GB, TiB or TB";
        bad_value(node, expected)
    };
    let value = libvirt_number(&text_content(node)).ok_or_else(bad)?;
    let scale = unit_scale(node.attribute("unit").unwrap_or("KiB")).ok_or_else(bad)?;
    let bytes = u128::from(value) * u128::from(scale);
    u64::try_from(bytes.div_ceil(1024)).map_err(|_| bad())
}

/// A size in an attribute (`<cell memory= unit=>`, `<page size= unit=>`),
/// in KiB, read as `kib` reads an element; `None` when it is no size.
pub fn attribute_kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let value: u64 = value.trim().parse().ok()?;
    let scale = unit_scale(unit.unwrap_or("KiB"))?;
    u64::try_from((u128::from(value) * u128::from(scale)).div_ceil(1024)).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn size(xml: &str) -> Result<u64, DocumentError> {
        let doc = Document::parse(xml).unwrap();
        kib(doc.root_element())
    }

    #[test]
    fn a_control_character_in_the_document_is_escaped_in_the_message() {
        let err = parse_whole("<domain a=\u{1b}'1'/>")
            .err()
            .map(|e| e.to_string());
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
