//! The characters XML allows where: the byte tables the scan runs over
//! and the rules of XML 1.0 for names, references and values.

use std::borrow::Cow;

/// Whether `part` starts with a character a name may start with.
pub(super) fn starts_name(part: &str) -> bool {
    match part.as_bytes().first() {
        Some(&byte) if byte < 0x80 => NAME_START_BYTE[usize::from(byte)],
        Some(_) => part.chars().next().is_some_and(is_name_start),
        None => false,
    }
}

/// Where the run of bytes `table` admits, from `at`, ends.
#[inline(always)]
pub(super) fn run(table: &[bool; 256], bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        if !table[usize::from(byte)] {
            break;
        }
        at += 1;
    }
    at
}

/// A control character XML does not allow.
pub(super) fn is_control(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')
}

/// U+FFFE or U+FFFF, the two non-characters of the BMP XML excludes.
pub(super) fn is_non_character(bytes: &[u8]) -> bool {
    matches!(bytes, [0xEF, 0xBF, 0xBE | 0xBF, ..])
}

/// What a character reference may name: roxmltree reads a number that is
/// no character (a surrogate, past U+10FFFF) as U+FFFD, which is allowed.
pub(super) fn is_referable(code: u32) -> bool {
    match code {
        0x9 | 0xA | 0xD => true,
        0..0x20 | 0xFFFE | 0xFFFF => false,
        _ => true,
    }
}

/// An attribute value as roxmltree normalizes it (XML 1.0, 3.3.3), enough
/// to compare a namespace URI: references resolved, white space made
/// spaces, CR LF made one.
pub(super) fn normalized(value: &str) -> Cow<'_, str> {
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
pub(super) fn resolve_reference(name: &str) -> char {
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
pub(super) fn first_non_xml_char(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&at| is_control(bytes[at]) || is_non_character(&bytes[at..]))
}

