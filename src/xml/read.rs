//! Reading an element tree the way the hook's callers mean it: children by
//! name in no namespace, an element's name as written.

use roxmltree::{Document, Node, ParsingOptions};

use crate::wording::bare;

/// Why roxmltree refused a text, in the words its callers print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// DTDs are refused: they let a text declare external entities and
    /// entity bombs, and no caller's documents carry one.
    Dtd,
    /// roxmltree's own message, made printable.
    At { row: u32, col: u32, message: String },
}

/// roxmltree's tree of the whole text, DTDs refused.
pub fn parse(text: &str) -> Result<Document<'_>, Refused> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|err| match err {
        roxmltree::Error::DtdDetected => Refused::Dtd,
        other => {
            let pos = other.pos();
            let text = other.to_string();
            let text = text.strip_suffix(&format!(" at {pos}")).unwrap_or(&text);
            Refused::At {
                row: pos.row,
                col: pos.col,
                message: printable(text),
            }
        }
    })
}

/// roxmltree quotes the document as it is: an ESC or a backspace would reach
/// a log and an administrator's terminal raw, a `"` would mix quotes, and a
/// tag name can be as long as the document.
fn printable(text: &str) -> String {
    const KEEP: usize = 160;
    let kept: String = text.chars().take(KEEP).collect();
    let mut out = bare(&kept).to_string();
    if text.chars().nth(KEEP).is_some() {
        out.push_str("...");
    }
    out
}

/// A whitespace-only text node: the line breaks and indentation between elements.
pub fn is_blank(node: Node) -> bool {
    node.is_text() && node.text().is_some_and(|t| t.trim().is_empty())
}

/// The element's name as written, prefix included.
pub fn qualified_name<'t>(text: &'t str, node: Node) -> &'t str {
    let after = &text[node.range().start + 1..node.range().end];
    let len = after
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(after.len());
    &after[..len]
}

/// The first child element of `parent` called `name` in no namespace.
pub fn child<'a, 'i>(parent: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children(parent, name).next()
}

pub fn children<'a, 'i: 'a>(
    parent: Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    parent.children().filter(move |node| {
        node.is_element() && node.tag_name().name() == name && in_no_namespace(*node)
    })
}

/// `xmlns=""` puts an element back in no namespace, which roxmltree
/// reports as `Some("")`: such an element is libvirt's all the same.
pub fn in_no_namespace(node: Node) -> bool {
    node.tag_name().namespace().is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use roxmltree::Document;

    use super::*;

    #[test]
    fn is_blank_is_whitespace_text_only() {
        let text = "<a>\n  <b/>x<!-- c --><d> </d>\r\n</a>";
        let doc = Document::parse(text).unwrap();
        let blank: Vec<bool> = doc.root_element().children().map(is_blank).collect();
        assert_eq!(blank, [true, false, false, false, false, true]);
        let d = doc.descendants().find(|n| n.has_tag_name("d")).unwrap();
        assert!(is_blank(d.first_child().unwrap()));
    }

    #[test]
    fn qualified_name_is_the_name_as_written() {
        let text = "<q:domain xmlns:q='urn:q'><cpu\n mode='x'/><vcpu>1</vcpu><q:numa/></q:domain>";
        let doc = Document::parse(text).unwrap();
        let names: Vec<&str> = doc
            .descendants()
            .filter(|node| node.is_element())
            .map(|node| qualified_name(text, node))
            .collect();
        assert_eq!(names, ["q:domain", "cpu", "vcpu", "q:numa"]);
    }

    #[test]
    fn children_are_the_elements_of_that_name_in_no_namespace() {
        let text = "<domain xmlns:q='urn:q'><vcpu>1</vcpu><q:vcpu>2</q:vcpu>\
                    <vcpu xmlns=''>3</vcpu><vcpu xmlns='urn:o'>4</vcpu><cpu/><vcpu>5</vcpu></domain>";
        let doc = Document::parse(text).unwrap();
        let root = doc.root_element();
        let found: Vec<&str> = children(root, "vcpu").filter_map(|n| n.text()).collect();
        assert_eq!(found, ["1", "3", "5"]);
        assert_eq!(child(root, "vcpu").and_then(|n| n.text()), Some("1"));
        assert!(child(root, "memory").is_none());
        let namespaced: Vec<bool> = root
            .children()
            .filter(|n| n.is_element())
            .map(in_no_namespace)
            .collect();
        assert_eq!(namespaced, [true, false, true, false, true, true]);
    }
}
