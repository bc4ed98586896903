//! Attribute values read with libvirt's own C rules, so that the hook and
//! libvirt never see two different numbers or sets in the same text.

use crate::cpuset::CpuSet;

/// The bits a domain node set or CPU set may name (`VIR_DOMAIN_CPUMASK_LEN`).
pub(crate) const BITMAP_SIZE: u32 = 16384;

/// The number base `strtoul` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// Base 10.
    Decimal,
    /// Base 0: `0x` hex, a leading `0` octal, else decimal.
    C,
}

/// C's `isspace` in the "C" locale, what `strtoul` and `virSkipSpaces` skip.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// An unsigned int as libvirt's `virStrToLong_uip` reads it (what
/// `virXMLPropUInt` calls): `strtoul` in `base` after leading white space
/// and one `+`, no minus sign, every character used, at most `UINT_MAX`.
pub(crate) fn c_unsigned(text: &str, base: Base) -> Option<u32> {
    let rest = text.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
    let rest = rest.strip_prefix('+').unwrap_or(rest);
    let (radix, digits) = match base {
        Base::Decimal => (10, rest),
        Base::C => match rest.as_bytes() {
            // strtoul takes "0x" as a prefix only when a hex digit follows;
            // "0x" alone is the number 0 and an "x" left over.
            [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &rest[2..]),
            [b'0', _, ..] => (8, &rest[1..]),
            _ => (10, rest),
        },
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// A set of ids as libvirt's `virBitmapParse` reads it: terms `N`, `N-M`
/// and `^N` separated by `,`, white space around any of them, a trailing
/// comma, each `^N` removing from what the terms before it built, every id
/// below `size`. `None` where libvirt reports "Failed to parse bitmap".
pub(crate) fn libvirt_bitmap(text: &str, size: u32) -> Option<CpuSet> {
    let mut set = CpuSet::new();
    let mut rest = skip_spaces(text);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let negated = rest.starts_with('^');
        if negated {
            rest = &rest[1..];
        }
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let (start, after) = c_int(rest)?;
        rest = skip_spaces(after);
        if let Some(after_dash) = rest.strip_prefix('-') {
            if negated {
                return None;
            }
            let (last, after) = c_int(skip_spaces(after_dash))?;
            if last < start || last >= i64::from(size) {
                return None;
            }
            set.insert_range(start as u32, last as u32);
            rest = skip_spaces(after);
        } else if start >= i64::from(size) {
            return None;
        } else if negated {
            set.remove(start as u32);
        } else {
            set.insert(start as u32);
        }
        match rest.strip_prefix(',') {
            Some(after) => rest = skip_spaces(after),
            None if rest.is_empty() => break,
            None => return None,
        }
    }
    Some(set)
}

fn skip_spaces(text: &str) -> &str {
    text.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

/// `virStrToLong_i` in base 10 with an end pointer: the number and what
/// follows it; `None` past an int or where no digit follows the sign.
fn c_int(text: &str) -> Option<(i64, &str)> {
    let body = skip_spaces(text);
    let (sign, body) = match body.as_bytes().first() {
        Some(b'-') => (-1, &body[1..]),
        Some(b'+') => (1, &body[1..]),
        _ => (1, body),
    };
    let end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    if end == 0 {
        return None;
    }
    let value: i64 = body[..end].parse().ok()?;
    let value = sign * value;
    i32::try_from(value).ok()?;
    Some((value, &body[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Option<String> {
        libvirt_bitmap(text, BITMAP_SIZE).map(|s| s.to_string())
    }

    #[test]
    fn numbers_follow_strtoul_in_the_base_given() {
        assert_eq!(c_unsigned("0x3b", Base::C), Some(0x3b));
        assert_eq!(c_unsigned("0X3B", Base::C), Some(0x3b));
        assert_eq!(c_unsigned("010", Base::C), Some(8));
        assert_eq!(c_unsigned("59", Base::C), Some(59));
        assert_eq!(c_unsigned("0", Base::C), Some(0));
        assert_eq!(c_unsigned(" +0x1", Base::C), Some(1));
        assert_eq!(c_unsigned("08", Base::C), None);
        assert_eq!(c_unsigned("0x", Base::C), None);
        assert_eq!(c_unsigned("0x1 ", Base::C), None);
        assert_eq!(c_unsigned("-1", Base::C), None);
        assert_eq!(c_unsigned("", Base::C), None);
        assert_eq!(c_unsigned("010", Base::Decimal), Some(10));
        assert_eq!(c_unsigned("4294967295", Base::Decimal), Some(u32::MAX));
        assert_eq!(c_unsigned("4294967296", Base::Decimal), None);
        assert_eq!(c_unsigned("0x10", Base::Decimal), None);
    }

    #[test]
    fn sets_follow_vir_bitmap_parse() {
        assert_eq!(set("0-3"), Some("0-3".into()));
        assert_eq!(set("0-1, 2-3"), Some("0-3".into()));
        assert_eq!(set(" 0 - 3 ,^2 "), Some("0-1,3".into()));
        assert_eq!(set("^2,0-3"), Some("0-3".into()));
        assert_eq!(set("0,"), Some("0".into()));
        assert_eq!(set("0,^0"), Some("".into()));
        assert_eq!(set("0-16383"), Some("0-16383".into()));
        assert_eq!(set("16384"), None);
        assert_eq!(set("3-1"), None);
        assert_eq!(set("^1-2"), None);
        assert_eq!(set(""), None);
        assert_eq!(set(" "), None);
        assert_eq!(set(",1"), None);
        assert_eq!(set("1,,2"), None);
        assert_eq!(set("1;2"), None);
        assert_eq!(set("+1"), None);
        assert_eq!(set("1-+3"), Some("1-3".into()));
    }
}
