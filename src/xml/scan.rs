//! One pass over an XML text that decides, without building a tree, whether
//! roxmltree (DTDs refused) accepts it: the same grammar, the same namespace
//! rules, the same references. Building roxmltree's tree of a 1 MB domain
//! XML costs about 60 instructions a byte; this costs a few, and tells a
//! `Visitor` where each element is, which is how `locate` finds the few
//! elements the hook reads among thousands of devices.
//!
//! roxmltree stays the authority: every refusal here is parsed again by
//! roxmltree for its message, and the fuzz target `locate` checks the two
//! agree on any input. Quirks of roxmltree are followed on purpose (`<:a>`
//! is the element `a`; `p:xmlns` declares the default namespace; a
//! character reference to a surrogate reads as U+FFFD).

use std::borrow::Cow;
use std::ops::Range;

/// Where the scan found the text not to be a document roxmltree accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub at: usize,
}

type Scan<T = ()> = Result<T, Malformed>;

pub const XML_URI: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_URI: &str = "http://www.w3.org/2000/xmlns/";

/// A qualified name split as roxmltree splits it: at the only colon, where
/// an empty prefix (`<:a>`) is no prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QName<'t> {
    pub prefix: &'t str,
    pub local: &'t str,
}

/// An attribute as written; namespace declarations are not attributes.
#[derive(Debug, Clone)]
pub struct Attribute<'t> {
    pub name: QName<'t>,
    /// The value between the quotes, references not resolved.
    pub value: &'t str,
    /// From the name to the closing quote included.
    pub range: Range<usize>,
}

/// A start tag, once all of it is known to be well-formed.
pub struct StartTag<'a, 't> {
    /// How many elements enclose this one: 0 for the root.
    pub depth: usize,
    pub name: QName<'t>,
    /// From `<` to the `>` of the tag.
    pub range: Range<usize>,
    /// `<a/>`: the element ends with its start tag.
    pub empty: bool,
    pub attributes: &'a [Attribute<'t>],
}

/// What the scan reports as it goes, in document order.
pub trait Visitor<'t> {
    fn start_tag(&mut self, tag: &StartTag<'_, 't>);
    /// The end tag of an element with `depth` ancestors; an empty element
    /// has none, its start tag says so.
    fn end_tag(&mut self, depth: usize, range: Range<usize>);
}

/// For a scan that only checks.
impl Visitor<'_> for () {
    fn start_tag(&mut self, _: &StartTag) {}
    fn end_tag(&mut self, _: usize, _: Range<usize>) {}
}

/// What a successful scan counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// roxmltree refuses more than 65 535 distinct namespaces; the scan
    /// does not tell them apart, it counts every declaration.
    pub namespace_declarations: usize,
}

/// Declarations past which the scan cannot promise roxmltree's answer.
pub const NAMESPACE_LIMIT: usize = u16::MAX as usize;

/// Scans a whole document.
pub fn document<'t>(text: &'t str, visitor: &mut impl Visitor<'t>) -> Scan<Summary> {
    let mut scanner = Scanner::new(text, visitor);
    scanner.document()?;
    Ok(Summary {
        namespace_declarations: scanner.declarations,
    })
}

/// Scans `text[content]` as content of the root element, whose start tag is
/// `text[root_tag]`: what an edit put between two children of the root.
/// The content must close every element it opens, and not the root.
pub fn root_content(text: &str, root_tag: Range<usize>, content: Range<usize>) -> Scan<Summary> {
    let text = &text[..content.end];
    let mut nothing = ();
    let mut scanner = Scanner::new(text, &mut nothing);
    scanner.pos = root_tag.start;
    if !scanner.starts_with(b"<") || !scanner.start_tag()? || scanner.pos != root_tag.end {
        return Err(Malformed { at: root_tag.start });
    }
    scanner.pos = content.start;
    scanner.content()?;
    match scanner.open.len() {
        1 => Ok(Summary {
            namespace_declarations: scanner.declarations,
        }),
        _ => Err(Malformed { at: content.end }),
    }
}

struct Open<'t> {
    name: QName<'t>,
    /// The name as written, which its end tag nearly always repeats.
    written: &'t [u8],
    /// Where this element's own namespace declarations start in the scope.
    scope_start: usize,
}

struct Namespace<'t> {
    prefix: &'t str,
    uri: Cow<'t, str>,
}

