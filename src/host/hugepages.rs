//! Huge pages on the host: how many of a size each node has free, and the
//! size libvirt uses when the domain names none.

use std::path::Path;

use crate::host::files::{read_number, read_text, FileError};

/// Free pages of `size_kib` on `node`; 0 when the node has no pool of that
/// size (the kernel offers no such size, or the node no such pool), which
/// is what a guest would find there.
pub(crate) fn free_on_node(sysfs: &Path, node: u32, size_kib: u64) -> Result<u64, FileError> {
    let path = sysfs.join(format!(
        "devices/system/node/node{node}/hugepages/hugepages-{size_kib}kB/free_hugepages"
    ));
    match path.exists() {
        true => read_number(&path),
        false => Ok(0),
    }
}

/// The kernel's default huge page size (`Hugepagesize:` in meminfo), which
/// libvirt uses for `<hugepages/>` and for a `<page>` without a size.
pub(crate) fn default_size_kib(procfs: &Path) -> Result<Option<u64>, FileError> {
    let meminfo = read_text(&procfs.join("meminfo"))?;
    Ok(meminfo.lines().find_map(|line| {
        let value = line.strip_prefix("Hugepagesize:")?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_size_is_read_from_meminfo() {
        let dir = std::env::temp_dir().join(format!("largeguest-hp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("meminfo"),
            "MemTotal: 1 kB\nHugepagesize:    1048576 kB\n",
        )
        .unwrap();
        assert_eq!(default_size_kib(&dir).unwrap(), Some(1048576));
        std::fs::write(dir.join("meminfo"), "MemTotal: 1 kB\n").unwrap();
        assert_eq!(default_size_kib(&dir).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
