//! The VDSM hook protocol: custom properties arrive as environment
//! variables, the domain XML in the file `_hook_domxml` names, and VDSM
//! reads that file back. A refusal must leave it exactly as it was.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cli::PROGRAM;
use crate::property::{Problem, PropertyError};
use crate::rewrite::Request;
use crate::topology::{self, HostLimits};
use crate::{cputune, guestnuma, numatune};

pub const DOMXML_VARIABLE: &str = "_hook_domxml";

#[derive(Debug, Error)]
pub enum HookError {
    #[error("{DOMXML_VARIABLE} is not set: this job runs as a VDSM hook; to try it by hand use '{PROGRAM} apply --domxml FILE'")]
    NoDomxml,
    #[error("cannot read the domain XML {path:?}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("the domain XML {path:?} is not UTF-8 text (bad byte at offset {offset}); VDSM writes UTF-8")]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("cannot write the domain XML {path:?}: {reason}; it was left unchanged")]
    Write { path: PathBuf, reason: String },
}

/// The three properties from the environment; absent ones stay `None`.
pub fn request_from_env() -> Result<Request, PropertyError> {
    Ok(Request {
        cputune: env_value(cputune::PROPERTY)?
            .map(|v| cputune::parse(&v))
            .transpose()?,
        numatune: env_value(numatune::PROPERTY)?
            .map(|v| numatune::parse(&v))
            .transpose()?,
        guestnuma: env_value(guestnuma::PROPERTY)?
            .map(|v| guestnuma::parse(&v))
            .transpose()?,
    })
}

fn env_value(name: &str) -> Result<Option<String>, PropertyError> {
    let Some(raw) = std::env::var_os(name) else {
        return Ok(None);
    };
    raw.into_string().map(Some).map_err(|raw| {
        let text = raw.to_string_lossy().into_owned();
        PropertyError::new(name, &text, &text, Problem::NotUtf8)
    })
}

pub fn domxml_path() -> Result<PathBuf, HookError> {
    std::env::var_os(DOMXML_VARIABLE)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or(HookError::NoDomxml)
}

pub fn read_domxml(path: &Path) -> Result<String, HookError> {
    let bytes = fs::read(path).map_err(|err| HookError::Read {
        path: path.into(),
        reason: err.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|err| HookError::NotUtf8 {
        path: path.into(),
        offset: err.utf8_error().valid_up_to(),
    })
}

/// The host's limits, or `None` with a warning when sysfs cannot be read:
/// libvirt checks the host again at start, so the VM is not refused for it.
pub fn host_limits() -> Option<HostLimits> {
    match HostLimits::read(&topology::sysfs_root()) {
        Ok(limits) => Some(limits),
        Err(err) => {
            crate::output::note(&format!("warning: host checks skipped: {err}"));
            None
        }
    }
}

/// Replaces the file so that a crash at any point leaves the old document
/// or the new one, never a mix: a new file in the same folder, synced, with
/// the original's mode and owner, renamed over the original.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), HookError> {
    let fail = |reason: String| HookError::Write {
        path: path.into(),
        reason,
    };
    let original = fs::metadata(path).map_err(|err| fail(err.to_string()))?;
    let (temp, file) = create_temp(path).map_err(|err| fail(err.to_string()))?;
    let written = fill(file, text, &original).and_then(|()| fs::rename(&temp, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(fail(err.to_string()));
    }
    if let Ok(dir) = File::open(folder(path)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn fill(mut file: File, text: &str, original: &fs::Metadata) -> std::io::Result<()> {
    file.write_all(text.as_bytes())?;
    file.set_permissions(original.permissions())?;
    // Only root can give a file away; as VDSM's user the owner is already right.
    let _ = std::os::unix::fs::fchown(&file, Some(original.uid()), Some(original.gid()));
    file.sync_all()
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `create_new` never follows or reuses what is already there, so a name
/// taken (by another hook on the same file, or a symlink planted at it)
/// only moves on to the next name.
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last_error = None;
    for attempt in 0..16 {
        let temp = folder(path).join(format!(".{name}.largeguest-{attempt}"));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}
