//! `/reports/dmarc/{domain}`: what a domain's DMARC aggregate and TLS
//! reports say, drawn and written out — messages and DMARC pass rate per
//! day, each sending source's passing and failing mail, the sources with
//! their service, PTR names, class and fix, the readiness for
//! `p=quarantine` and `p=reject` with the record to publish next, the
//! sources new since the period before, and TLS failures per day, result
//! type, MX and policy; the `_smtp._tls` record that sends the domain's
//! TLS reports here, when the caller gives it; with a form to import
//! another report, or, for a reader who gave no key where importing
//! needs one, a link to the key form.
//!
//! Charts are inline SVG drawn here, sized by the stylesheet (no style
//! attribute, which the Content-Security-Policy forbids), so they show
//! with JavaScript off. A chart is a picture for sighted readers only
//! (`aria-hidden`): the table after it has its numbers, with a caption,
//! for everyone. Every name on the page came from a report, which anyone
//! can send: maud escapes it, and [`shown`] makes its control characters
//! visible.

use super::layout::captioned_table;
use super::report::{publish, shown};
use crate::reports::classify::Class;
use crate::reports::enforcement::{Blocking, Readiness, Verdict};
use crate::reports::ingest::DomainSummary;
use crate::reports::sources::ReverseDns;
use crate::reports::summary::{SourceSummary, Tally, TlsTally, counted, grouped, percent};
use maud::{Markup, html};

/// The page that asks whose reports to read.
pub const CHOOSE_PATH: &str = "/reports/dmarc";

/// The page at [`CHOOSE_PATH`]: what DMARC reports are, and a form asking
/// for the domain (a GET to the same path with `domain`); `typed` and
/// `problem` are the last try and why it was refused.
pub fn choose(typed: &str, problem: Option<&str>) -> String {
    let invalid = problem.is_some().then_some("true");
    super::layout::page(
        "DMARC reports",
        html! {
            h1 { "DMARC reports, read for you" }
            p { "Mailbox providers send a daily aggregate report to the address in the rua= \
                 tag of your DMARC record: which servers sent mail as your domain, and whether \
                 it passed. Import the report files on your domain's page below (or, where this \
                 server has a report address, point rua= at it), and mailvet tells you who \
                 sends as you, what fails and how to fix it, and when p=quarantine and \
                 p=reject are safe." }
            form.check #choose-domain method="get" action=(CHOOSE_PATH) {
                h2 { "Whose reports?" }
                @if let Some(problem) = problem {
                    p.problem #choose-problem role="alert" { (problem) }
                }
                label for="domain" { "Domain" span.hint { " — the part after @ in your From address" } }
                input #domain type="text" name="domain" value=(typed) required
                    autocomplete="off" autocapitalize="none" spellcheck="false"
                    placeholder="example.com" aria-invalid=[invalid]
                    aria-describedby=[invalid.map(|_| "choose-problem")];
                button type="submit" { "Show reports" }
            }
        },
    )
}

/// Most sources drawn and listed; the JSON API has every listed one.
const MAX_SOURCES_SHOWN: usize = 20;

/// What the import form says after a report was posted.
#[derive(Debug, Clone, Default)]
pub struct ImportNotice {
    /// `imported`, `duplicate`, or empty for none.
    pub outcome: String,
    /// Why the last report posted was refused.
    pub problem: Option<String>,
    /// The reader gave no key, which importing needs on this server
    /// (pages open to all beside API keys): the form gives way to a link
    /// to the key form.
    pub key_needed: bool,
}

/// The `_smtp._tls` record that sends a domain's TLS reports to this
/// server (RFC 8460 §3).
#[derive(Debug, Clone, Copy)]
pub struct TlsRecord<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// The URL's host, when no reporter on the internet could reach it:
    /// an address or a local name.
    pub unreachable_host: Option<&'a str>,
    /// The URL names the server's `--base-url`, not the host the page
    /// was opened at.
    pub from_base_url: bool,
}

