//! The switch itself: under a lock, with enough memory to unmerge, `run`
//! put back on every path, and EBUSY retried until the deadline.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::host::files::read_text;

use super::config::configured_timeout;
use super::{KsmError, KsmFiles, MIB};

const POLL: Duration = Duration::from_millis(10);
/// Unmerging must leave at least this much of MemAvailable free...
const MIN_MARGIN: u64 = 256 * MIB;
/// ...or this fraction of MemTotal, whichever is larger.
const MARGIN_DIVISOR: u64 = 20;

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
pub(crate) fn switch(ksm: &KsmFiles, wanted: bool, timeout: Duration) -> Result<Outcome, KsmError> {
    // Whoever asks, a switch behind MoM's back only costs an unmerge.
    let mom = ksm.mom()?;
    let start = Instant::now();
    let deadline = start + timeout;
    let _lock = lock(&ksm.lock, deadline, timeout)?;
    // Another switch may have finished while we waited.
    if ksm.merge_across_nodes()? == wanted {
        return Ok(Outcome::Unchanged { value: wanted });
    }
    if let Some(mom) = mom {
        return Err(KsmError::MomManages { conf: mom.conf });
    }
    let run = ksm.read("run")?;
    let unmerged_pages = ksm.read("pages_shared")?;
    check_memory(ksm)?;
    with_run_restored(ksm, run, || {
        ksm.write("run", 2)?;
        wait_unmerged(ksm, deadline, timeout)?;
        write_retrying_busy(deadline, timeout, || {
            ksm.write("merge_across_nodes", wanted.into())
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
    ksm: &KsmFiles,
    run: u64,
    body: impl FnOnce() -> Result<(), KsmError>,
) -> Result<(), KsmError> {
    let outcome = body();
    let restored = restore_run(ksm, run);
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
fn restore_run(ksm: &KsmFiles, run: u64) -> Result<(), KsmError> {
    match ksm.read("run") {
        Ok(current) if current == run => Ok(()),
        _ => ksm.write("run", run),
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
    let text = read_text(path)?;
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
fn check_memory(ksm: &KsmFiles) -> Result<(), KsmError> {
    let pages = ksm.read("pages_sharing")? + optional_counter(ksm, "ksm_zero_pages")?;
    if pages == 0 {
        return Ok(());
    }
    let need = pages.saturating_mul(page_size());
    let mem = read_meminfo(&ksm.meminfo)?;
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
fn optional_counter(ksm: &KsmFiles, name: &str) -> Result<u64, KsmError> {
    if ksm.file(name).exists() {
        ksm.read(name)
    } else {
        Ok(0)
    }
}

pub(super) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 only for unknown names.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// On a real kernel the write of `run=2` unmerges before it returns; polling
/// still matters when ksmd lags or when the counters come from elsewhere.
fn wait_unmerged(ksm: &KsmFiles, deadline: Instant, timeout: Duration) -> Result<(), KsmError> {
    loop {
        let pages_shared = ksm.read("pages_shared")?;
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

/// The sudo target. Runs as root on the real host: an override variable could
/// come from a VM property, so the environment is not listened to here.
pub(crate) fn privileged_switch(wanted: bool) -> Result<Outcome, KsmError> {
    switch(&KsmFiles::real(), wanted, configured_timeout()?)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

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
