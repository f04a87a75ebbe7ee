//! The provider-requirements checklist: the Gmail, Yahoo and Microsoft
//! (Outlook.com) sender rules, each met, unmet or unknown.
//!
//! This module decides which rules a report can judge and on what: a domain
//! audit decides the DNS rules (SPF, DKIM key, DMARC record); rules that
//! need a message or the sending IP (alignment, one-click unsubscribe,
//! PTR/FCrDNS) stay `unknown` with the input that would decide them.
//! Sources: Gmail's sender guidelines (support.google.com/a/answer/81126),
//! Yahoo's sender best practices (senders.yahooinc.com/best-practices),
//! Microsoft's requirements for high-volume senders to Outlook.com (2025).
//!
//! The rules are one table ([`RULES`]): each provider rule once, with how
//! a domain audit and how a message judge it.

use crate::findings::{Code, catalog};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Met,
    Unmet,
    Unknown,
}

/// One rule of one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// Stable id, e.g. `gmail.bulk.dmarc_policy`.
    pub id: &'static str,
    pub provider: &'static str,
    pub rule: &'static str,
    pub status: Status,
    /// The finding codes the status rests on.
    pub codes: Vec<&'static str>,
    /// Why it is unknown, or what decided it.
    pub note: String,
}

/// What a domain audit knows, protocol by protocol: `Some(true)` usable,
/// `Some(false)` absent or unusable, `None` not known (a DNS failure, or
/// DKIM selectors unknown).
#[derive(Debug, Clone, Default)]
pub struct DomainFacts {
    pub spf: Option<bool>,
    pub dkim: Option<bool>,
    pub dmarc: Option<bool>,
    /// The finding codes of the report.
    pub codes: Vec<&'static str>,
}

/// What a message check knows.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    /// SPF passed for MAIL FROM; `None` when it could not be evaluated.
    pub spf_pass: Option<bool>,
    pub dkim_pass: Option<bool>,
    /// A DMARC record applies to the From domain.
    pub dmarc_record: Option<bool>,
    pub dmarc_pass: Option<bool>,
    /// SPF or DKIM passed aligned with the From domain.
    pub aligned: Option<bool>,
    /// The bulk rules apply (the message looks bulk or was declared so).
    pub bulk: bool,
    /// List-Unsubscribe with an https URI and List-Unsubscribe-Post.
    pub one_click: bool,
    /// iprev passed; `None` without a client IP.
    pub ptr: Option<bool>,
    pub codes: Vec<&'static str>,
    /// What the check lacked, when a fact above is `None`.
    pub lacking: Lacking,
}

/// What a message check lacked to decide a fact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lacking {
    /// The sending IP: SPF and iprev were not evaluated.
    #[default]
    Ip,
    /// Both the MAIL FROM and the HELO name: SPF was not evaluated.
    Identity,
    /// A DNS answer: a lookup failed (run again).
    Dns,
}

impl Lacking {
    /// The note of a rule left unknown for want of this.
    fn note(self) -> &'static str {
        match self {
            Lacking::Ip => NO_IP,
            Lacking::Identity => NO_IDENTITY,
            Lacking::Dns => DNS_UNKNOWN,
        }
    }
}