/// What the page offers about receiving the domain's TLS reports.
#[derive(Debug, Clone, Copy)]
pub enum TlsReporting<'a> {
    /// Nothing: the page is open to readers who could not ask the API.
    Hidden,
    /// The domain has no reporting URL yet: a button makes one.
    NotYet,
    /// The record that names the domain's URL, to publish.
    Record(TlsRecord<'a>),
}

/// The page of `summary`; `since` is the day the period starts, as asked.
pub fn page(
    summary: &DomainSummary,
    since: Option<&str>,
    notice: &ImportNotice,
    tls_reporting: TlsReporting,
) -> String {
    let s = &summary.analysis.summary;
    let domain = &summary.domain;
    super::layout::page(
        &format!("{domain}: DMARC reports"),
        html! {
            h1 { "DMARC reports for " (shown(domain)) }
            // Said where the page opens: the form is far below the charts.
            @if let Some(problem) = &notice.problem {
                div.verdict.v-fail role="alert" {
                    p {
                        "The report was not imported: " (shown(problem)) " "
                        a href="#import" { "Import another" }
                    }
                }
            }
            (period_form(domain, since))
            @if let Some(note) = summary.left_out_note() {
                div.verdict.v-warn { p { (note) } }
            }
            @if s.reports == 0 && summary.tls.reports == 0 {
                @if summary.reports_left_out == 0 {
                    (none_stored("No reports are", since))
                }
            } @else if s.reports == 0 {
                (none_stored("No DMARC aggregate report is", since))
                (tls(summary))
            } @else {
                p {
                    (counted(s.reports, "aggregate report")) " from "
                    (counted(s.reporters.len(), "reporter")) ": "
                    strong { (counted(s.messages, "message")) } ", "
                    (percent(s.dmarc_pass, s.messages)) " passed DMARC."
                }
                @if !s.reporters.is_empty() {
                    p { span.label { "Reporters: " } (names(s.reporters.iter().map(String::as_str))) }
                }
                @if !s.days.is_empty() { (days(s)) }
                (readiness(summary))
                @if !s.sources.is_empty() { (sources(summary)) }
                (new_sources(summary, since.is_some()))
                (tls(summary))
            }
            (tls_reporting_section(domain, tls_reporting))
            (import_form(domain, notice))
            @let json = format!("/v1/reports/dmarc/{domain}");
            p { "This summary as JSON: " a href=(json) { (json) } }
        },
    )
}

/// The period asked: a day to start from, by a plain GET form.
fn period_form(domain: &str, since: Option<&str>) -> Markup {
    html! {
        form.period method="get" action=(format!("/reports/dmarc/{domain}")) {
            label for="since" { "Reports since " span.hint { "(empty: every stored report)" } }
            input #since type="date" name="since" value=[since];
            button type="submit" { "Show" }
        }
    }
}

// ---------------------------------------------------------------------------
// Charts
// ---------------------------------------------------------------------------

/// A chart of one row of bars per day, in a `figure` with its caption
/// and axis labels as text. Each bar is a stack of `(class, value)`
/// parts from the bottom; the chart's scale is `max`.
fn day_bars(caption: &str, labels: &[String], bars: &[Vec<(&str, u64)>], max: u64) -> Markup {
    let n = bars.len().max(1);
    let max = max.max(1);
    // Each part as (class, x, top, height) in a box of n by 100.
    let mut rects = Vec::new();
    for (i, stack) in bars.iter().enumerate() {
        let mut bottom = 100.0;
        for &(class, value) in stack {
            let height = value as f64 / max as f64 * 100.0;
            if height > 0.0 {
                bottom -= height;
                rects.push((class, i as f64 + 0.1, bottom, height));
            }
        }
    }
    html! {
        figure.chart {
            figcaption { (caption) }
            p.axis { "Up to " (grouped(max)) }
            svg.plot viewBox=(format!("0 0 {n} 100")) preserveAspectRatio="none" aria-hidden="true" focusable="false" {
                @for (class, x, y, height) in rects {
                    rect class=(class) x=(format!("{x:.3}")) y=(format!("{y:.3}")) width="0.8" height=(format!("{height:.3}")) {}
                }
            }
            (axis_days(labels))
        }
    }
}

