//! The report inside a zip archive held in memory (PKWARE APPNOTE.TXT
//! 6.3: §4.3.6 layout, §4.3.7 local file header, §4.3.12 central directory
//! header, §4.3.16 end of central directory record, §4.3.14/§4.4 ZIP64).
//!
//! Why our own reader rather than the `zip` crate: that crate reads the
//! whole central directory into memory before a caller can count its
//! entries, so an archive of a million empty entries costs memory before
//! any cap applies. Here the end record's entry count is checked against
//! [`Limits::max_zip_entries`] first, then entries are walked one at a time.
//!
//! Only what a report needs: entries stored (method 0) or deflated
//! (method 8), unencrypted, on one disk. Names are never used as paths —
//! nothing is written anywhere; a name only tells a directory entry
//! (ending in `/`) from a file. Sizes and the CRC-32 come from the central
//! directory (local headers may defer them to a data descriptor) and are
//! checked when the entry's data ends.

use super::capped::{Capped, Input};
use super::container::{Stream, buffered};
use super::{Limits, ReportError};
use flate2::Crc;
use flate2::bufread::DeflateDecoder;
use std::borrow::Cow;
use std::io::{self, Cursor, Read};

const END_SIGNATURE: u32 = 0x0605_4b50;
const END_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const LOCAL_LEN: usize = 30;
/// The end record's comment is at most 65,535 bytes.
const MAX_COMMENT: usize = 0xFFFF;
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// One file entry of the central directory, as far as a report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    method: u16,
    crc32: u32,
    compressed_size: u64,
    uncompressed_size: u64,
    local_header_offset: u64,
}

/// Little-endian reads that fail instead of panicking past the end.
struct Bytes<'b>(&'b [u8]);

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.0.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.0.get(at..at.checked_add(8)?)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(b);
        Some(u64::from_le_bytes(le))
    }
}

fn bad(message: impl Into<String>) -> ReportError {
    ReportError::Zip(message.into())
}

fn truncated() -> ReportError {
    bad("the archive is truncated or its directory points outside it")
}

/// Where the central directory is and how many entries it lists.
struct Directory {
    entries: u64,
    offset: u64,
}

/// The file entries of the archive, in central directory order.
pub fn entries(archive: &[u8], limits: &Limits) -> Result<Vec<Entry>, ReportError> {
    let directory = find_directory(archive)?;
    if directory.entries > limits.max_zip_entries as u64 {
        return Err(bad(format!(
            "it lists {} entries; a report archive may list at most {}",
            directory.entries, limits.max_zip_entries
        )));
    }
    let bytes = Bytes(archive);
    let mut at = usize::try_from(directory.offset).map_err(|_| truncated())?;
    let mut files = Vec::new();
    for _ in 0..directory.entries {
        if at > archive.len() || bytes.u32(at) != Some(CENTRAL_SIGNATURE) {
            return Err(truncated());
        }
        let field = |offset: usize| bytes.u16(at + offset).ok_or_else(truncated);
        let field32 = |offset: usize| bytes.u32(at + offset).ok_or_else(truncated);
        let flags = field(8)?;
        let method = field(10)?;
        let crc32 = field32(16)?;
        let name_len = usize::from(field(28)?);
        let extra_len = usize::from(field(30)?);
        let comment_len = usize::from(field(32)?);
        let name_start = at + CENTRAL_LEN;
        let name = archive
            .get(name_start..name_start + name_len)
            .ok_or_else(truncated)?;
        let extra = archive
            .get(name_start + name_len..name_start + name_len + extra_len)
            .ok_or_else(truncated)?;
        let mut entry = Entry {
            method,
            crc32,
            compressed_size: u64::from(field32(20)?),
            uncompressed_size: u64::from(field32(24)?),
            local_header_offset: u64::from(field32(42)?),
        };
        apply_zip64_extra(&mut entry, extra)?;
        at = name_start + name_len + extra_len + comment_len;
        if name.ends_with(b"/") {
            continue;
        }
        if flags & 1 != 0 {
            return Err(bad("an entry is encrypted"));
        }
        if method != 0 && method != 8 {
            return Err(bad(format!(
                "an entry is compressed with method {method}; only stored (0) and deflate (8) are read"
            )));
        }
        files.push(entry);
    }
    Ok(files)
}

