//! `HostLimits::read` on small trees built per test: the cases the hook's
//! host checks depend on, and files that are not what sysfs would hold.

use crate::support::{write_tree, TempDir};
use vdsm_hook_largeguest::host::files::FileError;
use vdsm_hook_largeguest::host::topology::{HostLimits, TopologyError};

fn tree(name: &str, files: &[(&str, &str)]) -> TempDir {
    let root = TempDir::new(name);
    write_tree(root.path(), files);
    root
}

#[test]
fn numa_host_gives_online_cpus_and_nodes_with_memory() {
    let root = tree(
        "numa",
        &[
            ("devices/system/cpu/online", "0-5,8-11\n"),
            ("devices/system/node/online", "0-2\n"),
            ("devices/system/node/has_memory", "0,2\n"),
        ],
    );
    let limits = HostLimits::read(root.path(), std::path::Path::new("/proc")).unwrap();
    assert_eq!(limits.online_cpus.to_string(), "0-5,8-11");
    assert_eq!(limits.memory_nodes.to_string(), "0,2");
}

#[test]
fn kernel_without_numa_has_node_zero() {
    let root = tree("flat", &[("devices/system/cpu/online", "0-3\n")]);
    let limits = HostLimits::read(root.path(), std::path::Path::new("/proc")).unwrap();
    assert_eq!(limits.online_cpus.to_string(), "0-3");
    assert_eq!(limits.memory_nodes.to_string(), "0");
}

#[test]
fn missing_file_is_named() {
    let root = tree("missing", &[("devices/system/node/has_memory", "0\n")]);
    let err = HostLimits::read(root.path(), std::path::Path::new("/proc")).unwrap_err();
    assert!(
        matches!(err, TopologyError::File(FileError::Read { .. })),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("devices/system/cpu/online"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn garbage_is_refused_without_repeating_it() {
    let root = tree(
        "garbage",
        &[
            ("devices/system/cpu/online", "0-3\n"),
            ("devices/system/node/has_memory", "secret-token\n"),
        ],
    );
    let text = HostLimits::read(root.path(), std::path::Path::new("/proc"))
        .unwrap_err()
        .to_string();
    assert!(text.contains("has_memory"), "{text}");
    assert!(text.contains("column 1"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn a_directory_or_huge_file_is_not_sysfs() {
    let root = tree(
        "huge",
        &[("devices/system/cpu/online", &"0,".repeat(40_000))],
    );
    let err = HostLimits::read(root.path(), std::path::Path::new("/proc")).unwrap_err();
    assert!(
        matches!(err, TopologyError::File(FileError::NotAKernelFile { .. })),
        "{err:?}"
    );
    let root = tree("dir", &[("devices/system/cpu/online/x", "0\n")]);
    let err = HostLimits::read(root.path(), std::path::Path::new("/proc")).unwrap_err();
    assert!(
        matches!(
            err,
            TopologyError::File(FileError::NotAKernelFile { .. } | FileError::Read { .. })
        ),
        "{err:?}"
    );
}
