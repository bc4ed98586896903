//! Names: element and attribute names split at their colon as roxmltree
//! splits them, PI targets, and the cut of what the scan has read as
//! ASCII, which every name and plain value of a domain XML is.

use super::chars::{is_name_char, is_name_start, run, starts_name, NAME_BYTE, NAME_START_BYTE};
use super::{Malformed, QName, Scan, Scanner, Visitor};

impl<'t> QName<'t> {
    /// A name `qname` has read, split again.
    pub(super) fn split(written: &'t str) -> Self {
        match written.split_once(':') {
            Some((prefix, local)) => QName { prefix, local },
            None => QName {
                prefix: "",
                local: written,
            },
        }
    }
}

impl<'t, V: Visitor<'t>> Scanner<'t, '_, V> {
    /// `text[start..end]` where the scan has just read the bytes at
    /// `start` and `end` as ASCII (or `end` is the end of the text), so
    /// both are character boundaries. The checked slice looked at both
    /// bytes again, for each of the 45 000 names and 27 000 values of a
    /// megabyte domain XML.
    #[inline(always)]
    pub(super) fn ascii_bounded(&self, start: usize, end: usize) -> &'t str {
        debug_assert!(start <= end && end <= self.text.len());
        debug_assert!(self.text.is_char_boundary(start) && self.text.is_char_boundary(end));
        // SAFETY: the callers pass `start <= end <= text.len()`, and
        // positions of ASCII bytes or of the end of a `str`, which are
        // character boundaries.
        unsafe { self.text.get_unchecked(start..end) }
    }

    /// A name where colons are name characters (PI targets).
    pub(super) fn name(&mut self) -> Scan<&'t str> {
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
    pub(super) fn qname(&mut self) -> Scan<QName<'t>> {
        let start = self.pos;
        let end = run(&NAME_BYTE, self.bytes, start);
        match self.bytes.get(end) {
            Some(&byte) if byte == b':' || byte >= 0x80 => self.qname_beyond_ascii(start, end),
            _ if end > start && NAME_START_BYTE[usize::from(self.bytes[start])] => {
                self.pos = end;
                Ok(QName {
                    prefix: "",
                    local: self.ascii_bounded(start, end),
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
