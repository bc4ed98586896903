//! KSM's `merge_across_nodes`, switched the way the kernel documents it.
//!
//! With KSM merging across NUMA nodes, a guest pinned to one node reads pages
//! that live on another, which undoes the pinning. The kernel refuses a change
//! (EBUSY) while any page is shared, so a bare write fails exactly when it
//! matters: the pages must be unmerged first (`run=2`), which costs memory and
//! time, and `run` must be put back whatever happens.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::host::files::{self, FileError};
use crate::host::mom::{self, KernelKsm, MomError, MomKeeps};
use crate::host::paths::HostPaths;
use crate::host::sudo::SudoError;
use crate::wording::{bare_path, quoted};

/// How long the lock and the unmerging may take, unless configured.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Root-owned, because the privileged side cannot trust its environment and
/// its sudo command line is fixed: this file is the only honest setting.
pub(crate) const CONFIG_FILE: &str = "/etc/vdsm-hook-largeguest/ksm.conf";
const TIMEOUT_KEY: &str = "unmerge_timeout";
const REAL_LOCK: &str = "/run/lock/vdsm-hook-largeguest-ksm.lock";
const LOCK_NAME: &str = "vdsm-hook-largeguest-ksm.lock";
const POLL: Duration = Duration::from_millis(10);
const MIB: u64 = 1024 * 1024;
/// Unmerging must leave at least this much of MemAvailable free...
const MIN_MARGIN: u64 = 256 * MIB;
/// ...or this fraction of MemTotal, whichever is larger.
const MARGIN_DIVISOR: u64 = 20;

#[derive(Debug, Error)]
pub enum KsmError {
    /// The text is not repeated: an overridden root may point anywhere.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{} has no {field} line; is this a Linux /proc?", bare_path(.path))]
    Meminfo { path: PathBuf, field: &'static str },
    #[error("cannot write {value} to {}: {source}{}", bare_path(.path), write_hint(source))]
    Write {
        path: PathBuf,
        value: u64,
        source: io::Error,
    },
    #[error(
        "the kernel still refused {value} in {} (EBUSY: pages are shared) after {secs} s; retry later, or raise the timeout ({TIMEOUT_KEY} in {CONFIG_FILE}, or ksm set --timeout)", bare_path(.path),
        secs = timeout.as_secs()
    )]
    StillBusy {
        path: PathBuf,
        value: u64,
        timeout: Duration,
    },
    #[error(
        "unmerging KSM needs about {} MiB ({pages} pages) but MemAvailable is {} MiB and {} MiB must stay free; free memory first, or switch while fewer pages are shared",
        need / MIB, available / MIB, margin / MIB
    )]
    NotEnoughMemory {
        pages: u64,
        need: u64,
        available: u64,
        margin: u64,
    },
    #[error(
        "KSM still shared {pages_shared} pages after waiting {} s for run=2 to unmerge them; retry later, or raise the timeout ({TIMEOUT_KEY} in {CONFIG_FILE}, or ksm set --timeout)",
        timeout.as_secs()
    )]
    UnmergeTimeout {
        pages_shared: u64,
        timeout: Duration,
    },
    #[error("cannot open the lock file {}: {source}", bare_path(.path))]
    LockOpen { path: PathBuf, source: io::Error },
    #[error(
        "lock file {} is owned by uid {uid}, not root; remove it, it is recreated on the next switch",
        bare_path(.path)
    )]
    LockOwner { path: PathBuf, uid: u32 },
    #[error(
        "another KSM switch held {} for {} s; wait for it to finish and retry",
        bare_path(.path), timeout.as_secs()
    )]
    LockTimeout { path: PathBuf, timeout: Duration },
    #[error("{cause}; run is back at {run}, merge_across_nodes left unchanged")]
    Aborted { cause: Box<KsmError>, run: u64 },
    #[error(
        "{cause}; putting run back to {run} failed too ({restore}): write {run} to run by hand"
    )]
    RestoreFailed {
        cause: Box<KsmError>,
        run: u64,
        restore: Box<KsmError>,
    },
    #[error("merge_across_nodes was switched but run could not be put back: {0}")]
    NotRestored(Box<KsmError>),
    #[error("{}, line {line}: {problem}", bare_path(.path))]
    Config {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error(transparent)]
    Sudo(#[from] SudoError),
    #[error(transparent)]
    Mom(#[from] MomError),
    #[error(transparent)]
    MomKeeps(#[from] MomKeeps),
    /// A switch asked by hand, or through sudo, where MoM manages KSM.
    #[error("MoM manages KSM on this host ({}) and would undo this switch with a full unmerge within a cycle or two; change Edit Cluster > Optimization > KSM control instead", bare_path(.conf))]
    MomManages { conf: PathBuf },
}

fn write_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::PermissionDenied => "; switching KSM needs root",
        io::ErrorKind::ReadOnlyFilesystem => "; /sys is mounted read-only here",
        _ => "",
    }
}

