//! The QEMU process as the kernel shows it in `/proc`: its threads (where
//! each may run, where it last ran) and its mappings (the memory policy and
//! the pages on each host node).
//!
//! Only what `verify` needs is kept. Every file is read through the
//! project's guarded reader, so a FIFO or a huge file planted under an
//! overridden root is refused, not waited on.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::cpuset::{CpuSet, NodeSet};

use super::{read_file, VerifyError};

/// `maps` and `numa_maps` of a large guest's process (thousands of
/// mappings, a thread stack each) run to megabytes, never near this.
const MAX_TABLE_LEN: u64 = 64 * 1024 * 1024;
/// A `status`, `stat` or `comm` file is a few KiB.
const MAX_SMALL_LEN: u64 = 64 * 1024;

/// One thread of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thread {
    pub tid: u32,
    /// QEMU names its threads (`CPU 3/KVM`, `IO iothread1`) when libvirt
    /// starts it with `debug-threads=on`, which it always does.
    pub name: String,
    /// `Cpus_allowed_list`: the affinity and the cgroup cpuset together.
    pub allowed: CpuSet,
    /// The CPU the thread last ran on (`processor` in `stat`).
    pub last_cpu: Option<u32>,
}

/// The kernel's word for a memory policy, as `numa_maps` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PolicyMode {
    Default,
    Local,
    Prefer,
    PreferMany,
    Bind,
    Interleave,
    WeightedInterleave,
}

impl PolicyMode {
    /// Longest first: `prefer (many)` before `prefer`.
    pub(super) const WORDS: [(&'static str, PolicyMode); 7] = [
        ("prefer (many)", PolicyMode::PreferMany),
        ("weighted interleave", PolicyMode::WeightedInterleave),
        ("interleave", PolicyMode::Interleave),
        ("prefer", PolicyMode::Prefer),
        ("bind", PolicyMode::Bind),
        ("local", PolicyMode::Local),
        ("default", PolicyMode::Default),
    ];
}

/// The policy of one mapping (its own, or the task's when it has none),
/// with the text the kernel printed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub mode: Option<PolicyMode>,
    pub nodes: NodeSet,
    pub text: String,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One mapping of the process, from `maps` and `numa_maps` joined by address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub start: u64,
    pub end: u64,
    pub writable: bool,
    pub executable: bool,
    pub shared: bool,
    pub path: Option<String>,
    pub policy: Policy,
    /// Resident pages on each host node, in pages of `page_kib`.
    pub pages: BTreeMap<u32, u64>,
    pub page_kib: u64,
    /// hugetlbfs: `pages` counts huge pages.
    pub huge: bool,
}

impl Mapping {
    pub(crate) fn bytes(&self) -> u64 {
        self.end - self.start
    }

    /// Resident KiB on each host node.
    pub(crate) fn kib_per_node(&self) -> BTreeMap<u32, u64> {
        self.pages
            .iter()
            .map(|(&node, &pages)| (node, pages.saturating_mul(self.page_kib)))
            .collect()
    }
}

/// What `verify` reads of the QEMU process.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    pub pid: u32,
    pub threads: Vec<Thread>,
    /// `Mems_allowed_list`: the nodes the cgroup cpuset lets it use.
    pub mems_allowed: NodeSet,
    pub mappings: Vec<Mapping>,
}

impl Process {
    pub(crate) fn read(procfs: &Path, pid: u32) -> Result<Process, VerifyError> {
        let dir = procfs.join(pid.to_string());
        if !dir.is_dir() {
            return Err(VerifyError::NoProcess { pid, path: dir });
        }
        let status = read_file(&dir.join("status"), MAX_SMALL_LEN)?;
        let mems_allowed = status_list(&status, "Mems_allowed_list", &dir.join("status"))?;
        let maps_path = dir.join("maps");
        let numa_path = dir.join("numa_maps");
        let maps = read_file(&maps_path, MAX_TABLE_LEN)?;
        let numa = read_file(&numa_path, MAX_TABLE_LEN)?;
        let mappings = join_mappings(&maps, &maps_path, &numa, &numa_path)?;
        Ok(Process {
            pid,
            threads: read_threads(&dir.join("task"))?,
            mems_allowed,
            mappings,
        })
    }

    pub(crate) fn thread(&self, tid: u32) -> Option<&Thread> {
        self.threads.iter().find(|thread| thread.tid == tid)
    }

    pub(crate) fn thread_named(&self, name: &str) -> Option<&Thread> {
        self.threads.iter().find(|thread| thread.name == name)
    }
}

