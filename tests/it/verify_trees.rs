//! `verify` on status XMLs and `/proc` trees recorded from real guests
//! (testdata/verify/), and on copies of them edited to show one fault each.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{copy_tree, program, testdata, Outcome, TempDir, HANG_GUARD};

/// Each recorded tree and the domain it holds, written once: the table
/// [`TREES`] and one snapshot test per tree in `tables` (the snapshot named
/// after the test, `it__verify_trees__tables__TREE.snap`).
macro_rules! recorded_trees {
    ($($test:ident: $tree:literal holds $domain:literal,)*) => {
        const TREES: [(&str, &str); 7] = [$(($tree, $domain),)*];

        mod tables {
            $(#[test]
            fn $test() {
                let out = super::verify(&super::recorded($tree), &[$domain]);
                insta::assert_snapshot!(out.stdout);
                assert!(out.stderr.is_empty(), "{}: {}", $tree, out.stderr);
            })*
        }
    };
}

recorded_trees! {
    engine_two_cells: "engine-two-cells" holds "largeguest-e2e-two-vcpus",
    engine_dimm: "engine-dimm" holds "largeguest-e2e-dimm",
    two_cells_strict: "two-cells-strict" holds "largeguest-verify-two-cells",
    two_cells_strict_repinned: "two-cells-strict-repinned" holds "largeguest-verify-two-cells",
    kvm_no_cells_interleave: "kvm-no-cells-interleave" holds "largeguest-verify-kvm",
    memfd_preferred: "memfd-preferred" holds "largeguest-verify-memfd",
    hugepages_strict: "hugepages-strict" holds "largeguest-verify-huge",
}

fn recorded(tree: &str) -> PathBuf {
    testdata("verify").join(tree)
}

fn verify(root: &Path, args: &[&str]) -> Outcome {
    let output = program()
        .env("LARGEGUEST_RUN_ROOT", root.join("run"))
        .env("LARGEGUEST_PROCFS_ROOT", root.join("proc"))
        .env("LARGEGUEST_ETC_ROOT", root.join("etc"))
        .arg("verify")
        .args(args)
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    Outcome::from(output)
}

/// A copy of a recorded tree to break in one place.
struct Copy {
    root: PathBuf,
    pid: String,
    _folder: TempDir,
}

