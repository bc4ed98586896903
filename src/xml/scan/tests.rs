use super::*;

fn roxmltree_accepts(text: &str) -> bool {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, options).is_ok()
}

/// Each case is checked against roxmltree too, so a wrong expectation
/// here fails as loudly as a wrong scan.
fn check(cases: &[(&str, bool)]) {
    for &(text, accepted) in cases {
        assert_eq!(roxmltree_accepts(text), accepted, "roxmltree on {text:?}");
        let scanned = document(text, &mut ());
        assert_eq!(scanned.is_ok(), accepted, "scan on {text:?}: {scanned:?}");
    }
}

#[test]
fn comments() {
    check(&[
        ("<a><!-- x - y --></a>", true),
        ("<a><!----></a>", true),
        ("<a><!-- a -- b --></a>", false),
        ("<a><!-- ends in a dash ---></a>", false),
        ("<a><!---></a>", false),
        ("<a><!-- <b> & ]]> --></a>", true),
        ("<a><!-- never closed </a>", false),
        ("<!-- before --><a/><!-- after -->", true),
        ("<a><!- half -></a>", false),
    ]);
}

#[test]
fn text_and_cdata() {
    check(&[
        ("<a>x ]] > y</a>", true),
        ("<a>x ]]> y</a>", false),
        ("<a>]]></a>", false),
        ("<a>]<b/>]></a>", true),
        ("<a>&#93;]></a>", true),
        ("<a>x > y</a>", true),
        ("<a><![CDATA[ <b> & ]] ]]></a>", true),
        ("<a><![CDATA[ ]]> ]]></a>", false),
        ("<a><![CDATA[ open </a>", false),
        ("<a/><![CDATA[x]]>", false),
        ("<a>t</a>text", false),
        ("text<a/>", false),
        ("<a>\u{1}</a>", false),
        ("<a>\u{fffe}</a>", false),
        ("<a>\u{ffff}</a>", false),
        ("<a>\u{fffd}\u{7f}\u{85}</a>", true),
    ]);
}

/// Every construct refuses the characters XML excludes, whichever way
/// the scan crosses it.
#[test]
fn characters_xml_excludes() {
    for bad in ["\u{0}", "\u{8}", "\u{1b}", "\u{fffe}", "\u{ffff}"] {
        let places = [
            format!("<a>{bad}</a>"),
            format!("<a b='{bad}'/>"),
            format!("<a><!--{bad}--></a>"),
            format!("<a><?p {bad}?></a>"),
            format!("<a><![CDATA[{bad}]]></a>"),
            format!("<?xml version='1{bad}'?><a/>"),
            format!("<a/><!--{bad}-->"),
            format!("<a{bad}/>"),
            format!("<a/>{bad}"),
        ];
        let cases: Vec<(&str, bool)> = places.iter().map(|p| (p.as_str(), false)).collect();
        check(&cases);
    }
    check(&[
        ("<a b='\u{feff}\u{efff}'>\u{feff}<!--\u{fffd}--></a>", true),
        ("<a>\u{ef}\u{fef}\u{f000}</a>", true),
    ]);
}

#[test]
fn references() {
    check(&[
        ("<a>&lt;&gt;&amp;&apos;&quot;</a>", true),
        ("<a>&nbsp;</a>", false),
        ("<a>&lt</a>", false),
        ("<a>&ltx;</a>", false),
        ("<a>& b</a>", false),
        ("<a>&#65;&#x41;&#0000065;</a>", true),
        ("<a>&#X41;</a>", false),
        ("<a>&#;</a>", false),
        ("<a>&#x;</a>", false),
        ("<a>&#0;</a>", false),
        ("<a>&#9;&#10;&#13;</a>", true),
        ("<a>&#31;</a>", false),
        ("<a>&#xFFFE;</a>", false),
        ("<a>&#xD800;&#x110000;</a>", true),
        ("<a>&#99999999999;</a>", false),
        ("<a b='&amp;&#65;'/>", true),
        ("<a b='&x;'/>", false),
        ("<a b='&'/>", false),
    ]);
}

#[test]
fn attributes() {
    check(&[
        ("<a b='>' c=\"'\"/>", true),
        ("<a b=\"a>b\" c='\"'>x</a>", true),
        ("<a b='<'/>", false),
        ("<a b='1'c='2'/>", false),
        ("<a b = '1' />", true),
        ("<a b='1' b='2'/>", false),
        ("<a b=1/>", false),
        ("<a b='1/>", false),
        ("<a b/>", false),
        ("<a\tb='\r\n'\n/>", true),
        ("<a/ >", false),
        ("<a b='1'", false),
        ("<a", false),
    ]);
}

#[test]
fn names() {
    check(&[
        ("<a-b.c_d1/>", true),
        ("<1a/>", false),
        ("<-a/>", false),
        ("<a:b:c xmlns:a='u'/>", false),
        ("<:a/>", true),
        ("<:a></a>", true),
        ("<a:/>", false),
        ("<é/>", true),
        ("<a·/>", true),
        ("<·a/>", false),
        ("<a>\u{80}</a>", true),
        ("<a\u{80}/>", false),
        ("<a></b>", false),
        ("<a></a >", true),
        ("<a></ a>", false),
        ("<a><b></a></b>", false),
        ("<p:a xmlns:p='u'></q:a>", false),
    ]);
}