/// The bytes listed and those in the ranges.
pub(super) const fn byte_table(bytes: &[u8], ranges: &[(u8, u8)]) -> [bool; 256] {
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
pub(super) const fn plain_but(stops: &[u8]) -> [bool; 256] {
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
pub(super) const NAME_BYTE: [bool; 256] =
    byte_table(b"_-.", &[(b'A', b'Z'), (b'a', b'z'), (b'0', b'9')]);

/// ASCII characters a name starts with (the colon is split at).
pub(super) const NAME_START_BYTE: [bool; 256] = byte_table(b"_", &[(b'A', b'Z'), (b'a', b'z')]);

pub(super) const SPACE: [bool; 256] = byte_table(b" \t\n\r", &[]);

/// The bytes a run of text or of an attribute value goes over without a
/// look: `table` for every byte, and its four `stops` (repeated when there
/// are fewer) for the sixteen-byte steps over ASCII.
pub(super) struct Plain {
    pub table: [bool; 256],
    stops: [u8; 4],
}

impl Plain {
    const fn but(stops: [u8; 4]) -> Plain {
        Plain {
            table: plain_but(&stops),
            stops,
        }
    }

    /// Where the run from `at` ends: the bulk of a megabyte document is
    /// attribute values and indentation, so ASCII goes sixteen bytes a step
    /// and the table decides only from the first byte that is not.
    #[inline(always)]
    pub(super) fn run(&self, bytes: &[u8], at: usize) -> usize {
        run(&self.table, bytes, ascii_run(bytes, at, self.stops))
    }
}

/// Bytes text runs over: not a tag, a reference, or a `>` that may end a
/// forbidden `]]>`.
pub(super) const PLAIN_TEXT: Plain = Plain::but(*b"<&>>");

/// Bytes an attribute value runs over: not a quote, `<` or a reference.
pub(super) const PLAIN_VALUE: Plain = Plain::but(*b"\"'<&");

/// Where the run from `at` of printable ASCII, tabs, line feeds and
/// carriage returns that are none of `stops` ends, or earlier: every byte
/// it passes is one `plain_but(stops)` admits, so the table goes on from
/// there exactly as it would have from `at`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn ascii_run(bytes: &[u8], mut at: usize, stops: [u8; 4]) -> usize {
    use std::arch::x86_64::{
        _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };
    while let Some(chunk) = bytes.get(at..at + 16) {
        // SAFETY: `chunk` is sixteen readable bytes, which is all the
        // unaligned load reads; SSE2 is part of every x86_64.
        let mask = unsafe {
            let splat = |byte: u8| _mm_set1_epi8(i8::from_ne_bytes([byte]));
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            let is = |byte: u8| _mm_cmpeq_epi8(v, splat(byte));
            // Signed, 0x20..=0x7F is above 0x1F and every byte from 0x80 below.
            let printable = _mm_cmpgt_epi8(v, splat(0x1f));
            let space = _mm_or_si128(_mm_or_si128(is(b'\t'), is(b'\n')), is(b'\r'));
            let stop = _mm_or_si128(
                _mm_or_si128(is(stops[0]), is(stops[1])),
                _mm_or_si128(is(stops[2]), is(stops[3])),
            );
            let plain = _mm_andnot_si128(stop, _mm_or_si128(printable, space));
            _mm_movemask_epi8(plain).cast_unsigned()
        };
        if mask != 0xFFFF {
            return at + (!mask).trailing_zeros() as usize;
        }
        at += 16;
    }
    at
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn ascii_run(_: &[u8], at: usize, _: [u8; 4]) -> usize {
    at
}

/// Where a value from `at` closed by `quote` stops being one the short
/// path reads: at its closing quote, or earlier at the first byte that is
/// not printable ASCII, a `<` or a reference. The other quote goes by, as
/// it does in the full reading. Three comparisons a step instead of the
/// eight of `PLAIN_VALUE`: a value has no line ends to go over.
#[inline(always)]
pub(super) fn plain_value_end(bytes: &[u8], mut at: usize, quote: u8) -> usize {
    let stops =
        |byte: u8| byte == quote || matches!(byte, b'<' | b'&') || !(0x20..0x80).contains(&byte);
    at = value_steps(bytes, at, quote);
    while let Some(&byte) = bytes.get(at) {
        if stops(byte) {
            break;
        }
        at += 1;
    }
    at
}

/// Sixteen bytes a step of `plain_value_end`, until a step holds a stop.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn value_steps(bytes: &[u8], mut at: usize, quote: u8) -> usize {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    while let Some(chunk) = bytes.get(at..at + 16) {
        // SAFETY: `chunk` is sixteen readable bytes, which is all the
        // unaligned load reads; SSE2 is part of every x86_64.
        let mask = unsafe {
            let splat = |byte: u8| _mm_set1_epi8(i8::from_ne_bytes([byte]));
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            let is = |byte: u8| _mm_cmpeq_epi8(v, splat(byte));
            // Signed, below 0x20 are the control characters and every byte
            // from 0x80.
            let unprintable = _mm_cmpgt_epi8(splat(0x20), v);
            let stop = _mm_or_si128(
                _mm_or_si128(is(quote), is(b'<')),
                _mm_or_si128(is(b'&'), unprintable),
            );
            _mm_movemask_epi8(stop)
        };
        if mask != 0 {
            return at + mask.trailing_zeros() as usize;
        }
        at += 16;
    }
    at
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn value_steps(_: &[u8], at: usize, _: u8) -> usize {
    at
}

/// Where the white space from `at` ends, if a `<` ends it within sixteen
/// bytes: the indentation between the tags of a domain XML, which is most
/// of its text, read without the checks other text needs.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn white_space_to_tag(bytes: &[u8], at: usize) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let chunk = bytes.get(at..at + 16)?;
    // SAFETY: `chunk` is sixteen readable bytes, which is all the unaligned
    // load reads; SSE2 is part of every x86_64.
    let mask = unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let is = |byte: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(i8::from_ne_bytes([byte])));
        let space = _mm_or_si128(
            _mm_or_si128(is(b' '), is(b'\n')),
            _mm_or_si128(is(b'\t'), is(b'\r')),
        );
        _mm_movemask_epi8(space)
    };
    let end = (!mask).trailing_zeros() as usize;
    (chunk.get(end) == Some(&b'<')).then_some(at + end)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(super) fn white_space_to_tag(_: &[u8], _: usize) -> Option<usize> {
    None
}

