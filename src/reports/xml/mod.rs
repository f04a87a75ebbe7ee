//! The streaming aggregate report parser: RFC 7489 Appendix C and RFC 9990
//! §3 read with quick-xml's pull reader, one `<record>` at a time, so a
//! report of any length costs the memory of one record (plus what the
//! caller keeps).
//!
//! What it accepts:
//!
//! - the elements of both schemas, with no namespace, the RFC 9990
//!   namespace (`urn:ietf:params:xml:ns:dmarc-2.0`) or the draft ones
//!   (`http://dmarc.org/dmarc-xml/…`), with or without a prefix; elements
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
//! root than `<feedback>`; metadata after the first record; a record
//! without a source IP, count, disposition or From domain, or with a value
//! that cannot be read; more than [`Limits::max_records`] records; text
//! longer than [`MAX_VALUE`]; anything but comments after `</feedback>`;
//! malformed XML. And, as not a report at all, a run of more than
//! [`MAX_MARKUP_RUN`] bytes without `<` or `>` (quick-xml buffers a whole
//! text or tag, so this bounds its memory).

use super::aggregate::{
    AggregateReport, AlignedResult, DiscoveryMethod, Disposition, DkimAuth, Identifiers,
    OverrideKind, OverrideReason, PolicyEvaluated, PolicyPublished, Record, ReportHeader,
    ReportMetadata, SpfAuth, SpfScope, alignment, auth_result, domain_key, policy,
};
use super::capped::report_error;
use super::{Limits, ReportError, outside_message};
use crate::untrusted::quoted;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::io::{self, BufRead, BufReader, Read};
use std::net::IpAddr;

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

/// Namespaces whose elements are DMARC's.
fn is_dmarc_namespace(ns: &str) -> bool {
    ns == "urn:ietf:params:xml:ns:dmarc-2.0" || ns.starts_with("http://dmarc.org/dmarc-xml/")
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
            let event = self
                .xml
                .read_event_into(&mut self.buf)
                .map_err(|e| xml_error(e, self.state.line, self.xml.error_position()))?;
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
        let (ns, event) = match self.xml.read_resolved_event_into(&mut self.buf) {
            Ok(read) => read,
            Err(e) => {
                return Err(xml_error(e, self.state.line, self.xml.error_position()));
            }
        };
        let foreign = match ns {
            ResolveResult::Bound(ns) => !is_dmarc_namespace(ns.0),
            // An undeclared prefix is a generator's slip, not an extension.
            ResolveResult::Unbound | ResolveResult::Unknown(_) => false,
        };
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
}

/// A reader error: the stream's own (a cap, a corrupt container) or bad XML.
fn xml_error(error: quick_xml::Error, line: u64, offset: u64) -> ReportError {
    match error {
        quick_xml::Error::Io(e) => report_error(&e).unwrap_or_else(|| ReportError::Corrupt {
            container: "input",
            message: e.to_string(),
        }),
        e => ReportError::Xml {
            line,
            offset,
            message: outside_message(&e.to_string()),
        },
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

// ---------------------------------------------------------------------------
// The element state machine
// ---------------------------------------------------------------------------

/// A known element the parser is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Feedback,
    Metadata,
    DateRange,
    Policy,
    Record,
    Row,
    Evaluated,
    Reason,
    Identifiers,
    AuthResults,
    Dkim,
    Spf,
    Leaf(Field),
}

/// A text-valued element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Version,
    OrgName,
    Email,
    ExtraContactInfo,
    ReportId,
    Begin,
    End,
    Error,
    Generator,
    Domain,
    P,
    Sp,
    Np,
    Adkim,
    Aspf,
    Pct,
    Fo,
    Testing,
    DiscoveryMethod,
    SourceIp,
    Count,
    Disposition,
    EvaluatedDkim,
    EvaluatedSpf,
    ReasonType,
    ReasonComment,
    HeaderFrom,
    EnvelopeFrom,
    EnvelopeTo,
    DkimDomain,
    DkimSelector,
    DkimResult,
    DkimHuman,
    SpfDomain,
    SpfScope,
    SpfResult,
    SpfHuman,
}

