//! MTA-STS in the domain audit (RFC 8461): does the domain tell sending
//! servers to insist on verified TLS, and would they be able to follow it?
//!
//! This module decides, in the order a sender works (RFC 8461 §3, §4):
//!
//! 1. **The TXT record** at `_mta-sts.<domain>` (§3.1): records that look
//!    like MTA-STS are kept; none means no policy, more than one or a
//!    malformed one (the `v=STSv1` field not first, `id` missing or not 1–32
//!    letters and digits, a field that is not `name=value`) means senders
//!    ignore the whole thing. A failed lookup is unknown, never "missing".
//! 2. **The policy file** at `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//!    (§3.3), fetched only when the record is valid: the host is resolved
//!    through the audit's resolver (so `--zone`, the trace and the deadline
//!    apply) and never connected to at an address that is not public
//!    ([`is_fetchable`]: private, loopback, documentation…) unless the caller
//!    allows it; redirects are not followed, the status must be 200, the
//!    media type `text/plain` (§3.2), the body at most 64 KiB, all within
//!    the fetch timeout. Trust anchors are the Mozilla roots plus any the
//!    caller adds (`--ca-file`).
//! 3. **The policy grammar** (§3.2): `key: value` lines separated by CRLF
//!    or LF; `version: STSv1`, `mode` (enforce, testing, none), `max_age`
//!    (0 to 31557600) and at least one `mx` pattern unless the mode is
//!    none; unknown fields are ignored, and of a repeated field other than
//!    `mx` only the first counts.
//! 4. **MX coverage** (§4.1), once the MX hosts are known: under
//!    `mode: enforce` every MX host must match an `mx` pattern, where `*.`
//!    stands for exactly one leftmost label. This is [`coverage`], which the
//!    orchestration calls after the MX check so neither waits for the other.
//!
//! Fetching ([`check`] and the private helpers it calls) is kept apart from
//! evaluation (the parsers, [`evaluate_record`], [`evaluate_policy`],
//! [`coverage`]), which are pure and tested below without a network.

use super::{AuditContext, AuditOptions};
use crate::dns::{DnsError, Rcode, Resolver};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::address::is_fetchable;
use hickory_proto::rr::{Name, RecordType};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The label below the domain where the TXT record lives (§3.1).
pub const RECORD_LABEL: &str = "_mta-sts";
/// The label of the host that serves the policy (§3.3).
pub const POLICY_HOST_LABEL: &str = "mta-sts";
/// Where on that host the policy is (§3.2).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";
/// The largest policy body read. A real policy is a few hundred bytes; the
/// cap keeps a hostile or broken server from feeding the audit forever.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// The largest `max_age` the grammar allows, about one year (§3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

const VERSION_FIELD: &str = "v=STSv1";
/// How much of a policy text a finding quotes as evidence.
const EVIDENCE_TEXT_LIMIT: usize = 2048;

// ---------------------------------------------------------------------------
// The report section
// ---------------------------------------------------------------------------

/// The MTA-STS section of the audit report.
#[derive(Debug, Clone, Serialize)]
pub struct MtaStsSection {
    /// Where the record was looked up: `_mta-sts.<domain>`.
    pub name: String,
    /// `valid`, `missing`, `invalid`, or `unknown` when the lookup failed.
    pub status: RecordStatus,
    /// Every TXT record there that is meant as MTA-STS, as published.
    pub records: Vec<String>,
    /// The record's fields, when exactly one valid record was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<StsRecord>,
    /// What is wrong with the record, or the DNS error when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The policy file; fetched only when the record is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyReport>,
}

impl MtaStsSection {
    /// What a failed lookup left undecided, in a few words; `None` when
    /// every question this check rests on was answered.
    pub fn undecided(&self) -> Option<String> {
        if self.status == RecordStatus::Unknown {
            return Some(
                self.error
                    .clone()
                    .unwrap_or_else(|| format!("the TXT lookup of {} failed", self.name)),
            );
        }
        let policy = self
            .policy
            .as_ref()
            .filter(|p| p.status == PolicyStatus::Unknown)?;
        Some(format!(
            "the policy at {} could not be fetched: {}",
            policy.url,
            policy.error.as_deref().unwrap_or("no answer")
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Valid,
    Missing,
    Invalid,
    Unknown,
}

/// A parsed `_mta-sts` TXT record (§3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsRecord {
    /// Changes whenever the policy changes; senders refetch on a new id.
    pub id: String,
    /// Fields this version of MTA-STS does not define, ignored by senders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
}

/// A field the RFC does not define, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub name: String,
    pub value: String,
}

/// What the HTTPS fetch of the policy found.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    /// `valid`, `invalid`, `unreachable`, or `unknown` when the policy
    /// host's DNS lookup failed or the fetch could not be set up.
    pub status: PolicyStatus,
    pub url: String,
    pub host: String,
    /// The policy host's addresses, as resolved.
    pub addresses: Vec<IpAddr>,
    /// Addresses not connected to because they are not public (see
    /// [`is_fetchable`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_addresses: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Why the fetch failed or the policy does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The policy file as served (invalid UTF-8 shown with replacements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The policy's fields, when it parses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parsed: Option<Policy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    Valid,
    Invalid,
    Unreachable,
    Unknown,
}

/// A parsed policy file (§3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub version: String,
    pub mode: Mode,
    /// Seconds a sender may cache the policy.
    pub max_age: u64,
    /// MX host patterns: exact names or `*.` followed by a name.
    pub mx: Vec<String>,
    /// Fields the RFC does not define, ignored by senders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
}

/// What senders do with a policy (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deliver only over verified TLS to matching MX hosts.
    Enforce,
    /// Report failures (TLS-RPT) but deliver anyway.
    Testing,
    /// The domain is withdrawing its policy.
    None,
}

