//! Format-preserving edits of an XML text, in the manner of toml_edit.
//!
//! roxmltree locates elements by byte range; edits are splices of those
//! ranges, so every byte the hook does not mean to change (comments, quoting,
//! namespaces, entity references, indentation, CRLF) comes out as it went in.
//! New elements are printed in the document's own quote, indentation and
//! line ending.
//!
//! The caller hands over every edit at once, as data ([`Edit`]); the
//! result is the original and its splices ([`Edited`]), checked to be
//! still a document before anyone writes it.

use std::ops::Range;

use roxmltree::{Document, Node};

use crate::cpuset::{self, CpuSet};
use crate::xml::boundaries::Boundaries;
use crate::xml::check;
use crate::xml::edited::Edited;
use crate::xml::read::{is_blank, qualified_name, Refused};

#[cfg(test)]
mod tests;

/// How the document writes itself, learned from the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    pub quote: char,
    /// `""` for a document on one line: new elements stay on that line.
    pub eol: &'static str,
    /// One level of indentation.
    pub unit: String,
}

impl Style {
    /// Learned from the tree and the text it was built from; the line
    /// ending from `document`, the whole text, whose first line break may
    /// lie in a part the tree's text leaves out.
    pub fn of(doc: &Document, document: &str) -> Style {
        let text = doc.input_text();
        let root = doc.root_element();
        let quote = root
            .descendants()
            .flat_map(|node| node.attributes())
            .find_map(|attr| text[..attr.range().end].chars().next_back())
            .filter(|&quote| quote == '\'' || quote == '"')
            .unwrap_or('\'');
        let first_child = root.children().find(|node| node.is_element());
        // With no child element to learn from, a line break inside the root
        // decides: the element written now is the one the next run learns
        // from, and both runs must agree for a second run to change nothing.
        let on_own_line = match first_child {
            Some(child) => starts_line(text, child.range().start),
            None => text[root.range()].contains('\n'),
        };
        // The first line break decides: the edit only writes after it, so
        // the next run decides the same (a lone CR before a new LF would
        // otherwise turn a LF document into a CRLF one for the next run).
        let crlf = document
            .find('\n')
            .is_some_and(|nl| document[..nl].ends_with('\r'));
        let eol = match (on_own_line, crlf) {
            (false, _) => "",
            (true, true) => "\r\n",
            (true, false) => "\n",
        };
        let unit = match first_child {
            _ if !on_own_line => String::new(),
            Some(child) => {
                let inner = indent_of(text, child.range().start);
                let outer = indent_of(text, root.range().start);
                inner
                    .strip_prefix(outer)
                    .filter(|u| !u.is_empty())
                    .unwrap_or("  ")
                    .to_string()
            }
            None => "  ".to_string(),
        };
        Style { quote, eol, unit }
    }
}

/// The whitespace that opens the line `pos` is on, if only whitespace
/// stands before `pos` on that line.
pub fn indent_of(text: &str, pos: usize) -> &str {
    let line_start = text[..pos].rfind('\n').map_or(0, |nl| nl + 1);
    let lead = &text[line_start..pos];
    if lead.chars().all(|c| c == ' ' || c == '\t') {
        lead
    } else {
        ""
    }
}

/// True when only whitespace stands before `pos` on its line, the first
/// line included.
fn starts_line(text: &str, pos: usize) -> bool {
    let line_start = text[..pos].rfind('\n').map_or(0, |nl| nl + 1);
    text[line_start..pos].trim().is_empty()
}

/// An element the hook writes, printed in the document's style; its
/// values are borrowed from the plan for `'v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewElement<'v> {
    pub name: &'static str,
    pub attributes: Vec<(&'static str, Value<'v>)>,
    pub content: Content<'v>,
}

/// An attribute's value as the plan holds it, printed only when the element
/// is: a string made for each of a thousand pins' values, and freed again,
/// cost the edit more than printing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'v> {
    Text(&'v str),
    Number(u64),
    Cpus(&'v CpuSet),
}

impl<'v> From<&'v str> for Value<'v> {
    fn from(text: &'v str) -> Value<'v> {
        Value::Text(text)
    }
}

impl<'v> From<&'v String> for Value<'v> {
    fn from(text: &'v String) -> Value<'v> {
        Value::Text(text)
    }
}

impl<'v> From<&'v CpuSet> for Value<'v> {
    fn from(cpus: &'v CpuSet) -> Value<'v> {
        Value::Cpus(cpus)
    }
}

impl From<u32> for Value<'_> {
    fn from(number: u32) -> Self {
        Value::Number(number.into())
    }
}

