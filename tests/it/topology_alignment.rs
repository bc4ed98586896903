//! Guest cells against the guest's CPU topology, through the executable:
//! a cell may not split a core's threads (refused, file untouched), and a
//! split die or socket is allowed but said on stderr.

use std::fs;

use crate::support::{std_program, testdata, TempDir};

struct Run {
    code: Option<i32>,
    stderr: Vec<String>,
    before: String,
    after: String,
}

/// `apply` on a copy of `topology-smt.xml` with its topology replaced.
fn apply(topology: &str, vcpus: u32, property: &str) -> Run {
    let sample = testdata("topology-smt.xml");
    let before = fs::read_to_string(sample)
        .unwrap()
        .replace(
            "<topology sockets='2' dies='1' cores='2' threads='2'/>",
            topology,
        )
        .replace(">8</vcpu>", &format!(">{vcpus}</vcpu>"));
    let dir = TempDir::new("topology");
    let file = dir.join("domxml");
    fs::write(&file, &before).unwrap();
    let out = std_program()
        .args(["apply", "--domxml"])
        .arg(&file)
        .arg(property)
        .env("LARGEGUEST_SYSFS_ROOT", "/nonexistent")
        .output()
        .unwrap();
    let after = fs::read_to_string(&file).unwrap();
    let stderr = String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .filter(|line| !line.contains("host checks skipped"))
        .map(str::to_string)
        .collect();
    Run {
        code: out.status.code(),
        stderr,
        before,
        after,
    }
}

const SMT: &str = "<topology sockets='2' dies='1' cores='2' threads='2'/>";
/// The domains here carry no engine metadata, as engine 4.4 sends them.
const NO_POLICY: &str = "vdsm-hook-largeguest: CPU pinning policy: not given (engine 4.4 \
    or older; VDSM takes manual when the VM has pins, else none)";
const ONE_SOCKET: &str = "<topology sockets='1' dies='1' cores='3' threads='2'/>";

#[test]
fn an_even_split_that_would_part_a_core_is_refused() {
    let run = apply(ONE_SOCKET, 6, "guestnuma=2");
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        ["vdsm-hook-largeguest: guestnuma: 2 equal cells of 3 vCPUs would split a core between cells (vCPUs 2-3 are the 2 threads of one core in <topology>); choose a cell count that divides the 3 cores"]
    );
    assert_eq!(run.after, run.before);
}

#[test]
fn explicit_cells_that_part_a_core_are_refused() {
    let run = apply(SMT, 8, "guestnuma=0-2#4G,3-7#4G");
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        ["vdsm-hook-largeguest: guestnuma: vCPUs 2 and 3 are threads of one guest core (the guest <topology> has 2 threads per core) but would sit in cells 0 and 1, and a Linux guest then drops their SMT relation with a kernel warning; keep each core's 2 vCPUs in one cell"]
    );
    assert_eq!(run.after, run.before);
}

#[test]
fn cells_of_whole_sockets_go_through_quietly() {
    let run = apply(SMT, 8, "guestnuma=2");
    assert_eq!(run.code, Some(0), "{:?}", run.stderr);
    assert_eq!(
        run.stderr,
        [NO_POLICY, "vdsm-hook-largeguest: 2 guest NUMA cells"]
    );
    assert!(run
        .after
        .contains("<cell id='0' cpus='0-3' memory='4194304' unit='KiB'/>"));
    assert!(run
        .after
        .contains("<cell id='1' cpus='4-7' memory='4194304' unit='KiB'/>"));
}

