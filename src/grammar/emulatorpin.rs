//! `emulatorpin`: the host CPUs QEMU's emulator threads (the main loop,
//! its workers) may run on, as one cpuset: `0-1`, `0,48`.
//!
//! The RHEL tuning guide sets it beside the vCPU pins and the memory policy:
//! left floating, the emulator shares the pinned vCPUs' CPUs and steals
//! their time at the worst moments.

use crate::cpuset::CpuSet;
use crate::grammar::problem::{
    end, fail, parse_value, Notes, Noun, PResult, Problem, PropertyError,
};
use crate::grammar::sets::{self, SetEnd};

pub const PROPERTY: &str = "emulatorpin";

pub fn parse(value: &str) -> Result<CpuSet, PropertyError> {
    parse_value(PROPERTY, value, emulatorpin)
}

fn emulatorpin<'a>(input: &'a str, notes: &mut Notes<'a>) -> PResult<'a, CpuSet> {
    if !input.starts_with(|c: char| c.is_ascii_digit() || c == '^') {
        return fail(input, Problem::expected("a CPU number"));
    }
    let (rest, cpus) = sets::set(input, Noun::Cpu, SetEnd::AtAnyOtherCharacter, notes)?;
    end(rest, "',' and another CPU")?;
    Ok((rest, cpus))
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
            "emulatorpin: expected ',' and another CPU or the end of the value at column 4 in \"0-1#2\""
        );
        assert_eq!(parse("").unwrap_err().column, 1);
        assert_eq!(parse("3-1").unwrap_err().column, 1);
    }
}
