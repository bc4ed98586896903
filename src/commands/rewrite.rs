//! The rewrite, end to end, each stage called once in the order the data
//! flows: read the domain XML, read the domain from it, plan, splice
//! (which checks its result is still a document), and replace the file
//! atomically. The hook and `apply` both run exactly this.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::domain::document::{self, DocumentError, Pruned};
use crate::domain::facts::Domain;
use crate::host::files;
use crate::host::leased::{FileText, TextError};
use crate::host::replace::{self, Replacement};
use crate::host::topology::HostLimits;
use crate::plan::plan;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::numatune::Placement;
use crate::properties::Request;
use crate::splice::splice;
use crate::wording::{bare, quoted_path};
use crate::xml::edited::Edited;

/// The variable VDSM names the domain XML file in.
pub const DOMXML_VARIABLE: &str = "_hook_domxml";

/// Why the rewrite refused; the file is untouched.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RewriteError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Refused(#[from] Refusal),
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
    #[error("another process opened the domain XML {} for writing while the hook read it; it was left unchanged; start the VM again", quoted_path(.path))]
    Contended { path: PathBuf },
    #[error("cannot write the domain XML {}: {}; it was left unchanged", quoted_path(.path), bare(.reason))]
    Write { path: PathBuf, reason: String },
}

/// The rewritten document, the line VDSM logs about it, and what the VM
/// will run with but not as well as it could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<'t> {
    /// The original and its edits: written out piece by piece, never
    /// copied whole.
    pub document: Edited<'t>,
    pub summary: String,
    /// The engine's CPU pinning policy the rewrite followed, as a line.
    pub cpu_policy: String,
    pub warnings: Vec<Warning>,
}

impl Outcome<'_> {
    /// The rewritten document as one text, for a dry run and for tests.
    pub fn text(&self) -> String {
        self.document.to_string()
    }
}

/// Where the rewrite of a file looks and what it may do.
pub struct FileJob<'a> {
    pub host: Option<&'a HostLimits>,
    /// Where libvirt runs numad from, when the request asks for it.
    pub numad: &'a Path,
    /// False for a dry run.
    pub write: bool,
}

/// The file rewritten in place (unless the job says not to write); on a
/// refusal it is exactly as it was. `then` sees what the file held and
/// what the rewrite made of it, after the write: handed over rather than
/// returned, because the outcome is pieces of the file's text, which
/// lives here.
pub fn rewrite_file<T>(
    path: &Path,
    request: &Request,
    job: FileJob,
    then: impl FnOnce(&str, &Outcome) -> T,
) -> Result<T, RewriteError> {
    let (host, write) = (job.host, job.write);
    let before = read_domxml(path)?;
    check_numad(request, job.numad)?;
    let outcome = rewrite(&before, request, host)?;
    if write && !outcome.document.is_unchanged() {
        if !before.still_guarded() {
            return Err(DomxmlError::Contended { path: path.into() }.into());
        }
        write_atomically(path, &outcome.document)?;
    }
    Ok(then(&before, &outcome))
}

/// libvirt asks numad for the nodes at start when the numatune property
/// says `auto`, and fails the start without it.
fn check_numad(request: &Request, numad: &Path) -> Result<(), Refusal> {
    let asks_numad = request
        .numatune
        .as_ref()
        .is_some_and(|tune| tune.placement == Placement::Auto);
    match asks_numad && !files::numad_installed(numad) {
        true => Err(Refusal::NoNumad {
            path: numad.to_path_buf(),
        }),
        false => Ok(()),
    }
}