#[test]
fn namespaces() {
    check(&[
        ("<p:a xmlns:p='urn:x'/>", true),
        ("<p:a/>", false),
        ("<a p:b='1'/>", false),
        ("<a xml:lang='en'/>", true),
        ("<xml:a/>", false),
        ("<xmlns:a/>", false),
        ("<a xmlns:p='u' xmlns:p='v'/>", false),
        ("<a xmlns='u' xmlns='v'/>", true),
        ("<a xmlns:p='u' xmlns:q='u' p:b='1' q:b='2'/>", false),
        ("<a xmlns:p='u' xmlns:q='&#117;' p:b='1' q:b='2'/>", false),
        ("<a xmlns:p='u' p:b='1' b='2'/>", true),
        ("<a xmlns:p='u'><p:b/></a>", true),
        ("<a><b xmlns:p='u'/><p:c/></a>", false),
        (
            "<a xmlns:xml='http://www.w3.org/XML/1998/namespace'/>",
            true,
        ),
        ("<a xmlns:xml='urn:other'/>", false),
        ("<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>", false),
        ("<a xmlns='http://www.w3.org/XML/1998/namespace'/>", false),
        ("<a xmlns:p='http://www.w3.org/2000/xmlns/'/>", false),
        ("<a xmlns='http://www.w3.org/2000/xmlns/'/>", false),
        ("<a p:xmlns='u'/>", true),
        ("<a xmlns:p=''><p:b/></a>", true),
        ("<a xmlns:p='u' xmlns:p2='u'><b p:c='' p2:c=''/></a>", false),
        ("<a xmlns:p='u'><b xmlns:p='v' p:c=''/></a>", true),
    ]);
}

#[test]
fn prolog_and_epilog() {
    check(&[
        ("<?xml version='1.0'?><a/>", true),
        (
            "<?xml version=\"1.0\" encoding='UTF-8' standalone='yes' ?>\n<a/>",
            true,
        ),
        ("<?xml version='1.0'encoding='UTF-8'?><a/>", false),
        ("<?xml encoding='UTF-8'?><a/>", false),
        ("<?xml version='&'?><a/>", true),
        ("<?xml version='<'?><a/>", false),
        ("<?xml?><a/>", true),
        ("<?xml-stylesheet href='x'?><a/>", true),
        ("<a/><?xml version='1.0'?>", false),
        (" <?xml version='1.0'?><a/>", false),
        ("\u{feff}<?xml version='1.0'?><a/>", true),
        ("\u{feff}<a/>", true),
        ("<a>\u{feff}</a>", true),
        ("<? x?><a/>", false),
        ("<?x?><a/>", true),
        ("<?x never closed <a/>", false),
        ("<a/>\r\n \t", true),
        ("<a/><b/>", false),
        ("", false),
        ("   ", false),
        ("<!-- only a comment -->", false),
        ("<a>", false),
        ("<a><b></a>", false),
        ("<a></a></a>", false),
        ("<!DOCTYPE a><a/>", false),
        ("<!-- c --> <!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", false),
        ("<!doctype a><a/>", false),
        ("<a><!DOCTYPE a></a>", false),
    ]);
}

#[test]
fn line_endings_and_depth() {
    let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
    let unbalanced = "<a>".repeat(10_000) + &"</a>".repeat(9_999);
    check(&[
        ("<a>\r\n  <b c='1'\r\n/>\r\n</a>\r\n", true),
        ("<a>\r</a>", true),
        (&deep, true),
        (&unbalanced, false),
    ]);
}

/// What an edit adds between two children of the root is scanned in
/// the root's namespaces, and must close what it opens.
#[test]
fn root_content_is_scanned_in_the_root_context() {
    let text = "<d xmlns:p='u'><a/><p:b><c/></p:b><x/></d>";
    let root = 0..15;
    let at = |needle: &str| text.find(needle).unwrap();
    assert!(root_content(text, root.clone(), at("<p:b")..at("<x/>")).is_ok());
    assert!(root_content(text, root.clone(), at("<c/>")..at("</p:b>")).is_ok());
    assert!(root_content(text, root.clone(), at("<p:b")..at("<c/>")).is_err());
    assert!(root_content(text, root, at("<x/>")..text.len()).is_err());
}

