//! `mailvet check`: the CI gate. A config ([`config`]) lists domains and
//! what their owner expects of each; the check audits every domain, judges
//! each expectation ([`expectations`]), predicts DMARC for each configured
//! sender ([`senders`]), and, when `--zone` files overlay live DNS, shows
//! what publishing them would change ([`diff`]).
//!
//! This module decides how a run adds up. A domain fails when an
//! expectation is broken or a finding is at or above `--fail-on`. When
//! nothing fails but a DNS lookup failed (an expectation it decides is
//! unknown, or the audit left a check undecided), the domain is
//! undecided: it could not be checked, with its own message and retry
//! advice, never taken for a missing record — the same rule as `mailvet
//! domain`, so both exit 3 for "run it again" and 1 only for a failure
//! found. Each expectation and each finding becomes one test case for the
//! CI formats.

pub mod config;
pub mod diff;
pub mod expectations;
pub mod senders;

use crate::dns::Dns;
use crate::domain::AuditOptions;
use crate::domain::report::{self, DomainReport};
use crate::findings::{FailOn, Verdict};
use config::{Config, DomainExpectations};
use expectations::{Expectation, Status};
use serde::Serialize;
use std::sync::Arc;

/// One domain, checked.
#[derive(Debug, Clone, Serialize)]
pub struct DomainCheck {
    pub domain: String,
    /// The config line that names the domain: where a CI result about the
    /// domain as a whole points.
    #[serde(skip)]
    pub config_line: usize,
    /// Worst first: broken, unknown, then met; in config order within each.
    pub expectations: Vec<Expectation>,
    pub senders: Vec<senders::Prediction>,
    /// Lookups that failed (timeout, SERVFAIL…): `name TYPE: RCODE`.
    pub dns_failures: Vec<String>,
    pub audit: DomainReport,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `pass`, `fail`, or `unknown` when nothing failed but a domain is
    /// undecided, as the exit code says (a check is never `warn`).
    pub verdict: Verdict,
    /// The config file.
    pub config: String,
    pub domains: Vec<DomainCheck>,
    /// With `--zone` (and live DNS to compare with): what publishing the
    /// zone files would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<diff::Diff>,
}

impl DomainCheck {
    /// Whether this domain fails the run: something broken was found.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.expectations.iter().any(|e| e.status == Status::Broken)
            || fail_on.is_exceeded(&self.audit.findings)
    }

    /// Whether a failed DNS lookup left part of this domain undecided.
    pub fn undecided(&self) -> bool {
        self.expectations
            .iter()
            .any(|e| e.status == Status::Unknown)
            || !self.dns_failures.is_empty()
            || !self.audit.undecided.is_empty()
    }

    /// `fail`, else `unknown` when undecided, else `pass`.
    pub fn verdict(&self, fail_on: FailOn) -> Verdict {
        if self.fails(fail_on) {
            Verdict::Fail
        } else if self.undecided() {
            Verdict::Unknown
        } else {
            Verdict::Pass
        }
    }
}

/// Checks every domain of the config through `dns` and, given `live`
/// (live DNS alone), through that too, for [`CheckReport::new`].
pub async fn run(
    dns: &Arc<Dns>,
    live: Option<&Arc<Dns>>,
    config: &Config,
    options: &AuditOptions,
    trace: bool,
) -> (Vec<DomainCheck>, Option<Vec<DomainCheck>>) {
    let mut checks = Vec::new();
    let mut live_checks = live.map(|_| Vec::new());
    for expected in &config.domains {
        let (check, live) = check_both(dns, live, expected, options, trace).await;
        checks.push(check);
        if let (Some(all), Some(live)) = (&mut live_checks, live) {
            all.push(live);
        }
    }
    (checks, live_checks)
}

/// One domain through `dns` and, at the same time, through `live`.
async fn check_both(
    dns: &Arc<Dns>,
    live: Option<&Arc<Dns>>,
    expected: &DomainExpectations,
    options: &AuditOptions,
    trace: bool,
) -> (DomainCheck, Option<DomainCheck>) {
    tokio::join!(check_domain(dns, expected, options, trace), async {
        match live {
            Some(live) => Some(check_domain(live, expected, options, false).await),
            None => None,
        }
    })
}

/// One domain of the config on its own, as `--format jsonl` writes it:
/// its check, its verdict and, when zone files overlay live DNS, what
/// publishing them changes for it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedDomain {
    /// As [`DomainCheck::verdict`] decides.
    pub verdict: Verdict,
    #[serde(flatten)]
    pub check: DomainCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<diff::Diff>,
}

/// Checks one domain of the config through `dns` and, given `live` (live
/// DNS alone), compares the two as [`CheckReport::new`] does for all.
pub async fn check_one(
    dns: &Arc<Dns>,
    live: Option<&Arc<Dns>>,
    expected: &DomainExpectations,
    options: &AuditOptions,
    fail_on: FailOn,
    trace: bool,
) -> CheckedDomain {
    let (check, live) = check_both(dns, live, expected, options, trace).await;
    CheckedDomain {
        verdict: check.verdict(fail_on),
        diff: live.map(|live| diff::compare(&[live], std::slice::from_ref(&check))),
        check,
    }
}

async fn check_domain(
    dns: &Arc<Dns>,
    expected: &DomainExpectations,
    options: &AuditOptions,
    trace: bool,
) -> DomainCheck {
    let resolver = dns.resolver();
    let domain = &expected.domain.value;
    let mut options = options.clone();
    options
        .selectors
        .extend(expected.dkim_selectors.iter().map(|s| s.value.clone()));
    let audit = report::audit(&resolver, domain, &options, trace).await;
    let mut judged = expectations::from_audit(expected, &audit);
    judged.extend(expectations::authorized_sources(&resolver, expected).await);
    let mut predictions = Vec::new();
    for sender in &expected.senders {
        let (prediction, expectation) = senders::predict(&resolver, &domain.ascii, sender).await;
        predictions.extend(prediction);
        judged.push(expectation);
    }
    judged.sort_by_key(|e| match e.status {
        Status::Broken => 0,
        Status::Unknown => 1,
        Status::Met => 2,
    });
    let dns_failures = resolver
        .trace()
        .iter()
        .filter(|t| !["NOERROR", "NXDOMAIN", "PENDING"].contains(&t.rcode.as_str()))
        .map(|t| format!("{} {}: {}", t.name, t.rtype, t.rcode))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    DomainCheck {
        domain: domain.ascii.clone(),
        config_line: expected.domain.line,
        expectations: judged,
        senders: predictions,
        dns_failures,
        audit,
    }
}

impl CheckReport {
    /// The report of a run; `live` is the same check against live DNS
    /// only, when zone files overlaid it.
    pub fn new(
        config: &Config,
        fail_on: FailOn,
        domains: Vec<DomainCheck>,
        live: Option<&[DomainCheck]>,
    ) -> CheckReport {
        let verdicts: Vec<Verdict> = domains.iter().map(|d| d.verdict(fail_on)).collect();
        let verdict = [Verdict::Fail, Verdict::Unknown]
            .into_iter()
            .find(|v| verdicts.contains(v))
            .unwrap_or(Verdict::Pass);
        CheckReport {
            verdict,
            config: config.path.clone(),
            diff: live.map(|live| diff::compare(live, &domains)),
            domains,
        }
    }
}