/// The child frame an element opens, `None` for an element to skip.
fn child(parent: Frame, name: &str) -> Option<Frame> {
    use Field as F;
    let leaf = |f| Some(Frame::Leaf(f));
    match (parent, name) {
        (Frame::Feedback, "version") => leaf(F::Version),
        (Frame::Feedback, "report_metadata") => Some(Frame::Metadata),
        (Frame::Feedback, "policy_published") => Some(Frame::Policy),
        (Frame::Feedback, "record") => Some(Frame::Record),
        (Frame::Metadata, "org_name") => leaf(F::OrgName),
        (Frame::Metadata, "email") => leaf(F::Email),
        (Frame::Metadata, "extra_contact_info") => leaf(F::ExtraContactInfo),
        (Frame::Metadata, "report_id") => leaf(F::ReportId),
        (Frame::Metadata, "date_range") => Some(Frame::DateRange),
        (Frame::Metadata, "error") => leaf(F::Error),
        (Frame::Metadata, "generator") => leaf(F::Generator),
        (Frame::DateRange, "begin") => leaf(F::Begin),
        (Frame::DateRange, "end") => leaf(F::End),
        (Frame::Policy, "domain") => leaf(F::Domain),
        (Frame::Policy, "p") => leaf(F::P),
        (Frame::Policy, "sp") => leaf(F::Sp),
        (Frame::Policy, "np") => leaf(F::Np),
        (Frame::Policy, "adkim") => leaf(F::Adkim),
        (Frame::Policy, "aspf") => leaf(F::Aspf),
        (Frame::Policy, "pct") => leaf(F::Pct),
        (Frame::Policy, "fo") => leaf(F::Fo),
        (Frame::Policy, "testing") => leaf(F::Testing),
        (Frame::Policy, "discovery_method") => leaf(F::DiscoveryMethod),
        (Frame::Record, "row") => Some(Frame::Row),
        (Frame::Record, "identifiers") => Some(Frame::Identifiers),
        (Frame::Record, "auth_results") => Some(Frame::AuthResults),
        (Frame::Row, "source_ip") => leaf(F::SourceIp),
        (Frame::Row, "count") => leaf(F::Count),
        (Frame::Row, "policy_evaluated") => Some(Frame::Evaluated),
        (Frame::Evaluated, "disposition") => leaf(F::Disposition),
        (Frame::Evaluated, "dkim") => leaf(F::EvaluatedDkim),
        (Frame::Evaluated, "spf") => leaf(F::EvaluatedSpf),
        (Frame::Evaluated, "reason") => Some(Frame::Reason),
        (Frame::Reason, "type") => leaf(F::ReasonType),
        (Frame::Reason, "comment") => leaf(F::ReasonComment),
        (Frame::Identifiers, "header_from") => leaf(F::HeaderFrom),
        (Frame::Identifiers, "envelope_from") => leaf(F::EnvelopeFrom),
        (Frame::Identifiers, "envelope_to") => leaf(F::EnvelopeTo),
        (Frame::AuthResults, "dkim") => Some(Frame::Dkim),
        (Frame::AuthResults, "spf") => Some(Frame::Spf),
        (Frame::Dkim, "domain") => leaf(F::DkimDomain),
        (Frame::Dkim, "selector") => leaf(F::DkimSelector),
        (Frame::Dkim, "result") => leaf(F::DkimResult),
        (Frame::Dkim, "human_result") => leaf(F::DkimHuman),
        (Frame::Spf, "domain") => leaf(F::SpfDomain),
        (Frame::Spf, "scope") => leaf(F::SpfScope),
        (Frame::Spf, "result") => leaf(F::SpfResult),
        (Frame::Spf, "human_result") => leaf(F::SpfHuman),
        _ => None,
    }
}

/// The header as read so far.
struct HeaderParts {
    version: Option<String>,
    org_name: Option<String>,
    email: Option<String>,
    extra_contact_info: Option<String>,
    report_id: Option<String>,
    begin: Option<i64>,
    end: Option<i64>,
    errors: Vec<String>,
    generator: Option<String>,
    domain: Option<String>,
    policy: PolicyPublished,
    seen_metadata: bool,
    seen_policy: bool,
}

impl Default for HeaderParts {
    fn default() -> HeaderParts {
        HeaderParts {
            version: None,
            org_name: None,
            email: None,
            extra_contact_info: None,
            report_id: None,
            begin: None,
            end: None,
            errors: Vec::new(),
            generator: None,
            domain: None,
            policy: placeholder_header().policy,
            seen_metadata: false,
            seen_policy: false,
        }
    }
}

/// Where in the report a record problem is.
#[derive(Clone, Copy)]
struct RecordContext {
    index: usize,
    line: u64,
}

