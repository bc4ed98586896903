//! The KSM hook on an oVirt host where MoM keeps the cluster's KSM setting:
//! MoM's policy cycles (`tests/mom/mom_ksm_model.py`, a model of VDSM's
//! 03-ksm policy and MoM's KSM controller) run on a fake sysfs tree, with
//! the hook entry run between two of them, as VM starts fall between MoM's
//! 15-second cycles. MoM's configuration is a fake one in the same tree,
//! named by `LARGEGUEST_MOM_CONF`, and the model serves MoM's RPC socket.
//!
//! What must hold where MoM manages KSM: the hook writes nothing, and MoM,
//! cycling on, never has to unmerge (`run=2`) nor flip `merge_across_nodes`
//! because of it. The last test shows what happens to a hook that switches
//! anyway: one unmerge from the hook, one from MoM, and the value flipped
//! back, at every VM start.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::support::ksm::{mom_conf, socket, FakeHost};
use crate::support::{needs_root, stderr_of};
use serde_json::Value;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mom/mom_ksm_model.py");

/// The model, one cycle per [`MomModel::cycle`], serving the RPC socket
/// all the while.
struct MomModel {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl MomModel {
    fn start(host: &FakeHost, cluster_merge: u8, ksm_enabled: bool) -> MomModel {
        let mut child = Command::new("python3")
            .arg(MODEL)
            .arg("--sysfs")
            .arg(host.sysfs())
            .arg("--procfs")
            .arg(host.procfs())
            .args(["--cluster-merge", &cluster_merge.to_string()])
            .args(["--ksm-enabled", if ksm_enabled { "1" } else { "0" }])
            .arg("--rpc-socket")
            .arg(socket(host))
            .arg("--step")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the MoM model");
        let input = child.stdin.take();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        output.read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), r#"{"ready": true}"#);
        MomModel {
            child,
            input,
            output,
        }
    }

    /// One policy cycle; what it wrote, as (file, value) pairs.
    fn cycle(&mut self) -> Vec<(String, u64)> {
        let input = self.input.as_mut().unwrap();
        input.write_all(b"cycle\n").unwrap();
        input.flush().unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        let report: Value = serde_json::from_str(&line).unwrap();
        report["writes"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|w| assert_eq!(w["result"], "ok", "{line}"))
            .map(|w| {
                let file = w["file"].as_str().unwrap().to_string();
                (file, w["value"].as_u64().unwrap())
            })
            .collect()
    }

    /// `cycles` cycles with ksmd merging again before each, as it does on
    /// a host with guests; the unmerges (`run=2`) and the flips of
    /// `merge_across_nodes` MoM made.
    fn run(&mut self, host: &FakeHost, cycles: usize) -> (usize, usize) {
        let (mut unmerges, mut flips) = (0, 0);
        for _ in 0..cycles {
            if host.get("run") == 1 && host.get("pages_shared") == 0 {
                host.set("pages_shared", 200);
                host.set("pages_sharing", 600);
            }
            for (file, value) in self.cycle() {
                unmerges += usize::from(file == "run" && value == 2);
                flips += usize::from(file == "merge_across_nodes");
            }
        }
        (unmerges, flips)
    }
}

