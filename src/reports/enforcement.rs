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
//!   [`QUARANTINE_TOLERANCE`] of all messages, **`p=reject`** when that
//!   share is at most [`REJECT_TOLERANCE`]; and, for both, no legitimate
//!   source (as [`Summary`] groups them: a service, an organization, an
//!   IP) fails for most of its own mail. A small sender whose every
//!   message would go to spam or bounce — invoices, a help desk — is a
//!   problem however small its share.
//!
//! The suggested record is the [`LiveRecord`] the domain publishes now
//! with one step made (none → quarantine → reject on `p`; once `p=reject`,
//! the same on `sp`) when that step is ready, every other tag kept as
//! written. With no record published it is a new one that carries `rua`
//! (a placeholder when no address is known) so reports keep coming; when
//! the live record cannot be read there is none to suggest, since editing
//! a record nobody has seen would drop its tags. Each blocking source gets
//! a fix naming the DNS records to publish, from the service table when
//! the source is a known service.

use super::classify::Class;
use super::services::{Service, Services};
use super::summary::{SourceSummary, Summary, counted, grouped, percent, ratio};
use crate::records::dmarc::{DmarcRecord, Policy, WrittenTags};
use crate::spf::record::listable;
use serde::Serialize;

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

/// The DMARC record at `_dmarc.<domain>` when the summary is made, which
/// the suggestion edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LiveRecord {
    /// One valid DMARC record, as written, and its parse.
    Published {
        record: String,
        #[serde(skip)]
        parsed: DmarcRecord,
    },
    /// The name exists without a DMARC record, or does not exist.
    Absent,
    /// The records there are several or invalid: receivers ignore them
    /// until the owner mends them.
    Invalid { reason: String },
    /// The DNS lookup failed: what is there is not known until it is
    /// asked again.
    Unreadable { reason: String },
}

impl LiveRecord {
    /// Why the record cannot be edited, when it cannot.
    fn not_editable(&self) -> Option<&str> {
        match self {
            LiveRecord::Invalid { reason } | LiveRecord::Unreadable { reason } => Some(reason),
            LiveRecord::Published { .. } | LiveRecord::Absent => None,
        }
    }
}

/// What a new record's `rua` holds when no report address is known.
pub const RUA_PLACEHOLDER: &str = "mailto:<the address that receives your reports>";

/// The readiness for enforcement of the domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enforcement {
    /// The `p` of the live record (`None` when there is none, or it could
    /// not be read).
    pub published: Option<Policy>,
    /// The `p` the most recent report found published.
    pub reported: Option<Policy>,
    pub live: LiveRecord,
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
    /// The DMARC record to publish next; none when the live record could
    /// not be read.
    pub next_record: Option<String>,
    pub next_step: String,
}

impl Enforcement {
    /// The record to publish, when it differs from the one published now
    /// (spaces aside): while the policy stays and the rua is kept, the
    /// suggestion is the live record itself and there is nothing to
    /// change in DNS.
    pub fn record_to_change(&self) -> Option<&str> {
        let next = self.next_record.as_deref()?;
        let words = |text: &str| text.split_whitespace().collect::<String>();
        match &self.live {
            LiveRecord::Published { record, .. } if words(record) == words(next) => None,
            _ => Some(next),
        }
    }

    /// The policy published now, in words, with the one reports saw when
    /// it differs.
    pub fn published_now(&self) -> String {
        let mut words = match (self.published, self.live.not_editable()) {
            (Some(p), _) => format!("p={p}"),
            (None, Some(reason)) => match self.live {
                LiveRecord::Invalid { .. } => format!("none that receivers use ({reason})"),
                _ => format!("unknown, the record could not be read ({reason})"),
            },
            (None, None) => "no DMARC record".to_string(),
        };
        if let Some(seen) = self.reported.filter(|seen| Some(*seen) != self.published) {
            words.push_str(&format!("; the most recent report saw p={seen}"));
        }
        words
    }
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
    /// Whether `name` and `value` are the very record to publish; false
    /// when they say what goes there (the key a service gives, a
    /// mechanism to add to a record), which is not to be copied as it is.
    pub exact: bool,
}

