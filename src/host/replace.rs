//! Replacing a file whole: a new file beside it, renamed over it, so that a
//! reader (VDSM, Prometheus's collector, systemd at boot) and a writer
//! killed half-way leave the old file or the new one, never a mix. Every
//! file the program writes goes through here.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What the new file gets, and whether it must survive a power cut.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replacement {
    /// The permission bits, set from the creation on, so the content is
    /// never readable by more users than this says.
    pub mode: u32,
    /// Owner and group to give the file (only root can give a file away,
    /// so a failure to is not one).
    pub owner: Option<(u32, u32)>,
    /// Sync the file and the folder: for files read after a reboot, not for
    /// ones read a moment later and deleted.
    pub sync: bool,
}

/// Writes `text` to a new, randomly named file beside `path` and renames it
/// over `path`; on any failure the new file is removed and `path` is as it was.
pub(crate) fn replace(path: &Path, text: &str, how: Replacement) -> std::io::Result<()> {
    replace_with(path, how, |file| file.write_all(text.as_bytes()))
}

/// As [`replace`], the new file's content written by `write` (a document
/// written in pieces: the original's slices and the edits), through a
/// buffer so that small pieces do not cost a system call each, while
/// large slices go straight to the file.
pub(crate) fn replace_with(
    path: &Path,
    how: Replacement,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (temp, file) = create_temp(path, how.mode, random_suffix)?;
    let written = fill(file, write, how).and_then(|()| put_in_place(&temp, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    if how.sync {
        File::open(folder(path))?.sync_all()?;
    }
    Ok(())
}

/// The new file takes the path's place in one step: exchanged with the
/// file there, which is then removed, or renamed where there is none (or
/// the file system cannot exchange). Renaming over a file would do the
/// same, but ext4 then starts writing the new file's blocks to disk at
/// once (`auto_da_alloc`, which spares careless editors an empty file
/// after a crash), inside the rename: a third of the hook's time on a
/// 1 MB domain XML, for a file VDSM reads back and deletes a moment later.
fn put_in_place(temp: &Path, path: &Path) -> std::io::Result<()> {
    match exchange(temp, path) {
        Ok(()) => {
            // The old document, now under the temporary name. Failing to
            // remove it leaves a stray file, never a wrong document.
            let _ = fs::remove_file(temp);
            Ok(())
        }
        Err(err) if cannot_exchange(&err) => fs::rename(temp, path),
        Err(err) => Err(err),
    }
}

/// No file at the path, or a file system (or kernel) without exchange.
fn cannot_exchange(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOENT | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = |path: &Path| {
        std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c_path(a)?, c_path(b)?);
    // SAFETY: two NUL-terminated paths that live across the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    match done {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Room for the small pieces between the large ones.
const BUFFER: usize = 16 * 1024;

fn fill(
    file: File,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    how: Replacement,
) -> std::io::Result<()> {
    let mut buffered = BufWriter::with_capacity(BUFFER, file);
    write(&mut buffered)?;
    // A write that fails at the flush fails the replacement, as any other.
    let file = buffered.into_inner().map_err(|err| err.into_error())?;
    // The creation mode passed the umask; this puts back what it took.
    file.set_permissions(fs::Permissions::from_mode(how.mode))?;
    if let Some((uid, gid)) = how.owner {
        let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
    }
    if how.sync {
        file.sync_all()?;
    }
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

/// The folder may be shared (VDSM's file lives in /tmp), so the new file's
/// name is random (nobody can pre-create it or plant a link there) and it is
/// created exclusively (`O_CREAT | O_EXCL`: a name that exists, a symlink
/// included, is never followed nor reused). The name ends in hex digits,
/// so a collector reading `*.prom` never picks it up.
fn create_temp(
    path: &Path,
    mode: u32,
    mut suffix: impl FnMut() -> std::io::Result<String>,
) -> std::io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let temp = folder(path).join(format!(".{name}.largeguest-{}", suffix()?));
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o777)
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

    const QUICK: Replacement = Replacement {
        mode: 0o604,
        owner: None,
        sync: false,
    };

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
        let victim = dir.join("victim");
        fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(".domxml.largeguest-a")).unwrap();
        fs::write(dir.join(".domxml.largeguest-b"), "planted").unwrap();
        let mut tries = ["a", "b", "c"].into_iter();
        let suffix = || Ok(tries.next().unwrap().to_string());
        let (temp, file) = create_temp(&path, 0o640, suffix).unwrap();
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
        let err = create_temp(&path, 0o600, || Ok("x".to_string())).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(names_in(&dir), [".domxml.largeguest-x", "domxml"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_replacement_has_its_mode_and_leaves_no_other_file() {
        for sync in [false, true] {
            let dir = scratch(&format!("temp-replace-{sync}"));
            let path = dir.join("domxml");
            fs::write(&path, "<domain/>").unwrap();
            replace(
                &path,
                "<domain><vcpu>1</vcpu></domain>",
                Replacement { sync, ..QUICK },
            )
            .unwrap();
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

    /// Where nothing stands at the path yet (a file `prepare` writes for
    /// the first time), the new file is renamed there.
    #[test]
    fn a_path_with_no_file_yet_gets_the_new_one() {
        let dir = scratch("temp-new");
        let path = dir.join("domxml");
        replace(&path, "<domain/>", QUICK).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "<domain/>");
        assert_eq!(names_in(&dir), ["domxml"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The path keeps being the document a reader opened before: it was
    /// exchanged, not written over, so an open file still reads the old
    /// text whole.
    #[test]
    fn a_reader_of_the_old_file_keeps_reading_it_whole() {
        let dir = scratch("temp-reader");
        let path = dir.join("domxml");
        fs::write(&path, "<domain>old</domain>").unwrap();
        let reader = File::open(&path).unwrap();
        replace(&path, "<domain>new</domain>", QUICK).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "<domain>new</domain>");
        assert_eq!(
            std::io::read_to_string(reader).unwrap(),
            "<domain>old</domain>"
        );
        assert_eq!(names_in(&dir), ["domxml"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_that_cannot_be_written_leaves_the_file_as_it_was() {
        let path = Path::new("/proc/version");
        let before = fs::read_to_string(path).unwrap();
        assert!(replace(path, "changed", QUICK).is_err());
        assert_eq!(fs::read_to_string(path).unwrap(), before);
    }
}
