//! `cargo bench --bench whole_process`: the release executable run exactly
//! as VDSM runs it (a `50_largeguest` symlink, a cleared environment,
//! `_hook_domxml`, the properties, exit code checked), alternating with `cp`
//! of the same file to a second path. Ratios are taken pair by pair so that
//! machine noise, which hits both halves of a pair alike, cancels.
//!
//! Options (after `--`): `--pairs N` sets the pairs per size (the scaling
//! tables use a third of it), `--write-xml DIR` only writes the generated
//! documents, their properties and the fake sysfs, `--no-scaling` skips the
//! scaling tables.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/domxml.rs"]
mod domxml;
#[path = "support/overrides.rs"]
mod overrides;
#[path = "support/stats.rs"]
mod stats;

use domxml::{Shape, SIZES};

/// A program, its arguments and its whole environment.
struct Job {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
}

impl Job {
    fn command(&self, wrapper: &[&OsStr]) -> Command {
        let mut command = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command
            .args(&self.args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        command.envs(self.env.iter().map(|(n, v)| (n, v)));
        // VDSM reads both from pipes; neither side of a pair prints much.
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    }

    /// Wall and CPU (user + system) milliseconds; anything but exit 0
    /// stops the benchmark. The CPU time is the child's alone, which other
    /// people's builds on the same cores stretch far less than the wall.
    fn run(&self) -> (f64, f64) {
        let mut command = self.command(&[]);
        let before = children_cpu_ms();
        let start = Instant::now();
        let status = command.status().expect("spawn");
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert!(status.success(), "{command:?} failed: {status}");
        (ms, children_cpu_ms() - before)
    }

    /// Peak RSS in KiB over a few runs, as GNU time reports it. Not from
    /// wait4 here: a child spawned by this process starts from this
    /// process's own high-water mark.
    fn peak_rss_kib(&self, out: &Path) -> Option<u64> {
        let time = Path::new("/usr/bin/time");
        if !time.exists() {
            return None;
        }
        let wrapper = [
            time.as_os_str(),
            "-f".as_ref(),
            "%M".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ];
        let mut peak = 0;
        for _ in 0..5 {
            let status = self.command(&wrapper).status().ok()?;
            assert!(
                status.success(),
                "{} failed under time",
                self.program.display()
            );
            peak = peak.max(fs::read_to_string(out).ok()?.trim().parse().ok()?);
        }
        Some(peak)
    }
}

/// A scratch folder with the hook entry, a fake sysfs and the documents.
struct Scene {
    dir: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let dir = std::env::temp_dir().join(format!("largeguest-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch folder");
        symlink(overrides::hook(), dir.join("50_largeguest")).expect("hook entry");
        overrides::allow_test_variables(&overrides::hook());
        write_sysfs(&dir.join("sys")).expect("fake sysfs");
        Scene { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn hook(&self, properties: Vec<(&'static str, String)>) -> Job {
        let mut env = vec![
            ("_hook_domxml", self.path("domxml").into_os_string()),
            ("LARGEGUEST_SYSFS_ROOT", self.path("sys").into_os_string()),
        ];
        env.extend(properties.into_iter().map(|(n, v)| (n, v.into())));
        Job {
            program: self.path("50_largeguest"),
            args: Vec::new(),
            env,
        }
    }

    fn baseline(&self, name: &str, args: &[&str]) -> Job {
        Job {
            program: which(name),
            args: args.iter().map(|a| self.path(a).into_os_string()).collect(),
            env: Vec::new(),
        }
    }

    /// The hook rewrites in place, so every run starts from the original.
    fn restore(&self) {
        fs::copy(self.path("original.xml"), self.path("domxml")).expect("restore");
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn which(name: &str) -> PathBuf {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no {name} in /usr/bin or /bin"))
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

/// Pair by pair times of the hook and its baseline.
#[derive(Default)]
struct Pairs {
    hook_ms: Vec<f64>,
    base_ms: Vec<f64>,
    ratios: Vec<f64>,
    cpu_ratios: Vec<f64>,
}

impl Pairs {
    /// `count` pairs after one warm-up pair; the order within a pair flips
    /// every time so that neither side always runs on a warmer cache.
    fn measure(
        count: usize,
        mut hook: impl FnMut() -> (f64, f64),
        mut base: impl FnMut() -> (f64, f64),
    ) -> Pairs {
        let mut pairs = Pairs::default();
        for i in 0..=count {
            let (h, b) = match i % 2 {
                0 => {
                    let h = hook();
                    (h, base())
                }
                _ => {
                    let b = base();
                    (hook(), b)
                }
            };
            if i > 0 {
                pairs.ratios.push(h.0 / b.0);
                pairs.cpu_ratios.push(h.1 / b.1);
                pairs.hook_ms.push(h.0);
                pairs.base_ms.push(b.0);
            }
        }
        pairs
    }

    /// The median ratio of the CPU times, and its p10-p90.
    fn cpu(&mut self) -> String {
        let (lo, hi) = stats::spread(&mut self.cpu_ratios);
        let ratio = stats::median(&mut self.cpu_ratios);
        format!("{ratio:.2} ({lo:.2}-{hi:.2})")
    }

    /// Hook median, baseline median, median ratio and its p10-p90.
    fn medians(&mut self) -> (f64, f64, f64, f64, f64) {
        let (lo, hi) = stats::spread(&mut self.ratios);
        (
            stats::median(&mut self.hook_ms),
            stats::median(&mut self.base_ms),
            stats::median(&mut self.ratios),
            lo,
            hi,
        )
    }
}

/// The hook on a fresh copy of the document each time, against `cp` of
/// that document to a second path.
fn against_cp(scene: &Scene, shape: &Shape, count: usize) -> (Pairs, Job, Job) {
    fs::write(scene.path("original.xml"), shape.domxml()).expect("write document");
    let hook = scene.hook(shape.properties());
    let cp = scene.baseline("cp", &["original.xml", "copy.xml"]);
    let run_hook = || {
        scene.restore();
        hook.run()
    };
    let pairs = Pairs::measure(count, run_hook, || cp.run());
    let written = fs::read_to_string(scene.path("domxml")).expect("read back");
    assert!(
        written.contains("<vcpupin"),
        "the hook did not rewrite the document"
    );
    (pairs, hook, cp)
}

fn options() -> (usize, Option<PathBuf>, bool) {
    let (mut count, mut write_xml, mut scaling) = (200, None, true);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pairs" => count = args.next().and_then(|n| n.parse().ok()).expect("--pairs N"),
            "--write-xml" => write_xml = args.next().map(PathBuf::from),
            "--no-scaling" => scaling = false,
            _ => {} // `--bench`, added by cargo
        }
    }
    (count, write_xml, scaling)
}

fn write_xml(dir: &Path) {
    fs::create_dir_all(dir).expect("output folder");
    for (name, shape) in SIZES {
        fs::write(dir.join(format!("{name}.xml")), shape.domxml()).expect("write");
        let env: String = shape
            .properties()
            .iter()
            .map(|(n, v)| format!("{n}={v}\n"))
            .collect();
        fs::write(dir.join(format!("{name}.properties")), env).expect("write");
    }
    write_sysfs(&dir.join("sys")).expect("fake sysfs");
}

fn verdict(ratio: f64, limit: f64, what: &str) -> String {
    match ratio <= limit {
        true => format!("{what}: met"),
        false => format!("{what}: MISSED"),
    }
}

fn rss(job: &Job, scene: &Scene, restore: bool) -> String {
    if restore {
        scene.restore();
    }
    match job.peak_rss_kib(&scene.path("rss")) {
        Some(kib) => kib.to_string(),
        None => "n/a".into(),
    }
}

fn main() {
    let (count, write_to, scaling) = options();
    if let Some(dir) = write_to {
        return write_xml(&dir);
    }
    let scene = Scene::new();
    println!("| case | pairs | hook median ms | baseline median ms | median ratio (p10-p90) | CPU time ratio (p10-p90) | hook peak RSS KiB | baseline peak RSS KiB | target |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, shape) in SIZES {
        let (mut pairs, hook, cp) = against_cp(&scene, &shape, count);
        let (h, b, ratio, lo, hi) = pairs.medians();
        let cpu = pairs.cpu();
        let (hook_rss, cp_rss) = (rss(&hook, &scene, true), rss(&cp, &scene, false));
        let target = match name {
            "typical" => verdict(ratio, 1.0, "<= 1.0x cp"),
            "huge" => {
                let small = hook_rss.parse::<f64>().map_or(f64::NAN, |k| k / 4096.0);
                format!(
                    "{}, {}",
                    verdict(ratio, 1.5, "<= 1.5x cp"),
                    verdict(small, 1.0, "<= 4 MiB")
                )
            }
            _ => String::new(),
        };
        let bytes = shape.domxml().len();
        println!("| {name} ({bytes} B) vs cp | {count} | {h:.3} | {b:.3} | {ratio:.2} ({lo:.2}-{hi:.2}) | {cpu} | {hook_rss} | {cp_rss} | {target} |");
    }
    // No property set: the hook must return before it opens the file.
    let (idle, true_) = (scene.hook(Vec::new()), scene.baseline("true", &[]));
    let mut pairs = Pairs::measure(count, || idle.run(), || true_.run());
    let (h, b, ratio, lo, hi) = pairs.medians();
    let cpu = pairs.cpu();
    let (idle_rss, true_rss) = (rss(&idle, &scene, false), rss(&true_, &scene, false));
    let target = verdict(ratio, 1.0, "<= 1.0x true");
    println!("| no property vs /bin/true | {count} | {h:.3} | {b:.3} | {ratio:.2} ({lo:.2}-{hi:.2}) | {cpu} | {idle_rss} | {true_rss} | {target} |");
    if scaling {
        let count = (count / 3).max(5);
        let by_pins = [16, 64, 256, 1024].map(|n| (f64::from(n), Shape::new(n, 2, 20)));
        scale(
            &scene,
            "vCPU pins (20 devices, 2 cells)",
            "pin",
            count,
            by_pins,
        );
        let by_size = [20, 300, 3000, 10000].map(|d| {
            let shape = Shape::new(16, 2, d);
            ((shape.domxml().len() as f64 / 1024.0).round(), shape)
        });
        scale(
            &scene,
            "document size (16 vCPUs, 2 cells)",
            "KiB",
            count,
            by_size,
        );
    }
}

/// Hook time against one variable, and the straight line through it.
fn scale(scene: &Scene, title: &str, unit: &str, count: usize, points: [(f64, Shape); 4]) {
    println!("\nScaling with {title}, {count} pairs each\n");
    println!("| {unit} | hook median ms | cp median ms | median ratio |\n|---|---|---|---|");
    let mut fitted = Vec::new();
    for (x, shape) in points {
        let (h, c, ratio, _, _) = against_cp(scene, &shape, count).0.medians();
        println!("| {x} | {h:.3} | {c:.3} | {ratio:.2} |");
        fitted.push((x, h));
    }
    let (intercept, slope, r2) = stats::fit(&fitted);
    println!(
        "\nfit: {intercept:.3} ms + {:.3} µs per {unit}, R² = {r2:.4}",
        slope * 1e3
    );
}

/// A fake sysfs with enough online CPUs and memory nodes for every shape:
/// the hook checks the pins against the host, and no real host here has
/// 1024 CPUs.
pub fn write_sysfs(root: &std::path::Path) -> std::io::Result<()> {
    let cpu = root.join("devices/system/cpu");
    let node = root.join("devices/system/node");
    std::fs::create_dir_all(&cpu)?;
    std::fs::create_dir_all(&node)?;
    std::fs::write(cpu.join("online"), "0-2047\n")?;
    std::fs::write(node.join("has_memory"), "0-7\n")
}
