//! Renderers: reports as JSON (the API's body), as text for people, and in
//! the formats CI systems read — JUnit XML, SARIF 2.1.0 and GitHub Actions
//! annotations.
//!
//! The summary of a domain's DMARC and TLS reports has its text form in
//! [`reports`].
//!
//! This module decides presentation only; it never queries DNS and never
//! invents finding text — titles, why and fix come from the findings.
//! Colour is used only on a terminal and never when `NO_COLOR` is set
//! (no-color.org).
//!
//! The CI formats share one model: a report becomes a [`Suite`] (one per
//! domain or message) of [`Case`]s (one per expectation and per finding),
//! each with the catalog rule it stands for, its outcome under `--fail-on`
//! and, when it concerns a record written in a `--zone` file or a config
//! line, the file and line ([`Location`], found by [`ZoneLocator`]). A
//! domain or message whose checks a failed DNS lookup left undecided gets one more
//! case that errs ([`Outcome::Error`]): could not be checked, run again.

pub mod annotations;
pub mod check;
pub mod junit;
pub mod reports;
pub mod sarif;
pub mod text;
pub mod workflow_guard;

use crate::dns::zone::Zone;
use crate::domain::report::DomainReport;
use crate::findings::undecided::{self, Undecided};
use crate::findings::{CatalogEntry, FailOn, Finding, Severity, catalog};
use crate::message::report::MessageReport;
use crate::spf::SpfResult;
use crate::spf::report::SpfReport;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

/// Pretty JSON with a final newline.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot render report: {e}\"}}"));
    out.push('\n');
    out
}

/// `value` as JSON on one line, with its newline: a line of `jsonl`.
pub fn json_line<T: Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot render report: {e}\"}}"));
    out.push('\n');
    out
}

/// One report as CI tools see it: a domain, a message or an SPF check.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The domain, the message file or the SPF sender.
    pub name: String,
    pub cases: Vec<Case>,
}

impl Suite {
    /// A suite of findings only (`domain`, `message`, `spf`): a finding
    /// fails when it is at or above `--fail-on`.
    pub fn of_findings(
        name: impl Into<String>,
        findings: &[Finding],
        fail_on: FailOn,
        locate: impl Fn(&Finding) -> Option<Location>,
    ) -> Suite {
        Suite {
            name: name.into(),
            cases: findings
                .iter()
                .map(|f| Case::of_finding(f, fail_on, locate(f)))
                .collect(),
        }
    }

    /// A report's findings, and a case that errs when a failed lookup left
    /// checks undecided.
    fn of_checks(
        name: &str,
        findings: &[Finding],
        undecided: &[Undecided],
        fail_on: FailOn,
        locate: impl Fn(&Finding) -> Option<Location>,
    ) -> Suite {
        let mut suite = Suite::of_findings(name, findings, fail_on, locate);
        suite.cases.extend(Case::of_undecided(undecided));
        suite
    }

    /// A domain audit's suite: its findings, and a case that errs when a
    /// failed lookup left checks undecided.
    pub fn of_domain(
        report: &DomainReport,
        fail_on: FailOn,
        locate: impl Fn(&Finding) -> Option<Location>,
    ) -> Suite {
        Suite::of_checks(
            &report.domain,
            &report.findings,
            &report.undecided,
            fail_on,
            locate,
        )
    }

    /// A message report's suite: its findings and a case that errs when a
    /// failed lookup left checks undecided, each located in the message's
    /// file when it has one.
    pub fn of_message(
        name: &str,
        report: &MessageReport,
        fail_on: FailOn,
        file: Option<Location>,
    ) -> Suite {
        Suite::of_checks(name, &report.findings, &report.undecided, fail_on, |_| None)
            .located_at(file)
    }

    /// An SPF check's suite, named by the identity checked: its findings,
    /// and a case that errs when a failed lookup left the result at
    /// `temperror` (which is no pass, whatever `--fail-on` says).
    pub fn of_spf(report: &SpfReport, fail_on: FailOn) -> Suite {
        let check = &report.check;
        let undecided: Vec<Undecided> = (check.result == SpfResult::TempError)
            .then(|| Undecided {
                check: "spf",
                reason: check
                    .reason
                    .as_ref()
                    .map_or_else(|| "a DNS lookup failed".into(), |p| p.message.clone()),
            })
            .into_iter()
            .collect();
        Suite::of_checks(&check.sender, &report.findings, &undecided, fail_on, |_| {
            None
        })
    }

    /// Gives every case that points nowhere more exact the suite's `home`
    /// (its config line, zone file, list line or message file), so every
    /// SARIF result has a location: GitHub code scanning refuses a log
    /// with a result that has none.
    pub fn located_at(mut self, home: Option<Location>) -> Suite {
        if let Some(home) = home {
            for case in self.cases.iter_mut().filter(|c| c.location.is_none()) {
                case.location = Some(home.clone());
            }
        }
        self
    }