impl Mode {
    fn parse(value: &str) -> Option<Mode> {
        // The values are case-sensitive (RFC 7405 %s strings in §3.2).
        match value {
            "enforce" => Some(Mode::Enforce),
            "testing" => Some(Mode::Testing),
            "none" => Some(Mode::None),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// The TXT record (§3.1)
// ---------------------------------------------------------------------------

/// Why a `_mta-sts` TXT record is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the record must begin with the field `v=STSv1`, but begins with `{0}`")]
    BadVersion(String),
    #[error("the `id` field is missing{0}")]
    MissingId(String),
    #[error("`id={0}` is not 1 to 32 letters or digits")]
    BadId(String),
    #[error("`{0}` is not a field of the form name=value")]
    BadField(String),
    #[error("two `;` in a row leave an empty field")]
    EmptyField,
}

/// Whether a TXT record is meant as MTA-STS: it begins with `v=STSv1`, or
/// has that field elsewhere or in another case. Senders only keep records
/// that begin with `v=STSv1;` (§3.1); the wider net lets the audit say why
/// a record that was meant as MTA-STS is ignored instead of calling the
/// domain's policy missing.
pub fn is_sts_record(text: &str) -> bool {
    text.starts_with(VERSION_FIELD)
        || text.split(';').any(|field| {
            field.split_once('=').is_some_and(|(name, value)| {
                name.trim_matches(is_wsp).eq_ignore_ascii_case("v")
                    && value.trim_matches(is_wsp).eq_ignore_ascii_case("STSv1")
            })
        })
}

/// Parses a record by the grammar of §3.1:
/// `v=STSv1` first, then `;`-separated `name=value` fields (spaces and tabs
/// allowed around each `;`, one `;` may end the record) of which `id` is
/// required and is 1 to 32 letters or digits. Field names are
/// case-sensitive; of repeated `id` fields the first counts.
pub fn parse_record(text: &str) -> Result<StsRecord, RecordError> {
    let after_version = text
        .strip_prefix(VERSION_FIELD)
        .map(|rest| rest.trim_start_matches(is_wsp))
        .filter(|rest| rest.is_empty() || rest.starts_with(';'))
        .ok_or_else(|| {
            let first = text.split(';').next().unwrap_or(text).trim_matches(is_wsp);
            RecordError::BadVersion(first.to_string())
        })?;
    let fields = after_version.strip_prefix(';').unwrap_or(after_version);
    let pieces: Vec<&str> = fields.split(';').collect();
    let last = pieces.len().saturating_sub(1);
    let mut id: Option<String> = None;
    let mut extensions = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        let field = piece.trim_matches(is_wsp);
        if field.is_empty() {
            if index == last {
                continue; // the optional final `;`
            }
            return Err(RecordError::EmptyField);
        }
        let Some((name, value)) = field.split_once('=') else {
            return Err(RecordError::BadField(field.to_string()));
        };
        if !is_field_name(name) {
            return Err(RecordError::BadField(field.to_string()));
        }
        if name == "id" {
            if id.is_none() {
                if !is_sts_id(value) {
                    return Err(RecordError::BadId(value.to_string()));
                }
                id = Some(value.to_string());
            }
        } else {
            // sts-ext-value: visible ASCII except `=` and `;`.
            let valid = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'=' && b != b';');
            if !valid {
                return Err(RecordError::BadField(field.to_string()));
            }
            extensions.push(Extension {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
    }
    let Some(id) = id else {
        let hint = extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case("id"))
            .map(|e| {
                format!(
                    " (`{}` is not `id`: field names are case-sensitive)",
                    e.name
                )
            })
            .unwrap_or_default();
        return Err(RecordError::MissingId(hint));
    };
    Ok(StsRecord { id, extensions })
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `sts-ext-name` (§3.1) and `sts-policy-ext-name` (§3.2): a letter or
/// digit, then up to 31 letters, digits, `_`, `-` or `.`.
fn is_field_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.len() <= 32
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn is_sts_id(value: &str) -> bool {
    (1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What the `_mta-sts` TXT lookup answered, reduced to what matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtAnswer {
    pub nxdomain: bool,
    /// Every TXT record at the name, its character-strings joined.
    pub texts: Vec<String>,
}

/// The record half of the section, and its findings.
pub fn evaluate_record(
    name: &str,
    lookup: Result<TxtAnswer, DnsError>,
) -> (MtaStsSection, Vec<Finding>) {
    let mut section = MtaStsSection {
        name: name.to_string(),
        status: RecordStatus::Unknown,
        records: Vec::new(),
        record: None,
        error: None,
        policy: None,
    };
    let answer = match lookup {
        Ok(answer) => answer,
        Err(e) => {
            // Unknown is not absent: no finding rests on a failed lookup.
            section.error = Some(format!("the TXT lookup of {name} failed: {e}"));
            return (section, Vec::new());
        }
    };
    let evidence = txt_evidence(name, &answer);
    section.records = answer
        .texts
        .iter()
        .filter(|t| is_sts_record(t))
        .cloned()
        .collect();
    match section.records.as_slice() {
        [] => {
            section.status = RecordStatus::Missing;
            let seen = if answer.nxdomain {
                "the name does not exist".to_string()
            } else if answer.texts.is_empty() {
                "it has no TXT record".to_string()
            } else {
                format!(
                    "none of its {} TXT record(s) begins with v=STSv1",
                    answer.texts.len()
                )
            };
            let domain = name
                .strip_prefix(RECORD_LABEL)
                .and_then(|d| d.strip_prefix('.'))
                .unwrap_or(name);
            let finding = Finding::new(
                catalog::MTA_STS_MISSING,
                format!("No MTA-STS record at {name}: {seen}."),
            )
            .with_fix(format!(
                "Serve a policy at {} with the lines version: STSv1, mode: testing, one \
                 mx: line per MX host of {domain}, and max_age: 604800; then publish the TXT \
                 record {name} \"v=STSv1; id=1\" (change the id whenever the policy \
                 changes). Move to mode: enforce once TLS reports show no failures.",
                policy_url(&format!("{POLICY_HOST_LABEL}.{domain}"), 443)
            ))
            .with_evidence(evidence);
            (section, vec![finding])
        }
        [text] => match parse_record(text) {
            Ok(record) => {
                section.status = RecordStatus::Valid;
                section.record = Some(record);
                (section, Vec::new())
            }
            Err(error) => {
                section.status = RecordStatus::Invalid;
                section.error = Some(error.to_string());
                let mut finding = Finding::new(
                    catalog::MTA_STS_RECORD_INVALID,
                    format!(
                        "The MTA-STS record at {name} is malformed, so senders ignore it: \
                         {error}. Record: \"{text}\"."
                    ),
                )
                .with_evidence(evidence);
                if let Some(fixed) = repaired_record(text) {
                    finding = finding.with_fix(format!(
                        "Replace the TXT record at {name} with: {fixed} (change the id \
                         whenever the policy file changes)."
                    ));
                }
                (section, vec![finding])
            }
        },
        many => {
            section.status = RecordStatus::Invalid;
            section.error = Some(format!(
                "{} MTA-STS records; exactly one is allowed",
                many.len()
            ));
            let listed = many
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let mut finding = Finding::new(
                catalog::MTA_STS_RECORD_INVALID,
                format!(
                    "{} MTA-STS records at {name}, so senders ignore all of them: {listed}.",
                    many.len()
                ),
            )
            .with_evidence(evidence);
            if let Some(keep) = many.iter().find_map(|t| parse_record(t).ok()) {
                finding = finding.with_fix(format!(
                    "Delete all but one TXT record at {name}; keep: v=STSv1; id={}",
                    keep.id
                ));
            }
            (section, vec![finding])
        }
    }
}

/// A corrected record, when the intent of a malformed one is clear: its
/// `v` field and an `id` made of the letters and digits of the one given.
fn repaired_record(text: &str) -> Option<String> {
    let id: String = text
        .split(';')
        .filter_map(|f| f.trim_matches(is_wsp).split_once('='))
        .find(|(n, _)| n.trim_matches(is_wsp).eq_ignore_ascii_case("id"))
        .map(|(_, v)| {
            v.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(32)
                .collect()
        })?;
    (!id.is_empty()).then(|| format!("{VERSION_FIELD}; id={id}"))
}

fn txt_evidence(name: &str, answer: &TxtAnswer) -> Vec<String> {
    if answer.nxdomain {
        vec![format!("{name}. TXT: NXDOMAIN")]
    } else if answer.texts.is_empty() {
        vec![format!("{name}. TXT: no records")]
    } else {
        answer
            .texts
            .iter()
            .map(|t| format!("{name}. TXT \"{t}\""))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The policy file (§3.2)
// ---------------------------------------------------------------------------

/// Why a policy file is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the file is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    #[error("line {line} `{text}` is not a `key: value` field: {why}")]
    BadLine {
        line: usize,
        text: String,
        why: String,
    },
    #[error("`version: {0}` is not `version: STSv1`, the only version")]
    BadVersion(String),
    #[error("`mode: {0}` is not one of enforce, testing or none (lower case)")]
    BadMode(String),
    #[error("`max_age: {0}` is not a whole number of seconds from 0 to {MAX_AGE_LIMIT}")]
    BadMaxAge(String),
    #[error("`mx: {0}` is not a host name, nor `*.` followed by one")]
    BadMx(String),
    #[error("the `{field}` field is missing{hint}")]
    Missing { field: &'static str, hint: String },
    #[error("there is no `mx` field, which every mode but none needs")]
    NoMx,
}

impl PolicyError {
    /// The change that fixes this, in the words of the policy file.
    fn advice(&self) -> String {
        match self {
            PolicyError::NotUtf8(_) => "Save the policy as plain UTF-8 text.".into(),
            PolicyError::BadLine { line, .. } => format!(
                "Rewrite line {line} as `key: value` (a field name of letters, digits, `_`, \
                 `-` or `.`, a colon, then the value), or delete it."
            ),
            PolicyError::BadVersion(_) => "Write the line `version: STSv1`.".into(),
            PolicyError::BadMode(_) => {
                "Write `mode: enforce`, `mode: testing` or `mode: none`.".into()
            }
            PolicyError::BadMaxAge(_) => {
                "Write `max_age: 604800` (one week; at most 31557600).".into()
            }
            PolicyError::BadMx(value) => format!(
                "Write each MX pattern as a host name such as `mx: mail.example.com` or a \
                 wildcard for one label such as `mx: *.example.net`, without a trailing dot, \
                 in place of `mx: {value}`."
            ),
            PolicyError::Missing { field, .. } => {
                let line = match *field {
                    "version" => "version: STSv1",
                    "mode" => "mode: testing",
                    _ => "max_age: 604800",
                };
                format!("Add the line `{line}`.")
            }
            PolicyError::NoMx => {
                "Add one `mx:` line per MX host (for example `mx: mail.example.com`), or a \
                 wildcard such as `mx: *.example.net`."
                    .into()
            }
        }
    }
}

/// Parses a policy file by the grammar of §3.2. Fields may come in any
/// order (the grammar fixes none, unlike the TXT record's `v=STSv1`
/// first). Field names and the values of `version` and `mode` are
/// case-sensitive. Blank lines carry no field and are skipped rather than
/// refused.
pub fn parse_policy(body: &[u8]) -> Result<Policy, PolicyError> {
    let text = std::str::from_utf8(body).map_err(|e| PolicyError::NotUtf8(e.valid_up_to()))?;
    let mut version: Option<String> = None;
    let mut mode: Option<Mode> = None;
    let mut max_age: Option<u64> = None;
    let mut mx = Vec::new();
    let mut extensions: Vec<Extension> = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim_matches(is_wsp).is_empty() {
            continue;
        }
        let bad = |why: &str| PolicyError::BadLine {
            line: index + 1,
            text: line.escape_debug().to_string(),
            why: why.to_string(),
        };
        let Some((name, rest)) = line.split_once(':') else {
            return Err(bad("it has no `:`"));
        };
        if !is_field_name(name) {
            return Err(bad(if name.starts_with('\u{feff}') {
                "the file begins with a byte-order mark"
            } else {
                "the field name must be letters, digits, `_`, `-` or `.`, with no space \
                 before the colon"
            }));
        }
        let value = rest.trim_matches(is_wsp);
        // Of a repeated field other than mx, only the first counts (§3.2).
        match name {
            "version" if version.is_none() => {
                if value != "STSv1" {
                    return Err(PolicyError::BadVersion(value.escape_debug().to_string()));
                }
                version = Some(value.to_string());
            }
            "mode" if mode.is_none() => {
                let parsed = Mode::parse(value)
                    .ok_or_else(|| PolicyError::BadMode(value.escape_debug().to_string()))?;
                mode = Some(parsed);
            }
            "max_age" if max_age.is_none() => {
                let parsed = parse_max_age(value)
                    .ok_or_else(|| PolicyError::BadMaxAge(value.escape_debug().to_string()))?;
                max_age = Some(parsed);
            }
            "mx" => {
                if !is_mx_pattern(value) {
                    return Err(PolicyError::BadMx(value.escape_debug().to_string()));
                }
                mx.push(value.to_string());
            }
            "version" | "mode" | "max_age" => {}
            _ => {
                // sts-policy-ext-value: visible characters (UTF-8 allowed)
                // and inner spaces, no control characters.
                let valid = !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c == ' ' || ('\x21'..='\x7e').contains(&c) || !c.is_ascii());
                if !valid {
                    return Err(bad("the value is empty or has control characters"));
                }
                extensions.push(Extension {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
    }
    let missing = |field: &'static str| {
        let hint = extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(field))
            .map(|e| {
                format!(
                    " (`{}` is not `{field}`: field names are case-sensitive)",
                    e.name
                )
            })
            .unwrap_or_default();
        PolicyError::Missing { field, hint }
    };
    let version = version.ok_or_else(|| missing("version"))?;
    let mode = mode.ok_or_else(|| missing("mode"))?;
    let max_age = max_age.ok_or_else(|| missing("max_age"))?;
    if mx.is_empty() && mode != Mode::None {
        return Err(PolicyError::NoMx);
    }
    Ok(Policy {
        version,
        mode,
        max_age,
        mx,
        extensions,
    })
}

/// `1*10DIGIT`, at most [`MAX_AGE_LIMIT`].
fn parse_max_age(value: &str) -> Option<u64> {
    if !(1..=10).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().filter(|n| *n <= MAX_AGE_LIMIT)
}

/// `["*."] Domain` (§3.2, with Domain from RFC 5321 §4.1.2): labels of
/// letters, digits and inner hyphens; no trailing dot, and a wildcard only
/// as the whole leftmost label.
pub fn is_mx_pattern(value: &str) -> bool {
    let domain = value.strip_prefix("*.").unwrap_or(value);
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            let b = label.as_bytes();
            matches!((b.first(), b.last()), (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric())
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// Whether an MX host matches a policy pattern (§4.1): names compare
/// without case and without a final dot; `*.rest` matches a host whose
/// leftmost label is any one label and whose remainder is `rest`, so
/// `*.example.com` matches `mx.example.com` but neither `example.com`
/// nor `a.b.example.com`.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => host.eq_ignore_ascii_case(pattern),
    }
}

/// MX coverage (§4.1, §5.1): under `mode: enforce`, one
/// `mta_sts.mx_not_covered` per MX host that matches no `mx` pattern.
/// Nothing without a valid enforcing policy; a null MX (`.`) is skipped.
pub fn coverage(section: &MtaStsSection, mx_hosts: &[String]) -> Vec<Finding> {
    let Some(report) = section.policy.as_ref() else {
        return Vec::new();
    };
    let Some(policy) = report.parsed.as_ref().filter(|p| p.mode == Mode::Enforce) else {
        return Vec::new();
    };
    let mut seen: Vec<String> = Vec::new();
    let mut findings = Vec::new();
    for host in mx_hosts {
        let bare = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if bare.is_empty() || seen.contains(&bare) {
            continue;
        }
        seen.push(bare.clone());
        if policy.mx.iter().any(|p| mx_matches(p, &bare)) {
            continue;
        }
        let patterns = policy
            .mx
            .iter()
            .map(|p| format!("mx: {p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let wildcard = bare
            .split_once('.')
            .filter(|(_, parent)| parent.contains('.'))
            .map(|(_, parent)| {
                format!(" (or `mx: *.{parent}` to cover every host directly under {parent})")
            })
            .unwrap_or_default();
        let mut evidence = vec![
            format!("MX host: {bare}"),
            format!("policy: {}", report.url),
        ];
        evidence.extend(policy.mx.iter().map(|p| format!("mx: {p}")));
        findings.push(
            Finding::new(
                catalog::MTA_STS_MX_NOT_COVERED,
                format!(
                    "MX host {bare} matches none of the mx patterns of the enforcing policy at \
                     {} ({patterns}), so senders that apply it refuse to deliver there.",
                    report.url
                ),
            )
            .with_fix(format!(
                "Add the line `mx: {bare}`{wildcard} to the policy at {}, then change the id \
                 in the TXT record at {} so senders fetch it again. If {bare} no longer \
                 receives mail, remove its MX record instead.",
                report.url, section.name
            ))
            .with_evidence(evidence),
        );
    }
    findings
}

// ---------------------------------------------------------------------------
// The fetch (§3.3): what can go wrong, and how it reads
// ---------------------------------------------------------------------------

/// Why the policy could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The policy host's lookup failed: unknown, not unreachable.
    #[error("the DNS lookup of {host} failed: {error}")]
    Dns { host: String, error: String },
    #[error("{host} has no A or AAAA record{}", if *.nxdomain { " (the name does not exist)" } else { "" })]
    NoAddress { host: String, nxdomain: bool },
    #[error(
        "refused to connect to {host} at {}: not a public address (private, loopback, \
         link-local, documentation or another special-purpose range; pass \
         --allow-private-fetch to allow it)",
        list(.addresses)
    )]
    PrivateAddress {
        host: String,
        addresses: Vec<IpAddr>,
    },
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("no complete answer within {} ms (the fetch timeout)", .0.as_millis())]
    Timeout(Duration),
    #[error("HTTP status {0}; the policy must be served with status 200")]
    Status(u16),
    #[error(
        "HTTP status {status} redirecting to {}; senders do not follow redirects (RFC 8461 §3.3)",
        .location.as_deref().unwrap_or("(no Location header)")
    )]
    Redirect {
        status: u16,
        location: Option<String>,
    },
    #[error(
        "Content-Type is {}; the policy must be served as text/plain (RFC 8461 §3.2)",
        .0.as_deref().map_or("missing".to_string(), |t| format!("`{t}`"))
    )]
    ContentType(Option<String>),
    #[error("the body is larger than {MAX_POLICY_BYTES} bytes ({})", match .declared {
        Some(n) => format!("Content-Length: {n}"),
        None => format!("stopped reading after {} bytes", .read),
    })]
    TooLarge { declared: Option<u64>, read: usize },
    #[error("HTTP error: {0}")]
    Http(String),
    /// The audit could not set the fetch up: unknown, no finding.
    #[error("the fetch could not be set up: {0}")]
    Setup(String),
}

