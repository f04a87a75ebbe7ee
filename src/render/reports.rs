//! The summary of a domain's DMARC aggregate and TLS reports as text for a
//! terminal (`mailvet reports summary`): totals, the days, the sending
//! sources with their class and fix, and the enforcement verdict with the
//! record to publish next.
//!
//! Every name in it came from a report (anyone can send one), so each is
//! shown with its control characters escaped.

use crate::reports::enforcement::{Readiness, Verdict};
use crate::reports::ingest::DomainSummary;
use crate::reports::summary::{counted, grouped, percent};
use crate::untrusted::escape_controls;
use std::fmt::Write;

/// Most days listed (the most recent); the JSON has them all.
const MAX_DAYS_SHOWN: usize = 31;
/// Most sources listed; the JSON has every listed one.
const MAX_SOURCES_SHOWN: usize = 20;

pub fn summary(report: &DomainSummary) -> String {
    let s = &report.analysis.summary;
    let e = &report.analysis.enforcement;
    let mut out = String::new();
    let _ = writeln!(out, "DMARC reports for {}", escape_controls(&report.domain));
    if let Some(note) = report.left_out_note() {
        let _ = writeln!(out, "  {note}");
    }
    if s.reports == 0 && report.tls.reports == 0 && report.reports_left_out == 0 {
        let _ = writeln!(
            out,
            "  no reports stored for this domain{}; import some with `mailvet reports import`",
            if report.since.is_some() {
                " in this period"
            } else {
                ""
            }
        );
        return out;
    }
    let _ = writeln!(
        out,
        "  {} from {}: {}, {} passed DMARC ({})",
        counted(s.reports, "aggregate report"),
        counted(s.reporters.len(), "reporter"),
        counted(s.messages, "message"),
        grouped(s.dmarc_pass),
        percent(s.dmarc_pass, s.messages)
    );
    if !s.days.is_empty() {
        let _ = writeln!(out, "\nPer day (messages, DMARC pass rate):");
        let skip = s.days.len().saturating_sub(MAX_DAYS_SHOWN);
        for day in &s.days[skip..] {
            let _ = writeln!(
                out,
                "  {}  {:>10}  {:>7}",
                day.day,
                grouped(day.messages),
                percent(day.dmarc_pass, day.messages)
            );
        }
    }
    if !s.sources.is_empty() {
        let _ = writeln!(out, "\nSending sources:");
        for source in s.sources.iter().take(MAX_SOURCES_SHOWN) {
            let _ = writeln!(
                out,
                "  {}{}: {}, {} pass DMARC, {}{}",
                escape_controls(&source.name),
                if source.new == Some(true) {
                    " (new)"
                } else {
                    ""
                },
                counted(source.messages, "message"),
                percent(source.dmarc_pass, source.messages),
                source.class.as_str(),
                if source.looks_spoofed() {
                    ", looks like spoofing"
                } else {
                    ""
                },
            );
            let _ = writeln!(out, "      {}", source.class.meaning());
        }
        let hidden = s.sources.len().saturating_sub(MAX_SOURCES_SHOWN) + s.unlisted.sources;
        if hidden > 0 {
            let _ = writeln!(out, "  … and {hidden} more sources");
        }
    }
    if !s.selectors.is_empty() {
        let names: Vec<String> = s
            .selectors
            .iter()
            .map(|x| {
                escape_controls(&format!("{}._domainkey.{}", x.selector, x.domain)).into_owned()
            })
            .collect();
        let _ = writeln!(out, "\nDKIM selectors seen: {}", names.join(", "));
    }
    let _ = writeln!(out, "\nReady for enforcement?");
    let _ = writeln!(
        out,
        "  published now: {}",
        escape_controls(&e.published_now())
    );
    for readiness in [&e.quarantine, &e.reject] {
        readiness_line(&mut out, readiness);
    }
    for blocking in &e.blocking {
        let _ = writeln!(
            out,
            "  in the way: {} — {} ({}): {}",
            escape_controls(&blocking.name),
            counted(blocking.messages, "message"),
            percent(blocking.messages, e.messages),
            escape_controls(&blocking.fix.summary)
        );
        for record in &blocking.fix.records {
            let _ = writeln!(
                out,
                "      {} {} {}",
                escape_controls(&record.name),
                record.rtype,
                escape_controls(&record.value)
            );
        }
    }
    let _ = writeln!(out, "  next: {}", escape_controls(&e.next_step));
    match (e.record_to_change(), &e.next_record) {
        (Some(record), _) => {
            let _ = writeln!(
                out,
                "  publish: _dmarc.{} TXT \"{}\"",
                escape_controls(&report.domain),
                escape_controls(record)
            );
        }
        (None, Some(_)) => {
            let _ = writeln!(
                out,
                "  publish: nothing yet; the record published now stays"
            );
        }
        (None, None) => {}
    }
    if report.tls.reports > 0 {
        let t = &report.tls;
        let _ = writeln!(
            out,
            "\nTLS reports: {}, {} succeeded, {} failed",
            counted(t.reports, "report"),
            counted(t.successful_sessions, "session"),
            grouped(t.failed_sessions)
        );
        for tally in &t.result_types {
            let _ = writeln!(
                out,
                "  {}: {}",
                escape_controls(&tally.name),
                counted(tally.failed_sessions, "failed session")
            );
        }
        if t.unlisted.result_types > 0 {
            let _ = writeln!(
                out,
                "  … and {} more result types",
                grouped(t.unlisted.result_types)
            );
        }
    }
    out
}

fn readiness_line(out: &mut String, r: &Readiness) {
    let verdict = match r.verdict {
        Verdict::Ready => "ready",
        Verdict::NotReady => "not ready",
        Verdict::InsufficientData => "not enough data",
    };
    let _ = writeln!(
        out,
        "  p={}: {verdict} — {}",
        r.policy,
        escape_controls(&r.explanation)
    );
}
