//! The parts every report page has, in the order a reader needs them: the
//! verdict in one sentence, the provider checklist, the findings worst
//! first with their fix and the records to publish, and (collapsed) the
//! DNS questions asked.
//!
//! Every value shown here came from DNS or a message; maud escapes it as
//! HTML, and [`shown`] first makes its control characters visible, as the
//! text format does, so a TXT record cannot hide text behind a bidi
//! override.

use super::layout::table;
use super::view::{Common, Dns, Finding, Requirement};
use crate::dns::trace::{Source, TraceEntry};
use crate::domain::report::title;
use maud::{Markup, html};
use std::borrow::Cow;

/// Outside text as a page shows it: control and bidi characters as
/// visible escapes (HTML escaping is maud's).
pub fn shown(text: &str) -> Cow<'_, str> {
    crate::untrusted::escape_controls(text)
}

/// Text in a `code` element of `class` that a narrow column wraps only
/// after one of `after` (a DNS name after its dots, a finding code after
/// its dots and underscores), never inside a label or word.
pub fn breakable(class: &str, text: &str, after: &[char]) -> Markup {
    html! { code class=(class) { @for piece in text.split_inclusive(after) { (piece) wbr; } } }
}

/// Prose from a finding or the catalog, where text between backquotes is a
/// literal (a record, a tag, a flag): shown as code. Text with an unpaired
/// backquote is shown as it is.
pub fn prose(text: &str) -> Markup {
    let pieces: Vec<&str> = text.split('`').collect();
    if pieces.len().is_multiple_of(2) {
        return html! { (shown(text)) };
    }
    html! {
        @for (i, piece) in pieces.iter().enumerate() {
            @if i % 2 == 1 { code { (shown(piece)) } } @else { (shown(piece)) }
        }
    }
}

/// The verdict box: the verdict in a word, and the report's sentence
/// saying what receivers will do with the mail.
pub fn verdict(common: &Common) -> Markup {
    let class = match common.verdict.as_str() {
        "pass" => "verdict v-pass",
        "warn" => "verdict v-warn",
        "fail" => "verdict v-fail",
        _ => "verdict v-unknown",
    };
    let word = match common.verdict.as_str() {
        "pass" => "Pass",
        "warn" => "Warnings",
        "fail" => "Fail",
        _ => "Could not be checked",
    };
    html! {
        div class=(class) role="status" {
            p { span.badge { (word) } }
            p.sentence { (shown(&common.summary)) }
        }
    }
}

/// The checks a failed DNS lookup left undecided, as (check, which lookup
/// failed), each headed by its title; nothing when there are none.
pub fn undecided<'a>(checks: impl Iterator<Item = (&'a str, &'a str)>) -> Markup {
    let checks: Vec<_> = checks.collect();
    html! {
        @if !checks.is_empty() {
            section.problem aria-labelledby="undecided-h" {
                h2 #undecided-h { "Could not be checked" }
                p { "A DNS lookup failed, so these checks are not known to be right or wrong — \
                     the records are not missing. Run the check again; if it keeps failing, \
                     the domain's name servers are not answering." }
                ul {
                    @for (check, reason) in checks {
                        li { (title(check).unwrap_or(check)) ": " (shown(reason)) }
                    }
                }
            }
        }
    }
}

/// The Gmail, Yahoo and Microsoft checklist.
pub fn checklist(requirements: &[Requirement]) -> Markup {
    html! {
        section #checklist aria-labelledby="checklist-h" {
            h2 #checklist-h { "Gmail, Yahoo and Microsoft sender requirements" }
            (table(&["Status", "Provider", "Rule"], html! {
                @for r in requirements {
                    tr {
                        td { span class=(format!("badge st-{}", status_class(&r.status))) { (r.status) } }
                        td { (r.provider) }
                        td {
                            (r.rule)
                            @if r.status != "met" && !r.note.is_empty() {
                                br; span.muted { (shown(&r.note)) }
                            }
                        }
                    }
                }
            }))
        }
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "met" => "met",
        "unmet" => "unmet",
        _ => "unknown",
    }
}

fn severity_rank(severity: &str) -> u8 {
    match severity {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    }
}

fn severity_class(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        _ => "info",
    }
}

/// The findings, worst first: code (linking to its catalog page), title,
/// detail, why, fix, and each record the fix asks for as a block to copy.
pub fn findings(findings: &[Finding]) -> Markup {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| severity_rank(&f.severity));
    html! {
        section #findings aria-labelledby="findings-h" {
            h2 #findings-h { "Findings" }
            @if sorted.is_empty() {
                p { "No problems found." }
            }
            ol.findings {
                @for f in sorted {
                    @let class = severity_class(&f.severity);
                    li class=(format!("finding f-{class}")) {
                        h3 {
                            span class=(format!("badge s-{class}")) { (class) } " "
                            a href=(format!("/findings/{}", f.code)) { code { (f.code) } } " "
                            (f.title)
                        }
                        p.detail { (prose(&f.detail)) }
                        @if !f.why.is_empty() {
                            p { span.label { "Why it matters: " } (prose(&f.why)) }
                        }
                        @if !f.fix.is_empty() {
                            p { span.label { "Fix: " } (prose(&f.fix)) }
                        }
                        @for record in &f.publish {
                            (publish(&record.name, &record.rtype, &record.value))
                        }
                    }
                }
            }
        }
    }
}

