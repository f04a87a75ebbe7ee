//! DNSSEC: is the domain's zone signed, and does it validate? Decided from
//! the AD bit of a validating resolver (RFC 4035 §3.2.3, RFC 6840 §5.7),
//! since mailvet does not validate signatures itself.
//!
//! The AD bit means something only when the resolver validates, and a
//! missing AD bit says nothing when it does not. So this module asks two
//! questions at once: the domain's SOA and the root zone's SOA. The root
//! zone is signed, so a validating resolver sets AD on its answer; without
//! that, the status is unknown and nothing is reported. With it:
//!
//! - AD on the domain's answer: **secure**.
//! - No AD: **insecure** — the answer is not covered by a chain of trust
//!   (the zone is unsigned, or its parent holds no DS for it).
//! - SERVFAIL: asked again with the CD bit (RFC 4035 §3.2.2). If that
//!   answers, the data exists but fails validation: **bogus**. If not, the
//!   name servers themselves fail, and the status is unknown.
//!
//! Answers from a `--zone` overlay (or `--offline`) never pass through a
//! validating resolver, so they cannot tell either: unknown.

use super::AuditContext;
use super::protocol::{Audited, Protocol, status_word};
use crate::dns::{DnsError, Outcome, Rcode};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::name::DomainName;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

/// What the resolver could tell about the domain's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DnssecStatus {
    /// The validating resolver vouched for the answer (AD bit).
    Secure,
    /// The validating resolver answered without AD: not signed.
    Insecure,
    /// The data exists but fails validation.
    Bogus,
    /// The resolver does not validate, answers came from a zone file, or
    /// a lookup failed.
    Unknown,
}

/// The `dnssec` section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct DnssecSection {
    /// The domain whose zone was judged.
    pub name: String,
    pub status: DnssecStatus,
    /// How the status was decided, in plain words.
    pub explanation: String,
    /// Whether the resolver validates DNSSEC (AD on the root zone's SOA);
    /// absent when that could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver_validates: Option<bool>,
    /// Each question asked and what came back, with the AD bit.
    pub answers: Vec<String>,
    /// Why a lookup failed, when the status is unknown because one did
    /// (not because the resolver does not validate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// DNSSEC: judged on the SOA of the domain.
pub static PROTOCOL: Protocol = Protocol::at("dnssec", "DNSSEC", "", "SOA");

impl Audited for DnssecSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
        let error = self.error.as_deref()?;
        Some(format!("a DNSSEC lookup failed ({error})"))
    }

    fn summary(&self) -> String {
        status_word(&self.status)
    }
}

/// The answers [`evaluate`] judges.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The names are answered from a `--zone` overlay or `--offline`;
    /// nothing was asked.
    pub overlaid: bool,
    /// The domain's SOA.
    pub domain: Option<Outcome>,
    /// The root zone's SOA.
    pub root: Option<Outcome>,
    /// The domain's SOA asked again with the CD bit, after a SERVFAIL.
    pub checking_disabled: Option<Outcome>,
}

/// Asks the questions and evaluates.
pub async fn check(cx: &AuditContext<'_>) -> Checked<DnssecSection> {
    let name = cx.domain.fqdn();
    let root = Name::root();
    let resolver = cx.resolver;
    if resolver.is_overlaid(&name) || resolver.is_overlaid(&root) {
        let fetched = Fetched {
            overlaid: true,
            ..Fetched::default()
        };
        return evaluate(cx.domain, &fetched);
    }
    let (domain, root_answer) = tokio::join!(
        resolver.lookup(&name, RecordType::SOA),
        resolver.lookup(&root, RecordType::SOA),
    );
    let checking_disabled = if wants_checking_disabled(&domain, &root_answer) {
        Some(
            resolver
                .lookup_checking_disabled(&name, RecordType::SOA)
                .await,
        )
    } else {
        None
    };
    let fetched = Fetched {
        overlaid: false,
        domain: Some(domain),
        root: Some(root_answer),
        checking_disabled,
    };
    evaluate(cx.domain, &fetched)
}

/// A SERVFAIL for the domain from a resolver that validates may be a
/// validation failure: only then is the question asked again with CD.
pub fn wants_checking_disabled(domain: &Outcome, root: &Outcome) -> bool {
    matches!(domain, Err(DnsError::ServFail)) && root.as_ref().is_ok_and(|a| a.authenticated)
}

/// One line per question: name, type, response, AD bit.
fn describe(name: &str, what: &str, outcome: &Outcome) -> String {
    match outcome {
        Ok(answer) => format!(
            "{name} SOA{what}: {}, {} record(s), AD bit {}",
            match answer.rcode {
                Rcode::NoError => "NOERROR",
                Rcode::NXDomain => "NXDOMAIN",
            },
            answer.records.len(),
            if answer.authenticated {
                "set"
            } else {
                "not set"
            }
        ),
        Err(e) => format!("{name} SOA{what}: {}", e.rcode_word()),
    }
}

