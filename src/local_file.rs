//! Local files named on the command line — `--zone`, `--config`, `--file`,
//! `--ca-file`, `--services`, `--api-key-file`, message and report files —
//! read with a size cap, and only when they are regular files.
//!
//! This module decides what mailvet agrees to read from the local disk.
//! In CI those names can come from a pull request, so a file may be a
//! symlink to a device (`/dev/zero` never ends), a named pipe (opening it
//! waits for a writer that never comes) or a secret (`/proc/self/environ`).
//! So a file must be a regular file once symlinks are followed, checked
//! before it is opened and again on the open handle (opened non-blocking,
//! so a pipe swapped in between cannot stall the open); and at most one
//! byte more than the limit is read whatever its size claims, since procfs
//! files report a size of 0. Text files (zones, configs, domain lists) must be UTF-8
//! without NUL bytes: a file holding NUL is no zone or config, whatever it
//! is, and its content is then never quoted in an error.
//!
//! Error messages name the file (escaped, see [`crate::untrusted`]) and the
//! rule it broke, never what the file holds.

use crate::untrusted::escape_controls;
use std::fs::{File, FileType};
use std::io::Read;
use std::path::Path;

/// Why a local file was not read: the file (as shown) and the rule it
/// broke. A caller that names the file itself already (a batch names each
/// input) shows only the [`FileProblem`].
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct FileError {
    pub file: String,
    pub problem: FileProblem,
}

/// The rule a local file broke; `what` names the kind of file ("zone file").
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error("cannot read the {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the {what} must be a regular file, and this is {kind}")]
    NotRegular {
        what: &'static str,
        kind: &'static str,
    },
    #[error("the {what} is larger than {}, the most mailvet reads", size(*.limit))]
    TooLarge { what: &'static str, limit: u64 },
    #[error("the {what} is not text: {reason}")]
    NotText { what: &'static str, reason: String },
}

impl FileError {
    fn new(file: &str, problem: FileProblem) -> FileError {
        FileError {
            file: file.to_string(),
            problem,
        }
    }
}

/// Reads the regular file at `path` (symlinks followed), at most `limit`
/// bytes; `what` names it in errors ("zone file").
pub fn read(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>, FileError> {
    let handle = open(path, what)?;
    read_capped(handle, &shown(path), what, limit)
}

/// Opens the regular file at `path` (symlinks followed) for a caller that
/// streams it and caps what it reads itself; `what` names it in errors
/// ("report"). A pipe or device is refused before any read.
pub fn open(path: &Path, what: &'static str) -> Result<File, FileError> {
    let file = shown(path);
    let io = |source| FileError::new(&file, FileProblem::Io { what, source });
    let regular = |kind: FileType| match kind_of(kind) {
        None => Ok(()),
        Some(kind) => Err(FileError::new(
            &file,
            FileProblem::NotRegular { what, kind },
        )),
    };
    regular(std::fs::metadata(path).map_err(io)?.file_type())?;
    let handle = open_nonblocking(path).map_err(io)?;
    regular(handle.metadata().map_err(io)?.file_type())?;
    Ok(handle)
}

/// Reads at most `limit` bytes from a stream (standard input); `name`
/// names it in errors.
pub fn read_capped(
    reader: impl Read,
    name: &str,
    what: &'static str,
    limit: u64,
) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::new(name, FileProblem::Io { what, source }))?;
    if bytes.len() as u64 > limit {
        return Err(FileError::new(name, FileProblem::TooLarge { what, limit }));
    }
    Ok(bytes)
}

