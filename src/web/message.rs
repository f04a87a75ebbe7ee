//! `/reports/{id}`: a saved message report — the verdict sentence, the
//! checklist, the findings with their records to publish, the DMARC
//! policy that applies and where it was found, each DKIM signature, SPF,
//! DMARC alignment and ARC hop, the DNS blocklists and the content, the DNS
//! questions asked, and the link to the same report as JSON.
//!
//! It renders the report as saved (JSON, read through [`super::view`]),
//! so the page and `GET /v1/reports/{id}` always show the same report.

use super::layout::table;
use super::report::{self, shown};
use super::view::{Identifier, Message, SpfCheck};
use maud::{Markup, html};

/// The page of the saved report `id`, which expires at `expires_at`
/// (seconds since the Unix epoch).
pub fn page(report: &Message, id: &str, expires_at: u64) -> String {
    let json = format!("/v1/reports/{id}");
    let subject = report.headers.subject.as_deref().unwrap_or("(no subject)");
    super::layout::page(
        &format!("Message report: {}", shown(subject)),
        html! {
            h1 { "Message report" }
            dl.facts {
                dt { "Subject" } dd { (shown(subject)) }
                dt { "From" } dd { @for (i, f) in report.headers.from.iter().enumerate() { @if i > 0 { ", " } (shown(f)) } }
                @if let Some(date) = &report.headers.date { dt { "Date" } dd { (shown(date)) } }
            }
            (report::verdict(&report.common))
            (report::undecided(report.undecided.iter().map(|u| (u.check.as_str(), u.reason.as_str()))))
            (grade(report))
            (report::checklist_and_findings(&report.common))
            (dmarc_policy(report))
            (dkim(report))
            (spf(report))
            (alignment(report))
            (arc(report))
            (blocklists(report))
            (content(report))
            section #envelope aria-labelledby="envelope-h" {
                h2 #envelope-h { "Envelope and headers" }
                dl.facts {
                    @for (label, field) in [("Sending IP", &report.envelope.ip), ("HELO", &report.envelope.helo), ("MAIL FROM", &report.envelope.mail_from)] {
                        dt { (label) }
                        dd {
                            @match &field.value { Some(v) => code { (shown(v)) }, None => "unknown" }
                            " " span.muted { "(" (source(&field.source, report.smtp.is_some())) ")" }
                        }
                    }
                    @if let Some(iprev) = &report.iprev {
                        dt { "Reverse DNS" } dd { (iprev.result) " for " (shown(&iprev.ip)) }
                    }
                    @if let Some(id) = &report.headers.message_id { dt { "Message-ID" } dd { code { (shown(id)) } } }
                }
                h3 { "Authentication-Results" }
                // Each of its folds on a line of its own; anything else
                // from the message stays escaped.
                pre {
                    @for (i, part) in report.authentication_results.split("\r\n\t").enumerate() {
                        @if i > 0 { "\n    " }
                        (shown(part))
                    }
                }
            }
            @if let Some(smtp) = &report.smtp { (super::inbox::arrival(smtp)) }
            (report::dns(&report.common.dns))
            p {
                "This report as JSON: " a href=(json) { (json) }
                br;
                span.muted { "Kept until " (utc(expires_at)) " (UTC); anyone with the link can read it until then." }
            }
        },
    )
}

/// Where an envelope value came from; a test message's envelope is the
/// one its SMTP session gave, not one a person typed.
fn source(source: &str, over_smtp: bool) -> &'static str {
    match source {
        "given" if over_smtp => "as it arrived",
        "given" => "as given",
        "received" => "read from a Received header",
        "return_path" => "read from Return-Path",
        _ => "neither given nor in the headers",
    }
}

/// A date and time, `2026-12-03 01:30`.
pub(super) fn utc(seconds: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn dmarc_policy(report: &Message) -> Markup {
    let d = &report.dmarc;
    html! {
        section #dmarc aria-labelledby="dmarc-h" {
            h2 #dmarc-h { "DMARC policy" }
            p { strong { "DMARC " (d.result) } ": " (shown(&d.reason)) }
            @match (&d.policy, &d.record) {
                (Some(policy), Some(record)) => {
                    p {
                        "Receivers apply " strong { "p=" (policy) }
                        @if let Some(tag) = &d.policy_tag { " (from the " code { (tag) } " tag" @if d.testing { ", one step softer because of t=y" } ")" }
                        " to this domain's failing mail, found at " code { (shown(&record.name)) }
                        @if record.inherited { ", inherited from " (shown(&record.domain)) }
                        "."
                    }
                    pre { (shown(&record.text)) }
                }
                _ => { p { "No DMARC policy applies to this message." } }
            }
        }
    }
}

fn dkim(report: &Message) -> Markup {
    html! {
        section #dkim aria-labelledby="dkim-h" {
            h2 #dkim-h { "DKIM signatures" }
            @if report.dkim.is_empty() {
                p { "The message carries no DKIM signature." }
            } @else {
                (table(&["Result", "Domain (d=)", "Selector (s=)", "Algorithm and key"], html! {
                    @for s in &report.dkim {
                        tr {
                            td {
                                strong { (s.result) }
                                @if let Some(reason) = &s.reason { br; span.muted { (shown(reason)) } }
                            }
                            td { code { (shown(s.domain.as_deref().unwrap_or("?"))) } }
                            td { code { (shown(s.selector.as_deref().unwrap_or("?"))) } }
                            td {
                                (shown(s.algorithm.as_deref().unwrap_or("?")))
                                @if let Some(bits) = s.key_bits { ", " (bits) "-bit key" }
                            }
                        }
                    }
                }))
            }
        }
    }
}