/// The first and last day under a chart.
fn axis_days(labels: &[String]) -> Markup {
    html! {
        p.days {
            @if let Some(first) = labels.first() { span { (first) } }
            @if labels.len() > 1 { @if let Some(last) = labels.last() { span { (last) } } }
        }
    }
}

/// The DMARC pass rate per day as a step line from 0 to 100 %.
fn rate_line(caption: &str, labels: &[String], rates: &[f64]) -> Markup {
    let n = rates.len().max(1);
    let points: Vec<String> = rates
        .iter()
        .enumerate()
        .flat_map(|(i, rate)| {
            let y = 100.0 - rate.clamp(0.0, 1.0) * 100.0;
            [format!("{i},{y:.3}"), format!("{},{y:.3}", i + 1)]
        })
        .collect();
    html! {
        figure.chart {
            figcaption { (caption) }
            p.axis { "100 %" }
            svg.plot viewBox=(format!("0 0 {n} 100")) preserveAspectRatio="none" aria-hidden="true" focusable="false" {
                @for y in [0, 50, 100] {
                    line.grid x1="0" x2=(n) y1=(y) y2=(y) vector-effect="non-scaling-stroke" {}
                }
                polyline.rate points=(points.join(" ")) vector-effect="non-scaling-stroke" {}
            }
            (axis_days(labels))
        }
    }
}

/// A legend entry: the swatch of `class` and what it stands for.
fn key(class: &str, text: &str) -> Markup {
    html! { span.key { span class=(format!("swatch {class}")) {} " " (text) } }
}

fn days(s: &crate::reports::summary::Summary) -> Markup {
    let labels: Vec<String> = s.days.iter().map(|d| d.day.to_string()).collect();
    let bars: Vec<Vec<(&str, u64)>> = s
        .days
        .iter()
        .map(|d| {
            vec![
                ("pass", d.dmarc_pass),
                ("fail", d.messages.saturating_sub(d.dmarc_pass)),
            ]
        })
        .collect();
    let max = s.days.iter().map(|d| d.messages).max().unwrap_or(0);
    let rates: Vec<f64> = s.days.iter().map(|d| d.pass_rate).collect();
    html! {
        section #days aria-labelledby="days-h" {
            h2 #days-h { "Messages and DMARC pass rate per day" }
            (day_bars("Messages per day", &labels, &bars, max))
            p.legend { (key("pass", "passed DMARC")) " " (key("fail", "failed DMARC")) }
            (rate_line("DMARC pass rate per day", &labels, &rates))
            (captioned_table("Messages and DMARC pass rate per day", &["Day", "Messages", "Passed DMARC", "Pass rate"], html! {
                @for d in &s.days {
                    tr { th scope="row" { (d.day) } td { (grouped(d.messages)) } td { (grouped(d.dmarc_pass)) } td { (percent(d.dmarc_pass, d.messages)) } }
                }
            }))
        }
    }
}

// ---------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------

fn verdict_words(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Ready => ("verdict v-pass", "Ready"),
        Verdict::NotReady => ("verdict v-fail", "Not ready"),
        Verdict::InsufficientData => ("verdict v-unknown", "Not enough data"),
    }
}

/// That no report of a kind is stored (in the period), and how to get
/// them: readiness for enforcement is judged from aggregate reports.
fn none_stored(what: &str, since: Option<&str>) -> Markup {
    html! {
        p.muted {
            (what) " stored for this domain" @if since.is_some() { " in this period" }
            ". Import one below, or point the " code { "rua" } " of the domain's DMARC \
             record at a mailbox this server reads; whether the domain is ready for \
             p=quarantine or p=reject is judged from its aggregate reports."
        }
    }
}