/// Finds the end of central directory record (searching back over a
/// comment of up to 64 KiB) and, when its fields are saturated, the ZIP64
/// end record.
fn find_directory(archive: &[u8]) -> Result<Directory, ReportError> {
    let bytes = Bytes(archive);
    let last = archive
        .len()
        .checked_sub(END_LEN)
        .ok_or_else(|| bad("too short to be a zip archive"))?;
    let earliest = last.saturating_sub(MAX_COMMENT);
    let end = (earliest..=last)
        .rev()
        .find(|&at| bytes.u32(at) == Some(END_SIGNATURE))
        .ok_or_else(|| bad("no end of central directory record"))?;
    let field = |offset: usize| bytes.u16(end + offset).ok_or_else(truncated);
    if field(4)? != 0 || field(6)? != 0 {
        return Err(bad("multi-disk archives are not read"));
    }
    let entries = field(10)?;
    let offset = bytes.u32(end + 16).ok_or_else(truncated)?;
    if entries != 0xFFFF && offset != 0xFFFF_FFFF {
        return Ok(Directory {
            entries: u64::from(entries),
            offset: u64::from(offset),
        });
    }
    let locator = end.checked_sub(ZIP64_LOCATOR_LEN).ok_or_else(truncated)?;
    if bytes.u32(locator) != Some(ZIP64_LOCATOR_SIGNATURE) {
        return Err(truncated());
    }
    let zip64_end =
        usize::try_from(bytes.u64(locator + 8).ok_or_else(truncated)?).map_err(|_| truncated())?;
    if zip64_end > archive.len() || bytes.u32(zip64_end) != Some(ZIP64_END_SIGNATURE) {
        return Err(truncated());
    }
    Ok(Directory {
        entries: bytes.u64(zip64_end + 32).ok_or_else(truncated)?,
        offset: bytes.u64(zip64_end + 48).ok_or_else(truncated)?,
    })
}

/// Takes the 64-bit sizes and offset from the ZIP64 extra field for the
/// fields the central directory header saturated (APPNOTE §4.5.3: present
/// in this order, only for the saturated ones).
fn apply_zip64_extra(entry: &mut Entry, extra: &[u8]) -> Result<(), ReportError> {
    let needs = [
        entry.uncompressed_size == 0xFFFF_FFFF,
        entry.compressed_size == 0xFFFF_FFFF,
        entry.local_header_offset == 0xFFFF_FFFF,
    ];
    if !needs.contains(&true) {
        return Ok(());
    }
    let bytes = Bytes(extra);
    let mut at = 0;
    while let (Some(id), Some(len)) = (bytes.u16(at), bytes.u16(at + 2)) {
        let data = at + 4;
        if id == ZIP64_EXTRA_ID {
            let mut value = data;
            let mut next = || {
                let v = bytes.u64(value).ok_or_else(truncated);
                value += 8;
                v
            };
            if needs[0] {
                entry.uncompressed_size = next()?;
            }
            if needs[1] {
                entry.compressed_size = next()?;
            }
            if needs[2] {
                entry.local_header_offset = next()?;
            }
            return Ok(());
        }
        at = data + usize::from(len);
    }
    Err(bad(
        "an entry's sizes are saturated without a ZIP64 extra field",
    ))
}

/// The decompressed, capped, CRC-checked data of one entry.
pub fn open_entry<'a>(
    archive: &Cow<'a, [u8]>,
    entry: &Entry,
    limits: &Limits,
) -> Result<Stream<'a>, ReportError> {
    if entry.uncompressed_size > limits.max_size {
        return Err(ReportError::TooLarge {
            limit: limits.max_size,
        });
    }
    let bytes = Bytes(archive);
    let local = usize::try_from(entry.local_header_offset).map_err(|_| truncated())?;
    if local > archive.len() || bytes.u32(local) != Some(LOCAL_SIGNATURE) {
        return Err(truncated());
    }
    let name_len = usize::from(bytes.u16(local + 26).ok_or_else(truncated)?);
    let extra_len = usize::from(bytes.u16(local + 28).ok_or_else(truncated)?);
    let start = local + LOCAL_LEN + name_len + extra_len;
    let len = usize::try_from(entry.compressed_size).map_err(|_| truncated())?;
    let end = start.checked_add(len).ok_or_else(truncated)?;
    if end > archive.len() {
        return Err(truncated());
    }
    let data: Input<'a> = Cursor::new(match archive {
        Cow::Borrowed(all) => Cow::Borrowed(&all[start..end]),
        Cow::Owned(all) => Cow::Owned(all[start..end].to_vec()),
    });
    let expected = (entry.crc32, entry.uncompressed_size);
    Ok(if entry.method == 8 {
        let inflated = Capped::new(DeflateDecoder::new(data), "zip entry", limits);
        buffered(Checked::new(inflated, expected))
    } else {
        buffered(Checked::new(
            Capped::new(data, "zip entry", limits),
            expected,
        ))
    })
}

/// Checks the CRC-32 and size the central directory gave once the data
/// ends (APPNOTE §4.4.7, §4.4.9).
struct Checked<R> {
    inner: R,
    crc: Crc,
    expected_crc: u32,
    expected_size: u64,
}

impl<R> Checked<R> {
    fn new(inner: R, (expected_crc, expected_size): (u32, u64)) -> Checked<R> {
        Checked {
            inner,
            crc: Crc::new(),
            expected_crc,
            expected_size,
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let size = u64::from(self.crc.amount());
            if self.crc.sum() != self.expected_crc || size != self.expected_size & 0xFFFF_FFFF {
                return Err(io::Error::other(super::capped::StreamError(
                    ReportError::Corrupt {
                        container: "zip entry",
                        message: "its CRC-32 or size does not match the central directory".into(),
                    },
                )));
            }
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}
