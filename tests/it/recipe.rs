//! The tuning recipe through the executable, as VDSM runs it, on the fake
//! `tuned` host (`testdata/sysfs/tuned`: 1 GiB pages per node, isolated
//! CPUs, PCI devices on both nodes): emulator and I/O thread pins, huge
//! pages per cell, device locality. Each refusal exits 2 with one line and
//! leaves the file as it was; each warning is one line and the start goes on.

use std::fs;

use crate::support::scene::Scene;
use crate::support::{program, testdata};
use assert_cmd::Command;

/// The samples carry no engine metadata, as engine 4.4 sends them.
const NO_POLICY: &str = "vdsm-hook-largeguest: CPU pinning policy: not given (engine 4.4 \
    or older; VDSM takes manual when the VM has pins, else none)";

/// A scene holding a sample, its hook pointed at the tuned host.
fn tuned(sample: &str) -> Scene {
    Scene::new(&fs::read(testdata(&format!("{sample}.xml"))).unwrap())
}

fn hook(scene: &Scene, properties: &[(&str, &str)]) -> Command {
    let mut cmd = scene.run(properties);
    cmd.env("LARGEGUEST_SYSFS_ROOT", testdata("sysfs/tuned"))
        .env("LARGEGUEST_PROCFS_ROOT", testdata("procfs/tuned"));
    cmd
}

fn refused(scene: &Scene, properties: &[(&str, &str)], message: &str) {
    let before = fs::read(scene.domxml()).unwrap();
    let out = hook(scene, properties)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("vdsm-hook-largeguest: {message}")
    );
    assert_eq!(
        fs::read(scene.domxml()).unwrap(),
        before,
        "the file must be untouched"
    );
    assert_eq!(scene.files_in_vm(), ["domxml"]);
}

/// Runs a start that goes on, returning its stderr lines.
fn started(scene: &Scene, properties: &[(&str, &str)]) -> Vec<String> {
    let out = hook(scene, properties)
        .assert()
        .code(0)
        .get_output()
        .clone();
    String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn emulator_and_iothread_pins_are_written_with_their_warnings() {
    let scene = tuned("iothreads");
    let lines = started(&scene, &[("emulatorpin", "2"), ("iothreadpin", "1#16_5#1")]);
    assert_eq!(
        lines,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: warning: emulatorpin: the emulator threads share CPU 2 with pinned vCPU 0, and would take time from it; pin the emulator threads to CPUs no vCPU is pinned to",
            "vdsm-hook-largeguest: warning: emulatorpin: the emulator threads would run on CPU 2, which the host isolated (/sys/devices/system/cpu/isolated) for vCPUs, where the scheduler balances no load; pin the emulator threads to housekeeping CPUs",
            "vdsm-hook-largeguest: warning: iothreadpin: I/O thread 5 would run on CPU 1, which the host isolated (/sys/devices/system/cpu/isolated) for vCPUs, where the scheduler balances no load; pin I/O thread 5 to housekeeping CPUs",
            "vdsm-hook-largeguest: emulator on CPU 2, pinned 2 I/O threads",
        ]
    );
    let text = fs::read_to_string(scene.domxml()).unwrap();
    assert!(text.contains("<vcpupin vcpu='1' cpuset='3'/>\n    <emulatorpin cpuset='2'/>\n    <iothreadpin iothread='5' cpuset='1'/>\n    <iothreadpin iothread='1' cpuset='16'/>\n    <vcpusched"), "{text}");
}

#[test]
fn housekeeping_pins_start_without_a_word_of_warning() {
    let scene = tuned("iothreads");
    let lines = started(
        &scene,
        &[
            // vCPUs 0 and 1 as the sample's (the engine's) pins have them.
            ("cputune", "0#2,1#3,2-3#4-5"),
            ("emulatorpin", "0,16"),
            ("iothreadpin", "1#8_5#24"),
        ],
    );
    assert_eq!(
        lines,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: pinned 4 vCPUs, emulator on CPUs 0,16, pinned 2 I/O threads"
        ]
    );
}

#[test]
fn an_iothread_the_vm_lacks_is_refused() {
    refused(
        &tuned("iothreads"),
        &[("iothreadpin", "1#0_2#0")],
        "iothreadpin: I/O thread 2 is not one of the VM's I/O threads (it has I/O threads 1,5), and libvirt would refuse the domain; pin only I/O threads 1,5",
    );
}

#[test]
fn pins_on_cpus_the_host_lacks_are_refused() {
    refused(
        &tuned("iothreads"),
        &[("emulatorpin", "0-40")],
        "emulatorpin: this host does not have CPUs 32-40 online (online: 0-31)",
    );
}

