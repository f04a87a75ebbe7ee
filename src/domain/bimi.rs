//! BIMI: does the domain publish a brand indicator, and can it be shown
//! (draft-brand-indicators-for-message-identification, §4.2 and §7.3)?
//!
//! This module decides which BIMI assertion record applies to the domain
//! and whether it is usable. The record is looked up at
//! `default._bimi.<domain>` and, when that name holds no BIMI record, at
//! `default._bimi.<organizational domain>` (the registrable domain by the
//! Public Suffix List). Among the TXT records there, those that begin with
//! `v=BIMI1` count; exactly one must remain. A record is `v=BIMI1` first,
//! then `l=` (an https URL of the SVG logo, or empty) and optionally `a=`
//! (an https URL of the mark certificate, or empty), separated by `;` with
//! optional spaces; unknown tags are ignored, repeated tags are an error.
//! `l=` and `a=` both empty is a declination to publish (§4.2.1). Tags
//! the draft does not define are reported (`bimi.unknown_tags`): a
//! misspelled `l=` is one. A `v=BIMI1` record at the domain itself, where
//! no receiver looks, is `bimi.record_at_apex`.
//!
//! The logo itself is not fetched. BIMI's DMARC prerequisite (the policy
//! must be quarantine or reject, applied to all mail) depends on the DMARC
//! check, so it is the separate pure function [`dmarc_prerequisite`] that
//! the orchestration calls once both are known. A failed lookup marks the
//! section unknown and is never reported as a missing record.

use super::AuditContext;
use super::protocol::{Audited, Protocol, status_word};
use crate::dns::{Outcome, Rcode, trace};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::bimi::{BimiRecord, Tag, is_candidate, parse};
use crate::records::name::DomainName;
use hickory_proto::rr::RecordType;
use serde::Serialize;

/// The owner label of the record: the `default` selector under `_bimi`.
const LABEL: &str = "default._bimi";

/// What was found for the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BimiStatus {
    /// One valid record that names a logo or a mark certificate.
    Published,
    /// One valid record with `l=` and `a=` empty: the domain declines BIMI.
    Declined,
    /// More than one record, or one that does not parse.
    Invalid,
    /// No BIMI record at the domain nor at its organizational domain.
    Missing,
    /// A lookup failed; see `error`.
    Unknown,
}

/// The `bimi` section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct BimiSection {
    /// The audited domain.
    pub domain: String,
    pub status: BimiStatus,
    /// The names asked, in order.
    pub looked_up: Vec<String>,
    /// The name the record that applies came from, when one was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_name: Option<String>,
    /// True when that name is the organizational domain's, not the domain's.
    pub inherited: bool,
    /// The text of each BIMI record at that name, strings joined.
    pub records: Vec<String>,
    /// `l=` of the valid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// `a=` of the valid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
    /// The tags of the valid record.
    pub tags: Vec<Tag>,
    /// Why the record is invalid, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Why a lookup failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// BIMI: the default selector's TXT record at `default._bimi.`.
pub static PROTOCOL: Protocol = Protocol::at("bimi", "BIMI", "default._bimi.", "TXT");

impl Audited for BimiSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
        (self.status == BimiStatus::Unknown).then(|| {
            self.error
                .clone()
                .unwrap_or_else(|| "a BIMI lookup failed".to_string())
        })
    }

    fn summary(&self) -> String {
        match &self.record_name {
            Some(name) => format!("{} (record at {name})", status_word(&self.status)),
            None => status_word(&self.status),
        }
    }
}

/// One name asked and its answer.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// Without the final dot: `default._bimi.example.com`.
    pub name: String,
    pub outcome: Outcome,
}

/// Fetches the record at the domain and, if it holds none, at the
/// organizational domain; then evaluates.
pub async fn check(cx: &AuditContext<'_>) -> Checked<BimiSection> {
    // The apex TXT set is the one SPF and DMARC ask for too; the request's
    // memo answers it once.
    let (own, apex) = tokio::join!(ask(cx, &cx.domain.ascii), apex(cx));
    let mut lookups = vec![own];
    if let Some(org) = organizational_domain(&cx.domain.ascii)
        && lookups.iter().all(needs_fallback)
    {
        lookups.push(ask(cx, &org).await);
    }
    let mut checked = evaluate(cx.domain, &lookups);
    checked
        .findings
        .extend(apex_finding(&cx.domain.ascii, &apex));
    checked
}