/// [`read`], and the bytes must be UTF-8 text without NUL. A byte-order
/// mark at the start, which some editors write, is no part of the text
/// and is dropped.
pub fn read_text(path: &Path, what: &'static str, limit: u64) -> Result<String, FileError> {
    let mut bytes = read(path, what, limit)?;
    if bytes.starts_with(BYTE_ORDER_MARK) {
        bytes.drain(..BYTE_ORDER_MARK.len());
    }
    let not_text =
        |reason: String| FileError::new(&shown(path), FileProblem::NotText { what, reason });
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(not_text(format!("it holds a NUL byte (at byte {at})")));
    }
    String::from_utf8(bytes).map_err(|e| {
        not_text(format!(
            "it is not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// U+FEFF in UTF-8, which some editors write at the start of a text file.
pub const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// The path as an error message shows it.
fn shown(path: &Path) -> String {
    escape_controls(&path.display().to_string()).into_owned()
}

/// `None` for a regular file, else what it is ("a named pipe").
pub fn kind_of(kind: FileType) -> Option<&'static str> {
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a named pipe");
        }
        if kind.is_char_device() {
            return Some("a character device");
        }
        if kind.is_block_device() {
            return Some("a block device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a file")
}

/// Opens for reading without blocking: a named pipe opened this way
/// returns at once (and is then refused) instead of waiting for a writer.
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// A byte count for people: whole MiB or KiB when it is one, else bytes.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, content: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mailvet-local-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn regular_files_under_the_cap_are_read() {
        let path = temp("ok.txt", b"hello\n");
        assert_eq!(read_text(&path, "zone file", 6).unwrap(), "hello\n");
        let e = read_text(&path, "zone file", 5).unwrap_err().to_string();
        assert!(e.ends_with("the zone file is larger than 5 bytes, the most mailvet reads"));
    }

    #[test]
    fn a_byte_order_mark_is_no_part_of_the_text() {
        let path = temp("bom.txt", b"\xEF\xBB\xBF$ORIGIN a.test.\n");
        assert_eq!(
            read_text(&path, "zone file", 64).unwrap(),
            "$ORIGIN a.test.\n"
        );
        // Only at the start: elsewhere it is a character of the text.
        let inside = temp("inside.txt", b"a\xEF\xBB\xBFb");
        assert_eq!(read_text(&inside, "zone file", 64).unwrap(), "a\u{FEFF}b");
    }

    #[test]
    fn nul_and_invalid_utf8_are_not_text_and_not_quoted() {
        let nul = temp("nul.txt", b"SECRET=hunter2\0PATH=/bin\0");
        let e = read_text(&nul, "config", 1024).unwrap_err().to_string();
        assert!(e.contains("holds a NUL byte (at byte 14)"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let latin1 = temp("latin1.txt", b"caf\xe9");
        let e = read_text(&latin1, "config", 1024).unwrap_err().to_string();
        assert!(e.contains("not UTF-8 (at byte 3)"), "{e}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_directories_and_procfs_are_bounded_or_refused() {
        let e = read(Path::new("/dev/zero"), "zone file", 1 << 20).unwrap_err();
        assert!(matches!(
            e.problem,
            FileProblem::NotRegular {
                kind: "a character device",
                ..
            }
        ));
        let e = read(Path::new("/"), "zone file", 1 << 20).unwrap_err();
        assert!(matches!(
            e.problem,
            FileProblem::NotRegular {
                kind: "a directory",
                ..
            }
        ));
        // A named pipe without a writer: refused at once, not waited on.
        let fifo = temp("fifo", b"").with_extension("pipe");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = read(&fifo, "zone file", 1 << 20).unwrap_err();
        assert!(matches!(
            e.problem,
            FileProblem::NotRegular {
                kind: "a named pipe",
                ..
            }
        ));
        // Through a symlink, the target is what counts.
        let link = fifo.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read(&link, "zone file", 1 << 20).unwrap_err();
        assert!(matches!(
            e.problem,
            FileProblem::NotRegular {
                kind: "a character device",
                ..
            }
        ));
        // procfs says 0 bytes and is regular; the cap still holds.
        let e = read(Path::new("/proc/self/maps"), "zone file", 8).unwrap_err();
        assert!(matches!(e.problem, FileProblem::TooLarge { .. }), "{e}");
        assert_eq!(size(4 << 20), "4 MiB");
        assert_eq!(size(16 * 1024), "16 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