fn list(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a response may carry the policy: status 200 exactly (a 3xx is
/// a failure, since redirects are not followed) and `text/plain`, with
/// or without parameters such as `charset`.
pub fn judge_response(
    status: u16,
    location: Option<&str>,
    content_type: Option<&str>,
) -> Result<(), FetchError> {
    if (300..400).contains(&status) {
        return Err(FetchError::Redirect {
            status,
            location: location.map(str::to_string),
        });
    }
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    let media_type = content_type.map(|t| t.split(';').next().unwrap_or(t).trim());
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("text/plain")) {
        return Err(FetchError::ContentType(content_type.map(str::to_string)));
    }
    Ok(())
}

/// Splits a host's addresses into those the fetch may connect to and
/// those refused as not globally reachable (see [`is_fetchable`]).
pub fn screen_addresses(addresses: &[IpAddr], allow_private: bool) -> (Vec<IpAddr>, Vec<IpAddr>) {
    if allow_private {
        return (addresses.to_vec(), Vec::new());
    }
    addresses.iter().partition(|ip| is_fetchable(**ip))
}

/// Everything the fetch saw; the input of [`evaluate_policy`].
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: String,
    pub host: String,
    pub addresses: Vec<IpAddr>,
    pub refused: Vec<IpAddr>,
    pub http_status: Option<u16>,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub result: Result<Vec<u8>, FetchError>,
}

