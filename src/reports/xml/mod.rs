//! The streaming aggregate report parser: RFC 7489 Appendix C and RFC 9990
//! §3 read with quick-xml's pull reader, one `<record>` at a time, so a
//! report of any length costs the memory of one record (plus what the
//! caller keeps).
//!
//! What it accepts:
//!
//! - the elements of both schemas, with no namespace, the RFC 9990
//!   namespace (`urn:ietf:params:xml:ns:dmarc-2.0`, or a later version of
//!   it) or the draft ones (`http://dmarc.org/dmarc-xml/…`, also under
//!   `www.dmarc.org`), with or without a prefix; elements
//!   of any other namespace (extensions) and unknown elements are skipped
//!   with everything inside them, as is `<extension>`;
//! - elements of `<report_metadata>` and `<policy_published>` in any order
//!   (RFC 9990 makes them `xs:all`), both before the first `<record>`
//!   (the `<feedback>` sequence puts them there);
//! - zero or more `<dkim>` and one or more `<spf>` results per record;
//! - the values real receivers send: whitespace around values, empty
//!   optional elements (read as absent), a missing `<envelope_from>` or
//!   `<selector>`, the result words of [`super::aggregate`].
//!   `policy_evaluated`'s `<dkim>` and `<spf>` are `pass` or anything else,
//!   which is read as `fail` (not an aligned pass).
//!
//! What it refuses, with the line and byte offset: a DOCTYPE (no DTD, so
//! no entity can be defined, let alone expanded); a reference to an entity
//! other than the five predefined ones or a character reference; another
//! root than `<feedback>` in a DMARC namespace or none; metadata after the first record; a record
//! without a source IP, count, disposition or From domain, or with a value
//! that cannot be read; a `<count>` over [`super::MAX_COUNT`]; a
//! `<date_range>` whose `<begin>` is after its `<end>`; more than [`Limits::max_records`] records; text
//! longer than [`MAX_VALUE`]; anything but comments after `</feedback>`;
//! malformed XML; bytes that are not UTF-8, the one encoding read (a
//! declared encoding is not: the error names it). And, as not a report at all, a run of more than
//! [`MAX_MARKUP_RUN`] bytes without `<` or `>` (quick-xml buffers a whole
//! text or tag, so this bounds its memory).

use super::aggregate::{AggregateReport, PolicyPublished, Record, ReportHeader, ReportMetadata};
use super::capped::report_error;
use super::{Limits, ReportError, outside_message};
use crate::untrusted::quoted;
use quick_xml::encoding::EncodingError;
use quick_xml::events::Event;
use quick_xml::name::{NamespaceError, ResolveResult};
use quick_xml::reader::NsReader;
use state::State;
use std::io::{self, BufRead, BufReader, Read};

mod assemble;
mod elements;
mod state;

/// Longest text value, in bytes. Real values are domain names, ids and a
/// line of comment; 4 KiB leaves room for any honest one.
pub const MAX_VALUE: usize = 4096;
/// Longest stretch of the document without `<` or `>`.
pub const MAX_MARKUP_RUN: usize = 1024 * 1024;
/// Most `<dkim>` results in one record.
const MAX_DKIM: usize = 32;
/// Most `<spf>` results in one record.
const MAX_SPF: usize = 8;
/// Most `<reason>` elements in one record, and `<error>` elements in the
/// metadata.
const MAX_REPEATED: usize = 16;

/// Namespaces whose elements are DMARC's: RFC 9990's, with any version,
/// and the drafts'.
fn is_dmarc_namespace(ns: &str) -> bool {
    [
        "urn:ietf:params:xml:ns:dmarc-",
        "http://dmarc.org/dmarc-xml/",
        "http://www.dmarc.org/dmarc-xml/",
    ]
    .iter()
    .any(|prefix| ns.starts_with(prefix))
}

/// Reads an aggregate report: [`AggregateReader::header`] once it is open,
/// then the records one by one.
pub struct AggregateReader<R: BufRead> {
    xml: NsReader<BufReader<RunLimit<R>>>,
    buf: Vec<u8>,
    state: State,
    header: ReportHeader,
    /// A record completed while the header was being read.
    pending: Option<Record>,
    finished: bool,
    /// The encoding the XML declaration names, if not UTF-8: it is not
    /// read, and an error over bytes that are not UTF-8 says so.
    declared_encoding: Option<String>,
}

impl<R: BufRead> std::fmt::Debug for AggregateReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateReader")
            .field("header", &self.header)
            .field("records", &self.state.records)
            .finish_non_exhaustive()
    }
}