/// Where KSM's files are, taken from the host's paths. Tests point these
/// at fake trees; the privileged side always uses [`KsmFiles::real`].
#[derive(Debug, Clone)]
pub(crate) struct KsmFiles {
    ksm: PathBuf,
    nodes: PathBuf,
    meminfo: PathBuf,
    lock: PathBuf,
    /// MoM's configuration, which says whether MoM manages KSM here.
    mom_conf: PathBuf,
}

impl KsmFiles {
    /// The running kernel's files, whatever the environment says.
    pub(crate) fn real() -> KsmFiles {
        KsmFiles::from_paths(&HostPaths::real())
    }

    /// The host at `paths`. A fake sysfs gets its own lock file, so tests
    /// on separate trees do not wait for each other or for the real host.
    pub(crate) fn from_paths(paths: &HostPaths) -> KsmFiles {
        let lock = match paths.is_real_sysfs() {
            true => PathBuf::from(REAL_LOCK),
            false => paths.sysfs.join(LOCK_NAME),
        };
        KsmFiles::at(&paths.sysfs, &paths.procfs, lock, paths.mom_conf.clone())
    }

    fn at(sysfs: &Path, procfs: &Path, lock: PathBuf, mom_conf: PathBuf) -> KsmFiles {
        KsmFiles {
            ksm: sysfs.join("kernel/mm/ksm"),
            nodes: sysfs.join("devices/system/node"),
            meminfo: procfs.join("meminfo"),
            lock,
            mom_conf,
        }
    }

    /// MoM, when its configuration makes it manage merge_across_nodes here.
    pub(crate) fn mom(&self) -> Result<Option<mom::Mom>, KsmError> {
        Ok(mom::managing(&self.mom_conf)?)
    }

    /// What MoM's judgement needs of the kernel.
    pub(crate) fn kernel_state(&self) -> Result<KernelKsm, KsmError> {
        Ok(KernelKsm {
            merge_across_nodes: self.merge_across_nodes()?,
            run: self.read("run")?,
            pages_shared: self.read("pages_shared")?,
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.ksm.join(name)
    }

    fn read(&self, name: &str) -> Result<u64, KsmError> {
        Ok(files::read_number(&self.file(name))?)
    }

    fn write(&self, name: &str, value: u64) -> Result<(), KsmError> {
        let path = self.file(name);
        write_number(&path, value).map_err(|source| KsmError::Write {
            path,
            value,
            source,
        })
    }

    /// Current merge_across_nodes, read without any privilege.
    pub(crate) fn merge_across_nodes(&self) -> Result<bool, KsmError> {
        Ok(self.read("merge_across_nodes")? != 0)
    }
}

/// One write() like `echo`. No O_TRUNC: sysfs ignores it, and on a fake tree
/// it would let a concurrent reader see an empty file. The values written
/// (run 0-2, merge_across_nodes 0-1) are one digit, so the length never changes.
fn write_number(path: &Path, value: u64) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(format!("{value}\n").as_bytes())
}

/// What a switch did, printed as the one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Unchanged {
        value: bool,
    },
    Switched {
        to: bool,
        unmerged_pages: u64,
        run: u64,
        elapsed: Duration,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Unchanged { value } => write!(
                f,
                "KSM merge_across_nodes is already {}; nothing changed",
                u8::from(*value)
            ),
            Outcome::Switched {
                to,
                unmerged_pages,
                run,
                elapsed,
            } => write!(
                f,
                "KSM merge_across_nodes switched {} -> {} in {:.2} s ({unmerged_pages} shared pages unmerged, run back to {run})",
                u8::from(!*to),
                u8::from(*to),
                elapsed.as_secs_f64()
            ),
        }
    }
}

