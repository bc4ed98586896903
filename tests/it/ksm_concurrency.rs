//! Several VMs starting at once: their switches must not interleave.

use std::process::Stdio;
use std::time::Duration;

use crate::support::ksm::FakeHost;
use crate::support::std_program;

/// Eight processes ask for alternating values on one fake tree whose ksmd
/// merges again after every switch, so each switch has pages to unmerge.
/// Without the lock two of them would see the same old value (two "1 -> 0"
/// in a row) or remember run=2 from a neighbour and leave it behind.
#[test]
fn concurrent_switches_are_serialised_and_restore_run() {
    let host = FakeHost::new(1, 1, 50, 150);
    let ksmd = host.ksmd(Duration::from_millis(40), Some(50));
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = std_program();
            let value = if i % 2 == 0 { "0" } else { "1" };
            // Half as VDSM runs the hook, half as an administrator: the hook
            // skips the lock when the value is already right, `ksm set` never does.
            if i % 4 < 2 {
                cmd.args(["hook", "ksm"])
                    .env("ksm_merge_across_nodes", value);
            } else {
                cmd.args(["ksm", "set", value]);
            }
            cmd.env("LARGEGUEST_SYSFS_ROOT", host.sysfs())
                .env("LARGEGUEST_PROCFS_ROOT", host.procfs())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut switches = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        if let Some(rest) = stderr.split("switched ").nth(1) {
            assert!(stderr.trim_end().ends_with("run back to 1)"), "{stderr}");
            switches.push(rest[..6].to_string());
        } else {
            assert!(stderr.contains("is already"), "{stderr}");
        }
    }
    let down = switches.iter().filter(|s| *s == "1 -> 0").count();
    let up = switches.iter().filter(|s| *s == "0 -> 1").count();
    assert_eq!(down + up, switches.len(), "{switches:?}");
    // A chain starting at 1: downs and ups alternate, so they differ by at most one.
    assert!(down == up || down == up + 1, "{switches:?}");
    let expected_merge = if down == up { 1 } else { 0 };
    assert_eq!(
        host.get("merge_across_nodes"),
        expected_merge,
        "{switches:?}"
    );
    assert!(!switches.is_empty());
    assert_eq!(host.get("run"), 1, "run=2 was left behind");
    assert!(ksmd.unmerges() > 0, "no switch unmerged");
}
