//! What the rewrite does to each sample, as a reviewable diff: every
//! property alone, all three together, `guestnuma=N`, per-cell host nodes,
//! replaced pins, and each sample's refusals with their messages.

mod common;

use common::{diff, fake_host, run, run_on, sample, sample_names, HostCase, CASES, HOST_CASES};
use vdsm_hook_largeguest::splice::rewrite::{Outcome, Refusal};

fn report(input: &str, properties: &str) -> String {
    described(properties, input, run(input, properties))
}

fn described(properties: &str, input: &str, result: Result<Outcome, Refusal>) -> String {
    match result {
        Ok(outcome) => {
            let warnings: String = outcome
                .warnings
                .iter()
                .map(|w| format!("warning: {w}\n"))
                .collect();
            format!(
                "properties: {properties}\n{warnings}summary: {}\n\n{}",
                outcome.summary,
                diff(input, &outcome.text)
            )
        }
        Err(err) => format!("properties: {properties}\nrefused: {err}\n"),
    }
}

#[test]
fn snapshots_of_every_case() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for case in CASES {
            let input = sample(case.sample);
            let name = format!("{}__{}", case.sample, case.label);
            insta::assert_snapshot!(name, report(&input, case.properties));
        }
    });
}

#[test]
fn snapshots_on_fake_hosts() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for HostCase { tree, case } in HOST_CASES {
            let input = sample(case.sample);
            let name = format!("{}__{}", case.sample, case.label);
            let result = run_on(&input, case.properties, &fake_host(tree));
            let report = described(case.properties, &input, result);
            let text = format!("host: testdata/sysfs/{tree}\n{report}");
            insta::assert_snapshot!(name, text);
        }
    });
}

#[test]
fn every_sample_has_cases() {
    for name in sample_names() {
        let count = CASES.iter().filter(|c| c.sample == name).count();
        assert!(count >= 3, "testdata/{name}.xml has {count} snapshot cases");
    }
}