impl From<u64> for Value<'_> {
    fn from(number: u64) -> Self {
        Value::Number(number)
    }
}

impl From<usize> for Value<'_> {
    fn from(number: usize) -> Self {
        Value::Number(number as u64)
    }
}

impl Value<'_> {
    fn render_into(self, out: &mut String, quote: char) {
        // Numbers and CPU lists are digits, commas and dashes: nothing to
        // escape. Writing to a String cannot fail.
        match self {
            Value::Text(text) => escape_into(out, text, quote),
            Value::Number(number) => {
                let _ = cpuset::write_decimal(out, number);
            }
            Value::Cpus(cpus) => {
                let _ = cpus.write_into(out);
            }
        }
    }
}

/// What stands between the tags; text of the document is named by its
/// range in the tree's text, and copied only when the element is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content<'v> {
    Empty,
    Children(Vec<NewElement<'v>>),
    /// Text copied verbatim from the document (a kept cell's `<distances>`).
    Verbatim(Range<usize>),
    /// A whole element (or comment) kept as the document wrote it.
    Kept(Range<usize>),
}

impl<'v> NewElement<'v> {
    pub fn new(name: &'static str) -> NewElement<'v> {
        NewElement {
            name,
            attributes: Vec::new(),
            content: Content::Empty,
        }
    }

    /// An element of the document carried into a rewritten parent as it
    /// is, by its range in the tree's text.
    pub fn kept(range: Range<usize>) -> NewElement<'v> {
        NewElement {
            name: "",
            attributes: Vec::new(),
            content: Content::Kept(range),
        }
    }

    pub fn attribute(mut self, name: &'static str, value: impl Into<Value<'v>>) -> NewElement<'v> {
        self.attributes.push((name, value.into()));
        self
    }

    pub fn is_childless(&self) -> bool {
        matches!(&self.content, Content::Children(children) if children.is_empty())
    }

    pub fn children(mut self, children: Vec<NewElement<'v>>) -> NewElement<'v> {
        self.content = Content::Children(children);
        self
    }

    /// The element's text when its first line is indented by `indent`;
    /// kept text comes from `source`, the tree's text.
    pub fn render(&self, source: &str, style: &Style, indent: &str) -> String {
        let mut out = String::new();
        self.render_into(&mut out, source, style, indent);
        out
    }

    /// Written straight into `out`: a thousand pins, each formatted into
    /// strings of its own, cost the edit more than reading the document.
    fn render_into(&self, out: &mut String, source: &str, style: &Style, indent: &str) {
        if let Content::Kept(range) = &self.content {
            return out.push_str(&source[range.clone()]);
        }
        out.push('<');
        out.push_str(self.name);
        for &(name, value) in &self.attributes {
            out.extend([" ", name, "="]);
            out.push(style.quote);
            value.render_into(out, style.quote);
            out.push(style.quote);
        }
        match &self.content {
            Content::Empty | Content::Kept(_) => out.push_str("/>"),
            Content::Verbatim(inner) => {
                out.extend([">", &source[inner.clone()], "</", self.name, ">"]);
            }
            Content::Children(children) => {
                out.push('>');
                render_children(out, source, children, style, indent);
                out.extend([style.eol, indent, "</", self.name, ">"]);
            }
        }
    }
}

/// Children one level in from `indent`, each on its own line.
fn render_children(
    out: &mut String,
    source: &str,
    children: &[NewElement],
    style: &Style,
    indent: &str,
) {
    let inner = format!("{indent}{}", style.unit);
    for child in children {
        out.extend([style.eol, &inner]);
        child.render_into(out, source, style, &inner);
    }
}

/// Values come from validated grammars and never need escaping; this is the
/// last line of defence should that ever change.
fn escape(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len());
    escape_into(&mut out, value, quote);
    out
}

fn escape_into(out: &mut String, value: &str, quote: char) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote == '"' => out.push_str("&quot;"),
            '\'' if quote == '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
}

