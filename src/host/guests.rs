//! The guests this host runs, as the kernel shows their QEMU processes:
//! which host CPUs each vCPU thread may run on.
//!
//! The engine's scheduler knows the pins it wrote itself, not the hook's;
//! libvirt's status files say more but only root may read them, and the
//! hook runs as `vdsm`. `/proc` is readable by anyone and is what the
//! scheduler obeys, so this reads it: a process whose `comm` starts with
//! `qemu`, its name from `-name guest=NAME`, its threads named `CPU N/KVM`
//! (libvirt always starts QEMU with `debug-threads=on`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::cpuset::CpuSet;
use crate::host::files::{read_text, read_text_up_to};
use crate::wording::{quoted, Ids};

/// A QEMU command line, arguments and all, stays far below this.
const MAX_CMDLINE_LEN: u64 = 1024 * 1024;

/// One running guest and the vCPUs pinned to fewer than all online CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestPins {
    pub domain: String,
    pub pid: u32,
    /// vCPU id -> the CPUs its thread may run on.
    pub vcpus: BTreeMap<u32, CpuSet>,
}

impl GuestPins {
    /// Every CPU one of its vCPUs is pinned to.
    pub(crate) fn cpus(&self) -> CpuSet {
        self.vcpus
            .values()
            .fold(CpuSet::new(), |cpus, set| cpus.union(set))
    }
}

/// The guests with at least one pinned vCPU, by pid. A vCPU that may run
/// on every online CPU floats and pins nothing. A process that ends while
/// it is read, or whose files cannot be read, is left out: this informs a
/// warning or a plan and must never stop one.
pub(crate) fn pinned(procfs: &Path, online: &CpuSet) -> Vec<GuestPins> {
    let Ok(entries) = std::fs::read_dir(procfs) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|pid| read_guest(procfs, pid, online))
        .filter(|guest| !guest.vcpus.is_empty())
        .collect()
}

fn read_guest(procfs: &Path, pid: u32, online: &CpuSet) -> Option<GuestPins> {
    let dir = procfs.join(pid.to_string());
    if !read_text(&dir.join("comm")).ok()?.starts_with("qemu") {
        return None;
    }
    let cmdline = read_text_up_to(&dir.join("cmdline"), MAX_CMDLINE_LEN).ok()?;
    let domain = guest_name(&cmdline)?;
    let mut vcpus = BTreeMap::new();
    for task in std::fs::read_dir(dir.join("task")).ok()?.flatten() {
        let Some(vcpu) = read_text(&task.path().join("comm"))
            .ok()
            .and_then(|comm| vcpu_of(&comm))
        else {
            continue;
        };
        let Some(allowed) = read_text(&task.path().join("status"))
            .ok()
            .and_then(|status| allowed_list(&status))
        else {
            continue;
        };
        if allowed != *online {
            vcpus.insert(vcpu, allowed);
        }
    }
    Some(GuestPins { domain, pid, vcpus })
}

/// `-name guest=NAME,debug-threads=on` as libvirt writes it (a `,` in the
/// name doubled), or QEMU's older `-name NAME`.
fn guest_name(cmdline: &str) -> Option<String> {
    let mut args = cmdline.split('\0');
    args.find(|arg| *arg == "-name")?;
    let value = args.next()?;
    let mut name = String::new();
    let mut chars = value.strip_prefix("guest=").unwrap_or(value).chars();
    while let Some(c) = chars.next() {
        match (c, value.starts_with("guest=")) {
            (',', true) => match chars.next() {
                Some(',') => name.push(','),
                _ => break,
            },
            (c, _) => name.push(c),
        }
    }
    (!name.is_empty()).then_some(name)
}

/// `CPU 3/KVM` (or `/TCG`) is vCPU 3.
fn vcpu_of(comm: &str) -> Option<u32> {
    let (id, _) = comm.trim_end().strip_prefix("CPU ")?.split_once('/')?;
    id.parse().ok()
}

fn allowed_list(status: &str) -> Option<CpuSet> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?;
    line.trim().parse().ok()
}

/// One guest's vCPUs pinned to some of a set of CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    pub domain: String,
    pub vcpus: CpuSet,
    pub cpus: CpuSet,
}

impl fmt::Display for Share {
    /// `'db1' (vCPUs 0-1 on CPUs 4-5)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} on {})",
            quoted(&self.domain),
            Ids("vCPU", &self.vcpus),
            Ids("CPU", &self.cpus)
        )
    }
}

/// The guests with vCPUs pinned to some of `cpus`, and which.
pub(crate) fn shares(guests: &[GuestPins], cpus: &CpuSet) -> Vec<Share> {
    let mut shares = Vec::new();
    for guest in guests {
        let mut share = Share {
            domain: guest.domain.clone(),
            vcpus: CpuSet::new(),
            cpus: CpuSet::new(),
        };
        for (&vcpu, set) in &guest.vcpus {
            let common = set.intersection(cpus);
            if !common.is_empty() {
                share.vcpus.insert(vcpu);
                share.cpus = share.cpus.union(&common);
            }
        }
        if !share.vcpus.is_empty() {
            shares.push(share);
        }
    }
    shares
}

/// [`shares`] as one phrase per guest, for a message.
pub(crate) fn sharing(guests: &[GuestPins], cpus: &CpuSet) -> Vec<String> {
    shares(guests, cpus)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_libvirts_guest_key_with_commas_doubled() {
        let line = "/usr/bin/qemu-system-x86_64\0-name\0guest=db,,1,debug-threads=on\0-S\0";
        assert_eq!(guest_name(line).as_deref(), Some("db,1"));
        assert_eq!(guest_name("qemu\0-name\0plain\0").as_deref(), Some("plain"));
        assert_eq!(guest_name("qemu\0-m\0size=1G\0"), None);
        assert_eq!(guest_name("qemu\0-name\0"), None);
    }

    #[test]
    fn only_vcpu_threads_count() {
        assert_eq!(vcpu_of("CPU 12/KVM\n"), Some(12));
        assert_eq!(vcpu_of("CPU 0/TCG"), Some(0));
        assert_eq!(vcpu_of("IO iothread1"), None);
        assert_eq!(vcpu_of("CPU x/KVM"), None);
    }
}
