//! The switch on the running kernel, with pages really shared by KSM.
//! Ignored unless asked for: it needs root and /sys/kernel/mm/ksm writable.
//! Every KSM setting it touches is put back, on success and on failure.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::thread;
use std::time::Duration;

use crate::support::ksm::page_size;
use crate::support::{needs_root, std_program, stderr_of};

const KSM: &str = "/sys/kernel/mm/ksm";
/// Saved and put back; `run` last, after the others are restored.
const TOUCHED: [&str; 4] = [
    "merge_across_nodes",
    "pages_to_scan",
    "sleep_millisecs",
    "run",
];
const PAGES: usize = 4096;

fn path(name: &str) -> String {
    format!("{KSM}/{name}")
}

fn read(name: &str) -> u64 {
    fs::read_to_string(path(name))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn write(name: &str, value: u64) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path(name))?
        .write_all(format!("{value}\n").as_bytes())
}

/// Root, and a kernel whose KSM it may switch: else the test fails, saying
/// which is missing (it runs only when asked for, with --include-ignored).
fn needs_a_switchable_ksm() {
    needs_root();
    if let Err(err) = OpenOptions::new().write(true).open(path("run")) {
        panic!("{} is not writable: {err}", path("run"));
    }
}

/// The KSM settings as found; dropping puts them back. merge_across_nodes
/// can only be restored with nothing shared, hence run=2 first.
struct Saved(Vec<(&'static str, u64)>);

impl Saved {
    fn capture() -> Saved {
        Saved(TOUCHED.iter().map(|name| (*name, read(name))).collect())
    }
}

impl Drop for Saved {
    fn drop(&mut self) {
        let _ = write("run", 2);
        for (name, value) in &self.0 {
            if let Err(err) = write(name, *value) {
                eprintln!("could not put {name} back to {value}: {err}");
            }
        }
    }
}

/// Identical private anonymous pages marked mergeable: what KSM merges.
struct MergeablePages {
    addr: *mut libc::c_void,
    len: usize,
}

impl MergeablePages {
    fn new(pages: usize) -> MergeablePages {
        let len = pages * page_size() as usize;
        // SAFETY: a fresh anonymous mapping; we own it until munmap in Drop.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(addr, libc::MAP_FAILED, "mmap failed");
        // SAFETY: addr..addr+len is the mapping made above, readable and writable.
        unsafe {
            std::ptr::write_bytes(addr.cast::<u8>(), 0x5a, len);
            assert_eq!(
                libc::madvise(addr, len, libc::MADV_MERGEABLE),
                0,
                "madvise failed"
            );
        }
        MergeablePages { addr, len }
    }
}

impl Drop for MergeablePages {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new(), not used after this.
        unsafe { libc::munmap(self.addr, self.len) };
    }
}

/// Full scans after which identical pages that stayed unchanged must be
/// merged: ksmd records a page's checksum on one scan and merges it on a
/// later one if it did not change, so two scans are enough; the rest is
/// margin for pages it reached in the middle of a scan.
const SCANS_TO_MERGE: u64 = 5;

/// Waits until ksmd has merged pages, judging by ksmd's own progress
/// (`full_scans`), not by the clock: on a busy machine ksmd scans later,
/// but it scans. The pause between looks only spares the CPU.
fn wait_for_sharing() {
    let start = read("full_scans");
    while read("pages_shared") == 0 {
        let scans = read("full_scans") - start;
        assert!(
            scans < SCANS_TO_MERGE,
            "ksmd finished {scans} full scans and merged nothing (run={})",
            read("run")
        );
        assert_eq!(read("run"), 1, "ksmd was stopped while the test waited");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Switches to `to` through the executable with real pages shared, and
/// checks the value flipped, the pages were unmerged and run came back to 1.
/// Everything is decided on what the kernel and the executable show after
/// the run, never on watching it: the kernel refuses a new
/// merge_across_nodes with EBUSY while any page is shared (the premise
/// checked first), so a flipped value proves pages_shared reached 0.
fn switch_through_executable(args: &[&str], property: Option<&str>, to: u64) {
    wait_for_sharing();
    // The premise: a bare write is refused while pages are shared.
    let bare = write("merge_across_nodes", to).expect_err("the kernel accepted a bare write");
    assert_eq!(bare.raw_os_error(), Some(libc::EBUSY), "{bare}");
    let mut cmd = std_program();
    cmd.args(args);
    if let Some(value) = property {
        cmd.env("ksm_merge_across_nodes", value);
    }
    let out = cmd.output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("switched {} -> {to} in ", 1 - to))
            && stderr.trim_end().ends_with("run back to 1)"),
        "{stderr}"
    );
    let unmerged: u64 = stderr
        .split(" s (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("unmerged page count in the summary");
    assert!(unmerged > 0, "{stderr}");
    assert_eq!(read("merge_across_nodes"), to, "the value did not flip");
    assert_eq!(read("run"), 1, "run was not put back");
}

#[test]
#[ignore = "needs root: switches the running kernel's KSM (tests/run-all.sh runs it)"]
fn switch_on_the_real_kernel_with_pages_shared() {
    needs_a_switchable_ksm();
    let _saved = Saved::capture();
    let start = read("merge_across_nodes");
    let _pages = MergeablePages::new(PAGES);
    write("pages_to_scan", 20000).unwrap();
    write("sleep_millisecs", 10).unwrap();
    write("run", 1).unwrap();
    // As VDSM runs the hook (here as root, so without sudo)...
    let flipped = 1 - start;
    let property = if flipped == 1 { "true" } else { "false" };
    switch_through_executable(&["hook", "ksm"], Some(property), flipped);
    // ...and back through the sudo target, as sudo would run it.
    switch_through_executable(&["ksm-switch", &start.to_string()], None, start);
}
