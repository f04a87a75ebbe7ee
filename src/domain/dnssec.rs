//! DNSSEC: is the domain's zone signed and does it validate, and the zone
//! of each MX host? Decided by mailvet's own validation from the trust
//! anchor ([`crate::dns::dnssec`], RFC 4035 §5), never by trusting an AD
//! bit.
//!
//! The domain's status is that of its SOA answer (for a name below a zone
//! apex, the signed denial that it has one); an MX host's is that of its
//! address (A) answer. Each comes with the chain of DS and DNSKEY records
//! it rests on. Findings:
//!
//! - the domain's zone bogus: `dnssec.bogus`; insecure: `dnssec.unsigned`;
//! - an MX host's zone bogus (the domain's own is not): `dnssec.mx_bogus`;
//!   insecure while the domain is secure (DANE for that host is then
//!   impossible): `dnssec.mx_unsigned`;
//! - the upstream's AD bit disagreeing with the computed status:
//!   `dnssec.ad_disagrees`. AD on an answer mailvet finds not secure is a
//!   disagreement; so is no AD on an answer mailvet finds secure, but only
//!   when the resolver sets AD on the (signed) root zone's SOA, that is,
//!   when it validates at all.
//!
//! Indeterminate (a lookup failed, an answer came from a `--zone` overlay
//! or `--offline`, no trust anchor covers the name) is "unknown" and gives
//! no finding.

use super::AuditContext;
use super::protocol::{Audited, Protocol, status_word};
use crate::dns::dnssec::{ChainLink, Security, Validated};
use crate::dns::{DnsError, Outcome};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::name::DomainName;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

/// Most MX hosts whose zones are judged (the MX check bounds the rest).
pub const MAX_MX_HOSTS: usize = 10;

/// The status of a zone as mailvet computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DnssecStatus {
    /// A chain of signatures from the trust anchor vouches for the answer.
    Secure,
    /// Proven outside any chain of trust (no DS at a delegation).
    Insecure,
    /// It should validate and does not.
    Bogus,
    /// Indeterminate: a lookup failed, the answer came from a zone file,
    /// or no trust anchor covers the name.
    Unknown,
}

impl DnssecStatus {
    /// The status of a validated answer.
    pub fn of(security: &Security) -> DnssecStatus {
        match security {
            Security::Secure => DnssecStatus::Secure,
            Security::Insecure(_) => DnssecStatus::Insecure,
            Security::Bogus(_) => DnssecStatus::Bogus,
            Security::Indeterminate(_) => DnssecStatus::Unknown,
        }
    }
}

/// The DNSSEC status of one MX host's zone.
#[derive(Debug, Clone, Serialize)]
pub struct HostDnssec {
    pub host: String,
    pub status: DnssecStatus,
    /// Why it is not secure, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub chain: Vec<ChainLink>,
}

/// The `dnssec` section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct DnssecSection {
    /// The domain whose zone was judged.
    pub name: String,
    pub status: DnssecStatus,
    /// How the status was decided, in plain words.
    pub explanation: String,
    /// The DS and DNSKEY records per zone cut the domain's status rests
    /// on, from the trust anchor down.
    pub chain: Vec<ChainLink>,
    /// Each MX host's zone.
    pub mx_hosts: Vec<HostDnssec>,
    /// Whether the upstream resolver validates DNSSEC (AD on the root
    /// zone's SOA); absent when that could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver_validates: Option<bool>,
    /// Each question that decided the status and what came back.
    pub answers: Vec<String>,
    /// Why a lookup failed, when the status is unknown because one did.
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
    /// The domain is answered from a `--zone` overlay or `--offline`.
    pub overlaid: bool,
    /// The domain's SOA, validated.
    pub domain: Option<Result<Validated, DnsError>>,
    /// The root zone's SOA as the upstream answered (its AD bit).
    pub root: Option<Outcome>,
    /// Each MX host's address answer, validated.
    pub mx_hosts: Vec<(String, Result<Validated, DnsError>)>,
}

/// Asks the questions and evaluates.
pub async fn check(cx: &AuditContext<'_>) -> Checked<DnssecSection> {
    let name = cx.domain.fqdn();
    let resolver = cx.resolver;
    if resolver.is_overlaid(&name) {
        let fetched = Fetched {
            overlaid: true,
            ..Fetched::default()
        };
        return evaluate(cx.domain, &fetched);
    }
    let root_name = Name::root();
    let (domain, root, mx) = tokio::join!(
        resolver.lookup_validated(&name, RecordType::SOA),
        resolver.lookup(&root_name, RecordType::SOA),
        resolver.lookup(&name, RecordType::MX),
    );
    let hosts = match &mx {
        Ok(answer) => super::mx::exchanges_to_resolve(&answer.mx()),
        Err(_) => Vec::new(),
    };
    let mx_hosts = futures_util::future::join_all(hosts.into_iter().take(MAX_MX_HOSTS).map(
        |host| async move {
            let validated = resolver.lookup_validated(&host, RecordType::A).await;
            (host.to_ascii().trim_end_matches('.').to_string(), validated)
        },
    ))
    .await;
    let fetched = Fetched {
        overlaid: false,
        domain: Some(domain),
        root: Some(root),
        mx_hosts,
    };
    evaluate(cx.domain, &fetched)
}

