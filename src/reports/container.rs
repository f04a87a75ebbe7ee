//! What an input is, and the report stream inside it.
//!
//! Inputs come as files, upload bodies or mail, under any name, so the
//! format is sniffed from the first bytes:
//!
//! - `1f 8b` — gzip (RFC 1952), the format RFC 7489 §7.2.1.1 and RFC 8460
//!   §5.3 require for mailed reports; several members are read as one,
//!   and zero bytes or white space after the last (padding some senders
//!   and tools leave) are ignored, as `gzip -d` does; other bytes after
//!   it are refused as corrupt ([`GzipMembers`]);
//! - `PK\x03\x04` or `PK\x05\x06` — a zip archive, which some receivers
//!   send instead; the one entry holding XML or JSON is the report
//!   ([`super::zip`]). An archive with two or more such entries is
//!   refused, saying how many: a report is never dropped unread;
//! - `<` — a plain aggregate report (XML), `{` — a plain TLS report
//!   (JSON), after an optional UTF-8 byte order mark and whitespace;
//! - a header field (`Name: value`) on the first line, or after blank
//!   lines a copy and paste left before it, or after the `From ` line of
//!   a message saved from an mbox file (RFC 4155) — a report email as
//!   received; its report attachment is opened the same way, once
//!   ([`super::mail`]).
//!
//! A JSON array and UTF-16 text are refused saying so.
//!
//! Whatever is decompressed must itself be XML or JSON: a report is never
//! nested deeper than email → archive → document. Every stream goes
//! through [`super::capped`], plain ones too.

use super::aggregate::AggregateReport;
use super::capped::{Capped, Consumed, Counted, Input, first_significant_byte};
use super::tls::TlsReport;
use super::xml::AggregateReader;
use super::{Limits, ReportError, mail, tls, zip};
use crate::local_file::BYTE_ORDER_MARK;
use flate2::bufread::GzDecoder;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Cursor, Read};

/// Bytes read from the decoder at a time.
const STREAM_BUFFER: usize = 64 * 1024;

/// A decompressed, capped report stream.
pub type Stream<'a> = Box<dyn BufRead + Send + 'a>;

/// The container formats, as sniffed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Zip,
    Xml,
    Json,
    Mail,
}

/// The format of an input, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(Format::Gzip);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    let text = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => return Some(Format::Xml),
        Some(b'{') => return Some(Format::Json),
        // A JSON array, whose first line could pass for a header field.
        Some(b'[') => return None,
        _ => {}
    }
    starts_with_header_field(header_start(bytes)).then_some(Format::Mail)
}

/// A first line `field-name ":"` (RFC 5322 §2.2: printable ASCII but the
/// colon, at most the 998 octets of a line).
fn starts_with_header_field(bytes: &[u8]) -> bool {
    let line = &bytes[..bytes.len().min(998)];
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = &line[..colon];
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))
}

/// Where a saved message's header starts: after the blank lines a copy
/// and paste may leave before it, and after the `From sender date` line
/// (RFC 4155) an mbox file puts there.
fn header_start(message: &[u8]) -> &[u8] {
    let blank = message
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let message = &message[blank..];
    if !message.starts_with(b"From ") {
        return message;
    }
    match message.iter().position(|&b| b == b'\n') {
        Some(end) => &message[end + 1..],
        None => message,
    }
}

/// Why an input that is none of the accepted formats is not read: what it
/// looks like when that is recognizable.
fn unrecognized(bytes: &[u8]) -> ReportError {
    let text = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    let why = if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        "the input is a JSON array; a TLS report is one JSON object (RFC 8460 §4.4)"
    } else if [b"\xFF\xFE", b"\xFE\xFF", b"<\0", b"\0<"]
        .iter()
        .any(|start| bytes.starts_with(*start))
    {
        "the input is UTF-16 text; reports are read in UTF-8: convert it, e.g. with \
         `iconv -f UTF-16 -t UTF-8`"
    } else {
        "expected XML, JSON, gzip, zip or a report email"
    };
    ReportError::NotAReport(why.into())
}

