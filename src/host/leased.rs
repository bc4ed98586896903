//! The domain XML's text read in place, without a copy.
//!
//! `read` into fresh memory is a quarter of the hook's time on a 1 MB
//! document: the kernel allocates and clears 256 pages and copies the file
//! into them. Mapping the file's page cache costs a few page-table entries
//! instead. A mapping alone would be unsafe here: a writer could change the
//! bytes between the check and the write (the new file would hold text
//! nobody checked), and a truncation would kill the hook with `SIGBUS`.
//! So the file is mapped only under a read lease (`F_SETLEASE`): while the
//! hook holds it, any other open for writing and any truncation waits (up
//! to the kernel's `lease-break-time`, 45 s) until the hook is done, and
//! the lease cannot be taken at all while somebody has the file open for
//! writing. Where no lease can be had (not the file's owner, a file system
//! without leases, a writer already there) the text is read as before.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::os::fd::AsRawFd;

use thiserror::Error;

/// Below this the copy costs less than taking the lease and mapping, and
/// an engine's typical domain XML (10-20 KiB) stays on the plain read.
const MAP_FROM: usize = 64 * 1024;

/// A file's whole text, mapped under a lease or read into memory; valid
/// UTF-8 either way.
pub struct FileText {
    backing: Backing,
}

enum Backing {
    Mapped(LeasedMap),
    Read(String),
}

/// Why the text could not be had; the caller names the file.
#[derive(Debug, Error)]
pub enum TextError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not UTF-8 (bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
}

impl FileText {
    /// The file's text, mapped when it is large and a lease guards it,
    /// else read.
    pub fn open(file: File) -> Result<FileText, TextError> {
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
        let mut file = match len >= MAP_FROM {
            true => match LeasedMap::new(file, len) {
                Ok(map) => return FileText::mapped(map),
                Err(file) => file,
            },
            false => file,
        };
        let mut bytes = Vec::with_capacity(len);
        file.read_to_end(&mut bytes)?;
        let text = String::from_utf8(bytes).map_err(|err| TextError::NotUtf8 {
            offset: err.utf8_error().valid_up_to(),
        })?;
        Ok(FileText {
            backing: Backing::Read(text),
        })
    }

    fn mapped(map: LeasedMap) -> Result<FileText, TextError> {
        std::str::from_utf8(map.bytes()).map_err(|err| TextError::NotUtf8 {
            offset: err.valid_up_to(),
        })?;
        Ok(FileText {
            backing: Backing::Mapped(map),
        })
    }

    /// Whether the text is still what the file holds: false only when a
    /// mapped file's lease was broken (somebody waited past the kernel's
    /// lease-break-time to write it), so what was checked may not be what
    /// would be copied.
    pub fn still_guarded(&self) -> bool {
        match &self.backing {
            Backing::Mapped(map) => map.leased(),
            Backing::Read(_) => true,
        }
    }

    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.backing, Backing::Mapped(_))
    }
}

impl Deref for FileText {
    type Target = str;

    fn deref(&self) -> &str {
        match &self.backing {
            // SAFETY: `open` checked these very bytes are UTF-8, and the
            // lease keeps every other process from changing them.
            Backing::Mapped(map) => unsafe { std::str::from_utf8_unchecked(map.bytes()) },
            Backing::Read(text) => text,
        }
    }
}

/// A read-only private mapping of a whole file, under a read lease held by
/// the file it keeps open.
struct LeasedMap {
    address: *mut libc::c_void,
    len: usize,
    file: File,
}