impl RecordContext {
    fn say(self, message: String) -> String {
        format!("record {} (from line {}): {message}", self.index, self.line)
    }
}

/// The record being read.
#[derive(Default)]
struct RecordParts {
    source_ip: Option<IpAddr>,
    count: Option<u64>,
    disposition: Option<Disposition>,
    dkim_aligned: Option<AlignedResult>,
    spf_aligned: Option<AlignedResult>,
    reasons: Vec<OverrideReason>,
    header_from: Option<String>,
    envelope_from: Option<String>,
    envelope_to: Option<String>,
    dkim: Vec<DkimAuth>,
    spf: Vec<SpfAuth>,
}

struct State {
    frames: Vec<Frame>,
    /// Depth inside an element being skipped (0: not skipping).
    skip: usize,
    text: String,
    parts: HeaderParts,
    header: Option<ReportHeader>,
    record: RecordParts,
    /// Records begun so far.
    records: usize,
    max_records: usize,
    /// The current line, 1-based.
    line: u64,
    record_line: u64,
}

type Outcome = Result<Step, String>;

impl State {
    fn new(max_records: usize) -> State {
        State {
            frames: Vec::with_capacity(8),
            skip: 0,
            text: String::new(),
            parts: HeaderParts::default(),
            header: None,
            record: RecordParts::default(),
            records: 0,
            max_records,
            line: 1,
            record_line: 0,
        }
    }

    fn start(&mut self, name: &str, foreign: bool) -> Outcome {
        if self.skip > 0 {
            self.skip += 1;
            return Ok(Step::Continue);
        }
        let Some(&parent) = self.frames.last() else {
            if foreign || name != "feedback" {
                return Err(format!(
                    "the root element is {}, not <feedback>: not a DMARC aggregate report",
                    quoted(&format!("<{name}>"))
                ));
            }
            self.frames.push(Frame::Feedback);
            return Ok(Step::Continue);
        };
        let frame = if foreign { None } else { child(parent, name) };
        let Some(frame) = frame else {
            self.skip = 1;
            return Ok(Step::Continue);
        };
        let mut step = Step::Continue;
        match frame {
            Frame::Metadata | Frame::Policy if self.header.is_some() => {
                return Err(format!("<{name}> after the first <record>"));
            }
            Frame::Metadata => self.parts.seen_metadata = true,
            Frame::Policy => self.parts.seen_policy = true,
            Frame::Record => {
                if self.header.is_none() {
                    self.header = Some(self.finish_header()?);
                    step = Step::HeaderDone;
                }
                self.records += 1;
                if self.records > self.max_records {
                    return Err(format!(
                        "more than {} records: the report is over the record cap",
                        self.max_records
                    ));
                }
                self.record = RecordParts::default();
                self.record_line = self.line;
            }
            Frame::Reason => {
                if self.record.reasons.len() >= MAX_REPEATED {
                    return Err(self.in_record(format!("more than {MAX_REPEATED} <reason>s")));
                }
                self.record.reasons.push(OverrideReason {
                    kind: OverrideKind::Other,
                    comment: None,
                });
            }
            Frame::Dkim => {
                if self.record.dkim.len() >= MAX_DKIM {
                    return Err(self.in_record(format!("more than {MAX_DKIM} <dkim> results")));
                }
                self.record.dkim.push(DkimAuth {
                    domain: String::new(),
                    selector: None,
                    result: crate::message::dmarc::AuthResult::None,
                    human_result: None,
                });
            }
            Frame::Spf => {
                if self.record.spf.len() >= MAX_SPF {
                    return Err(self.in_record(format!("more than {MAX_SPF} <spf> results")));
                }
                self.record.spf.push(SpfAuth {
                    domain: String::new(),
                    scope: None,
                    result: crate::message::dmarc::AuthResult::None,
                    human_result: None,
                });
            }
            Frame::Leaf(_) => self.text.clear(),
            _ => {}
        }
        self.frames.push(frame);
        Ok(step)
    }