/// Judges the answers.
pub fn evaluate(domain: &DomainName, fetched: &Fetched) -> Checked<DnssecSection> {
    let name = domain.ascii.clone();
    let mut section = DnssecSection {
        name: name.clone(),
        status: DnssecStatus::Unknown,
        explanation: String::new(),
        resolver_validates: None,
        answers: Vec::new(),
        error: None,
    };
    let quiet = |mut section: DnssecSection, explanation: String| {
        section.status = DnssecStatus::Unknown;
        section.explanation = explanation;
        Checked {
            section,
            findings: Vec::new(),
        }
    };
    let failed = |mut section: DnssecSection, explanation: String, error: String| {
        section.error = Some(error);
        quiet(section, explanation)
    };
    let (Some(domain_outcome), Some(root)) = (&fetched.domain, &fetched.root) else {
        let why = if fetched.overlaid {
            format!(
                "The answers for {name} come from a --zone file (or --offline), not from a \
                 validating resolver, so they cannot show whether the zone is signed."
            )
        } else {
            format!("The questions that decide DNSSEC for {name} were not asked.")
        };
        return quiet(section, why);
    };
    section
        .answers
        .push(describe(&format!("{name}."), "", domain_outcome));
    section.answers.push(describe(".", "", root));
    if let Some(cd) = &fetched.checking_disabled {
        section
            .answers
            .push(describe(&format!("{name}."), " (checking disabled)", cd));
    }

    let root_answer = match root {
        Ok(answer) => answer,
        Err(e) => {
            return failed(
                section,
                format!(
                    "The question for the root zone's SOA failed ({e}), so it is not known \
                     whether the resolver validates DNSSEC; the status of {name} cannot be told."
                ),
                format!("the root zone's SOA: {e}"),
            );
        }
    };
    section.resolver_validates = Some(root_answer.authenticated);
    if !root_answer.authenticated {
        return quiet(
            section,
            format!(
                "The resolver did not set the AD bit on the root zone's SOA, which is signed: it \
                 does not validate DNSSEC (or does not pass the AD bit on), so its answers cannot \
                 show whether {name} is signed. Point --dns at a validating resolver to decide."
            ),
        );
    }

    match domain_outcome {
        Ok(answer) if answer.authenticated => {
            section.status = DnssecStatus::Secure;
            section.explanation = format!(
                "The resolver validates DNSSEC (AD bit on the root zone's SOA) and set the AD bit \
                 on the answer for {name}'s SOA: the answer validated along the chain of trust."
            );
            Checked {
                section,
                findings: Vec::new(),
            }
        }
        Ok(_) => {
            section.status = DnssecStatus::Insecure;
            section.explanation = format!(
                "The resolver validates DNSSEC (AD bit on the root zone's SOA) but did not set \
                 the AD bit on the answer for {name}'s SOA: no chain of trust covers it, so the \
                 zone is unsigned or its parent publishes no DS record for it."
            );
            let finding = Finding::new(
                catalog::DNSSEC_UNSIGNED,
                format!(
                    "a validating resolver answered {name}'s SOA without the AD bit (it set the \
                     bit for the root zone), so {name} is not protected by DNSSEC"
                ),
            )
            .with_evidence(section.answers.clone());
            Checked {
                section,
                findings: vec![finding],
            }
        }
        Err(DnsError::ServFail) => match &fetched.checking_disabled {
            Some(Ok(_)) => {
                section.status = DnssecStatus::Bogus;
                section.explanation = format!(
                    "The resolver validates DNSSEC and answered SERVFAIL for {name}'s SOA, but \
                     answered when asked again with checking disabled (CD bit): the data is \
                     there and fails DNSSEC validation."
                );
                let finding = Finding::new(
                    catalog::DNSSEC_BOGUS,
                    format!(
                        "a validating resolver answers SERVFAIL for {name}'s SOA, yet answers \
                         with validation turned off (CD bit): the signatures or the DS record \
                         of {name} do not validate"
                    ),
                )
                .with_evidence(section.answers.clone());
                Checked {
                    section,
                    findings: vec![finding],
                }
            }
            Some(Err(e)) => failed(
                section,
                format!(
                    "The resolver answered SERVFAIL for {name}'s SOA, and the question asked again \
                     with checking disabled (CD bit) failed too ({e}): the name servers fail, \
                     whatever DNSSEC says, so the status cannot be told."
                ),
                format!("{name}'s SOA: SERVFAIL, and {e} with checking disabled"),
            ),
            None => failed(
                section,
                format!(
                    "The resolver answered SERVFAIL for {name}'s SOA and the question was not \
                     asked again with checking disabled, so the status cannot be told."
                ),
                format!("{name}'s SOA: SERVFAIL"),
            ),
        },
        Err(e) => failed(
            section,
            format!(
                "The question for {name}'s SOA failed ({e}), so the status cannot be told; a \
                 validation failure shows as SERVFAIL, not as this."
            ),
            format!("{name}'s SOA: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Answer;

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn answer(authenticated: bool) -> Outcome {
        Ok(Answer {
            rcode: Rcode::NoError,
            records: vec![],
            authenticated,
            ttl: 300,
        })
    }

    fn fetched(domain: Outcome, root: Outcome, cd: Option<Outcome>) -> Fetched {
        Fetched {
            overlaid: false,
            domain: Some(domain),
            root: Some(root),
            checking_disabled: cd,
        }
    }

    fn codes(c: &Checked<DnssecSection>) -> Vec<&'static str> {
        c.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn authenticated_answer_from_a_validating_resolver_is_secure() {
        let c = evaluate(&domain(), &fetched(answer(true), answer(true), None));
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, DnssecStatus::Secure);
        assert_eq!(c.section.resolver_validates, Some(true));
        assert_eq!(c.section.answers.len(), 2);
        assert!(c.section.answers[0].contains("AD bit set"));
    }

    #[test]
    fn unauthenticated_answer_from_a_validating_resolver_is_unsigned() {
        let c = evaluate(&domain(), &fetched(answer(false), answer(true), None));
        assert_eq!(codes(&c), vec!["dnssec.unsigned"]);
        assert_eq!(c.section.status, DnssecStatus::Insecure);
        assert_eq!(c.findings[0].evidence.len(), 2);
        // A signed denial (NXDOMAIN with AD) is secure too.
        let nx = Ok(Answer {
            rcode: Rcode::NXDomain,
            records: vec![],
            authenticated: true,
            ttl: 0,
        });
        let c = evaluate(&domain(), &fetched(nx, answer(true), None));
        assert_eq!(c.section.status, DnssecStatus::Secure);
    }

    #[test]
    fn a_resolver_that_does_not_validate_cannot_tell() {
        for d in [answer(false), answer(true), Err(DnsError::ServFail)] {
            let c = evaluate(&domain(), &fetched(d, answer(false), None));
            assert!(c.findings.is_empty());
            assert_eq!(c.section.status, DnssecStatus::Unknown);
            assert_eq!(c.section.resolver_validates, Some(false));
            assert!(c.section.explanation.contains("does not validate"));
            // Unknown for good: no failed lookup leaves it undecided.
            assert_eq!(c.section.undecided(), None);
        }
        let c = evaluate(
            &domain(),
            &fetched(answer(false), Err(DnsError::Timeout), None),
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.resolver_validates, None);
        assert!(c.section.undecided().unwrap().contains("root zone"));
    }

    #[test]
    fn servfail_that_answers_with_cd_is_bogus() {
        assert!(wants_checking_disabled(
            &Err(DnsError::ServFail),
            &answer(true)
        ));
        assert!(!wants_checking_disabled(
            &Err(DnsError::ServFail),
            &answer(false)
        ));
        assert!(!wants_checking_disabled(
            &Err(DnsError::Timeout),
            &answer(true)
        ));
        assert!(!wants_checking_disabled(&answer(false), &answer(true)));
        let c = evaluate(
            &domain(),
            &fetched(Err(DnsError::ServFail), answer(true), Some(answer(false))),
        );
        assert_eq!(codes(&c), vec!["dnssec.bogus"]);
        assert_eq!(c.section.status, DnssecStatus::Bogus);
        assert_eq!(c.findings[0].evidence.len(), 3);
        assert!(c.section.answers[2].contains("checking disabled"));
    }

    #[test]
    fn servfail_with_cd_too_or_a_timeout_is_unknown() {
        let c = evaluate(
            &domain(),
            &fetched(
                Err(DnsError::ServFail),
                answer(true),
                Some(Err(DnsError::ServFail)),
            ),
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, DnssecStatus::Unknown);
        assert!(c.section.undecided().is_some());
        let c = evaluate(
            &domain(),
            &fetched(Err(DnsError::Timeout), answer(true), None),
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, DnssecStatus::Unknown);
        assert!(c.section.undecided().is_some());
    }

    #[test]
    fn overlay_answers_cannot_tell() {
        let c = evaluate(
            &domain(),
            &Fetched {
                overlaid: true,
                ..Fetched::default()
            },
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, DnssecStatus::Unknown);
        assert!(c.section.explanation.contains("--zone"));
        assert_eq!(c.section.undecided(), None);
        let json = serde_json::to_value(&c.section).unwrap();
        assert_eq!(json["status"], "unknown");
    }
}