impl Drop for MomModel {
    fn drop(&mut self) {
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

/// The KSM entry as VDSM runs it, the VM asking for `wanted`.
fn hook(host: &FakeHost, conf: &Path, wanted: &str) -> std::process::Output {
    host.command()
        .args(["hook", "ksm"])
        .env("LARGEGUEST_MOM_CONF", conf)
        .env("ksm_merge_across_nodes", wanted)
        .output()
        .unwrap()
}

/// Every KSM file of the tree, to show the hook wrote none.
fn snapshot(host: &FakeHost) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = fs::read_dir(host.ksm_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .map(|name| {
            let value = host.get(&name);
            (name, value)
        })
        .collect();
    files.sort();
    files
}

/// A host settled on the cluster's value: MoM cycled until it wrote nothing.
fn settled(cluster_merge: u8, ksm_enabled: bool, rpc: bool) -> (FakeHost, PathBuf, MomModel) {
    let host = FakeHost::new(1, 1, 300, 900);
    // MoM's HostKSM collector reads this one too.
    host.set("pages_volatile", 0);
    let conf = mom_conf(&host, rpc);
    let mut mom = MomModel::start(&host, cluster_merge, ksm_enabled);
    mom.run(&host, 3);
    assert_eq!(host.get("merge_across_nodes"), u64::from(cluster_merge));
    (host, conf, mom)
}

#[test]
fn asking_for_the_clusters_value_is_a_note_and_moms_cycles_stay_quiet() {
    let (host, conf, mut mom) = settled(0, true, true);
    let before = snapshot(&host);
    for wanted in ["0", "false"] {
        let out = hook(&host, &conf, wanted);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        assert_eq!(
            stderr_of(&out),
            "vdsm-hook-largeguest: KSM merge_across_nodes is already 0, the value MoM keeps \
             for this cluster; nothing changed\n"
        );
        assert_eq!(snapshot(&host), before, "the hook wrote to KSM");
    }
    assert_eq!(mom.run(&host, 6), (0, 0), "MoM unmerged or flipped");
    assert!(
        !host.lock_file().exists(),
        "the hook took the switch's lock"
    );
}

#[test]
fn asking_against_the_cluster_is_refused_and_nothing_moves() {
    let (host, conf, mut mom) = settled(1, true, true);
    let before = snapshot(&host);
    assert!(host.get("pages_shared") > 0);
    let out = hook(&host, &conf, "0");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_of(&out),
        "vdsm-hook-largeguest: ksm_merge_across_nodes: MoM keeps merge_across_nodes at this \
         cluster's value (1) and would undo a switch with a full unmerge; set Edit Cluster > \
         Optimization > KSM control to Share memory pages inside NUMA nodes (REST: cluster ksm \
         merge_across_nodes false), or remove ksm_merge_across_nodes\n"
    );
    assert_eq!(snapshot(&host), before, "the hook wrote to KSM");
    assert_eq!(mom.run(&host, 6), (0, 0), "MoM unmerged or flipped");
}

#[test]
fn without_moms_word_the_kernel_stands_in_for_the_cluster() {
    // MoM serves no socket: the hook cannot ask it, and the kernel's value,
    // which MoM keeps, decides.
    let (host, conf, mut mom) = settled(1, true, false);
    let before = snapshot(&host);
    let out = hook(&host, &conf, "1");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = hook(&host, &conf, "0");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("(1, as the kernel shows it: MoM did not say)"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&host), before, "the hook wrote to KSM");
    assert_eq!(mom.run(&host, 4), (0, 0));
}

#[test]
fn ksm_disabled_in_the_cluster_satisfies_any_vm() {
    let (host, conf, mut mom) = settled(1, false, true);
    let before = snapshot(&host);
    let out = hook(&host, &conf, "0");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("KSM is disabled in this cluster"));
    assert_eq!(snapshot(&host), before);
    assert_eq!(mom.run(&host, 4), (0, 0));
}

#[test]
fn ksm_set_and_the_status_say_that_mom_manages_it() {
    let (host, conf, _mom) = settled(0, true, true);
    let out = host
        .command()
        .args(["ksm", "set", "1"])
        .env("LARGEGUEST_MOM_CONF", &conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).starts_with("vdsm-hook-largeguest: MoM manages KSM on this host ("),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(host.get("merge_across_nodes"), 0);
    let out = host
        .command()
        .args(["ksm", "status"])
        .env("LARGEGUEST_MOM_CONF", &conf)
        .output()
        .unwrap();
    let status = String::from_utf8(out.stdout).unwrap();
    assert!(
        status.contains("MoM: manages merge_across_nodes here (per ")
            && status.contains("; the cluster keeps merge_across_nodes=0;"),
        "{status}"
    );
}

/// What the MoM check prevents: a hook that switches anyway (here, one
/// that finds no MoM configuration) pays an unmerge, MoM pays another and
/// flips the value back, and so again at every VM start.
#[test]
#[ignore = "needs root: without it the switch goes through sudo, which would switch the real host"]
fn a_switch_behind_moms_back_costs_two_unmerges_and_a_flip_back_every_time() {
    needs_root();
    let (host, _conf, mut mom) = settled(1, true, true);
    let no_mom = host.dir.0.join("no-mom.conf");
    let (mut hook_switches, mut mom_unmerges, mut flips) = (0, 0, 0);
    for _ in 0..3 {
        let ksmd = host.ksmd(Duration::from_millis(5), None);
        let out = hook(&host, &no_mom, "0");
        drop(ksmd);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        hook_switches += usize::from(stderr_of(&out).contains("switched 1 -> 0"));
        let (unmerges, flipped) = mom.run(&host, 3);
        mom_unmerges += unmerges;
        flips += flipped;
        assert_eq!(
            host.get("merge_across_nodes"),
            1,
            "MoM put the cluster's value back"
        );
    }
    assert_eq!((hook_switches, mom_unmerges, flips), (3, 3, 3));
}
