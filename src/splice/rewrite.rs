//! The rewrite, end to end: read the domain XML, plan, splice, make sure
//! the result is still a document, and replace the file atomically. The
//! hook and `apply` both run exactly this.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::domain::document::{self, DocumentError, Pruned};
use crate::domain::facts::Domain;
use crate::host::files;
use crate::host::topology::HostLimits;
use crate::plan::plan;
use crate::plan::refusal::Refusal;
use crate::plan::warning::Warning;
use crate::properties::numatune::Placement;
use crate::properties::Request;
use crate::splice::splice;
use crate::wording::{bare, quoted_path};

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

/// Where the rewrite of a file looks and what it may do.
pub struct FileJob<'a> {
    pub host: Option<&'a HostLimits>,
    /// Where libvirt runs numad from, when the request asks for it.
    pub numad: &'a Path,
    /// False for a dry run.
    pub write: bool,
}

/// The file rewritten in place (unless the job says not to write); on a
/// refusal it is exactly as it was.
pub fn rewrite_file(
    path: &Path,
    request: &Request,
    job: FileJob,
) -> Result<FileRewrite, RewriteError> {
    let (host, write) = (job.host, job.write);
    let before = read_domxml(path)?;
    check_numad(request, job.numad)?;
    let outcome = rewrite(&before, request, host)?;
    if write && outcome.text != before {
        write_atomically(path, &outcome.text)?;
    }
    Ok(FileRewrite { before, outcome })
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

pub fn rewrite(
    text: &str,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Outcome, RewriteError> {
    let mut pruned = Pruned::default();
    let outcome = edit(text, &mut pruned, request, host)?;
    // Never hand libvirt a broken document, whatever went wrong in the edit.
    // The edit's tree is gone by now; what it did not touch was checked on
    // the way in, so only what changed is scanned again.
    if let Err(err) = document::check_edit(text, &outcome.text, &pruned) {
        return Err(DocumentError::NotWellFormed(format!(
            " after the edit ({err}); this is a bug"
        ))
        .into());
    }
    Ok(outcome)
}

fn edit(
    text: &str,
    pruned: &mut Pruned,
    request: &Request,
    host: Option<&HostLimits>,
) -> Result<Outcome, RewriteError> {
    let (doc, offsets) = document::parse_located(text, pruned)?;
    let domain = Domain::read(&doc)?;
    let plan = plan(&domain, request, host)?;
    let text = splice(&doc, text, offsets, &domain, &plan);
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

/// Replaces the file so that a hook killed at any point leaves the old
/// document or the new one, never a mix: a new file in the same folder,
/// with the original's mode and owner, renamed over the original.
///
/// Nothing is synced. VDSM writes this file without a sync itself
/// (`mkstemp`, `write`, `close`), reads it back as soon as the hook exits and
/// deletes it; after a crash of the host there is no VM start left to save,
/// and under a mass start the syncs would only queue on the journal.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), DomxmlError> {
    let fail = |reason: String| DomxmlError::Write {
        path: path.into(),
        reason,
    };
    let original = fs::metadata(path).map_err(|err| fail(err.to_string()))?;
    let (temp, file) =
        create_temp(path, &original, random_suffix).map_err(|err| fail(err.to_string()))?;
    let written = fill(file, text, &original).and_then(|()| fs::rename(&temp, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(fail(err.to_string()));
    }
    Ok(())
}

fn fill(mut file: File, text: &str, original: &fs::Metadata) -> std::io::Result<()> {
    file.write_all(text.as_bytes())?;
    // The creation mode passed the umask; this puts back what it took.
    file.set_permissions(original.permissions())?;
    // Only root can give a file away; as VDSM's user the owner is already right.
    let _ = std::os::unix::fs::fchown(&file, Some(original.uid()), Some(original.gid()));
    Ok(())
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Names tried before giving up; a random name is taken only if someone
/// guessed 96 bits, so a second try is already for show.
const TEMP_ATTEMPTS: usize = 4;

/// VDSM's file lives in a shared temporary folder, so the new file's name
/// is random (nobody can pre-create it or plant a link there) and it is
/// created exclusively (`O_CREAT | O_EXCL`: a name that exists, a symlink
/// included, is never followed nor reused), with the original's mode from
/// the start, so the document is never readable by more users than before.
fn create_temp(
    path: &Path,
    original: &fs::Metadata,
    mut suffix: impl FnMut() -> std::io::Result<String>,
) -> std::io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = original.permissions().mode() & 0o777;
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let temp = folder(path).join(format!(".{name}.largeguest-{}", suffix()?));
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp);
        match created {
            Ok(file) => return Ok((temp, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// 96 bits from the kernel's random source, as 24 hexadecimal digits.
fn random_suffix() -> std::io::Result<String> {
    let mut bytes = [0u8; 12];
    let mut filled = 0;
    while filled < bytes.len() {
        let rest = &mut bytes[filled..];
        // SAFETY: the pointer and length describe `rest`, which the kernel fills.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match usize::try_from(got) {
            Ok(got) => filled += got,
            Err(_) => {
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
    let mut hex = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    Ok(hex)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

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

    /// A scratch folder of its own, removed at the end.
    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("largeguest-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn temporary_names_are_random_hex_from_the_kernel() {
        let names: Vec<String> = (0..64).map(|_| random_suffix().unwrap()).collect();
        for name in &names {
            assert_eq!(name.len(), 24, "{name}");
            assert!(name.bytes().all(|b| HEX.contains(&b)), "{name}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a name came twice");
    }

    #[test]
    fn a_name_already_there_is_neither_followed_nor_reused() {
        let dir = scratch("temp-planted");
        let path = dir.join("domxml");
        fs::write(&path, "<domain/>").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(".domxml.largeguest-a")).unwrap();
        fs::write(dir.join(".domxml.largeguest-b"), "planted").unwrap();
        let mut tries = ["a", "b", "c"].into_iter();
        let suffix = || Ok(tries.next().unwrap().to_string());
        let original = fs::metadata(&path).unwrap();
        let (temp, file) = create_temp(&path, &original, suffix).unwrap();
        assert_eq!(temp, dir.join(".domxml.largeguest-c"));
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(
            fs::read_to_string(dir.join(".domxml.largeguest-b")).unwrap(),
            "planted"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_name_taken_gives_up_without_creating_anything() {
        let dir = scratch("temp-taken");
        let path = dir.join("domxml");
        fs::write(&path, "<domain/>").unwrap();
        fs::write(dir.join(".domxml.largeguest-x"), "taken").unwrap();
        let original = fs::metadata(&path).unwrap();
        let err = create_temp(&path, &original, || Ok("x".to_string())).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(names_in(&dir), [".domxml.largeguest-x", "domxml"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_replacement_keeps_the_mode_and_leaves_no_other_file() {
        let dir = scratch("temp-replace");
        let path = dir.join("domxml");
        fs::write(&path, "<domain/>").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
        write_atomically(&path, "<domain><vcpu>1</vcpu></domain>").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "<domain><vcpu>1</vcpu></domain>"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o604);
        assert_eq!(names_in(&dir), ["domxml"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