/// Whether the `len` bytes at `a` and at `b` are the same: an end tag
/// repeating the name of its start tag. Names of up to sixteen bytes are
/// compared in one step, without a call to `memcmp`.
#[inline(always)]
pub(super) fn same_bytes(bytes: &[u8], a: usize, b: usize, len: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let (true, Some(x), Some(y)) = (len <= 16, bytes.get(a..a + 16), bytes.get(b..b + 16)) {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
        // SAFETY: `x` and `y` are sixteen readable bytes each, which is all
        // the unaligned loads read; SSE2 is part of every x86_64.
        let equal = unsafe {
            let (x, y) = (
                _mm_loadu_si128(x.as_ptr().cast()),
                _mm_loadu_si128(y.as_ptr().cast()),
            );
            _mm_movemask_epi8(_mm_cmpeq_epi8(x, y)).cast_unsigned()
        };
        let wanted = (1u32 << len) - 1;
        return equal & wanted == wanted;
    }
    bytes
        .get(a..a + len)
        .is_some_and(|x| bytes.get(b..b + len) == Some(x))
}

/// XML 1.0's NameStartChar.
pub(super) fn is_name_start(c: char) -> bool {
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
pub(super) fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{b7}' | '\u{300}'..='\u{36f}' | '\u{203f}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every place of a run longer than two steps,
    /// after plain ASCII and after a multibyte character: the sixteen-byte
    /// steps end where the table alone ends.
    #[test]
    fn plain_runs_end_where_the_table_ends() {
        for plain in [&PLAIN_TEXT, &PLAIN_VALUE] {
            for lead in ["", "é"] {
                for place in 0..40 {
                    for byte in 0..=255u8 {
                        let mut bytes = format!("{lead}{}", "a".repeat(40)).into_bytes();
                        bytes.insert(lead.len() + place, byte);
                        for from in [0, 1, lead.len()] {
                            let alone = run(&plain.table, &bytes, from);
                            assert_eq!(plain.run(&bytes, from), alone, "{byte:#x} at {place}");
                        }
                    }
                }
            }
        }
    }

    /// Every byte value at every place of a value longer than two steps,
    /// closed by either quote: the sixteen-byte steps stop where a look at
    /// each byte stops, and never past a byte `PLAIN_VALUE` refuses but
    /// the other quote.
    #[test]
    fn plain_values_end_where_a_byte_by_byte_look_ends() {
        for quote in [b'"', b'\''] {
            for place in 0..40 {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; 40];
                    bytes.insert(place, byte);
                    let plain = |b: u8| {
                        (0x20..0x80).contains(&b) && !matches!(b, b'<' | b'&') && b != quote
                    };
                    let by_byte = bytes.iter().position(|&b| !plain(b)).unwrap_or(bytes.len());
                    assert_eq!(
                        plain_value_end(&bytes, 0, quote),
                        by_byte,
                        "{byte:#x} at {place}"
                    );
                    let other = b'"' + b'\'' - quote;
                    let admitted = |b: &u8| PLAIN_VALUE.table[usize::from(*b)] || *b == other;
                    assert!(bytes[..by_byte].iter().all(admitted));
                }
            }
        }
    }

    /// Every pair of places and lengths up to past a step: the one-step
    /// comparison says what comparing the slices says.
    #[test]
    fn same_bytes_compares_as_slices_do() {
        let bytes = b"abcdefghijklmnopqrstabcdefghijklmnopqrsXabcdefghij";
        for a in 0..bytes.len() {
            for b in 0..bytes.len() {
                for len in 0..=20 {
                    let slices = bytes
                        .get(a..a + len)
                        .is_some_and(|x| bytes.get(b..b + len) == Some(x));
                    assert_eq!(same_bytes(bytes, a, b, len), slices, "{a} {b} {len}");
                }
            }
        }
    }

    /// Every byte value at every place of a run of white space: the short
    /// path ends at a `<` only when the white space alone leads to it.
    #[test]
    fn white_space_ends_at_a_tag_or_not_at_all() {
        for place in 0..20 {
            for byte in 0..=255u8 {
                let mut bytes = b" \n\t\r".repeat(5);
                bytes.insert(place, byte);
                let first = bytes.iter().position(|b| !b" \n\t\r".contains(b));
                let expected = first.filter(|&at| at < 16 && bytes[at] == b'<');
                if cfg!(target_arch = "x86_64") {
                    assert_eq!(
                        white_space_to_tag(&bytes, 0),
                        expected,
                        "{byte:#x} at {place}"
                    );
                }
                assert!(white_space_to_tag(&bytes, 0).is_none_or(|at| Some(at) == expected));
            }
        }
    }
}