    /// Whether a case has this outcome.
    pub fn has(&self, outcome: Outcome) -> bool {
        self.cases.iter().any(|c| c.outcome == outcome)
    }
}

/// Whether a case stands for something the owner expects or for a finding
/// of the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// An expectation of the `check` config: a result only when unmet.
    Expectation,
    /// A catalog finding: always a result, at its severity.
    Finding,
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// An unmet expectation, or a finding at or above `--fail-on`.
    Fail,
    /// It could not be decided: a DNS lookup failed (retry).
    Error,
}

/// One expectation or finding.
#[derive(Debug, Clone)]
pub struct Case {
    pub kind: CaseKind,
    /// The catalog entry (or expectation rule) it stands for.
    pub rule: CatalogEntry,
    /// The test name CI shows.
    pub name: String,
    pub severity: Severity,
    pub outcome: Outcome,
    /// What exactly was seen.
    pub detail: String,
    /// The change to make.
    pub fix: String,
    pub location: Option<Location>,
}

impl Case {
    /// A finding as a case: its catalog rule, failing at or above `fail_on`.
    pub fn of_finding(finding: &Finding, fail_on: FailOn, location: Option<Location>) -> Case {
        let rule = catalog::lookup(finding.code)
            .copied()
            .unwrap_or(CatalogEntry {
                code: finding.code,
                severity: finding.severity,
                title: finding.title,
                why: finding.why,
                fix: "",
                refs: finding.refs,
            });
        let failed = fail_on.is_exceeded(std::slice::from_ref(finding));
        Case {
            kind: CaseKind::Finding,
            rule,
            name: format!("{}: {}", finding.code, finding.title),
            severity: finding.severity,
            outcome: if failed { Outcome::Fail } else { Outcome::Pass },
            detail: finding.detail.clone(),
            fix: finding.fix.clone(),
            location,
        }
    }
}

impl Case {
    /// The case of a domain's undecided checks, if it has any.
    pub fn of_undecided(undecided: &[Undecided]) -> Option<Case> {
        if undecided.is_empty() {
            return None;
        }
        let rule = undecided::UNDECIDED;
        Some(Case {
            kind: CaseKind::Finding,
            rule,
            name: rule.title.to_string(),
            severity: rule.severity,
            outcome: Outcome::Error,
            detail: undecided
                .iter()
                .map(|u| format!("{}: {}", u.check, u.reason))
                .collect::<Vec<_>>()
                .join("; "),
            fix: rule.fix.to_string(),
            location: None,
        })
    }
}

/// What JUnit shows for an input that had no report (a message file that
/// cannot be read, say): a case that errs, so a dashboard lists the input
/// instead of leaving it out. The run exits 2.
pub static UNREAD: CatalogEntry = CatalogEntry {
    code: "input.unread",
    severity: Severity::Error,
    title: "The input could not be read",
    why: "Nothing was checked for this input, so nothing about it is known.",
    fix: "Correct what the detail names (the path, the permissions, the content) and run again.",
    refs: &[],
};

impl Suite {
    /// The suite of an input that had no report, and why.
    pub fn of_unread(name: &str, reason: &str) -> Suite {
        Suite {
            name: name.to_string(),
            cases: vec![Case {
                kind: CaseKind::Finding,
                rule: UNREAD,
                name: UNREAD.title.to_string(),
                severity: UNREAD.severity,
                outcome: Outcome::Error,
                detail: reason.to_string(),
                fix: UNREAD.fix.to_string(),
                location: None,
            }],
        }
    }
}

/// A file and a line in it: where CI shows a case. GitHub code scanning
/// needs a line on every SARIF result, so there always is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// As the user named it (relative paths stay relative).
    pub file: String,
    /// 1-based.
    pub line: usize,
}

/// Finds, for a finding about a domain, the `--zone` file and line that
/// hold the record it is about.
#[derive(Debug, Clone, Copy)]
pub struct ZoneLocator<'a> {
    zones: &'a [Zone],
}

