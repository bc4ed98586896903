//! `verify --all` on a host put together from the recorded guests of
//! testdata/verify/ (each tree's status files and QEMU process side by
//! side, as libvirt and /proc hold several guests), with the fake sysfs
//! of a one-node laptop for the host at a glance.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::support::{copy_tree, program, testdata, Outcome, TempDir};

/// The recorded guests that hold, each a domain of its own.
const HOLDING: [&str; 6] = [
    "engine-two-cells",
    "engine-dimm",
    "two-cells-strict",
    "kvm-no-cells-interleave",
    "memfd-preferred",
    "hugepages-strict",
];

/// A host running these recorded guests.
fn host(trees: &[&str]) -> TempDir {
    let root = TempDir::new("fleet");
    for tree in trees {
        let from = testdata(&format!("verify/{tree}"));
        copy_tree(&from.join("run"), &root.join("run"));
        copy_tree(&from.join("proc"), &root.join("proc"));
    }
    root
}

/// Replaces text that is there exactly once.
fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{}: {from:?}",
        path.display()
    );
    fs::write(path, text.replace(from, to)).unwrap();
}

fn status_xml(root: &Path, domain: &str) -> PathBuf {
    root.join(format!("run/libvirt/qemu/{domain}.xml"))
}

fn verify_all(root: &Path, args: &[&str]) -> Outcome {
    let output = program()
        .env("LARGEGUEST_RUN_ROOT", root.join("run"))
        .env("LARGEGUEST_PROCFS_ROOT", root.join("proc"))
        .env("LARGEGUEST_SYSFS_ROOT", testdata("sysfs/laptop"))
        .args(["verify", "--all"])
        .args(args)
        .output()
        .unwrap();
    Outcome::from(output)
}

/// The samples of a metrics file, `name{labels}` -> value, after checking
/// that every family has one HELP and one TYPE line before its samples.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut family = String::new();
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            family = rest.split(' ').next().unwrap().to_string();
            assert!(!typed.contains(&family), "{family} twice");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            assert_eq!(rest, format!("{family} gauge"));
            typed.push(family.clone());
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        assert_eq!(name, family, "a sample outside its family: {line}");
        assert!(name.starts_with("largeguest_") && !name.ends_with("_total"));
        samples.insert(series.to_string(), value.parse().unwrap());
    }
    samples
}

#[test]
fn every_recorded_guest_holds_one_row_each() {
    let root = host(&HOLDING);
    let out = verify_all(&root, &[]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    insta::assert_snapshot!("verify-all-holding", out.stdout);
}

#[test]
fn a_live_repin_makes_its_domain_differ_and_the_others_still_hold() {
    let mut trees = HOLDING;
    trees[2] = "two-cells-strict-repinned";
    let root = host(&trees);
    let out = verify_all(&root, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let row = lines
        .iter()
        .find(|l| l.starts_with("'largeguest-verify-two-cells'"))
        .unwrap();
    assert!(row.ends_with("8       2  DIFFERS"), "{row}");
    let named: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("'largeguest-verify-two-cells': "))
        .collect();
    assert_eq!(named.len(), 2, "{}", out.stdout);
    assert!(named[0].starts_with("'largeguest-verify-two-cells': vCPU 1: cputune asks host CPU 1"));
    assert!(named[1].starts_with("'largeguest-verify-two-cells': emulator: "));
    assert_eq!(
        lines.last().unwrap(),
        &"verify --all: 6 domains, 5 hold, 1 differs, 0 cannot be read"
    );
}

#[test]
fn json_is_an_array_of_the_reports() {
    let root = host(&HOLDING);
    let out = verify_all(&root, &["--json"]);
    let reports: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let domains: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["domain"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        [
            "largeguest-e2e-dimm",
            "largeguest-e2e-two-vcpus",
            "largeguest-verify-huge",
            "largeguest-verify-kvm",
            "largeguest-verify-memfd",
            "largeguest-verify-two-cells",
        ]
    );
    assert!(reports[0]["checks"]
        .as_array()
        .is_some_and(|c| c.len() == 6));
    assert_eq!(out.code, Some(0));
}

#[test]
fn a_domain_nothing_places_is_left_out() {
    let root = host(&["memfd-preferred", "two-cells-strict"]);
    let status = status_xml(&root, "largeguest-verify-memfd");
    edit(
        &status,
        "<cputune>\n      <emulatorpin cpuset='1'/>\n      <iothreadpin iothread='2' cpuset='0'/>\n    </cputune>",
        "",
    );
    edit(
        &status,
        "<numatune>\n      <memory mode='preferred' nodeset='0'/>\n      <memnode cellid='0' mode='preferred' nodeset='0'/>\n    </numatune>",
        "",
    );
    let out = verify_all(&root, &["--json"]);
    let reports: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 1, "{}", out.stdout);
    assert_eq!(reports[0]["domain"], "largeguest-verify-two-cells");
}

