//! The rewrite, end to end: read the domain XML, plan, splice, make sure
//! the result is still a document, and replace the file atomically. The
//! hook and `apply` both run exactly this.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::domain::document::{self, DocumentError, Reduced};
use crate::domain::facts::Domain;
use crate::host::files;
use crate::host::topology::HostLimits;
use crate::plan::error::FitError;
use crate::plan::plan;
use crate::plan::warning::Warning;
use crate::properties::numatune::Placement;
use crate::properties::Request;
use crate::splice::splice;
use crate::wording::{bare, quoted_path};

/// The variable VDSM names the domain XML file in.
pub const DOMXML_VARIABLE: &str = "_hook_domxml";

/// Why the rewrite refused; the file is untouched.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error(transparent)]
    File(#[from] DomxmlError),
}

/// Reading or replacing the domain XML file failed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DomxmlError {
    #[error("cannot read the domain XML {}: {}", quoted_path(.path), bare(.reason))]
    Read { path: PathBuf, reason: String },
    #[error("the domain XML {} is not UTF-8 text (bad byte at offset {offset}); VDSM writes UTF-8", quoted_path(.path))]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("cannot write the domain XML {}: {}; it was left unchanged", quoted_path(.path), bare(.reason))]
    Write { path: PathBuf, reason: String },
}

/// The rewritten document, the line VDSM logs about it, and what the VM
/// will run with but not as well as it could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub text: String,
    pub summary: String,
    /// The engine's CPU pinning policy the rewrite followed, as a line.
    pub cpu_policy: String,
    pub warnings: Vec<Warning>,
}

/// What the file held, and what the rewrite made of it.
pub struct FileRewrite {
    pub before: String,
    pub outcome: Outcome,
}

/// The file rewritten in place (unless `write` is false); on a refusal it
/// is exactly as it was.
pub fn rewrite_file(
    path: &Path,
    request: &Request,
    host: Option<&HostLimits>,
    write: bool,
) -> Result<FileRewrite, Refusal> {
    let before = read_domxml(path)?;
    check_numad(request)?;
    let outcome = rewrite(&before, request, host)?;
    if write && outcome.text != before {
        write_atomically(path, &outcome.text)?;
    }
    Ok(FileRewrite { before, outcome })
}

/// libvirt asks numad for the nodes at start when the numatune property
/// says `auto`, and fails the start without it.
fn check_numad(request: &Request) -> Result<(), FitError> {
    let asks_numad = request
        .numatune
        .as_ref()
        .is_some_and(|tune| tune.placement == Placement::Auto);
    match asks_numad && !files::numad_installed() {
        true => Err(FitError::NoNumad {
            path: files::numad_path(),
        }),
        false => Ok(()),
    }
}

pub fn rewrite(
    text: &str,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Outcome, Refusal> {
    let mut reduced = Reduced::default();
    let outcome = edit(text, &mut reduced, request, host)?;
    // Never hand libvirt a broken document, whatever went wrong in the edit.
    // The edit's tree is gone by now; what it did not touch was checked on
    // the way in, so only what changed is scanned again.
    if let Err(err) = document::check_edit(text, &outcome.text, &reduced) {
        return Err(DocumentError::NotWellFormed(format!(
            " after the edit ({err}); this is a bug"
        ))
        .into());
    }
    Ok(outcome)
}

fn edit(
    text: &str,
    reduced: &mut Reduced,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Outcome, Refusal> {
    let doc = document::parse(text, reduced)?;
    let domain = Domain::read(&doc)?;
    let plan = plan(&domain, request, host)?;
    let text = splice(&doc, text, &domain, &plan);
    Ok(Outcome {
        text,
        summary: plan.summary,
        cpu_policy: plan.cpu_policy,
        warnings: plan.warnings,
    })
}

pub fn read_domxml(path: &Path) -> Result<String, DomxmlError> {
    let bytes = fs::read(path).map_err(|err| DomxmlError::Read {
        path: path.into(),
        reason: err.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|err| DomxmlError::NotUtf8 {
        path: path.into(),
        offset: err.utf8_error().valid_up_to(),
    })
}

/// Replaces the file so that a crash at any point leaves the old document
/// or the new one, never a mix: a new file in the same folder, synced, with
/// the original's mode and owner, renamed over the original.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), DomxmlError> {
    let fail = |reason: String| DomxmlError::Write {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::guestnuma::GuestNuma;

    fn even(count: usize) -> Request {
        Request {
            guestnuma: Some(GuestNuma::Even(count)),
            ..Request::default()
        }
    }

    #[test]
    fn comments_inside_rebuilt_elements_are_kept() {
        let text = "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  <numatune>\n    \
                    <!-- pinned by the DBA -->\n    <memory mode='strict' nodeset='0'/>\n  \
                    </numatune>\n  <cpu>\n    <numa>\n      <!-- two sockets -->\n      \
                    <cell id='0' cpus='0-1' memory='2097152' unit='KiB'/>\n    </numa>\n  \
                    </cpu>\n</domain>\n";
        let request = Request {
            numatune: Some(crate::properties::numatune::parse("interleave#0").unwrap()),
            guestnuma: Some(GuestNuma::Even(2)),
            ..Request::default()
        };
        let once = rewrite(text, &request, None).unwrap().text;
        assert!(
            once.contains(
                "<numatune>\n    <!-- pinned by the DBA -->\n    <memory mode='interleave'"
            ),
            "{once}"
        );
        assert!(
            once.contains("<numa>\n      <!-- two sockets -->\n      <cell id='0' cpus='0'"),
            "{once}"
        );
        assert_eq!(rewrite(&once, &request, None).unwrap().text, once);
    }

    #[test]
    fn an_element_sharing_its_line_gets_its_new_child_inline() {
        let text = "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  \
                    <cpu match='exact'><model>X</model></cpu>\n</domain>\n";
        let once = rewrite(text, &even(2), None).unwrap().text;
        assert_eq!(
            once,
            "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  <cpu match='exact'>\
             <model>X</model><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/>\
             <cell id='1' cpus='1' memory='1048576' unit='KiB'/></numa></cpu>\n</domain>\n"
        );
        assert_eq!(rewrite(&once, &even(2), None).unwrap().text, once);
    }
}
