//! The running kernel: its release, and what its command line was.

use std::path::Path;

use crate::host::files::{read_text, FileError};

/// A kernel release as `uname -r` prints it (`5.14.0-427.el9.x86_64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelRelease(pub String);

/// The first upstream release whose `hugepages=` takes per-node counts
/// (`hugepages=0:4,1:4`, mm/hugetlb.c `hugepages_setup`). Older kernels
/// read `1:4` as the count before the colon, the node's number, and say
/// nothing.
pub(crate) const NODE_HUGEPAGES_SINCE: (u32, u32) = (5, 16);

impl KernelRelease {
    /// `sys/kernel/osrelease` under procfs; `None` when it is not there.
    pub(crate) fn read(procfs: &Path) -> Result<Option<KernelRelease>, FileError> {
        let path = procfs.join("sys/kernel/osrelease");
        match path.exists() {
            true => Ok(Some(KernelRelease(read_text(&path)?.trim().to_string()))),
            false => Ok(None),
        }
    }

    /// Major and minor version; `None` when the release is not `X.Y...`.
    pub(crate) fn version(&self) -> Option<(u32, u32)> {
        let mut parts = self.0.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// Whether `hugepages=` reads per-node counts. Distribution kernels
    /// (EL8's 4.18, EL9's 5.14) are judged by their base version: a
    /// backport cannot be seen from the release, and guessing wrong would
    /// reserve nothing.
    pub(crate) fn reads_node_hugepages(&self) -> bool {
        self.version().is_some_and(|v| v >= NODE_HUGEPAGES_SINCE)
    }
}

/// The kernel's command line (`cmdline` under procfs), split into words.
pub(crate) fn command_line(procfs: &Path) -> Result<Vec<String>, FileError> {
    let text = read_text(&procfs.join("cmdline"))?;
    Ok(text.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_node_huge_pages_start_at_5_16() {
        let reads = |release: &str| KernelRelease(release.to_string()).reads_node_hugepages();
        assert!(!reads("4.18.0-553.el8_10.x86_64"));
        assert!(!reads("5.14.0-427.13.1.el9_4.x86_64"));
        assert!(!reads("5.15.0-91-generic"));
        assert!(reads("5.16.0"));
        assert!(reads("6.8.0-45-generic"));
        assert!(!reads("garbage"));
    }
}