/// The whole documented sequence, under a lock so that two VMs starting at
/// once do not interleave it. `timeout` bounds the lock wait and the unmerge.
pub(crate) fn switch(
    host: &KsmFiles,
    wanted: bool,
    timeout: Duration,
) -> Result<Outcome, KsmError> {
    // Whoever asks, a switch behind MoM's back only costs an unmerge.
    let mom = host.mom()?;
    let start = Instant::now();
    let deadline = start + timeout;
    let _lock = lock(&host.lock, deadline, timeout)?;
    // Another switch may have finished while we waited.
    if host.merge_across_nodes()? == wanted {
        return Ok(Outcome::Unchanged { value: wanted });
    }
    if let Some(mom) = mom {
        return Err(KsmError::MomManages { conf: mom.conf });
    }
    let run = host.read("run")?;
    let unmerged_pages = host.read("pages_shared")?;
    check_memory(host)?;
    with_run_restored(host, run, || {
        host.write("run", 2)?;
        wait_unmerged(host, deadline, timeout)?;
        write_retrying_busy(deadline, timeout, || {
            host.write("merge_across_nodes", wanted.into())
        })
    })?;
    Ok(Outcome::Switched {
        to: wanted,
        unmerged_pages,
        run,
        elapsed: start.elapsed(),
    })
}

/// Puts `run` back on every path, and says so in the error.
fn with_run_restored(
    host: &KsmFiles,
    run: u64,
    body: impl FnOnce() -> Result<(), KsmError>,
) -> Result<(), KsmError> {
    let outcome = body();
    let restored = restore_run(host, run);
    match (outcome, restored) {
        (Ok(()), Ok(())) => Ok(()),
        (Ok(()), Err(restore)) => Err(KsmError::NotRestored(Box::new(restore))),
        (Err(cause), Ok(())) => Err(KsmError::Aborted {
            cause: Box::new(cause),
            run,
        }),
        (Err(cause), Err(restore)) => Err(KsmError::RestoreFailed {
            cause: Box::new(cause),
            run,
            restore: Box::new(restore),
        }),
    }
}

/// A failed `run=2` may have changed nothing (EACCES) or left ksmd stopped
/// (the kernel sets run=0 when unmerging fails), so look before writing: an
/// unwritable `run` that still holds the old value is not a second failure.
fn restore_run(host: &KsmFiles, run: u64) -> Result<(), KsmError> {
    match host.read("run") {
        Ok(current) if current == run => Ok(()),
        _ => host.write("run", run),
    }
}

/// Opens without following a symlink (`/run/lock` may be world-writable) and
/// refuses a file planted by another user, who could hold it forever.
fn lock(path: &Path, deadline: Instant, timeout: Duration) -> Result<File, KsmError> {
    let open_err = |source| KsmError::LockOpen {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(open_err)?;
    let uid = file.metadata().map_err(open_err)?.uid();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if uid != 0 && uid != unsafe { libc::geteuid() } {
        return Err(KsmError::LockOwner {
            path: path.to_path_buf(),
            uid,
        });
    }
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::Error(source)) => return Err(open_err(source)),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => {
                return Err(KsmError::LockTimeout {
                    path: path.to_path_buf(),
                    timeout,
                })
            }
            Err(TryLockError::WouldBlock) => thread::sleep(POLL),
        }
    }
}

