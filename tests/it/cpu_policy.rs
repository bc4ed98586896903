//! The engine's CPU pinning policy against each property: the table of
//! docs/ovirt-4.5.md, on what VDSM 4.50 hands the hook for an engine
//! 4.5 VM (`testdata/engine-4.5.xml`), with the policy swapped for each
//! value the engine or VDSM knows, none at all, and one neither knows.

use std::fs;

use crate::support::samples::{run, sample};
use crate::support::{program, TempDir};

const MANUAL: &str = "<ovirt-vm:cpuPolicy>manual</ovirt-vm:cpuPolicy>";

/// The sample with `policy` as its cpuPolicy, or with none.
fn with_policy(policy: Option<&str>) -> String {
    let text = sample("engine-4.5");
    assert!(text.contains(MANUAL), "the sample states its policy");
    let element = policy.map_or(String::new(), |p| {
        format!("<ovirt-vm:cpuPolicy>{p}</ovirt-vm:cpuPolicy>")
    });
    text.replace(MANUAL, &element)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Done,
    /// Done, with a warning that starts so.
    Warned(&'static str),
    /// Refused, the message starting so.
    Refused(&'static str),
}
use Expect::*;

/// Agrees with the engine's string in the sample (`0#0`), as a restore needs.
const CPUTUNE: &str = "cputune=0#0,1#2";
/// Pins vCPU 0 elsewhere than the engine's string does.
const CPUTUNE_AGAINST_ENGINE: &str = "cputune=0#1,1#2";
const AGAINST_ENGINE: &str = "cputune: vCPU 0 is pinned to CPU 1 here, but the engine's CPU \
    Pinning topology pins it to CPU 0, which the VM would get there; VDSM rebuilds the pins \
    from that string when the VM resumes from hibernation or a memory snapshot";
const NUMATUNE: &str = "numatune=strict#0";
const CELLS: &str = "guestnuma=0-7#2G,8-15#2G";
const CELLS_ON_NODES: &str = "guestnuma=0-7#2G#0,8-15#2G#1";

const NONE_PINS: &str = "cputune: the engine starts this VM with CPU pinning policy none, so \
    VDSM replaces these pins with its shared pool of host CPUs as soon as the VM runs";
const FLOAT_NUMATUNE: &str = "numatune: CPU pinning policy none lets VDSM run the vCPUs on any \
    host CPU of its shared pool, so memory bound to node 0 is remote to them";
const FLOAT_CELLS: &str = "guestnuma: CPU pinning policy none lets VDSM run the vCPUs on any \
    host CPU of its shared pool, so memory bound to nodes 0-1 is remote to them";

fn table() -> Vec<(Option<&'static str>, &'static str, Expect)> {
    let mut rows = Vec::new();
    for policy in [None, Some("manual")] {
        for property in [CPUTUNE, NUMATUNE, CELLS, CELLS_ON_NODES] {
            rows.push((policy, property, Done));
        }
    }
    rows.extend([
        (None, CPUTUNE_AGAINST_ENGINE, Warned(AGAINST_ENGINE)),
        (Some("manual"), CPUTUNE_AGAINST_ENGINE, Refused(AGAINST_ENGINE)),
        (Some("none"), CPUTUNE, Refused(NONE_PINS)),
        (Some("none"), NUMATUNE, Warned(FLOAT_NUMATUNE)),
        (Some("none"), CELLS, Done),
        (Some("none"), CELLS_ON_NODES, Warned(FLOAT_CELLS)),
        (Some("future"), CPUTUNE, Refused("cputune: the engine sent CPU pinning policy 'future', which this hook does not know")),
        (Some("future"), NUMATUNE, Done),
        (Some("future"), CELLS_ON_NODES, Done),
    ]);
    for policy in ["dedicated", "isolate-threads", "siblings"] {
        rows.extend([
            (Some(policy), CPUTUNE, Refused("cputune: the engine pins this VM itself (CPU pinning policy ")),
            (Some(policy), NUMATUNE, Refused("numatune: the engine places this VM itself (CPU pinning policy ")),
            (Some(policy), CELLS, Done),
            (Some(policy), CELLS_ON_NODES, Refused("guestnuma: the cells' host nodes cannot be chosen here under CPU pinning policy ")),
        ]);
    }
    rows
}

#[test]
fn every_policy_against_every_property() {
    for (policy, properties, expect) in table() {
        let text = with_policy(policy);
        let got = match run(&text, properties) {
            Ok(outcome) => match outcome.warnings.as_slice() {
                [] => Done,
                [warning] => {
                    let warning = warning.to_string();
                    match expect {
                        Warned(start) if warning.starts_with(start) => expect,
                        _ => panic!("{policy:?} {properties}: warned {warning}"),
                    }
                }
                more => panic!("{policy:?} {properties}: {more:?}"),
            },
            Err(err) => {
                let message = err.to_string();
                match expect {
                    Refused(start) if message.starts_with(start) => expect,
                    _ => panic!("{policy:?} {properties}: refused {message}"),
                }
            }
        };
        assert_eq!(got, expect, "{policy:?} {properties}");
    }
}

#[test]
fn the_none_refusal_says_what_to_set_on_the_engine() {
    let err = run(&with_policy(Some("none")), "cputune=0-3#4-7,4-7#8-11")
        .expect_err("refused")
        .to_string();
    // A pinning string the engine takes, and where the setting is.
    assert!(
        err.contains("CPU Pinning Policy to Manual with a CPU Pinning topology, e.g. 0#4-7 "),
        "{err}"
    );
    assert!(
        err.contains("Host > Start Running On: Specific Host(s)"),
        "{err}"
    );
    assert!(err.contains("cpu_pinning_policy manual"), "{err}");
    let short = run(&with_policy(Some("none")), "cputune=0#1,1#2")
        .err()
        .unwrap()
        .to_string();
    assert!(short.contains("e.g. 0#1_1#2 "), "{short}");
}

#[test]
fn engine_numa_nodes_rule_out_guestnuma_under_exclusive_policies() {
    let engine_nodes = with_policy(Some("dedicated")).replace(
        "    <devices>",
        "    <numatune>\n        <memnode cellid=\"0\" mode=\"interleave\" nodeset=\"0\" />\n    </numatune>\n    <devices>",
    );
    let err = run(&engine_nodes, CELLS).expect_err("refused").to_string();
    assert!(
        err.starts_with("guestnuma: the engine gave this VM NUMA nodes of its own"),
        "{err}"
    );
    // Under manual the same memnode is the admin's to replace, cell by cell.
    let manual = engine_nodes.replace("<ovirt-vm:cpuPolicy>dedicated</ovirt-vm:cpuPolicy>", MANUAL);
    assert!(run(&manual, CELLS_ON_NODES).is_ok());
    // Kept, it would bind a cell of other vCPUs: refused, naming the fixes.
    let moved = run(&manual, CELLS).expect_err("refused").to_string();
    assert!(
        moved.starts_with(
            "guestnuma: the engine binds its NUMA node 0 to host nodes '0' \
             (<numatune><memnode cellid='0'>, from Edit VM > Host > NUMA Pinning), and the \
             new cell 0 holds vCPUs 0-7, so that binding would land on other vCPUs; give \
             every cell its host nodes"
        ),
        "{moved}"
    );
    // The same cells keep the engine's binding.
    assert!(run(&manual, "guestnuma=0-15#4G").is_ok());
}

/// Engine-native vNUMA: the engine's memnodes decide each cell's memory,
/// so numatune beside them would reach none of it.
#[test]
fn engine_numa_nodes_outrank_numatune() {
    let engine_nodes = with_policy(Some("manual")).replace(
        "    <devices>",
        "    <numatune>\n        <memnode cellid=\"0\" mode=\"interleave\" nodeset=\"0\" />\n    </numatune>\n    <devices>",
    );
    let err = run(&engine_nodes, NUMATUNE)
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with("numatune: the engine binds the memory of this VM's NUMA node 0 itself"),
        "{err}"
    );
    // Every cell rebound by guestnuma: numatune's mode applies to each.
    assert!(run(&engine_nodes, &format!("{NUMATUNE} {CELLS_ON_NODES}")).is_ok());
}

#[test]
fn pins_outside_manually_pinned_cpus_are_refused() {
    let text = with_policy(Some("manual")).replace(
        MANUAL,
        &format!("{MANUAL}<ovirt-vm:manuallyPinedCPUs>0,1</ovirt-vm:manuallyPinedCPUs>"),
    );
    assert!(run(&text, "cputune=0#0,1#2").is_ok());
    let err = run(&text, "cputune=0-3#1")
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with("cputune: the VM's metadata lists the vCPUs VDSM keeps pinned (manuallyPinedCPUs: 0-1), and VDSM would move vCPUs 2-3 to its shared pool"),
        "{err}"
    );
}