/// Threads in tid order; one that ends while it is read is left out.
fn read_threads(dir: &Path) -> Result<Vec<Thread>, VerifyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| VerifyError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut tids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    let mut threads = Vec::with_capacity(tids.len());
    for tid in tids {
        let task = dir.join(tid.to_string());
        let (Ok(comm), Ok(status), Ok(stat)) = (
            read_file(&task.join("comm"), MAX_SMALL_LEN),
            read_file(&task.join("status"), MAX_SMALL_LEN),
            read_file(&task.join("stat"), MAX_SMALL_LEN),
        ) else {
            continue;
        };
        threads.push(Thread {
            tid,
            name: comm.trim_end_matches('\n').to_string(),
            allowed: status_list(&status, "Cpus_allowed_list", &task.join("status"))?,
            last_cpu: last_cpu(&stat),
        });
    }
    Ok(threads)
}

/// A `Key:\tLIST` line of a `status` file.
fn status_list(status: &str, key: &'static str, path: &Path) -> Result<CpuSet, VerifyError> {
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .ok_or_else(|| VerifyError::Format {
            path: path.to_path_buf(),
            what: format!("has no {key} line"),
        })?;
    value
        .trim()
        .parse::<CpuSet>()
        .map_err(|err| VerifyError::Format {
            path: path.to_path_buf(),
            what: format!("{key} is not a CPU/node list (column {})", err.column),
        })
}

/// `processor`, field 39 of `stat`. The name (field 2) may hold spaces and
/// parentheses (`CPU 0/KVM`), so fields are counted after its last `)`.
fn last_cpu(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(36)?.parse().ok()
}

fn join_mappings(
    maps: &str,
    maps_path: &Path,
    numa: &str,
    numa_path: &Path,
) -> Result<Vec<Mapping>, VerifyError> {
    let mut numa_by_start = BTreeMap::new();
    for (index, line) in numa.lines().enumerate() {
        let entry = numa_line(line).ok_or_else(|| VerifyError::Format {
            path: numa_path.to_path_buf(),
            what: format!("line {} is not a numa_maps entry", index + 1),
        })?;
        numa_by_start.insert(entry.start, entry);
    }
    let mut mappings = Vec::new();
    for (index, line) in maps.lines().enumerate() {
        let area = maps_line(line).ok_or_else(|| VerifyError::Format {
            path: maps_path.to_path_buf(),
            what: format!("line {} is not a maps entry", index + 1),
        })?;
        // A mapping made between the two reads is in one file only.
        let Some(entry) = numa_by_start.remove(&area.start) else {
            continue;
        };
        mappings.push(Mapping {
            start: area.start,
            end: area.end,
            writable: area.perms.as_bytes().get(1) == Some(&b'w'),
            executable: area.perms.as_bytes().get(2) == Some(&b'x'),
            shared: area.perms.as_bytes().get(3) == Some(&b's'),
            path: area.path,
            policy: entry.policy,
            pages: entry.pages,
            page_kib: entry.page_kib,
            huge: entry.huge,
        });
    }
    Ok(mappings)
}

struct Area {
    start: u64,
    end: u64,
    perms: String,
    path: Option<String>,
}

/// `START-END PERMS OFFSET DEV INODE [PATH]`; the path may hold spaces.
fn maps_line(line: &str) -> Option<Area> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?.to_string();
    let (_offset, _device, _inode) = (fields.next()?, fields.next()?, fields.next()?);
    let path = fields
        .next()
        .map(str::trim)
        .filter(|path| !path.is_empty())
        .map(str::to_string);
    Some(Area {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        path,
    })
}

struct NumaEntry {
    start: u64,
    policy: Policy,
    pages: BTreeMap<u32, u64>,
    page_kib: u64,
    huge: bool,
}

/// `ADDRESS POLICY [key=value | word]...`. The policy may hold a space
/// (`prefer (many):0-1`); the kernel escapes spaces in the file name.
fn numa_line(line: &str) -> Option<NumaEntry> {
    let (address, rest) = line.split_once(' ')?;
    let start = u64::from_str_radix(address, 16).ok()?;
    let (policy, rest) = policy(rest)?;
    let mut entry = NumaEntry {
        start,
        policy,
        pages: BTreeMap::new(),
        page_kib: 4,
        huge: false,
    };
    for word in rest.split_whitespace() {
        match word.split_once('=') {
            None if word == "huge" => entry.huge = true,
            Some(("kernelpagesize_kB", value)) => entry.page_kib = value.parse().ok()?,
            Some((key, value)) => {
                if let Some(node) = key.strip_prefix('N').and_then(|n| n.parse().ok()) {
                    entry.pages.insert(node, value.parse().ok()?);
                }
            }
            None => {}
        }
    }
    Some(entry)
}

