//! `/domains/{domain}`: the posture report of one domain — the verdict
//! sentence, the checklist, the findings with their records to publish,
//! the SPF include tree with what each branch costs, the DMARC policy
//! that applies and where it was found, every protocol's state, and the
//! DNS questions asked.

use super::report::{self, shown};
use super::view::Common;
use crate::domain::dmarc::DmarcSection;
use crate::domain::protocol::Audited;
use crate::domain::protocol::status_word;
use crate::domain::report::DomainReport;
use crate::domain::spf::{Node, NodeStatus, SpfSection};
use crate::domain::transport::{TlsSession, TransportSection, version_name};
use crate::spf::eval::MAX_DNS_TERMS;
use maud::{Markup, html};

/// The page of one domain's report; `selectors` are those asked for, kept
/// in the link to the report's JSON (with `probe=smtp` when the mail
/// servers were probed).
pub fn page(report: &DomainReport, selectors: &[String]) -> String {
    let common: Common = serde_json::to_value(report)
        .and_then(serde_json::from_value)
        .unwrap_or_default();
    let name = &report.domain_unicode;
    let json = format!(
        "/v1{}",
        permalink(&report.domain, selectors, report.transport.probed)
    );
    super::layout::page(
        &format!("{name}: email authentication report"),
        html! {
            h1 {
                "Email authentication of " (shown(name))
                @if report.domain_unicode != report.domain { " (" (report.domain) ")" }
            }
            (report::verdict(&common))
            (report::undecided(report.undecided.iter().map(|u| (u.check, u.reason.as_str()))))
            (report::checklist_and_findings(&common))
            (spf_tree(&report.spf))
            (dmarc_policy(&report.dmarc))
            p {
                "What receivers see of the mail sent as " (shown(name)) ": "
                a href=(format!("/reports/dmarc/{}", report.domain)) { "its DMARC reports" }
            }
            @if report.transport.probed { (transport(&report.transport)) }
            section #protocols aria-labelledby="protocols-h" {
                h2 #protocols-h { "Every protocol at a glance" }
                dl.facts {
                    @for section in report.sections() {
                        dt { (section.protocol().title) }
                        dd { (shown(&section.summary())) }
                    }
                }
            }
            (report::dns(&common.dns))
            p { "This report as JSON: " a href=(json) { (json) } }
        },
    )
}

/// The page of a domain's report: `/domains/{domain}` with each selector
/// as `?selector=` and `probe=smtp` when the mail servers are probed; its
/// JSON is at the same path under `/v1`.
pub fn permalink(domain: &str, selectors: &[String], probe: bool) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for s in selectors {
        query.append_pair("selector", s);
    }
    if probe {
        query.append_pair("probe", "smtp");
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/domains/{domain}")
    } else {
        format!("/domains/{domain}?{query}")
    }
}