impl Copy {
    fn of(tree: &str) -> Copy {
        let folder = TempDir::new(&format!("verify-{tree}"));
        let root = folder.0.clone();
        copy_tree(&recorded(tree), &root);
        let pid = fs::read_dir(root.join("proc"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name()
            .into_string()
            .unwrap();
        Copy {
            root,
            pid,
            _folder: folder,
        }
    }

    fn proc(&self, file: &str) -> PathBuf {
        self.root.join("proc").join(&self.pid).join(file)
    }

    fn status_xml(&self, domain: &str) -> PathBuf {
        self.root.join(format!("run/libvirt/qemu/{domain}.xml"))
    }

    /// Replaces text that is there exactly once, so an edit cannot miss
    /// or hit more than it means to.
    fn edit(&self, path: &Path, from: &str, to: &str) {
        let text = fs::read_to_string(path).unwrap();
        assert_eq!(
            text.matches(from).count(),
            1,
            "{}: {from:?}",
            path.display()
        );
        fs::write(path, text.replace(from, to)).unwrap();
    }

    fn verify(&self, domain: &str) -> Outcome {
        verify(&self.root, &[domain])
    }
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

/// The difference lines: those between the tables and the last line.
fn differences(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines.iter().rposition(|l| l.is_empty()).unwrap_or(0) + 1;
    lines[start..lines.len().saturating_sub(1)].to_vec()
}

#[test]
fn the_recorded_guests_hold_until_repinned() {
    for (tree, domain) in TREES {
        let out = verify(&recorded(tree), &[domain]);
        let (code, differing) = match tree {
            "two-cells-strict-repinned" => (1, "2 differ"),
            _ => (0, "0 differ"),
        };
        assert_eq!(out.code, Some(code), "{tree}: {}", out.stdout);
        assert!(
            last_line(&out.stdout).ends_with(differing),
            "{tree}: {}",
            out.stdout
        );
    }
}

#[test]
fn a_vcpu_repinned_by_libvirt_and_an_emulator_moved_outside_it_are_named() {
    let (tree, domain) = TREES[3];
    let out = verify(&recorded(tree), &[domain]);
    assert_eq!(
        differences(&out.stdout),
        [
            "vCPU 1: cputune asks host CPU 1, but its thread (tid 6643) may run on CPU 0; \
             the live XML pins it to CPU 0: re-pinned after start (virsh vcpupin, or VDSM's \
             CPU management when the VM's CPU pinning policy is not Manual)",
            "emulator: <emulatorpin> asks host CPUs 0-1, but the main QEMU thread (tid 6634) \
             may run on CPU 1; libvirt still records CPUs 0-1, so the affinity was changed \
             outside libvirt (taskset, a cgroup cpuset)",
        ]
    );
    assert_eq!(last_line(&out.stdout), "verify: 8 checks hold, 2 differ");
}

#[test]
fn json_holds_every_check_with_its_line() {
    for (tree, domain) in TREES {
        let out = verify(&recorded(tree), &[domain, "--json"]);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let checks = report["checks"].as_array().unwrap();
        let differing: Vec<&str> = checks
            .iter()
            .filter(|c| c["holds"] == false)
            .map(|c| c["what"].as_str().unwrap())
            .collect();
        match tree {
            "two-cells-strict-repinned" => assert_eq!(differing, ["vCPU 1", "emulator"]),
            _ => assert!(differing.is_empty(), "{tree}: {differing:?}"),
        }
        assert_eq!(report["domain"], domain);
        assert!(report["cells"].as_array().is_some_and(|c| !c.is_empty()));
        assert_eq!(out.code, Some(if differing.is_empty() { 0 } else { 1 }));
    }
    let out = verify(
        &recorded("hugepages-strict"),
        &["largeguest-verify-huge", "--json"],
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report["cells"][0]["huge_pages"],
        serde_json::json!([{"node": 0, "size_kib": 2048, "count": 128}])
    );
}

#[test]
fn a_uuid_finds_the_domain_in_any_case() {
    let root = recorded("memfd-preferred");
    let by_name = verify(&root, &["largeguest-verify-memfd"]);
    for uuid in [
        "6c0e2e00-0000-4000-8000-00000000f003",
        "6C0E2E00-0000-4000-8000-00000000F003",
        "6c0e2e0000004000800000000000f003",
    ] {
        let out = verify(&root, &[uuid]);
        assert_eq!(out.code, Some(0), "{uuid}: {}", out.stderr);
        assert_eq!(out.stdout, by_name.stdout);
    }
}

#[test]
fn a_domain_not_running_here_is_one_line_and_exit_2() {
    let root = recorded("memfd-preferred");
    for wanted in [
        "no-such-vm",
        "6c0e2e00-0000-4000-8000-000000000000",
        "../memfd",
    ] {
        let out = verify(&root, &[wanted]);
        assert_eq!(out.code, Some(2), "{wanted}");
        assert!(out.stdout.is_empty());
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "vdsm-hook-largeguest: no running domain '{wanted}'"
            )),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn usage_errors_and_help() {
    let root = recorded("memfd-preferred");
    assert_eq!(verify(&root, &[]).code, Some(2));
    assert_eq!(verify(&root, &["a", "b"]).code, Some(2));
    assert_eq!(verify(&root, &["a", "--yaml"]).code, Some(2));
    let help = verify(&root, &["--help"]);
    assert_eq!(help.code, Some(0));
    assert!(help
        .stdout
        .starts_with("usage: vdsm-hook-largeguest verify DOMAIN [--json]"));
}

#[test]
fn memory_on_a_node_outside_the_binding_differs_beyond_the_tolerance() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    // Cell 1's 768 MiB mapping, with 391 MiB on node 1.
    let numa_maps = copy.proc("numa_maps");
    copy.edit(
        &numa_maps,
        "bind:0 anon=1024 dirty=1024 active=0 N0=1024",
        "bind:0-1 anon=1024 dirty=1024 active=0 N0=24 N1=100000",
    );
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        differences(&out.stdout),
        [
            "cell 1: guestnuma asks strict on node 0, but the kernel applies bind:0-1 to its memory",
            "cell 1: 391 MiB of its memory is on node 1, outside node 0 that guestnuma asks \
             (tolerated: 8 MiB, 1% of the cell, at most 256 MiB); a full node under preferred or \
             interleave, automatic NUMA balancing or KSM merging across nodes puts it there",
        ],
        "{}",
        out.stdout
    );
}

#[test]
fn a_few_pages_elsewhere_are_within_the_tolerance() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    let numa_maps = copy.proc("numa_maps");
    // 1% of 768 MiB is 7.68 MiB: 1966 pages of 4 KiB hold, 1967 do not.
    copy.edit(&numa_maps, "active=0 N0=1024", "active=0 N0=1024 N1=1966");
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    copy.edit(&numa_maps, "N1=1966", "N1=1967");
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(differences(&out.stdout)[0].starts_with("cell 1: 8 MiB of its memory is on node 1"));
}

