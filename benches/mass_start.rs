//! `cargo bench --bench mass_start`: a host after a failover, VDSM starting
//! 64 VMs at once, each running every hook entry. Three batches of 64
//! processes started together, each against 64 `cp`s started together:
//!
//! - the rewrite entry (`50_largeguest`) on 64 different documents;
//! - the KSM entry (`60_largeguest_ksm`), every VM asking for
//!   `merge_across_nodes=0` on a host at 1, so that only the first to take
//!   the lock switches, with no MoM (run as root: switched in a fake tree);
//! - the KSM entry where MoM manages KSM (its configuration in the fake
//!   tree) and keeps 0: nothing is written, every VM is satisfied.
//!
//! After every batch each run is checked: exit 0, the document the same as a
//! run on its own makes, exactly one switch and 63 "already", run put back,
//! no KSM file written under MoM, the lock free, no temporary file left. The
//! wall time runs from the first spawn to the last exit; the batches of the
//! hook and of `cp` alternate, the order flipping every round.
//!
//! Options (after `--`): `--rounds N` (default 30), `--vms N` (default 64).

use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

// Shared with the other benchmarks, which use the parts this one does not.
#[allow(dead_code)]
#[path = "support/domxml.rs"]
mod domxml;
#[path = "support/overrides.rs"]
mod overrides;
#[allow(dead_code)]
#[path = "support/stats.rs"]
mod stats;

use domxml::Shape;

const LOCK_NAME: &str = "vdsm-hook-largeguest-ksm.lock";