struct Meminfo {
    total: u64,
    available: u64,
}

fn read_meminfo(path: &Path) -> Result<Meminfo, KsmError> {
    let text = files::read_text(path)?;
    let field = |name: &'static str| -> Result<u64, KsmError> {
        text.lines()
            .filter_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .find_map(|rest| rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .ok_or(KsmError::Meminfo {
                path: path.to_path_buf(),
                field: name,
            })
    };
    Ok(Meminfo {
        total: field("MemTotal")?,
        available: field("MemAvailable")?,
    })
}

/// Every sharing page (and every merged zero page) becomes a private copy
/// again; refuse before starting if that would squeeze the host.
fn check_memory(host: &KsmFiles) -> Result<(), KsmError> {
    let pages = host.read("pages_sharing")? + optional_counter(host, "ksm_zero_pages")?;
    if pages == 0 {
        return Ok(());
    }
    let need = pages.saturating_mul(page_size());
    let mem = read_meminfo(&host.meminfo)?;
    let margin = (mem.total / MARGIN_DIVISOR).max(MIN_MARGIN);
    if need.saturating_add(margin) > mem.available {
        return Err(KsmError::NotEnoughMemory {
            pages,
            need,
            available: mem.available,
            margin,
        });
    }
    Ok(())
}

/// Counters that older kernels do not have count as zero.
fn optional_counter(host: &KsmFiles, name: &str) -> Result<u64, KsmError> {
    if host.file(name).exists() {
        host.read(name)
    } else {
        Ok(0)
    }
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 only for unknown names.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// On a real kernel the write of `run=2` unmerges before it returns; polling
/// still matters when ksmd lags or when the counters come from elsewhere.
fn wait_unmerged(host: &KsmFiles, deadline: Instant, timeout: Duration) -> Result<(), KsmError> {
    loop {
        let pages_shared = host.read("pages_shared")?;
        if pages_shared == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(KsmError::UnmergeTimeout {
                pages_shared,
                timeout,
            });
        }
        thread::sleep(POLL);
    }
}

/// The kernel answers EBUSY while a page is still shared (ksmd may be
/// finishing a scan); that is worth another try until the deadline.
fn write_retrying_busy(
    deadline: Instant,
    timeout: Duration,
    mut write: impl FnMut() -> Result<(), KsmError>,
) -> Result<(), KsmError> {
    loop {
        match write() {
            Err(KsmError::Write {
                path,
                value,
                source,
            }) if source.kind() == io::ErrorKind::ResourceBusy => {
                if Instant::now() >= deadline {
                    return Err(KsmError::StillBusy {
                        path,
                        value,
                        timeout,
                    });
                }
                thread::sleep(POLL);
            }
            other => return other,
        }
    }
}

/// The timeout from [`CONFIG_FILE`]; no file means the default.
pub(crate) fn configured_timeout() -> Result<Duration, KsmError> {
    let path = Path::new(CONFIG_FILE);
    match fs::read_to_string(path) {
        Ok(text) => parse_config(path, &text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(DEFAULT_TIMEOUT),
        Err(source) => Err(FileError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// `unmerge_timeout = SECONDS`, `#` comments, blank lines; nothing else.
fn parse_config(path: &Path, text: &str) -> Result<Duration, KsmError> {
    let mut timeout = DEFAULT_TIMEOUT;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let problem = |problem: String| KsmError::Config {
            path: path.to_path_buf(),
            line: index + 1,
            problem,
        };
        let Some((key, value)) = line.split_once('=') else {
            return Err(problem(format!("{} is not KEY = VALUE", quoted(line))));
        };
        if key.trim() != TIMEOUT_KEY {
            return Err(problem(format!(
                "unknown setting {}; the only one is {TIMEOUT_KEY}",
                quoted(key.trim())
            )));
        }
        timeout = parse_timeout(value.trim()).map_err(problem)?;
    }
    Ok(timeout)
}

/// Whole seconds, at least one.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "timeout {} is not a whole number of seconds above 0",
            quoted(text)
        )),
    }
}

