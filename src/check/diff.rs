//! The pre-deployment difference: what publishing the `--zone` files would
//! change, compared with live DNS.
//!
//! This module decides what counts as the same finding or expectation on
//! both sides: a finding is the same when its domain, code and detail are
//! (the detail names the record or host, so two hosts with the same
//! problem stay two findings); an expectation is the same when its domain,
//! rule and name are. An expectation is newly met when it is met with the
//! zone files and was not live, newly broken the other way round (unknown
//! counts as not met).
//!
//! A domain is compared only when both sides were read. When a lookup
//! failed on one side (SERVFAIL, timeout, the question budget spent), the
//! check there is undecided, and taking it for what is published would
//! invent changes: findings its failed lookups hid would look fixed or
//! introduced. Such a domain is listed as not compared, with the side
//! and the lookups that failed, never diffed.

use super::DomainCheck;
use super::expectations::Status;
use serde::Serialize;
use std::collections::BTreeSet;

/// What the zone files change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub findings_fixed: Vec<Change>,
    pub findings_introduced: Vec<Change>,
    pub expectations_newly_met: Vec<Change>,
    pub expectations_newly_broken: Vec<Change>,
    /// Domains left out because a lookup failed on one side.
    pub not_compared: Vec<NotCompared>,
    /// What reading live DNS to compare with asked.
    pub live_dns: LiveDns,
}

/// The questions of the audits against live DNS alone, which the domains'
/// own `dns` sections (the zone files over live DNS) do not count: a
/// question sent counts whether or not it was answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LiveDns {
    pub queries: usize,
    pub upstream_queries: usize,
}

/// A domain whose records one side of the comparison could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCompared {
    pub domain: String,
    pub side: Side,
    /// Why: the lookups that failed (`name TYPE: RCODE`), else the checks
    /// a failed lookup left undecided.
    pub failures: Vec<String>,
}

/// Which DNS a check read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Live DNS alone.
    Live,
    /// The `--zone` files over live DNS.
    Zone,
}

/// One finding or expectation that changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub domain: String,
    /// The finding code or expectation rule.
    pub code: &'static str,
    /// The finding's detail, or the expectation's name.
    pub subject: String,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.findings_fixed.is_empty()
            && self.findings_introduced.is_empty()
            && self.expectations_newly_met.is_empty()
            && self.expectations_newly_broken.is_empty()
            && self.not_compared.is_empty()
    }
}

/// Compares the checks with the zone files (`planned`) against live DNS,
/// the domains both sides read.
pub fn compare(live: &[DomainCheck], planned: &[DomainCheck]) -> Diff {
    let not_compared: Vec<NotCompared> = [(Side::Live, live), (Side::Zone, planned)]
        .into_iter()
        .flat_map(|(side, checks)| {
            checks
                .iter()
                .filter(|c| c.undecided())
                .map(move |c| NotCompared {
                    domain: c.domain.clone(),
                    side,
                    failures: failures(c),
                })
        })
        .collect();
    let read = |checks| -> Vec<&DomainCheck> {
        <[DomainCheck]>::iter(checks)
            .filter(|c| !not_compared.iter().any(|n| n.domain == c.domain))
            .collect()
    };
    let changes = changes(&read(live), &read(planned));
    Diff {
        not_compared,
        live_dns: LiveDns {
            queries: live.iter().map(|c| c.audit.dns.queries).sum(),
            upstream_queries: live.iter().map(|c| c.audit.dns.upstream_queries).sum(),
        },
        ..changes
    }
}

/// Why a domain's check is undecided: the lookups that failed, else what
/// the audit or an expectation says a failed lookup left open.
fn failures(check: &DomainCheck) -> Vec<String> {
    if !check.dns_failures.is_empty() {
        return check.dns_failures.clone();
    }
    let undecided = check
        .audit
        .undecided
        .iter()
        .map(|u| format!("{}: {}", u.check, u.reason));
    let unknown = check
        .expectations
        .iter()
        .filter(|e| e.status == Status::Unknown)
        .map(|e| format!("{}: {}", e.name, e.detail));
    undecided.chain(unknown).collect()
}

/// The changes between two sets of checks, every domain compared.
fn changes(live: &[&DomainCheck], planned: &[&DomainCheck]) -> Diff {
    let findings = |checks: &[&DomainCheck]| -> BTreeSet<Change> {
        checks
            .iter()
            .flat_map(|c| {
                c.audit.findings.iter().map(|f| Change {
                    domain: c.domain.clone(),
                    code: f.code,
                    subject: f.detail.clone(),
                })
            })
            .collect()
    };
    let met = |checks: &[&DomainCheck], wanted: bool| -> BTreeSet<Change> {
        checks
            .iter()
            .flat_map(|c| {
                c.expectations
                    .iter()
                    .filter(move |e| (e.status == Status::Met) == wanted)
                    .map(|e| Change {
                        domain: c.domain.clone(),
                        code: e.rule.code,
                        subject: e.name.clone(),
                    })
            })
            .collect()
    };
    let (live_findings, planned_findings) = (findings(live), findings(planned));
    let (live_met, planned_met) = (met(live, true), met(planned, true));
    Diff {
        findings_fixed: live_findings
            .difference(&planned_findings)
            .cloned()
            .collect(),
        findings_introduced: planned_findings
            .difference(&live_findings)
            .cloned()
            .collect(),
        expectations_newly_met: planned_met.difference(&live_met).cloned().collect(),
        expectations_newly_broken: met(planned, false)
            .into_iter()
            .filter(|c| live_met.contains(c))
            .collect(),
        ..Diff::default()
    }
}
