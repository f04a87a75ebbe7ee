//! The DMARC section of the audit report: how discovery ended, the walk
//! it took, the policy that applies and where reports go.

use crate::domain::protocol::{Audited, Protocol, status_word};
use crate::records::dmarc::{DmarcRecord, Policy, StepOutcome, WalkStep};
use serde::Serialize;

/// How DMARC discovery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DmarcStatus {
    /// Exactly one valid record applies.
    Ok,
    Missing,
    MultipleRecords,
    Syntax,
    DnsError,
}

/// Whether a report domain accepts this domain's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationStatus {
    /// Same organizational domain: no authorization needed.
    SameOrganization,
    Authorized,
    Unauthorized,
    /// The query failed; receivers would retry later.
    Unknown,
}

/// One report domain named in `rua` or `ruf`.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDestination {
    pub domain: String,
    /// The URIs that point there, each prefixed with its tag (`rua=…`).
    pub uris: Vec<String>,
    pub status: AuthorizationStatus,
    /// The name that must hold `v=DMARC1`, for an outside domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// The DMARC section of the audit report.
#[derive(Debug, Clone, Serialize)]
pub struct DmarcSection {
    /// `ok`, `missing`, `multiple_records`, `syntax`, `dns_error`.
    pub status: DmarcStatus,
    /// The record that applies (or the offending one).
    pub record: Option<String>,
    /// Where it was found: `_dmarc.<found_at>`.
    pub record_name: Option<String>,
    pub found_at: Option<String>,
    /// The record came from a parent, not from `_dmarc.<domain>`.
    pub inherited: bool,
    /// The parsed tags of the record that applies.
    pub tags: Option<DmarcRecord>,
    /// The policy receivers apply to the domain's failing mail, `t=y`
    /// taken into account.
    pub policy: Option<Policy>,
    /// The tag that sets it: `p`, `sp` or `np`, as published.
    pub policy_tag: Option<&'static str>,
    /// The value of that tag (`none` when `p` is absent), before `t=y`.
    pub published_policy: Option<Policy>,
    /// For existing subdomains of `found_at`: `sp`, else `p`.
    pub subdomain_policy: Option<Policy>,
    /// For non-existent subdomains: `np`, else `sp`, else `p`.
    pub nonexistent_subdomain_policy: Option<Policy>,
    /// `pct`, 100 when absent.
    pub pct: Option<u8>,
    /// `t=y`.
    pub testing: bool,
    /// Whether the domain itself exists in the DNS (its TXT query was not
    /// NXDOMAIN); decides between `sp` and `np` for an inherited record.
    pub domain_exists: Option<bool>,
    /// The Organizational Domain by the RFC 9989 tree walk, when a walk ran.
    pub organizational_domain: Option<String>,
    /// The organizational domain by the Public Suffix List (used to decide
    /// which report addresses are at another organization).
    pub psl_organizational_domain: String,
    /// Every discovery query, in order.
    pub walk: Vec<WalkStep>,
    pub report_destinations: Vec<ReportDestination>,
    /// `v=DMARC1` records published at the domain itself, where no
    /// receiver looks.
    pub apex_records: Vec<String>,
    /// Facts worth knowing that are not findings.
    pub notes: Vec<String>,
}

impl Audited for DmarcSection {
    fn protocol(&self) -> &'static Protocol {
        &super::PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
        if let Some(step) = self
            .walk
            .iter()
            .find(|s| s.outcome == StepOutcome::DnsError)
        {
            return Some(format!("the TXT lookup for {} failed", step.query));
        }
        let destination = self
            .report_destinations
            .iter()
            .find(|d| d.status == AuthorizationStatus::Unknown)?;
        Some(format!(
            "the report authorization lookup for {} failed",
            destination.query.as_deref().unwrap_or(&destination.domain)
        ))
    }

    fn summary(&self) -> String {
        match (&self.policy, &self.record_name) {
            (Some(p), Some(name)) => format!("p={} (record at {name})", p.as_str()),
            _ => status_word(&self.status),
        }
    }
}

impl DmarcSection {
    /// The policy receivers apply to the domain's failing mail, with `t=y`
    /// taken into account (p=reject; t=y is quarantine), and `pct` (100
    /// when absent). `None` when no usable record applies.
    pub fn enforcement(&self) -> Option<(Policy, u8)> {
        if self.status != DmarcStatus::Ok {
            return None;
        }
        Some((self.policy?, self.pct.unwrap_or(100)))
    }

    pub(super) fn empty(domain: &str) -> DmarcSection {
        DmarcSection {
            status: DmarcStatus::Missing,
            record: None,
            record_name: None,
            found_at: None,
            inherited: false,
            tags: None,
            policy: None,
            policy_tag: None,
            published_policy: None,
            subdomain_policy: None,
            nonexistent_subdomain_policy: None,
            pct: None,
            testing: false,
            domain_exists: None,
            organizational_domain: None,
            psl_organizational_domain: psl_organizational(domain),
            walk: Vec::new(),
            report_destinations: Vec::new(),
            apex_records: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The registrable domain by the Public Suffix List; a name that is itself
/// a public suffix stands for itself.
pub(super) fn psl_organizational(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&name).map_or_else(|| name.clone(), str::to_string)
}