/// An opened report: an aggregate report ready to be read record by
/// record, or a TLS report (small, read whole).
pub enum Opened<'a> {
    Aggregate(Box<AggregateReader<Stream<'a>>>),
    Tls(TlsReport),
}

/// A report read whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Report {
    Aggregate(AggregateReport),
    Tls(TlsReport),
}

/// What an import says about one report (the `imported` entries of
/// `mailvet reports import --format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// `aggregate` or `tls`.
    pub kind: &'static str,
    pub org_name: String,
    pub report_id: String,
    pub domain: String,
    /// Seconds since the epoch.
    pub begin: i64,
    pub end: i64,
    /// `<record>` rows; for a TLS report, policies.
    pub records: u64,
    /// The sum of the rows' counts; for a TLS report, of the sessions.
    pub messages: u64,
}

impl Overview {
    /// What the report holds, in words: "3 records, 162 messages", or
    /// for a TLS report "1 policy, 4 sessions".
    pub fn contents(&self) -> String {
        use super::summary::{counted, grouped};
        let (rows, counts) = match (self.kind, self.records) {
            ("tls", 1) => ("1 policy".to_string(), "session"),
            ("tls", n) => (format!("{} policies", grouped(n)), "session"),
            (_, n) => (counted(n, "record"), "message"),
        };
        format!("{rows}, {}", counted(self.messages, counts))
    }
}

impl Report {
    pub fn overview(&self) -> Overview {
        match self {
            Report::Aggregate(report) => {
                let metadata = &report.header.metadata;
                Overview {
                    kind: "aggregate",
                    org_name: metadata.org_name.clone(),
                    report_id: metadata.report_id.clone(),
                    domain: report.header.policy.domain.clone(),
                    begin: metadata.begin,
                    end: metadata.end,
                    records: report.records.len() as u64,
                    messages: report.messages(),
                }
            }
            Report::Tls(report) => Overview {
                kind: "tls",
                org_name: report.organization_name.clone(),
                report_id: report.report_id.clone(),
                domain: report.domain().to_string(),
                begin: report.begin,
                end: report.end,
                records: report.policies.len() as u64,
                messages: report.sessions(),
            },
        }
    }
}

/// Opens an input of any accepted format.
pub fn open<'a>(
    input: impl Into<Cow<'a, [u8]>>,
    limits: &Limits,
) -> Result<Opened<'a>, ReportError> {
    open_input(input.into(), limits, true)
}

/// Bytes read before sniffing a streamed input: enough for every magic
/// number and for a first header line.
const SNIFF_BYTES: usize = 1024;

/// Opens a report read from a file, a socket or standard input. Plain and
/// gzip inputs are streamed as they are read, so a large report is never
/// held whole; zip archives and report emails, which need random access or
/// a whole MIME parse, are read into memory first, at most
/// [`Limits::max_size`] bytes of them.
pub fn open_reader<'a>(
    reader: impl Read + Send + 'a,
    limits: &Limits,
) -> Result<Opened<'a>, ReportError> {
    let mut counted = Counted::new(reader);
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut counted)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ReportError::Corrupt {
            container: "input",
            message: e.to_string(),
        })?;
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(ReportError::NotAReport(
            "the input is empty or begins with nothing but white space; give the report \
             (XML, JSON, gzip, zip or the report email)"
                .into(),
        ));
    }
    let format = sniff(&head);
    match format {
        Some(Format::Gzip) => {
            let input = BufReader::with_capacity(STREAM_BUFFER, Cursor::new(head).chain(counted));
            let decoder = GzipMembers::new(input);
            open_document(buffered(Capped::new(decoder, "gzip", limits)), limits)?.ok_or_else(
                || ReportError::NotAReport("the gzip data holds neither XML nor JSON".into()),
            )
        }
        Some(Format::Xml | Format::Json) => {
            let plain = Cursor::new(head).chain(counted);
            open_document(buffered(Capped::new(plain, "plain", limits)), limits)?
                .ok_or_else(|| ReportError::NotAReport("empty input".into()))
        }
        Some(Format::Zip | Format::Mail) => {
            let mut whole = head;
            counted
                .take(limits.max_size.saturating_add(1))
                .read_to_end(&mut whole)
                .map_err(|e| ReportError::Corrupt {
                    container: "input",
                    message: e.to_string(),
                })?;
            if whole.len() as u64 > limits.max_size {
                return Err(ReportError::TooLarge {
                    limit: limits.max_size,
                });
            }
            open_input(Cow::Owned(whole), limits, true)
        }
        None => open_input(Cow::Owned(head), limits, true),
    }
}