fn spf_check(label: &str, check: &SpfCheck) -> Markup {
    html! {
        dt { (label) }
        dd {
            strong { (check.result) } " for " code { (shown(&check.sender)) } " from " (shown(&check.client_ip))
            br;
            span.muted { (check.lookups.count) " DNS lookups, " (check.lookups.void) " void" }
            @for r in &check.records { pre { (shown(&r.domain)) ": " (shown(&r.record)) } }
        }
    }
}

fn spf(report: &Message) -> Markup {
    let s = &report.spf;
    html! {
        section #spf aria-labelledby="spf-h" {
            h2 #spf-h { "SPF" }
            dl.facts {
                @if let Some(check) = &s.mailfrom { (spf_check("MAIL FROM", check)) }
                @if let Some(check) = &s.helo { (spf_check("HELO", check)) }
            }
            @if s.mailfrom.is_none() {
                p { strong { (s.result) } @if let Some(reason) = &s.reason { ": " (shown(reason)) } }
            }
        }
    }
}

/// An alignment mode (`aspf`, `adkim`) in words.
fn mode(mode: &str) -> &'static str {
    match mode {
        "s" => "strict",
        _ => "relaxed",
    }
}

fn identifier(kind: &str, i: &Identifier) -> Markup {
    let aligned = match i.aligned {
        Some(true) => "aligned with From",
        Some(false) => "not aligned with From",
        None => "alignment unknown",
    };
    html! {
        tr {
            td { (kind) }
            td { code { (shown(&i.domain)) } }
            td { (i.result) }
            td {
                (aligned)
                @if i.aligned_pass { " — makes DMARC pass" }
                @if let Some(p) = &i.problem { br; span.muted { (shown(p)) } }
            }
        }
    }
}

fn alignment(report: &Message) -> Markup {
    let d = &report.dmarc;
    html! {
        section #alignment aria-labelledby="alignment-h" {
            h2 #alignment-h { "DMARC alignment" }
            p {
                "From domain: " code { (shown(d.from_domain.as_deref().unwrap_or("?"))) }
                ". SPF gives " strong { (d.spf.result) } " (" (mode(&d.spf.mode)) " alignment), DKIM gives "
                strong { (d.dkim.result) } " (" (mode(&d.dkim.mode)) " alignment)."
            }
            (table(&["Method", "Domain", "Result", "Alignment"], html! {
                @if let Some(i) = &d.spf.identifier { (identifier("SPF", i)) }
                @for i in &d.dkim.signatures { (identifier("DKIM", i)) }
            }))
        }
    }
}

fn arc(report: &Message) -> Markup {
    let a = &report.arc;
    html! {
        section #arc aria-labelledby="arc-h" {
            h2 #arc-h { "ARC" }
            p { "Chain: " strong { (a.result) } @if let Some(reason) = &a.reason { " — " (shown(reason)) } }
            @if !a.hops.is_empty() {
                (table(&["Hop", "Sealed by", "Chain before (cv=)", "Signed by", "Results by"], html! {
                    @for h in &a.hops {
                        tr {
                            td { (h.instance) }
                            td { (shown(h.sealer.as_deref().unwrap_or("?"))) }
                            td { (shown(h.cv.as_deref().unwrap_or("?"))) }
                            td { (shown(h.signer.as_deref().unwrap_or("?"))) }
                            td { (shown(h.authserv_id.as_deref().unwrap_or("?"))) }
                        }
                    }
                }))
            }
        }
    }
}

/// The grade, beside (never instead of) the findings below it.
fn grade(report: &Message) -> Markup {
    html! {
        @if let Some(grade) = report.grade {
            p.grade { "Grade: " strong { (format!("{grade:.1}")) } " / 10, from the findings below: each kind of error or warning lowers it by its severity's weight." }
        }
    }
}

fn blocklists(report: &Message) -> Markup {
    html! {
        @if let Some(b) = &report.blocklists {
            section #blocklists aria-labelledby="blocklists-h" {
                h2 #blocklists-h { "DNS blocklists" }
                @if let Some(note) = &b.note { p { (shown(note)) } }
                @if !b.lists.is_empty() {
                    div.scroll tabindex="0" {
                        table {
                            thead { tr { th scope="col" { "List" } th scope="col" { "Result for " (shown(&b.ip)) } th scope="col" { "Codes" } th scope="col" { "Reason" } } }
                            tbody {
                                @for l in &b.lists {
                                    tr {
                                        td { code { (shown(&l.zone)) } }
                                        td { strong { (match l.result.as_str() { "listed" => "listed", "not_listed" => "not listed", _ => "could not check" }) } }
                                        td { (shown(&l.codes.join(", "))) }
                                        td { (shown(l.reason.as_deref().unwrap_or(""))) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn content(report: &Message) -> Markup {
    html! {
        @if let Some(c) = &report.content {
            section #content aria-labelledby="content-h" {
                h2 #content-h { "Content" }
                p {
                    (c.size) " bytes; "
                    (match (c.text_part, c.html_part) { (true, true) => "text and HTML versions", (false, true) => "HTML only", (true, false) => "text only", _ => "no text body" })
                    "; " (c.images) " image(s); " (c.links) " link(s)."
                }
                @if !c.link_hosts.is_empty() {
                    ul {
                        @for h in &c.link_hosts {
                            li {
                                code { (shown(&h.host)) } " — " (h.links) " link(s)"
                                @if h.aligned == Some(false) { ", not the From domain's" }
                                @if h.shortener { ", a URL shortener" }
                            }
                        }
                    }
                }
            }
        }
    }
}