fn status_words(security: &Security) -> String {
    match security {
        Security::Secure => "secure".to_string(),
        other => format!("{} ({})", other.word(), other.reason()),
    }
}

/// Judges the answers.
pub fn evaluate(domain: &DomainName, fetched: &Fetched) -> Checked<DnssecSection> {
    let name = domain.ascii.clone();
    let mut section = DnssecSection {
        name: name.clone(),
        status: DnssecStatus::Unknown,
        explanation: String::new(),
        chain: Vec::new(),
        mx_hosts: Vec::new(),
        resolver_validates: None,
        answers: Vec::new(),
        error: None,
    };
    let mut findings = Vec::new();
    let validated = match &fetched.domain {
        None => {
            section.explanation = if fetched.overlaid {
                format!(
                    "The answers for {name} come from a --zone file (or --offline), which \
                     carries no signatures, so mailvet cannot validate them."
                )
            } else {
                format!("The questions that decide DNSSEC for {name} were not asked.")
            };
            return Checked { section, findings };
        }
        Some(Err(e)) => {
            section.explanation = format!(
                "The question for {name}'s SOA failed ({e}), so its DNSSEC status cannot be \
                 told."
            );
            section
                .answers
                .push(format!("{name}. SOA: {}", e.rcode_word()));
            section.error = Some(format!("{name}'s SOA: {e}"));
            return Checked { section, findings };
        }
        Some(Ok(v)) => v,
    };
    section.status = DnssecStatus::of(&validated.security);
    section.chain = validated.chain.clone();
    section.answers.push(format!(
        "{name}. SOA: {}, {} record(s), validated {}, AD bit {}",
        rcode_word(validated),
        validated.answer.records.len(),
        status_words(&validated.security),
        if validated.answer.authenticated {
            "set"
        } else {
            "not set"
        }
    ));
    let root_validates = match &fetched.root {
        Some(Ok(root)) => {
            section.answers.push(format!(
                ". SOA: AD bit {}",
                if root.authenticated { "set" } else { "not set" }
            ));
            Some(root.authenticated)
        }
        _ => None,
    };
    section.resolver_validates = root_validates;
    let evidence = || section_evidence(validated);
    match &validated.security {
        Security::Secure => {
            section.explanation = format!(
                "mailvet validated {name}'s SOA answer along the chain of trust from the trust \
                 anchor: every DS and DNSKEY in the chain and the answer's signature check out."
            );
        }
        Security::Insecure(reason) => {
            section.explanation = format!(
                "{name} is outside every chain of trust: {reason}. Its answers are not \
                 protected by DNSSEC."
            );
            findings.push(
                Finding::new(
                    catalog::DNSSEC_UNSIGNED,
                    format!("mailvet's validation finds {name} insecure: {reason}"),
                )
                .with_evidence(evidence()),
            );
        }
        Security::Bogus(reason) => {
            section.explanation = format!(
                "{name} should validate and does not: {reason}. Validating resolvers answer \
                 SERVFAIL for its names."
            );
            findings.push(
                Finding::new(
                    catalog::DNSSEC_BOGUS,
                    format!("DNSSEC validation of {name} fails: {reason}"),
                )
                .with_evidence(evidence()),
            );
        }
        Security::Indeterminate(reason) => {
            section.explanation = format!("The DNSSEC status of {name} cannot be told: {reason}.");
        }
    }
    if let Some(finding) = ad_disagreement(&name, validated, root_validates) {
        findings.push(finding);
    }
    let domain_status = section.status;
    for (host, outcome) in &fetched.mx_hosts {
        let (status, reason, chain) = match outcome {
            Ok(v) => (
                DnssecStatus::of(&v.security),
                Some(v.security.reason().to_string()).filter(|r| !r.is_empty()),
                v.chain.clone(),
            ),
            Err(e) => (
                DnssecStatus::Unknown,
                Some(format!("the address question failed: {e}")),
                Vec::new(),
            ),
        };
        let why = reason.clone().unwrap_or_default();
        match status {
            DnssecStatus::Bogus if domain_status != DnssecStatus::Bogus => findings.push(
                Finding::new(
                    catalog::DNSSEC_MX_BOGUS,
                    format!("DNSSEC validation of MX host {host} of {name} fails: {why}"),
                )
                .with_evidence(vec![format!("{host}. A: bogus ({why})")]),
            ),
            DnssecStatus::Insecure if domain_status == DnssecStatus::Secure => findings.push(
                Finding::new(
                    catalog::DNSSEC_MX_UNSIGNED,
                    format!(
                        "{name} is signed, but its MX host {host} is in an insecure zone: {why}"
                    ),
                )
                .with_evidence(vec![format!("{host}. A: insecure ({why})")]),
            ),
            _ => {}
        }
        section.mx_hosts.push(HostDnssec {
            host: host.clone(),
            status,
            reason,
            chain,
        });
    }
    Checked { section, findings }
}