const SPF_CODES: &[Code] = &[
    catalog::SPF_MISSING,
    catalog::SPF_MULTIPLE_RECORDS,
    catalog::SPF_SYNTAX,
    catalog::SPF_TOO_MANY_LOOKUPS,
    catalog::SPF_INCLUDE_MISSING,
    catalog::SPF_INCLUDE_LOOP,
    catalog::SPF_VOID_LOOKUPS,
    catalog::SPF_MX_TOO_MANY_HOSTS,
    catalog::SPF_DNS_ERROR,
    catalog::SPF_PLUS_ALL,
];
const DKIM_CODES: &[Code] = &[
    catalog::DKIM_NO_SELECTOR_FOUND,
    catalog::DKIM_KEY_REVOKED,
    catalog::DKIM_KEY_TOO_SHORT,
    catalog::DKIM_KEY_INVALID,
];
const DMARC_CODES: &[Code] = &[
    catalog::DMARC_MISSING,
    catalog::DMARC_MULTIPLE_RECORDS,
    catalog::DMARC_SYNTAX,
    catalog::DMARC_DNS_ERROR,
];
const AUTH_CODES: &[Code] = &[
    catalog::SPF_FAIL,
    catalog::SPF_SOFTFAIL,
    catalog::DKIM_FAIL,
    catalog::DKIM_MISSING,
];
const ALIGNMENT_CODES: &[Code] = &[
    catalog::DMARC_FAIL,
    catalog::DMARC_MISSING,
    catalog::DKIM_NOT_ALIGNED,
];
const FORMAT_CODES: &[Code] = &[catalog::MSG_MULTIPLE_FROM, catalog::MSG_MISSING_HEADER];
const UNSUBSCRIBE_CODES: &[Code] = &[
    catalog::BULK_NO_LIST_UNSUBSCRIBE,
    catalog::BULK_NO_ONE_CLICK,
];
const PTR_CODES: &[Code] = &[catalog::IPREV_FAIL];

const MESSAGE_NOTE: &str = "decided by a message sent from the domain, not by its DNS";
const IP_NOTE: &str = "decided by the sending IP's PTR and forward DNS, not by the domain's DNS";
const DNS_UNKNOWN: &str = "the DNS lookup failed; run again";
const DKIM_UNKNOWN: &str = "DKIM keys were not found at the probed selectors; name the selector \
                            your provider signs with (the DKIM selector field, --selector or \
                            ?selector=)";
const NO_IP: &str = "needs the sending IP (the Sending IP field, --ip or ?ip=) to decide";
const NO_IDENTITY: &str = "needs the MAIL FROM (the MAIL FROM field, --mail-from or \
                           ?mail_from=) or the HELO name to decide";
const NOT_BULK: &str = "applies to bulk mail; this message does not look bulk (to check it, declare it bulk: the \
     Bulk mail box, --bulk true or ?bulk=true)";
const DOMAIN_UNMET: &str = "absent or unusable; see the findings";
const PAIR_UNMET: &str = "see the SPF and DKIM findings";
const MESSAGE_UNMET: &str = "not met by this message; see the findings";

/// How a domain audit or a message judges one rule.
struct Judge<F> {
    /// The rule as that side states it.
    rule: &'static str,
    /// Met, unmet or unknown, from the side's facts.
    fact: fn(&F) -> Option<bool>,
    /// The finding codes the status rests on, in lists.
    codes: &'static [&'static [Code]],
    /// The note when unmet.
    unmet: &'static str,
    /// The note when unknown: what would decide it.
    unknown: Unknown,
}

/// Where a judge's note for an unknown status comes from.
enum Unknown {
    /// Always this note.
    Note(&'static str),
    /// What the message's check lacked ([`MessageFacts::lacking`]).
    Lacking,
}

/// One provider rule, as each side judges it (`None`: that side does not
/// list it).
struct Rule {
    /// Stable id, e.g. `gmail.bulk.dmarc_policy`.
    id: &'static str,
    provider: &'static str,
    domain: Option<Judge<DomainFacts>>,
    message: Option<Judge<MessageFacts>>,
}

/// The domain side of a rule a DNS audit cannot decide.
const fn undecidable_by_dns(
    rule: &'static str,
    unknown: &'static str,
) -> Option<Judge<DomainFacts>> {
    Some(Judge {
        rule,
        fact: |_| None,
        codes: &[],
        unmet: DOMAIN_UNMET,
        unknown: Unknown::Note(unknown),
    })
}

/// One side's judgement of a rule.
const fn judged<F>(
    rule: &'static str,
    fact: fn(&F) -> Option<bool>,
    codes: &'static [&'static [Code]],
    unmet: &'static str,
    unknown: &'static str,
) -> Option<Judge<F>> {
    Some(Judge {
        rule,
        fact,
        codes,
        unmet,
        unknown: Unknown::Note(unknown),
    })
}