/// The SMTP probe, one row per MX address: how far the session went, the
/// certificate's verdicts and DANE's.
fn transport(section: &TransportSection) -> Markup {
    html! {
        section #transport aria-labelledby="transport-h" {
            h2 #transport-h { "TLS at each mail server" }
            p { "Each MX address was connected to on port " (section.port) ". An address that \
                 could not be tested from here says nothing about its TLS: many networks block \
                 port 25." }
            table.transport {
                thead { tr { th { "MX host" } th { "Address" } th { "TLS" } th { "Certificate" } th { "DANE" } } }
                tbody {
                    @for a in &section.addresses {
                        tr {
                            td { (shown(&a.host)) }
                            td { code { (a.address) } }
                            td {
                                @match &a.tls {
                                    Some(tls) => { (shown(&version_name(&tls.version))) }
                                    None => { (shown(&status_word(&a.status))) }
                                }
                                @if let Some(reason) = &a.reason { br; span.muted { (shown(reason)) } }
                            }
                            td { (certificate(a.tls.as_ref())) }
                            td {
                                @if let Some(dane) = &a.dane {
                                    (shown(&status_word(&dane.status)))
                                    @if let Some(record) = &dane.record { br; code { (shown(record)) } }
                                    @if let Some(reason) = &dane.reason { br; span.muted { (shown(reason)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn certificate(tls: Option<&TlsSession>) -> Markup {
    let Some(cert) = tls.and_then(|t| t.certificate.as_ref()) else {
        return html! { "—" };
    };
    let mut verdicts = Vec::new();
    if !cert.trusted {
        verdicts.push("untrusted".to_string());
    }
    if !cert.name_matches {
        verdicts.push("wrong name".into());
    }
    verdicts.push(if cert.expired() {
        format!("expired {}", cert.not_after)
    } else {
        format!("expires {} ({} days)", cert.not_after, cert.days_to_expiry)
    });
    html! {
        (shown(&cert.subject)) br;
        span.muted { (shown(&verdicts.join(", "))) }
    }
}

fn spf_tree(spf: &SpfSection) -> Markup {
    html! {
        section #spf aria-labelledby="spf-h" {
            h2 #spf-h { "SPF include tree" }
            p {
                "Receivers stop at " (MAX_DNS_TERMS) " DNS lookups; this record takes "
                strong { (spf.lookups) } @if !spf.complete { " or more" } ", and "
                (spf.void_lookups) " that found nothing (at most 2 allowed). It ends in "
                code { (spf.all) } "."
            }
            ul.tree { (node(&spf.tree)) }
        }
    }
}

fn node_status(status: NodeStatus) -> Option<&'static str> {
    Some(match status {
        NodeStatus::Ok => return None,
        NodeStatus::Missing => "no SPF record",
        NodeStatus::MultipleRecords => "several SPF records: receivers treat this as an error",
        NodeStatus::Syntax => "the record does not parse",
        NodeStatus::DnsError => "could not be checked: the DNS lookup failed",
        NodeStatus::Loop => "loop: this record includes itself",
        NodeStatus::NotFollowed => "uses macros, so it depends on the message; not followed",
        NodeStatus::TooDeep => "too deep to show",
        NodeStatus::NotWalked => "not fetched: the tree reached its size limit",
    })
}

fn node(n: &Node) -> Markup {
    // An include or redirect costs its own lookup on top of its record's.
    let cost = n.lookups + usize::from(n.via.is_some());
    html! {
        li {
            @if let Some(via) = &n.via { code { (shown(via)) } " → " }
            strong { (shown(&n.domain)) }
            " " span.cost { "(" (cost) " DNS lookup" @if cost != 1 { "s" } ")" }
            @if n.repeated { " " span.muted { "repeated; shown where it first appears" } }
            @if let Some(status) = node_status(n.status) {
                " " span.badge.s-warning { (status) }
            }
            @if let Some(detail) = &n.detail { br; span.muted { (shown(detail)) } }
            @if let Some(record) = &n.record { pre { (shown(record)) } }
            @if !n.void.is_empty() {
                p.muted { "Found nothing (void lookups): "
                    @for (i, v) in n.void.iter().enumerate() { @if i > 0 { ", " } code { (shown(v)) } }
                }
            }
            @if n.omitted > 0 { p.muted { (n.omitted) " more not shown (counted in the cost)" } }
            @if !n.children.is_empty() {
                ul { @for c in &n.children { (node(c)) } }
            }
        }
    }
}

fn dmarc_policy(dmarc: &DmarcSection) -> Markup {
    html! {
        section #dmarc aria-labelledby="dmarc-h" {
            h2 #dmarc-h { "DMARC policy" }
            @match (&dmarc.policy, &dmarc.record_name) {
                (Some(policy), Some(name)) => {
                    p {
                        "Receivers apply " strong { "p=" (policy.as_str()) }
                        @if let Some(tag) = dmarc.policy_tag { " (from the " code { (tag) } " tag" @if dmarc.testing { ", one step softer because of t=y" } ")" }
                        " to mail that fails DMARC, found at " code { (shown(name)) }
                        @if dmarc.inherited { ", inherited from the organizational domain" }
                        "."
                    }
                    @if let Some(record) = &dmarc.record { pre { (shown(record)) } }
                    dl.facts {
                        @if let Some(sp) = dmarc.subdomain_policy { dt { "Subdomains" } dd { "p=" (sp.as_str()) } }
                        @if let Some(np) = dmarc.nonexistent_subdomain_policy { dt { "Non-existent subdomains" } dd { "p=" (np.as_str()) } }
                        @if let Some(pct) = dmarc.pct { dt { "pct" } dd { (pct) } }
                    }
                }
                _ => {
                    p { (shown(&dmarc.summary())) }
                }
            }
        }
    }
}
