//! The text format of `mailvet check`: for each domain, the expectations
//! (broken first, each with what was seen, the fix and its config line),
//! any failed DNS lookups with retry advice, then the domain audit as
//! `mailvet domain` prints it; last, with `--zone`, what publishing the
//! zone files would change compared with live DNS (and how many questions
//! reading live DNS asked), and which domains a failed lookup kept out of
//! that comparison. Outside text goes through [`text::clean`], as in every
//! text report.

use super::text::{self, Style, clean};
use super::{Case, CaseKind, Location, Outcome, Suite, ZoneLocator};
use crate::check::diff::{Change, Diff, NotCompared, Side};
use crate::check::expectations::{self, Status};
use crate::check::{CheckReport, DomainCheck};
use crate::findings::{FailOn, Verdict};
use std::fmt::Write;

/// The whole run for people.
pub fn render(report: &CheckReport, fail_on: FailOn, style: Style) -> String {
    let mut out = String::new();
    let count = |verdict| {
        report
            .domains
            .iter()
            .filter(|d| d.verdict(fail_on) == verdict)
            .count()
    };
    let undecided = match count(Verdict::Unknown) {
        0 => String::new(),
        n => format!(", {n} could not be checked (run again)"),
    };
    let _ = writeln!(
        out,
        "{} mailvet check of {}: {} of {} domain(s) fail{undecided}\n",
        verdict(style, report.verdict),
        clean(&report.config),
        count(Verdict::Fail),
        report.domains.len()
    );
    for check in &report.domains {
        domain(&mut out, check, fail_on, &report.config, style);
    }
    if let Some(diff) = &report.diff {
        changes(&mut out, diff);
    }
    out
}

/// One suite per domain ([`suite`]).
pub fn suites(report: &CheckReport, fail_on: FailOn, zones: ZoneLocator<'_>) -> Vec<Suite> {
    report
        .domains
        .iter()
        .map(|d| suite(d, &report.config, fail_on, zones))
        .collect()
}

/// The suite of one domain: its expectations (located at their line of
/// the `config` file), a DNS case that errs when lookups failed (or the
/// audit left a check undecided), and its findings (located in the zone
/// file that holds the record, if any). What points nowhere more exact
/// (the DNS case, a finding about no record or one live DNS answers)
/// points at the config line naming the domain.
pub fn suite(d: &DomainCheck, config: &str, fail_on: FailOn, zones: ZoneLocator<'_>) -> Suite {
    let mut cases: Vec<Case> = d
        .expectations
        .iter()
        .map(|e| Case {
            kind: CaseKind::Expectation,
            rule: *e.rule,
            name: e.name.clone(),
            severity: e.rule.severity,
            outcome: match e.status {
                Status::Met => Outcome::Pass,
                Status::Broken => Outcome::Fail,
                Status::Unknown => Outcome::Error,
            },
            detail: e.detail.clone(),
            fix: e.fix.clone(),
            location: Some(Location {
                file: config.to_string(),
                line: e.line,
            }),
        })
        .collect();
    if !d.dns_failures.is_empty() {
        let rule = *expectations::rule("expect.dns");
        cases.push(Case {
            kind: CaseKind::Expectation,
            rule,
            name: rule.title.to_string(),
            severity: rule.severity,
            outcome: Outcome::Error,
            detail: format!("DNS lookups failed: {}", d.dns_failures.join("; ")),
            fix: rule.fix.to_string(),
            location: None,
        });
    } else {
        cases.extend(Case::of_undecided(&d.audit.undecided));
    }
    let findings = Suite::of_findings(&d.domain, &d.audit.findings, fail_on, |f| zones.locate(f));
    cases.extend(findings.cases);
    Suite {
        name: d.domain.clone(),
        cases,
    }
    .located_at(Some(Location {
        file: config.to_string(),
        line: d.config_line,
    }))
}

fn domain(out: &mut String, check: &DomainCheck, fail_on: FailOn, config: &str, style: Style) {
    let _ = writeln!(
        out,
        "{} {}",
        verdict(style, check.verdict(fail_on)),
        check.domain
    );
    if check.expectations.is_empty() {
        let _ = writeln!(out, "  no expectations configured");
    }
    for e in &check.expectations {
        let word = match e.status {
            Status::Met => paint(style, true, "met    "),
            Status::Broken => paint(style, false, "BROKEN "),
            Status::Unknown => paint(style, false, "UNKNOWN"),
        };
        let _ = writeln!(
            out,
            "  {word} {} ({}:{})",
            clean(&e.name),
            clean(config),
            e.line
        );
        let _ = writeln!(out, "          {}", clean(&e.detail));
        if !e.fix.is_empty() {
            let _ = writeln!(out, "          fix: {}", clean(&e.fix));
        }
    }
    if !check.dns_failures.is_empty() {
        let _ = writeln!(
            out,
            "  {} DNS lookups failed, so the check cannot tell what is published \
             (this is not a missing record): {}",
            paint(style, false, "DNS FAILURE"),
            clean(&check.dns_failures.join("; "))
        );
        let _ = writeln!(
            out,
            "          retry the check; if it keeps failing, check the servers given with \
             --dns and the domain's nameservers"
        );
    }
    let _ = writeln!(out);
    out.push_str(&text::domain(&check.audit, style));
    let _ = writeln!(out);
}

fn changes(out: &mut String, diff: &Diff) {
    let _ = writeln!(
        out,
        "Changes the --zone files make, compared with live DNS \
         ({} DNS questions, {} sent upstream):",
        diff.live_dns.queries, diff.live_dns.upstream_queries
    );
    if diff.is_empty() {
        let _ = writeln!(out, "  none");
        return;
    }
    if !diff.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "  not compared, a DNS lookup failed (this is not a missing record; \
             run the check again):"
        );
    }
    for NotCompared {
        domain,
        side,
        failures,
    } in &diff.not_compared
    {
        let side = match side {
            Side::Live => "live DNS",
            Side::Zone => "DNS with the --zone files",
        };
        let _ = writeln!(
            out,
            "    ? {domain}: {side} could not be read: {}",
            clean(&failures.join("; "))
        );
    }
    for (title, mark, list) in [
        ("findings introduced", '+', &diff.findings_introduced),
        ("findings fixed", '-', &diff.findings_fixed),
        (
            "expectations newly broken",
            '+',
            &diff.expectations_newly_broken,
        ),
        ("expectations newly met", '-', &diff.expectations_newly_met),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}:");
        for Change {
            domain,
            code,
            subject,
        } in list
        {
            let _ = writeln!(out, "    {mark} {domain} {code}: {}", clean(subject));
        }
    }
}

fn verdict(style: Style, verdict: Verdict) -> String {
    match verdict {
        Verdict::Fail => paint(style, false, "FAIL"),
        Verdict::Unknown => paint(style, false, "UNKNOWN"),
        Verdict::Pass | Verdict::Warn => paint(style, true, "PASS"),
    }
}

/// Green for good, red for bad, when colour is on.
fn paint(style: Style, good: bool, word: &str) -> String {
    match (style.color, good) {
        (false, _) => word.to_string(),
        (true, true) => format!("\x1b[1;32m{word}\x1b[0m"),
        (true, false) => format!("\x1b[1;31m{word}\x1b[0m"),
    }
}
