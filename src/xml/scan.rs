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

use self::chars::{
    first_non_xml_char, is_control, is_non_character, is_referable, run, same_bytes,
    white_space_to_tag, Plain, PLAIN_TEXT, PLAIN_VALUE, SPACE,
};

mod attributes;
mod chars;
mod names;
#[cfg(test)]
mod tests;

/// Where the scan found the text not to be a document roxmltree accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub at: usize,
}

type Scan<T = ()> = Result<T, Malformed>;

pub const XML_URI: &str = "http://www.w3.org/XML/1998/namespace";
pub(super) const XMLNS_URI: &str = "http://www.w3.org/2000/xmlns/";

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

/// An element whose end tag is still to come: its name is where it is
/// written, which its end tag nearly always repeats, and is split into
/// prefix and local name again only when the end tag is written otherwise.
struct Open {
    written: Range<usize>,
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
    open: Vec<Open>,
    /// The prefixes in scope, innermost last.
    scope: Vec<Namespace<'t>>,
    /// The current start tag's attributes.
    attributes: Vec<Attribute<'t>>,
    /// Whether one of them has a prefix.
    prefixed: bool,
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
            prefixed: false,
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
    fn skip_plain(&mut self, plain: &Plain) -> Scan<Option<u8>> {
        loop {
            self.pos = plain.run(self.bytes, self.pos);
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
        if let Some(tag) = white_space_to_tag(self.bytes, self.pos) {
            self.pos = tag;
            return Ok(());
        }
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
        self.prefixed = false;
        self.plain_attributes();
        let empty = match self.peek() {
            Some(b'>') => {
                self.pos += 1;
                false
            }
            _ => self.rest_of_start_tag(scope_start)?,
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
                written: start + 1..name_end,
                scope_start,
            }),
        }
        Ok(!empty)
    }

    /// What follows the plain attributes in a start tag, up to its end
    /// included: whether it is `/>`. Out of line, so that the common start
    /// tag does not make ready for what only this reads.
    #[inline(never)]
    fn rest_of_start_tag(&mut self, scope_start: usize) -> Scan<bool> {
        loop {
            let spaced = self.skip_spaces() > 0;
            match self.peek() {
                Some(b'/') => {
                    self.expect(b"/>")?;
                    return Ok(true);
                }
                Some(b'>') => {
                    self.pos += 1;
                    return Ok(false);
                }
                Some(_) if spaced => self.attribute(scope_start)?,
                _ => return self.malformed(),
            }
        }
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
        let written = open.written.len();
        let after = self.pos + written;
        let as_written = same_bytes(self.bytes, open.written.start, self.pos, written)
            && matches!(
                self.bytes.get(after),
                Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')
            );
        if as_written {
            self.pos = after;
        } else if self.qname()? != QName::split(&self.text[open.written]) {
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
}
