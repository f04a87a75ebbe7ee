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

const SPF_CODES: &[Code] = &[
    catalog::SPF_MISSING,
    catalog::SPF_MULTIPLE_RECORDS,
    catalog::SPF_SYNTAX,
    catalog::SPF_TOO_MANY_LOOKUPS,
    catalog::SPF_INCLUDE_MISSING,
    catalog::SPF_INCLUDE_LOOP,
    catalog::SPF_VOID_LOOKUPS,
    catalog::SPF_DNS_ERROR,
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

/// Whether `code` is one of `codes`.
fn is_one_of(code: &str, codes: &[Code]) -> bool {
    codes.iter().any(|c| c.code == code)
}

/// The codes of a report that are among `codes`: what a rule rests on.
fn rests_on(report: &[&'static str], codes: &[Code]) -> Vec<&'static str> {
    report
        .iter()
        .copied()
        .filter(|c| is_one_of(c, codes))
        .collect()
}

const MESSAGE_NOTE: &str = "decided by a message sent from the domain, not by its DNS";
const IP_NOTE: &str = "decided by the sending IP's PTR and forward DNS, not by the domain's DNS";

/// The checklist a domain audit can give.
pub fn for_domain(facts: &DomainFacts) -> Vec<Requirement> {
    let single =
        |id, provider, rule, fact: Option<bool>, codes: &[Code], unknown: &str| Requirement {
            id,
            provider,
            rule,
            status: status(fact),
            codes: rests_on(&facts.codes, codes),
            note: match fact {
                Some(true) => "published and usable".into(),
                Some(false) => "absent or unusable; see the findings".into(),
                None => unknown.into(),
            },
        };
    let either = or(facts.spf, facts.dkim);
    let both = and(facts.spf, facts.dkim);
    let both_codes: Vec<Code> = SPF_CODES.iter().chain(DKIM_CODES).copied().collect();
    let dkim_unknown = "DKIM keys were not found at the probed selectors; give --selector \
                        (or ?selector=) with the selector your provider signs with";
    let dns_unknown = "the DNS lookup failed; run again";
    let pair = |id, provider, rule, fact: Option<bool>| Requirement {
        id,
        provider,
        rule,
        status: status(fact),
        codes: rests_on(&facts.codes, &both_codes),
        note: match fact {
            Some(true) => "published and usable".into(),
            Some(false) => "see the SPF and DKIM findings".into(),
            None => dkim_unknown.into(),
        },
    };
    let message_rule = |id, provider, rule, note: &str| Requirement {
        id,
        provider,
        rule,
        status: Status::Unknown,
        codes: Vec::new(),
        note: note.into(),
    };
    vec![
        pair(
            "gmail.all.spf_or_dkim",
            "Gmail",
            "SPF or DKIM set up for the sending domain",
            either,
        ),
        single(
            "gmail.bulk.spf",
            "Gmail",
            "Bulk senders: SPF published",
            facts.spf,
            SPF_CODES,
            dns_unknown,
        ),
        single(
            "gmail.bulk.dkim",
            "Gmail",
            "Bulk senders: DKIM key of at least 1024 bits",
            facts.dkim,
            DKIM_CODES,
            dkim_unknown,
        ),
        single(
            "gmail.bulk.dmarc_policy",
            "Gmail",
            "Bulk senders: a DMARC record (p=none is enough)",
            facts.dmarc,
            DMARC_CODES,
            dns_unknown,
        ),
        message_rule(
            "gmail.bulk.alignment",
            "Gmail",
            "Bulk senders: From domain aligned with SPF or DKIM",
            MESSAGE_NOTE,
        ),
        message_rule(
            "gmail.bulk.one_click_unsubscribe",
            "Gmail",
            "Bulk senders: one-click unsubscribe (RFC 8058)",
            MESSAGE_NOTE,
        ),
        message_rule(
            "gmail.all.ptr",
            "Gmail",
            "Sending IPs have matching forward and reverse DNS",
            IP_NOTE,
        ),
        pair(
            "yahoo.bulk.spf_and_dkim",
            "Yahoo",
            "Bulk senders: both SPF and DKIM",
            both,
        ),
        single(
            "yahoo.bulk.dmarc_policy",
            "Yahoo",
            "Bulk senders: a valid DMARC record",
            facts.dmarc,
            DMARC_CODES,
            dns_unknown,
        ),
        single(
            "microsoft.bulk.spf",
            "Microsoft",
            "High-volume senders: SPF published",
            facts.spf,
            SPF_CODES,
            dns_unknown,
        ),
        single(
            "microsoft.bulk.dkim",
            "Microsoft",
            "High-volume senders: DKIM set up",
            facts.dkim,
            DKIM_CODES,
            dkim_unknown,
        ),
        single(
            "microsoft.bulk.dmarc_policy",
            "Microsoft",
            "High-volume senders: DMARC of at least p=none",
            facts.dmarc,
            DMARC_CODES,
            dns_unknown,
        ),
    ]
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
}

const FORMAT_CODES: &[Code] = &[catalog::MSG_MULTIPLE_FROM, catalog::MSG_MISSING_HEADER];
const UNSUBSCRIBE_CODES: &[Code] = &[
    catalog::BULK_NO_LIST_UNSUBSCRIBE,
    catalog::BULK_NO_ONE_CLICK,
];

/// The checklist a message can decide.
pub fn for_message(facts: &MessageFacts) -> Vec<Requirement> {
    let rule =
        |id, provider, rule, fact: Option<bool>, codes: &[Code], unknown: &str| Requirement {
            id,
            provider,
            rule,
            status: status(fact),
            codes: rests_on(&facts.codes, codes),
            note: match fact {
                Some(true) => "met by this message".into(),
                Some(false) => "not met by this message; see the findings".into(),
                None => unknown.into(),
            },
        };
    let no_ip = "needs the client IP (--ip / ?ip=) to decide";
    let format_ok = Some(!facts.codes.iter().any(|c| is_one_of(c, FORMAT_CODES)));
    let unsubscribe = if facts.bulk {
        Some(facts.one_click)
    } else {
        None
    };
    let not_bulk =
        "applies to bulk mail; this message does not look bulk (declare bulk=true to check it)";
    let auth_codes: &[Code] = &[
        catalog::SPF_FAIL,
        catalog::SPF_SOFTFAIL,
        catalog::DKIM_FAIL,
        catalog::DKIM_MISSING,
    ];
    let dmarc_codes: &[Code] = &[
        catalog::DMARC_FAIL,
        catalog::DMARC_MISSING,
        catalog::DKIM_NOT_ALIGNED,
    ];
    vec![
        rule(
            "gmail.all.spf_or_dkim",
            "Gmail",
            "SPF or DKIM passes",
            or(facts.spf_pass, facts.dkim_pass),
            auth_codes,
            no_ip,
        ),
        rule(
            "gmail.bulk.spf_and_dkim",
            "Gmail",
            "Bulk senders: SPF and DKIM both pass",
            and(facts.spf_pass, facts.dkim_pass),
            auth_codes,
            no_ip,
        ),
        rule(
            "gmail.bulk.dmarc_policy",
            "Gmail",
            "Bulk senders: the From domain publishes DMARC",
            facts.dmarc_record,
            dmarc_codes,
            no_ip,
        ),
        rule(
            "gmail.bulk.alignment",
            "Gmail",
            "Bulk senders: From aligned with SPF or DKIM",
            facts.aligned,
            dmarc_codes,
            no_ip,
        ),
        rule(
            "gmail.bulk.one_click_unsubscribe",
            "Gmail",
            "Bulk senders: one-click unsubscribe (RFC 8058)",
            unsubscribe,
            UNSUBSCRIBE_CODES,
            not_bulk,
        ),
        rule(
            "gmail.all.ptr",
            "Gmail",
            "The sending IP has matching forward and reverse DNS",
            facts.ptr,
            &[catalog::IPREV_FAIL],
            no_ip,
        ),
        rule(
            "gmail.all.rfc5322",
            "Gmail",
            "The message follows RFC 5322 (one From, Date, Message-ID)",
            format_ok,
            FORMAT_CODES,
            no_ip,
        ),
        rule(
            "yahoo.bulk.spf_and_dkim",
            "Yahoo",
            "Bulk senders: SPF and DKIM both pass",
            and(facts.spf_pass, facts.dkim_pass),
            auth_codes,
            no_ip,
        ),
        rule(
            "yahoo.bulk.dmarc_pass",
            "Yahoo",
            "Bulk senders: DMARC passes",
            facts.dmarc_pass,
            dmarc_codes,
            no_ip,
        ),
        rule(
            "yahoo.bulk.one_click_unsubscribe",
            "Yahoo",
            "Bulk senders: one-click unsubscribe",
            unsubscribe,
            UNSUBSCRIBE_CODES,
            not_bulk,
        ),
        rule(
            "microsoft.bulk.spf",
            "Microsoft",
            "High-volume senders: SPF passes",
            facts.spf_pass,
            auth_codes,
            no_ip,
        ),
        rule(
            "microsoft.bulk.dkim",
            "Microsoft",
            "High-volume senders: DKIM passes",
            facts.dkim_pass,
            auth_codes,
            no_ip,
        ),
        rule(
            "microsoft.bulk.dmarc",
            "Microsoft",
            "High-volume senders: DMARC passes with alignment",
            facts.dmarc_pass,
            dmarc_codes,
            no_ip,
        ),
    ]
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
}
