//! What `suggest` prints, set as the VM's properties, passes every check of
//! the hook on the same host and gives the domain exactly the fragment
//! `suggest` showed.

use std::fs;
use std::path::Path;

use crate::support::{program, sysfs_tree, testdata, TempDir};
use assert_cmd::Command;
use serde_json::Value;
use vdsm_hook_largeguest::cpuset::CpuSet;

fn command(sysfs: &Path) -> Command {
    let mut command = program();
    command.env("LARGEGUEST_SYSFS_ROOT", sysfs);
    command
}

/// A domain as oVirt writes one for a VM with these vCPUs and memory, with
/// one virtual socket per guest cell, as the README advises.
fn domain(vcpus: u32, memory_kib: u64, threads: u32, sockets: u32) -> String {
    format!(
        "<domain type='kvm'>\n  <name>db</name>\n  <memory unit='KiB'>{memory_kib}</memory>\n  \
         <currentMemory unit='KiB'>{memory_kib}</currentMemory>\n  \
         <vcpu placement='static' current='{vcpus}'>{vcpus}</vcpu>\n  \
         <os><type arch='x86_64' machine='pc-q35-rhel9.2.0'>hvm</type></os>\n  \
         <cpu mode='host-passthrough'><topology sockets='{sockets}' cores='{}' threads='{threads}'/></cpu>\n  \
         <devices/>\n</domain>\n",
        vcpus / threads / sockets
    )
}

/// The elements of `text` that the placement sets, one line each, so the
/// fragment suggest printed and the rewritten domain compare as sets.
fn placement_lines(text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).unwrap();
    let mut lines: Vec<String> = doc
        .descendants()
        .filter(|node| {
            ["vcpupin", "emulatorpin", "memory", "memnode", "cell"]
                .contains(&node.tag_name().name())
        })
        .filter(|node| node.attribute("unit").is_none() || node.tag_name().name() == "cell")
        .map(|node| {
            let mut attributes: Vec<String> = node
                .attributes()
                .map(|a| format!("{}={}", a.name(), a.value()))
                .collect();
            attributes.sort();
            format!("{} {}", node.tag_name().name(), attributes.join(" "))
        })
        .collect();
    lines.sort();
    lines
}

/// A hook job as VDSM runs it: the VM's properties in the environment.
fn hook(sysfs: &Path, job: &str, domxml: &Path, plan: &Value) -> std::process::Output {
    let mut hook = command(sysfs);
    hook.args(["hook", job]).env("_hook_domxml", domxml);
    for property in ["cputune", "numatune", "guestnuma", "emulatorpin"] {
        hook.env(property, plan[property].as_str().unwrap());
    }
    hook.output().unwrap()
}

fn round_trip(name: &str, vcpus: u32, memory_kib: u64, threads: u32, extra: &[&str]) {
    let sysfs = sysfs_tree(name);
    let output = command(&sysfs)
        .args(["suggest", "--json", "--vcpus", &vcpus.to_string()])
        .args(["--memory", &memory_kib.to_string()])
        .args(["--threads-per-core", &threads.to_string()])
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{name}: {output:?}");
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let work = TempDir::new("suggest-hook");
    let domxml = work.join(format!("{name}-{vcpus}.xml"));
    let cells = plan["cells"].as_array().unwrap().len();
    let sockets = u32::try_from(cells).unwrap();
    fs::write(&domxml, domain(vcpus, memory_kib, threads, sockets)).unwrap();

    let output = hook(&sysfs, "before_vm_start", &domxml, &plan);
    assert!(output.status.success(), "{name}: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("host checks skipped"),
        "{name}: host checks skipped: {stderr}"
    );

    let rewritten = fs::read_to_string(&domxml).unwrap();
    let fragment = format!("<f>{}</f>", plan["xml"].as_str().unwrap());
    // Every vcpupin, the emulatorpin, <memory>, and a memnode and a cell
    // per guest cell.
    assert_eq!(
        placement_lines(&fragment).len(),
        vcpus as usize + 2 + 2 * cells
    );
    assert_eq!(
        placement_lines(&rewritten),
        placement_lines(&fragment),
        "{name}: the hook wrote something else than suggest showed"
    );

    let output = hook(&sysfs, "before_vm_migrate_destination", &domxml, &plan);
    assert!(output.status.success(), "{name}: {output:?}");
}

