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

use crate::domain::AuditContext;
use crate::domain::protocol::{Audited, Protocol, status_word};
use crate::findings::Checked;
use serde::Serialize;
use std::net::IpAddr;

mod fetch;
mod section;
#[cfg(test)]
mod tests;

use crate::records::mta_sts::{Policy, StsRecord};
pub use fetch::policy_url;
pub use section::{
    FetchError, Fetched, TxtAnswer, coverage, evaluate_policy, evaluate_record, judge_response,
    screen_addresses,
};

/// The label below the domain where the TXT record lives (§3.1).
pub const RECORD_LABEL: &str = "_mta-sts";
/// The label of the host that serves the policy (§3.3).
pub const POLICY_HOST_LABEL: &str = "mta-sts";
/// Where on that host the policy is (§3.2).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";
/// The largest policy body read. A real policy is a few hundred bytes; the
/// cap keeps a hostile or broken server from feeding the audit forever.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// How much of a policy text a finding quotes as evidence.
pub(crate) const EVIDENCE_TEXT_LIMIT: usize = 2048;

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

/// MTA-STS: the TXT record at `_mta-sts.` below the domain.
pub static PROTOCOL: Protocol = Protocol::at("mta_sts", "MTA-STS", "_mta-sts.", "TXT");

impl Audited for MtaStsSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
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

    fn summary(&self) -> String {
        match &self.policy {
            Some(policy) if policy.status == PolicyStatus::NotFetched => format!(
                "{} record; its policy is not fetched (--offline)",
                status_word(&self.status)
            ),
            _ => status_word(&self.status),
        }
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
    /// A DNS lookup it needed failed: the check is undecided.
    Unknown,
    /// Not fetched by choice (`--offline`): the report is judged on the
    /// rest, and says so.
    NotFetched,
}

/// Looks up the record and, when it is valid, fetches and reads the policy.
pub async fn check(cx: &AuditContext<'_>) -> Checked<MtaStsSection> {
    let name = cx.domain.child(RECORD_LABEL);
    let lookup = fetch::lookup_txt(cx.resolver, &name).await;
    let (mut section, mut findings) = evaluate_record(&name, lookup);
    if section.status == RecordStatus::Valid {
        let fetched = fetch::fetch_policy(cx).await;
        let (report, more) = evaluate_policy(fetched, &name);
        section.policy = Some(report);
        findings.extend(more);
    }
    Checked { section, findings }
}