/// What one event did.
enum Step {
    Continue,
    /// The first record began: the header is complete.
    HeaderDone,
    Record(Record),
    /// `</feedback>`.
    End,
}

impl<R: BufRead> AggregateReader<R> {
    /// Reads up to the first record (or the end): the metadata and the
    /// published policy.
    pub fn new(input: R, limits: &Limits) -> Result<AggregateReader<R>, ReportError> {
        let mut xml = NsReader::from_reader(BufReader::new(RunLimit {
            inner: input,
            run: 0,
        }));
        xml.config_mut().check_end_names = true;
        let mut reader = AggregateReader {
            xml,
            buf: Vec::with_capacity(1024),
            state: State::new(limits.max_records),
            header: placeholder_header(),
            pending: None,
            finished: false,
            declared_encoding: None,
        };
        loop {
            match reader.step()? {
                Step::Continue => {}
                Step::HeaderDone => break,
                Step::Record(record) => {
                    reader.pending = Some(record);
                    break;
                }
                Step::End => {
                    reader.drain()?;
                    break;
                }
            }
        }
        reader.header = reader
            .state
            .header
            .clone()
            .ok_or_else(|| reader.error("the report ends before its metadata".into()))?;
        Ok(reader)
    }

    /// The metadata and published policy.
    pub fn header(&self) -> &ReportHeader {
        &self.header
    }

    /// The next record, or `None` after the last.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReportError> {
        if let Some(record) = self.pending.take() {
            return Ok(Some(record));
        }
        while !self.finished {
            match self.step()? {
                Step::Record(record) => return Ok(Some(record)),
                Step::End => self.drain()?,
                Step::Continue | Step::HeaderDone => {}
            }
        }
        Ok(None)
    }

    /// Reads the rest, keeping every record.
    pub fn read_all(mut self) -> Result<AggregateReport, ReportError> {
        let mut records = Vec::new();
        while let Some(record) = self.next_record()? {
            records.push(record);
        }
        Ok(AggregateReport {
            header: self.header,
            records,
        })
    }

    /// Reads past `</feedback>` to the end of the input, which may hold
    /// only whitespace, comments and processing instructions. Reading to
    /// the end is also what makes the containers below check their CRC.
    fn drain(&mut self) -> Result<(), ReportError> {
        loop {
            self.buf.clear();
            let start = self.xml.buffer_position();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(e) => return Err(self.read_error(e, start)),
            };
            let stray = match &event {
                Event::Eof => break,
                Event::Text(text) => {
                    self.state.line += count_newlines(text);
                    !text.trim().is_empty()
                }
                Event::Comment(_) | Event::PI(_) => false,
                _ => true,
            };
            if stray {
                drop(event);
                return Err(self.error("content after </feedback>".into()));
            }
        }
        self.finished = true;
        Ok(())
    }

    fn error(&self, message: String) -> ReportError {
        ReportError::Xml {
            line: self.state.line,
            offset: self.xml.buffer_position(),
            message,
        }
    }

    fn step(&mut self) -> Result<Step, ReportError> {
        self.buf.clear();
        let start = self.xml.buffer_position();
        let (ns, event) = match self.xml.read_resolved_event_into(&mut self.buf) {
            Ok(read) => read,
            Err(e) => return Err(self.read_error(e, start)),
        };
        let foreign = match ns {
            ResolveResult::Bound(ns) if !is_dmarc_namespace(ns.0) => Some(ns.0),
            // An undeclared prefix is a generator's slip, not an extension.
            ResolveResult::Bound(_) | ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
        };
        if let Event::Decl(decl) = &event {
            self.declared_encoding = decl
                .encoding()
                .and_then(Result::ok)
                .filter(|name| !name.eq_ignore_ascii_case("utf-8"))
                .map(|name| name.into_owned());
        }
        let state = &mut self.state;
        let outcome = match &event {
            Event::Start(e) => state.start(e.local_name().into_inner(), foreign),
            Event::Empty(e) => {
                state
                    .start(e.local_name().into_inner(), foreign)
                    .and_then(|first| {
                        state.end().map(|second| match second {
                            Step::Continue => first,
                            second => second,
                        })
                    })
            }
            Event::End(_) => state.end(),
            Event::Text(e) => state.text(&e.xml10_content()),
            Event::CData(e) => state.text(&e.xml10_content()),
            Event::GeneralRef(r) => match r.resolve_char_ref() {
                Ok(Some(c)) => state.text(c.encode_utf8(&mut [0u8; 4])),
                Ok(None) => match predefined_entity(r) {
                    Some(text) => state.text(text),
                    None => Err(format!(
                        "the entity {} is not defined (aggregate reports have no DTD)",
                        quoted(&format!("&{};", &**r))
                    )),
                },
                Err(e) => Err(outside_message(&e.to_string())),
            },
            Event::DocType(_) => Err(
                "a DOCTYPE is not accepted: aggregate reports have no DTD, and its entities \
                 could expand without bound"
                    .into(),
            ),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => Ok(Step::Continue),
            Event::Eof => state.eof(),
        };
        let newlines = match &event {
            Event::Start(e) | Event::Empty(e) => count_newlines(e),
            Event::Text(e) | Event::Comment(e) => count_newlines(e),
            Event::CData(e) => count_newlines(e),
            Event::PI(e) => count_newlines(e),
            Event::Decl(e) => count_newlines(e),
            _ => 0,
        };
        drop(event);
        let step = outcome.map_err(|message| self.error(message))?;
        self.state.line += newlines;
        Ok(step)
    }

    /// A reader error: the stream's own (a cap, a corrupt container) or
    /// bad XML. The reader says where a syntax error is; a namespace error
    /// (an element nested past its limit, a prefix bound wrongly) it does
    /// not record, and that is the tag the read began at (`start`, the end
    /// of the event before); bytes that are not UTF-8 are found in the
    /// event read.
    fn read_error(&self, error: quick_xml::Error, start: u64) -> ReportError {
        let line = self.state.line;
        match error {
            quick_xml::Error::Io(e) => report_error(&e).unwrap_or_else(|| ReportError::Corrupt {
                container: "input",
                message: e.to_string(),
            }),
            quick_xml::Error::Encoding(EncodingError::Utf8(e)) => {
                let read = &self.buf[..e.valid_up_to().min(self.buf.len())];
                // A tag's bytes are read without its `<` and `>`.
                let tag = self.xml.buffer_position() - start > self.buf.len() as u64;
                let byte = self.buf.get(read.len()).copied().unwrap_or(0);
                let not_read = match &self.declared_encoding {
                    Some(name) => format!(
                        "the document declares the encoding {}, which is not read: reports \
                         are read as UTF-8 only; convert it to UTF-8",
                        quoted(name)
                    ),
                    None => "reports are read as UTF-8 only".into(),
                };
                ReportError::Xml {
                    line: line + memchr::memchr_iter(b'\n', read).count() as u64,
                    offset: start + u64::from(tag) + read.len() as u64,
                    message: format!("byte {byte:#04x} is not UTF-8: {not_read}"),
                }
            }
            quick_xml::Error::Namespace(e) => ReportError::Xml {
                line,
                offset: start,
                message: match e {
                    NamespaceError::TooManyBindings(limit) => {
                        format!("more than {limit} namespace declarations (xmlns) in scope")
                    }
                    e => outside_message(&e.to_string()),
                },
            },
            e => ReportError::Xml {
                line,
                offset: self.xml.error_position(),
                message: outside_message(&e.to_string()),
            },
        }
    }
}

