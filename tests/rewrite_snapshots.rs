//! What the rewrite does to each sample, as a reviewable diff: every
//! property alone, all three together, `guestnuma=N`, per-cell host nodes,
//! replaced pins, and each sample's refusals with their messages.

mod common;

use common::{diff, run, sample, sample_names, CASES};

fn report(input: &str, properties: &str) -> String {
    match run(input, properties) {
        Ok(outcome) => {
            let warnings: String = outcome
                .warnings
                .iter()
                .map(|warning| format!("warning: {warning}\n"))
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
fn every_sample_has_cases() {
    for name in sample_names() {
        let count = CASES.iter().filter(|c| c.sample == name).count();
        assert!(count >= 3, "testdata/{name}.xml has {count} snapshot cases");
    }
}