#[test]
fn huge_pages_short_on_a_node_refuse_the_start() {
    refused(
        &tuned("hugepages-cells"),
        &[("guestnuma", "0-3#4G#0,4-7#4G#1")],
        "hugepages: cell 1 needs 4 pages of 1G on host node 1 (bound strict), and it has 2 free, so QEMU would fail at start (os_mem_prealloc: Insufficient free host memory pages); free or reserve 2 more pages of 1G there, or bind the memory to other nodes",
    );
}

#[test]
fn a_page_nodeset_for_every_cell_follows_the_new_cells() {
    let scene = tuned("hugepages-cells");
    let lines = started(&scene, &[("guestnuma", "0-3#6G#0,4-7#2G#1")]);
    assert_eq!(
        lines,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: 2 guest NUMA cells, huge page nodeset carried over to 2 cells (0-1)"
        ]
    );
    let text = fs::read_to_string(scene.domxml()).unwrap();
    assert!(
        text.contains(r#"<page size="1" unit="G" nodeset="0-1"/>"#),
        "{text}"
    );
}

#[test]
fn a_page_nodeset_naming_lost_cells_is_refused() {
    // The nodesets follow the memory (cell 1 takes old cells 2-3 on 2 MiB
    // pages), and the new cell's pages are then checked on its node.
    refused(
        &tuned("hugepages-split"),
        &[("guestnuma", "2")],
        "hugepages: cell 1 needs 2048 pages of 2M on host node 0 (bound strict), and it has 1024 free, so QEMU would fail at start (os_mem_prealloc: Insufficient free host memory pages); free or reserve 1024 more pages of 2M there, or bind the memory to other nodes",
    );
}

/// `<hugepages/>` alone takes the kernel's default size, 2 MiB on the
/// tuned host, of which node 1 has 100 free.
#[test]
fn the_default_page_size_comes_from_meminfo() {
    let xml = "<domain type='kvm'><name>d</name><memory unit='MiB'>1024</memory>\
        <memoryBacking><hugepages/></memoryBacking><vcpu>2</vcpu>\
        <numatune><memory mode='strict' nodeset='1'/></numatune>\
        <os><type>hvm</type></os></domain>\n";
    refused(
        &Scene::new(xml.as_bytes()),
        &[("cputune", "0-1#9")],
        "hugepages: the guest's memory needs 512 pages of 2M on host node 1 (bound strict), and it has 100 free, so QEMU would fail at start (os_mem_prealloc: Insufficient free host memory pages); free or reserve 412 more pages of 2M there, or bind the memory to other nodes",
    );
}

/// A guest of this many GiB on the tuned host, whose nodes 0 and 1 have
/// 64 GiB of memory each, 40 and 44 GiB of it free.
fn plain_guest(gib: u64) -> Scene {
    let xml = format!(
        "<domain type='kvm'><name>d</name><memory unit='GiB'>{gib}</memory>\
         <vcpu>8</vcpu><os><type>hvm</type></os></domain>\n"
    );
    Scene::new(xml.as_bytes())
}

#[test]
fn memory_above_what_its_nodes_have_free_is_warned_about() {
    // 100 GiB strictly on nodes 0-1: 128 GiB there, 84 GiB free.
    let lines = started(&plain_guest(100), &[("numatune", "strict#0-1")]);
    assert_eq!(
        lines,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: warning: numatune: the guest's memory needs 104857600 KiB on host nodes 0-1, which have 88080384 KiB free; the kernel must reclaim memory (or swap) before the VM has it all; free memory there, or bind the memory to more nodes",
            "vdsm-hook-largeguest: memory strict on nodes 0-1",
        ]
    );
    // Cell 0's 48 GiB on node 0 (40 GiB free); cell 1's 40 GiB fit node 1's 44.
    let lines = started(&plain_guest(88), &[("guestnuma", "0-3#48G#0,4-7#40G#1")]);
    assert_eq!(
        lines,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: warning: guestnuma: cell 0 needs 50331648 KiB on host node 0, which has 41943040 KiB free; the kernel must reclaim memory (or swap) before the VM has it all; free memory there, or bind the memory to more nodes",
            "vdsm-hook-largeguest: 2 guest NUMA cells",
        ]
    );
}