/// A message side decided by the message's own results, unknown for
/// what the message's check lacked (an envelope field, a DNS answer).
const fn by_message(
    rule: &'static str,
    fact: fn(&MessageFacts) -> Option<bool>,
    codes: &'static [&'static [Code]],
) -> Option<Judge<MessageFacts>> {
    Some(Judge {
        rule,
        fact,
        codes,
        unmet: MESSAGE_UNMET,
        unknown: Unknown::Lacking,
    })
}

/// The domain side of "SPF is published".
const fn spf_published(rule: &'static str) -> Option<Judge<DomainFacts>> {
    judged(rule, |f| f.spf, &[SPF_CODES], DOMAIN_UNMET, DNS_UNKNOWN)
}

/// The domain side of "DKIM is set up".
const fn dkim_set_up(rule: &'static str) -> Option<Judge<DomainFacts>> {
    judged(rule, |f| f.dkim, &[DKIM_CODES], DOMAIN_UNMET, DKIM_UNKNOWN)
}

/// The domain side of "DMARC is published".
const fn dmarc_published(rule: &'static str) -> Option<Judge<DomainFacts>> {
    judged(rule, |f| f.dmarc, &[DMARC_CODES], DOMAIN_UNMET, DNS_UNKNOWN)
}

/// The message side of "one-click unsubscribe", which only bulk mail needs.
const fn one_click_unsubscribe(rule: &'static str) -> Option<Judge<MessageFacts>> {
    judged(
        rule,
        one_click,
        &[UNSUBSCRIBE_CODES],
        MESSAGE_UNMET,
        NOT_BULK,
    )
}

/// Gmail's and Yahoo's bulk rule as a message meets it.
const BOTH_PASS: Option<Judge<MessageFacts>> = by_message(
    "Bulk senders: SPF and DKIM both pass",
    |f| and(f.spf_pass, f.dkim_pass),
    &[AUTH_CODES],
);

