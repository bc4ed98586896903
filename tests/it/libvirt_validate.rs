//! libvirt's own judgement of what the rewrite writes: whatever libvirt
//! accepted before the hook ran, it must accept after. `virt-xml-validate`
//! checks the schema; `virsh -c test:///default define` runs libvirt's real
//! parser with no daemon. The tests need the tools (package libvirt-clients,
//! whose virt-xml-validate needs xmllint), so they run only when asked for
//! (`--include-ignored`, as tests/run-all.sh does after installing them),
//! and fail without them rather than pass having checked nothing.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::samples::{corpus_files, run, sample, sample_path, standard_properties, CASES};
use crate::support::TempDir;

/// What libvirt says of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    /// `None` when valid, else what the tool said.
    schema: Option<String>,
    define: Option<String>,
}

fn tool_missing() -> Option<String> {
    let missing: Vec<&str> = ["virt-xml-validate", "virsh", "xmllint"]
        .into_iter()
        .filter(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |out| !out.status.success())
        })
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

fn failure(command: &mut Command) -> Option<String> {
    let out = command.output().expect("run a libvirt tool");
    match out.status.success() {
        true => None,
        false => Some(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn verdict(path: &Path) -> Verdict {
    Verdict {
        schema: failure(Command::new("virt-xml-validate").arg(path).arg("domain")),
        define: failure(
            Command::new("virsh")
                .args(["-q", "-c", "test:///default", "define"])
                .arg(path),
        ),
    }
}

/// Every way the output lost what the input had, one line each.
fn regressions(label: &str, before: &Verdict, after: &Verdict) -> Vec<String> {
    let mut lost = Vec::new();
    if let (None, Some(why)) = (&before.schema, &after.schema) {
        lost.push(format!("{label}: no longer validates: {}", why.trim()));
    }
    if let (None, Some(why)) = (&before.define, &after.define) {
        lost.push(format!("{label}: no longer defines: {}", why.trim()));
    }
    lost
}

/// Checks `output` against what libvirt said of `input`.
fn check(dir: &Path, label: &str, input_verdict: &Verdict, output: &str) -> Vec<String> {
    let path = dir.join(format!("{}.xml", label.replace(['/', ' '], "_")));
    fs::write(&path, output).expect("write the output");
    regressions(label, input_verdict, &verdict(&path))
}

fn needs_the_tools() {
    if let Some(missing) = tool_missing() {
        panic!("{missing} missing: install libvirt-clients and libxml2-utils");
    }
}

/// The check is only worth something if the tools do say no.
#[test]
#[ignore = "needs virt-xml-validate, virsh (libvirt-clients) and xmllint"]
fn libvirt_rejects_a_broken_numatune() {
    needs_the_tools();
    let dir = TempDir::new("libvirt-validate");
    let good = sample("crlf");
    let bad = good.replace("mode='strict'", "mode='bogus'");
    let before = verdict(&sample_path("crlf"));
    assert_eq!(
        before,
        Verdict {
            schema: None,
            define: None
        }
    );
    let lost = check(dir.path(), "bogus-mode", &before, &bad);
    assert_eq!(lost.len(), 2, "{lost:?}");
}

#[test]
#[ignore = "needs virt-xml-validate, virsh (libvirt-clients) and xmllint"]
fn libvirt_accepts_what_the_rewrite_writes() {
    needs_the_tools();
    let dir = TempDir::new("libvirt-validate");
    let mut lost = Vec::new();
    let mut checked = 0;
    let mut inputs: Vec<(&str, Verdict)> = Vec::new();
    for case in CASES {
        let input = sample(case.sample);
        let Ok(outcome) = run(&input, case.properties) else {
            continue;
        };
        let before = match inputs.iter().find(|(name, _)| *name == case.sample) {
            Some((_, known)) => known.clone(),
            None => {
                let known = verdict(&sample_path(case.sample));
                inputs.push((case.sample, known.clone()));
                known
            }
        };
        let label = format!("{}__{}", case.sample, case.label);
        lost.extend(check(dir.path(), &label, &before, &outcome.text()));
        checked += 1;
    }
    for path in corpus_files() {
        let input = fs::read_to_string(&path).expect("read a corpus file");
        let name = path.file_stem().unwrap().to_string_lossy();
        let dir_name = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let label = format!("corpus-{dir_name}-{name}");
        let accepted = standard_properties(&input)
            .into_iter()
            .find_map(|properties| run(&input, &properties).ok());
        let Some(outcome) = accepted else {
            lost.push(format!(
                "{label}: the rewrite refused every standard property set"
            ));
            continue;
        };
        lost.extend(check(dir.path(), &label, &verdict(&path), &outcome.text()));
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} outputs checked");
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}
