//! The common shape of `cputune`, read without the full grammar.
//!
//! oVirt's CPU-pinning field and the tools that fill it write one vCPU per
//! entry, `0#0_1#1_...`, hundreds of entries on a large guest. The nom
//! grammar spends some 2,600 instructions on each (its combinators, a
//! located note point per term, a cpuset built term by term), a cost paid
//! on every VM start. This reads that one shape in a single pass.
//!
//! It only accepts: anything else (another character, a vCPU range, a
//! cpuset of several terms, an id above the highest, a reversed range, a
//! vCPU given twice, an overlong value) gives `None`, and the grammar reads
//! the value. So the grammar stays the one definition of what is accepted,
//! and every refusal, its message and its column come from it alone.

use crate::cpuset::CpuSet;
use crate::properties::problem::{Noun, MAX_VALUE_LEN};

use super::{CpuTune, VcpuPin};

// plain := pin (SEP pin)*
//   SEP as `sets::entries` chooses it: "_" when the value holds one, else
//   ","; a "," then ends a set only before an entry head, and here every
//   piece after one is a `pin`, so the grammar splits the value the same way
// pin := id "#" id ("-" id)?
//   the range low to high
// id := digit+
//   ASCII digits, at most the highest id
pub(super) fn parse(value: &str) -> Option<CpuTune> {
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let mut text = Text(value.as_bytes());
    let mut pins = Vec::with_capacity(value.len() / "0#0_".len() + 1);
    pins.push(text.pin()?);
    // Every separator must be the first one: a value read with `,` then
    // holds no `_`, so the grammar too splits it on `,`.
    if let Some(&separator @ (b'_' | b',')) = text.0.first() {
        while text.eat(separator) {
            pins.push(text.pin()?);
        }
    }
    if !text.0.is_empty() {
        return None;
    }
    // Values list their vCPUs in order; a sort is only paid when they do not.
    if !pins.is_sorted_by(|a, b| a.vcpu < b.vcpu) {
        pins.sort_unstable_by_key(|pin| pin.vcpu);
        if pins.windows(2).any(|pair| pair[0].vcpu == pair[1].vcpu) {
            return None;
        }
    }
    // Distinct vCPUs of one range each: at most 16384 ranges, far below
    // `MAX_PINNED_RANGES`, so that check cannot refuse what this accepts.
    Some(CpuTune { pins })
}

/// The bytes of the value not read yet. Bytes, not characters: every byte
/// this accepts is ASCII, and any other stops the reading.
struct Text<'a>(&'a [u8]);

impl Text<'_> {
    fn pin(&mut self) -> Option<VcpuPin> {
        let vcpu = self.id(Noun::Vcpu)?;
        if !self.eat(b'#') {
            return None;
        }
        let lo = self.id(Noun::Cpu)?;
        let hi = match self.eat(b'-') {
            true => self.id(Noun::Cpu)?,
            false => lo,
        };
        // A reversed range is the grammar's to refuse.
        if hi < lo {
            return None;
        }
        let cpuset = CpuSet::from_range(lo, hi);
        Some(VcpuPin { vcpu, cpuset })
    }

    /// An id, leading zeros allowed as the grammar allows them.
    fn id(&mut self, noun: Noun) -> Option<u32> {
        let mut digits = self.0.iter().take_while(|byte| byte.is_ascii_digit());
        let len = digits.clone().count();
        let id = digits.try_fold(0u32, |id, &byte| {
            let id = id.checked_mul(10)?.checked_add(u32::from(byte - b'0'))?;
            (id <= noun.max_id()).then_some(id)
        });
        self.0 = &self.0[len..];
        id.filter(|_| len > 0)
    }

    fn eat(&mut self, byte: u8) -> bool {
        let next = self.0.first() == Some(&byte);
        if next {
            self.0 = &self.0[1..];
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::problem::parse_value;

    /// What the full grammar makes of `value`.
    fn grammar(value: &str) -> Option<CpuTune> {
        parse_value(super::super::PROPERTY, value, super::super::cputune).ok()
    }

    fn read(value: &str) -> Option<String> {
        parse(value).map(|tune| tune.to_string())
    }

    #[test]
    fn reads_the_common_shapes() {
        assert_eq!(read("0#0_1#1_2#2").as_deref(), Some("0-2@0-2"));
        assert_eq!(read("1#5,0#4").as_deref(), Some("0#4,1#5"));
        assert_eq!(read("0#0-3_1#4-7").as_deref(), Some("0#0-3,1#4-7"));
        assert_eq!(read("007#16383").as_deref(), Some("7#16383"));
        assert_eq!(read("3#2-2").as_deref(), Some("3#2"));
    }

    #[test]
    fn leaves_everything_else_to_the_grammar() {
        for value in [
            "",
            "0#0-1^1",
            "0#0-1,^1",
            "0#0 _1#1",
            " 0#0",
            "0#0,1_1#2",
            "0#0,1,2#3",
            "0-3#0",
            "0@0",
            "0#16384",
            "16384#0",
            "0#99999999999999999999",
            "0#3-1",
            "0#0_0#1",
            "1#1_0#0_1#2",
            "0_1#1",
            "0#0_",
            "0#0__1#1",
            "#0",
            "0#",
            "0#-1",
            "0#1-",
            "0#1-2-3",
            "0##1",
            "0#0@1#1",
            "0#0#1#1",
            "0#0,1#1_2#2",
            "0#0_1#1,2#2",
            "0#٣",
            "+1#1",
        ] {
            assert_eq!(parse(value), None, "{value:?}");
        }
        let long: Vec<String> = (0..6000).map(|n| format!("{n:08}#{n}")).collect();
        let long = long.join("_");
        assert!(long.len() > MAX_VALUE_LEN);
        assert_eq!(parse(&long), None);
    }

    /// Every short value over the characters that matter: what this reads,
    /// the grammar reads the same.
    #[test]
    fn agrees_with_the_grammar() {
        const ALPHABET: &[u8] = b"01#-_,^9@";
        let mut accepted = 0;
        for len in 1..=6u32 {
            for mut index in 0..ALPHABET.len().pow(len) {
                let mut value = String::new();
                for _ in 0..len {
                    value.push(char::from(ALPHABET[index % ALPHABET.len()]));
                    index /= ALPHABET.len();
                }
                if let Some(tune) = parse(&value) {
                    assert_eq!(Some(tune), grammar(&value), "{value:?}");
                    accepted += 1;
                }
            }
        }
        assert!(accepted > 1000, "only {accepted} values read");
    }

    #[test]
    fn agrees_with_the_grammar_on_the_largest_values() {
        let value: Vec<String> = (0..4096).rev().map(|n| format!("{n}#{n}")).collect();
        let value = value.join("_");
        assert!(value.len() <= MAX_VALUE_LEN);
        let tune = parse(&value).expect("read");
        assert_eq!(tune.pins.len(), 4096);
        assert_eq!(Some(tune), grammar(&value));
    }
}