/// The policy half of the section, and its findings.
pub fn evaluate_policy(fetched: Fetched, record_name: &str) -> (PolicyReport, Vec<Finding>) {
    let mut report = PolicyReport {
        status: PolicyStatus::Unknown,
        url: fetched.url.clone(),
        host: fetched.host.clone(),
        addresses: fetched.addresses.clone(),
        refused_addresses: fetched.refused.clone(),
        http_status: fetched.http_status,
        content_type: fetched.content_type.clone(),
        error: None,
        text: None,
        parsed: None,
    };
    let url = &fetched.url;
    let mut evidence = vec![format!("GET {url}")];
    if !fetched.addresses.is_empty() {
        evidence.push(format!("{}: {}", fetched.host, list(&fetched.addresses)));
    }
    if let Some(status) = fetched.http_status {
        evidence.push(format!("HTTP status: {status}"));
    }
    if let Some(location) = &fetched.location {
        evidence.push(format!("Location: {location}"));
    }
    if let Some(content_type) = &fetched.content_type {
        evidence.push(format!("Content-Type: {content_type}"));
    }
    let body = match fetched.result {
        Ok(body) => body,
        Err(error) => {
            report.error = Some(error.to_string());
            if matches!(error, FetchError::Dns { .. } | FetchError::Setup(_)) {
                return (report, Vec::new());
            }
            report.status = PolicyStatus::Unreachable;
            let mut finding = Finding::new(
                catalog::MTA_STS_POLICY_UNREACHABLE,
                format!("The MTA-STS policy at {url} cannot be fetched: {error}."),
            )
            .with_evidence(evidence);
            if let Some(fix) = unreachable_fix(&error, &fetched.host, url) {
                finding = finding.with_fix(fix);
            }
            return (report, vec![finding]);
        }
    };
    report.text = Some(String::from_utf8_lossy(&body).into_owned());
    match parse_policy(&body) {
        Err(error) => {
            report.status = PolicyStatus::Invalid;
            report.error = Some(error.to_string());
            evidence.push(format!("policy text: {}", quoted(&body)));
            let finding = Finding::new(
                catalog::MTA_STS_POLICY_INVALID,
                format!("The MTA-STS policy at {url} is malformed, so senders ignore it: {error}."),
            )
            .with_fix(format!(
                "{} Then change the id in the TXT record at {record_name} so senders fetch \
                 the corrected policy.",
                error.advice()
            ))
            .with_evidence(evidence);
            (report, vec![finding])
        }
        Ok(policy) => {
            report.status = PolicyStatus::Valid;
            let mut findings = Vec::new();
            if policy.mode == Mode::Testing {
                findings.push(
                    Finding::new(
                        catalog::MTA_STS_TESTING_MODE,
                        format!(
                            "The MTA-STS policy at {url} has mode: testing: senders report TLS \
                             failures but still deliver without verified TLS."
                        ),
                    )
                    .with_fix(format!(
                        "When TLS reports show no failures, change `mode: testing` to \
                         `mode: enforce` in {url} and change the id in the TXT record at \
                         {record_name}."
                    ))
                    .with_evidence([format!("GET {url}"), "mode: testing".to_string()]),
                );
            }
            report.parsed = Some(policy);
            (report, findings)
        }
    }
}

fn unreachable_fix(error: &FetchError, host: &str, url: &str) -> Option<String> {
    Some(match error {
        FetchError::PrivateAddress { addresses, .. } => format!(
            "Senders on the internet cannot reach {host} at {}: publish its public address \
             in DNS. To audit a private setup on purpose, run with --allow-private-fetch.",
            list(addresses)
        ),
        FetchError::NoAddress { .. } => format!(
            "Publish an A (and AAAA) record for {host} pointing at the web server that \
             serves {url}."
        ),
        FetchError::Tls(_) => format!(
            "Serve {host} with a certificate from a publicly trusted CA that names {host} \
             and is not expired, and send the intermediate certificates with it."
        ),
        FetchError::Redirect { location, .. } => format!(
            "Serve the policy at {url} itself with status 200 instead of redirecting{}.",
            location
                .as_deref()
                .map(|l| format!(" to {l}"))
                .unwrap_or_default()
        ),
        FetchError::Status(_) => format!(
            "Make {url} answer with status 200 and the policy file (check the path: \
             /.well-known/mta-sts.txt)."
        ),
        FetchError::ContentType(_) => {
            format!("Serve {url} with the header `Content-Type: text/plain`.")
        }
        FetchError::Connect(_) | FetchError::Timeout(_) => format!(
            "Make sure a web server answers HTTPS for {host} at the addresses its A and AAAA \
             records give, reachable from the internet, and serves {url} promptly."
        ),
        FetchError::TooLarge { .. } => {
            format!("Serve only the policy at {url}: a few lines of version, mode, mx and max_age.")
        }
        _ => return None,
    })
}