    fn end(&mut self) -> Outcome {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(Step::Continue);
        }
        match self.frames.pop() {
            Some(Frame::Leaf(field)) => {
                let text = std::mem::take(&mut self.text);
                self.assign(field, text.trim())?;
                self.text = text;
                Ok(Step::Continue)
            }
            Some(Frame::Record) => self.finish_record().map(Step::Record),
            Some(Frame::Feedback) => {
                if self.header.is_none() {
                    self.header = Some(self.finish_header()?);
                }
                Ok(Step::End)
            }
            _ => Ok(Step::Continue),
        }
    }

    fn text(&mut self, text: &str) -> Outcome {
        if self.skip == 0 && matches!(self.frames.last(), Some(Frame::Leaf(_))) {
            if self.text.len() + text.len() > MAX_VALUE {
                return Err(format!("a value longer than {MAX_VALUE} bytes"));
            }
            self.text.push_str(text);
        }
        Ok(Step::Continue)
    }

    fn eof(&mut self) -> Outcome {
        if self.frames.is_empty() {
            Err("no <feedback> element: the document is empty".into())
        } else {
            Err("the document ends before </feedback>".into())
        }
    }

    fn in_record(&self, message: String) -> String {
        self.context().say(message)
    }

    fn context(&self) -> RecordContext {
        RecordContext {
            index: self.records,
            line: self.record_line,
        }
    }

    fn assign(&mut self, field: Field, value: &str) -> Result<(), String> {
        let optional = || (!value.is_empty()).then(|| value.to_string());
        let optional_domain = || (!value.is_empty()).then(|| domain_key(value));
        let at = self.context();
        let policy = &mut self.parts.policy;
        let record = &mut self.record;
        match field {
            Field::Version => self.parts.version = optional(),
            Field::OrgName => self.parts.org_name = optional(),
            Field::Email => self.parts.email = optional(),
            Field::ExtraContactInfo => self.parts.extra_contact_info = optional(),
            Field::ReportId => self.parts.report_id = optional(),
            Field::Begin => self.parts.begin = Some(seconds("begin", value)?),
            Field::End => self.parts.end = Some(seconds("end", value)?),
            Field::Error => {
                if self.parts.errors.len() >= MAX_REPEATED {
                    return Err(format!("more than {MAX_REPEATED} <error>s"));
                }
                self.parts.errors.extend(optional());
            }
            Field::Generator => self.parts.generator = optional(),
            // policy_published describes what the reporter saw; a value it
            // garbled is read as absent rather than losing the report.
            Field::Domain => self.parts.domain = optional_domain(),
            Field::P => policy.p = policy_word(value),
            Field::Sp => policy.sp = policy_word(value),
            Field::Np => policy.np = policy_word(value),
            Field::Adkim => policy.adkim = alignment(value),
            Field::Aspf => policy.aspf = alignment(value),
            Field::Pct => policy.pct = value.parse::<u8>().ok().filter(|p| *p <= 100),
            Field::Fo => policy.fo = optional(),
            Field::Testing => {
                policy.testing = match value.to_ascii_lowercase().as_str() {
                    "y" => Some(true),
                    "n" => Some(false),
                    _ => None,
                }
            }
            Field::DiscoveryMethod => policy.discovery_method = DiscoveryMethod::parse(value),
            Field::SourceIp => {
                let ip: IpAddr = value.parse().map_err(|_| {
                    at.say(format!(
                        "<source_ip> {} is not an IP address",
                        quoted(value)
                    ))
                })?;
                record.source_ip = Some(ip.to_canonical());
            }
            Field::Count => {
                record.count = Some(value.parse().map_err(|_| {
                    at.say(format!(
                        "<count> {} is not a number of messages",
                        quoted(value)
                    ))
                })?);
            }
            Field::Disposition => {
                record.disposition = Some(Disposition::parse(value).ok_or_else(|| {
                    at.say(format!(
                        "<disposition> {} is not none, pass, quarantine or reject",
                        quoted(value)
                    ))
                })?);
            }
            Field::EvaluatedDkim => record.dkim_aligned = Some(aligned(value)),
            Field::EvaluatedSpf => record.spf_aligned = Some(aligned(value)),
            Field::ReasonType => {
                if let Some(reason) = record.reasons.last_mut() {
                    reason.kind = OverrideKind::parse(value).unwrap_or(OverrideKind::Other);
                }
            }
            Field::ReasonComment => {
                if let Some(reason) = record.reasons.last_mut() {
                    reason.comment = optional();
                }
            }
            Field::HeaderFrom => record.header_from = optional_domain(),
            Field::EnvelopeFrom => record.envelope_from = optional_domain(),
            Field::EnvelopeTo => record.envelope_to = optional_domain(),
            Field::DkimDomain => {
                if let Some(dkim) = record.dkim.last_mut() {
                    dkim.domain = domain_key(value);
                }
            }
            Field::DkimSelector => {
                if let Some(dkim) = record.dkim.last_mut() {
                    dkim.selector = optional_domain();
                }
            }
            Field::DkimResult => {
                let result = result_word("DKIM", value).map_err(|m| at.say(m))?;
                if let Some(dkim) = record.dkim.last_mut() {
                    dkim.result = result;
                }
            }
            Field::DkimHuman => {
                if let Some(dkim) = record.dkim.last_mut() {
                    dkim.human_result = optional();
                }
            }
            Field::SpfDomain => {
                if let Some(spf) = record.spf.last_mut() {
                    spf.domain = domain_key(value);
                }
            }
            Field::SpfScope => {
                if let Some(spf) = record.spf.last_mut() {
                    spf.scope = SpfScope::parse(value);
                }
            }
            Field::SpfResult => {
                let result = result_word("SPF", value).map_err(|m| at.say(m))?;
                if let Some(spf) = record.spf.last_mut() {
                    spf.result = result;
                }
            }
            Field::SpfHuman => {
                if let Some(spf) = record.spf.last_mut() {
                    spf.human_result = optional();
                }
            }
        }
        Ok(())
    }

    fn finish_header(&mut self) -> Result<ReportHeader, String> {
        let parts = std::mem::take(&mut self.parts);
        if !parts.seen_metadata {
            return Err("no <report_metadata> before the records".into());
        }
        if !parts.seen_policy {
            return Err("no <policy_published> before the records".into());
        }
        let required = |value: Option<String>, name: &str| {
            value.ok_or_else(|| format!("<report_metadata> has no <{name}>"))
        };
        let org_name = required(parts.org_name, "org_name")?;
        let report_id = required(parts.report_id, "report_id")?;
        let (Some(begin), Some(end)) = (parts.begin, parts.end) else {
            return Err("<date_range> needs <begin> and <end>".into());
        };
        let domain = parts
            .domain
            .ok_or_else(|| "<policy_published> has no <domain>".to_string())?;
        let mut policy = parts.policy;
        policy.domain = domain;
        Ok(ReportHeader {
            version: parts.version,
            metadata: ReportMetadata {
                org_name,
                email: parts.email.unwrap_or_default(),
                extra_contact_info: parts.extra_contact_info,
                report_id,
                begin,
                end,
                errors: parts.errors,
                generator: parts.generator,
            },
            policy,
        })
    }

    fn finish_record(&mut self) -> Result<Record, String> {
        let parts = std::mem::take(&mut self.record);
        let at = self.context();
        let missing = |name: &str| at.say(format!("no <{name}>"));
        Ok(Record {
            source_ip: parts.source_ip.ok_or_else(|| missing("source_ip"))?,
            count: parts.count.ok_or_else(|| missing("count"))?,
            policy_evaluated: PolicyEvaluated {
                disposition: parts.disposition.ok_or_else(|| missing("disposition"))?,
                dkim: parts.dkim_aligned.unwrap_or(AlignedResult::Fail),
                spf: parts.spf_aligned.unwrap_or(AlignedResult::Fail),
                reasons: parts.reasons,
            },
            identifiers: Identifiers {
                header_from: parts.header_from.ok_or_else(|| missing("header_from"))?,
                envelope_from: parts.envelope_from,
                envelope_to: parts.envelope_to,
            },
            dkim: parts.dkim,
            spf: parts.spf,
        })
    }
}

fn seconds(name: &str, value: &str) -> Result<i64, String> {
    value.parse().map_err(|_| {
        format!(
            "<{name}> {} is not a number of seconds since the epoch",
            quoted(value)
        )
    })
}

fn policy_word(value: &str) -> Option<crate::domain::dmarc::Policy> {
    policy(value)
}

/// `policy_evaluated`'s results: only `pass` is an aligned pass.
fn aligned(value: &str) -> AlignedResult {
    AlignedResult::parse(value)
        .filter(|r| *r == AlignedResult::Pass)
        .unwrap_or(AlignedResult::Fail)
}

/// A DKIM or SPF result; an empty element means no result (`none`).
fn result_word(mechanism: &str, value: &str) -> Result<crate::message::dmarc::AuthResult, String> {
    if value.is_empty() {
        return Ok(crate::message::dmarc::AuthResult::None);
    }
    auth_result(value).ok_or_else(|| {
        format!(
            "{mechanism} result {} is not an RFC 8601 result word",
            quoted(value)
        )
    })
}
