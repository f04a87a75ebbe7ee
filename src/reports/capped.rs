//! Decompression caps, enforced on the output as it streams out of the
//! decoder: an input is refused as soon as it has produced more than
//! [`Limits::max_size`] bytes, or more than [`Limits::max_ratio`] bytes per
//! input byte consumed once [`Limits::ratio_grace`] bytes have come out.
//! Nothing is inflated first and measured after, so a gzip or zip bomb
//! costs at most the cap (plus one read buffer) before it is refused.
//!
//! The same reader wraps plain inputs, whose ratio is 1:1 and which the
//! size cap alone bounds. Errors of the decoder underneath (a corrupt
//! deflate stream, a bad gzip header or CRC) come out tagged with the
//! container's name, so a parser reading through this layer reports them
//! as what they are, not as bad XML or JSON.

use super::{Limits, ReportError};
use crate::local_file::BYTE_ORDER_MARK;
use flate2::bufread::DeflateDecoder;
use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Cursor, Read};

/// The input of a decoder: the compressed bytes, borrowed from the caller
/// or owned (an attachment decoded out of a report email).
pub type Input<'a> = Cursor<Cow<'a, [u8]>>;

/// A decoder that can say how much of its input it has taken.
pub trait Consumed {
    fn consumed(&self) -> u64;
}

impl Consumed for Input<'_> {
    fn consumed(&self) -> u64 {
        self.position()
    }
}

/// What the reader above took, not what this buffer read ahead: a read
/// ahead of up to its capacity would otherwise let a stream inflate that
/// many times the ratio before the ratio cap sees it.
impl<R: Consumed> Consumed for BufReader<R> {
    fn consumed(&self) -> u64 {
        self.get_ref()
            .consumed()
            .saturating_sub(self.buffer().len() as u64)
    }
}

/// A reader that counts the bytes taken from it: the input of a stream
/// read from a file, a socket or standard input.
pub struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R> Counted<R> {
    pub fn new(inner: R) -> Counted<R> {
        Counted { inner, count: 0 }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R> Consumed for Counted<R> {
    fn consumed(&self) -> u64 {
        self.count
    }
}

/// The first bytes of a stream, read to sniff it, then the rest.
pub type Resumed<R> = std::io::Chain<Cursor<Vec<u8>>, Counted<R>>;

impl<R> Consumed for Resumed<R> {
    fn consumed(&self) -> u64 {
        // The head was read through the counter too.
        self.get_ref().1.consumed()
    }
}

impl Consumed for DeflateDecoder<Input<'_>> {
    fn consumed(&self) -> u64 {
        self.get_ref().position()
    }
}

/// Why a capped stream stopped, carried inside an [`io::Error`] through the
/// parsers above it and turned back into a [`ReportError`] by
/// [`report_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StreamError(pub ReportError);

/// The decompressed stream, capped.
pub struct Capped<D> {
    inner: D,
    container: &'static str,
    produced: u64,
    max_size: u64,
    max_ratio: u64,
    ratio_grace: u64,
}

impl<D: Read + Consumed> Capped<D> {
    /// `container` names the format in errors: `gzip`, `zip entry`, `plain`.
    pub fn new(inner: D, container: &'static str, limits: &Limits) -> Capped<D> {
        Capped {
            inner,
            container,
            produced: 0,
            max_size: limits.max_size,
            max_ratio: limits.max_ratio,
            ratio_grace: limits.ratio_grace,
        }
    }

    fn stop(error: ReportError) -> io::Error {
        io::Error::other(StreamError(error))
    }
}

impl<D: Read + Consumed> Read for Capped<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                return Err(Self::stop(ReportError::Corrupt {
                    container: self.container,
                    message: e.to_string(),
                }));
            }
        };
        self.produced = self.produced.saturating_add(n as u64);
        if self.produced > self.max_size {
            return Err(Self::stop(ReportError::TooLarge {
                limit: self.max_size,
            }));
        }
        let allowed = self.inner.consumed().max(1).saturating_mul(self.max_ratio);
        if self.produced > self.ratio_grace && self.produced > allowed {
            return Err(Self::stop(ReportError::RatioExceeded {
                ratio: self.max_ratio,
                grace: self.ratio_grace,
            }));
        }
        Ok(n)
    }
}