async fn apex(cx: &AuditContext<'_>) -> Lookup {
    Lookup {
        name: cx.domain.ascii.clone(),
        outcome: cx.resolver.lookup(&cx.domain.fqdn(), RecordType::TXT).await,
    }
}

/// `bimi.record_at_apex` when the domain itself holds a `v=BIMI1` record:
/// receivers read only `<selector>._bimi.<domain>`. A failed lookup says
/// nothing.
pub fn apex_finding(domain: &str, apex: &Lookup) -> Option<Finding> {
    let answer = apex.outcome.as_ref().ok()?;
    let stray = bimi_texts(answer);
    let first = stray.first()?;
    Some(
        Finding::new(
            catalog::BIMI_RECORD_AT_APEX,
            format!(
                "{domain} itself publishes a v=BIMI1 TXT record; receivers only read \
                 {LABEL}.{domain}, so it has no effect"
            ),
        )
        .with_fix(format!(
            "Publish it at {LABEL}.{domain} instead: {first} — and delete the TXT record at \
             {domain} that starts with v=BIMI1."
        ))
        .with_evidence(stray.iter().map(|t| format!("{domain}. TXT \"{t}\""))),
    )
}

async fn ask(cx: &AuditContext<'_>, domain: &str) -> Lookup {
    let name = format!("{LABEL}.{domain}");
    let outcome = cx.resolver.lookup_text(&name, RecordType::TXT).await;
    Lookup { name, outcome }
}

/// The organizational domain when it differs from the domain.
pub fn organizational_domain(domain: &str) -> Option<String> {
    psl::domain_str(domain)
        .map(str::to_ascii_lowercase)
        .filter(|org| !org.eq_ignore_ascii_case(domain))
}

/// True when a lookup answered and holds no BIMI record: the next name is
/// asked. A failure is not "no record", so it stops the search.
pub fn needs_fallback(lookup: &Lookup) -> bool {
    lookup
        .outcome
        .as_ref()
        .is_ok_and(|answer| bimi_texts(answer).is_empty())
}

fn bimi_texts(answer: &crate::dns::Answer) -> Vec<String> {
    answer
        .txt()
        .iter()
        .map(|strings| String::from_utf8_lossy(&strings.concat()).into_owned())
        .filter(|text| is_candidate(text))
        .collect()
}

/// Judges the lookups in the order they were asked.
pub fn evaluate(domain: &DomainName, lookups: &[Lookup]) -> Checked<BimiSection> {
    let mut section = BimiSection {
        domain: domain.ascii.clone(),
        status: BimiStatus::Missing,
        looked_up: lookups.iter().map(|l| l.name.clone()).collect(),
        record_name: None,
        inherited: false,
        records: Vec::new(),
        logo_url: None,
        authority_url: None,
        tags: Vec::new(),
        problem: None,
        error: None,
    };
    let mut evidence = Vec::new();
    for (index, lookup) in lookups.iter().enumerate() {
        let answer = match &lookup.outcome {
            Ok(answer) => answer,
            Err(e) => {
                section.status = BimiStatus::Unknown;
                section.error = Some(format!("the TXT lookup for {} failed: {e}", lookup.name));
                return Checked {
                    section,
                    findings: Vec::new(),
                };
            }
        };
        evidence.extend(answer_evidence(&lookup.name, answer));
        let texts = bimi_texts(answer);
        if texts.is_empty() {
            continue;
        }
        section.record_name = Some(lookup.name.clone());
        section.inherited = index > 0;
        section.records = texts;
        return judge_records(section, &lookup.name, evidence);
    }
    let asked: Vec<String> = lookups.iter().map(|l| l.name.clone()).collect();
    let finding = Finding::new(
        catalog::BIMI_MISSING,
        format!("no v=BIMI1 TXT record at {}", asked.join(" nor at ")),
    )
    .with_fix(format!(
        "Once DMARC is at p=quarantine or p=reject, publish a TXT record at {LABEL}.{0}, for \
         example: v=BIMI1; l=https://{0}/logo.svg; a=https://{0}/mark.pem (the logo must be an \
         SVG Tiny PS file; some providers, Gmail among them, also require the mark certificate).",
        domain.ascii
    ))
    .with_evidence(evidence);
    Checked {
        section,
        findings: vec![finding],
    }
}