#[test]
fn cells_that_split_a_socket_are_written_and_said() {
    let run = apply(SMT, 8, "guestnuma=4");
    assert_eq!(run.code, Some(0), "{:?}", run.stderr);
    assert_eq!(
        run.stderr,
        [
            NO_POLICY,
            "vdsm-hook-largeguest: warning: guestnuma: guest socket 0 (vCPUs 0-3) is split across cells 0 and 1; QEMU starts it, but the guest sees one socket on several NUMA nodes; to keep each socket whole, give the VM 4 sockets, one a cell (sockets: Edit VM > System > Advanced Parameters > Virtual Sockets), or cells of whole sockets of 4 vCPUs",
            "vdsm-hook-largeguest: 4 guest NUMA cells",
        ]
    );
    assert!(run
        .after
        .contains("<cell id='3' cpus='6-7' memory='2097152' unit='KiB'/>"));
}

#[test]
fn a_die_split_is_said_once_beside_the_socket() {
    let dies = "<topology sockets='1' dies='2' cores='2' threads='1'/>";
    let run = apply(dies, 4, "guestnuma=0#2G,1-3#6G");
    assert_eq!(run.code, Some(0), "{:?}", run.stderr);
    assert_eq!(run.stderr.len(), 4, "{:?}", run.stderr);
    assert_eq!(run.stderr[0], NO_POLICY);
    assert!(run.stderr[1].contains("guest die 0 (vCPUs 0-1) is split across cells 0 and 1"));
    assert!(run.stderr[2].contains("guest socket 0 (vCPUs 0-3) is split across cells 0 and 1"));
}

#[test]
fn without_threads_any_whole_split_is_fine() {
    let flat = "<topology sockets='8' dies='1' cores='1' threads='1'/>";
    let run = apply(flat, 8, "guestnuma=0-2#3G,3-7#5G");
    assert_eq!(run.code, Some(0), "{:?}", run.stderr);
    assert_eq!(
        run.stderr,
        [NO_POLICY, "vdsm-hook-largeguest: 2 guest NUMA cells"]
    );
}

#[test]
fn a_topology_libvirt_would_refuse_is_left_to_libvirt() {
    // 2 x 2 x 2 is not 6: libvirt refuses the domain at define, whatever the cells.
    let run = apply(SMT, 6, "guestnuma=0-2#4G,3-5#4G");
    assert_eq!(run.code, Some(0), "{:?}", run.stderr);
}

fn refusal(doc: &str, property: &str) -> String {
    let request = vdsm_hook_largeguest::properties::Request::from_pairs([(
        vdsm_hook_largeguest::properties::Property::GuestNuma,
        property,
    )])
    .unwrap();
    vdsm_hook_largeguest::commands::rewrite::rewrite(doc, &request, None)
        .unwrap_err()
        .to_string()
}

#[test]
fn an_even_split_names_its_counts_right_and_a_decimal_unit() {
    let doc = "<domain><vcpu>2</vcpu><memory unit='GB'>4</memory></domain>";
    assert_eq!(
        refusal(doc, "1"),
        "guestnuma: 3906250 KiB of memory cannot be split into 1 cell of whole MiB: <memory unit='GB'> counts in decimal units (1 GB = 1000000000 bytes); give <memory> in MiB or GiB"
    );
    let doc = "<domain><vcpu>2</vcpu><memory>1536</memory></domain>";
    assert_eq!(
        refusal(doc, "2"),
        "guestnuma: 1536 KiB of memory cannot be split into 2 cells of whole MiB; make <memory> a whole number of MiB"
    );
    let doc = "<domain><vcpu>2</vcpu><memory>1024</memory></domain>";
    assert_eq!(
        refusal(doc, "2"),
        "guestnuma: 1024 KiB of memory is less than 1 MiB for each of 2 cells"
    );
}

#[test]
fn more_vcpus_than_cells_can_name_are_refused() {
    let doc = "<domain><vcpu>16385</vcpu><memory unit='GiB'>64</memory></domain>";
    assert_eq!(
        refusal(doc, "1"),
        "guestnuma: <vcpu> gives the VM 16385 vCPUs, but libvirt reads a cell's cpus only up to vCPU 16383; give the VM at most 16384 vCPUs to use guestnuma"
    );
}
