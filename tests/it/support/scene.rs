//! A scratch folder laid out as VDSM and the host present it to the hook:
//! a hook entry (a symlink to the executable), the domain XML in `vm/`, and
//! a fake sysfs the host checks read.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use assert_cmd::Command;

use super::{TempDir, BIN, HANG_GUARD};

/// Removed with everything in it when dropped, read-only folders included.
pub(crate) struct Scene {
    pub dir: PathBuf,
    _folder: TempDir,
}

impl Scene {
    /// A host with CPUs 0-3 online and memory on nodes 0-1. The folder is
    /// one every user can reach, so that a test as root can run the hook as
    /// `nobody` on it.
    pub(crate) fn new(xml: &[u8]) -> Scene {
        let folder = TempDir::new("scene");
        let dir = folder.0.clone();
        fs::create_dir_all(dir.join("vm")).unwrap();
        fs::write(dir.join("vm/domxml"), xml).unwrap();
        let scene = Scene {
            dir,
            _folder: folder,
        };
        scene.sysfs("0-3", Some("0-1"));
        scene
    }

    pub(crate) fn domxml(&self) -> PathBuf {
        self.dir.join("vm/domxml")
    }

    /// Replaces the fake sysfs: the online CPUs and the nodes with memory
    /// (`None`: a kernel without NUMA).
    pub(crate) fn sysfs(&self, online: &str, memory_nodes: Option<&str>) {
        let root = self.dir.join("sys");
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("devices/system/cpu")).unwrap();
        fs::write(
            root.join("devices/system/cpu/online"),
            format!("{online}\n"),
        )
        .unwrap();
        if let Some(nodes) = memory_nodes {
            fs::create_dir_all(root.join("devices/system/node")).unwrap();
            let has_memory = root.join("devices/system/node/has_memory");
            fs::write(has_memory, format!("{nodes}\n")).unwrap();
        }
    }

    /// The hook as VDSM starts it: by its entry's path, environment cleared.
    pub(crate) fn hook(&self, entry: &str, properties: &[(&str, impl AsRef<OsStr>)]) -> Command {
        let link = self.dir.join(entry);
        if fs::symlink_metadata(&link).is_err() {
            super::allow_test_variables();
            symlink(BIN, &link).unwrap();
        }
        let mut cmd = Command::new(link);
        cmd.env_clear()
            .env("_hook_domxml", self.domxml())
            .env("vmId", "6f1c2b8e-4d3a-4c1e-9a57-2b0e4c7d9f10")
            .env("LARGEGUEST_SYSFS_ROOT", self.dir.join("sys"))
            // An executable where the hook looks for numad, so that
            // numatune=auto is written; the numad tests point elsewhere.
            .env("LARGEGUEST_NUMAD", "/bin/true")
            .timeout(HANG_GUARD);
        for (name, value) in properties {
            cmd.env(name, value);
        }
        cmd
    }

    /// The `before_vm_start` rewrite entry.
    pub(crate) fn run(&self, properties: &[(&str, &str)]) -> Command {
        self.hook("50_largeguest", properties)
    }

    /// What the VM folder holds, sorted: only `domxml` unless a temporary
    /// file was left behind.
    pub(crate) fn files_in_vm(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.join("vm"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