fn readiness_box(r: &Readiness) -> Markup {
    let (class, word) = verdict_words(r.verdict);
    html! {
        div class=(class) {
            p { strong { "p=" (r.policy.as_str()) } " " span.badge { (word) } }
            p { (shown(&r.explanation)) }
        }
    }
}

fn readiness(summary: &DomainSummary) -> Markup {
    let e = &summary.analysis.enforcement;
    html! {
        section #readiness aria-labelledby="readiness-h" {
            h2 #readiness-h { "Ready for enforcement?" }
            p {
                "Published now: " (shown(&e.published_now()))
                ". " (counted(e.forwarded, "forwarded message"))
                " failed DMARC and " (if e.forwarded == 1 { "is" } else { "are" })
                " not held against the domain."
            }
            (readiness_box(&e.quarantine))
            (readiness_box(&e.reject))
            p { span.label { "Next step: " } (shown(&e.next_step)) }
            @match (e.record_to_change(), &e.next_record) {
                (Some(record), _) => (publish(&format!("_dmarc.{}", summary.domain), "TXT", record)),
                (None, Some(_)) => p { "Nothing to change in DNS yet: the record published now stays." },
                (None, None) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

/// The fix of a source, when it is in the way of enforcement or passes
/// by SPF only.
fn fix_of<'a>(summary: &'a DomainSummary, source: &SourceSummary) -> Option<&'a Blocking> {
    let e = &summary.analysis.enforcement;
    e.blocking
        .iter()
        .chain(&e.advice)
        .find(|b| b.source == source.key)
}

/// A bar of a source's passing and failing mail, as shares of the
/// busiest source's.
fn share_bar(source: &SourceSummary, busiest: u64) -> Markup {
    let busiest = busiest.max(1) as f64;
    let pass = source.dmarc_pass as f64 / busiest * 100.0;
    let fail = source.messages.saturating_sub(source.dmarc_pass) as f64 / busiest * 100.0;
    html! {
        svg.bar aria-hidden="true" focusable="false" {
            rect.pass x="0" y="0" width=(format!("{pass:.2}%")) height="100%" {}
            rect.fail x=(format!("{pass:.2}%")) y="0" width=(format!("{fail:.2}%")) height="100%" {}
        }
    }
}

fn ptr_names(source: &SourceSummary) -> Markup {
    html! {
        @for (i, ip) in source.ips.iter().take(3).enumerate() {
            @if i > 0 { br; }
            code { (ip.ip) } " "
            @match &ip.reverse_dns {
                ReverseDns::Confirmed { name } => { code { (shown(name)) } }
                ReverseDns::Unconfirmed { name } => { code { (shown(name)) } " " span.muted { "(does not resolve back)" } }
                ReverseDns::Missing => { span.muted { "no PTR" } }
                ReverseDns::Failed { .. } => { span.muted { "PTR lookup failed" } }
                ReverseDns::NotAsked => { span.muted { "PTR not asked" } }
            }
        }
        @if source.ip_count > 3 { br; span.muted { "and " (source.ip_count - 3) " more addresses" } }
    }
}

/// Names from reports, as code, separated by commas.
fn names<'a>(list: impl Iterator<Item = &'a str>) -> Markup {
    html! {
        @for (i, name) in list.enumerate() { @if i > 0 { ", " } code { (shown(name)) } }
    }
}

/// Domains a source used, with how many of their messages passed.
fn tallies(list: &[Tally]) -> Markup {
    html! {
        @for (i, t) in list.iter().enumerate() {
            @if i > 0 { ", " }
            code { (shown(&t.name)) }
            " (" (grouped(t.messages))
            @if let Some(passed) = t.passed { ", " (grouped(passed)) " passed" }
            ")"
        }
    }
}