/// The report error an I/O error of a capped stream stands for, if it
/// came from this layer.
pub fn report_error(error: &io::Error) -> Option<ReportError> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<StreamError>())
        .map(|stream| stream.0.clone())
}

/// Skips a UTF-8 byte order mark and leading whitespace, and returns the
/// first byte after them without consuming it (`None` at the end).
pub fn first_significant_byte(stream: &mut dyn BufRead) -> Result<Option<u8>, ReportError> {
    let mut at_start = true;
    loop {
        let chunk = match stream.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(report_error(&e).unwrap_or(ReportError::Corrupt {
                    container: "input",
                    message: e.to_string(),
                }));
            }
        };
        if chunk.is_empty() {
            return Ok(None);
        }
        let mut skip = 0;
        if at_start && chunk.starts_with(BYTE_ORDER_MARK) {
            skip = BYTE_ORDER_MARK.len();
        }
        at_start = false;
        let rest = &chunk[skip..];
        match rest.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let byte = rest[i];
                stream.consume(skip + i);
                return Ok(Some(byte));
            }
            None => {
                let len = chunk.len();
                stream.consume(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::container::GzipMembers;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(data).expect("gzip in memory");
        encoder.finish().expect("gzip in memory")
    }

    fn drain(mut reader: impl Read) -> Result<u64, ReportError> {
        let mut buf = [0u8; 8192];
        let mut total = 0;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => total += n as u64,
                Err(e) => return Err(report_error(&e).expect("a capped-stream error")),
            }
        }
    }

    #[test]
    fn the_ratio_cap_stops_a_stream_of_zeros_soon_after_the_grace() {
        let bomb = gzip(&vec![0u8; 8 * 1024 * 1024]);
        let limits = Limits::default();
        let decoder = GzipMembers::new(Cursor::new(Cow::Owned(bomb)));
        let err = drain(Capped::new(decoder, "gzip", &limits)).unwrap_err();
        assert_eq!(
            err,
            ReportError::RatioExceeded {
                ratio: 100,
                grace: 1024 * 1024
            }
        );
    }

    #[test]
    fn the_size_cap_holds_for_plain_input() {
        let limits = Limits {
            max_size: 1000,
            ..Limits::default()
        };
        let plain = Cursor::new(Cow::Owned(vec![b'x'; 1001]));
        assert_eq!(
            drain(Capped::new(plain, "plain", &limits)).unwrap_err(),
            ReportError::TooLarge { limit: 1000 }
        );
        let plain = Cursor::new(Cow::Owned(vec![b'x'; 1000]));
        assert_eq!(drain(Capped::new(plain, "plain", &limits)), Ok(1000));
    }

    #[test]
    fn a_corrupt_deflate_stream_is_named_by_its_container() {
        let mut data = gzip(b"<feedback></feedback>");
        let middle = data.len() / 2;
        data[middle] ^= 0xFF;
        data.truncate(data.len() - 4);
        let decoder = GzipMembers::new(Cursor::new(Cow::Owned(data)));
        let err = drain(Capped::new(decoder, "gzip", &Limits::default())).unwrap_err();
        assert!(
            matches!(
                err,
                ReportError::Corrupt {
                    container: "gzip",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn the_first_significant_byte_skips_a_bom_and_whitespace() {
        let mut input: &[u8] = b"\xEF\xBB\xBF \r\n\t<feedback/>";
        assert_eq!(first_significant_byte(&mut input), Ok(Some(b'<')));
        assert_eq!(input, b"<feedback/>");
        let mut blank: &[u8] = b"  \n ";
        assert_eq!(first_significant_byte(&mut blank), Ok(None));
    }
}
