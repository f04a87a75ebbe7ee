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
    }
}

/// Compares the checks with the zone files (`planned`) against live DNS.
pub fn compare(live: &[DomainCheck], planned: &[DomainCheck]) -> Diff {
    let findings = |checks: &[DomainCheck]| -> BTreeSet<Change> {
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
    let met = |checks: &[DomainCheck], wanted: bool| -> BTreeSet<Change> {
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
    }
}
