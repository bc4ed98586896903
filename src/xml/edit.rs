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
    pub fn of(doc: &Document, text: &str) -> Style {
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
        let crlf = text.find('\n').is_some_and(|nl| text[..nl].ends_with('\r'));
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
        if let Content::Kept(text) = &self.content {
            return text.clone();
        }
        let mut out = format!("<{}", self.name);
        for (name, value) in &self.attributes {
            let q = style.quote;
            out.push_str(&format!(" {name}={q}{}{q}", escape(value, q)));
        }
        match &self.content {
            Content::Empty | Content::Kept(_) => out.push_str("/>"),
            Content::Verbatim(inner) => out.push_str(&format!(">{inner}</{}>", self.name)),
            Content::Children(children) => {
                out.push('>');
                out.push_str(&render_children(children, style, indent));
                out.push_str(&format!("{}{indent}</{}>", style.eol, self.name));
            }
        }
        out
    }
}

/// Children one level in from `indent`, each on its own line.
fn render_children(children: &[NewElement], style: &Style, indent: &str) -> String {
    let inner = format!("{indent}{}", style.unit);
    children
        .iter()
        .map(|child| format!("{}{inner}{}", style.eol, child.render(style, &inner)))
        .collect()
}

/// Values come from validated grammars and never need escaping; this is the
/// last line of defence should that ever change.
fn escape(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len());
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
    out
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
    pub fn apply(mut self, text: &str) -> String {
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
    pub fn new(doc: &Document, text: &'t str) -> Editor<'t> {
        Editor {
            text,
            style: Style::of(doc, text),
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
        let text: String = new
            .iter()
            .map(|el| format!("{}{indent}{}", style.eol, el.render(&style, &indent)))
            .collect();
        self.splices.insert(sibling.range().end, text);
    }

    /// Places the elements right before `sibling`, at its indentation.
    pub fn insert_before(&mut self, sibling: Node, new: &[NewElement]) {
        let indent = self.indent(sibling);
        let style = self.style_near(sibling);
        let text: String = new
            .iter()
            .map(|el| format!("{}{}{indent}", el.render(&style, &indent), style.eol))
            .collect();
        self.splices.insert(sibling.range().start, text);
    }

    /// Adds the elements as the last children of `parent`, opening it up
    /// when it is empty (`<cputune></cputune>`) or self-closing (`<cpu/>`).
    pub fn append(&mut self, parent: Node, new: &[NewElement]) {
        if let Some(last) = parent.children().rev().find(|n| !is_blank(*n)) {
            return self.insert_after(last, new);
        }
        let indent = self.indent(parent);
        let children: String = {
            let wrapper = NewElement::new("x").children(new.to_vec());
            let full = wrapper.render(&self.style_near(parent), &indent);
            full["<x>".len()..full.len() - "</x>".len()].to_string()
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn style_of(text: &str) -> Style {
        let doc = Document::parse(text).expect("well-formed");
        Style::of(&doc, text)
    }

    fn style(quote: char, eol: &'static str, unit: &str) -> Style {
        Style {
            quote,
            eol,
            unit: unit.to_string(),
        }
    }

    /// `text` after the edits `edit` makes on it.
    fn edited(text: &str, edit: impl FnOnce(&Document, &mut Editor)) -> String {
        let doc = Document::parse(text).expect("well-formed");
        let mut editor = Editor::new(&doc, text);
        edit(&doc, &mut editor);
        editor.splices.apply(text)
    }

    /// The first element called `name`, in document order.
    fn element<'a, 'i>(doc: &'a Document<'i>, name: &str) -> Node<'a, 'i> {
        doc.descendants()
            .find(|node| node.is_element() && node.tag_name().name() == name)
            .unwrap_or_else(|| panic!("no <{name}>"))
    }

    fn pin(vcpu: u32, cpuset: &str) -> NewElement {
        NewElement::new("vcpupin")
            .attribute("vcpu", vcpu)
            .attribute("cpuset", cpuset)
    }

    // ---- Style::of ----

    #[test]
    fn style_takes_the_quote_of_the_first_attribute() {
        assert_eq!(
            style_of("<domain type=\"kvm\"><a b='1'/></domain>").quote,
            '"'
        );
        assert_eq!(
            style_of("<domain type='kvm'><a b=\"1\"/></domain>").quote,
            '\''
        );
        // The root has none: the first in document order below it decides.
        assert_eq!(
            style_of("<domain><a/><b c=\"1\"/><d e='2'/></domain>").quote,
            '"'
        );
        // No attribute anywhere: libvirt's own quote.
        assert_eq!(style_of("<domain><a/></domain>").quote, '\'');
    }

    #[test]
    fn style_learns_eol_and_unit_from_the_first_child() {
        assert_eq!(
            style_of("<domain>\n  <a/>\n</domain>"),
            style('\'', "\n", "  ")
        );
        assert_eq!(
            style_of("<domain>\r\n    <a/>\r\n</domain>"),
            style('\'', "\r\n", "    ")
        );
        assert_eq!(
            style_of("<domain>\n\t<a/>\n</domain>"),
            style('\'', "\n", "\t")
        );
    }

    #[test]
    fn style_judges_crlf_by_the_first_line_break() {
        // A CRLF further down does not make a LF document CRLF...
        assert_eq!(style_of("<domain>\n  <a/>\r\n</domain>").eol, "\n");
        // ...nor a LF further down a CRLF one LF.
        assert_eq!(style_of("<domain>\r\n  <a/>\n</domain>").eol, "\r\n");
        // The first line break may be the XML declaration's.
        let declared = "<?xml version='1.0'?>\r\n<domain>\n  <a/>\n</domain>";
        assert_eq!(style_of(declared).eol, "\r\n");
    }

    #[test]
    fn style_of_a_one_line_document_adds_no_line_breaks() {
        let one_line = style('\'', "", "");
        assert_eq!(style_of("<domain><a/><b/></domain>"), one_line);
        // A child sharing the root's line decides, whatever follows.
        assert_eq!(style_of("<domain><a/>\n  <b/>\n</domain>"), one_line);
        assert_eq!(style_of("<domain>text<a/>\n</domain>"), one_line);
    }

    #[test]
    fn style_unit_is_the_child_indentation_past_the_root() {
        let indented_root = "<?xml version='1.0'?>\n  <domain>\n      <a/>\n  </domain>";
        assert_eq!(style_of(indented_root).unit, "    ");
        // A child no deeper than the root gives no unit: two spaces.
        assert_eq!(style_of("<domain>\n<a/>\n</domain>").unit, "  ");
        // Only the first child counts.
        assert_eq!(style_of("<domain>\n   <a/>\n <b/>\n</domain>").unit, "   ");
    }

    #[test]
    fn style_with_no_child_element_reads_line_breaks_in_the_root() {
        assert_eq!(style_of("<domain>\n</domain>"), style('\'', "\n", "  "));
        assert_eq!(style_of("<domain>\r\n</domain>"), style('\'', "\r\n", "  "));
        assert_eq!(style_of("<domain>text\n</domain>"), style('\'', "\n", "  "));
        assert_eq!(style_of("<domain></domain>"), style('\'', "", ""));
        assert_eq!(style_of("<domain/>"), style('\'', "", ""));
    }

    // ---- indent_of ----

    #[test]
    fn indent_of_is_the_whitespace_opening_the_line() {
        let text = "<a>\n  <b/>\n\t \t<c/><d/>\n</a>";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(indent_of(text, at("<b/>")), "  ");
        assert_eq!(indent_of(text, at("<c/>")), "\t \t");
        // Something else before it on its line: no indentation.
        assert_eq!(indent_of(text, at("<d/>")), "");
        assert_eq!(indent_of(text, 0), "");
        assert_eq!(indent_of(text, at("</a>")), "");
        assert_eq!(indent_of("  <a/>", 2), "  ");
        assert_eq!(indent_of("<a>\r\n  <b/></a>", 7), "  ");
    }

    // ---- NewElement::render ----

    #[test]
    fn render_quotes_attributes_in_the_document_quote() {
        let pin = pin(0, "1-3");
        assert_eq!(
            pin.render(&style('\'', "\n", "  "), ""),
            "<vcpupin vcpu='0' cpuset='1-3'/>"
        );
        assert_eq!(
            pin.render(&style('"', "\n", "  "), "    "),
            "<vcpupin vcpu=\"0\" cpuset=\"1-3\"/>"
        );
        assert_eq!(
            NewElement::new("numa").render(&style('\'', "", ""), ""),
            "<numa/>"
        );
    }

    #[test]
    fn render_escapes_attribute_values() {
        let odd = NewElement::new("x").attribute("v", "a<b>&'\"");
        assert_eq!(
            odd.render(&style('\'', "", ""), ""),
            "<x v='a&lt;b&gt;&amp;&apos;\"'/>"
        );
        assert_eq!(
            odd.render(&style('"', "", ""), ""),
            "<x v=\"a&lt;b&gt;&amp;'&quot;\"/>"
        );
    }

    #[test]
    fn render_puts_children_one_level_in_on_their_own_lines() {
        let cell = NewElement::new("cell").attribute("id", 0);
        let cpu =
            NewElement::new("cpu").children(vec![NewElement::new("numa").children(vec![cell])]);
        assert_eq!(
            cpu.render(&style('\'', "\n", "  "), "  "),
            "<cpu>\n    <numa>\n      <cell id='0'/>\n    </numa>\n  </cpu>"
        );
        assert_eq!(
            cpu.render(&style('"', "\r\n", "\t"), ""),
            "<cpu>\r\n\t<numa>\r\n\t\t<cell id=\"0\"/>\r\n\t</numa>\r\n</cpu>"
        );
        assert_eq!(
            cpu.render(&style('\'', "", ""), ""),
            "<cpu><numa><cell id='0'/></numa></cpu>"
        );
    }

    #[test]
    fn render_copies_verbatim_and_kept_text_as_it_is() {
        let cell = NewElement {
            content: Content::Verbatim("\n <distances>&amp;<sibling id='0'/></distances>".into()),
            ..NewElement::new("cell").attribute("id", 1)
        };
        assert_eq!(
            cell.render(&style('"', "\n", "    "), "  "),
            "<cell id=\"1\">\n <distances>&amp;<sibling id='0'/></distances></cell>"
        );
        let kept = NewElement::verbatim("<cell  id = \"0\" ><!-- kept --></cell>");
        assert_eq!(
            kept.render(&style('\'', "\n", "  "), "    "),
            "<cell  id = \"0\" ><!-- kept --></cell>"
        );
        let parent = NewElement::new("numa").children(vec![kept]);
        assert_eq!(
            parent.render(&style('\'', "\n", "  "), ""),
            "<numa>\n  <cell  id = \"0\" ><!-- kept --></cell>\n</numa>"
        );
    }

    #[test]
    fn childless_is_an_empty_list_of_children_only() {
        assert!(NewElement::new("numa").children(vec![]).is_childless());
        assert!(!NewElement::new("numa").is_childless());
        assert!(!NewElement::new("numa")
            .children(vec![pin(0, "0")])
            .is_childless());
    }

    // ---- Splices::apply ----

    #[test]
    fn splices_apply_in_text_order_whatever_order_they_were_made_in() {
        let mut splices = Splices::default();
        assert!(splices.is_empty());
        splices.replace(6..8, "G".into());
        splices.insert(0, "<".into());
        splices.replace(1..3, "B".into());
        assert!(!splices.is_empty());
        assert_eq!(splices.apply("abcdefgh"), "<aBdefG");
    }

    #[test]
    fn splices_at_one_position_insert_first_in_the_order_made() {
        let mut splices = Splices::default();
        splices.replace(2..4, "X".into());
        splices.insert(2, "1".into());
        splices.insert(2, "2".into());
        // Adjacent replacements both happen.
        splices.replace(4..5, "Y".into());
        splices.insert(6, "3".into());
        assert_eq!(splices.apply("abcdefg"), "ab12XYf3g");
    }

    #[test]
    fn no_splices_give_the_text_back() {
        assert_eq!(Splices::default().apply("<a>\r\n</a>"), "<a>\r\n</a>");
    }

    // ---- Editor ----

    const CPUTUNE: &str = "<domain type='kvm'>\n  <vcpu>2</vcpu>\n  <cputune>\n    \
                           <vcpupin vcpu='0' cpuset='0'/>\n  </cputune>\n</domain>\n";

    #[test]
    fn replace_prints_the_element_at_the_old_one_s_place_and_indentation() {
        let out = edited(CPUTUNE, |doc, editor| {
            let new = NewElement::new("cputune").children(vec![pin(0, "4"), pin(1, "5")]);
            editor.replace(element(doc, "cputune"), &new);
        });
        assert_eq!(
            out,
            "<domain type='kvm'>\n  <vcpu>2</vcpu>\n  <cputune>\n    \
             <vcpupin vcpu='0' cpuset='4'/>\n    <vcpupin vcpu='1' cpuset='5'/>\n  \
             </cputune>\n</domain>\n"
        );
    }

    #[test]
    fn replace_keeps_an_element_sharing_its_line_on_that_line() {
        let text = "<domain>\n  <cpu><model>X</model></cpu>\n</domain>";
        let out = edited(text, |doc, editor| {
            let numa = NewElement::new("numa").children(vec![NewElement::new("cell")]);
            editor.replace(element(doc, "model"), &numa);
        });
        assert_eq!(
            out,
            "<domain>\n  <cpu><numa><cell/></numa></cpu>\n</domain>"
        );
    }

    #[test]
    fn remove_takes_the_line_break_and_indentation_before_the_element() {
        let out = edited(CPUTUNE, |doc, editor| {
            editor.remove(element(doc, "cputune"))
        });
        assert_eq!(out, "<domain type='kvm'>\n  <vcpu>2</vcpu>\n</domain>\n");
        let crlf = "<domain>\r\n  <a/>\r\n  <b/>\r\n</domain>";
        let out = edited(crlf, |doc, editor| editor.remove(element(doc, "a")));
        assert_eq!(out, "<domain>\r\n  <b/>\r\n</domain>");
        // Beside another element on its line, only the element goes.
        let inline = "<domain>\n  <cpu><model>X</model><numa/></cpu>\n</domain>";
        let out = edited(inline, |doc, editor| editor.remove(element(doc, "numa")));
        assert_eq!(out, "<domain>\n  <cpu><model>X</model></cpu>\n</domain>");
    }

    #[test]
    fn insert_after_and_before_indent_like_the_neighbour() {
        let out = edited(CPUTUNE, |doc, editor| {
            let vcpu = element(doc, "vcpu");
            editor.insert_before(vcpu, &[NewElement::new("memory")]);
            let numatune = NewElement::new("numatune")
                .children(vec![NewElement::new("memory").attribute("mode", "strict")]);
            editor.insert_after(vcpu, &[numatune, NewElement::new("iothreads")]);
        });
        assert_eq!(
            out,
            "<domain type='kvm'>\n  <memory/>\n  <vcpu>2</vcpu>\n  <numatune>\n    \
             <memory mode='strict'/>\n  </numatune>\n  <iothreads/>\n  <cputune>\n    \
             <vcpupin vcpu='0' cpuset='0'/>\n  </cputune>\n</domain>\n"
        );
    }

    #[test]
    fn new_children_take_the_unit_their_neighbour_is_indented_by() {
        // The document indents by two spaces; this <cpu> indents its
        // children by a tab past its own indentation.
        let text = "<domain>\n  <cpu>\n  \t<model>X</model>\n  </cpu>\n</domain>";
        let out = edited(text, |doc, editor| {
            let numa = NewElement::new("numa").children(vec![NewElement::new("cell")]);
            editor.insert_after(element(doc, "model"), &[numa]);
        });
        assert_eq!(
            out,
            "<domain>\n  <cpu>\n  \t<model>X</model>\n  \t<numa>\n  \t\t<cell/>\n  \t</numa>\n  \
             </cpu>\n</domain>"
        );
    }

    #[test]
    fn insert_beside_an_element_sharing_its_line_stays_on_that_line() {
        let text = "<domain>\n  <cpu><model>X</model></cpu>\n</domain>";
        let out = edited(text, |doc, editor| {
            let numa = NewElement::new("numa").children(vec![NewElement::new("cell")]);
            editor.insert_after(element(doc, "model"), &[numa]);
            editor.insert_before(element(doc, "model"), &[NewElement::new("topology")]);
        });
        assert_eq!(
            out,
            "<domain>\n  <cpu><topology/><model>X</model><numa><cell/></numa></cpu>\n</domain>"
        );
    }

    #[test]
    fn append_goes_after_the_last_child() {
        let out = edited(CPUTUNE, |doc, editor| {
            editor.append(element(doc, "cputune"), &[pin(1, "1")]);
        });
        assert_eq!(
            out,
            "<domain type='kvm'>\n  <vcpu>2</vcpu>\n  <cputune>\n    \
             <vcpupin vcpu='0' cpuset='0'/>\n    <vcpupin vcpu='1' cpuset='1'/>\n  \
             </cputune>\n</domain>\n"
        );
    }

    #[test]
    fn append_opens_up_an_empty_parent() {
        let pinned = "\n    <vcpupin vcpu='0' cpuset='1'/>\n  </cputune>\n</domain>";
        for (text, start_tag) in [
            ("<domain>\n  <cputune></cputune>\n</domain>", "<cputune>"),
            (
                "<domain>\n  <cputune>\n  </cputune>\n</domain>",
                "<cputune>",
            ),
            ("<domain>\n  <cputune/>\n</domain>", "<cputune>"),
            // The start tag keeps its bytes, the space included.
            ("<domain>\n  <cputune />\n</domain>", "<cputune >"),
        ] {
            let out = edited(text, |doc, editor| {
                editor.append(element(doc, "cputune"), &[pin(0, "1")]);
            });
            assert_eq!(out, format!("<domain>\n  {start_tag}{pinned}"), "{text:?}");
        }
        let crlf = "<domain>\r\n\t<cputune/>\r\n</domain>";
        let out = edited(crlf, |doc, editor| {
            editor.append(element(doc, "cputune"), &[pin(0, "1"), pin(1, "2")]);
        });
        assert_eq!(
            out,
            "<domain>\r\n\t<cputune>\r\n\t\t<vcpupin vcpu='0' cpuset='1'/>\r\n\t\t\
             <vcpupin vcpu='1' cpuset='2'/>\r\n\t</cputune>\r\n</domain>"
        );
    }

    #[test]
    fn append_to_a_self_closing_cpu_keeps_its_attributes_and_prefix() {
        let text = "<domain>\n  <cpu mode='custom' check=\"a/>b\"/>\n</domain>";
        let out = edited(text, |doc, editor| {
            let numa = NewElement::new("numa").children(vec![NewElement::new("cell")]);
            editor.append(element(doc, "cpu"), &[numa]);
        });
        assert_eq!(
            out,
            "<domain>\n  <cpu mode='custom' check=\"a/>b\">\n    <numa>\n      <cell/>\n    \
             </numa>\n  </cpu>\n</domain>"
        );
        // Namespace declarations are no attributes to roxmltree: the tag is
        // scanned, and the closing tag repeats the prefix.
        let text = "<domain>\n  <q:cpu xmlns:q='urn:q' xmlns='urn:d'/>\n</domain>";
        let out = edited(text, |doc, editor| {
            editor.append(element(doc, "cpu"), &[NewElement::new("numa")]);
        });
        assert_eq!(
            out,
            "<domain>\n  <q:cpu xmlns:q='urn:q' xmlns='urn:d'>\n    <numa/>\n  </q:cpu>\n</domain>"
        );
    }

    #[test]
    fn append_in_a_one_line_document_stays_on_the_line() {
        let text = "<domain><vcpu>2</vcpu><cputune/></domain>";
        let out = edited(text, |doc, editor| {
            editor.append(element(doc, "cputune"), &[pin(0, "0"), pin(1, "1")]);
        });
        assert_eq!(
            out,
            "<domain><vcpu>2</vcpu><cputune><vcpupin vcpu='0' cpuset='0'/>\
             <vcpupin vcpu='1' cpuset='1'/></cputune></domain>"
        );
    }

    #[test]
    fn append_to_a_childless_root_follows_its_line_break() {
        let declared = "<?xml version='1.0'?>\n<domain>\n</domain>";
        let out = edited(declared, |doc, editor| {
            editor.append(doc.root_element(), &[NewElement::new("vcpu")]);
        });
        assert_eq!(out, "<?xml version='1.0'?>\n<domain>\n  <vcpu/>\n</domain>");
        // The same without the declaration, the root on the first line.
        let bare = "<domain>\n</domain>";
        let out = edited(bare, |doc, editor| {
            editor.append(doc.root_element(), &[NewElement::new("vcpu")]);
        });
        assert_eq!(out, "<domain>\n  <vcpu/>\n</domain>");
    }
}