/// Reads a whole report of any accepted format.
pub fn parse<'a>(input: impl Into<Cow<'a, [u8]>>, limits: &Limits) -> Result<Report, ReportError> {
    match open(input, limits)? {
        Opened::Aggregate(reader) => (*reader).read_all().map(Report::Aggregate),
        Opened::Tls(report) => Ok(Report::Tls(report)),
    }
}

fn open_input<'a>(
    input: Cow<'a, [u8]>,
    limits: &Limits,
    may_be_mail: bool,
) -> Result<Opened<'a>, ReportError> {
    match sniff(&input) {
        Some(Format::Gzip) => {
            let decoder = GzipMembers::new(Cursor::new(input));
            open_document(buffered(Capped::new(decoder, "gzip", limits)), limits)?.ok_or_else(
                || ReportError::NotAReport("the gzip data holds neither XML nor JSON".into()),
            )
        }
        Some(Format::Zip) => {
            let mut reports = Vec::new();
            // The first report's stream, kept open past its first byte.
            let mut first = None;
            for (at, entry) in zip::entries(&input, limits)?.iter().enumerate() {
                let mut stream = zip::open_entry(&input, entry, limits)?;
                if let Some(byte @ (b'<' | b'{')) = first_significant_byte(&mut stream)? {
                    reports.push(at);
                    first.get_or_insert((byte, stream));
                }
            }
            match (first, reports.len()) {
                (None, _) => Err(ReportError::NotAReport(
                    "no entry of the zip archive holds XML or JSON".into(),
                )),
                (Some((byte, stream)), 1) => open_as(byte, stream, limits),
                _ => Err(ReportError::NotAReport(format!(
                    "the zip archive holds {} reports (entries {}); a report archive holds \
                     one: import each report on its own",
                    reports.len(),
                    reports
                        .iter()
                        .map(|at| (at + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        Some(Format::Xml | Format::Json) => {
            let plain: Input<'a> = Cursor::new(input);
            open_document(buffered(Capped::new(plain, "plain", limits)), limits)?
                .ok_or_else(|| ReportError::NotAReport("empty input".into()))
        }
        Some(Format::Mail) if may_be_mail => {
            let attachment = mail::report_attachment(header_start(&input))?;
            open_input(Cow::Owned(attachment), limits, false)
        }
        Some(Format::Mail) => Err(ReportError::NotAReport(
            "the attachment is itself an email".into(),
        )),
        None => Err(unrecognized(&input)),
    }
}

/// The members of a gzip stream (RFC 1952 §2.2), decompressed one after
/// the other as one stream. After the last member, zero bytes and white
/// space to the end of the input are padding; any other byte is an error
/// saying where the gzip data ended.
pub struct GzipMembers<R> {
    /// The member being read; `None` once the input has ended.
    member: Option<GzDecoder<R>>,
    /// The input, once the last member and its padding have been read.
    rest: Option<R>,
}

impl<R: BufRead + Consumed> GzipMembers<R> {
    pub fn new(input: R) -> GzipMembers<R> {
        GzipMembers {
            member: Some(GzDecoder::new(input)),
            rest: None,
        }
    }

    /// After a member: whether another one follows. Padding to the end is
    /// read and the stream ends; other bytes are an error.
    fn another_member(input: &mut R) -> io::Result<bool> {
        let mut padded = false;
        loop {
            let chunk = input.fill_buf()?;
            match chunk.first() {
                None => return Ok(false),
                Some(0x1f) if !padded => return Ok(true),
                Some(_) => {}
            }
            let is_padding = |b: &u8| *b == 0 || b.is_ascii_whitespace();
            match chunk.iter().position(|b| !is_padding(b)) {
                None => {
                    let len = chunk.len();
                    input.consume(len);
                    padded = true;
                }
                Some(i) => {
                    let at = input.consumed().saturating_add(i as u64);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "byte {at} after the last member is neither padding (zero bytes \
                             or white space) nor the start of another member"
                        ),
                    ));
                }
            }
        }
    }
}

impl<R: BufRead + Consumed> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(member) = self.member.as_mut() {
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(mut input) = self.member.take().map(GzDecoder::into_inner) else {
                break;
            };
            match Self::another_member(&mut input) {
                Ok(true) => self.member = Some(GzDecoder::new(input)),
                Ok(false) => self.rest = Some(input),
                Err(e) => {
                    self.rest = Some(input);
                    return Err(e);
                }
            }
        }
        Ok(0)
    }
}

impl<R: Consumed> Consumed for GzipMembers<R> {
    fn consumed(&self) -> u64 {
        match (&self.member, &self.rest) {
            (Some(member), _) => member.get_ref().consumed(),
            (None, Some(rest)) => rest.consumed(),
            (None, None) => 0,
        }
    }
}

/// A capped decoder as a buffered stream.
pub(crate) fn buffered<'a>(reader: impl std::io::Read + Send + 'a) -> Stream<'a> {
    Box::new(BufReader::with_capacity(STREAM_BUFFER, reader))
}

