//! KSM's `merge_across_nodes`, switched the way the kernel documents it.
//!
//! With KSM merging across NUMA nodes, a guest pinned to one node reads pages
//! that live on another, which undoes the pinning. The kernel refuses a change
//! (EBUSY) while any page is shared, so a bare write fails exactly when it
//! matters: the pages must be unmerged first (`run=2`), which costs memory and
//! time, and `run` must be put back whatever happens.
//!
//! `files` says where KSM's files are, `switch` is the documented sequence,
//! `config` its timeout, `status` what `ksm status` prints.

mod config;
mod files;
mod status;
mod switch;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::host::files::FileError;
use crate::host::mom::{MomError, MomKeeps};
use crate::host::sudo::SudoError;
use crate::wording::bare_path;

use self::config::{CONFIG_FILE, TIMEOUT_KEY};

pub(crate) use self::config::{configured_timeout, parse_timeout};
pub(crate) use self::files::KsmFiles;
pub(crate) use self::status::status;
pub(crate) use self::switch::{privileged_switch, switch, Outcome};

const MIB: u64 = 1024 * 1024;

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