fn class_word(class: Class) -> &'static str {
    match class {
        Class::Aligned => "aligned",
        Class::DkimOnly => "DKIM only",
        Class::SpfOnly => "SPF only",
        Class::Unaligned => "unaligned",
        Class::Forwarded => "forwarded",
        Class::Unauthenticated => "unauthenticated",
    }
}

fn sources(summary: &DomainSummary) -> Markup {
    let s = &summary.analysis.summary;
    let shown_sources: Vec<&SourceSummary> = s.sources.iter().take(MAX_SOURCES_SHOWN).collect();
    let busiest = shown_sources.iter().map(|x| x.messages).max().unwrap_or(0);
    let hidden = s.sources.len() - shown_sources.len() + s.unlisted.sources;
    html! {
        section #sources aria-labelledby="sources-h" {
            h2 #sources-h { "Who sends as " (shown(&summary.domain)) }
            figure.chart {
                figcaption { "Each source's passing and failing mail" }
                ul.bars aria-hidden="true" {
                    @for source in &shown_sources {
                        li { span.name { (shown(&source.name)) } (share_bar(source, busiest)) }
                    }
                }
                p.legend { (key("pass", "passed DMARC")) " " (key("fail", "failed DMARC")) }
            }
            (captioned_table("Messages per source", &["Source", "Messages", "Passed DMARC", "Failed", "Pass rate"], html! {
                @for source in &shown_sources {
                    tr {
                        th scope="row" { (shown(&source.name)) }
                        td { (grouped(source.messages)) }
                        td { (grouped(source.dmarc_pass)) }
                        td { (grouped(source.messages.saturating_sub(source.dmarc_pass))) }
                        td { (percent(source.dmarc_pass, source.messages)) }
                    }
                }
            }))
            ol.sources {
                @for source in &shown_sources {
                    li id=(anchor(&source.key)) class=(if source.looks_spoofed() { "source spoofing" } else { "source" }) {
                        h3 {
                            (shown(&source.name))
                            @if source.new == Some(true) { " " span.badge.s-info { "new" } }
                            @if source.looks_spoofed() { " " span.badge.s-error { "looks like spoofing" } }
                        }
                        dl.facts {
                            dt { "Service" }
                            dd { @match &source.service { Some(name) => { (shown(name)) }, None => { span.muted { "not a known service" } } } }
                            dt { "Addresses and PTR" } dd { (ptr_names(source)) }
                            dt { "Messages" } dd { (grouped(source.messages)) ", " (percent(source.dmarc_pass, source.messages)) " passed DMARC" }
                            dt { "Class" } dd { strong { (class_word(source.class)) } ": " (source.class.meaning()) }
                            @if !source.header_from.is_empty() { dt { "From domains" } dd { (tallies(&source.header_from)) } }
                            @if !source.dkim_domains.is_empty() { dt { "DKIM domains" } dd { (tallies(&source.dkim_domains)) } }
                            @if !source.spf_domains.is_empty() { dt { "SPF domains" } dd { (tallies(&source.spf_domains)) } }
                        }
                        @if let Some(fix) = fix_of(summary, source) {
                            p { span.label { "Fix: " } (shown(&fix.fix.summary)) }
                            @for record in &fix.fix.records {
                                @if record.exact {
                                    (publish(&record.name, &record.rtype, &record.value))
                                } @else {
                                    (to_change(&record.name, &record.rtype, &record.value))
                                }
                            }
                        }
                    }
                }
            }
            @if hidden > 0 {
                p.muted { "… and " (counted(hidden, "smaller source")) "; the JSON lists more." }
            }
        }
    }
}