/// Opens the document a stream holds, or `None` when it holds neither XML
/// nor JSON.
fn open_document<'a>(
    mut stream: Stream<'a>,
    limits: &Limits,
) -> Result<Option<Opened<'a>>, ReportError> {
    match first_significant_byte(&mut stream)? {
        Some(byte @ (b'<' | b'{')) => open_as(byte, stream, limits).map(Some),
        _ => Ok(None),
    }
}

/// The report in `stream`, whose first significant byte is `byte`: `<`
/// an aggregate report, `{` a TLS report.
fn open_as<'a>(byte: u8, stream: Stream<'a>, limits: &Limits) -> Result<Opened<'a>, ReportError> {
    if byte == b'<' {
        let reader = AggregateReader::new(stream, limits)?;
        Ok(Opened::Aggregate(Box::new(reader)))
    } else {
        Ok(Opened::Tls(tls::read(stream)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_sniffed_from_content() {
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Some(Format::Gzip));
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff(b"\xEF\xBB\xBF\n  <?xml"), Some(Format::Xml));
        assert_eq!(sniff(b"\r\n{\"organization-name\""), Some(Format::Json));
        assert_eq!(
            sniff(b"Return-Path: <a@b.example>\r\nFrom: x\r\n"),
            Some(Format::Mail)
        );
        assert_eq!(
            sniff(b"From a@b.example Thu Nov 27 00:00:00 2026\nFrom: a@b.example\r\n"),
            Some(Format::Mail)
        );
        assert_eq!(
            sniff(b"\r\n\nReturn-Path: <a@b.example>\r\n"),
            Some(Format::Mail)
        );
        assert_eq!(sniff(b"[{\"organization-name\": \"x\"}]"), None);
        assert_eq!(sniff(b"From here to there"), None);
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b"no colon: until here but spaces"), None);
        assert_eq!(sniff(b""), None);
    }
}