fn quoted(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut shown: String = text.chars().take(EVIDENCE_TEXT_LIMIT).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("\"{}\"", shown.escape_debug())
}

// ---------------------------------------------------------------------------
// Fetching
// ---------------------------------------------------------------------------

/// Looks up the record and, when it is valid, fetches and reads the policy.
pub async fn check(cx: &AuditContext<'_>) -> Checked<MtaStsSection> {
    let name = cx.domain.child(RECORD_LABEL);
    let lookup = lookup_txt(cx.resolver, &name).await;
    let (mut section, mut findings) = evaluate_record(&name, lookup);
    if section.status == RecordStatus::Valid {
        let fetched = fetch_policy(cx).await;
        let (report, more) = evaluate_policy(fetched, &name);
        section.policy = Some(report);
        findings.extend(more);
    }
    Checked { section, findings }
}

async fn lookup_txt(resolver: &Resolver, name: &str) -> Result<TxtAnswer, DnsError> {
    let mut fqdn = Name::from_ascii(name).map_err(|e| DnsError::Malformed(e.to_string()))?;
    fqdn.set_fqdn(true);
    let answer = resolver.lookup(&fqdn, RecordType::TXT).await?;
    let texts = answer
        .txt()
        .into_iter()
        .map(|strings| String::from_utf8_lossy(&strings.concat()).into_owned())
        .collect();
    Ok(TxtAnswer {
        nxdomain: answer.rcode == Rcode::NXDomain,
        texts,
    })
}

/// The policy URL for a host; the port appears only when it is not 443.
pub fn policy_url(host: &str, port: u16) -> String {
    if port == 443 {
        format!("https://{host}{POLICY_PATH}")
    } else {
        format!("https://{host}:{port}{POLICY_PATH}")
    }
}

/// What the address guard saw, for the report.
#[derive(Debug, Default)]
struct Resolution {
    finished: bool,
    addresses: Vec<IpAddr>,
    refused: Vec<IpAddr>,
    failure: Option<FetchError>,
}

