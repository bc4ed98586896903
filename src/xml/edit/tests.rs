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
    Edited::new(text, editor.splices).to_string()
}

/// The first element called `name`, in document order.
fn element<'a, 'i>(doc: &'a Document<'i>, name: &str) -> Node<'a, 'i> {
    doc.descendants()
        .find(|node| node.is_element() && node.tag_name().name() == name)
        .unwrap_or_else(|| panic!("no <{name}>"))
}

fn pin(vcpu: u32, cpuset: &str) -> NewElement<'_> {
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
        pin.render("", &style('\'', "\n", "  "), ""),
        "<vcpupin vcpu='0' cpuset='1-3'/>"
    );
    assert_eq!(
        pin.render("", &style('"', "\n", "  "), "    "),
        "<vcpupin vcpu=\"0\" cpuset=\"1-3\"/>"
    );
    assert_eq!(
        NewElement::new("numa").render("", &style('\'', "", ""), ""),
        "<numa/>"
    );
}

#[test]
fn render_prints_numbers_and_cpu_sets_as_libvirt_reads_them() {
    let cpus: CpuSet = [0, 1, 2, 3, 8, 10, 11].into_iter().collect();
    let cell = NewElement::new("cell")
        .attribute("id", 7usize)
        .attribute("cpus", &cpus)
        .attribute("memory", 8_388_608u64)
        .attribute("vcpu", u32::MAX)
        .attribute("unit", "KiB");
    assert_eq!(
        cell.render("", &style('"', "", ""), ""),
        "<cell id=\"7\" cpus=\"0-3,8,10-11\" memory=\"8388608\" vcpu=\"4294967295\" unit=\"KiB\"/>"
    );
}

#[test]
fn render_escapes_attribute_values() {
    let odd = NewElement::new("x").attribute("v", "a<b>&'\"");
    assert_eq!(
        odd.render("", &style('\'', "", ""), ""),
        "<x v='a&lt;b&gt;&amp;&apos;\"'/>"
    );
    assert_eq!(
        odd.render("", &style('"', "", ""), ""),
        "<x v=\"a&lt;b&gt;&amp;'&quot;\"/>"
    );
}

#[test]
fn render_puts_children_one_level_in_on_their_own_lines() {
    let cell = NewElement::new("cell").attribute("id", 0u32);
    let cpu = NewElement::new("cpu").children(vec![NewElement::new("numa").children(vec![cell])]);
    assert_eq!(
        cpu.render("", &style('\'', "\n", "  "), "  "),
        "<cpu>\n    <numa>\n      <cell id='0'/>\n    </numa>\n  </cpu>"
    );
    assert_eq!(
        cpu.render("", &style('"', "\r\n", "\t"), ""),
        "<cpu>\r\n\t<numa>\r\n\t\t<cell id=\"0\"/>\r\n\t</numa>\r\n</cpu>"
    );
    assert_eq!(
        cpu.render("", &style('\'', "", ""), ""),
        "<cpu><numa><cell id='0'/></numa></cpu>"
    );
}

#[test]
fn render_copies_verbatim_and_kept_text_as_it_is() {
    let source = "\n <distances>&amp;<sibling id='0'/></distances>\
                  <cell  id = \"0\" ><!-- kept --></cell>";
    let distances = 0..source.find("<cell").unwrap();
    let cell = NewElement {
        content: Content::Verbatim(distances.clone()),
        ..NewElement::new("cell").attribute("id", 1u32)
    };
    assert_eq!(
        cell.render(source, &style('"', "\n", "    "), "  "),
        "<cell id=\"1\">\n <distances>&amp;<sibling id='0'/></distances></cell>"
    );
    let kept = NewElement::kept(distances.end..source.len());
    assert_eq!(
        kept.render(source, &style('\'', "\n", "  "), "    "),
        "<cell  id = \"0\" ><!-- kept --></cell>"
    );
    let parent = NewElement::new("numa").children(vec![kept]);
    assert_eq!(
        parent.render(source, &style('\'', "\n", "  "), ""),
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
        editor.remove(element(doc, "cputune"));
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
