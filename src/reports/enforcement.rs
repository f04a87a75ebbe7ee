//! Is the domain ready for enforcement? A verdict for `p=quarantine` and
//! `p=reject` (RFC 9989 §4.7, §7.5: owners move from `none` to enforcing
//! once legitimate mail passes), the fix for each source in the way, and
//! the DMARC record to publish next.
//!
//! The rule, from a [`Summary`]:
//!
//! - **What enforcement would turn away**: the messages failing DMARC from
//!   legitimate-looking sources (a known service, a source some of whose
//!   mail passes, or mail authenticated as another domain), forwarded mail
//!   aside. Spoofing is what enforcement is for; forwarded mail whose own
//!   signature broke is judged by the receiver's forwarding rules (ARC),
//!   so it is counted and shown, not held against the domain.
//! - **Enough data**: at least [`MIN_DAYS`] days of reports and
//!   [`MIN_MESSAGES`] messages, or the verdict is `insufficient_data`.
//! - **`p=quarantine`** is `ready` when what it would turn away is at most
//!   [`QUARANTINE_TOLERANCE`] of all messages.
//! - **`p=reject`** is `ready` when that share is at most
//!   [`REJECT_TOLERANCE`], and no legitimate source fails for most of its
//!   own mail (a small sender whose every message would bounce — invoices,
//!   a help desk — is still a problem however small its share).
//!
//! The suggested record moves one step (none → quarantine → reject) when
//! the next step is ready, keeps the published policy otherwise, and
//! carries `rua` so reports keep coming. Each blocking source gets a fix
//! naming the DNS records to publish, from the service table when the
//! source is a known service.

use super::classify::Class;
use super::services::{Service, Services};
use super::summary::{SourceSummary, Summary, ratio};
use crate::records::dmarc::{Alignment, Policy};
use serde::Serialize;
use std::net::IpAddr;

/// Fewest days of reports a verdict rests on.
pub const MIN_DAYS: usize = 7;
/// Fewest messages a verdict rests on.
pub const MIN_MESSAGES: u64 = 100;
/// Largest share of mail `p=quarantine` may send to spam folders.
pub const QUARANTINE_TOLERANCE: f64 = 0.02;
/// Largest share of mail `p=reject` may bounce.
pub const REJECT_TOLERANCE: f64 = 0.005;

/// The verdict for one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ready,
    NotReady,
    InsufficientData,
}

/// Whether one policy can be published today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub policy: Policy,
    pub verdict: Verdict,
    /// Messages it would turn away, and their share of all messages.
    pub would_fail: u64,
    pub share: f64,
    pub tolerance: f64,
    pub explanation: String,
}

/// The readiness for enforcement of the domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enforcement {
    /// The `p` the most recent report found published.
    pub published: Option<Policy>,
    pub messages: u64,
    pub days: usize,
    pub quarantine: Readiness,
    pub reject: Readiness,
    /// Forwarded mail failing DMARC, not counted against the domain.
    pub forwarded: u64,
    /// The legitimate-looking sources whose mail would be turned away,
    /// busiest first, each with its fix.
    pub blocking: Vec<Blocking>,
    /// Sources that pass today but only by SPF, which forwarding breaks.
    pub advice: Vec<Blocking>,
    /// The DMARC record to publish next.
    pub next_record: String,
    pub next_step: String,
}

/// A source in the way (or at risk), and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocking {
    pub source: String,
    pub name: String,
    /// Its messages that would fail (for advice: that pass by SPF only).
    pub messages: u64,
    /// Their share of all messages.
    pub share: f64,
    /// Their share of the source's own messages.
    pub share_of_source: f64,
    pub class: Class,
    pub fix: Fix,
}

/// What to change, in words and as DNS records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub summary: String,
    pub records: Vec<DnsChange>,
}

/// One DNS record to publish or change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsChange {
    pub name: String,
    /// `TXT`, or `CNAME or TXT` where the service decides.
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
}

