//! Format-preserving edits of an XML text, in the manner of toml_edit.
//!
//! roxmltree locates elements by byte range; edits are splices of those
//! ranges, so every byte the hook does not mean to change (comments, quoting,
//! namespaces, entity references, indentation, CRLF) comes out as it went in.
//! New elements are printed in the document's own quote, indentation and
//! line ending.

use std::ops::Range;

use roxmltree::{Document, Node};

use crate::xml::read::{is_blank, qualified_name};

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

/// An element the hook writes, printed in the document's style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewElement {
    pub name: &'static str,
    pub attributes: Vec<(&'static str, String)>,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Empty,
    Children(Vec<NewElement>),
    /// Text copied verbatim from the document (a kept cell's `<distances>`).
    Verbatim(String),
    /// A whole element kept as the document wrote it.
    Kept(String),
}

impl NewElement {
    pub fn new(name: &'static str) -> NewElement {
        NewElement {
            name,
            attributes: Vec::new(),
            content: Content::Empty,
        }
    }

    /// An element of the document carried into a rewritten parent as it is.
    pub fn verbatim(text: &str) -> NewElement {
        NewElement {
            name: "",
            attributes: Vec::new(),
            content: Content::Kept(text.to_string()),
        }
    }

    pub fn attribute(mut self, name: &'static str, value: impl ToString) -> NewElement {
        self.attributes.push((name, value.to_string()));
        self
    }

    pub fn is_childless(&self) -> bool {
        matches!(&self.content, Content::Children(children) if children.is_empty())
    }

    pub fn children(mut self, children: Vec<NewElement>) -> NewElement {
        self.content = Content::Children(children);
        self
    }

    /// The element's text when its first line is indented by `indent`.
    pub fn render(&self, style: &Style, indent: &str) -> String {
        let mut out = String::new();
        self.render_into(&mut out, style, indent);
        out
    }

    /// Written straight into `out`: a thousand pins, each formatted into
    /// strings of its own, cost the edit more than reading the document.
    fn render_into(&self, out: &mut String, style: &Style, indent: &str) {
        if let Content::Kept(text) = &self.content {
            return out.push_str(text);
        }
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attributes {
            out.extend([" ", name, "="]);
            out.push(style.quote);
            escape_into(out, value, style.quote);
            out.push(style.quote);
        }
        match &self.content {
            Content::Empty | Content::Kept(_) => out.push_str("/>"),
            Content::Verbatim(inner) => out.extend([">", inner, "</", self.name, ">"]),
            Content::Children(children) => {
                out.push('>');
                render_children(out, children, style, indent);
                out.extend([style.eol, indent, "</", self.name, ">"]);
            }
        }
    }
}

/// Children one level in from `indent`, each on its own line.
fn render_children(out: &mut String, children: &[NewElement], style: &Style, indent: &str) {
    let inner = format!("{indent}{}", style.unit);
    for child in children {
        out.extend([style.eol, &inner]);
        child.render_into(out, style, &inner);
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

/// Splices collected against the original text, applied at once.
#[derive(Debug, Default)]
pub struct Splices {
    edits: Vec<(Range<usize>, String)>,
}

impl Splices {
    pub fn replace(&mut self, range: Range<usize>, text: String) {
        self.edits.push((range, text));
    }

    pub fn insert(&mut self, at: usize, text: String) {
        self.edits.push((at..at, text));
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Insertions at a point come before a replacement starting there, and
    /// keep the order they were made in.
    pub fn apply(self, text: &str) -> String {
        self.apply_to(text, |at| at)
    }

    /// Applied to `document`, of which the splices' text is a shortened
    /// copy: `original` takes each of their offsets to the document's.
    pub fn apply_to(mut self, document: &str, original: impl Fn(usize) -> usize) -> String {
        let text = document;
        for (range, _) in &mut self.edits {
            *range = original(range.start)..original(range.end);
        }
        self.edits
            .sort_by_key(|(range, _)| (range.start, range.end));
        // Sized once: growing a megabyte document doubles it and copies it.
        let added: usize = self.edits.iter().map(|(_, new)| new.len()).sum();
        let mut out = String::with_capacity(text.len() + added);
        let mut done = 0;
        for (range, new) in self.edits {
            out.push_str(&text[done..range.start.max(done)]);
            out.push_str(&new);
            done = done.max(range.end);
        }
        out.push_str(&text[done..]);
        out
    }
}

/// Edits of one document, expressed on its nodes.
pub struct Editor<'t> {
    pub text: &'t str,
    pub style: Style,
    pub splices: Splices,
}

impl<'t> Editor<'t> {
    /// Edits expressed on the tree's own text, which may be a shortened
    /// copy of `document` (`Splices::apply_to` puts them back in place).
    pub fn new(doc: &Document<'t>, document: &str) -> Editor<'t> {
        Editor {
            text: doc.input_text(),
            style: Style::of(doc, document),
            splices: Splices::default(),
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

    pub fn replace(&mut self, node: Node, new: &NewElement) {
        let text = new.render(&self.style_near(node), &self.indent(node));
        self.splices.replace(node.range(), text);
    }

    /// Gives an attribute the element has a new value, in place, in the
    /// document's quotes; nothing else of the element changes.
    pub fn set_attribute(&mut self, node: Node, name: &str, value: &str) {
        if let Some(attribute) = node.attributes().find(|a| a.name() == name) {
            let range = attribute.range_value();
            let quote = self.text[..range.start].chars().next_back().unwrap_or('\'');
            self.splices.replace(range, escape(value, quote));
        }
    }

    /// Removes the element and the whitespace that puts it on its own line.
    pub fn remove(&mut self, node: Node) {
        let mut start = node.range().start;
        if let Some(prev) = node.prev_sibling().filter(|prev| is_blank(*prev)) {
            start = prev.range().start;
        }
        self.splices.replace(start..node.range().end, String::new());
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
    pub fn insert_after(&mut self, sibling: Node, new: &[NewElement]) {
        let indent = self.indent(sibling);
        let style = self.style_near(sibling);
        let mut text = String::new();
        for element in new {
            text.extend([style.eol, &indent]);
            element.render_into(&mut text, &style, &indent);
        }
        self.splices.insert(sibling.range().end, text);
    }

    /// Places the elements right before `sibling`, at its indentation.
    pub fn insert_before(&mut self, sibling: Node, new: &[NewElement]) {
        let indent = self.indent(sibling);
        let style = self.style_near(sibling);
        let mut text = String::new();
        for element in new {
            element.render_into(&mut text, &style, &indent);
            text.extend([style.eol, &indent]);
        }
        self.splices.insert(sibling.range().start, text);
    }

    /// Adds the elements as the last children of `parent`, opening it up
    /// when it is empty (`<cputune></cputune>`) or self-closing (`<cpu/>`).
    pub fn append(&mut self, parent: Node, new: &[NewElement]) {
        if let Some(last) = parent.children().rev().find(|n| !is_blank(*n)) {
            return self.insert_after(last, new);
        }
        let indent = self.indent(parent);
        // What a parent rendered around them holds between its tags.
        let style = self.style_near(parent);
        let mut children = String::new();
        render_children(&mut children, new, &style, &indent);
        children.extend([style.eol, &indent]);
        let tag = start_tag(self.text, parent);
        if tag.self_closing {
            let name = qualified_name(self.text, parent);
            let closing = format!(">{children}</{name}>");
            self.splices
                .replace(tag.close.start..parent.range().end, closing);
        } else {
            let content = tag.close.end..end_tag_start(self.text, parent);
            self.splices.replace(content, children);
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