/// One change of the document, on the tree's nodes; a list of them is
/// applied at once by [`apply`].
#[derive(Debug, Clone)]
pub enum Edit<'a, 'i> {
    /// The element, replaced whole.
    Replace(Node<'a, 'i>, NewElement<'a>),
    /// The element and the whitespace that puts it on its own line, gone.
    Remove(Node<'a, 'i>),
    /// An attribute the element has, given a new value in place.
    SetAttribute(Node<'a, 'i>, &'static str, String),
    /// New elements right after the node, at its indentation.
    InsertAfter(Node<'a, 'i>, Vec<NewElement<'a>>),
    /// New elements right before the node, at its indentation.
    InsertBefore(Node<'a, 'i>, Vec<NewElement<'a>>),
    /// New last children of the element.
    Append(Node<'a, 'i>, Vec<NewElement<'a>>),
}

/// Every edit applied to `document`, of which the tree's text may be a
/// shortened copy (`original` takes each offset of the tree's text to the
/// document's), and the result checked: never a broken document to write.
/// `boundaries` are the document's from its scan; the check then scans
/// only the stretch the edits changed.
pub fn apply<'t>(
    doc: &Document,
    document: &'t str,
    original: impl Fn(usize) -> usize,
    edits: Vec<Edit>,
    boundaries: Option<&Boundaries>,
) -> Result<Edited<'t>, Refused> {
    let mut editor = Editor::new(doc, document);
    for edit in edits {
        editor.edit(edit);
    }
    let edits = editor.splices.into_iter().map(|(range, text)| {
        let range = original(range.start)..original(range.end);
        (range, text)
    });
    let edited = Edited::new(document, edits.collect());
    check::edit(&edited, boundaries)?;
    Ok(edited)
}

/// Edits of one document, expressed on its nodes, collected as splices
/// of the tree's text.
struct Editor<'t> {
    text: &'t str,
    style: Style,
    splices: Vec<(Range<usize>, String)>,
}

impl<'t> Editor<'t> {
    /// Edits expressed on the tree's own text, which may be a shortened
    /// copy of `document`.
    fn new(doc: &Document<'t>, document: &str) -> Editor<'t> {
        Editor {
            text: doc.input_text(),
            style: Style::of(doc, document),
            splices: Vec::new(),
        }
    }

    fn edit(&mut self, edit: Edit) {
        match edit {
            Edit::Replace(node, new) => self.replace(node, &new),
            Edit::Remove(node) => self.remove(node),
            Edit::SetAttribute(node, name, value) => self.set_attribute(node, name, &value),
            Edit::InsertAfter(node, new) => self.insert_after(node, &new),
            Edit::InsertBefore(node, new) => self.insert_before(node, &new),
            Edit::Append(node, new) => self.append(node, &new),
        }
    }

    /// The document's style, or, beside an element that shares its line
    /// with others (`<cpu><model>X</model></cpu>`), that line's inline style.
    ///
    /// Beside text (only in odd documents: `<domain>u\n</domain>`) what counts
    /// is whether the text ends its line, which is where the new element goes;
    /// otherwise the next run, seeing that element open a line, re-indents it.
    fn style_beside(&self, node: Node) -> Style {
        let at = match node.is_text() {
            true => node.range().end,
            false => node.range().start,
        };
        match starts_line(self.text, at) {
            true => self.style.clone(),
            false => Style {
                eol: "",
                unit: String::new(),
                ..self.style.clone()
            },
        }
    }

    /// None when new elements stay on one line: spaces between elements on
    /// a line would not be found again by the next run, which re-indents.
    fn indent(&self, node: Node) -> String {
        match self.style.eol {
            "" => String::new(),
            _ => indent_of(self.text, node.range().start).to_string(),
        }
    }

    fn replace(&mut self, node: Node, new: &NewElement) {
        let text = new.render(self.text, &self.style_near(node), &self.indent(node));
        self.splices.push((node.range(), text));
    }

    /// Gives an attribute the element has a new value, in place, in the
    /// document's quotes; nothing else of the element changes.
    fn set_attribute(&mut self, node: Node, name: &str, value: &str) {
        if let Some(attribute) = node.attributes().find(|a| a.name() == name) {
            let range = attribute.range_value();
            let quote = self.text[..range.start].chars().next_back().unwrap_or('\'');
            self.splices.push((range, escape(value, quote)));
        }
    }

    /// Removes the element and the whitespace that puts it on its own line.
    fn remove(&mut self, node: Node) {
        let mut start = node.range().start;
        if let Some(prev) = node.prev_sibling().filter(|prev| is_blank(*prev)) {
            start = prev.range().start;
        }
        self.splices.push((start..node.range().end, String::new()));
    }

    /// The style beside `sibling`, on its own line indented by the unit
    /// `sibling` itself is indented by: in a hand-edited file mixing tabs
    /// and spaces, new children of a space-indented element get spaces.
    fn style_near(&self, sibling: Node) -> Style {
        let mut style = self.style_beside(sibling);
        if style.eol.is_empty() {
            return style;
        }
        let outer = sibling
            .parent_element()
            .map_or("", |p| indent_of(self.text, p.range().start));
        let inner = indent_of(self.text, sibling.range().start);
        if let Some(unit) = inner.strip_prefix(outer).filter(|u| !u.is_empty()) {
            style.unit = unit.to_string();
        }
        style
    }

    /// Places the elements right after `sibling`, at its indentation.
    fn insert_after(&mut self, sibling: Node, new: &[NewElement]) {
        let indent = self.indent(sibling);
        let style = self.style_near(sibling);
        let mut text = String::new();
        for element in new {
            text.extend([style.eol, &indent]);
            element.render_into(&mut text, self.text, &style, &indent);
        }
        let at = sibling.range().end;
        self.splices.push((at..at, text));
    }

    /// Places the elements right before `sibling`, at its indentation.
    fn insert_before(&mut self, sibling: Node, new: &[NewElement]) {
        let indent = self.indent(sibling);
        let style = self.style_near(sibling);
        let mut text = String::new();
        for element in new {
            element.render_into(&mut text, self.text, &style, &indent);
            text.extend([style.eol, &indent]);
        }
        let at = sibling.range().start;
        self.splices.push((at..at, text));
    }

    /// Adds the elements as the last children of `parent`, opening it up
    /// when it is empty (`<cputune></cputune>`) or self-closing (`<cpu/>`).
    fn append(&mut self, parent: Node, new: &[NewElement]) {
        if let Some(last) = parent.children().rev().find(|n| !is_blank(*n)) {
            return self.insert_after(last, new);
        }
        let indent = self.indent(parent);
        // What a parent rendered around them holds between its tags.
        let style = self.style_near(parent);
        let mut children = String::new();
        render_children(&mut children, self.text, new, &style, &indent);
        children.extend([style.eol, &indent]);
        let tag = start_tag(self.text, parent);
        if tag.self_closing {
            let name = qualified_name(self.text, parent);
            let closing = format!(">{children}</{name}>");
            self.splices
                .push((tag.close.start..parent.range().end, closing));
        } else {
            let content = tag.close.end..end_tag_start(self.text, parent);
            self.splices.push((content, children));
        }
    }
}

struct StartTag {
    /// The `>` or `/>` that ends the start tag.
    close: Range<usize>,
    self_closing: bool,
}

/// Found by scanning, not from the attributes' ranges: roxmltree does not
/// count namespace declarations (`xmlns=''`, `xmlns:x=`) as attributes, and
/// an edit after the last attribute landed inside the tag.
fn start_tag(text: &str, node: Node) -> StartTag {
    let name_end = node.range().start + 1 + qualified_name(text, node).len();
    let mut quote = None;
    let close = text[name_end..node.range().end]
        .char_indices()
        .find_map(|(offset, c)| {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(open), _) if c == open => quote = None,
                (None, '>') => return Some(name_end + offset),
                _ => {}
            }
            None
        })
        .unwrap_or(node.range().end);
    let self_closing = text[..close].ends_with('/');
    let start = if self_closing { close - 1 } else { close };
    StartTag {
        close: start..close + 1,
        self_closing,
    }
}

fn end_tag_start(text: &str, node: Node) -> usize {
    let range = node.range();
    text[range.clone()]
        .rfind("</")
        .map_or(range.end, |at| range.start + at)
}