fn judge_records(
    mut section: BimiSection,
    name: &str,
    evidence: Vec<String>,
) -> Checked<BimiSection> {
    let example = format!(
        "v=BIMI1; l=https://{0}/logo.svg; a=https://{0}/mark.pem",
        section.domain
    );
    if let [text] = section.records.as_slice() {
        let text = text.clone();
        return match parse(&text) {
            Ok(record) => {
                section.status = if record.is_declination() {
                    BimiStatus::Declined
                } else {
                    BimiStatus::Published
                };
                let findings = unknown_tags(name, &text, &record, &evidence);
                section.logo_url = record.logo_url;
                section.authority_url = record.authority_url;
                section.tags = record.tags;
                Checked { section, findings }
            }
            Err(e) => {
                section.status = BimiStatus::Invalid;
                section.problem = Some(e.0.clone());
                let finding = Finding::new(
                    catalog::BIMI_INVALID,
                    format!("the BIMI record at {name} `{text}` is malformed: {e}"),
                )
                .with_fix(format!(
                    "Replace it with one TXT record at {name} of the form {example}, with your \
                     own https URLs of the logo and of the mark certificate (leave a= empty if \
                     you have none)."
                ))
                .with_evidence(evidence);
                Checked {
                    section,
                    findings: vec![finding],
                }
            }
        };
    }
    section.status = BimiStatus::Invalid;
    let problem = format!(
        "{} BIMI records are published at {name}; receivers use none of them unless there is \
         exactly one",
        section.records.len()
    );
    section.problem = Some(problem.clone());
    let listed: Vec<String> = section.records.iter().map(|t| format!("`{t}`")).collect();
    let keep = section
        .records
        .iter()
        .find(|t| parse(t).is_ok())
        .cloned()
        .unwrap_or(example);
    let finding = Finding::new(
        catalog::BIMI_INVALID,
        format!("{problem}: {}", listed.join(", ")),
    )
    .with_fix(format!(
        "Keep a single TXT record at {name} and delete the others, for example: {keep}"
    ))
    .with_evidence(evidence);
    Checked {
        section,
        findings: vec![finding],
    }
}

/// `bimi.unknown_tags` for tags the draft does not define.
fn unknown_tags(name: &str, text: &str, record: &BimiRecord, evidence: &[String]) -> Vec<Finding> {
    let unknown = record.unknown_tags();
    if unknown.is_empty() {
        return Vec::new();
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|t| format!("{}={}", t.name, t.value))
        .collect();
    let kept: Vec<String> = record
        .tags
        .iter()
        .filter(|t| !unknown.contains(t))
        .map(|t| format!("{}={}", t.name, t.value))
        .collect();
    vec![
        Finding::new(
            catalog::BIMI_UNKNOWN_TAGS,
            format!(
                "the BIMI record at {name} `{text}` has tags the draft does not define, which \
                 receivers ignore: {}",
                listed.join(", ")
            ),
        )
        .with_fix(format!(
            "Publish at {name}: {} (check the ignored tags for a misspelled l= or a=).",
            kept.join("; ")
        ))
        .with_evidence(evidence.iter().cloned()),
    ]
}

fn answer_evidence(name: &str, answer: &crate::dns::Answer) -> Vec<String> {
    if answer.records.is_empty() {
        let word = match answer.rcode {
            Rcode::NXDomain => "NXDOMAIN",
            Rcode::NoError => "NODATA",
        };
        return vec![format!("{name}. TXT {word}")];
    }
    answer
        .records
        .iter()
        .map(|r| format!("{} {}", r.name.to_ascii(), trace::present(r)))
        .collect()
}