/// A DNS record to publish, as a block whose name and value each have
/// a copy button (with JavaScript on; selectable text without).
pub fn publish(name: &str, rtype: &str, value: &str) -> Markup {
    html! {
        div.record {
            p.label { "Publish this record" }
            dl {
                dt { "Name" } dd { pre data-copy="name" { (shown(name)) } }
                dt { "Type" } dd { code { (shown(rtype)) } }
                dt { "Value" } dd { pre data-copy="value" { (shown(value)) } }
            }
        }
    }
}

/// The DNS questions the report asked, collapsed.
pub fn dns(dns: &Dns) -> Markup {
    let plural = if dns.queries == 1 { "" } else { "s" };
    html! {
        section #dns aria-labelledby="dns-h" {
            h2 #dns-h { "DNS" }
            details {
                summary { "The " (dns.queries) " DNS lookup" (plural) " behind this report" }
                // Where some were not asked at all, the problems below
                // say so instead.
                @let all_asked = !dns.budget_exhausted && !dns.deadline_passed;
                @if all_asked && dns.upstream_queries == 0 && dns.queries > 0 {
                    p { "mailvet answered all of them from its cache or a zone file, \
                        without asking the DNS servers again." }
                } @else if all_asked && dns.upstream_queries < dns.queries {
                    p { (dns.upstream_queries) " of them went to the DNS servers; mailvet \
                        answered the others from its cache or a zone file." }
                }
                @if dns.budget_exhausted {
                    p.problem { "The DNS question budget of this request ran out: the checks that \
                                 needed more questions could not be done." }
                }
                @if dns.deadline_passed {
                    p.problem { "The DNS time of this request ran out: questions asked after it \
                                 were not sent, and the checks that needed them could not be done." }
                }
                @if let Some(trace) = &dns.trace {
                    (table(&["Name", "Type", "Answer", "From", "ms"], html! {
                        @for q in trace {
                            tr {
                                td { (breakable("name", &shown(&q.name), &['.'])) }
                                td.short { (q.rtype) }
                                td {
                                    @if q.rcode != "NOERROR" || q.answers.is_empty() { (q.rcode) " " }
                                    @for a in &q.answers { code { (shown(a)) } br; }
                                }
                                td.words { (answered_by(q)) }
                                td.short { (format!("{:.1}", q.ms)) }
                            }
                        }
                    }))
                }
            }
        }
    }
}

/// Where one answer came from, in words for a reader who does not run DNS:
/// a name asked twice in a report is asked of the servers once.
fn answered_by(q: &TraceEntry) -> Cow<'_, str> {
    match (q.source, &q.server) {
        (Source::Upstream, Some(server)) => shown(server),
        (Source::Upstream, None) => Cow::Borrowed("DNS server"),
        (Source::Cache, _) => Cow::Borrowed("asked before"),
        (Source::Overlay, _) => Cow::Borrowed("zone file"),
        (Source::NotSent, _) => Cow::Borrowed("not asked (budget spent)"),
        (Source::Late, _) => Cow::Borrowed("not asked (time was up)"),
    }
}

/// The three shared parts after the verdict, in page order.
pub fn checklist_and_findings(common: &Common) -> Markup {
    html! {
        (checklist(&common.requirements))
        (findings(&common.findings))
    }
}

#[cfg(test)]
mod tests {
    use super::{Dns, breakable, dns, prose};

    #[test]
    fn a_name_or_code_breaks_only_after_its_separators() {
        assert_eq!(
            breakable("name", "_dmarc.web_shop.test", &['.']).into_string(),
            r#"<code class="name">_dmarc.<wbr>web_shop.<wbr>test<wbr></code>"#
        );
        assert_eq!(
            breakable("code", "dkim.no_selector_found", &['.', '_']).into_string(),
            r#"<code class="code">dkim.<wbr>no_<wbr>selector_<wbr>found<wbr></code>"#
        );
    }

    #[test]
    fn the_dns_section_says_where_the_answers_came_from() {
        let said = |queries, upstream_queries| {
            dns(&Dns {
                queries,
                upstream_queries,
                ..Dns::default()
            })
            .into_string()
        };
        let all_asked = said(12, 12);
        assert!(all_asked.contains("The 12 DNS lookups behind this report"));
        assert!(!all_asked.contains("cache"), "{all_asked}");
        let some_cached = said(12, 5);
        assert!(
            some_cached.contains(
                "5 of them went to the DNS servers; mailvet answered the others from its \
                 cache or a zone file."
            ),
            "{some_cached}"
        );
        let all_cached = said(12, 0);
        assert!(
            all_cached.contains(
                "mailvet answered all of them from its cache or a zone file, without asking \
                 the DNS servers again."
            ),
            "{all_cached}"
        );
        assert!(said(1, 1).contains("The 1 DNS lookup behind this report"));
        // Questions too late to send are not "answered from the cache".
        let late = dns(&Dns {
            queries: 12,
            upstream_queries: 0,
            deadline_passed: true,
            ..Dns::default()
        })
        .into_string();
        assert!(!late.contains("cache"), "{late}");
        assert!(
            late.contains("The DNS time of this request ran out"),
            "{late}"
        );
    }

    #[test]
    fn backquoted_text_is_code_and_everything_is_escaped() {
        assert_eq!(
            prose("publish `v=spf1 -all` at <the> apex").into_string(),
            "publish <code>v=spf1 -all</code> at &lt;the&gt; apex"
        );
        assert_eq!(
            prose("an unpaired ` stays <as> it is").into_string(),
            "an unpaired ` stays &lt;as&gt; it is"
        );
    }
}
