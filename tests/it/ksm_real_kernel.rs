//! The switch on the running kernel, with pages really shared by KSM.
//! Runs only as root with /sys/kernel/mm/ksm writable; says why otherwise.
//! Every KSM setting it touches is put back, on success and on failure.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::ksm::{page_size, skip};
use crate::support::{is_root, std_program, stderr_of};

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

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("not root".to_string());
    }
    match OpenOptions::new().write(true).open(path("run")) {
        Ok(_) => None,
        Err(err) => Some(format!("{} is not writable: {err}", path("run"))),
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
            std::ptr::write_bytes(addr as *mut u8, 0x5a, len);
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

fn wait_for_sharing() {
    let deadline = Instant::now() + Duration::from_secs(30);
    while read("pages_shared") == 0 {
        assert!(
            Instant::now() < deadline,
            "ksmd merged nothing in 30 s (run={}, full_scans={})",
            read("run"),
            read("full_scans")
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Watches pages_shared while `body` runs; true if it was seen at 0.
fn saw_zero_shared_during(body: impl FnOnce()) -> bool {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let watcher = thread::spawn(move || {
        let mut saw_zero = false;
        while !flag.load(Ordering::SeqCst) {
            saw_zero |= read("pages_shared") == 0;
            thread::sleep(Duration::from_micros(200));
        }
        saw_zero
    });
    body();
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap()
}

/// Switches to `to` through the executable with real pages shared, and
/// checks the value flipped, the pages were unmerged and run came back to 1.
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
    let mut output = None;
    let saw_zero = saw_zero_shared_during(|| output = Some(cmd.output().unwrap()));
    let out = output.unwrap();
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
    assert!(saw_zero, "pages_shared never reached 0 during the switch");
    assert_eq!(read("run"), 1, "run was not put back");
}

#[test]
fn switch_on_the_real_kernel_with_pages_shared() {
    if let Some(reason) = skip_reason() {
        skip(&format!("real-kernel KSM test: {reason}"));
        return;
    }
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
