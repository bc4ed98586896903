//! The whole domain edit on any document and any property values.
//!
//! Input: three lines (cputune, numatune, guestnuma; an empty line leaves
//! that property out), then the domain XML. Checked here, not just "no
//! panic": the tree the hook reads the document through agrees with a
//! whole parse (`agreement::disagreement`), a success is well-formed (by a
//! whole parse, not the output check) and a fixed point (a second run with
//! the same values changes nothing), host limits can refuse but never
//! alter the result, and every refusal is one line. `rewrite` only borrows
//! the text, so a refusal cannot have touched it; the executable writes
//! only after an `Ok` (tests/it/hostile.rs checks the file side).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::domain::document::parse_whole;
use vdsm_hook_largeguest_fuzz::agreement::disagreement;
use vdsm_hook_largeguest::host::topology::HostLimits;
use vdsm_hook_largeguest::plan::refusal::Refusal;
use vdsm_hook_largeguest::properties::{Property, Request};
use vdsm_hook_largeguest::commands::rewrite::{rewrite, RewriteError};

use vdsm_hook_largeguest_fuzz as common;

/// The three lines name cputune, numatune and guestnuma in that order; an
/// empty line leaves that property out, a refused value ends the run as the
/// hook would.
fn request(lines: [&str; 3]) -> Option<Request> {
    let properties = [Property::CpuTune, Property::NumaTune, Property::GuestNuma];
    let mut request = Request::default();
    for (property, line) in properties.into_iter().zip(lines) {
        if line.is_empty() {
            continue;
        }
        if let Err(err) = request.read(property, line) {
            common::refused(&err.to_string());
            return None;
        }
    }
    Some(request)
}

fn host() -> HostLimits {
    HostLimits {
        online_cpus: CpuSet::from_range(0, 63),
        memory_nodes: CpuSet::from_range(0, 3),
        kernel: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.splitn(4, '\n');
    let lines = [(); 3].map(|()| parts.next().unwrap_or(""));
    let xml = parts.next().unwrap_or("");
    if let Some(why) = disagreement(xml) {
        panic!("the pruned tree and the whole tree disagree: {why}\n{xml:?}");
    }
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
    if let Err(err) = parse_whole(&first.text()) {
        panic!("output is not well-formed: {err}\n{}", first.text());
    }
    match rewrite(&first.text(), &request, None) {
        Ok(second) => assert!(
            second.text() == first.text(),
            "second run changed the document\n--- first\n{}\n--- second\n{}",
            first.text(),
            second.text()
        ),
        Err(err) => panic!("second run refused its own output: {err}\n{}", first.text()),
    }
    match rewrite(xml, &request, Some(&host())) {
        Ok(checked) => assert_eq!(checked, first, "host limits changed the edit"),
        Err(RewriteError::Refused(Refusal::CpusNotOnline { .. } | Refusal::NodesWithoutMemory { .. })) => {}
        Err(other) => panic!("host limits gave an unexpected refusal: {other}"),
    }
});
