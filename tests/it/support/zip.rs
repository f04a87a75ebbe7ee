//! Zip archives built in a test (PKWARE APPNOTE 4.3.7 local file header,
//! 4.3.12 central directory header, 4.3.16 end record): honest ones, and
//! ones whose directory lies about an entry's CRC or size.

/// One entry as the archive declares it.
pub struct ZipEntry<'a> {
    pub name: &'a str,
    /// 0 stored, 8 deflated, anything else as a test needs.
    pub method: u16,
    pub data: &'a [u8],
    pub crc32: u32,
    /// The uncompressed size the headers declare.
    pub declared: u32,
}

impl<'a> ZipEntry<'a> {
    /// An entry stored as it is, with its true CRC-32 and size.
    pub fn stored(name: &'a str, data: &'a [u8]) -> ZipEntry<'a> {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        ZipEntry {
            name,
            method: 0,
            data,
            crc32: crc.sum(),
            declared: u32::try_from(data.len()).expect("small test entry"),
        }
    }
}

/// The archive of `entries`, in order.
pub fn zip_archive(entries: &[ZipEntry]) -> Vec<u8> {
    let le16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    let le32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    let size = |e: &ZipEntry| u32::try_from(e.data.len()).expect("small test entry");
    let name_len = |e: &ZipEntry| u16::try_from(e.name.len()).expect("short name");
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        offsets.push(u32::try_from(out.len()).expect("small archive"));
        le32(&mut out, 0x0403_4b50);
        for v in [20, 0, e.method, 0, 0] {
            le16(&mut out, v);
        }
        for v in [e.crc32, size(e), e.declared] {
            le32(&mut out, v);
        }
        le16(&mut out, name_len(e));
        le16(&mut out, 0);
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(e.data);
    }
    let directory = u32::try_from(out.len()).expect("small archive");
    for (e, offset) in entries.iter().zip(offsets) {
        le32(&mut out, 0x0201_4b50);
        for v in [20, 20, 0, e.method, 0, 0] {
            le16(&mut out, v);
        }
        for v in [e.crc32, size(e), e.declared] {
            le32(&mut out, v);
        }
        for v in [name_len(e), 0, 0, 0, 0] {
            le16(&mut out, v);
        }
        le32(&mut out, 0);
        le32(&mut out, offset);
        out.extend_from_slice(e.name.as_bytes());
    }
    let directory_len = u32::try_from(out.len()).expect("small archive") - directory;
    let count = u16::try_from(entries.len()).expect("few entries");
    le32(&mut out, 0x0605_4b50);
    for v in [0, 0, count, count] {
        le16(&mut out, v);
    }
    le32(&mut out, directory_len);
    le32(&mut out, directory);
    le16(&mut out, 0);
    out
}