/// The sudo target. Runs as root on the real host: an override variable could
/// come from a VM property, so the environment is not listened to here.
pub(crate) fn privileged_switch(wanted: bool) -> Result<Outcome, KsmError> {
    switch(&KsmFiles::real(), wanted, configured_timeout()?)
}

/// What each counter means, for `ksm status`.
fn meaning(name: &str) -> &'static str {
    match name {
        "run" => "0 ksmd stopped, 1 ksmd running, 2 stopped and everything unmerged",
        "merge_across_nodes" => "1 merge pages from all NUMA nodes, 0 only within a node",
        "pages_shared" => "shared pages in use (each backs several mappings)",
        "pages_sharing" => "further mappings of shared pages: the pages saved",
        "pages_unshared" => "pages scanned, unique so far, still candidates",
        "pages_volatile" => "pages changing too fast to merge",
        "pages_skipped" => "pages the smart scan skipped",
        "pages_scanned" => "pages scanned since KSM started",
        "pages_to_scan" => "pages ksmd scans per wake-up",
        "sleep_millisecs" => "ksmd sleep between scans, ms",
        "full_scans" => "complete scans of all mergeable memory",
        "max_page_sharing" => "most mappings one shared page may back",
        "stable_node_chains" => "shared pages that hit max_page_sharing",
        "stable_node_dups" => "duplicated shared pages in those chains",
        "stable_node_chains_prune_millisecs" => "how often chains are pruned, ms",
        "use_zero_pages" => "1 merge empty pages with the kernel zero page",
        "ksm_zero_pages" => "empty pages merged with the zero page",
        "general_profit" => "bytes saved minus KSM's own metadata",
        "smart_scan" => "1 skip pages that did not merge recently",
        "advisor_mode" => "how pages_to_scan is tuned automatically",
        "advisor_max_cpu" => "advisor: most CPU % ksmd may use",
        "advisor_min_pages_to_scan" => "advisor: lowest pages_to_scan",
        "advisor_max_pages_to_scan" => "advisor: highest pages_to_scan",
        "advisor_target_scan_time" => "advisor: wanted full scan time, s",
        _ => "",
    }
}

/// Every file in the KSM folder with its meaning, the memory saved, and
/// whether `merge_across_nodes` matters at all on this host.
pub(crate) fn status(host: &KsmFiles) -> Result<String, KsmError> {
    let read_dir_err = |source| {
        KsmError::from(FileError::Read {
            path: host.ksm.clone(),
            source,
        })
    };
    let mut names = fs::read_dir(&host.ksm)
        .map_err(read_dir_err)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<String>, io::Error>>()
        .map_err(read_dir_err)?;
    names.sort();
    let mut out = format!("{}:\n", host.ksm.display());
    for name in &names {
        let value = files::read_text(&host.file(name))?;
        let line = format!("  {name:<36} {:<18} {}", value.trim(), meaning(name));
        out += line.trim_end();
        out.push('\n');
    }
    let sharing = host.read("pages_sharing")?;
    let page = page_size();
    out += &format!(
        "saved memory: {:.1} MiB (pages_sharing {sharing} x {page} bytes)\n",
        (sharing * page) as f64 / MIB as f64
    );
    out += &numa_line(&host.nodes);
    out += &mom_line(host);
    Ok(out)
}

/// Whether MoM keeps merge_across_nodes here, and at what.
fn mom_line(host: &KsmFiles) -> String {
    let conf = bare_path(&host.mom_conf);
    match host.mom() {
        Ok(None) => format!("MoM: does not manage merge_across_nodes here (per {conf})\n"),
        Ok(Some(mom)) => {
            let cluster = match mom::cluster_ksm(&mom) {
                Some(cluster) if !cluster.enabled => "KSM disabled in the cluster".to_string(),
                Some(cluster) => format!(
                    "the cluster keeps merge_across_nodes={}",
                    u8::from(cluster.merge_across_nodes)
                ),
                None => "MoM did not say the cluster's value".to_string(),
            };
            format!("MoM: manages merge_across_nodes here (per {conf}); {cluster}; set it in Edit Cluster > Optimization > KSM control\n")
        }
        Err(err) => format!("MoM: {err}\n"),
    }
}