#[test]
fn a_cell_whose_ram_is_not_found_differs_and_says_why() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    // Cell 1's mapping one MiB short: no mapping has its size any more.
    copy.edit(
        &copy.proc("maps"),
        "7f7147c00000-7f7177c00000",
        "7f7147d00000-7f7177c00000",
    );
    copy.edit(&copy.proc("numa_maps"), "7f7147c00000 ", "7f7147d00000 ");
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        differences(&out.stdout),
        [format!(
            "cell 1: guestnuma asks strict on node 0, but QEMU process {} has no mapping for 768 MiB of cell 1 (verify finds guest RAM by its size), so where it is cannot be told",
            copy.pid
        )]
    );
}

#[test]
fn a_property_the_grammar_refuses_differs() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    let status = copy.status_xml(domain);
    copy.edit(
        &status,
        "<ovirt-vm:cputune>0#0,1#1<",
        "<ovirt-vm:cputune>0#0,1#1-<",
    );
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let lines = differences(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(
        lines[0].starts_with("cputune: expected a CPU number after '-' at column 9"),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with("(the value in the VM's metadata, which the hook would refuse)"));
    // Without the property, the live <vcpupin> is what was asked.
    assert!(
        out.stdout.contains("vCPU 0      6642  0      <vcpupin>"),
        "{}",
        out.stdout
    );
}

#[test]
fn cells_other_than_guestnuma_asked_differ_cell_by_cell() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    let status = copy.status_xml(domain);
    copy.edit(&status, ">0#256M#0,1#768M#0<", ">0#512M#0,1#512M#0<");
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        differences(&out.stdout),
        [
            "cell 0: guestnuma asks vCPU 0 and 512 MiB, the running guest has vCPU 0 and 256 MiB",
            "cell 1: guestnuma asks vCPU 1 and 512 MiB, the running guest has vCPU 1 and 768 MiB",
        ]
    );
    copy.edit(&status, ">0#512M#0,1#512M#0<", ">3<");
    let out = copy.verify(domain);
    assert_eq!(
        differences(&out.stdout),
        ["guest NUMA: guestnuma asks 3 cells, the running guest has 2"]
    );
}

#[test]
fn restrictive_holds_only_where_the_cgroup_limits_the_nodes() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    let status = copy.status_xml(domain);
    copy.edit(&status, ">strict#0<", ">restrictive#0<");
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    assert!(
        out.stdout.contains("restrictive 0  guestnuma"),
        "{}",
        out.stdout
    );
    copy.edit(
        &copy.proc("status"),
        "Mems_allowed_list:\t0\n",
        "Mems_allowed_list:\t0-1\n",
    );
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        differences(&out.stdout),
        [0, 1].map(|cell| format!(
            "cell {cell}: guestnuma asks restrictive on node 0, but the QEMU process may allocate on nodes 0-1 (Mems_allowed_list: no cgroup cpuset.mems holds it to the nodes)"
        ))
    );
}

/// The status XML without the properties in its metadata, as a domain
/// started from `apply`'s output outside oVirt has it.
fn without_properties(copy: &Copy, domain: &str) {
    let status = copy.status_xml(domain);
    let text = fs::read_to_string(&status).unwrap();
    let start = text.find("<ovirt-vm:custom>").unwrap();
    let end = text.find("</ovirt-vm:custom>").unwrap() + "</ovirt-vm:custom>".len();
    copy.edit(&status, &text[start..end], "");
}

