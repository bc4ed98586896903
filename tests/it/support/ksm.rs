//! Fake sysfs and procfs trees with an emulated ksmd, for the KSM tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use assert_cmd::Command;

use super::{is_root, program, TempDir};

pub(crate) const NOBODY: u32 = 65534;

/// A fake host: `sys/kernel/mm/ksm`, two NUMA nodes, `proc/meminfo`.
pub(crate) struct FakeHost {
    pub dir: TempDir,
}

impl FakeHost {
    /// merge_across_nodes=`merge`, run=`run`, `shared` pages shared by
    /// `sharing` mappings, 16 GiB of RAM of which 12 GiB available.
    pub(crate) fn new(merge: u64, run: u64, shared: u64, sharing: u64) -> FakeHost {
        let dir = TempDir::new("ksm");
        let host = FakeHost { dir };
        fs::create_dir_all(host.ksm_dir()).unwrap();
        for node in ["node0", "node1"] {
            fs::create_dir_all(host.sysfs().join("devices/system/node").join(node)).unwrap();
        }
        fs::create_dir_all(host.procfs()).unwrap();
        for (name, value) in [
            ("merge_across_nodes", merge),
            ("run", run),
            ("pages_shared", shared),
            ("pages_sharing", sharing),
            ("pages_unshared", 7),
            ("pages_to_scan", 100),
            ("sleep_millisecs", 20),
            ("full_scans", 3),
        ] {
            host.set(name, value);
        }
        host.set_meminfo(16 << 20, 12 << 20);
        host
    }

    pub(crate) fn sysfs(&self) -> PathBuf {
        self.dir.0.join("sys")
    }

    pub(crate) fn procfs(&self) -> PathBuf {
        self.dir.0.join("proc")
    }

    pub(crate) fn ksm_dir(&self) -> PathBuf {
        self.sysfs().join("kernel/mm/ksm")
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.sysfs().join("vdsm-hook-largeguest-ksm.lock")
    }

    /// Atomic (rename), so the executable never reads a half-written counter.
    pub(crate) fn set(&self, name: &str, value: u64) {
        set_counter(&self.ksm_dir(), name, value);
    }

    pub(crate) fn get(&self, name: &str) -> u64 {
        get_counter(&self.ksm_dir(), name).expect("fake counter")
    }

    pub(crate) fn set_meminfo(&self, total_kib: u64, available_kib: u64) {
        fs::write(
            self.procfs().join("meminfo"),
            format!(
                "MemTotal:       {total_kib} kB\nMemFree:        1024 kB\nMemAvailable:   {available_kib} kB\n"
            ),
        )
        .unwrap();
    }

    /// The executable with this host's overrides and no KSM property.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = program();
        cmd.envs(self.overrides());
        cmd
    }

    /// The test variables pointing at this tree. MoM's configuration is a
    /// file that does not exist, so that no MoM manages KSM here, even on a
    /// host with VDSM.
    pub(crate) fn overrides(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("LARGEGUEST_SYSFS_ROOT", self.sysfs()),
            ("LARGEGUEST_PROCFS_ROOT", self.procfs()),
            ("LARGEGUEST_MOM_CONF", self.dir.0.join("no-mom.conf")),
        ]
    }

    /// An emulated ksmd on this tree (see [`FakeKsmd`]).
    pub(crate) fn ksmd(&self, unmerge_after: Duration, remerge: Option<u64>) -> FakeKsmd {
        FakeKsmd::start(self.ksm_dir(), unmerge_after, remerge)
    }
}

fn set_counter(dir: &Path, name: &str, value: u64) {
    let tmp = dir.join(format!(".{name}.tmp"));
    fs::write(&tmp, format!("{value}\n")).unwrap();
    fs::rename(&tmp, dir.join(name)).unwrap();
}

fn get_counter(dir: &Path, name: &str) -> Option<u64> {
    fs::read_to_string(dir.join(name)).ok()?.trim().parse().ok()
}

