//! Writing the host configuration under a root folder: `/` on the host
//! itself, any folder in tests and for review. Each file is replaced whole
//! (a new file renamed over the old), so a reader never sees half of one;
//! the units of an earlier `prepare` that this one does not need go.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::host;
use crate::host::files::{read_text, FileError};
use crate::host::replace::Replacement;
use crate::prepare::files::{set_variable, UNIT_DIR, UNIT_PREFIX, WANTS_DIR};
use crate::prepare::{Content, HostFile};
use crate::wording::bare_path;

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("--write {}: not a folder; give the root the files go under ('/' on the host itself)", bare_path(.0))]
    NoRoot(PathBuf),
    #[error("cannot write {}: {source}", bare_path(.path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Read(#[from] FileError),
}

/// What a write did, one line per file, for the administrator.
pub(crate) type Written = Vec<String>;

/// `path` (absolute on the host) under `root`.
pub(crate) fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

pub(crate) fn write_all(root: &Path, files: &[HostFile]) -> Result<Written, WriteError> {
    if !root.is_dir() {
        return Err(WriteError::NoRoot(root.to_path_buf()));
    }
    let mut done = remove_stale(root, files)?;
    for file in files {
        let path = under(root, &file.path);
        let changed = write_one(&path, &file.content)?;
        let verb = match changed {
            true => "wrote",
            false => "unchanged",
        };
        done.push(format!("{verb} {}", file.path));
    }
    Ok(done)
}

/// Makes `path` hold `content`; false when it already did, so a second
/// run changes nothing and says so.
fn write_one(path: &Path, content: &Content) -> Result<bool, WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let old = || match path.is_file() {
        true => read_text(path).map(Some),
        false => Ok(None),
    };
    match content {
        Content::Whole { text, mode } => {
            let same_mode =
                fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o7777 == *mode);
            if same_mode && old()?.as_deref() == Some(text.as_str()) {
                return Ok(false);
            }
            replace(path, text, *mode)?;
        }
        Content::Set {
            name,
            value,
            disable,
        } => {
            let old = old()?.unwrap_or_default();
            let new = set_variable(&old, name, value, *disable);
            if new == old && path.is_file() {
                return Ok(false);
            }
            let mode = fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
            replace(path, &new, mode)?;
        }
        Content::Link { target } => {
            if fs::read_link(path).is_ok_and(|found| found == Path::new(target)) {
                return Ok(false);
            }
            if fs::symlink_metadata(path).is_ok() {
                fs::remove_file(path).map_err(io)?;
            }
            symlink(target, path).map_err(io)?;
        }
    }
    Ok(true)
}

/// Replaces the file whole, synced: these files are read at the next boot.
fn replace(path: &Path, text: &str, mode: u32) -> Result<(), WriteError> {
    let how = Replacement {
        mode,
        owner: None,
        sync: true,
    };
    host::replace::replace(path, text, how).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Units (and their links) of an earlier `prepare` for nodes or sizes the
/// guests no longer need.
fn remove_stale(root: &Path, files: &[HostFile]) -> Result<Written, WriteError> {
    let mut removed = Vec::new();
    for dir in [UNIT_DIR, WANTS_DIR] {
        let folder = under(root, dir);
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let host_path = format!("{dir}/{name}");
            let ours = name.starts_with(UNIT_PREFIX) && name.ends_with(".service");
            if ours && !files.iter().any(|file| file.path == host_path) {
                fs::remove_file(entry.path()).map_err(|source| WriteError::Io {
                    path: entry.path(),
                    source,
                })?;
                removed.push(format!("removed {host_path}"));
            }
        }
    }
    removed.sort();
    Ok(removed)
}