fn new_sources(summary: &DomainSummary, with_period: bool) -> Markup {
    let s = &summary.analysis.summary;
    let new: Vec<&SourceSummary> = s.sources.iter().filter(|x| x.new == Some(true)).collect();
    html! {
        section #new-sources aria-labelledby="new-h" {
            h2 #new-h { "New since the period before" }
            @if !with_period {
                p.muted { "Choose a day above: the sources of the reports since then are compared \
                           with those of the period of the same length before it." }
            } @else if !s.previous_period {
                p.muted { "No reports are stored for the period before this one, so no source can \
                           be told new." }
            } @else if new.is_empty() {
                p { "No new source: every source of this period also sent in the period before." }
            } @else {
                ul {
                    @for source in new {
                        li { a href=(format!("#{}", anchor(&source.key))) { (shown(&source.name)) } ": " (counted(source.messages, "message")) ", " (percent(source.dmarc_pass, source.messages)) " passed DMARC" }
                    }
                }
            }
        }
    }
}

/// An id for a source's entry: its key with everything but letters and
/// digits as `-`.
fn anchor(key: &str) -> String {
    let cleaned: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("source-{cleaned}")
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

fn tally_table(caption: &str, what: &str, rows: &[TlsTally], more: Markup) -> Markup {
    html! {
        (captioned_table(caption, &[what, "Failed sessions"], html! {
            @for row in rows { tr { th scope="row" { code { (shown(&row.name)) } } td { (grouped(row.failed_sessions)) } } }
        }))
        (more)
    }
}

/// The line under a TLS list cut to its most failed entries.
fn unlisted(left_out: usize) -> Markup {
    html! {
        @if left_out > 0 {
            p.muted { "… and " (grouped(left_out)) " more, with fewer failed sessions." }
        }
    }
}

fn tls(summary: &DomainSummary) -> Markup {
    let t = &summary.tls;
    let labels: Vec<String> = t.days.iter().map(|d| d.day.to_string()).collect();
    let bars: Vec<Vec<(&str, u64)>> = t
        .days
        .iter()
        .map(|d| vec![("pass", d.successful_sessions), ("fail", d.failed_sessions)])
        .collect();
    let max = t
        .days
        .iter()
        .map(|d| d.successful_sessions.saturating_add(d.failed_sessions))
        .max()
        .unwrap_or(0);
    html! {
        section #tls aria-labelledby="tls-h" {
            h2 #tls-h { "TLS reports" }
            @if t.reports == 0 {
                p.muted { "No SMTP TLS report is stored for this domain. Publish a TLS-RPT record \
                           (" code { "_smtp._tls" } ") to get them." }
            } @else {
                p {
                    (counted(t.reports, "TLS report")) ": "
                    (grouped(t.successful_sessions)) " successful and " strong { (grouped(t.failed_sessions)) " failed" }
                    " TLS session" @if t.successful_sessions + t.failed_sessions != 1 { "s" } "."
                }
                @if !t.days.is_empty() {
                    (day_bars("TLS sessions per day", &labels, &bars, max))
                    p.legend { (key("pass", "successful")) " " (key("fail", "failed")) }
                    (captioned_table("TLS sessions per day", &["Day", "Successful", "Failed"], html! {
                        @for d in &t.days {
                            tr { th scope="row" { (d.day) } td { (grouped(d.successful_sessions)) } td { (grouped(d.failed_sessions)) } }
                        }
                    }))
                }
                @if !t.result_types.is_empty() { (tally_table("Failures per result type", "Result type", &t.result_types, unlisted(t.unlisted.result_types))) }
                @if !t.mx_hosts.is_empty() { (tally_table("Failures per receiving MX", "MX host", &t.mx_hosts, unlisted(t.unlisted.mx_hosts))) }
                (captioned_table("Sessions per policy", &["Policy", "Domain", "Successful", "Failed"], html! {
                    @for p in &t.policies {
                        tr { th scope="row" { (shown(&p.policy_type)) } td { code { (shown(&p.policy_domain)) } } td { (grouped(p.successful_sessions)) } td { (grouped(p.failed_sessions)) } }
                    }
                }))
                (unlisted(t.unlisted.policies))
            }
        }
    }
}

