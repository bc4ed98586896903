//! `topology` and `topology --json` on every fake sysfs tree.

use crate::support::{program, sysfs_tree};

fn topology(tree: &str, args: &[&str]) -> String {
    let output = program()
        .env("LARGEGUEST_SYSFS_ROOT", sysfs_tree(tree))
        .arg("topology")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Two tests per tree, the table and the JSON, each named after the tree:
/// `it__topology_snapshots__table__TREE.snap`, `..._json__TREE.snap`.
macro_rules! snapshot_tests {
    ($($test:ident: $tree:literal,)*) => {
        mod table {
            $(#[test]
            fn $test() {
                let text = super::topology($tree, &[]);
                insta::assert_snapshot!(text);
            })*
        }

        mod json {
            $(#[test]
            fn $test() {
                let text = super::topology($tree, &["--json"]);
                let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(parsed["nodes"].is_array(), "{text}");
                insta::assert_snapshot!(text);
            })*
        }
    };
}

snapshot_tests! {
    laptop: "laptop",
    two_socket_ht: "two-socket-ht",
    epyc_nps4: "epyc-nps4",
    asymmetric: "asymmetric",
    cxl: "cxl",
    offline_cpus: "offline-cpus",
}

#[test]
fn a_missing_tree_is_one_line_naming_the_file() {
    let output = program()
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