const GIB: u64 = 1024 * 1024;

#[test]
fn laptop() {
    round_trip("laptop", 4, 8 * GIB, 2, &[]);
}

#[test]
fn two_sockets_with_threads() {
    round_trip("two-socket-ht", 64, 256 * GIB, 2, &[]);
}

#[test]
fn epyc_over_three_nodes() {
    round_trip("epyc-nps4", 40, 100 * GIB, 2, &["--mode", "interleave"]);
}

#[test]
fn asymmetric_memory() {
    round_trip("asymmetric", 40, 250 * GIB, 1, &[]);
}

#[test]
fn cxl_host() {
    round_trip(
        "cxl",
        16,
        40 * GIB,
        1,
        &["--mode", "preferred", "--nodes", "1"],
    );
}

#[test]
fn tuned_host_keeps_the_emulator_off_the_isolated_cpus() {
    round_trip("tuned", 8, 8 * GIB, 2, &[]);
}

#[test]
fn offline_cpus() {
    round_trip("offline-cpus", 24, 16 * GIB, 2, &[]);
}

/// Guests already running (testdata/procfs/guests: `db1` pins vCPUs to
/// CPUs 2-3 and 50-51, `web,2` to 24-25, `floating` pins nothing):
/// suggest plans around their CPUs and says so, `--empty-host` does not,
/// and the hook warns about a pin on one of them, naming the guest.
#[test]
fn running_guests_are_planned_around_and_warned_about() {
    let sysfs = sysfs_tree("two-socket-ht");
    let procfs = testdata("procfs/guests");
    let suggest = |extra: &[&str]| {
        let output = command(&sysfs)
            .env("LARGEGUEST_PROCFS_ROOT", &procfs)
            .args(["suggest", "--json", "--vcpus", "48", "--memory", "64G"])
            .args(["--threads-per-core", "2"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let taken: CpuSet = "2-3,24-25,50-51".parse().unwrap();
    let used = |plan: &Value| -> CpuSet {
        let cells = plan["cells"].as_array().unwrap();
        let sets = cells.iter().map(|c| c["host_cpus"].as_str().unwrap());
        sets.fold(CpuSet::new(), |all, set| all.union(&set.parse().unwrap()))
    };
    let around = suggest(&[]);
    assert_eq!(
        around["planned_around"],
        "planned around CPUs 2-3,24-25,50-51 that running guests pin: 'db1' (vCPUs 0-3 on CPUs 2-3,50-51), 'web,2' (vCPUs 0-1 on CPUs 24-25); --empty-host plans as if none ran"
    );
    assert_eq!(used(&around).len(), 48);
    assert!(used(&around).intersection(&taken).is_empty());
    let empty = suggest(&["--empty-host"]);
    assert!(empty.get("planned_around").is_none());
    assert!(!used(&empty).intersection(&taken).is_empty());

    let work = TempDir::new("suggest-hook");
    let domxml = work.join("running-guests.xml");
    let start = |cputune: &str| {
        fs::write(&domxml, domain(2, 4 * GIB, 1, 1)).unwrap();
        let output = command(&sysfs)
            .env("LARGEGUEST_PROCFS_ROOT", &procfs)
            .args(["hook", "before_vm_start"])
            .env("_hook_domxml", &domxml)
            .env("cputune", cputune)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let shared = start("0#3,1#30");
    assert!(
        shared.contains("warning: cputune: vCPU 0 pinned to CPU 3, which vCPUs of running guests are pinned to as well: 'db1' (vCPU 1 on CPU 3); they will take time from each other"),
        "{shared}"
    );
    assert!(!start("0#30,1#31").contains("warning"));
}