/// The commands name the policy they saw; a refusal leaves the file alone.
#[test]
fn apply_and_the_migration_check_say_which_policy_they_saw() {
    let dir = TempDir::new("policy");
    let domxml = dir.join("vm.xml");
    let program = || {
        let mut command = program();
        command.env("LARGEGUEST_SYSFS_ROOT", dir.join("no-sysfs"));
        command
    };
    let stderr = |out: &std::process::Output| String::from_utf8(out.stderr.clone()).unwrap();

    fs::write(&domxml, with_policy(Some("manual"))).unwrap();
    let out = program()
        .args(["apply", "--dry-run", "--domxml"])
        .arg(&domxml)
        .arg(CPUTUNE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\nvdsm-hook-largeguest: CPU pinning policy: manual\n"),
        "{}",
        stderr(&out)
    );

    let none = with_policy(Some("none"));
    fs::write(&domxml, &none).unwrap();
    let out = program()
        .args(["hook", "before_vm_start"])
        .env("_hook_domxml", &domxml)
        .env("cputune", "0#1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read_to_string(&domxml).unwrap(), none);
    assert!(stderr(&out).contains(NONE_PINS), "{}", stderr(&out));

    // A VM already running that way is not stopped from migrating, but the
    // destination says what it found.
    let out = program()
        .args(["hook", "before_vm_migrate_destination"])
        .env("_hook_domxml", &domxml)
        .env("cputune", "0#1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("vdsm-hook-largeguest: CPU pinning policy: none\n"),
        "{said}"
    );
    assert!(
        said.contains("; the migration goes on, since the VM already runs this way\n"),
        "{said}"
    );

    fs::write(&domxml, with_policy(None)).unwrap();
    let out = program()
        .args(["apply", "--dry-run", "--domxml"])
        .arg(&domxml)
        .arg(NUMATUNE)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("CPU pinning policy: not given (engine 4.4 or older"),
        "{}",
        stderr(&out)
    );
}