/// BIMI's DMARC prerequisite: receivers show a logo only when the DMARC
/// policy that applies to the domain is quarantine or reject for all mail
/// (draft §7.3, which relies on RFC 7489 §6.3 `p` and `pct`).
///
/// `enforcement` is that policy (`"none"`, `"quarantine"` or `"reject"`)
/// and its `pct` (100 when absent), or `None` when the domain has no usable
/// DMARC record. The finding fires only for a published record: a missing,
/// invalid or declining record shows no logo whatever DMARC says.
pub fn dmarc_prerequisite(
    section: &BimiSection,
    enforcement: Option<(&str, u8)>,
) -> Option<Finding> {
    if section.status != BimiStatus::Published {
        return None;
    }
    let domain = &section.domain;
    let record_name = section.record_name.as_deref().unwrap_or(LABEL);
    let (seen, fix) = match enforcement {
        None => (
            "there is no usable DMARC record for the domain".to_string(),
            format!(
                "Publish a TXT record at _dmarc.{domain}: v=DMARC1; p=quarantine; \
                 rua=mailto:dmarc-reports@{domain}"
            ),
        ),
        Some((policy, pct)) => {
            let enforcing =
                policy.eq_ignore_ascii_case("quarantine") || policy.eq_ignore_ascii_case("reject");
            if enforcing && pct >= 100 {
                return None;
            }
            let mut changes = Vec::new();
            if !enforcing {
                changes.push(format!("change p={policy} to p=quarantine (or p=reject)"));
            }
            if pct < 100 {
                changes.push(format!("remove pct={pct} (or set pct=100)"));
            }
            let seen = if enforcing {
                format!("the DMARC policy p={policy} applies to only {pct}% of mail (pct={pct})")
            } else if pct < 100 {
                format!("the DMARC policy is p={policy} (pct={pct})")
            } else {
                format!("the DMARC policy is p={policy}")
            };
            (
                seen,
                format!(
                    "In the DMARC record that applies to {domain}, {}.",
                    changes.join(" and ")
                ),
            )
        }
    };
    let evidence = section
        .records
        .iter()
        .map(|t| format!("{record_name}. TXT \"{t}\""));
    Some(
        Finding::new(
            catalog::BIMI_DMARC_NOT_ENFORCED,
            format!(
                "a BIMI record is published at {record_name}, but {seen}, so receivers show \
                 no logo"
            ),
        )
        .with_fix(fix)
        .with_evidence(evidence),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Answer;
    use crate::dns::DnsError;
    use crate::records::bimi::tests::GOOD;
    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{RData, Record};

    fn domain(d: &str) -> DomainName {
        DomainName::parse(d).unwrap()
    }

    fn lookup(name: &str, records: &[&str]) -> Lookup {
        Lookup {
            name: name.to_string(),
            outcome: Ok(Answer {
                rcode: if records.is_empty() {
                    Rcode::NXDomain
                } else {
                    Rcode::NoError
                },
                authority: vec![],
                records: records
                    .iter()
                    .map(|t| {
                        Record::from_rdata(
                            Name::from_ascii(format!("{name}.")).unwrap(),
                            300,
                            RData::TXT(TXT::new(vec![t.to_string()])),
                        )
                    })
                    .collect(),
                authenticated: false,
                ttl: 300,
            }),
        }
    }

    fn codes(c: &Checked<BimiSection>) -> Vec<&'static str> {
        c.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn organizational_domain_comes_from_the_public_suffix_list() {
        assert_eq!(
            organizational_domain("mail.example.co.uk").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(organizational_domain("example.co.uk"), None);
        assert_eq!(
            organizational_domain("shop.brand.test").as_deref(),
            Some("brand.test")
        );
    }

    #[test]
    fn a_record_at_the_domain_applies() {
        let c = evaluate(
            &domain("example.com"),
            &[lookup("default._bimi.example.com", &[GOOD, "unrelated"])],
        );
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.section.status, BimiStatus::Published);
        assert!(!c.section.inherited);
        assert_eq!(
            c.section.record_name.as_deref(),
            Some("default._bimi.example.com")
        );
        assert_eq!(c.section.records, vec![GOOD]);
    }

    #[test]
    fn the_organizational_domain_is_asked_when_the_domain_has_none() {
        let first = lookup("default._bimi.shop.example.com", &["unrelated"]);
        assert!(needs_fallback(&first));
        let c = evaluate(
            &domain("shop.example.com"),
            &[first, lookup("default._bimi.example.com", &[GOOD])],
        );
        assert!(c.findings.is_empty());
        assert!(c.section.inherited);
        assert_eq!(
            c.section.record_name.as_deref(),
            Some("default._bimi.example.com")
        );
        // An invalid record at the domain stops the search: no fallback.
        assert!(!needs_fallback(&lookup(
            "default._bimi.shop.example.com",
            &["v=BIMI1"]
        )));
        // So does a failure.
        assert!(!needs_fallback(&Lookup {
            name: "default._bimi.shop.example.com".into(),
            outcome: Err(DnsError::ServFail),
        }));
    }

    #[test]
    fn no_record_anywhere_is_missing() {
        let c = evaluate(
            &domain("shop.example.com"),
            &[
                lookup("default._bimi.shop.example.com", &[]),
                lookup("default._bimi.example.com", &[]),
            ],
        );
        assert_eq!(codes(&c), vec!["bimi.missing"]);
        assert!(
            c.findings[0]
                .detail
                .contains("nor at default._bimi.example.com")
        );
        assert_eq!(c.findings[0].evidence.len(), 2);
        assert_eq!(c.section.status, BimiStatus::Missing);
    }

    #[test]
    fn declination_is_valid_and_quiet() {
        let c = evaluate(
            &domain("example.com"),
            &[lookup("default._bimi.example.com", &["v=BIMI1; l=; a=;"])],
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, BimiStatus::Declined);
        assert!(dmarc_prerequisite(&c.section, None).is_none());
    }

    #[test]
    fn malformed_or_multiple_records_are_invalid() {
        let c = evaluate(
            &domain("example.com"),
            &[lookup(
                "default._bimi.example.com",
                &["v=BIMI1; l=http://example.com/logo.svg"],
            )],
        );
        assert_eq!(codes(&c), vec!["bimi.invalid"]);
        assert!(c.findings[0].detail.contains("http://example.com/logo.svg"));
        let c = evaluate(
            &domain("example.com"),
            &[lookup("default._bimi.example.com", &[GOOD, "v=BIMI1; l="])],
        );
        assert_eq!(codes(&c), vec!["bimi.invalid"]);
        assert!(c.findings[0].detail.starts_with("2 BIMI records"));
        assert!(c.findings[0].fix.contains(GOOD));
        assert!(dmarc_prerequisite(&c.section, None).is_none());
    }

    #[test]
    fn a_failed_lookup_is_unknown_without_findings() {
        let c = evaluate(
            &domain("example.com"),
            &[Lookup {
                name: "default._bimi.example.com".into(),
                outcome: Err(DnsError::Timeout),
            }],
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, BimiStatus::Unknown);
        assert!(c.section.error.is_some());
    }

    #[test]
    fn dmarc_prerequisite_needs_quarantine_or_reject_at_100_percent() {
        let c = evaluate(
            &domain("example.com"),
            &[lookup("default._bimi.example.com", &[GOOD])],
        );
        for ok in [("quarantine", 100), ("reject", 100), ("REJECT", 100)] {
            assert!(dmarc_prerequisite(&c.section, Some(ok)).is_none(), "{ok:?}");
        }
        for (bad, needle) in [
            (Some(("none", 100)), "p=none"),
            (Some(("quarantine", 50)), "pct=50"),
            (Some(("reject", 0)), "pct=0"),
            (Some(("none", 20)), "pct=20"),
            (None, "no usable DMARC record"),
        ] {
            let f = dmarc_prerequisite(&c.section, bad).expect("finding");
            assert_eq!(f.code, "bimi.dmarc_not_enforced");
            assert!(f.detail.contains(needle), "{bad:?}: {}", f.detail);
            assert!(!f.evidence.is_empty());
        }
        let f = dmarc_prerequisite(&c.section, Some(("none", 50))).unwrap();
        assert!(f.fix.contains("p=quarantine") && f.fix.contains("remove pct=50"));
        let f = dmarc_prerequisite(&c.section, None).unwrap();
        assert!(f.fix.contains("_dmarc.example.com"));
    }
}
