//! `topology` and `topology --json` on every fake sysfs tree.

#[path = "support/overrides.rs"]
mod overrides;
use assert_cmd::Command;

const TREES: [&str; 6] = [
    "laptop",
    "two-socket-ht",
    "epyc-nps4",
    "asymmetric",
    "cxl",
    "offline-cpus",
];

fn topology(tree: &str, args: &[&str]) -> String {
    overrides::allow();
    let root = format!("{}/testdata/sysfs/{tree}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::cargo_bin("vdsm-hook-largeguest")
        .unwrap()
        .env("LARGEGUEST_SYSFS_ROOT", root)
        .arg("topology")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn table() {
    for tree in TREES {
        insta::assert_snapshot!(format!("table-{tree}"), topology(tree, &[]));
    }
}

#[test]
fn json() {
    for tree in TREES {
        let text = topology(tree, &["--json"]);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(parsed["nodes"].is_array(), "{text}");
        insta::assert_snapshot!(format!("json-{tree}"), text);
    }
}

#[test]
fn a_missing_tree_is_one_line_naming_the_file() {
    overrides::allow();
    let output = Command::cargo_bin("vdsm-hook-largeguest")
        .unwrap()
        .env("LARGEGUEST_SYSFS_ROOT", "/nonexistent-sysfs")
        .arg("topology")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/nonexistent-sysfs/devices/system/cpu/online"),
        "{stderr}"
    );
}