fn rcode_word(validated: &Validated) -> &'static str {
    match validated.answer.rcode {
        crate::dns::Rcode::NoError => "NOERROR",
        crate::dns::Rcode::NXDomain => "NXDOMAIN",
    }
}

/// The chain in one line per zone, then the status: a finding's evidence.
fn section_evidence(validated: &Validated) -> Vec<String> {
    let mut lines: Vec<String> = validated
        .chain
        .iter()
        .map(|link| {
            format!(
                "{}: {} DS, {} DNSKEY",
                link.zone,
                link.ds.len(),
                link.dnskey.len()
            )
        })
        .collect();
    lines.push(format!("status: {}", status_words(&validated.security)));
    lines
}

/// `dnssec.ad_disagrees` when the upstream's AD bit contradicts the
/// computed status (see the module documentation).
fn ad_disagreement(
    name: &str,
    validated: &Validated,
    resolver_validates: Option<bool>,
) -> Option<Finding> {
    let ad = validated.answer.authenticated;
    let ours = &validated.security;
    let disagrees = match ours {
        Security::Secure => !ad && resolver_validates == Some(true),
        Security::Insecure(_) | Security::Bogus(_) => ad,
        Security::Indeterminate(_) => false,
    };
    if !disagrees {
        return None;
    }
    let theirs = if ad {
        "set the AD bit (secure)"
    } else {
        "validates (AD bit on the root zone) but did not set the AD bit"
    };
    Some(
        Finding::new(
            catalog::DNSSEC_AD_DISAGREES,
            format!(
                "the upstream resolver {theirs} on {name}'s SOA, but mailvet's own validation \
                 finds it {}",
                status_words(ours)
            ),
        )
        .with_evidence(vec![
            format!("{name}. SOA: AD bit {}", if ad { "set" } else { "not set" }),
            format!("mailvet: {}", status_words(ours)),
        ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Answer, Rcode};

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn validated(security: Security, authenticated: bool) -> Result<Validated, DnsError> {
        Ok(Validated {
            answer: Answer {
                rcode: Rcode::NoError,
                records: vec![],
                authority: vec![],
                authenticated,
                ttl: 300,
            },
            security,
            chain: vec![],
        })
    }

    fn root(authenticated: bool) -> Option<Outcome> {
        validated(Security::Secure, authenticated)
            .map(|v| v.answer)
            .ok()
            .map(Ok)
    }

    fn codes(c: &Checked<DnssecSection>) -> Vec<&'static str> {
        c.findings.iter().map(|f| f.code).collect()
    }

    fn run(domain_security: Security, ad: bool, root_ad: bool) -> Checked<DnssecSection> {
        evaluate(
            &domain(),
            &Fetched {
                overlaid: false,
                domain: Some(validated(domain_security, ad)),
                root: root(root_ad),
                mx_hosts: vec![
                    (
                        "mx1.example.net".into(),
                        validated(Security::Insecure("no DS".into()), false),
                    ),
                    (
                        "mx2.example.org".into(),
                        validated(Security::Bogus("expired".into()), false),
                    ),
                ],
            },
        )
    }

    #[test]
    fn statuses_and_codes() {
        let c = run(Security::Secure, true, true);
        assert_eq!(c.section.status, DnssecStatus::Secure);
        assert_eq!(codes(&c), vec!["dnssec.mx_unsigned", "dnssec.mx_bogus"]);
        assert_eq!(c.section.mx_hosts.len(), 2);
        let c = run(Security::Insecure("no DS at com".into()), false, true);
        assert_eq!(codes(&c), vec!["dnssec.unsigned", "dnssec.mx_bogus"]);
        assert!(c.findings[0].detail.contains("no DS at com"));
        // A bogus domain's MX hosts add nothing to dnssec.bogus.
        let c = run(Security::Bogus("bad".into()), false, true);
        assert_eq!(codes(&c), vec!["dnssec.bogus"]);
        let c = run(Security::Indeterminate("timeout".into()), true, true);
        assert_eq!(c.section.status, DnssecStatus::Unknown);
        assert_eq!(codes(&c), vec!["dnssec.mx_bogus"]);
    }

    #[test]
    fn ad_bit_disagreements() {
        // AD on an answer mailvet finds insecure.
        let c = run(Security::Insecure("no DS".into()), true, true);
        assert!(codes(&c).contains(&"dnssec.ad_disagrees"));
        // No AD on a secure answer from a validating resolver.
        let c = run(Security::Secure, false, true);
        assert!(codes(&c).contains(&"dnssec.ad_disagrees"));
        // ... but a resolver that does not validate says nothing.
        let c = run(Security::Secure, false, false);
        assert!(!codes(&c).contains(&"dnssec.ad_disagrees"));
    }

    #[test]
    fn overlay_and_failures_cannot_tell() {
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
        let c = evaluate(
            &domain(),
            &Fetched {
                domain: Some(Err(DnsError::Timeout)),
                ..Fetched::default()
            },
        );
        assert!(c.findings.is_empty());
        assert!(c.section.undecided().is_some());
        let json = serde_json::to_value(&c.section).unwrap();
        assert_eq!(json["status"], "unknown");
    }
}
