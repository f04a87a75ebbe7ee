//! Record assembly for the aggregate report parser: how each text value is
//! read into the header or the record being built (RFC 7489 Appendix C,
//! RFC 9990 §3) — which values are required, which a garbled one leaves
//! absent and which refuse the record — and when a header or a record is
//! complete.

use super::super::MAX_COUNT;
use super::elements::Field;
use super::state::State;
use super::{MAX_REPEATED, placeholder_header};
use crate::reports::aggregate::{
    AlignedResult, DiscoveryMethod, Disposition, DkimAuth, Identifiers, OverrideKind,
    OverrideReason, PolicyEvaluated, PolicyPublished, Record, ReportHeader, ReportMetadata,
    SpfAuth, SpfScope, alignment, auth_result, domain_key, policy,
};
use crate::untrusted::quoted;
use std::net::IpAddr;

/// The header as read so far.
pub(super) struct HeaderParts {
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
    pub(super) seen_metadata: bool,
    pub(super) seen_policy: bool,
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
pub(super) struct RecordContext {
    pub(super) index: usize,
    pub(super) line: u64,
}

impl RecordContext {
    pub(super) fn say(self, message: String) -> String {
        format!("record {} (from line {}): {message}", self.index, self.line)
    }
}

/// The record being read.
#[derive(Default)]
pub(super) struct RecordParts {
    source_ip: Option<IpAddr>,
    count: Option<u64>,
    disposition: Option<Disposition>,
    dkim_aligned: Option<AlignedResult>,
    spf_aligned: Option<AlignedResult>,
    pub(super) reasons: Vec<OverrideReason>,
    header_from: Option<String>,
    envelope_from: Option<String>,
    envelope_to: Option<String>,
    pub(super) dkim: Vec<DkimAuth>,
    pub(super) spf: Vec<SpfAuth>,
}

impl State {
    pub(super) fn assign(&mut self, field: Field, value: &str) -> Result<(), String> {
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
                let count: u64 = value.parse().map_err(|_| {
                    at.say(format!(
                        "<count> {} is not a number of messages",
                        quoted(value)
                    ))
                })?;
                if count > MAX_COUNT {
                    return Err(at.say(format!(
                        "<count> {count} is more than the {MAX_COUNT} messages one row may count"
                    )));
                }
                record.count = Some(count);
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

    /// The header, once the first `<record>` begins or, in a report
    /// without records, at `</feedback>` (`at_record` false).
    pub(super) fn finish_header(&mut self, at_record: bool) -> Result<ReportHeader, String> {
        let parts = std::mem::take(&mut self.parts);
        let before = if at_record {
            "before the records"
        } else {
            "in the report"
        };
        if !parts.seen_metadata {
            return Err(format!("no <report_metadata> {before}"));
        }
        if !parts.seen_policy {
            return Err(format!("no <policy_published> {before}"));
        }
        let required = |value: Option<String>, name: &str| {
            value.ok_or_else(|| format!("<report_metadata> has no <{name}>"))
        };
        let org_name = required(parts.org_name, "org_name")?;
        let report_id = required(parts.report_id, "report_id")?;
        let (Some(begin), Some(end)) = (parts.begin, parts.end) else {
            return Err("<date_range> needs <begin> and <end>".into());
        };
        if begin > end {
            return Err(format!(
                "<date_range> <begin> {begin} is after its <end> {end}"
            ));
        }
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

    pub(super) fn finish_record(&mut self) -> Result<Record, String> {
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

fn policy_word(value: &str) -> Option<crate::records::dmarc::Policy> {
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