/// The rewrite of a document's text: the domain read from it, the plan,
/// the splice and its check; the result borrows `text`.
pub fn rewrite<'t>(
    text: &'t str,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Outcome<'t>, RewriteError> {
    let mut pruned = Pruned::default();
    let located = document::parse_located(text, &mut pruned)?;
    let domain = Domain::read(&located.doc)?;
    let plan = plan(&domain, request, host)?;
    // Never hand libvirt a broken document, whatever went wrong in the edit.
    let document = splice(&located, text, &domain, &plan).map_err(|err| {
        let err = DocumentError::from(err);
        DocumentError::NotWellFormed(format!(" after the edit ({err}); this is a bug"))
    })?;
    Ok(Outcome {
        document,
        summary: plan.summary,
        cpu_policy: plan.cpu_policy,
        warnings: plan.warnings,
    })
}

/// The domain XML's text, mapped rather than copied where a lease keeps
/// other writers out (`host::leased`).
pub fn read_domxml(path: &Path) -> Result<FileText, DomxmlError> {
    let unreadable = |err: std::io::Error| DomxmlError::Read {
        path: path.into(),
        reason: err.to_string(),
    };
    let file = fs::File::open(path).map_err(unreadable)?;
    FileText::open(file).map_err(|err| match err {
        TextError::Io(err) => unreadable(err),
        TextError::NotUtf8 { offset } => DomxmlError::NotUtf8 {
            path: path.into(),
            offset,
        },
    })
}

/// Replaces the file so that a hook killed at any point leaves the old
/// document or the new one, never a mix: a new file in the same folder,
/// with the original's mode and owner, renamed over the original.
///
/// Nothing is synced. VDSM writes this file without a sync itself
/// (`mkstemp`, `write`, `close`), reads it back as soon as the hook exits and
/// deletes it; after a crash of the host there is no VM start left to save,
/// and under a mass start the syncs would only queue on the journal.
pub fn write_atomically(path: &Path, document: &Edited) -> Result<(), DomxmlError> {
    let fail = |err: std::io::Error| DomxmlError::Write {
        path: path.into(),
        reason: err.to_string(),
    };
    let original = fs::metadata(path).map_err(fail)?;
    let how = Replacement {
        mode: original.permissions().mode(),
        owner: Some((original.uid(), original.gid())),
        sync: false,
    };
    replace::replace_with(path, how, |file| document.write_to(file)).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::guestnuma::GuestNuma;

    /// The refusal after a broken lease says which file, that it is
    /// unchanged, and what to do, in the one clean line VDSM shows.
    #[test]
    fn a_contended_file_is_refused_in_one_clean_line() {
        let message = DomxmlError::Contended {
            path: PathBuf::from("/tmp/tmpa1b2c3"),
        }
        .to_string();
        assert_eq!(
            message,
            "another process opened the domain XML '/tmp/tmpa1b2c3' for writing while \
             the hook read it; it was left unchanged; start the VM again"
        );
        assert!(crate::wording::is_clean_message(&message));
    }

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
        let once = rewrite(text, &request, None).unwrap().text();
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
        assert_eq!(rewrite(&once, &request, None).unwrap().text(), once);
    }

    #[test]
    fn an_element_sharing_its_line_gets_its_new_child_inline() {
        let text = "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  \
                    <cpu match='exact'><model>X</model></cpu>\n</domain>\n";
        let once = rewrite(text, &even(2), None).unwrap().text();
        assert_eq!(
            once,
            "<domain>\n  <vcpu>2</vcpu>\n  <memory>2097152</memory>\n  <cpu match='exact'>\
             <model>X</model><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/>\
             <cell id='1' cpus='1' memory='1048576' unit='KiB'/></numa></cpu>\n</domain>\n"
        );
        assert_eq!(rewrite(&once, &even(2), None).unwrap().text(), once);
    }

    #[test]
    fn the_replacement_keeps_the_original_mode() {
        let dir = std::env::temp_dir().join(format!("largeguest-mode-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("domxml");
        fs::write(&path, "<domain/>").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let edit = (7..9, "><vcpu>1</vcpu></domain>".to_string());
        let document = Edited::new("<domain/>", vec![edit]);
        write_atomically(&path, &document).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "<domain><vcpu>1</vcpu></domain>"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        fs::remove_dir_all(&dir).unwrap();
    }
}