impl<'a> ZoneLocator<'a> {
    pub fn new(zones: &'a [Zone]) -> ZoneLocator<'a> {
        ZoneLocator { zones }
    }

    /// The zone file and line that answer for the record `finding` is
    /// about: the record's line, or, when the zone lacks it, the line of
    /// the zone's SOA record at its origin, where the record would be
    /// added. `None` when that name comes from live DNS, when the finding
    /// is about no record, or when the zone has no SOA record.
    pub fn locate(&self, finding: &Finding) -> Option<Location> {
        let (owner, rtype) = record_of(finding)?;
        let zone = self.covering(&owner)?;
        let line = zone.line_of(&owner, rtype).or_else(|| zone.soa_line())?;
        located(zone, line)
    }

    /// The line of `domain`'s own SOA record, when a zone file has one:
    /// the line naming a domain that is a zone's origin.
    pub fn soa(&self, domain: &str) -> Option<Location> {
        let name = fqdn(domain)?;
        let zone = self.covering(&name)?;
        located(zone, zone.line_of(&name, RecordType::SOA)?)
    }

    /// Where a result about `domain` as a whole is shown when nothing
    /// names it more exactly: the zone file that answers for it, at the
    /// line of its SOA record (where the domain's records are added), or
    /// line 1 when the zone has none. `None` when live DNS answers.
    pub fn home(&self, domain: &str) -> Option<Location> {
        let zone = self.covering(&fqdn(domain)?)?;
        located(zone, zone.soa_line().unwrap_or(1))
    }

    /// The most specific zone file covering `owner`.
    fn covering(&self, owner: &Name) -> Option<&'a Zone> {
        self.zones
            .iter()
            .filter(|z| z.covers(owner))
            .max_by_key(|z| z.origin.num_labels())
    }
}

/// A line of a zone's file; `None` for a zone read from no file.
fn located(zone: &Zone, line: usize) -> Option<Location> {
    Some(Location {
        file: zone.path.as_ref()?.display().to_string(),
        line,
    })
}

/// A domain as a fully qualified name.
fn fqdn(domain: &str) -> Option<Name> {
    let mut name = Name::from_ascii(domain).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// The DNS record a finding is about, as the owner name and type a zone
/// file is searched for.
fn record_of(finding: &Finding) -> Option<(Name, RecordType)> {
    let record = finding.record.as_ref()?;
    Some((fqdn(&record.name)?, record.rtype.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::zone;

    #[test]
    fn findings_point_at_the_record_in_the_zone_file() {
        let mut z = zone::parse(
            "$ORIGIN ex.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\n@ TXT \"v=spf1 +all\"\n\
             _dmarc TXT \"v=DMARC1; p=none\"\ns1._domainkey TXT \"v=DKIM1; p=\"\n",
            None,
        )
        .unwrap();
        z.path = Some("zones/ex.test.zone".into());
        let zones = [z];
        let locator = ZoneLocator::new(&zones);
        let at = |name: &str, rtype| {
            locator
                .locate(&Finding::new(catalog::SPF_PLUS_ALL, "x").about(name, rtype))
                .map(|l| (l.file, l.line))
        };
        let file = "zones/ex.test.zone".to_string();
        assert_eq!(at("ex.test", "TXT"), Some((file.clone(), 4)));
        assert_eq!(at("_dmarc.ex.test", "TXT"), Some((file.clone(), 5)));
        assert_eq!(at("s1._domainkey.ex.test", "TXT"), Some((file.clone(), 6)));
        assert_eq!(
            at("ex.test", "MX"),
            Some((file.clone(), 3)),
            "a record the zone lacks is shown at its SOA, where it would be added"
        );
        assert_eq!(at("_mta-sts.www.ex.test", "TXT"), Some((file.clone(), 3)));
        assert_eq!(at("other.test", "TXT"), None);
        let line = |l: Option<Location>| l.map(|l| (l.file, l.line));
        assert_eq!(line(locator.home("ex.test")), Some((file.clone(), 3)));
        assert_eq!(line(locator.soa("ex.test")), Some((file.clone(), 3)));
        assert_eq!(
            line(locator.home("www.ex.test")),
            Some((file.clone(), 3)),
            "a name below the origin is at the zone's SOA"
        );
        assert_eq!(locator.soa("www.ex.test"), None, "no line names it");
        assert_eq!(locator.home("other.test"), None);
        assert_eq!(
            locator.locate(&Finding::new(catalog::DKIM_NO_SELECTOR_FOUND, "x")),
            None,
            "a finding about no record is nowhere"
        );

        // A zone without an SOA record: a missing record is located by
        // the suite (the config or --file line), the domain at line 1.
        let mut bare = zone::parse(
            "$ORIGIN bare.test.
$TTL 60
@ TXT \"v=spf1 -all\"\n",
            None,
        )
        .unwrap();
        bare.path = Some("zones/bare.test.zone".into());
        let zones = [bare];
        let locator = ZoneLocator::new(&zones);
        let finding = |rtype| Finding::new(catalog::SPF_PLUS_ALL, "x").about("bare.test", rtype);
        assert_eq!(line(locator.locate(&finding("TXT"))).map(|l| l.1), Some(3));
        assert_eq!(locator.locate(&finding("MX")), None);
        assert_eq!(
            line(locator.home("bare.test")),
            Some(("zones/bare.test.zone".to_string(), 1))
        );
    }
}