/// Judges a summary; `rua` is what the suggested record's `rua=` carries.
pub fn assess(summary: &Summary, services: &Services, rua: &[String]) -> Enforcement {
    let messages = summary.messages;
    let would_fail = summary
        .legitimate_failing
        .saturating_add(summary.unlisted.legitimate_failing);
    let share = ratio(would_fail, messages);
    let enough = summary.days.len() >= MIN_DAYS && messages >= MIN_MESSAGES;
    let blocking: Vec<Blocking> = summary
        .sources
        .iter()
        .filter(|s| s.legitimate && s.failing_not_forwarded() > 0)
        .map(|s| {
            let class = if s.messages_in(Class::Unaligned) >= s.messages_in(Class::Unauthenticated)
            {
                Class::Unaligned
            } else {
                Class::Unauthenticated
            };
            in_the_way(s, class, s.failing_not_forwarded(), messages, services)
        })
        .collect();
    let advice: Vec<Blocking> = summary
        .sources
        .iter()
        .filter(|s| s.messages_in(Class::SpfOnly) > 0)
        .map(|s| {
            in_the_way(
                s,
                Class::SpfOnly,
                s.messages_in(Class::SpfOnly),
                messages,
                services,
            )
        })
        .collect();
    let mostly_failing = blocking.iter().find(|b| b.share_of_source > 0.5);

    let judge = |policy: Policy, tolerance: f64| {
        let (verdict, explanation) = if !enough {
            (
                Verdict::InsufficientData,
                format!(
                    "{} day(s) and {messages} message(s) of reports; a verdict needs at least \
                     {MIN_DAYS} days and {MIN_MESSAGES} messages",
                    summary.days.len()
                ),
            )
        } else if share > tolerance {
            (
                Verdict::NotReady,
                format!(
                    "{would_fail} of {messages} messages ({}) from legitimate-looking sources \
                     fail DMARC; p={policy} would {}. Fix the sources listed first \
                     (at most {} may fail)",
                    percent(share),
                    action(policy),
                    percent(tolerance)
                ),
            )
        } else if let (Policy::Reject, Some(source)) = (policy, mostly_failing) {
            (
                Verdict::NotReady,
                format!(
                    "{} fails DMARC for {} of its own mail; p=reject would bounce it. \
                     Fix it first",
                    source.name,
                    percent(source.share_of_source)
                ),
            )
        } else {
            (
                Verdict::Ready,
                format!(
                    "{would_fail} of {messages} messages ({}) from legitimate-looking sources \
                     fail DMARC, within the {} p={policy} allows",
                    percent(share),
                    percent(tolerance)
                ),
            )
        };
        Readiness {
            policy,
            verdict,
            would_fail,
            share,
            tolerance,
            explanation,
        }
    };
    let quarantine = judge(Policy::Quarantine, QUARANTINE_TOLERANCE);
    let reject = judge(Policy::Reject, REJECT_TOLERANCE);

    let published = summary.published.as_ref().and_then(|p| p.p);
    let current = published.unwrap_or(Policy::None);
    let (next, next_step) = match current {
        Policy::None if quarantine.verdict == Verdict::Ready => (
            Policy::Quarantine,
            "publish p=quarantine; once reports stay clean, move to p=reject".to_string(),
        ),
        Policy::Quarantine if reject.verdict == Verdict::Ready => {
            (Policy::Reject, "publish p=reject".to_string())
        }
        Policy::Reject => (
            Policy::Reject,
            "p=reject is published; keep watching for new sources".to_string(),
        ),
        other => (
            other,
            format!(
                "keep p={other} and fix the sources listed; {}",
                if other == Policy::None {
                    quarantine.explanation.clone()
                } else {
                    reject.explanation.clone()
                }
            ),
        ),
    };
    Enforcement {
        published,
        messages,
        days: summary.days.len(),
        quarantine,
        reject,
        forwarded: summary.forwarded_failing,
        blocking,
        advice,
        next_record: next_record(summary, next, rua),
        next_step,
    }
}

fn action(policy: Policy) -> &'static str {
    match policy {
        Policy::Reject => "bounce them",
        _ => "send them to spam",
    }
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// The DMARC record with policy `p`, keeping the published `sp`, `np` and
/// strict alignment, and the given report addresses.
fn next_record(summary: &Summary, p: Policy, rua: &[String]) -> String {
    let mut tags = vec!["v=DMARC1".to_string(), format!("p={p}")];
    if let Some(published) = &summary.published {
        for (name, value) in [("sp", published.sp), ("np", published.np)] {
            if let Some(value) = value {
                tags.push(format!("{name}={value}"));
            }
        }
        for (name, value) in [("adkim", published.adkim), ("aspf", published.aspf)] {
            if value == Some(Alignment::Strict) {
                tags.push(format!("{name}=s"));
            }
        }
    }
    // A URI with a separator or whitespace would break the record.
    let uris: Vec<&str> = rua
        .iter()
        .map(|u| u.trim())
        .filter(|u| !u.is_empty() && !u.contains([';', ',', ' ', '\t']))
        .collect();
    if !uris.is_empty() {
        tags.push(format!("rua={}", uris.join(",")));
    }
    tags.join("; ")
}