impl LeasedMap {
    /// The file back when it cannot be mapped under a lease.
    fn new(file: File, len: usize) -> Result<LeasedMap, File> {
        let fd = file.as_raw_fd();
        // The kernel tells a lease holder that somebody waits with SIGIO,
        // whose default is to end the process: the hook would die half-way
        // instead of finishing and letting the writer in.
        // SAFETY: setting a signal's disposition to SIG_IGN has no
        // preconditions; the fcntl calls act on a descriptor owned here.
        unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
        // SAFETY: see above.
        if unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) } != 0 {
            return Err(file);
        }
        // SAFETY: a new mapping chosen by the kernel, of a file open for
        // reading; nothing else refers to that address range.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                fd,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            // SAFETY: gives back the lease taken above on the same descriptor.
            unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
            return Err(file);
        }
        Ok(LeasedMap { address, len, file })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `address` maps `len` readable bytes until `drop`, and the
        // lease keeps the file from shrinking under them.
        unsafe { std::slice::from_raw_parts(self.address.cast::<u8>(), self.len) }
    }

    fn leased(&self) -> bool {
        // SAFETY: a plain fcntl call on a descriptor this value owns.
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) == libc::F_RDLCK }
    }
}

impl Drop for LeasedMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; no slice of it
        // outlives `self`. The lease goes with `file`, closed after this.
        unsafe { libc::munmap(self.address, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::os::unix::fs::OpenOptionsExt;

    fn scratch(name: &str, text: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("largeguest-leased-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    /// A document just large enough to be mapped.
    fn large(body: &str) -> String {
        let padding = " ".repeat(MAP_FROM);
        format!("<domain>{padding}{body}</domain>\n")
    }

    #[test]
    fn a_large_file_nobody_writes_is_mapped_whole() {
        let content = large("é");
        let path = scratch("plain.xml", content.as_bytes());
        let text = FileText::open(File::open(&path).unwrap()).unwrap();
        assert!(text.is_mapped());
        assert_eq!(&*text, content);
        assert!(text.still_guarded());
    }

    #[test]
    fn a_small_file_is_read() {
        let path = scratch("small.xml", "<domain>é</domain>\n".as_bytes());
        let text = FileText::open(File::open(&path).unwrap()).unwrap();
        assert!(!text.is_mapped());
        assert_eq!(&*text, "<domain>é</domain>\n");
    }

    #[test]
    fn a_writer_waits_while_the_text_is_mapped() {
        let content = large("");
        let path = scratch("guarded.xml", content.as_bytes());
        let text = FileText::open(File::open(&path).unwrap()).unwrap();
        assert!(text.is_mapped());
        // A writer that will not wait is told to come back; one that would
        // wait is what the lease is for.
        let writer = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path);
        assert_eq!(
            writer.map_err(|err| err.raw_os_error()).err(),
            Some(Some(libc::EWOULDBLOCK))
        );
        // The attempt started breaking the lease: the text no longer
        // vouches for the file.
        assert!(!text.still_guarded());
        assert_eq!(&*text, content);
    }

    #[test]
    fn a_large_file_already_open_for_writing_is_read_instead() {
        let content = large("");
        let path = scratch("written.xml", content.as_bytes());
        let _writer = OpenOptions::new().write(true).open(&path).unwrap();
        let text = FileText::open(File::open(&path).unwrap()).unwrap();
        assert!(!text.is_mapped());
        assert_eq!(&*text, content);
        assert!(text.still_guarded());
    }

    #[test]
    fn an_empty_file_is_read() {
        let path = scratch("empty.xml", b"");
        let text = FileText::open(File::open(&path).unwrap()).unwrap();
        assert!(!text.is_mapped());
        assert_eq!(&*text, "");
    }

    /// Mapped or read, the same refusal at the same offset.
    #[test]
    fn bytes_that_are_not_utf8_are_refused_at_their_offset() {
        let mut content = large("").into_bytes();
        let offset = content.len() - 3;
        content[offset] = 0xe9;
        let path = scratch("latin1.xml", &content);
        let not_utf8_at = |file| match FileText::open(file) {
            Err(TextError::NotUtf8 { offset }) => Some(offset),
            _ => None,
        };
        assert_eq!(not_utf8_at(File::open(&path).unwrap()), Some(offset));
        let _writer = OpenOptions::new().write(true).open(&path).unwrap();
        assert_eq!(not_utf8_at(File::open(&path).unwrap()), Some(offset));
    }
}
