//! `emulatorpin`: the host CPUs QEMU's emulator threads (the main loop,
//! its workers) may run on, as one cpuset: `0-1`, `0,48`.
//!
//! The RHEL tuning guide sets it beside the vCPU pins and the memory policy:
//! left floating, the emulator shares the pinned vCPUs' CPUs and steals
//! their time at the worst moments.

use crate::cpuset::CpuSet;
use nom::sequence::terminated;
use nom::Parser;

use crate::properties::problem::{end, expect, parse_value, Notes, Noun, PResult, PropertyError};
use crate::properties::sets::{self, SetEnd};

pub const PROPERTY: &str = "emulatorpin";

pub fn parse(value: &str) -> Result<CpuSet, PropertyError> {
    parse_value(PROPERTY, value, emulatorpin)
}

// emulatorpin := set EOF
fn emulatorpin<'a>(input: &'a str, notes: &Notes<'a>) -> PResult<'a, CpuSet> {
    let cpus = expect(
        sets::set(Noun::Cpu, SetEnd::AtAnyOtherCharacter, notes),
        || "a CPU number",
    );
    terminated(cpus, end("',' and another CPU")).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpuset_in_canonical_form() {
        assert_eq!(parse("0-3,^2").unwrap().to_string(), "0-1,3");
        assert_eq!(parse("48,0").unwrap().to_string(), "0,48");
    }

    #[test]
    fn anything_else_names_the_column() {
        let err = parse("0-1#2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "emulatorpin: expected ',' and another CPU or the end of the value at column 4 in '0-1#2'"
        );
        assert_eq!(parse("").unwrap_err().column, 1);
        assert_eq!(parse("3-1").unwrap_err().column, 1);
    }
}
