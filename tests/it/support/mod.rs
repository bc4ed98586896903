//! What the tests share: the executable and how to run it with nothing of
//! the caller's environment, the one kind of temporary folder, fake sysfs
//! trees, and who the tests run as.

pub mod agreement;
pub mod ksm;
pub mod libvirt_reading;
#[macro_use]
pub mod samples;
pub mod scene;
pub mod strategies;

#[allow(dead_code)] // the benchmarks use the rest
#[path = "../../../benches/support/domxml.rs"]
pub mod domxml;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use vdsm_hook_largeguest::properties::Property;

/// The executable under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vdsm-hook-largeguest");

/// What every line the executable writes on stderr starts with, before `: `.
pub const PROGRAM: &str = "vdsm-hook-largeguest";

/// The variables that point the executable at other trees than the host's.
const TEST_VARIABLES: [&str; 5] = [
    "LARGEGUEST_SYSFS_ROOT",
    "LARGEGUEST_PROCFS_ROOT",
    "LARGEGUEST_MOM_CONF",
    "LARGEGUEST_NUMAD",
    "LARGEGUEST_RUN_ROOT",
];

/// The executable with no property and no test variable inherited from the
/// shell that runs the tests: each test sets what it means to.
pub fn program() -> assert_cmd::Command {
    assert_cmd::Command::from_std(std_program())
}

/// [`program`], as a `std::process::Command` (for pipes and setpriv).
pub fn std_program() -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    for property in Property::ALL {
        command.env_remove(property.name());
    }
    for name in TEST_VARIABLES.iter().chain(&["_hook_domxml"]) {
        command.env_remove(name);
    }
    command
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/PATH`.
pub fn testdata(path: &str) -> PathBuf {
    manifest_dir().join("testdata").join(path)
}

/// A fake host of `testdata/sysfs/NAME`.
pub fn sysfs_tree(name: &str) -> PathBuf {
    testdata("sysfs").join(name)
}

/// Writes each `(path, text)` under `root`, making the folders on the way:
/// a fake sysfs or procfs tree of exactly these files.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

/// Copies the tree `from` to `to`, files and folders only: a recorded tree
/// to edit, or a fake sysfs to write into.
pub fn copy_tree(from: &Path, to: &Path) {
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
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `tag` says which test made it; it may hold any character a path can.
    pub fn new(tag: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("largeguest-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
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

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