struct Scanner<'t, 'v, V> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    open: Vec<Open<'t>>,
    /// The prefixes in scope, innermost last.
    scope: Vec<Namespace<'t>>,
    /// The current start tag's attributes.
    attributes: Vec<Attribute<'t>>,
    declarations: usize,
    visitor: &'v mut V,
}

impl<'t, 'v, V: Visitor<'t>> Scanner<'t, 'v, V> {
    fn new(text: &'t str, visitor: &'v mut V) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            open: Vec::new(),
            scope: Vec::new(),
            attributes: Vec::new(),
            declarations: 0,
            visitor,
        }
    }

    fn malformed<T>(&self) -> Scan<T> {
        Err(Malformed { at: self.pos })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.bytes[self.pos..].starts_with(prefix)
    }

    fn expect_byte(&mut self, byte: u8) -> Scan {
        match self.peek() == Some(byte) {
            true => {
                self.pos += 1;
                Ok(())
            }
            false => self.malformed(),
        }
    }

    fn expect(&mut self, literal: &[u8]) -> Scan {
        match self.starts_with(literal) {
            true => {
                self.pos += literal.len();
                Ok(())
            }
            false => self.malformed(),
        }
    }

    /// How many white space characters were skipped.
    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        self.pos = run(&SPACE, self.bytes, start);
        self.pos - start
    }

    /// Moves past the first `terminator` at or after the current position;
    /// what it skips must be XML characters.
    fn skip_past(&mut self, terminator: &[u8]) -> Scan<usize> {
        let Some(at) = memchr::memmem::find(&self.bytes[self.pos..], terminator) else {
            return Err(Malformed {
                at: self.bytes.len(),
            });
        };
        let found = self.pos + at;
        if let Some(bad) = first_non_xml_char(&self.bytes[self.pos..found]) {
            return Err(Malformed { at: self.pos + bad });
        }
        self.pos = found + terminator.len();
        Ok(found)
    }

    /// Moves over bytes `plain` says need no look, and over the non-ASCII
    /// characters it stops at (0xEF) unless they are U+FFFE or U+FFFF;
    /// returns the byte it stops at, or `None` at the end.
    fn skip_plain(&mut self, plain: &[bool; 256]) -> Scan<Option<u8>> {
        loop {
            self.pos = run(plain, self.bytes, self.pos);
            match self.peek() {
                Some(0xEF) if is_non_character(&self.bytes[self.pos..]) => return self.malformed(),
                Some(0xEF) => self.pos += 1,
                Some(byte) if is_control(byte) => return self.malformed(),
                other => return Ok(other),
            }
        }
    }

    // document ::= BOM? XMLDecl? Misc* element Misc*
    fn document(&mut self) -> Scan {
        self.declaration()?;
        self.misc()?;
        if self.starts_with(b"<!DOCTYPE") || !self.starts_with(b"<") {
            return self.malformed();
        }
        if self.start_tag()? {
            self.content()?;
            if !self.open.is_empty() {
                return self.malformed();
            }
        }
        self.misc()?;
        match self.pos == self.bytes.len() {
            true => Ok(()),
            false => self.malformed(),
        }
    }

    /// roxmltree takes `<?xml ` (with that space) right at the start, after
    /// a BOM, as the declaration, and checks version, encoding and
    /// standalone only for their order and quoting.
    fn declaration(&mut self) -> Scan {
        if self.starts_with("\u{feff}".as_bytes()) {
            self.pos += 3;
        }
        if !self.starts_with(b"<?xml ") {
            return Ok(());
        }
        self.pos += "<?xml".len();
        self.declaration_space()?;
        if !self.starts_with(b"version") {
            return self.malformed();
        }
        self.declaration_attribute()?;
        self.declaration_space()?;
        if self.starts_with(b"encoding") {
            self.declaration_attribute()?;
            self.declaration_space()?;
        }
        if self.starts_with(b"standalone") {
            self.declaration_attribute()?;
        }
        self.skip_spaces();
        self.expect(b"?>")
    }

    fn declaration_space(&mut self) -> Scan {
        if self.skip_spaces() == 0 && !self.starts_with(b"?>") && self.peek().is_some() {
            return self.malformed();
        }
        Ok(())
    }

    /// Unlike an element's attribute, no reference is read: `&` is a
    /// character like any other here.
    fn declaration_attribute(&mut self) -> Scan {
        self.qname()?;
        self.equals()?;
        let quote = self.quote()?;
        loop {
            match self.skip_plain(&PLAIN_VALUE)? {
                Some(b'&') => self.pos += 1,
                Some(b) if b == quote => break,
                Some(b'"' | b'\'') => self.pos += 1,
                _ => return self.malformed(),
            }
        }
        self.pos += 1;
        Ok(())
    }

    // Misc ::= Comment | PI | S
    fn misc(&mut self) -> Scan {
        loop {
            self.skip_spaces();
            if self.starts_with(b"<!--") {
                self.comment()?;
            } else if self.starts_with(b"<?") {
                self.processing_instruction()?;
            } else {
                return Ok(());
            }
        }
    }

    /// No `--` inside, and none ending in `-` (`--->`): the first `--` is
    /// the end.
    fn comment(&mut self) -> Scan {
        self.pos += "<!--".len();
        let dashes = self.skip_past(b"--")?;
        match self.bytes.get(dashes + 2) {
            Some(b'>') => {
                self.pos = dashes + 3;
                Ok(())
            }
            _ => Err(Malformed { at: dashes }),
        }
    }

    /// `<?xml ` anywhere but at the start is a misplaced declaration; any
    /// other target, `xml` followed by something else included, is a PI.
    fn processing_instruction(&mut self) -> Scan {
        if self.starts_with(b"<?xml ") {
            return self.malformed();
        }
        self.pos += "<?".len();
        self.name()?;
        self.skip_past(b"?>").map(drop)
    }

    fn cdata(&mut self) -> Scan {
        self.pos += "<![CDATA[".len();
        self.skip_past(b"]]>").map(drop)
    }

    /// Elements, text, references, comments, PIs and CDATA until the end
    /// of the text or the end tag of the root. No recursion: 10 000 levels
    /// of nesting cost a vector, not the stack.
    fn content(&mut self) -> Scan {
        let depth_at_start = self.open.len();
        while let Some(byte) = self.peek() {
            if byte != b'<' {
                self.text()?;
                continue;
            }
            match self.bytes.get(self.pos + 1) {
                Some(b'!') if self.starts_with(b"<!--") => self.comment()?,
                Some(b'!') if self.starts_with(b"<![CDATA[") => self.cdata()?,
                Some(b'?') => self.processing_instruction()?,
                Some(b'/') => {
                    self.end_tag()?;
                    if self.open.len() < depth_at_start {
                        return Ok(());
                    }
                }
                Some(b'!') | None => return self.malformed(),
                Some(_) => {
                    self.start_tag()?;
                }
            }
        }
        Ok(())
    }

    /// Text up to the next `<`: references must be predefined or numeric,
    /// and `]]>` may not appear.
    fn text(&mut self) -> Scan {
        let start = self.pos;
        loop {
            match self.skip_plain(&PLAIN_TEXT)? {
                Some(b'<') | None => return Ok(()),
                Some(b'&') => self.reference()?,
                _ => {
                    if self.pos >= start + 2 && &self.bytes[self.pos - 2..self.pos] == b"]]" {
                        return self.malformed();
                    }
                    self.pos += 1;
                }
            }
        }
    }

    /// `&lt;`, `&gt;`, `&amp;`, `&apos;`, `&quot;`, `&#N;` or `&#xN;`: with
    /// no DTD every other entity is unknown.
    fn reference(&mut self) -> Scan {
        self.pos += 1;
        if self.peek() != Some(b'#') {
            for name in [&b"lt;"[..], b"gt;", b"amp;", b"apos;", b"quot;"] {
                if self.starts_with(name) {
                    self.pos += name.len();
                    return Ok(());
                }
            }
            return self.malformed();
        }
        self.pos += 1;
        let radix = match self.peek() {
            Some(b'x') => {
                self.pos += 1;
                16
            }
            _ => 10,
        };
        let digits = &self.bytes[self.pos..];
        let len = digits
            .iter()
            .take_while(|b| b.is_ascii_digit() || (radix == 16 && b.is_ascii_hexdigit()))
            .count();
        let digits = &self.text[self.pos..self.pos + len];
        self.pos += len;
        let allowed = u32::from_str_radix(digits, radix).is_ok_and(is_referable);
        if !allowed {
            return self.malformed();
        }
        self.expect_byte(b';')
    }

    /// Returns whether the element is open (not `<a/>`).
    fn start_tag(&mut self) -> Scan<bool> {
        let start = self.pos;
        self.pos += 1;
        let name = self.qname()?;
        let name_end = self.pos;
        if name.prefix == "xmlns" {
            return self.malformed();
        }
        let scope_start = self.scope.len();
        self.attributes.clear();
        let empty = loop {
            let spaced = self.skip_spaces() > 0;
            match self.peek() {
                Some(b'/') => {
                    self.expect(b"/>")?;
                    break true;
                }
                Some(b'>') => {
                    self.pos += 1;
                    break false;
                }
                Some(_) if spaced => self.attribute(scope_start)?,
                _ => return self.malformed(),
            }
        };
        self.resolve(name, start)?;
        self.visitor.start_tag(&StartTag {
            depth: self.open.len(),
            name,
            range: start..self.pos,
            empty,
            attributes: &self.attributes,
        });
        match empty {
            true => self.scope.truncate(scope_start),
            false => self.open.push(Open {
                name,
                written: &self.bytes[start + 1..name_end],
                scope_start,
            }),
        }
        Ok(!empty)
    }

    fn attribute(&mut self, scope_start: usize) -> Scan {
        let start = self.pos;
        let name = self.qname()?;
        self.equals()?;
        let quote = self.quote()?;
        let value_start = self.pos;
        loop {
            match self.skip_plain(&PLAIN_VALUE)? {
                Some(b'&') => self.reference()?,
                Some(b) if b == quote => break,
                Some(b'"' | b'\'') => self.pos += 1,
                _ => return self.malformed(),
            }
        }
        let value = &self.text[value_start..self.pos];
        self.pos += 1;
        if name.prefix == "xmlns" {
            return self.declare(name.local, value, scope_start, start);
        }
        // roxmltree's reading: any `xmlns` local name declares the default
        // namespace, whatever its prefix.
        if name.local == "xmlns" {
            self.declarations += 1;
            let uri = normalized(value);
            return match uri == XML_URI || uri == XMLNS_URI {
                true => Err(Malformed { at: start }),
                false => Ok(()),
            };
        }
        self.attributes.push(Attribute {
            name,
            value,
            range: start..self.pos,
        });
        Ok(())
    }

    /// `xmlns:prefix='uri'`: the xml prefix only for its own URI, neither
    /// reserved URI for any other, and once per element.
    fn declare(&mut self, prefix: &'t str, value: &'t str, scope_start: usize, at: usize) -> Scan {
        self.declarations += 1;
        let uri = normalized(value);
        let is_xml = uri == XML_URI;
        let refused = uri == XMLNS_URI
            || (prefix == "xml") != is_xml
            || self.scope[scope_start..]
                .iter()
                .any(|ns| ns.prefix == prefix);
        if refused {
            return Err(Malformed { at });
        }
        if !is_xml {
            self.scope.push(Namespace { prefix, uri });
        }
        Ok(())
    }

    /// Every prefix declared in scope, and no two attributes with the same
    /// namespace and local name (quadratic, as in roxmltree).
    fn resolve(&self, element: QName<'t>, at: usize) -> Scan {
        let malformed = Err(Malformed { at });
        if !element.prefix.is_empty() && self.uri(element.prefix).is_none() {
            return malformed;
        }
        for (index, attribute) in self.attributes.iter().enumerate() {
            let Some(namespace) = self.namespace(attribute) else {
                return malformed;
            };
            let earlier = &self.attributes[..index];
            let same = |other: &Attribute| {
                other.name.local == attribute.name.local && self.namespace(other) == Some(namespace)
            };
            if earlier.iter().any(same) {
                return malformed;
            }
        }
        Ok(())
    }

    /// An attribute's namespace, `None` when its prefix is not declared.
    fn namespace(&self, attribute: &Attribute) -> Option<Option<&str>> {
        match attribute.name.prefix {
            "" => Some(None),
            "xml" => Some(Some(XML_URI)),
            prefix => self.uri(prefix).map(Some),
        }
    }

    fn uri(&self, prefix: &str) -> Option<&str> {
        self.scope
            .iter()
            .rev()
            .find(|ns| ns.prefix == prefix)
            .map(|ns| ns.uri.as_ref())
    }

    // ETag ::= '</' QName S? '>', naming the open element: the same
    // prefix and local name, which the same bytes always are (`</:a>` and
    // `</a>` both close `<:a>`, as in roxmltree).
    fn end_tag(&mut self) -> Scan {
        let start = self.pos;
        self.pos += "</".len();
        let Some(open) = self.open.pop() else {
            return Err(Malformed { at: start });
        };
        let after = self.pos + open.written.len();
        let as_written = self.bytes[self.pos..].starts_with(open.written)
            && matches!(
                self.bytes.get(after),
                Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')
            );
        if as_written {
            self.pos = after;
        } else if self.qname()? != open.name {
            return Err(Malformed { at: start });
        }
        self.skip_spaces();
        self.expect_byte(b'>')?;
        self.scope.truncate(open.scope_start);
        self.visitor.end_tag(self.open.len(), start..self.pos);
        Ok(())
    }

    fn equals(&mut self) -> Scan {
        self.skip_spaces();
        self.expect_byte(b'=')?;
        self.skip_spaces();
        Ok(())
    }

    fn quote(&mut self) -> Scan<u8> {
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => {
                self.pos += 1;
                Ok(quote)
            }
            _ => self.malformed(),
        }
    }

    /// A name where colons are name characters (PI targets).
    fn name(&mut self) -> Scan<&'t str> {
        let start = self.pos;
        let mut chars = self.text[start..].chars();
        match chars.next() {
            Some(c) if is_name_start(c) => self.pos += c.len_utf8(),
            _ => return self.malformed(),
        }
        let len: usize = chars
            .take_while(|&c| is_name_char(c))
            .map(char::len_utf8)
            .sum();
        self.pos += len;
        Ok(&self.text[start..self.pos])
    }

    /// A name with at most one colon; what stands each side of it must
    /// start as a name does, but an empty prefix is allowed.
    #[inline]
    fn qname(&mut self) -> Scan<QName<'t>> {
        let start = self.pos;
        let end = run(&NAME_BYTE, self.bytes, start);
        match self.bytes.get(end) {
            Some(&byte) if byte == b':' || byte >= 0x80 => self.qname_beyond_ascii(start, end),
            _ if end > start && NAME_START_BYTE[usize::from(self.bytes[start])] => {
                self.pos = end;
                Ok(QName {
                    prefix: "",
                    local: &self.text[start..end],
                })
            }
            _ => Err(Malformed { at: start }),
        }
    }

    /// The rest of a name that has a colon or a non-ASCII character.
    #[cold]
    fn qname_beyond_ascii(&mut self, start: usize, mut end: usize) -> Scan<QName<'t>> {
        let mut colon = None;
        loop {
            match self.bytes.get(end) {
                Some(b':') if colon.is_none() => {
                    colon = Some(end);
                    end += 1;
                }
                Some(b':') => return Err(Malformed { at: start }),
                Some(&byte) if byte >= 0x80 => match self.text[end..].chars().next() {
                    Some(c) if is_name_char(c) => end += c.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
            end = run(&NAME_BYTE, self.bytes, end);
        }
        self.pos = end;
        let (prefix, local) = match colon {
            Some(colon) => (&self.text[start..colon], &self.text[colon + 1..end]),
            None => ("", &self.text[start..end]),
        };
        match (prefix.is_empty() || starts_name(prefix)) && starts_name(local) {
            true => Ok(QName { prefix, local }),
            false => Err(Malformed { at: start }),
        }
    }
}