/// The Gmail, Yahoo and Microsoft rules, in the order reports list them.
static RULES: &[Rule] = &[
    Rule {
        id: "gmail.all.spf_or_dkim",
        provider: "Gmail",
        domain: judged(
            "SPF or DKIM set up for the sending domain",
            |f| or(f.spf, f.dkim),
            &[SPF_CODES, DKIM_CODES],
            PAIR_UNMET,
            DKIM_UNKNOWN,
        ),
        message: by_message(
            "SPF or DKIM passes",
            |f| or(f.spf_pass, f.dkim_pass),
            &[AUTH_CODES],
        ),
    },
    Rule {
        id: "gmail.bulk.spf",
        provider: "Gmail",
        domain: spf_published("Bulk senders: SPF published"),
        message: None,
    },
    Rule {
        id: "gmail.bulk.dkim",
        provider: "Gmail",
        domain: dkim_set_up("Bulk senders: DKIM key of at least 1024 bits"),
        message: None,
    },
    Rule {
        id: "gmail.bulk.spf_and_dkim",
        provider: "Gmail",
        domain: None,
        message: BOTH_PASS,
    },
    Rule {
        id: "gmail.bulk.dmarc_policy",
        provider: "Gmail",
        domain: dmarc_published("Bulk senders: a DMARC record (p=none is enough)"),
        message: by_message(
            "Bulk senders: the From domain publishes DMARC",
            |f| f.dmarc_record,
            &[ALIGNMENT_CODES],
        ),
    },
    Rule {
        id: "gmail.bulk.alignment",
        provider: "Gmail",
        domain: undecidable_by_dns(
            "Bulk senders: From domain aligned with SPF or DKIM",
            MESSAGE_NOTE,
        ),
        message: by_message(
            "Bulk senders: From aligned with SPF or DKIM",
            |f| f.aligned,
            &[ALIGNMENT_CODES],
        ),
    },
    Rule {
        id: "gmail.bulk.one_click_unsubscribe",
        provider: "Gmail",
        domain: undecidable_by_dns(
            "Bulk senders: one-click unsubscribe (RFC 8058)",
            MESSAGE_NOTE,
        ),
        message: one_click_unsubscribe("Bulk senders: one-click unsubscribe (RFC 8058)"),
    },
    Rule {
        id: "gmail.all.ptr",
        provider: "Gmail",
        domain: undecidable_by_dns("Sending IPs have matching forward and reverse DNS", IP_NOTE),
        message: by_message(
            "The sending IP has matching forward and reverse DNS",
            |f| f.ptr,
            &[PTR_CODES],
        ),
    },
    Rule {
        id: "gmail.all.rfc5322",
        provider: "Gmail",
        domain: None,
        message: by_message(
            "The message follows RFC 5322 (one From, Date, Message-ID)",
            |f| Some(!f.codes.iter().any(|c| is_one_of(c, FORMAT_CODES))),
            &[FORMAT_CODES],
        ),
    },
    Rule {
        id: "yahoo.bulk.spf_and_dkim",
        provider: "Yahoo",
        domain: judged(
            "Bulk senders: both SPF and DKIM",
            |f| and(f.spf, f.dkim),
            &[SPF_CODES, DKIM_CODES],
            PAIR_UNMET,
            DKIM_UNKNOWN,
        ),
        message: BOTH_PASS,
    },
    Rule {
        id: "yahoo.bulk.dmarc_policy",
        provider: "Yahoo",
        domain: dmarc_published("Bulk senders: a valid DMARC record"),
        message: None,
    },
    Rule {
        id: "yahoo.bulk.dmarc_pass",
        provider: "Yahoo",
        domain: None,
        message: by_message(
            "Bulk senders: DMARC passes",
            |f| f.dmarc_pass,
            &[ALIGNMENT_CODES],
        ),
    },
    Rule {
        id: "yahoo.bulk.one_click_unsubscribe",
        provider: "Yahoo",
        domain: None,
        message: one_click_unsubscribe("Bulk senders: one-click unsubscribe"),
    },
    Rule {
        id: "microsoft.bulk.spf",
        provider: "Microsoft",
        domain: spf_published("High-volume senders: SPF published"),
        message: by_message(
            "High-volume senders: SPF passes",
            |f| f.spf_pass,
            &[AUTH_CODES],
        ),
    },
    Rule {
        id: "microsoft.bulk.dkim",
        provider: "Microsoft",
        domain: dkim_set_up("High-volume senders: DKIM set up"),
        message: by_message(
            "High-volume senders: DKIM passes",
            |f| f.dkim_pass,
            &[AUTH_CODES],
        ),
    },
    Rule {
        id: "microsoft.bulk.dmarc_policy",
        provider: "Microsoft",
        domain: dmarc_published("High-volume senders: DMARC of at least p=none"),
        message: None,
    },
    Rule {
        id: "microsoft.bulk.dmarc",
        provider: "Microsoft",
        domain: None,
        message: by_message(
            "High-volume senders: DMARC passes with alignment",
            |f| f.dmarc_pass,
            &[ALIGNMENT_CODES],
        ),
    },
];

/// One-click unsubscribe, judged only on bulk mail.
fn one_click(facts: &MessageFacts) -> Option<bool> {
    facts.bulk.then_some(facts.one_click)
}

/// Whether `code` is one of `codes`.
fn is_one_of(code: &str, codes: &[Code]) -> bool {
    codes.iter().any(|c| c.code == code)
}