fn placeholder_header() -> ReportHeader {
    ReportHeader {
        version: None,
        metadata: ReportMetadata {
            org_name: String::new(),
            email: String::new(),
            extra_contact_info: None,
            report_id: String::new(),
            begin: 0,
            end: 0,
            errors: Vec::new(),
            generator: None,
        },
        policy: PolicyPublished {
            domain: String::new(),
            p: None,
            sp: None,
            np: None,
            adkim: None,
            aspf: None,
            pct: None,
            fo: None,
            testing: None,
            discovery_method: None,
        },
    }
}

fn count_newlines(text: &str) -> u64 {
    memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64
}

/// The five entities XML predefines (XML 1.0 §4.6).
fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// Refuses a stretch of more than [`MAX_MARKUP_RUN`] bytes without `<` or
/// `>`, before quick-xml would buffer it as one event.
struct RunLimit<R> {
    inner: R,
    run: usize,
}

impl<R: BufRead> Read for RunLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let first = memchr::memchr2(b'<', b'>', chunk).unwrap_or(n);
        let longest = self.run.saturating_add(first);
        self.run = match memchr::memrchr2(b'<', b'>', chunk) {
            Some(last) => n - last - 1,
            None => longest,
        };
        if longest > MAX_MARKUP_RUN || self.run > MAX_MARKUP_RUN {
            return Err(io::Error::other(super::capped::StreamError(
                ReportError::NotAReport(format!("more than {MAX_MARKUP_RUN} bytes without markup")),
            )));
        }
        Ok(n)
    }
}