/// reqwest's name resolution, routed through the audit's resolver and
/// refusing private addresses: the only way the fetch learns where to
/// connect, so no connection can bypass the guard.
struct GuardedResolver {
    resolver: Resolver,
    allow_private: bool,
    seen: Arc<Mutex<Resolution>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let allow_private = self.allow_private;
        let seen = Arc::clone(&self.seen);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let outcome = resolve_host(&resolver, &host, allow_private).await;
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.finished = true;
            seen.addresses = outcome.addresses;
            seen.refused = outcome.refused;
            match outcome.usable {
                Ok(usable) => {
                    // Port 0: reqwest puts in the URL's port.
                    let addrs: reqwest::dns::Addrs =
                        Box::new(usable.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                Err(e) => {
                    seen.failure = Some(e.clone());
                    Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

struct HostAddresses {
    addresses: Vec<IpAddr>,
    refused: Vec<IpAddr>,
    usable: Result<Vec<IpAddr>, FetchError>,
}

async fn resolve_host(resolver: &Resolver, host: &str, allow_private: bool) -> HostAddresses {
    let fail = |e: FetchError| HostAddresses {
        addresses: Vec::new(),
        refused: Vec::new(),
        usable: Err(e),
    };
    let mut name = match Name::from_ascii(host) {
        Ok(name) => name,
        Err(e) => {
            return fail(FetchError::Dns {
                host: host.to_string(),
                error: e.to_string(),
            });
        }
    };
    name.set_fqdn(true);
    let (a, aaaa) = tokio::join!(
        resolver.lookup(&name, RecordType::A),
        resolver.lookup(&name, RecordType::AAAA)
    );
    let mut addresses: Vec<IpAddr> = Vec::new();
    let mut error = None;
    let mut nxdomain = false;
    for outcome in [&a, &aaaa] {
        match outcome {
            Ok(answer) => nxdomain |= answer.rcode == Rcode::NXDomain,
            Err(e) => error = error.or(Some(e.clone())),
        }
    }
    if let Ok(answer) = &a {
        addresses.extend(answer.ipv4().into_iter().map(IpAddr::V4));
    }
    if let Ok(answer) = &aaaa {
        addresses.extend(answer.ipv6().into_iter().map(IpAddr::V6));
    }
    if addresses.is_empty() {
        // With one family failed and the other empty, the host may still
        // have an address: that is unknown, not "no address".
        return fail(match error {
            Some(e) => FetchError::Dns {
                host: host.to_string(),
                error: e.to_string(),
            },
            None => FetchError::NoAddress {
                host: host.to_string(),
                nxdomain,
            },
        });
    }
    let (usable, refused) = screen_addresses(&addresses, allow_private);
    let usable = if usable.is_empty() {
        Err(FetchError::PrivateAddress {
            host: host.to_string(),
            addresses: refused.clone(),
        })
    } else {
        Ok(usable)
    };
    HostAddresses {
        addresses,
        refused,
        usable,
    }
}

/// Why the extra trust anchors given by the caller cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the extra CA certificates (--ca-file) cannot be used: {0}")]
pub struct RootsError(String);

/// Reads PEM `CERTIFICATE` blocks; empty input gives no certificate. The
/// CLI calls this to check `--ca-file` before an audit starts.
pub fn parse_extra_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, RootsError> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RootsError(e.to_string()))?;
    if certs.is_empty() {
        return Err(RootsError("no PEM CERTIFICATE block found".into()));
    }
    Ok(certs)
}

/// The TLS client settings: Mozilla's roots plus the caller's, the
/// aws-lc-rs provider already used by mail-auth and hickory.
fn tls_config(extra_roots_pem: &[u8]) -> Result<rustls::ClientConfig, RootsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in parse_extra_roots(extra_roots_pem)? {
        roots.add(cert).map_err(|e| RootsError(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RootsError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// One client per audit: its resolver is this audit's.
fn build_client(
    options: &AuditOptions,
    resolver: GuardedResolver,
) -> Result<reqwest::Client, String> {
    let tls = tls_config(&options.extra_roots_pem).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(resolver)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .no_proxy() // a proxy would connect where the guard cannot see
        .https_only(true)
        .referer(false)
        .timeout(options.fetch_timeout)
        .connect_timeout(options.fetch_timeout)
        .user_agent(concat!(
            "mailvet/",
            env!("CARGO_PKG_VERSION"),
            " (MTA-STS check)"
        ))
        .build()
        .map_err(|e| error_chain(&e))
}

/// The HTTP facts gathered as the response arrives.
#[derive(Debug, Default)]
struct HttpFacts {
    status: Option<u16>,
    content_type: Option<String>,
    location: Option<String>,
}

async fn fetch_policy(cx: &AuditContext<'_>) -> Fetched {
    let host = format!("{POLICY_HOST_LABEL}.{}", cx.domain.ascii);
    let url = policy_url(&host, cx.options.https_port);
    let seen = Arc::new(Mutex::new(Resolution::default()));
    let guard = GuardedResolver {
        resolver: cx.resolver.clone(),
        allow_private: cx.options.allow_private_fetch,
        seen: Arc::clone(&seen),
    };
    let mut facts = HttpFacts::default();
    let outcome = match build_client(cx.options, guard) {
        Err(e) => Err(FetchError::Setup(e)),
        Ok(client) => {
            let limit = cx.options.fetch_timeout;
            tokio::time::timeout(limit, get_policy(&client, &url, limit, &mut facts))
                .await
                .unwrap_or(Err(FetchError::Timeout(limit)))
        }
    };
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    let result = match (outcome, seen.failure) {
        (Ok(body), _) => Ok(body),
        // The guard knows exactly why no connection was made.
        (Err(_), Some(failure)) => Err(failure),
        // Out of time before the host's address was known: a DNS matter.
        (Err(FetchError::Timeout(limit)), None) if !seen.finished => Err(FetchError::Dns {
            host: host.clone(),
            error: format!(
                "no answer within the {} ms fetch timeout",
                limit.as_millis()
            ),
        }),
        (Err(e), None) => Err(e),
    };
    Fetched {
        url,
        host,
        addresses: seen.addresses,
        refused: seen.refused,
        http_status: facts.status,
        content_type: facts.content_type,
        location: facts.location,
        result,
    }
}

async fn get_policy(
    client: &reqwest::Client,
    url: &str,
    limit: Duration,
    facts: &mut HttpFacts,
) -> Result<Vec<u8>, FetchError> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| classify(&e, limit))?;
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    facts.status = Some(response.status().as_u16());
    facts.content_type = header(reqwest::header::CONTENT_TYPE);
    facts.location = header(reqwest::header::LOCATION);
    judge_response(
        response.status().as_u16(),
        facts.location.as_deref(),
        facts.content_type.as_deref(),
    )?;
    if let Some(declared) = response.content_length()
        && declared > MAX_POLICY_BYTES as u64
    {
        return Err(FetchError::TooLarge {
            declared: Some(declared),
            read: 0,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, limit))? {
        if body.len() + chunk.len() > MAX_POLICY_BYTES {
            return Err(FetchError::TooLarge {
                declared: None,
                read: body.len() + chunk.len(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Names the layer that failed: the guard, TLS, the connection, or HTTP.
fn classify(error: &reqwest::Error, limit: Duration) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<FetchError>() {
            return guard.clone();
        }
        if let Some(tls) = tls_cause(e) {
            return FetchError::Tls(tls.to_string());
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::Timeout(limit);
    }
    if error.is_connect() {
        return FetchError::Connect(error_chain(error));
    }
    FetchError::Http(error_chain(error))
}

/// The rustls error behind an error, which reaches reqwest wrapped in one
/// or more `io::Error`s (whose `source` skips what they wrap).
fn tls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    tls_cause(inner)
}

/// The causes below reqwest's top-level message (which repeats the URL).
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        // hyper-util's "client error (Connect)" only names its error kind.
        if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // --- the TXT record (§3.1) ---------------------------------------------

    #[test]
    fn parses_valid_records() {
        let r = parse_record("v=STSv1; id=20160831085700Z").unwrap();
        assert_eq!(r.id, "20160831085700Z");
        assert!(r.extensions.is_empty());
        for ok in [
            "v=STSv1;id=1",
            "v=STSv1; id=1;",
            "v=STSv1 ;\tid=1 ; ",
            "v=STSv1; id=abcdefghijklmnopqrstuvwxyz012345",
        ] {
            assert!(parse_record(ok).is_ok(), "{ok:?} refused");
        }
        let ext = parse_record("v=STSv1; id=7; x-note=hello").unwrap();
        assert_eq!(
            ext.extensions,
            vec![Extension {
                name: "x-note".into(),
                value: "hello".into()
            }]
        );
        // Of repeated ids the first counts.
        assert_eq!(parse_record("v=STSv1; id=a1; id=b2").unwrap().id, "a1");
    }

    #[test]
    fn refuses_each_malformed_record() {
        use RecordError::*;
        let cases: &[(&str, RecordError)] = &[
            ("id=1; v=STSv1", BadVersion("id=1".into())),
            ("V=STSv1; id=1", BadVersion("V=STSv1".into())),
            ("v=STSv10; id=1", BadVersion("v=STSv10".into())),
            (" v=STSv1; id=1", BadVersion("v=STSv1".into())),
            ("v=STSv1", MissingId(String::new())),
            ("v=STSv1;", MissingId(String::new())),
            (
                "v=STSv1; ID=1",
                MissingId(" (`ID` is not `id`: field names are case-sensitive)".into()),
            ),
            ("v=STSv1; id=", BadId(String::new())),
            ("v=STSv1; id=2024-01-01", BadId("2024-01-01".into())),
            (
                "v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456",
                BadId("abcdefghijklmnopqrstuvwxyz0123456".into()),
            ),
            ("v=STSv1; id=1 2", BadId("1 2".into())),
            ("v=STSv1 id=1", BadVersion("v=STSv1 id=1".into())),
            ("v=STSv1; id = 1", BadField("id = 1".into())),
            ("v=STSv1; id=1; junk", BadField("junk".into())),
            ("v=STSv1; id=1; x=", BadField("x=".into())),
            ("v=STSv1; id=1; _x=1", BadField("_x=1".into())),
            ("v=STSv1; id=1; x=a=b", BadField("x=a=b".into())),
            ("v=STSv1;; id=1", EmptyField),
        ];
        for (text, want) in cases {
            assert_eq!(parse_record(text).as_ref(), Err(want), "{text:?}");
        }
    }

    #[test]
    fn recognizes_records_meant_as_mta_sts() {
        assert!(is_sts_record("v=STSv1; id=1"));
        assert!(is_sts_record("v=STSv1x"));
        assert!(is_sts_record("id=1; v=STSv1"));
        assert!(is_sts_record("V = stsv1; id=1"));
        assert!(!is_sts_record("google-site-verification=abc"));
        assert!(!is_sts_record("v=spf1 -all"));
        assert!(!is_sts_record("v=TLSRPTv1; rua=mailto:a@example.com"));
    }

    fn answer(texts: &[&str]) -> Result<TxtAnswer, DnsError> {
        Ok(TxtAnswer {
            nxdomain: false,
            texts: texts.iter().map(|t| t.to_string()).collect(),
        })
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    const NAME: &str = "_mta-sts.example.com";

    #[test]
    fn one_valid_record_is_valid_without_findings() {
        let (section, findings) =
            evaluate_record(NAME, answer(&["some other text", "v=STSv1; id=42"]));
        assert_eq!(section.status, RecordStatus::Valid);
        assert_eq!(section.records, vec!["v=STSv1; id=42"]);
        assert_eq!(section.record.unwrap().id, "42");
        assert!(findings.is_empty());
    }

    #[test]
    fn no_record_is_missing() {
        for lookup in [
            answer(&[]),
            answer(&["v=spf1 -all"]),
            Ok(TxtAnswer {
                nxdomain: true,
                texts: vec![],
            }),
        ] {
            let (section, findings) = evaluate_record(NAME, lookup);
            assert_eq!(section.status, RecordStatus::Missing);
            assert_eq!(codes(&findings), vec!["mta_sts.missing"]);
            assert!(findings[0].detail.contains(NAME));
            assert!(findings[0].fix.contains(URL), "{}", findings[0].fix);
        }
    }

    #[test]
    fn a_failed_lookup_is_unknown_and_silent() {
        for error in [DnsError::Timeout, DnsError::ServFail] {
            let (section, findings) = evaluate_record(NAME, Err(error));
            assert_eq!(section.status, RecordStatus::Unknown);
            assert!(section.error.is_some());
            assert!(findings.is_empty());
        }
    }

    #[test]
    fn two_records_are_invalid() {
        let (section, findings) =
            evaluate_record(NAME, answer(&["v=STSv1; id=1", "v=STSv1; id=2"]));
        assert_eq!(section.status, RecordStatus::Invalid);
        assert_eq!(codes(&findings), vec!["mta_sts.record_invalid"]);
        assert!(findings[0].detail.contains("2 MTA-STS records"));
        assert!(findings[0].fix.contains("keep: v=STSv1; id=1"));
    }

    #[test]
    fn a_malformed_record_is_invalid_with_a_repair() {
        let (section, findings) = evaluate_record(NAME, answer(&["v=STSv1; id=2024-06-01"]));
        assert_eq!(section.status, RecordStatus::Invalid);
        assert_eq!(codes(&findings), vec!["mta_sts.record_invalid"]);
        assert!(findings[0].detail.contains("`id=2024-06-01`"));
        assert!(findings[0].fix.contains("v=STSv1; id=20240601"));
        let (_, not_first) = evaluate_record(NAME, answer(&["id=5; v=STSv1"]));
        assert_eq!(codes(&not_first), vec!["mta_sts.record_invalid"]);
        assert!(
            not_first[0]
                .detail
                .contains("must begin with the field `v=STSv1`")
        );
    }

    // --- the policy (§3.2) ---------------------------------------------------

    const GOOD: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n";

    #[test]
    fn parses_a_valid_policy_with_crlf_or_lf() {
        let p = parse_policy(GOOD.as_bytes()).unwrap();
        assert_eq!(p.version, "STSv1");
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604800);
        assert_eq!(p.mx, vec!["mail.example.com", "*.example.net"]);
        let lf = GOOD.replace("\r\n", "\n");
        assert_eq!(parse_policy(lf.as_bytes()).unwrap(), p);
        // No final line break, fields in another order, no space after ':'.
        let other = "mode:enforce\nmax_age:0\nmx:mail.example.com\nversion:STSv1";
        let q = parse_policy(other.as_bytes()).unwrap();
        assert_eq!((q.mode, q.max_age), (Mode::Enforce, 0));
    }

    #[test]
    fn ignores_unknown_fields_and_repeats() {
        let text = "version: STSv1\nmode: testing\nmode: bogus\nmx: a.example.com\n\
                    max_age: 86400\nmax_age: 1\nx-comment: hé, hello = there; ok\n\n";
        let p = parse_policy(text.as_bytes()).unwrap();
        assert_eq!((p.mode, p.max_age), (Mode::Testing, 86400));
        assert_eq!(p.extensions.len(), 1);
        assert_eq!(p.extensions[0].value, "hé, hello = there; ok");
    }

    #[test]
    fn mode_none_needs_no_mx() {
        let p = parse_policy(b"version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert_eq!(p.mode, Mode::None);
        assert!(p.mx.is_empty());
        assert_eq!(
            parse_policy(b"version: STSv1\nmode: enforce\nmax_age: 86400\n"),
            Err(PolicyError::NoMx)
        );
        assert_eq!(
            parse_policy(b"version: STSv1\nmode: testing\nmax_age: 86400\n"),
            Err(PolicyError::NoMx)
        );
    }

    #[test]
    fn refuses_each_malformed_policy() {
        let with = |line: &str, replace: &str| GOOD.replace(line, replace);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"version: STSv1\n\xff\n".to_vec(), "not UTF-8"),
            (with("mode: enforce", "mode enforce").into_bytes(), "line 2"),
            (
                with("mode: enforce", "mode : enforce").into_bytes(),
                "no space",
            ),
            (format!("\u{feff}{GOOD}").into_bytes(), "byte-order mark"),
            (with("STSv1", "STSv2").into_bytes(), "`version: STSv2`"),
            (with("STSv1", "stsv1").into_bytes(), "`version: stsv1`"),
            (with("enforce", "Enforce").into_bytes(), "`mode: Enforce`"),
            (with("enforce", "report").into_bytes(), "`mode: report`"),
            (
                with("604800", "31557601").into_bytes(),
                "`max_age: 31557601`",
            ),
            (with("604800", "-1").into_bytes(), "`max_age: -1`"),
            (with("604800", "1w").into_bytes(), "`max_age: 1w`"),
            (
                with("604800", "00000000001").into_bytes(),
                "`max_age: 00000000001`",
            ),
            (with("604800", "").into_bytes(), "`max_age: `"),
            (
                with("mail.example.com", "mail.example.com.").into_bytes(),
                "`mx: mail.example.com.`",
            ),
            (
                with("*.example.net", "*example.net").into_bytes(),
                "`mx: *example.net`",
            ),
            (
                with("*.example.net", "mx.*.example.net").into_bytes(),
                "`mx: mx.*.example.net`",
            ),
            (
                with("*.example.net", "*.*.example.net").into_bytes(),
                "`mx: *.*.example.net`",
            ),
            (
                with("*.example.net", "-bad.example.net").into_bytes(),
                "`mx: -bad.example.net`",
            ),
            (with("*.example.net", "").into_bytes(), "`mx: `"),
            (
                with("*.example.net", "b\u{fc}cher.example").into_bytes(),
                "b\u{fc}cher",
            ),
            (
                with("version: STSv1", "").into_bytes(),
                "`version` field is missing",
            ),
            (
                with("version: STSv1", "Version: STSv1").into_bytes(),
                "`Version` is not `version`",
            ),
            (
                with("mode: enforce", "").into_bytes(),
                "`mode` field is missing",
            ),
            (
                with("max_age: 604800", "").into_bytes(),
                "`max_age` field is missing",
            ),
            (with("max_age: 604800", "x-empty:").into_bytes(), "empty"),
        ];
        for (body, want) in cases {
            let error = parse_policy(&body).expect_err(&String::from_utf8_lossy(&body));
            assert!(
                error.to_string().contains(want),
                "{:?}: {error} lacks {want:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn mx_patterns() {
        for ok in [
            "mail.example.com",
            "*.example.net",
            "MX1.Example.COM",
            "localhost",
            "a-b.c0",
        ] {
            assert!(is_mx_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "*.",
            "*",
            ".example.com",
            "a..b",
            "a_b.example",
            "a-.example",
            "*.a.*",
        ] {
            assert!(!is_mx_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn wildcards_match_exactly_one_leftmost_label() {
        assert!(mx_matches("mail.example.com", "mail.example.com"));
        assert!(mx_matches("mail.example.com", "MAIL.Example.com."));
        assert!(!mx_matches("mail.example.com", "mail2.example.com"));
        assert!(mx_matches("*.example.com", "mx1.example.com"));
        assert!(mx_matches("*.Example.com", "mx1.example.COM."));
        assert!(!mx_matches("*.example.com", "example.com"));
        assert!(!mx_matches("*.example.com", "a.b.example.com"));
        assert!(!mx_matches("*.example.com", ".example.com"));
        assert!(!mx_matches("*.example.com", "mx1.example.net"));
    }

    // --- coverage (§4.1) ------------------------------------------------------

    fn section_with(policy: &str) -> MtaStsSection {
        let (mut section, _) = evaluate_record(NAME, answer(&["v=STSv1; id=1"]));
        let (report, _) = evaluate_policy(fetched_ok(policy), NAME);
        section.policy = Some(report);
        section
    }

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn enforce_covering_every_host_gives_nothing() {
        let section = section_with(GOOD);
        let mx = hosts(&["mail.example.com.", "mx7.example.net", "."]);
        assert!(coverage(&section, &mx).is_empty());
    }

    #[test]
    fn enforce_with_an_uncovered_host_gives_one_finding_per_host() {
        let section = section_with(GOOD);
        let mx = hosts(&[
            "mail.example.com",
            "backup.example.org.",
            "a.b.example.net",
            "BACKUP.example.org",
        ]);
        let findings = coverage(&section, &mx);
        assert_eq!(codes(&findings), vec!["mta_sts.mx_not_covered"; 2]);
        assert!(findings[0].detail.contains("backup.example.org"));
        assert!(findings[0].fix.contains("mx: backup.example.org"));
        assert!(findings[0].fix.contains("mx: *.example.org"));
        assert!(findings[1].detail.contains("a.b.example.net"));
        assert!(
            findings[1]
                .evidence
                .contains(&"mx: *.example.net".to_string())
        );
    }

    #[test]
    fn only_an_enforcing_valid_policy_is_checked() {
        let mx = hosts(&["elsewhere.example.org"]);
        let testing = section_with(&GOOD.replace("enforce", "testing"));
        assert!(coverage(&testing, &mx).is_empty());
        let none = section_with("version: STSv1\nmode: none\nmax_age: 1\n");
        assert!(coverage(&none, &mx).is_empty());
        let invalid = section_with("version: STSv1\nmode: enforce\n");
        assert!(coverage(&invalid, &mx).is_empty());
        let (missing, _) = evaluate_record(NAME, answer(&[]));
        assert!(coverage(&missing, &mx).is_empty());
    }

    // --- the fetch's verdicts (§3.3) -----------------------------------------

    const URL: &str = "https://mta-sts.example.com/.well-known/mta-sts.txt";

    fn fetched(result: Result<Vec<u8>, FetchError>) -> Fetched {
        Fetched {
            url: URL.into(),
            host: "mta-sts.example.com".into(),
            addresses: vec!["192.0.2.10".parse().unwrap()],
            refused: vec![],
            http_status: None,
            content_type: None,
            location: None,
            result,
        }
    }

    fn fetched_ok(policy: &str) -> Fetched {
        Fetched {
            http_status: Some(200),
            content_type: Some("text/plain".into()),
            ..fetched(Ok(policy.as_bytes().to_vec()))
        }
    }

    #[test]
    fn judges_status_and_media_type() {
        assert_eq!(judge_response(200, None, Some("text/plain")), Ok(()));
        assert_eq!(
            judge_response(200, None, Some("Text/Plain; charset=utf-8")),
            Ok(())
        );
        assert_eq!(
            judge_response(302, Some("https://elsewhere.example/"), Some("text/plain")),
            Err(FetchError::Redirect {
                status: 302,
                location: Some("https://elsewhere.example/".into())
            })
        );
        assert_eq!(
            judge_response(304, None, None),
            Err(FetchError::Redirect {
                status: 304,
                location: None
            })
        );
        assert_eq!(
            judge_response(404, None, Some("text/plain")),
            Err(FetchError::Status(404))
        );
        assert_eq!(
            judge_response(204, None, Some("text/plain")),
            Err(FetchError::Status(204))
        );
        assert_eq!(
            judge_response(200, None, Some("text/html")),
            Err(FetchError::ContentType(Some("text/html".into())))
        );
        assert_eq!(
            judge_response(200, None, Some("text/plainx")),
            Err(FetchError::ContentType(Some("text/plainx".into())))
        );
        assert_eq!(
            judge_response(200, None, None),
            Err(FetchError::ContentType(None))
        );
    }

    #[test]
    fn screens_addresses_that_are_not_public_unless_allowed() {
        let ips: Vec<IpAddr> = [
            "192.0.2.1",
            "127.0.0.1",
            "10.1.2.3",
            "2001:db8::1",
            "::1",
            "8.8.8.8",
            "2606:4700::1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let (usable, refused) = screen_addresses(&ips, false);
        assert_eq!(usable, vec![ips[5], ips[6]]);
        // Documentation ranges are no server's address: refused too.
        assert_eq!(refused, vec![ips[0], ips[1], ips[2], ips[3], ips[4]]);
        let (usable, refused) = screen_addresses(&ips, true);
        assert_eq!((usable.len(), refused.len()), (7, 0));
    }

    #[test]
    fn a_valid_enforcing_policy_gives_nothing() {
        let (report, findings) = evaluate_policy(fetched_ok(GOOD), NAME);
        assert_eq!(report.status, PolicyStatus::Valid);
        assert_eq!(report.parsed.unwrap().mode, Mode::Enforce);
        assert_eq!(report.text.as_deref(), Some(GOOD));
        assert!(findings.is_empty());
    }

    #[test]
    fn testing_mode_is_reported() {
        let (report, findings) =
            evaluate_policy(fetched_ok(&GOOD.replace("enforce", "testing")), NAME);
        assert_eq!(report.status, PolicyStatus::Valid);
        assert_eq!(codes(&findings), vec!["mta_sts.testing_mode"]);
    }

    #[test]
    fn a_malformed_policy_is_invalid_with_advice() {
        let (report, findings) = evaluate_policy(
            fetched_ok("version: STSv1\nmode: enforce\nmax_age: 86400\n"),
            NAME,
        );
        assert_eq!(report.status, PolicyStatus::Invalid);
        assert_eq!(codes(&findings), vec!["mta_sts.policy_invalid"]);
        assert!(findings[0].fix.starts_with("Add one `mx:` line"));
        assert!(findings[0].fix.contains(NAME));
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.starts_with("policy text:"))
        );
    }

    #[test]
    fn every_fetch_failure_is_unreachable_with_its_reason() {
        let failures = [
            (
                FetchError::PrivateAddress {
                    host: "mta-sts.example.com".into(),
                    addresses: vec!["127.0.0.1".parse().unwrap()],
                },
                "--allow-private-fetch",
            ),
            (
                FetchError::NoAddress {
                    host: "mta-sts.example.com".into(),
                    nxdomain: true,
                },
                "no A or AAAA record (the name does not exist)",
            ),
            (
                FetchError::Tls("invalid peer certificate: UnknownIssuer".into()),
                "UnknownIssuer",
            ),
            (
                FetchError::Connect("Connection refused".into()),
                "Connection refused",
            ),
            (FetchError::Timeout(Duration::from_millis(1500)), "1500 ms"),
            (FetchError::Status(404), "HTTP status 404"),
            (
                FetchError::Redirect {
                    status: 301,
                    location: Some("https://www.example.com/".into()),
                },
                "301 redirecting to https://www.example.com/",
            ),
            (
                FetchError::ContentType(Some("text/html".into())),
                "`text/html`",
            ),
            (FetchError::ContentType(None), "Content-Type is missing"),
            (
                FetchError::TooLarge {
                    declared: Some(70000),
                    read: 0,
                },
                "Content-Length: 70000",
            ),
            (
                FetchError::TooLarge {
                    declared: None,
                    read: 65600,
                },
                "stopped reading after 65600 bytes",
            ),
        ];
        for (error, want) in failures {
            let (report, findings) = evaluate_policy(fetched(Err(error.clone())), NAME);
            assert_eq!(report.status, PolicyStatus::Unreachable, "{error}");
            assert_eq!(codes(&findings), vec!["mta_sts.policy_unreachable"]);
            assert!(
                findings[0].detail.contains(want),
                "{} lacks {want:?}",
                findings[0].detail
            );
            assert!(findings[0].detail.contains(URL));
        }
    }

    #[test]
    fn a_failed_host_lookup_or_setup_is_unknown_and_silent() {
        for error in [
            FetchError::Dns {
                host: "mta-sts.example.com".into(),
                error: "no answer before the query timeout".into(),
            },
            FetchError::Setup("bad CA file".into()),
        ] {
            let (report, findings) = evaluate_policy(fetched(Err(error)), NAME);
            assert_eq!(report.status, PolicyStatus::Unknown);
            assert!(report.error.is_some());
            assert!(findings.is_empty());
        }
    }

    #[test]
    fn policy_urls() {
        assert_eq!(policy_url("mta-sts.example.com", 443), URL);
        assert_eq!(
            policy_url("mta-sts.example.com", 8443),
            "https://mta-sts.example.com:8443/.well-known/mta-sts.txt"
        );
    }

    #[test]
    fn extra_roots() {
        assert_eq!(parse_extra_roots(b"").unwrap().len(), 0);
        assert_eq!(parse_extra_roots(b" \n").unwrap().len(), 0);
        assert!(parse_extra_roots(b"not a certificate").is_err());
        assert!(tls_config(b"").is_ok());
        assert!(tls_config(b"garbage").is_err());
    }
}