fn in_the_way(
    source: &SourceSummary,
    class: Class,
    count: u64,
    total: u64,
    services: &Services,
) -> Blocking {
    let service = source.service.as_deref().and_then(|n| services.by_name(n));
    Blocking {
        source: source.key.clone(),
        name: source.name.clone(),
        messages: count,
        share: ratio(count, total),
        share_of_source: ratio(count, source.messages),
        class,
        fix: fix(source, class, service),
    }
}

/// The fix for a source, naming the records.
fn fix(source: &SourceSummary, class: Class, service: Option<&Service>) -> Fix {
    let from = source
        .header_from
        .first()
        .map_or("your domain", |t| t.name.as_str())
        .to_string();
    let who = service.map_or_else(|| source.name.clone(), |s| s.name.clone());
    let mut records = dkim_records(&from, service);
    let summary = match class {
        Class::SpfOnly => format!(
            "{who} passes only by SPF, which forwarding breaks: sign its mail with DKIM as \
             {from} and publish the key"
        ),
        Class::Unaligned => {
            let as_whom = passed_domains(source).unwrap_or_else(|| "another domain".into());
            let mut text = format!(
                "{who} authenticates as {as_whom}, not as {from}: set up DKIM for {from} in \
                 {who} and publish the key it gives you"
            );
            if let Some(include) = service.filter(|s| s.custom_mail_from).and_then(spf_include) {
                text.push_str(&format!(
                    ", or give it a MAIL FROM (return path) under {from} that SPF authorizes"
                ));
                records.push(DnsChange {
                    name: format!("bounce.{from}"),
                    rtype: "TXT".into(),
                    value: format!("v=spf1 include:{include} -all"),
                });
            }
            text
        }
        _ => match service.and_then(spf_include) {
            Some(include) => {
                let domain = mail_from_domain(source).unwrap_or_else(|| from.clone());
                records.push(DnsChange {
                    name: domain.clone(),
                    rtype: "TXT".into(),
                    value: format!("v=spf1 … include:{include} … (add the include to your record)"),
                });
                format!(
                    "{who} sends as {from} without authenticating: add include:{include} to \
                     the SPF record of {domain}, and set up DKIM for {from} in {who}"
                )
            }
            None => {
                let domain = mail_from_domain(source).unwrap_or_else(|| from.clone());
                let ips: Vec<IpAddr> = source.ips.iter().take(3).map(|i| i.ip).collect();
                let mechanisms: Vec<String> = ips
                    .iter()
                    .map(|ip| match ip {
                        IpAddr::V4(v4) => format!("ip4:{v4}"),
                        IpAddr::V6(v6) => format!("ip6:{v6}"),
                    })
                    .collect();
                records.push(DnsChange {
                    name: domain.clone(),
                    rtype: "TXT".into(),
                    value: format!("v=spf1 … {} … (add to your record)", mechanisms.join(" ")),
                });
                format!(
                    "some mail from {who} fails both DKIM and SPF: make sure it signs every \
                     message with DKIM as {from}, and that its addresses are in the SPF record \
                     of {domain}"
                )
            }
        },
    };
    Fix { summary, records }
}

fn spf_include(service: &Service) -> Option<&str> {
    service.spf_include.as_deref().filter(|i| !i.is_empty())
}

/// The DKIM key records for `from`: at the service's usual selectors, or
/// at a placeholder selector.
fn dkim_records(from: &str, service: Option<&Service>) -> Vec<DnsChange> {
    match service {
        Some(s) if !s.dkim_selectors.is_empty() => s
            .dkim_selectors
            .iter()
            .map(|selector| DnsChange {
                name: format!("{selector}._domainkey.{from}"),
                rtype: "CNAME or TXT".into(),
                value: format!("the DKIM record {} gives you for {from}", s.name),
            })
            .collect(),
        Some(s) => vec![DnsChange {
            name: format!("<selector>._domainkey.{from}"),
            rtype: "CNAME or TXT".into(),
            value: format!("the DKIM record {} gives you for {from}", s.name),
        }],
        None => vec![DnsChange {
            name: format!("<selector>._domainkey.{from}"),
            rtype: "TXT".into(),
            value: "v=DKIM1; k=rsa; p=<the public key of the signing server>".into(),
        }],
    }
}

/// The domains SPF or DKIM passed for, busiest first.
fn passed_domains(source: &SourceSummary) -> Option<String> {
    let names: Vec<&str> = source
        .dkim_domains
        .iter()
        .chain(&source.spf_domains)
        .filter(|t| t.passed.unwrap_or(0) > 0)
        .map(|t| t.name.as_str())
        .take(3)
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The source's busiest MAIL FROM domain.
fn mail_from_domain(source: &SourceSummary) -> Option<String> {
    source.spf_domains.first().map(|t| t.name.clone())
}
