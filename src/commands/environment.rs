//! The process's environment, read here and nowhere below: the custom
//! properties VDSM passes, `_hook_domxml`, and the test variables that move
//! the host's paths into fake trees.
//!
//! VDSM puts every custom property of a VM into the hook's environment, and
//! the engine takes any property name of letters, digits and `_`
//! (`CustomPropertiesUtils`, `[a-z_A-Z0-9]+`), so a VM's owner could set
//! `LARGEGUEST_MOM_CONF` and, were it honoured, make the KSM entry believe
//! MoM is not there. So the test variables count only where the folder
//! holding the executable holds a file named [`OVERRIDES_MARKER`], owned by
//! root or by the executable's owner: only who could replace the program
//! could have put it there. A build tree gets one from the tests; the package installs
//! none, so an installed hook reads the real host whatever its environment
//! holds.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::host::paths::HostPaths;

/// The file beside the executable that lets the test variables count.
pub const OVERRIDES_MARKER: &str = "largeguest-test-overrides";

/// Where the host's files are, decided once for the process.
pub fn host_paths() -> &'static HostPaths {
    static PATHS: OnceLock<HostPaths> = OnceLock::new();
    PATHS.get_or_init(|| {
        let exe = std::env::current_exe();
        match exe.is_ok_and(|exe| overrides_allowed(&exe)) {
            true => HostPaths::overridden(|name| std::env::var_os(name)),
            false => HostPaths::real(),
        }
    })
}

/// Whether the folder of `exe` (the program, its symlinks resolved) holds
/// the marker, as a regular file of root or of the program's owner.
pub fn overrides_allowed(exe: &Path) -> bool {
    let Some(folder) = exe.parent() else {
        return false;
    };
    let marker = fs::symlink_metadata(folder.join(OVERRIDES_MARKER));
    match (fs::metadata(exe), marker) {
        (Ok(exe), Ok(marker)) => {
            marker.file_type().is_file() && (marker.uid() == 0 || marker.uid() == exe.uid())
        }
        _ => false,
    }
}

/// A variable as VDSM set it, if it did.
pub fn variable(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_marker_file_beside_the_program_allows_the_overrides() {
        let dir = std::env::temp_dir().join(format!("largeguest-env-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("program");
        fs::write(&exe, "").unwrap();
        assert!(!overrides_allowed(&exe), "no marker");
        let marker = dir.join(OVERRIDES_MARKER);
        std::os::unix::fs::symlink(&exe, &marker).unwrap();
        assert!(!overrides_allowed(&exe), "a symlink is not the marker");
        fs::remove_file(&marker).unwrap();
        fs::create_dir(&marker).unwrap();
        assert!(!overrides_allowed(&exe), "a folder is not the marker");
        fs::remove_dir(&marker).unwrap();
        fs::write(&marker, "").unwrap();
        assert!(overrides_allowed(&exe));
        assert!(!overrides_allowed(Path::new("/")), "no folder");
        fs::remove_dir_all(&dir).unwrap();
    }
}