/// Plays ksmd: some time after `run` becomes 2 it unmerges everything
/// (pages_shared and pages_sharing go to 0). With `remerge`, once `run` is 1
/// again it merges `remerge` pages anew, so every later switch has work to do.
pub(crate) struct FakeKsmd {
    stop: Arc<AtomicBool>,
    saw_run_2: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl FakeKsmd {
    fn start(dir: PathBuf, unmerge_after: Duration, remerge: Option<u64>) -> FakeKsmd {
        let stop = Arc::new(AtomicBool::new(false));
        let saw_run_2 = Arc::new(AtomicUsize::new(0));
        let (stop_flag, seen) = (stop.clone(), saw_run_2.clone());
        let thread = thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) {
                let run = get_counter(&dir, "run");
                let shared = get_counter(&dir, "pages_shared").unwrap_or(0);
                if run == Some(2) && shared > 0 {
                    seen.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(unmerge_after);
                    set_counter(&dir, "pages_shared", 0);
                    set_counter(&dir, "pages_sharing", 0);
                } else if let (Some(1), 0, Some(pages)) = (run, shared, remerge) {
                    set_counter(&dir, "pages_sharing", pages * 3);
                    set_counter(&dir, "pages_shared", pages);
                }
                thread::sleep(Duration::from_millis(2));
            }
        });
        FakeKsmd {
            stop,
            saw_run_2,
            thread: Some(thread),
        }
    }

    /// How many times it found run=2 with pages to unmerge.
    pub(crate) fn unmerges(&self) -> usize {
        self.saw_run_2.load(Ordering::SeqCst)
    }
}

impl Drop for FakeKsmd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

/// `program` as an unprivileged user: directly when the tests are not root,
/// else through setpriv (util-linux) as `nobody`.
pub(crate) fn as_nobody(program: &Path) -> std::process::Command {
    if !is_root() {
        return std::process::Command::new(program);
    }
    assert!(
        Path::new("/usr/bin/setpriv").exists(),
        "running as root, the test runs the executable as nobody through /usr/bin/setpriv (util-linux), which is missing"
    );
    let mut cmd = std::process::Command::new("/usr/bin/setpriv");
    cmd.arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(program);
    cmd
}

/// Gives the whole tree to `nobody` (when root), so that only the mode bits
/// a test sets decide what the unprivileged executable may write.
pub(crate) fn give_to_nobody(dir: &Path) {
    if !is_root() {
        return;
    }
    for entry in walk(dir) {
        std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if dir.is_dir() {
        for entry in fs::read_dir(dir).unwrap() {
            out.extend(walk(&entry.unwrap().path()));
        }
    }
    out
}

/// MoM's configuration as VDSM installs it, in the host's tree: the KSM
/// controller, a policy folder whose KSM policy sets the control, and the
/// RPC socket.
pub(crate) fn mom_conf(host: &FakeHost, rpc: bool) -> PathBuf {
    let etc = host.dir.0.join("etc/vdsm");
    let policies = etc.join("mom.d");
    fs::create_dir_all(&policies).unwrap();
    fs::write(
        policies.join("00-defines.policy"),
        "(defvar False 0)\n(defvar True 1)\n(defvar ksmMergeAcrossNodes 1)\n(defvar ksmEnabled 1)\n",
    )
    .unwrap();
    fs::write(
        policies.join("03-ksm.policy"),
        "# Reset ksm_merge_across_nodes when there are no shared pages\n\
         (if (== Host.ksm_pages_shared 0)\n    (Host.Control \"ksm_merge_across_nodes\" ksmMergeAcrossNodes)\n    0)\n",
    )
    .unwrap();
    let rpc_port = match rpc {
        true => socket(host).display().to_string(),
        false => "-1".to_string(),
    };
    let conf = etc.join("mom.conf");
    fs::write(
        &conf,
        format!(
            "[main]\npolicy-engine-interval: 15\ncontrollers: Balloon, KSM, CpuTune, IoTune\n\
             rpc-port: {rpc_port}\npolicy-dir: {}\n[host]\ncollectors: HostMemory, HostKSM, HostCpu\n",
            policies.display()
        ),
    )
    .unwrap();
    conf
}

pub(crate) fn socket(host: &FakeHost) -> PathBuf {
    host.dir.0.join("mom-vdsm.sock")
}
