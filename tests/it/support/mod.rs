//! What the tests share: the executable and how to run it with nothing of
//! the caller's environment, the one kind of temporary folder, fake sysfs
//! trees, and who the tests run as.

pub(crate) mod agreement;
pub(crate) mod ksm;
pub(crate) mod libvirt_reading;
#[macro_use]
pub(crate) mod samples;
pub(crate) mod scene;
pub(crate) mod strategies;

#[allow(dead_code)] // the benchmarks use the rest
#[path = "../../../benches/support/domxml.rs"]
pub(crate) mod domxml;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vdsm_hook_largeguest::commands::environment::OVERRIDES_MARKER;
use vdsm_hook_largeguest::host::paths::VARIABLES;
use vdsm_hook_largeguest::properties::Property;

/// The executable under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_vdsm-hook-largeguest");

/// What every line the executable writes on stderr starts with, before `: `.
pub(crate) const PROGRAM: &str = "vdsm-hook-largeguest";

/// Lets the built executable honour the `LARGEGUEST_*` test variables: it
/// does only where its folder holds this marker (`commands::environment`),
/// which no package installs. Every way the tests start it calls this.
pub(crate) fn allow_test_variables() {
    let marker = Path::new(BIN).with_file_name(OVERRIDES_MARKER);
    if !marker.is_file() {
        let why =
            "lets the LARGEGUEST_* test variables move the host's paths for the program here\n";
        fs::write(&marker, why).expect("the test variables' marker");
    }
}

/// The executable with no property and no test variable inherited from the
/// shell that runs the tests: each test sets what it means to.
pub(crate) fn program() -> assert_cmd::Command {
    assert_cmd::Command::from_std(std_program())
}

/// [`program`], as a `std::process::Command` (for pipes and setpriv).
pub(crate) fn std_program() -> std::process::Command {
    allow_test_variables();
    let mut command = std::process::Command::new(BIN);
    for property in Property::ALL {
        command.env_remove(property.name());
    }
    for name in VARIABLES.iter().chain(&["_hook_domxml"]) {
        command.env_remove(name);
    }
    command
}

pub(crate) fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/PATH`.
pub(crate) fn testdata(path: &str) -> PathBuf {
    manifest_dir().join("testdata").join(path)
}

/// A fake host of `testdata/sysfs/NAME`.
pub(crate) fn sysfs_tree(name: &str) -> PathBuf {
    testdata("sysfs").join(name)
}

/// The `## TITLE` section of the documentation (the README or a page of
/// `docs/`), up to the next `## `: the tests that check the documentation's
/// examples find them wherever the section lives.
pub(crate) fn documented_section(title: &str) -> String {
    let mut pages = vec![manifest_dir().join("README.md")];
    if let Ok(entries) = fs::read_dir(manifest_dir().join("docs")) {
        let mut docs: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        docs.sort();
        pages.extend(
            docs.into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "md")),
        );
    }
    let heading = format!("## {title}\n");
    for page in pages {
        let text = fs::read_to_string(&page).unwrap();
        if let Some(start) = text.find(&heading) {
            let rest = &text[start..];
            let end = rest[2..].find("\n## ").map_or(rest.len(), |at| at + 2);
            return rest[..end].to_string();
        }
    }
    panic!("no page of the documentation has a section {heading:?}");
}

/// How long one run of the executable may take before the test calls it
/// hung. A correct run ends in milliseconds, so this never decides a run a
/// busy machine makes slow; it only turns a hang (a read of a FIFO no one
/// writes, an endless loop) into a failure.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(120);

/// Copies the executable to `to` with `cp`, in a process of its own. A copy
/// written from this process would be open for writing, for an instant, in
/// any child another test thread forks meanwhile, and running the copy then
/// fails with ETXTBSY; `cp` is a child no other thread shares a file with.
pub(crate) fn copy_executable(to: &Path) {
    let status = std::process::Command::new("cp")
        .arg(BIN)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "cp {BIN} {}", to.display());
}

/// Sets the modification time of `root` and of everything under it to one
/// long past, so that a test comparing times before and after a run sees
/// any write, however coarse the file system's clock.
pub(crate) fn backdate(root: &Path) {
    let past = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            stack.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        if meta.is_file() || meta.is_dir() {
            fs::File::open(&path).unwrap().set_modified(past).unwrap();
        }
    }
}

/// Writes each `(path, text)` under `root`, making the folders on the way:
/// a fake sysfs or procfs tree of exactly these files.
pub(crate) fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

/// Copies the tree `from` to `to`, files and folders only: a recorded tree
/// to edit, or a fake sysfs to write into.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        match entry.file_type().unwrap().is_dir() {
            true => copy_tree(&entry.path(), &target),
            false => {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}

/// A temporary folder of its own, removed on drop. It lives in the system's
/// temporary folder and every user may enter it, so that a test running as
/// root can run the executable as `nobody` on what it holds.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    /// `tag` says which test made it; it may hold any character a path can.
    pub(crate) fn new(tag: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("largeguest-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// A `&TempDir` goes wherever a `&Path` does.
impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    /// Folders a test made read-only are opened again first, or an
    /// unprivileged run could not remove what they hold.
    fn drop(&mut self) {
        if fs::remove_dir_all(&self.0).is_ok() {
            return;
        }
        let mut stack = vec![self.0.clone()];
        while let Some(dir) = stack.pop() {
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o755));
            if let Ok(entries) = fs::read_dir(&dir) {
                stack.extend(
                    entries
                        .filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.path()),
                );
            }
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// For the tests marked `#[ignore = "needs root"]`: run without root (as
/// `--include-ignored` would), they fail saying so instead of passing.
pub(crate) fn needs_root() {
    assert!(
        is_root(),
        "this test needs root; without root, run the tests without --include-ignored"
    );
}

/// How a run of the executable ended, its output as text.
pub(crate) struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Outcome {
    fn from(output: std::process::Output) -> Outcome {
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl Outcome {
    /// The exit code and both outputs, as a snapshot shows them.
    pub(crate) fn transcript(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code.unwrap_or(-1),
            self.stdout,
            self.stderr
        )
    }
}

pub(crate) fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
