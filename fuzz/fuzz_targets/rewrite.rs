//! The whole domain edit on any document and any property values.
//!
//! Input: three lines (cputune, numatune, guestnuma; an empty line leaves
//! that property out), then the domain XML. Checked here, not just "no
//! panic": a success is well-formed and a fixed point (a second run with
//! the same values changes nothing), host limits can refuse but never alter
//! the result, and every refusal is one line. `rewrite` only borrows the
//! text, so a refusal cannot have touched it; the executable writes only
//! after an `Ok` (tests/hostile.rs checks the file side).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::domain::{self, DomainError};
use vdsm_hook_largeguest::rewrite::{rewrite, Request};
use vdsm_hook_largeguest::topology::HostLimits;
use vdsm_hook_largeguest::{cputune, guestnuma, numatune};

use vdsm_hook_largeguest_fuzz as common;

/// Absent for an empty line; a refused value ends the run as the hook would.
fn property<T, E: ToString>(line: &str, parse: impl Fn(&str) -> Result<T, E>) -> Option<Option<T>> {
    if line.is_empty() {
        return Some(None);
    }
    match parse(line) {
        Ok(value) => Some(Some(value)),
        Err(err) => {
            common::refused(&err.to_string());
            None
        }
    }
}

fn request(lines: [&str; 3]) -> Option<Request> {
    Some(Request {
        cputune: property(lines[0], cputune::parse)?,
        numatune: property(lines[1], numatune::parse)?,
        guestnuma: property(lines[2], guestnuma::parse)?,
    })
}

fn host() -> HostLimits {
    HostLimits {
        online_cpus: CpuSet::from_range(0, 63),
        memory_nodes: CpuSet::from_range(0, 3),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.splitn(4, '\n');
    let lines = [(); 3].map(|()| parts.next().unwrap_or(""));
    let xml = parts.next().unwrap_or("");
    let Some(request) = request(lines) else {
        return;
    };
    let first = match rewrite(xml, &request, None) {
        Ok(outcome) => outcome,
        Err(err) => {
            common::refused(&err.to_string());
            return;
        }
    };
    assert!(!first.summary.contains(['\n', '\r']), "{:?}", first.summary);
    if let Err(err) = domain::parse(&first.text) {
        panic!("output is not well-formed: {err}\n{}", first.text);
    }
    match rewrite(&first.text, &request, None) {
        Ok(second) => assert!(
            second.text == first.text,
            "second run changed the document\n--- first\n{}\n--- second\n{}",
            first.text,
            second.text
        ),
        Err(err) => panic!("second run refused its own output: {err}\n{}", first.text),
    }
    match rewrite(xml, &request, Some(&host())) {
        Ok(checked) => assert_eq!(checked, first, "host limits changed the edit"),
        Err(DomainError::CpusNotOnline { .. } | DomainError::NodesWithoutMemory { .. }) => {}
        Err(other) => panic!("host limits gave an unexpected refusal: {other}"),
    }
});
