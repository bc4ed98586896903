//! What the rewrite does to each sample, as a reviewable diff: every
//! property alone, all three together, `guestnuma=N`, per-cell host nodes,
//! replaced pins, and each sample's refusals with their messages.

use crate::support::samples::{diff, fake_host, run, run_on, sample, sample_names, CASES};
use vdsm_hook_largeguest::commands::rewrite::{Outcome, RewriteError};

fn report(input: &str, properties: &str) -> String {
    described(properties, input, run(input, properties))
}

fn described(properties: &str, input: &str, result: Result<Outcome, RewriteError>) -> String {
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
                diff(input, &outcome.text())
            )
        }
        Err(err) => format!("properties: {properties}\nrefused: {err}\n"),
    }
}

/// What the rewrite does to a sample, run without host checks.
fn case_report(sample_name: &str, properties: &str) -> String {
    report(&sample(sample_name), properties)
}

/// What the rewrite does to a sample on the fake host `testdata/sysfs/TREE`.
fn host_report(tree: &str, sample_name: &str, properties: &str) -> String {
    let input = sample(sample_name);
    let result = run_on(&input, properties, &fake_host(tree));
    let report = described(properties, &input, result);
    format!("host: testdata/sysfs/{tree}\n{report}")
}

/// One test per case, each in a module named after its sample (and its
/// host), so that one mismatch hides no other and the snapshot's name is
/// the test's: `it__rewrite_snapshots__SAMPLE__LABEL.snap`.
macro_rules! snapshot_tests {
    (
        without_host {
            $($module:ident $sample:literal { $($label:ident: $properties:literal,)* })*
        }
        on_fake_host {
            $($tree:ident $tree_name:literal {
                $($host_module:ident $host_sample:literal {
                    $($host_label:ident: $host_properties:literal,)*
                })*
            })*
        }
    ) => {
        $(mod $module {
            $(#[test]
            fn $label() {
                let report = super::case_report($sample, $properties);
                insta::assert_snapshot!(report);
            })*
        })*
        $(mod $tree {
            $(mod $host_module {
                $(#[test]
                fn $host_label() {
                    let report = super::super::host_report($tree_name, $host_sample, $host_properties);
                    insta::assert_snapshot!(report);
                })*
            })*
        })*
    };
}

rewrite_cases!(snapshot_tests);

#[test]
fn every_sample_has_cases() {
    for name in sample_names() {
        let count = CASES.iter().filter(|c| c.sample == name).count();
        assert!(count >= 3, "testdata/{name}.xml has {count} snapshot cases");
    }
}
