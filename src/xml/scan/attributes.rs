//! Attributes and namespace declarations: the part of a start tag a
//! megabyte domain XML has most of (27 000 attributes in 18 000 tags), so
//! the common case, ` name="value"` with no prefix anywhere, is read
//! first on its own short path, and the rules for prefixes are applied in
//! full only to the tags that use them.

use super::chars::{normalized, plain_value_end, run, NAME_BYTE, NAME_START_BYTE, PLAIN_VALUE};
use super::{Attribute, Malformed, Namespace, QName, Scan, Scanner, Visitor, XMLNS_URI, XML_URI};

impl<'t, V: Visitor<'t>> Scanner<'t, '_, V> {
    /// An attribute or a namespace declaration, after the white space that
    /// must precede it.
    pub(super) fn attribute(&mut self, scope_start: usize) -> Scan {
        match self.plain_attribute(self.pos) {
            Some(end) => {
                self.pos = end;
                Ok(())
            }
            None => self.any_attribute(scope_start),
        }
    }

    /// The attributes right after a start tag's name as nearly every
    /// attribute of a domain XML is written: one space, then ` name="value"`
    /// (see `plain_attribute`), as long as they come so. The rest of the
    /// tag is read as before.
    pub(super) fn plain_attributes(&mut self) {
        let mut at = self.pos;
        while self.bytes.get(at) == Some(&b' ') {
            match self.plain_attribute(at + 1) {
                Some(end) => at = end,
                None => break,
            }
        }
        self.pos = at;
    }

    /// ` name="value"` from `start`: an ASCII name with no colon, `=`
    /// right after it, a value of plain characters; pushed, and where it
    /// ends returned. Anything else, and `xmlns`, which is no attribute, is
    /// left to `any_attribute` from `start`, with nothing changed: what
    /// this accepts, `any_attribute` reads the same way.
    #[inline(always)]
    fn plain_attribute(&mut self, start: usize) -> Option<usize> {
        let bytes = self.bytes;
        let name_end = run(&NAME_BYTE, bytes, start);
        let (Some(&first), Some(b'='), Some(&quote @ (b'"' | b'\''))) = (
            bytes.get(start),
            bytes.get(name_end),
            bytes.get(name_end + 1),
        ) else {
            return None;
        };
        let value_start = name_end + 2;
        let value_end = plain_value_end(bytes, value_start, quote);
        if !NAME_START_BYTE[usize::from(first)] || bytes.get(value_end) != Some(&quote) {
            return None;
        }
        let local = self.ascii_bounded(start, name_end);
        if local == "xmlns" {
            return None;
        }
        self.attributes.push(Attribute {
            name: QName { prefix: "", local },
            value: self.ascii_bounded(value_start, value_end),
            range: start..value_end + 1,
        });
        Some(value_end + 1)
    }

    fn any_attribute(&mut self, scope_start: usize) -> Scan {
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
        self.prefixed |= !name.prefix.is_empty();
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
    /// namespace and local name (quadratic, as in roxmltree). With no
    /// prefix on any attribute (`prefixed`), the namespaces are all none.
    pub(super) fn resolve(&self, element: QName<'t>, at: usize) -> Scan {
        let malformed = Err(Malformed { at });
        if !element.prefix.is_empty() && self.uri(element.prefix).is_none() {
            return malformed;
        }
        let attributes = &self.attributes[..];
        if !self.prefixed {
            let repeated = |index: usize| {
                let local = attributes[index].name.local;
                attributes[..index]
                    .iter()
                    .any(|other| same_name(other.name.local, local))
            };
            return match (1..attributes.len()).any(repeated) {
                true => malformed,
                false => Ok(()),
            };
        }
        for (index, attribute) in attributes.iter().enumerate() {
            let Some(namespace) = self.namespace(attribute) else {
                return malformed;
            };
            let same = |other: &Attribute| {
                same_name(other.name.local, attribute.name.local)
                    && self.namespace(other) == Some(namespace)
            };
            if attributes[..index].iter().any(same) {
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
}

/// Two names, compared first by what tells most of them apart without a
/// call to `memcmp`: the attributes of one tag nearly always differ there.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}
