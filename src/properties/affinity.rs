//! `pci_numa_affinity`: what the hook does when a passthrough PCI device
//! sits on a host node the guest's memory is not bound to. The words and
//! their meaning follow Nova's PCI NUMA affinity policy.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::combinator::{all_consuming, value};
use nom::Parser;

use crate::properties::problem::{expect, parse_value, Notes, PResult, PropertyError};

pub const PROPERTY: &str = "pci_numa_affinity";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PciNumaAffinity {
    /// Refuse the start.
    Required,
    /// Say so on stderr and start.
    #[default]
    Preferred,
}

impl PciNumaAffinity {
    pub const ALL: [PciNumaAffinity; 2] = [PciNumaAffinity::Required, PciNumaAffinity::Preferred];

    pub fn as_str(self) -> &'static str {
        match self {
            PciNumaAffinity::Required => "required",
            PciNumaAffinity::Preferred => "preferred",
        }
    }
}

impl fmt::Display for PciNumaAffinity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub fn parse(value: &str) -> Result<PciNumaAffinity, PropertyError> {
    parse_value(PROPERTY, value, affinity)
}

// affinity := ("required" | "preferred") EOF
// A single word has no parts to point into: any misfit is refused as a whole.
fn affinity<'a>(input: &'a str, _: &Notes<'a>) -> PResult<'a, PciNumaAffinity> {
    let required = value(PciNumaAffinity::Required, tag("required"));
    let preferred = value(PciNumaAffinity::Preferred, tag("preferred"));
    let what = || "required (refuse the start) or preferred (warn and start)";
    expect(all_consuming(alt((required, preferred))), what).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_words_and_nothing_else() {
        assert_eq!(parse("required"), Ok(PciNumaAffinity::Required));
        assert_eq!(parse("preferred"), Ok(PciNumaAffinity::Preferred));
        for bad in ["", "Required", "legacy", "required ", "prefer"] {
            assert_eq!(parse(bad).unwrap_err().column, 1, "{bad:?}");
        }
    }
}
