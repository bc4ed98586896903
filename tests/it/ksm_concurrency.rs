//! Several VMs starting at once: their switches must not interleave.

use std::process::Stdio;
use std::time::Duration;

use crate::support::ksm::{mom_conf, FakeHost};
use crate::support::{needs_root, std_program};

/// Eight processes ask for alternating values on one fake tree whose ksmd
/// merges again after every switch, so each switch has pages to unmerge.
/// Without the lock two of them would see the same old value (two "1 -> 0"
/// in a row) or remember run=2 from a neighbour and leave it behind.
#[test]
#[ignore = "needs root: without it the switch goes through sudo, which would switch the real host"]
fn concurrent_switches_are_serialised_and_restore_run() {
    needs_root();
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

/// A mass start after a failover: 64 VMs ask for merge_across_nodes=0 at
/// once on a host at 1 with pages shared. Exactly one switches (unmerging
/// once), the other 63 find it done, the value never goes back to 1, `run`
/// is put back and the lock is free. Bounded: 64 processes, one unmerge.
#[test]
#[ignore = "needs root: without it the switch goes through sudo, which would switch the real host"]
fn a_mass_start_switches_once_and_never_back() {
    needs_root();
    let host = FakeHost::new(1, 1, 50, 150);
    let ksmd = host.ksmd(Duration::from_millis(20), None);
    let watcher = Watcher::start(host.ksm_dir().join("merge_across_nodes"));
    let said = mass_start(&host, host.dir.0.join("no-mom.conf"));
    let seen = watcher.stop();
    let switched = said
        .iter()
        .filter(|s| s.contains("switched 1 -> 0"))
        .count();
    let already = said.iter().filter(|s| s.contains("is already 0")).count();
    assert_eq!((switched, already), (1, 63), "{said:?}");
    assert_eq!(host.get("merge_across_nodes"), 0);
    assert_eq!(host.get("run"), 1, "run=2 was left behind");
    assert_eq!(ksmd.unmerges(), 1);
    // Every value the watcher saw: 1s, then 0s, nothing after.
    assert!(
        seen.windows(2).all(|w| w[0] >= w[1]),
        "flipped back: {seen:?}"
    );
    let lock = std::fs::File::open(host.lock_file()).unwrap();
    assert!(lock.try_lock().is_ok(), "the lock is still held");
}

/// The same mass start where MoM manages KSM and keeps 0: every VM is
/// satisfied, nothing is written and the switch's lock is never taken.
#[test]
fn a_mass_start_under_mom_writes_nothing() {
    let host = FakeHost::new(0, 1, 50, 150);
    let conf = mom_conf(&host, false);
    let before = std::fs::read_dir(host.ksm_dir()).unwrap().count();
    for stderr in mass_start(&host, conf) {
        assert!(
            stderr.contains("is already 0, the value MoM keeps"),
            "{stderr}"
        );
    }
    assert_eq!((host.get("merge_across_nodes"), host.get("run")), (0, 1));
    assert_eq!(std::fs::read_dir(host.ksm_dir()).unwrap().count(), before);
    assert!(!host.lock_file().exists(), "a run took the switch's lock");
}

/// 64 KSM hook entries asking for 0, started at once, with MoM's
/// configuration at `mom_conf`: what each said, once all exited 0.
fn mass_start(host: &FakeHost, mom_conf: std::path::PathBuf) -> Vec<String> {
    let children: Vec<_> = (0..64)
        .map(|_| {
            std_program()
                .args(["hook", "ksm"])
                .env("ksm_merge_across_nodes", "0")
                .envs(host.overrides())
                .env("LARGEGUEST_MOM_CONF", &mom_conf)
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            stderr
        })
        .collect()
}

/// Reads a counter in a loop and keeps every change it sees.
struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl Watcher {
    fn start(path: std::path::PathBuf) -> Watcher {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen: Vec<u64> = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                let read = std::fs::read_to_string(&path).ok();
                if let Some(value) = read.and_then(|t| t.trim().parse().ok()) {
                    if seen.last() != Some(&value) {
                        seen.push(value);
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            seen
        });
        Watcher { stop, thread }
    }

    fn stop(self) -> Vec<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}