/// `MODE[=FLAGS][:NODES]`, returning the rest of the line.
fn policy(text: &str) -> Option<(Policy, &str)> {
    let known = PolicyMode::WORDS
        .iter()
        .find(|(word, _)| text.starts_with(word));
    let word_len = match known {
        Some((word, _)) => word.len(),
        // A mode this code does not know yet is still shown as printed.
        None => text.find([' ', ':', '=']).unwrap_or(text.len()),
    };
    let end = word_len + text[word_len..].find(' ').unwrap_or(text.len() - word_len);
    let printed = &text[..end];
    let nodes = match printed[word_len..].split_once(':') {
        Some((_, list)) => list.parse::<NodeSet>().ok()?,
        None => NodeSet::new(),
    };
    let policy = Policy {
        mode: known.map(|&(_, mode)| mode),
        nodes,
        text: printed.to_string(),
    };
    Some((policy, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numa_maps_lines_of_every_kind_parse() {
        let anon = numa_line(
            "7f767fc00000 bind:0-1 anon=1024 dirty=1024 active=0 N0=1000 N1=24 kernelpagesize_kB=4",
        )
        .unwrap();
        assert_eq!(anon.start, 0x7f767fc00000);
        assert_eq!(anon.policy.mode, Some(PolicyMode::Bind));
        assert_eq!(anon.policy.nodes.to_string(), "0-1");
        assert_eq!(anon.pages, BTreeMap::from([(0, 1000), (1, 24)]));
        let huge = numa_line(
            "7fc9abe00000 bind:0 file=/dev/hugepages/libvirt/qemu/1-x/qemu_back_mem.ram-node0.xsnIlw\\040(deleted) huge anon=128 dirty=128 N0=128 kernelpagesize_kB=2048",
        )
        .unwrap();
        assert!(huge.huge);
        assert_eq!(huge.page_kib, 2048);
        let many = numa_line("7f00 prefer (many):0-1 anon=2 N1=2 kernelpagesize_kB=4").unwrap();
        assert_eq!(many.policy.mode, Some(PolicyMode::PreferMany));
        assert_eq!(many.policy.text, "prefer (many):0-1");
        let flagged = numa_line("7f00 interleave=static:0,2 N0=1").unwrap();
        assert_eq!(flagged.policy.mode, Some(PolicyMode::Interleave));
        assert_eq!(flagged.policy.nodes.to_string(), "0,2");
        let bare = numa_line("7f770f0f2000 default").unwrap();
        assert_eq!(bare.policy.mode, Some(PolicyMode::Default));
        assert!(bare.pages.is_empty());
        let unknown = numa_line("7f00 future:1 N1=3").unwrap();
        assert_eq!(
            (unknown.policy.mode, unknown.policy.text.as_str()),
            (None, "future:1")
        );
        assert!(numa_line("not-hex bind:0").is_none());
    }

    #[test]
    fn the_last_cpu_is_counted_after_the_thread_name() {
        // A vCPU thread of a recorded TCG guest: it last ran on CPU 1.
        let stat = "6643 (CPU 1/TCG) S 1 6633 6633 0 -1 138412224 21 0 0 0 0 0 0 0 20 0 6 0 \
                    85750 2594557952 10888 18446744073709551615 94900634488832 94900640349269 \
                    140728210202928 0 0 0 2147220087 4096 16451 1 0 0 -1 1 0 0 0 0 0 \
                    94900643461368 94900648665520 94901321035776 140728210209113 \
                    140728210210305 140728210210305 140728210210780 0";
        assert_eq!(last_cpu(stat), Some(1));
        assert_eq!(last_cpu(&stat.replacen(" -1 1 ", " -1 0 ", 1)), Some(0));
        assert_eq!(last_cpu("garbage"), None);
    }

    #[test]
    fn maps_paths_keep_their_spaces() {
        let area = maps_line(
            "7fc98bffe000-7fc99bffe000 rw-s 00000000 00:01 1029                       /memfd:memory-backend-memfd (deleted)",
        )
        .unwrap();
        assert_eq!(area.end - area.start, 256 << 20);
        assert_eq!(area.perms, "rw-s");
        assert_eq!(
            area.path.as_deref(),
            Some("/memfd:memory-backend-memfd (deleted)")
        );
        assert!(
            maps_line("7f767fc00000-7f76afc00000 rw-p 00000000 00:00 0 ")
                .unwrap()
                .path
                .is_none()
        );
    }
}