/// The checklist one side gives: each rule it lists, judged on its facts;
/// `lacking` is the note of a judge left unknown for what the side's check
/// lacked ([`Unknown::Lacking`]).
fn checklist<F>(
    facts: &F,
    report_codes: &[&'static str],
    side: impl Fn(&Rule) -> Option<&Judge<F>>,
    met: &str,
    lacking: &'static str,
) -> Vec<Requirement> {
    RULES
        .iter()
        .filter_map(|rule| {
            let judge = side(rule)?;
            let fact = (judge.fact)(facts);
            Some(Requirement {
                id: rule.id,
                provider: rule.provider,
                rule: judge.rule,
                status: status(fact),
                codes: report_codes
                    .iter()
                    .copied()
                    .filter(|c| judge.codes.iter().any(|list| is_one_of(c, list)))
                    .collect(),
                note: match fact {
                    Some(true) => met.into(),
                    Some(false) => judge.unmet.into(),
                    None => match judge.unknown {
                        Unknown::Note(note) => note.into(),
                        Unknown::Lacking => lacking.into(),
                    },
                },
            })
        })
        .collect()
}

/// The checklist a domain audit can give. Its judges name what they lack
/// themselves ([`Unknown::Note`]); a lookup that failed is all an audit
/// can lack.
pub fn for_domain(facts: &DomainFacts) -> Vec<Requirement> {
    checklist(
        facts,
        &facts.codes,
        |r| r.domain.as_ref(),
        "published and usable",
        DNS_UNKNOWN,
    )
}

/// The checklist a message can decide.
pub fn for_message(facts: &MessageFacts) -> Vec<Requirement> {
    checklist(
        facts,
        &facts.codes,
        |r| r.message.as_ref(),
        "met by this message",
        facts.lacking.note(),
    )
}

fn status(fact: Option<bool>) -> Status {
    match fact {
        Some(true) => Status::Met,
        Some(false) => Status::Unmet,
        None => Status::Unknown,
    }
}

/// Three-valued "or": true if either is true, false only if both are false.
fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Three-valued "and": false if either is false, true only if both are true.
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(list: &'a [Requirement], id: &str) -> &'a Requirement {
        list.iter().find(|r| r.id == id).unwrap()
    }

    #[test]
    fn three_valued_rules() {
        let facts = DomainFacts {
            spf: Some(true),
            dkim: None,
            dmarc: Some(false),
            codes: vec!["dmarc.missing", "dkim.no_selector_found"],
        };
        let list = for_domain(&facts);
        assert_eq!(find(&list, "gmail.all.spf_or_dkim").status, Status::Met);
        assert_eq!(
            find(&list, "yahoo.bulk.spf_and_dkim").status,
            Status::Unknown
        );
        assert_eq!(find(&list, "gmail.bulk.dmarc_policy").status, Status::Unmet);
        assert_eq!(
            find(&list, "gmail.bulk.dmarc_policy").codes,
            ["dmarc.missing"]
        );
        assert!(find(&list, "gmail.bulk.dkim").note.contains("--selector"));
        assert_eq!(find(&list, "gmail.bulk.alignment").status, Status::Unknown);
        let ids: std::collections::HashSet<_> = list.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), list.len(), "ids are unique");
    }

    #[test]
    fn every_rule_is_judged_by_some_side_and_ids_are_unique() {
        let ids: std::collections::HashSet<_> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len());
        for rule in RULES {
            assert!(
                rule.domain.is_some() || rule.message.is_some(),
                "{} is judged by neither side",
                rule.id
            );
            assert!(
                rule.id.starts_with(&rule.provider.to_lowercase()),
                "{}",
                rule.id
            );
            // A domain judge names what it lacks itself: for_domain's
            // `lacking` is never the note of a rule.
            assert!(
                rule.domain
                    .as_ref()
                    .is_none_or(|judge| matches!(judge.unknown, Unknown::Note(_))),
                "{}",
                rule.id
            );
        }
    }
}