/// Whether `part` starts with a character a name may start with.
fn starts_name(part: &str) -> bool {
    match part.as_bytes().first() {
        Some(&byte) if byte < 0x80 => NAME_START_BYTE[usize::from(byte)],
        Some(_) => part.chars().next().is_some_and(is_name_start),
        None => false,
    }
}

/// Where the run of bytes `table` admits, from `at`, ends.
#[inline(always)]
fn run(table: &[bool; 256], bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        if !table[usize::from(byte)] {
            break;
        }
        at += 1;
    }
    at
}

/// A control character XML does not allow.
fn is_control(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')
}

/// U+FFFE or U+FFFF, the two non-characters of the BMP XML excludes.
fn is_non_character(bytes: &[u8]) -> bool {
    matches!(bytes, [0xEF, 0xBF, 0xBE | 0xBF, ..])
}

/// What a character reference may name: roxmltree reads a number that is
/// no character (a surrogate, past U+10FFFF) as U+FFFD, which is allowed.
fn is_referable(code: u32) -> bool {
    match code {
        0x9 | 0xA | 0xD => true,
        0..0x20 | 0xFFFE | 0xFFFF => false,
        _ => true,
    }
}

/// An attribute value as roxmltree normalizes it (XML 1.0, 3.3.3), enough
/// to compare a namespace URI: references resolved, white space made
/// spaces, CR LF made one.
fn normalized(value: &str) -> Cow<'_, str> {
    if !value.contains(['&', '\t', '\n', '\r']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\r' if rest.starts_with('\n') => {}
            '\t' | '\n' | '\r' => out.push(' '),
            '&' => {
                let end = rest.find(';').unwrap_or(rest.len());
                out.push(resolve_reference(&rest[..end]));
                rest = rest.get(end + 1..).unwrap_or("");
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The character a reference (already checked, without `&` and `;`) means.
fn resolve_reference(name: &str) -> char {
    let code = match name.strip_prefix("#x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => name.strip_prefix('#').and_then(|dec| dec.parse().ok()),
    };
    match (code, name) {
        (Some(code), _) => char::from_u32(code).unwrap_or('\u{fffd}'),
        (None, "lt") => '<',
        (None, "gt") => '>',
        (None, "amp") => '&',
        (None, "apos") => '\'',
        _ => '"',
    }
}

/// Where the first character XML does not allow is, in a part the scan
/// skips without reading (comments, PIs, CDATA).
fn first_non_xml_char(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&at| is_control(bytes[at]) || is_non_character(&bytes[at..]))
}

/// The bytes listed and those in the ranges.
const fn byte_table(bytes: &[u8], ranges: &[(u8, u8)]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    let mut r = 0;
    while r < ranges.len() {
        let mut b = ranges[r].0;
        while b <= ranges[r].1 {
            table[b as usize] = true;
            b += 1;
        }
        r += 1;
    }
    table
}

/// Every byte but the stops, the control characters XML does not allow,
/// and 0xEF, which leads U+FFFE and U+FFFF.
const fn plain_but(stops: &[u8]) -> [bool; 256] {
    let mut table = [true; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = matches!(b as u8, b'\t' | b'\n' | b'\r');
        b += 1;
    }
    table[0xEF] = false;
    let mut i = 0;
    while i < stops.len() {
        table[stops[i] as usize] = false;
        i += 1;
    }
    table
}

/// ASCII name characters but the colon, which `qname` splits at.
const NAME_BYTE: [bool; 256] = byte_table(b"_-.", &[(b'A', b'Z'), (b'a', b'z'), (b'0', b'9')]);

/// ASCII characters a name starts with (the colon is split at).
const NAME_START_BYTE: [bool; 256] = byte_table(b"_", &[(b'A', b'Z'), (b'a', b'z')]);

const SPACE: [bool; 256] = byte_table(b" \t\n\r", &[]);

/// Bytes text runs over: not a tag, a reference, or a `>` that may end a
/// forbidden `]]>`.
const PLAIN_TEXT: [bool; 256] = plain_but(b"<&>");

/// Bytes an attribute value runs over: not a quote, `<` or a reference.
const PLAIN_VALUE: [bool; 256] = plain_but(b"\"'<&");

/// XML 1.0's NameStartChar.
fn is_name_start(c: char) -> bool {
    match c {
        'A'..='Z' | 'a'..='z' | '_' | ':' => true,
        '\0'..='\u{7f}' => false,
        _ => matches!(c,
            '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{2ff}'
            | '\u{370}'..='\u{37d}' | '\u{37f}'..='\u{1fff}' | '\u{200c}'..='\u{200d}'
            | '\u{2070}'..='\u{218f}' | '\u{2c00}'..='\u{2fef}' | '\u{3001}'..='\u{d7ff}'
            | '\u{f900}'..='\u{fdcf}' | '\u{fdf0}'..='\u{fffd}' | '\u{10000}'..='\u{effff}'),
    }
}

/// XML 1.0's NameChar.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{b7}' | '\u{300}'..='\u{36f}' | '\u{203f}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
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
}