/// The short path for ` name="value"` and what it leaves to the full one:
/// names that collide only past their length and first byte, `xmlns`,
/// values it does not read to the end (the other quote, a reference,
/// a character past ASCII).
#[test]
fn plain_attributes() {
    check(&[
        ("<a bc='1' bd='2'/>", true),
        ("<a bc='1' bd='2' bc='3'/>", false),
        ("<a bus=\"0x02\" slot=\"0x1a\" type=\"pci\"></a>", true),
        ("<a slot='1' type='2' slot='3'></a>", false),
        ("<a xmlns='u' b='1'/>", true),
        ("<a xmlns='http://www.w3.org/2000/xmlns/'/>", false),
        ("<a xmlnsx='u'/>", true),
        ("<a b=\"x'y\" c='x\"y'/>", true),
        ("<a b='x&amp;y' c=\"é\u{feff}\"/>", true),
        ("<a b='\u{fffe}'/>", false),
        ("<a b='1'c='2'/>", false),
        ("<a b='1\"/>", false),
        ("<a b=>", false),
        ("<a b='1' b:c='2' xmlns:b='u'/>", true),
        ("<a c='1' b:c='2' xmlns:b='u' c='3'/>", false),
        ("<a _='1' _='2'/>", false),
        ("<a -b='1'/>", false),
        ("<a b='a\tb\nc' c='0123456789abcdef\"0123456789'/>", true),
        ("<a b='0123456789abcdef\u{7f}0123456789&lt;'/>", true),
        ("<a b='0123456789abcdef0123456789<'/>", false),
        ("<a b='0123456789abcdef0123456789\u{1}'/>", false),
        ("<a b='0123456789abcdef0123456789", false),
        ("<a b=\"0123456789abcdef0123456789'/>", false),
        ("<a b='1'  c='2'\nd='3'\te='4' f='5'/>", true),
        ("<a b='1' c='2'  b='3'/>", false),
        ("<a b='1' p:c='2' d='3' xmlns:p='u'/>", true),
        ("<a b='1' p:c='2' d='3'/>", false),
        ("<a b='1' xmlns='u' c='2'/>", true),
        ("<a b='1' c ='2'/>", true),
        ("<a b='1' c= '2' b = '3'/>", false),
        ("<a b='1' c='2' >", false),
        ("<a b='1' c='2' ></a>", true),
        ("<a b='1' c='2' / >", false),
        ("<a xmlns:p='u'><b p:c='1'/><d c='1' c='2'/></a>", false),
        ("<a xmlns:p='u'><b p:c='1'/><d c='1' e='2'/></a>", true),
        (
            "<a xmlns:p='u'><b p:c='1' c='1'/><d p:c='1' q:c='2'/></a>",
            false,
        ),
        ("<a xmlns:p='u'><b c='1' p:c='1' p:c='2'/></a>", false),
        (
            "<a xmlns:p='u' xmlns:q='u'><b c='1' p:c='1' d='2' q:c='2'/></a>",
            false,
        ),
    ]);
}

/// End tags as the short comparison reads them: a name that is a prefix of
/// the open one, or has it as a prefix, names of sixteen bytes and more,
/// prefixes, non-ASCII names, and end tags too near the end of the text
/// for a sixteen-byte step.
#[test]
fn end_tags() {
    let long = "abcdefghijklmnop";
    let cases = [
        format!("<x><{long}></{long}></x>"),
        format!("<x><{long}></{long}q></x>"),
        format!("<x><{long}q></{long}></x>"),
        format!("<x><{long}q></{long}r></x>"),
        format!("<x><{long}qr></{long}qr >\n</x>\n{long}"),
        format!("<x><{long}></{long} ></x>{}", " ".repeat(20)),
        format!("<x><ab></a>{}</x>", " ".repeat(20)),
        format!("<x><a></ab>{}</x>", " ".repeat(20)),
        format!("<x><ab></ac>{}</x>", " ".repeat(20)),
        format!("<x><ab></ab\t>{}</x>", " ".repeat(20)),
        format!("<x xmlns:p='u'><p:b></p:b><p:b></:b>{}</x>", " ".repeat(20)),
        format!("<x><é></é><éa></éb>{}</x>", " ".repeat(20)),
    ];
    let expected = [
        true, false, false, false, false, true, false, false, false, true, false, false,
    ];
    let owned: Vec<(&str, bool)> = cases.iter().map(String::as_str).zip(expected).collect();
    check(&owned);
    check(&[
        ("<a></a>", true),
        ("<a></a >", true),
        ("<ab></a>", false),
        ("<a></ab>", false),
        ("<a:b xmlns:a='u'></a:b>", true),
        ("<a:b xmlns:a='u'></b>", false),
        ("<é></é>", true),
        ("<é></è>", false),
    ]);
}

/// Indentation between tags, read on its own short path, and the white
/// space it leaves to the full reading of text.
#[test]
fn white_space_between_tags() {
    check(&[
        ("<a>\n    <b/>\n  \t\r\n<c/>\n</a>", true),
        (&format!("<a>\n{}<b/></a>", " ".repeat(40)), true),
        ("<a>\n    &amp;<b/>\n              </a>", true),
        ("<a>\n    ]]><b/>\n              </a>", false),
        ("<a>\n    \u{1}<b/>\n              </a>", false),
        ("<a>\n    x<b/>\n               </a>", true),
        ("<a>\n    <!-- c -->\n          </a>", true),
        ("<a>\n    </b>\n                </a>", false),
    ]);
}