/// Judges a summary against the record the domain publishes now; `rua`,
/// when not empty, replaces the report addresses of the suggested record.
pub fn assess(
    summary: &Summary,
    services: &Services,
    live: &LiveRecord,
    rua: &[String],
) -> Enforcement {
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
    // Counted, not compared as rounded shares.
    let mostly_failing = summary
        .sources
        .iter()
        .filter(|s| s.legitimate)
        .map(|s| (s, s.failing_not_forwarded()))
        .find(|(s, failing)| u128::from(*failing) * 2 > u128::from(s.messages));

    let judge = |policy: Policy, tolerance: f64| {
        let (verdict, explanation) = if !enough {
            (
                Verdict::InsufficientData,
                format!(
                    "{} and {} of reports; a verdict needs at least {MIN_DAYS} days and \
                     {MIN_MESSAGES} messages",
                    counted(summary.days.len(), "day"),
                    counted(messages, "message")
                ),
            )
        } else if share > tolerance {
            (
                Verdict::NotReady,
                format!(
                    "{} of {} messages ({}) from legitimate-looking sources \
                     fail DMARC; p={policy} would {}. Fix the sources listed first \
                     (at most {} may fail)",
                    grouped(would_fail),
                    grouped(messages),
                    percent(would_fail, messages),
                    action(policy),
                    tolerance_words(tolerance)
                ),
            )
        } else if let Some((source, failing)) = mostly_failing {
            (
                Verdict::NotReady,
                format!(
                    "{} fails DMARC for {} of its {} messages ({}); p={policy} would {}. \
                     Fix it first",
                    source.name,
                    grouped(failing),
                    grouped(source.messages),
                    percent(failing, source.messages),
                    action(policy)
                ),
            )
        } else {
            (
                Verdict::Ready,
                format!(
                    "{} of {} messages ({}) from legitimate-looking sources \
                     fail DMARC, within the {} p={policy} allows",
                    grouped(would_fail),
                    grouped(messages),
                    percent(would_fail, messages),
                    tolerance_words(tolerance)
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

    let ready = |policy: Policy| match policy {
        Policy::None => true,
        Policy::Quarantine => quarantine.verdict == Verdict::Ready,
        Policy::Reject => reject.verdict == Verdict::Ready,
    };
    let parsed = match live {
        LiveRecord::Published { parsed, .. } => Some(parsed),
        LiveRecord::Absent | LiveRecord::Invalid { .. } | LiveRecord::Unreadable { .. } => None,
    };
    let published = parsed.map(|r| r.p.unwrap_or(Policy::None));
    let current = published.unwrap_or(Policy::None);
    // `sp` defaults to `p` (RFC 9989 §4.7).
    let subdomains = parsed.and_then(|r| r.sp).unwrap_or(current);
    let step = match (current, stronger(current), stronger(subdomains)) {
        (Policy::Reject, _, Some(sp)) if ready(sp) => Step::Subdomains(sp),
        (_, Some(p), _) if ready(p) => Step::Domain(p),
        _ => Step::Keep,
    };
    let mut next_step = match step {
        Step::Domain(Policy::Quarantine) => {
            "publish p=quarantine; once reports stay clean, move to p=reject".to_string()
        }
        Step::Domain(p) => format!("publish p={p}"),
        Step::Subdomains(sp) => {
            format!("p=reject is published; publish sp={sp} so subdomains are held to it too")
        }
        Step::Keep if current == Policy::Reject => {
            "p=reject is published; keep watching for new sources".to_string()
        }
        Step::Keep => format!(
            "keep p={current} and fix the sources listed; {}",
            if current == Policy::None {
                &quarantine.explanation
            } else {
                &reject.explanation
            }
        ),
    };
    let given = usable_uris(rua);
    let next_record = match live {
        LiveRecord::Invalid { reason } => {
            next_step = format!(
                "mend the DMARC record published now first ({reason}): no record is \
                 suggested, since one made beside it would leave the domain with several. \
                 Meanwhile: {next_step}",
            );
            None
        }
        LiveRecord::Unreadable { reason } => {
            next_step = format!(
                "the DMARC record published now could not be read ({reason}): no record is \
                 suggested, since one made without it would drop its tags; ask again once it \
                 can be read. Meanwhile: {next_step}",
            );
            None
        }
        LiveRecord::Published { parsed, .. } => {
            let mut tags = parsed.written.clone();
            match step {
                Step::Domain(p) => tags.set("p", p.as_str(), &["v"]),
                Step::Subdomains(sp) => tags.set("sp", sp.as_str(), &["p"]),
                Step::Keep => {}
            }
            if let Some(uris) = &given {
                tags.set("rua", uris, &["v", "p", "sp", "np"]);
            } else if parsed.rua.is_empty() {
                tags.set("rua", RUA_PLACEHOLDER, &["v", "p", "sp", "np"]);
                next_step.push_str(
                    "; the record published now has no rua, so no reports come: the suggestion \
                     adds one, fill in the address that should receive them",
                );
            }
            Some(tags.render())
        }
        LiveRecord::Absent => {
            let p = match step {
                Step::Domain(p) => p,
                _ => Policy::None,
            };
            let mut tags = WrittenTags::default();
            tags.set("v", "DMARC1", &[]);
            tags.set("p", p.as_str(), &["v"]);
            let known = given.is_some();
            tags.set(
                "rua",
                &given.unwrap_or_else(|| RUA_PLACEHOLDER.to_string()),
                &["p"],
            );
            next_step = format!(
                "no DMARC record is published now: receivers apply no policy and \
                 send no more reports. Publish this one; its rua is where reports go{}. Then: \
                 {next_step}",
                if known {
                    ""
                } else {
                    " (fill in the address that receives them)"
                }
            );
            Some(tags.render())
        }
    };
    Enforcement {
        published,
        reported: summary.published.as_ref().and_then(|p| p.p),
        live: live.clone(),
        messages,
        days: summary.days.len(),
        quarantine,
        reject,
        forwarded: summary.forwarded_failing,
        blocking,
        advice,
        next_record,
        next_step,
    }
}

/// The step the suggested record makes.
#[derive(Clone, Copy)]
enum Step {
    Keep,
    /// `p` to this policy.
    Domain(Policy),
    /// `sp` to this policy, `p` being `reject`.
    Subdomains(Policy),
}

/// The next policy up, if any.
fn stronger(policy: Policy) -> Option<Policy> {
    match policy {
        Policy::None => Some(Policy::Quarantine),
        Policy::Quarantine => Some(Policy::Reject),
        Policy::Reject => None,
    }
}

fn action(policy: Policy) -> &'static str {
    match policy {
        Policy::Reject => "bounce them",
        _ => "send them to spam",
    }
}

/// A tolerance as people read it: 0.02 is "2 %".
fn tolerance_words(tolerance: f64) -> String {
    format!("{} %", tolerance * 100.0)
}

/// The given report addresses as one `rua` value; a URI with a separator
/// or whitespace would break the record, so it is left out.
fn usable_uris(rua: &[String]) -> Option<String> {
    let uris: Vec<&str> = rua
        .iter()
        .map(|u| u.trim())
        .filter(|u| !u.is_empty() && !u.contains([';', ',', ' ', '\t']))
        .collect();
    (!uris.is_empty()).then(|| uris.join(","))
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
    // Some of its mail signed as `from` already: the key is published.
    let signs = source
        .dkim_domains
        .iter()
        .any(|t| t.name == from && t.passed.unwrap_or(0) > 0);
    let mut records = match signs {
        true => Vec::new(),
        false => dkim_records(&from, service),
    };
    let set_up_dkim = match (signs, service) {
        (true, _) => format!("sign every message with DKIM as {from}, as the rest of its mail is"),
        (false, Some(_)) => {
            format!("set up DKIM for {from} in {who} and publish the key it gives you")
        }
        (false, None) => {
            format!("sign the mail sent from {who} with DKIM as {from} and publish the key")
        }
    };
    let summary = match class {
        Class::SpfOnly => format!(
            "{who} passes only by SPF, which forwarding breaks: sign its mail with DKIM as \
             {from} and publish the key"
        ),
        Class::Unaligned => {
            let as_whom = passed_domains(source).unwrap_or_else(|| "another domain".into());
            let mut text =
                format!("{who} authenticates as {as_whom}, not as {from}: {set_up_dkim}");
            if let Some(include) = service.filter(|s| s.custom_mail_from).and_then(spf_include) {
                text.push_str(&format!(
                    ", or give it a MAIL FROM (return path) under {from} that SPF authorizes"
                ));
                records.push(DnsChange {
                    name: format!("bounce.{from}"),
                    rtype: "TXT".into(),
                    value: format!("v=spf1 include:{include} -all"),
                    exact: true,
                });
            }
            text
        }
        _ => match service.and_then(spf_include) {
            Some(include) => {
                let domain = unauthorized_mail_from(source).unwrap_or_else(|| from.clone());
                records.push(DnsChange {
                    name: domain.clone(),
                    rtype: "TXT".into(),
                    value: format!("v=spf1 … include:{include} … (add the include to your record)"),
                    exact: false,
                });
                let some = if source.dmarc_pass > 0 {
                    "some of its "
                } else {
                    ""
                };
                format!(
                    "{who} sends {some}mail as {from} without authenticating it: add \
                     include:{include} to the SPF record of {domain}, and {set_up_dkim}"
                )
            }
            None => {
                let domain = unauthorized_mail_from(source).unwrap_or_else(|| from.clone());
                let mechanisms: Vec<String> = source
                    .ips
                    .iter()
                    .filter_map(|i| listable(i.ip))
                    .take(3)
                    .collect();
                if mechanisms.is_empty() {
                    return Fix {
                        summary: format!(
                            "some mail from {who} fails both DKIM and SPF, and the receiver saw \
                             it come from an address that is not public (inside its own \
                             network), so no SPF term can list it: find the server that sends \
                             it and make sure it signs every message with DKIM as {from}"
                        ),
                        records,
                    };
                }
                records.push(DnsChange {
                    name: domain.clone(),
                    rtype: "TXT".into(),
                    value: format!("v=spf1 … {} … (add to your record)", mechanisms.join(" ")),
                    exact: false,
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
                exact: false,
            })
            .collect(),
        Some(s) => vec![DnsChange {
            name: format!("<selector>._domainkey.{from}"),
            rtype: "CNAME or TXT".into(),
            value: format!("the DKIM record {} gives you for {from}", s.name),
            exact: false,
        }],
        None => vec![DnsChange {
            name: format!("<selector>._domainkey.{from}"),
            rtype: "TXT".into(),
            value: "v=DKIM1; k=rsa; p=<the public key of the signing server>".into(),
            exact: false,
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

/// The source's busiest MAIL FROM domain SPF did not pass for every
/// time: one that passed always already authorizes the source.
fn unauthorized_mail_from(source: &SourceSummary) -> Option<String> {
    source
        .spf_domains
        .iter()
        .find(|t| t.passed.unwrap_or(0) < t.messages)
        .map(|t| t.name.clone())
}