/// Where TLS reports about the domain are posted, as the record that
/// says so, or the button that makes it.
fn tls_reporting_section(domain: &str, offer: TlsReporting) -> Markup {
    let record = match offer {
        TlsReporting::Hidden => return html! {},
        TlsReporting::NotYet => {
            return html! {
                section #tls-rua aria-labelledby="tls-rua-h" {
                    h2 #tls-rua-h { "Receiving TLS reports" }
                    p {
                        "Mail servers that send to the domain can post their TLS reports here \
                         over HTTPS, to a URL of the domain's own with a secret part. Make it \
                         once; this page then shows the record to publish."
                    }
                    form method="post" action=(format!("/reports/dmarc/{domain}/tls-url")) {
                        button type="submit" { "Make the URL and its record" }
                    }
                }
            };
        }
        TlsReporting::Record(record) => record,
    };
    html! {
        section #tls-rua aria-labelledby="tls-rua-h" {
            h2 #tls-rua-h { "Receiving TLS reports" }
            p {
                "Publish this so TLS reports come here. Mail servers that send to the domain \
                 post their reports to the URL in it, without a key: its secret part lets in \
                 reports about this domain only, so share it only through this record."
            }
            @if let Some(host) = record.unreachable_host {
                p.problem role="note" {
                    @if record.from_base_url {
                        "This record names " code { (host) } ", the server's --base-url, which \
                         mail servers on the internet cannot post to over HTTPS. Have the \
                         server started with --base-url set to its public name, the one its \
                         certificate is for."
                    } @else {
                        "This record names " code { (host) } ", the address this page was opened \
                         at, which mail servers on the internet cannot post to over HTTPS. Open \
                         this page by the server's public name, the one its certificate is for, \
                         to get the record to publish."
                    }
                }
                // Not to be copied: no reporter can post to it.
                (without_copy("Not to publish as it stands", "Value", record.name, "TXT", record.value))
            } @else {
                (publish(record.name, "TXT", record.value))
            }
        }
    }
}

/// A DNS change described, not spelled out (the key a service gives, a
/// mechanism to add to a record): shown without copy buttons, as its
/// text is not the record to publish.
fn to_change(name: &str, rtype: &str, value: &str) -> Markup {
    without_copy("Change this record", "What goes there", name, rtype, value)
}

/// A record shown under `label` for reading, not copying: no copy
/// buttons, the value under `value_label`.
fn without_copy(label: &str, value_label: &str, name: &str, rtype: &str, value: &str) -> Markup {
    html! {
        div.record {
            p.label { (label) }
            dl {
                dt { "Name" } dd { code { (shown(name)) } }
                dt { "Type" } dd { code { (shown(rtype)) } }
                dt { (value_label) } dd { (shown(value)) }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

fn import_form(domain: &str, notice: &ImportNotice) -> Markup {
    if notice.key_needed {
        let login = format!("/login?next=/reports/dmarc/{domain}");
        return html! {
            section #import aria-labelledby="import-h" {
                h2 #import-h { "Import a report" }
                p {
                    "Anyone may read this page, but importing a report into it needs this \
                     server's API key. " a href=(login) { "Give the key" } " to import one."
                }
            }
        };
    }
    html! {
        form.check #import method="post" action=(format!("/reports/dmarc/{domain}")) enctype="multipart/form-data" {
            h2 { "Import a report" }
            @match notice.outcome.as_str() {
                "imported" => { p.notice role="status" { "The report was imported; the page above counts it." } },
                "duplicate" => { p.notice role="status" { "That report was already stored; it is counted once." } },
                _ => {},
            }
            @if let Some(problem) = &notice.problem {
                p.problem { (shown(problem)) }
            }
            label for="report" {
                "Report file " span.hint { "(a DMARC aggregate or TLS report: XML, JSON, gzip, zip, or the report email as received)" }
            }
            input #report type="file" name="report" required;
            button type="submit" { "Import" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_anchors_are_plain() {
        assert_eq!(anchor("ip:192.0.2.1"), "source-ip-192-0-2-1");
        assert_eq!(anchor("org:\"<x>"), "source-org---x-");
    }
}