fn numa_line(nodes: &Path) -> String {
    let Ok(entries) = fs::read_dir(nodes) else {
        return format!("NUMA nodes: unknown ({} is missing)\n", nodes.display());
    };
    let count = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix("node")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    if count > 1 {
        format!("NUMA nodes: {count}; merge_across_nodes=0 keeps pinned guests' memory local\n")
    } else {
        format!("NUMA nodes: {count}; merge_across_nodes makes no difference on this host\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_config_file_parses_to_the_default() {
        let text = include_str!("../../packaging/ksm.conf");
        let parsed = parse_config(Path::new(CONFIG_FILE), text).unwrap();
        assert_eq!(parsed, DEFAULT_TIMEOUT);
        let uncommented = text.replace("# unmerge_timeout = 120", "unmerge_timeout = 30");
        let parsed = parse_config(Path::new(CONFIG_FILE), &uncommented).unwrap();
        assert_eq!(parsed, Duration::from_secs(30));
    }

    fn busy() -> KsmError {
        KsmError::Write {
            path: PathBuf::from("merge_across_nodes"),
            value: 0,
            source: io::Error::from_raw_os_error(libc::EBUSY),
        }
    }

    #[test]
    fn ebusy_is_retried_until_the_write_succeeds() {
        let mut calls = 0;
        let timeout = Duration::from_secs(10);
        let result = write_retrying_busy(Instant::now() + timeout, timeout, || {
            calls += 1;
            if calls < 4 {
                Err(busy())
            } else {
                Ok(())
            }
        });
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(calls, 4);
    }

    #[test]
    fn ebusy_past_the_deadline_is_reported_with_the_value() {
        let timeout = Duration::from_millis(30);
        let err = write_retrying_busy(Instant::now() + timeout, timeout, || Err(busy()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("still refused 0 in merge_across_nodes (EBUSY"),
            "{err}"
        );
    }

    #[test]
    fn other_write_errors_are_not_retried() {
        let mut calls = 0;
        let timeout = Duration::from_secs(10);
        let err = write_retrying_busy(Instant::now() + timeout, timeout, || {
            calls += 1;
            Err(KsmError::Write {
                path: PathBuf::from("merge_across_nodes"),
                value: 5,
                source: io::Error::from_raw_os_error(libc::EINVAL),
            })
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(err
            .to_string()
            .contains("cannot write 5 to merge_across_nodes"));
    }

    #[test]
    fn config_sets_the_timeout_and_rejects_the_rest() {
        let path = Path::new("ksm.conf");
        let ok = parse_config(path, "# wait longer\n\nunmerge_timeout = 300 # s\n");
        assert_eq!(ok.unwrap(), Duration::from_secs(300));
        assert_eq!(parse_config(path, "").unwrap(), DEFAULT_TIMEOUT);
        let err = parse_config(path, "\ntimeout = 3\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "ksm.conf, line 2: unknown setting 'timeout'; the only one is unmerge_timeout"
        );
        let err = parse_config(path, "unmerge_timeout = 0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeout '0' is not a whole number"), "{err}");
    }

    #[test]
    fn meminfo_fields_in_bytes() {
        let dir = std::env::temp_dir().join(format!("ksm-meminfo-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("meminfo");
        fs::write(
            &path,
            "MemTotal:       16384 kB\nMemFree: 1 kB\nMemAvailable:    2048 kB\n",
        )
        .unwrap();
        let mem = read_meminfo(&path).unwrap();
        assert_eq!((mem.total, mem.available), (16384 * 1024, 2048 * 1024));
        fs::write(&path, "MemTotal: 1 kB\n").unwrap();
        let err = read_meminfo(&path).err().unwrap().to_string();
        assert!(err.contains("no MemAvailable line"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
