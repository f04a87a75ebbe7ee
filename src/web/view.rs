//! Reports as the pages read them: the JSON a report is saved and served
//! as, read back into plain owned values.
//!
//! A saved message report is JSON in the store (the same document
//! `GET /v1/reports/{id}` answers), so the pages render that document,
//! not the engine's types; the parts a domain page shares with it
//! (findings, checklist, DNS questions) are read the same way, so both
//! pages show them through one renderer. Every field has a default: a
//! report saved by an older version, missing a field added since, still
//! shows what it has. Where an engine type is plain owned data (a DNS
//! question, an ARC hop), the page reads that type itself.

use crate::dns::trace::TraceEntry;
use crate::message::arc::ArcHop;
use serde::Deserialize;

/// One finding.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Finding {
    pub code: String,
    pub severity: String,
    pub title: String,
    pub detail: String,
    pub why: String,
    pub fix: String,
    pub refs: Vec<String>,
    /// The records the fix asks for, exactly as to publish them.
    pub publish: Vec<DnsRecord>,
}

/// A DNS record to publish.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
}

/// One rule of the provider checklist.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Requirement {
    pub provider: String,
    pub rule: String,
    /// `met`, `unmet` or `unknown`.
    pub status: String,
    pub note: String,
}

/// A check a failed DNS lookup left undecided.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Undecided {
    /// `spf`, `dkim`, `dmarc` or `iprev`.
    pub check: String,
    /// Which lookup failed.
    pub reason: String,
}

/// The `dns` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dns {
    pub queries: usize,
    pub upstream_queries: usize,
    pub budget_exhausted: bool,
    pub deadline_passed: bool,
    pub trace: Option<Vec<TraceEntry>>,
}

/// What every report has: its judgement, findings, checklist and DNS.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Common {
    /// `pass`, `warn`, `fail` or `unknown`.
    pub verdict: String,
    /// The one sentence saying what receivers will do with the mail.
    pub summary: String,
    pub findings: Vec<Finding>,
    pub requirements: Vec<Requirement>,
    pub dns: Dns,
}

/// A saved message report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Message {
    #[serde(flatten)]
    pub common: Common,
    pub envelope: Envelope,
    pub spf: MessageSpf,
    pub dkim: Vec<DkimSignature>,
    pub dmarc: Dmarc,
    pub arc: Arc,
    pub iprev: Option<Iprev>,
    pub headers: Headers,
    pub authentication_results: String,
    /// What the receiver saw, for a message that came by SMTP.
    pub smtp: Option<Smtp>,
    /// Absent from reports saved before the grade existed, and null when
    /// a check is undecided.
    pub grade: Option<f64>,
    /// The checks a failed DNS lookup left undecided.
    pub undecided: Vec<Undecided>,
    pub blocklists: Option<Blocklists>,
    pub content: Option<Content>,
}

/// The `smtp` section of a report on a message sent to a test address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Smtp {
    pub client_ip: String,
    pub helo: String,
    pub esmtp: bool,
    pub mail_from: String,
    pub rcpt_to: String,
    pub tls: Option<SmtpTls>,
    pub size: u64,
    pub elapsed_ms: u64,
    pub transcript: Transcript,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SmtpTls {
    pub version: String,
    pub cipher: String,
}

/// The SMTP conversation, without the message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Transcript {
    pub lines: Vec<TranscriptLine>,
    pub omitted: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TranscriptLine {
    /// `client` or `server`.
    pub side: String,
    pub line: String,
}

/// The sending IP on the DNS blocklists.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Blocklists {
    pub ip: String,
    pub note: Option<String>,
    pub lists: Vec<BlocklistAnswer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BlocklistAnswer {
    pub zone: String,
    /// `listed`, `not_listed` or `unchecked`.
    pub result: String,
    pub codes: Vec<String>,
    pub reason: Option<String>,
}

/// What the body holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Content {
    pub size: u64,
    pub text_part: bool,
    pub html_part: bool,
    pub images: u64,
    pub links: u64,
    pub link_hosts: Vec<LinkHost>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LinkHost {
    pub host: String,
    pub links: u64,
    pub aligned: Option<bool>,
    pub shortener: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Envelope {
    pub ip: EnvelopeField,
    pub helo: EnvelopeField,
    pub mail_from: EnvelopeField,
}

/// An envelope value and where it came from (`given`, `received`,
/// `return_path`, `unknown`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EnvelopeField {
    pub value: Option<String>,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MessageSpf {
    pub result: String,
    pub reason: Option<String>,
    pub mailfrom: Option<SpfCheck>,
    pub helo: Option<SpfCheck>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SpfCheck {
    pub result: String,
    pub domain: String,
    pub sender: String,
    pub client_ip: String,
    pub lookups: Lookups,
    pub records: Vec<ConsultedRecord>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Lookups {
    pub count: usize,
    pub void: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConsultedRecord {
    pub domain: String,
    pub record: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DkimSignature {
    pub result: String,
    pub reason: Option<String>,
    pub domain: Option<String>,
    pub selector: Option<String>,
    pub algorithm: Option<String>,
    pub canonicalization: Option<String>,
    pub key_bits: Option<u32>,
    pub aligned_with: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dmarc {
    pub from_domain: Option<String>,
    pub result: String,
    pub reason: String,
    pub policy: Option<String>,
    pub policy_tag: Option<String>,
    pub published_policy: Option<String>,
    pub testing: bool,
    pub pct: Option<u8>,
    pub record: Option<AppliedRecord>,
    pub spf: SpfAlignment,
    pub dkim: DkimAlignment,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AppliedRecord {
    pub name: String,
    pub domain: String,
    pub text: String,
    pub inherited: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SpfAlignment {
    pub mode: String,
    pub identifier: Option<Identifier>,
    pub result: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DkimAlignment {
    pub mode: String,
    pub signatures: Vec<Identifier>,
    pub result: String,
}

/// An authenticated identifier judged for alignment with the From domain.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Identifier {
    pub domain: String,
    pub result: String,
    pub aligned: Option<bool>,
    pub aligned_pass: bool,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Arc {
    pub result: String,
    pub reason: Option<String>,
    pub hops: Vec<ArcHop>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Iprev {
    pub result: String,
    pub ip: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Headers {
    pub from: Vec<String>,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub message_id: Option<String>,
}