#[test]
fn a_domain_that_cannot_be_read_is_named_and_exits_2_after_the_others() {
    let root = host(&["kvm-no-cells-interleave", "two-cells-strict"]);
    fs::write(
        root.join("run/libvirt/qemu/largeguest-verify-kvm.pid"),
        "1\n",
    )
    .unwrap();
    let out = verify_all(&root, &[]);
    assert_eq!(out.code, Some(2), "{}", out.stdout);
    assert!(out
        .stdout
        .lines()
        .any(|l| l.starts_with("'largeguest-verify-kvm'") && l.ends_with("UNREADABLE")));
    let reason = format!(
        "'largeguest-verify-kvm': cannot be read: {} records QEMU pid 6694 but the pid file says 1: \
         libvirt is changing the domain's state; run verify again",
        status_xml(&root, "largeguest-verify-kvm").display()
    );
    assert!(out.stdout.lines().any(|l| l == reason), "{}", out.stdout);
    assert!(out.stdout.contains("'largeguest-verify-two-cells'"));
    assert!(out
        .stdout
        .ends_with("verify --all: 2 domains, 1 hold, 0 differ, 1 cannot be read\n"));
    let json = verify_all(&root, &["--json"]);
    let entries: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(entries[0]["domain"], "largeguest-verify-kvm");
    assert!(entries[0]["error"]
        .as_str()
        .unwrap()
        .contains("pid file says 1"));
}

#[test]
fn a_host_without_guests_holds() {
    let root = TempDir::new("fleet-empty");
    let out = verify_all(&root, &[]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.starts_with(
        "no running domain on this host carries the project's properties or pins of its own\n"
    ));
    assert!(out
        .stdout
        .ends_with("verify --all: 0 domains, 0 hold, 0 differ, 0 cannot be read\n"));
    assert_eq!(verify_all(&root, &["--json"]).stdout, "[]\n");
}

#[test]
fn the_metrics_follow_the_findings() {
    let root = host(&HOLDING);
    let file = root.join("largeguest.prom");
    let out = verify_all(&root, &["--prometheus", file.to_str().unwrap()]);
    assert_eq!(out.code, Some(0));
    let holding = samples(&fs::read_to_string(&file).unwrap());
    let two_cells = "domain=\"largeguest-verify-two-cells\"";
    assert_eq!(holding["largeguest_verify_domains"], 6.0);
    assert_eq!(
        holding[&format!("largeguest_verify_differences{{{two_cells}}}")],
        0.0
    );
    assert_eq!(
        holding[&format!("largeguest_vcpu_pin_holds{{{two_cells},vcpu=\"1\"}}")],
        1.0
    );
    assert_eq!(
        holding[&format!("largeguest_thread_pin_holds{{{two_cells},thread=\"emulator\"}}")],
        1.0
    );
    assert_eq!(
        holding
            ["largeguest_hugepages{domain=\"largeguest-verify-huge\",host_node=\"0\",size=\"2M\"}"],
        128.0
    );
    assert_eq!(
        holding["largeguest_memory_bytes{domain=\"largeguest-verify-huge\",cell=\"0\",host_node=\"0\"}"],
        268435456.0
    );
    assert_eq!(holding["largeguest_host_pinned_cpus{host_node=\"0\"}"], 2.0);
    assert_eq!(
        holding["largeguest_host_unpinned_cpus{host_node=\"0\"}"],
        6.0
    );
    assert!(holding["largeguest_verify_last_run_timestamp_seconds"] > 1.7e9);

    // The same host after the live re-pin: the file is replaced whole.
    let mut trees = HOLDING;
    trees[2] = "two-cells-strict-repinned";
    let repinned = host(&trees);
    let out = verify_all(&repinned, &["--prometheus", file.to_str().unwrap()]);
    assert_eq!(out.code, Some(1));
    let after = samples(&fs::read_to_string(&file).unwrap());
    assert_eq!(
        after[&format!("largeguest_verify_differences{{{two_cells}}}")],
        2.0
    );
    assert_eq!(
        after[&format!("largeguest_vcpu_pin_holds{{{two_cells},vcpu=\"1\"}}")],
        0.0
    );
    assert_eq!(
        after[&format!("largeguest_vcpu_pin_holds{{{two_cells},vcpu=\"0\"}}")],
        1.0
    );
    assert_eq!(
        after[&format!("largeguest_thread_pin_holds{{{two_cells},thread=\"emulator\"}}")],
        0.0
    );
    let left: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter()
            .all(|name| !name.to_string_lossy().starts_with('.')),
        "a temporary file was left: {left:?}"
    );
}

#[test]
fn prometheus_goes_with_all_only() {
    let output = program()
        .args(["verify", "db", "--prometheus", "/nonexistent/x.prom"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--prometheus goes with --all"));
}

/// promtool, the checker Prometheus ships, on the metrics of a host where
/// one guest differs: its lint (names, units, HELP, TYPE) finds nothing.
#[test]
#[ignore = "needs promtool: packaging/install-deps.sh promtool:golang-github-prometheus:prometheus (tests/run-all.sh installs it and runs this)"]
fn promtool_accepts_the_metrics() {
    let mut trees = HOLDING;
    trees[2] = "two-cells-strict-repinned";
    let root = host(&trees);
    let file = root.join("largeguest.prom");
    verify_all(&root, &["--prometheus", file.to_str().unwrap()]);
    let output = Process::new("promtool")
        .args(["check", "metrics"])
        .stdin(fs::File::open(&file).unwrap())
        .output()
        .expect("promtool on PATH");
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