#[test]
fn without_properties_or_definition_the_live_xml_is_what_was_asked() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict-repinned");
    without_properties(&copy, domain);
    let out = copy.verify(domain);
    // vCPU 1 was re-pinned through libvirt: the live XML agrees with it now.
    assert_eq!(
        differences(&out.stdout),
        [
            "emulator: <emulatorpin> asks host CPUs 0-1, but the main QEMU thread (tid 6634) \
          may run on CPU 1; libvirt still records CPUs 0-1, so the affinity was changed \
          outside libvirt (taskset, a cgroup cpuset)"
        ]
    );
    assert!(
        out.stdout.contains("vCPU 1      6643  0      <vcpupin>"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("strict 0  <memnode>"), "{}", out.stdout);
    assert!(out.stdout.lines().nth(1).unwrap().starts_with(
        "asked: the live domain XML (no custom properties in the metadata, and no persistent definition"
    ));
}

/// The live re-pin of a domain without properties is found against the
/// definition libvirt keeps of it, which `virsh vcpupin --live` leaves.
#[test]
fn without_properties_the_persistent_definition_is_what_was_asked() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict-repinned");
    without_properties(&copy, domain);
    // The definition: the domain as it was started, before the re-pin.
    let started = fs::read_to_string(
        recorded("two-cells-strict").join(format!("run/libvirt/qemu/{domain}.xml")),
    )
    .unwrap();
    let start = started.find("<domain ").unwrap();
    let end = started.rfind("</domain>").unwrap() + "</domain>".len();
    let defined = copy.root.join(format!("etc/libvirt/qemu/{domain}.xml"));
    fs::create_dir_all(defined.parent().unwrap()).unwrap();
    fs::write(&defined, &started[start..end]).unwrap();
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stdout.lines().nth(1).unwrap(),
        format!(
            "asked: the persistent definition {} (the domain carries no custom properties in its metadata)",
            defined.display()
        )
    );
    assert_eq!(
        differences(&out.stdout),
        [
            "vCPU 1: defined <vcpupin> asks host CPU 1, but its thread (tid 6643) may run on \
             CPU 0; the live XML pins it to CPU 0: re-pinned after start (virsh vcpupin, or \
             VDSM's CPU management when the VM's CPU pinning policy is not Manual)",
            "emulator: defined <emulatorpin> asks host CPUs 0-1, but the main QEMU thread (tid \
             6634) may run on CPU 1; libvirt still records CPUs 0-1, so the affinity was changed \
             outside libvirt (taskset, a cgroup cpuset)",
        ]
    );
    assert!(
        out.stdout.contains("strict 0  defined <memnode>"),
        "{}",
        out.stdout
    );
}

/// `virsh emulatorpin --live` and `virsh iothreadpin --live` change the
/// live XML with the thread; the properties still say what was asked.
#[test]
fn the_emulator_and_io_threads_are_judged_against_their_properties() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    let status = copy.status_xml(domain);
    copy.edit(
        &status,
        "<ovirt-vm:cputune>",
        "<ovirt-vm:emulatorpin>0-1</ovirt-vm:emulatorpin><ovirt-vm:iothreadpin>1#1</ovirt-vm:iothreadpin><ovirt-vm:cputune>",
    );
    assert_eq!(copy.verify(domain).code, Some(0));
    // The live re-pins: libvirt's XML and the threads' affinity together.
    copy.edit(
        &status,
        "<emulatorpin cpuset='0-1'/>",
        "<emulatorpin cpuset='1'/>",
    );
    copy.edit(
        &status,
        "<iothreadpin iothread='1' cpuset='1'/>",
        "<iothreadpin iothread='1' cpuset='0'/>",
    );
    copy.edit(
        &copy.proc("task/6634/status"),
        "Cpus_allowed_list:\t0-1",
        "Cpus_allowed_list:\t1",
    );
    copy.edit(
        &copy.proc("task/6639/status"),
        "Cpus_allowed_list:\t1",
        "Cpus_allowed_list:\t0",
    );
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        differences(&out.stdout),
        [
            "emulator: emulatorpin asks host CPUs 0-1, but the main QEMU thread (tid 6634) may \
             run on CPU 1; the live XML pins it to CPU 1: re-pinned after start (virsh emulatorpin)",
            "iothread 1: iothreadpin asks host CPU 1, but its thread 'IO iothread1' (tid 6639) \
             may run on CPU 0; the live XML pins it to CPU 0: re-pinned after start (virsh \
             iothreadpin)",
        ]
    );
}