#[test]
fn memory_above_what_its_nodes_have_is_refused() {
    refused(
        &plain_guest(100),
        &[("numatune", "strict#0")],
        "numatune: the guest's memory needs 104857600 KiB bound strict to host node 0, which has 67108864 KiB of memory in all, so the VM cannot have it; bind the memory to more nodes, or give the VM less memory",
    );
    refused(
        &plain_guest(100),
        &[("guestnuma", "0-3#70G#0,4-7#30G#1")],
        "guestnuma: cell 0 needs 73400320 KiB bound strict to host node 0, which has 67108864 KiB of memory in all, so the VM cannot have it; bind the memory to more nodes, or give the VM less memory",
    );
}

#[test]
fn a_device_off_the_memory_nodes_warns_or_refuses() {
    let scene = tuned("hostdev");
    let warning = "vdsm-hook-largeguest: warning: pci_numa_affinity: the host device 0000:af:02.1 (<interface>) sits on host node 1, but the guest's memory is bound (strict) to node 0, so its DMA and interrupts cross nodes; bind the memory to node 1, or set pci_numa_affinity=required to refuse such a start";
    let lines = started(
        &scene,
        &[("cputune", "0-3#1-3"), ("pci_numa_affinity", "preferred")],
    );
    assert_eq!(
        lines,
        [NO_POLICY, warning, "vdsm-hook-largeguest: pinned 4 vCPUs"]
    );

    let scene = tuned("hostdev");
    refused(
        &scene,
        &[("cputune", "0-3#1-3"), ("pci_numa_affinity", "required")],
        "pci_numa_affinity: the host device 0000:af:02.1 (<interface>) sits on host node 1, but the guest's memory is bound (strict) to node 0, so its DMA and interrupts cross nodes; with pci_numa_affinity=required the VM does not start: bind the memory to node 1, or pass through a device on node 0",
    );
    // The property alone checks the engine's own binding, and changes nothing.
    refused(
        &scene,
        &[("pci_numa_affinity", "required")],
        "pci_numa_affinity: the host device 0000:af:02.1 (<interface>) sits on host node 1, but the guest's memory is bound (strict) to node 0, so its DMA and interrupts cross nodes; with pci_numa_affinity=required the VM does not start: bind the memory to node 1, or pass through a device on node 0",
    );
    let lines = started(
        &scene,
        &[
            ("numatune", "strict#0-1"),
            ("pci_numa_affinity", "required"),
        ],
    );
    assert_eq!(
        lines,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: memory strict on nodes 0-1"
        ]
    );
}

#[test]
fn apply_diff_shows_the_new_pins_and_the_warnings() {
    let scene = tuned("iothreads");
    let out = program()
        .env("LARGEGUEST_SYSFS_ROOT", testdata("sysfs/tuned"))
        .env("LARGEGUEST_PROCFS_ROOT", testdata("procfs/tuned"))
        .args(["apply", "--domxml"])
        .arg(scene.domxml())
        .args(["--dry-run", "--diff", "emulatorpin=3", "iothreadpin=1#0"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "     <vcpupin vcpu='1' cpuset='3'/>\n+    <emulatorpin cpuset='3'/>\n     \
             <iothreadpin iothread='5' cpuset='0'/>\n+    <iothreadpin iothread='1' cpuset='0'/>\n"
        ),
        "{stdout}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            NO_POLICY,
            "vdsm-hook-largeguest: warning: emulatorpin: the emulator threads share CPU 3 with pinned vCPU 1, and would take time from it; pin the emulator threads to CPUs no vCPU is pinned to",
            "vdsm-hook-largeguest: warning: emulatorpin: the emulator threads would run on CPU 3, which the host isolated (/sys/devices/system/cpu/isolated) for vCPUs, where the scheduler balances no load; pin the emulator threads to housekeeping CPUs",
            "vdsm-hook-largeguest: emulator on CPU 3, pinned 1 I/O thread (dry run, nothing written)",
        ]
    );
}

#[test]
fn check_prints_the_new_properties_canonically() {
    let out = program()
        .args([
            "check",
            "emulatorpin=0-3,^2",
            "iothreadpin=2#5_1#4",
            "pci_numa_affinity=required",
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "emulatorpin=0-1,3\niothreadpin=1#4,2#5\npci_numa_affinity=required\n"
    );
    let out = program()
        .args(["check", "iothreadpin=0#1", "pci_numa_affinity=strict"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "vdsm-hook-largeguest: iothreadpin: I/O thread 0 does not exist at column 1 in '0#1'; libvirt numbers I/O threads from 1\n\
         vdsm-hook-largeguest: pci_numa_affinity: expected required (refuse the start) or preferred (warn and start) at column 1 in 'strict'\n"
    );
}
