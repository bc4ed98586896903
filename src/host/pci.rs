//! Where a PCI device sits: the host NUMA node the kernel gives it.

use std::path::Path;

use crate::host::files::{read_text, FileError};

/// The node of the device `DDDD:BB:SS.F`; `None` when the device is not on
/// this host (libvirt then refuses the start itself) or the firmware gives
/// it no node (`-1`).
pub(crate) fn numa_node(sysfs: &Path, address: &str) -> Result<Option<u32>, FileError> {
    let path = sysfs
        .join("bus/pci/devices")
        .join(address)
        .join("numa_node");
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(&path)?;
    match text.trim().parse::<i64>() {
        Ok(node) => Ok(u32::try_from(node).ok()),
        Err(_) => Err(FileError::NotANumber { path: path.clone() }),
    }
}