/// One process of a batch: program, arguments, environment.
struct Run {
    program: PathBuf,
    args: Vec<PathBuf>,
    env: Vec<(&'static str, String)>,
}

impl Run {
    fn spawn(&self) -> Child {
        Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // VDSM reads the hook's stderr from a pipe; the checks read it too.
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    }
}

/// Starts every run, then waits for all: milliseconds from the first
/// spawn to the last exit, the CPU milliseconds all of them used (which
/// other people's builds on the same cores stretch far less than the
/// wall), and what each printed.
fn batch(runs: &[Run]) -> (f64, f64, Vec<Output>) {
    let cpu = children_cpu_ms();
    let start = Instant::now();
    let children: Vec<Child> = runs.iter().map(Run::spawn).collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let wall = start.elapsed().as_secs_f64() * 1e3;
    (wall, children_cpu_ms() - cpu, outputs)
}

/// CPU time of every waited-for child so far, in milliseconds.
fn children_cpu_ms() -> f64 {
    // SAFETY: getrusage fills the struct it is given; all-zero is a valid one.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN and a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn all_succeeded(outputs: &[Output], what: &str) {
    for (i, out) in outputs.iter().enumerate() {
        assert!(out.status.success(), "{what} #{i} failed: {}", stderr(out));
    }
}

/// The scratch tree: hook entries, documents, a fake sysfs and procfs with
/// a KSM folder, and MoM's configuration for the MoM case.
struct Scene {
    dir: PathBuf,
    vms: usize,
}

impl Scene {
    fn new(vms: usize) -> Scene {
        let dir = std::env::temp_dir().join(format!("largeguest-mass-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("vm")).expect("scratch folder");
        for entry in ["50_largeguest", "60_largeguest_ksm"] {
            symlink(overrides::hook(), dir.join(entry)).expect("hook entry");
        }
        overrides::allow_test_variables(&overrides::hook());
        let scene = Scene { dir, vms };
        scene.write_host();
        scene
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn ksm(&self) -> PathBuf {
        self.path("sys/kernel/mm/ksm")
    }

    fn write_host(&self) {
        let sys = self.path("sys");
        fs::create_dir_all(sys.join("devices/system/cpu")).unwrap();
        fs::write(sys.join("devices/system/cpu/online"), "0-63\n").unwrap();
        for node in ["node0", "node1"] {
            fs::create_dir_all(sys.join("devices/system/node").join(node)).unwrap();
        }
        fs::write(sys.join("devices/system/node/has_memory"), "0-1\n").unwrap();
        fs::create_dir_all(self.ksm()).unwrap();
        // Nothing shared: the switch's own cost, not a wait for ksmd.
        for (name, value) in [
            ("merge_across_nodes", 1),
            ("run", 1),
            ("pages_shared", 0),
            ("pages_sharing", 0),
            ("pages_volatile", 0),
        ] {
            self.set(name, value);
        }
        fs::create_dir_all(self.path("proc")).unwrap();
        fs::write(
            self.path("proc/meminfo"),
            "MemTotal: 16777216 kB\nMemFree: 1024 kB\nMemAvailable: 12582912 kB\n",
        )
        .unwrap();
        let policies = self.path("etc/vdsm/mom.d");
        fs::create_dir_all(&policies).unwrap();
        fs::write(
            policies.join("03-ksm.policy"),
            "(if (== Host.ksm_pages_shared 0)\n    (Host.Control \"ksm_merge_across_nodes\" ksmMergeAcrossNodes)\n    0)\n",
        )
        .unwrap();
        // No RPC socket: the kernel's value stands in for the cluster's.
        fs::write(
            self.path("etc/vdsm/mom.conf"),
            format!(
                "[main]\ncontrollers: Balloon, KSM, CpuTune, IoTune\nrpc-port: -1\npolicy-dir: {}\n",
                policies.display()
            ),
        )
        .unwrap();
    }

    fn set(&self, name: &str, value: u64) {
        fs::write(self.ksm().join(name), format!("{value}\n")).unwrap();
    }

    fn get(&self, name: &str) -> u64 {
        let text = fs::read_to_string(self.ksm().join(name)).unwrap();
        text.trim().parse().unwrap()
    }

    fn domxml(&self, vm: usize) -> PathBuf {
        self.path(&format!("vm/{vm}.xml"))
    }

    fn original(&self, vm: usize) -> PathBuf {
        self.path(&format!("vm/{vm}.orig"))
    }

    /// 64 different VMs: 8 to 32 vCPUs, 10 to 73 devices.
    fn shape(vm: usize) -> Shape {
        Shape::new(8 * (1 + (vm % 4) as u32), 2, 10 + vm as u32)
    }

    fn rewrites(&self) -> Vec<Run> {
        (0..self.vms)
            .map(|vm| {
                let mut env = vec![
                    ("_hook_domxml", self.domxml(vm).display().to_string()),
                    (
                        "LARGEGUEST_SYSFS_ROOT",
                        self.path("sys").display().to_string(),
                    ),
                ];
                env.extend(Self::shape(vm).properties());
                Run {
                    program: self.path("50_largeguest"),
                    args: Vec::new(),
                    env,
                }
            })
            .collect()
    }

    fn ksm_entries(&self, mom: bool) -> Vec<Run> {
        let conf = match mom {
            true => self.path("etc/vdsm/mom.conf"),
            false => self.path("etc/vdsm/no-mom.conf"),
        };
        (0..self.vms)
            .map(|_| Run {
                program: self.path("60_largeguest_ksm"),
                args: Vec::new(),
                env: vec![
                    ("ksm_merge_across_nodes", "0".into()),
                    (
                        "LARGEGUEST_SYSFS_ROOT",
                        self.path("sys").display().to_string(),
                    ),
                    (
                        "LARGEGUEST_PROCFS_ROOT",
                        self.path("proc").display().to_string(),
                    ),
                    ("LARGEGUEST_MOM_CONF", conf.display().to_string()),
                ],
            })
            .collect()
    }

    fn copies(&self) -> Vec<Run> {
        (0..self.vms)
            .map(|vm| Run {
                program: PathBuf::from("/bin/cp"),
                args: vec![self.original(vm), self.path(&format!("vm/{vm}.copy"))],
                env: Vec::new(),
            })
            .collect()
    }

    fn restore_documents(&self) {
        for vm in 0..self.vms {
            fs::copy(self.original(vm), self.domxml(vm)).unwrap();
        }
    }

    fn lock_path(&self) -> PathBuf {
        self.path("sys").join(LOCK_NAME)
    }

    /// The lock is free: no switch is still holding it.
    fn lock_is_free(&self) -> bool {
        match File::open(self.lock_path()) {
            Ok(file) => file.try_lock().is_ok(),
            Err(_) => true,
        }
    }

    fn vm_folder(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path("vm"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What one of the three cases does before a batch, and checks after it.
trait Case {
    fn title(&self) -> &'static str;
    fn runs(&self) -> &[Run];
    fn prepare(&self);
    fn check(&self, outputs: &[Output]);
}

struct Rewrite<'s> {
    scene: &'s Scene,
    runs: Vec<Run>,
    expected: Vec<Vec<u8>>,
}

impl<'s> Rewrite<'s> {
    /// Each document as a run on its own rewrites it.
    fn new(scene: &'s Scene) -> Rewrite<'s> {
        for vm in 0..scene.vms {
            fs::write(scene.original(vm), Scene::shape(vm).domxml()).unwrap();
        }
        scene.restore_documents();
        let runs = scene.rewrites();
        let expected = runs
            .iter()
            .enumerate()
            .map(|(vm, run)| {
                let out = run.spawn().wait_with_output().unwrap();
                assert!(out.status.success(), "solo run: {}", stderr(&out));
                let text = fs::read(scene.domxml(vm)).unwrap();
                assert!(String::from_utf8_lossy(&text).contains("<vcpupin"));
                text
            })
            .collect();
        Rewrite {
            scene,
            runs,
            expected,
        }
    }
}

impl Case for Rewrite<'_> {
    fn title(&self) -> &'static str {
        "rewrite entry, 64 different documents"
    }
    fn runs(&self) -> &[Run] {
        &self.runs
    }
    fn prepare(&self) {
        self.scene.restore_documents();
    }
    fn check(&self, outputs: &[Output]) {
        all_succeeded(outputs, "rewrite");
        for (vm, expected) in self.expected.iter().enumerate() {
            let text = fs::read(self.scene.domxml(vm)).unwrap();
            assert!(&text == expected, "document {vm} differs from its solo run");
        }
        assert_eq!(
            self.scene.vm_folder(),
            Vec::<String>::new(),
            "temporary files left"
        );
    }
}

struct Ksm<'s> {
    scene: &'s Scene,
    mom: bool,
    runs: Vec<Run>,
}

impl Case for Ksm<'_> {
    fn title(&self) -> &'static str {
        match self.mom {
            false => "KSM entry, no MoM, the first switches",
            true => "KSM entry, MoM keeps 0",
        }
    }
    fn runs(&self) -> &[Run] {
        &self.runs
    }
    fn prepare(&self) {
        self.scene.set("merge_across_nodes", u64::from(!self.mom));
        self.scene.set("run", 1);
        if self.mom {
            let _ = fs::remove_file(self.scene.lock_path());
        }
    }
    fn check(&self, outputs: &[Output]) {
        all_succeeded(outputs, self.title());
        let said: Vec<String> = outputs.iter().map(stderr).collect();
        let switched = said
            .iter()
            .filter(|s| s.contains("switched 1 -> 0"))
            .count();
        let already = said.iter().filter(|s| s.contains("is already 0")).count();
        let switches = usize::from(!self.mom);
        assert_eq!(
            (switched, already),
            (switches, self.runs.len() - switches),
            "{said:?}"
        );
        if self.mom {
            assert!(said.iter().all(|s| s.contains("the value MoM keeps")));
        }
        assert_eq!(self.scene.get("merge_across_nodes"), 0);
        assert_eq!(self.scene.get("run"), 1, "run=2 left behind");
        assert!(self.scene.lock_is_free(), "the lock is still held");
        if self.mom {
            assert!(
                !self.scene.lock_path().exists(),
                "a run took the lock under MoM"
            );
        }
    }
}

/// `rounds` rounds of the case's batch against 64 `cp`s: per-round ratio.
fn measure(case: &dyn Case, copies: &[Run], rounds: usize) -> String {
    let (mut hook_ms, mut cp_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut cpu_ratios = Vec::new();
    let run_case = || {
        case.prepare();
        let (ms, cpu, outputs) = batch(case.runs());
        case.check(&outputs);
        (ms, cpu)
    };
    let run_cp = || {
        let (ms, cpu, outputs) = batch(copies);
        all_succeeded(&outputs, "cp");
        (ms, cpu)
    };
    for round in 0..=rounds {
        let (h, c) = match round % 2 {
            0 => {
                let h = run_case();
                (h, run_cp())
            }
            _ => {
                let c = run_cp();
                (run_case(), c)
            }
        };
        if round > 0 {
            hook_ms.push(h.0);
            cp_ms.push(c.0);
            ratios.push(h.0 / c.0);
            cpu_ratios.push(h.1 / c.1);
        }
    }
    let (lo, hi) = stats::spread(&mut ratios);
    let ratio = stats::median(&mut ratios);
    let (cpu_lo, cpu_hi) = stats::spread(&mut cpu_ratios);
    let cpu = stats::median(&mut cpu_ratios);
    let verdict = if ratio <= 1.5 { "met" } else { "MISSED" };
    format!(
        "| {} | {rounds} | {:.1} | {:.1} | {ratio:.2} ({lo:.2}-{hi:.2}) | {cpu:.2} ({cpu_lo:.2}-{cpu_hi:.2}) | <= 1.5x: {verdict} |",
        case.title(),
        stats::median(&mut hook_ms),
        stats::median(&mut cp_ms),
    )
}

fn options() -> (usize, usize) {
    let (mut rounds, mut vms) = (30, 64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N");
            }
            "--vms" => vms = args.next().and_then(|n| n.parse().ok()).expect("--vms N"),
            _ => {} // `--bench`, added by cargo
        }
    }
    (rounds, vms)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn main() {
    let (rounds, vms) = options();
    let scene = Scene::new(vms);
    let rewrite = Rewrite::new(&scene);
    let cp = scene.copies();
    println!(
        "{vms} hook runs started at once against {vms} `cp`s of the documents started at once\n"
    );
    println!("| batch of {vms} | rounds | hook median ms | cp median ms | median ratio (p10-p90) | CPU time ratio (p10-p90) | target |");
    println!("|---|---|---|---|---|---|---|");
    println!("{}", measure(&rewrite, &cp, rounds));
    let mut cases = vec![Ksm {
        scene: &scene,
        mom: true,
        runs: scene.ksm_entries(true),
    }];
    // As VDSM's user the switch goes through sudo to the real host's KSM;
    // only root switches in the fake tree.
    match is_root() {
        true => cases.insert(
            0,
            Ksm {
                scene: &scene,
                mom: false,
                runs: scene.ksm_entries(false),
            },
        ),
        false => eprintln!("not root: the KSM switch without MoM is skipped"),
    }
    for case in &cases {
        println!("{}", measure(case, &cp, rounds));
    }
}