#[test]
fn a_vcpu_or_iothread_without_its_thread_differs() {
    let domain = "largeguest-verify-two-cells";
    let copy = Copy::of("two-cells-strict");
    fs::remove_dir_all(copy.proc("task/6643")).unwrap();
    copy.edit(&copy.proc("task/6639/comm"), "IO iothread1", "IO iothread9");
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_eq!(
        differences(&out.stdout),
        [
            format!("vCPU 1: libvirt records thread 6643 but QEMU process {} has no thread 'CPU 1/...'; the status file may be stale", copy.pid),
            "iothread 1: <iothreadpin> asks host CPU 1, but QEMU has no such thread (its thread 'IO iothread1')".to_string(),
        ]
    );
}

/// The one line on stderr and exit 2 of a domain that cannot be read.
fn unreadable(copy: &Copy, domain: &str) -> String {
    let out = copy.verify(domain);
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    out.stderr
}

#[test]
fn a_stale_or_gone_process_cannot_be_read() {
    let domain = "largeguest-verify-memfd";
    let copy = Copy::of("memfd-preferred");
    let pid_file = copy.root.join(format!("run/libvirt/qemu/{domain}.pid"));
    fs::write(&pid_file, "4242").unwrap();
    let said = unreadable(&copy, domain);
    assert!(
        said.contains(&format!(
            "records QEMU pid {} but the pid file says 4242",
            copy.pid
        )),
        "{said}"
    );
    copy.edit(
        &copy.status_xml(domain),
        &format!("pid='{}'", copy.pid),
        "pid='4242'",
    );
    let said = unreadable(&copy, domain);
    assert!(said.contains("QEMU process 4242 is not running"), "{said}");
    fs::write(&pid_file, "not a pid").unwrap();
    assert!(unreadable(&copy, domain).contains(".pid does not hold a process id"));
}

#[test]
fn a_reused_pid_without_the_guests_threads_cannot_be_read() {
    let domain = "largeguest-verify-memfd";
    let copy = Copy::of("memfd-preferred");
    for tid in ["6762", "6763"] {
        fs::remove_dir_all(copy.proc(&format!("task/{tid}"))).unwrap();
    }
    let said = unreadable(&copy, domain);
    assert!(
        said.contains("has none of the vCPU threads libvirt recorded"),
        "{said}"
    );
}

#[test]
fn a_fifo_or_garbage_in_place_of_a_kernel_file_is_refused_not_waited_on() {
    let domain = "largeguest-verify-memfd";
    let copy = Copy::of("memfd-preferred");
    let numa_maps = copy.proc("numa_maps");
    fs::remove_file(&numa_maps).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&numa_maps)
        .status()
        .unwrap();
    assert!(made.success());
    let said = unreadable(&copy, domain);
    assert!(said.contains("numa_maps is not a regular file"), "{said}");
    fs::remove_file(&numa_maps).unwrap();
    fs::write(&numa_maps, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let said = unreadable(&copy, domain);
    assert!(
        said.ends_with("numa_maps line 1 is not a numa_maps entry\n"),
        "{said}"
    );
    assert!(!said.contains("root:x"), "{said}");
}

#[test]
fn a_status_file_that_is_not_libvirts_cannot_be_read() {
    let domain = "largeguest-verify-memfd";
    let copy = Copy::of("memfd-preferred");
    let status = copy.status_xml(domain);
    fs::write(&status, "<domain><name>x</name></domain>").unwrap();
    assert!(unreadable(&copy, domain).contains("is not a libvirt <domstatus> holding a <domain>"));
    fs::write(&status, "<!DOCTYPE x [<!ENTITY a 'b'>]><domstatus/>").unwrap();
    assert!(unreadable(&copy, domain).contains("DOCTYPE"));
}
