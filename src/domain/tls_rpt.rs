//! SMTP TLS Reporting: does the domain ask senders for reports about failed
//! TLS connections to its mail servers (RFC 8460 §3)?
//!
//! This module decides which TXT records at `_smtp._tls.<domain>` are
//! TLS-RPT records, and whether the one that counts is usable. RFC 8460 §3
//! reads each record with its character-strings joined without spaces,
//! requires exactly one record, starting with `v=TLSRPTv1` (case-sensitive,
//! `%s` in the ABNF), and a `rua` of `mailto:` or `https:` URIs; further
//! fields are extensions (`name=value`) with the ABNF's character sets.
//!
//! A record that names the version elsewhere than first, or spells it in
//! another case, is still counted as meant for TLS-RPT, so the report says
//! why senders ignore it rather than claiming nothing was published.
//! A failed lookup marks the section unknown; there is no "dns error" code
//! for TLS-RPT, and a failure is never reported as a missing record.

use super::AuditContext;
use super::protocol::{Audited, Protocol, status_word};
use crate::dns::{Outcome, Rcode, trace};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::name::DomainName;
use crate::records::tag_list::{Kind, Space, Syntax, TagList};
use crate::records::tls_rpt::{Tag, VERSION, is_candidate, parse, report_uri_problem};
use hickory_proto::rr::RecordType;
use serde::Serialize;

/// The owner name of the record, below the domain.
const LABEL: &str = "_smtp._tls";

/// What was found at `_smtp._tls.<domain>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsRptStatus {
    /// Exactly one record, and it parses.
    Valid,
    /// More than one record, or one that does not parse.
    Invalid,
    /// No TLS-RPT record (NODATA, NXDOMAIN or only other TXT records).
    Missing,
    /// The lookup failed; see `error`.
    Unknown,
}

/// The `tls_rpt` section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct TlsRptSection {
    /// The name that was asked: `_smtp._tls.<domain>`.
    pub name: String,
    pub status: TlsRptStatus,
    /// The text of each TLS-RPT record, strings joined as RFC 8460 §3 says.
    pub records: Vec<String>,
    /// Report URIs of the valid record.
    pub rua: Vec<String>,
    /// Fields of the valid record after the version.
    pub tags: Vec<Tag>,
    /// Why the record is invalid, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Why the lookup failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// TLS-RPT: the TXT record at `_smtp._tls.` below the domain.
pub static PROTOCOL: Protocol = Protocol::at("tls_rpt", "TLS-RPT", "_smtp._tls.", "TXT");

impl Audited for TlsRptSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
        (self.status == TlsRptStatus::Unknown).then(|| {
            self.error
                .clone()
                .unwrap_or_else(|| format!("the TXT lookup for {} failed", self.name))
        })
    }

    fn summary(&self) -> String {
        status_word(&self.status)
    }
}

/// Fetches the TXT records at `_smtp._tls.<domain>` and evaluates them.
pub async fn check(cx: &AuditContext<'_>) -> Checked<TlsRptSection> {
    let outcome = cx
        .resolver
        .lookup_text(&cx.domain.child(LABEL), RecordType::TXT)
        .await;
    evaluate(cx.domain, &outcome)
}

/// Judges the TXT answer at `_smtp._tls.<domain>`.
pub fn evaluate(domain: &DomainName, outcome: &Outcome) -> Checked<TlsRptSection> {
    let name = domain.child(LABEL);
    let mut section = TlsRptSection {
        name: name.clone(),
        status: TlsRptStatus::Unknown,
        records: Vec::new(),
        rua: Vec::new(),
        tags: Vec::new(),
        problem: None,
        error: None,
    };
    let answer = match outcome {
        Ok(answer) => answer,
        Err(e) => {
            section.error = Some(format!("the TXT lookup for {name} failed: {e}"));
            return Checked {
                section,
                findings: Vec::new(),
            };
        }
    };
    let evidence: Vec<String> = if answer.records.is_empty() {
        let word = match answer.rcode {
            Rcode::NXDomain => "NXDOMAIN",
            Rcode::NoError => "NODATA",
        };
        vec![format!("{name}. TXT {word}")]
    } else {
        answer
            .records
            .iter()
            .map(|r| format!("{} {}", r.name.to_ascii(), trace::present(r)))
            .collect()
    };
    // RFC 8460 §3: a record's strings are joined without adding spaces.
    section.records = answer
        .txt()
        .iter()
        .map(|strings| String::from_utf8_lossy(&strings.concat()).into_owned())
        .filter(|text| is_candidate(text))
        .collect();
    let example = format!("v=TLSRPTv1; rua=mailto:tls-reports@{}", domain.ascii);

    match section.records.as_slice() {
        [] => {
            section.status = TlsRptStatus::Missing;
            let finding = Finding::new(
                catalog::TLS_RPT_MISSING,
                format!("no v=TLSRPTv1 TXT record at {name}"),
            )
            .with_fix(format!("Publish a TXT record at {name}: {example}"))
            .publishing(name.as_str(), "TXT", example.as_str())
            .with_evidence(evidence);
            Checked {
                section,
                findings: vec![finding],
            }
        }
        [text] => match parse(text) {
            Ok(record) => {
                section.status = TlsRptStatus::Valid;
                section.rua = record.rua;
                section.tags = record.tags;
                Checked {
                    section,
                    findings: Vec::new(),
                }
            }
            Err(e) => {
                section.status = TlsRptStatus::Invalid;
                section.problem = Some(e.0.clone());
                let finding = Finding::new(
                    catalog::TLS_RPT_INVALID,
                    format!("the TLS-RPT record at {name} `{text}` is malformed: {e}"),
                )
                .with_fix(format!(
                    "Replace it with one TXT record at {name}: {}",
                    proposal(std::slice::from_ref(text), &example)
                ))
                .with_evidence(evidence);
                Checked {
                    section,
                    findings: vec![finding],
                }
            }
        },
        several => {
            section.status = TlsRptStatus::Invalid;
            let problem = format!(
                "{} TLS-RPT records are published at {name}; senders use none of them unless \
                 there is exactly one (RFC 8460 §3)",
                several.len()
            );
            section.problem = Some(problem.clone());
            let listed: Vec<String> = several.iter().map(|t| format!("`{t}`")).collect();
            let finding = Finding::new(
                catalog::TLS_RPT_INVALID,
                format!("{problem}: {}", listed.join(", ")),
            )
            .with_fix(format!(
                "Keep a single TXT record at {name} and delete the others, for example: {}",
                proposal(several, &example)
            ))
            .with_evidence(evidence);
            Checked {
                section,
                findings: vec![finding],
            }
        }
    }
}

/// A record to publish: the usable report URIs found in the given records,
/// merged, or the example when there are none.
fn proposal(records: &[String], example: &str) -> String {
    let mut uris: Vec<String> = Vec::new();
    for text in records {
        for spec in TagList::split(text, Syntax::EXTENSIBLE).specs {
            let (Kind::Tag(tag) | Kind::BadName(tag)) = spec.kind else {
                continue;
            };
            if !tag.name.eq_ignore_ascii_case("rua") {
                continue;
            }
            for uri in tag.value.split(',').map(|u| Space::Wsp.trim(u)) {
                if !uri.is_empty()
                    && report_uri_problem(uri).is_none()
                    && !uris.iter().any(|u| u == uri)
                {
                    uris.push(uri.to_string());
                }
            }
        }
    }
    if uris.is_empty() {
        example.to_string()
    } else {
        format!("{VERSION}; rua={}", uris.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Answer;
    use crate::dns::DnsError;
    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{RData, Record};

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn txt(records: &[&[&str]]) -> Outcome {
        Ok(Answer {
            rcode: Rcode::NoError,
            authority: vec![],
            records: records
                .iter()
                .map(|strings| {
                    Record::from_rdata(
                        Name::from_ascii("_smtp._tls.example.com.").unwrap(),
                        300,
                        RData::TXT(TXT::new(strings.iter().map(|s| s.to_string()).collect())),
                    )
                })
                .collect(),
            authenticated: false,
            ttl: 300,
        })
    }

    fn codes(c: &Checked<TlsRptSection>) -> Vec<&'static str> {
        c.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn one_valid_record_gives_no_finding() {
        let c = evaluate(
            &domain(),
            &txt(&[
                &["v=TLSRPTv1; rua=mailto:tls@", "example.com"],
                &["some-verification=xyz"],
            ]),
        );
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.section.status, TlsRptStatus::Valid);
        assert_eq!(c.section.rua, vec!["mailto:tls@example.com"]);
        assert_eq!(c.section.records.len(), 1);
    }

    #[test]
    fn no_record_is_missing() {
        for outcome in [
            txt(&[]),
            txt(&[&["unrelated"]]),
            Ok(Answer {
                rcode: Rcode::NXDomain,
                authority: vec![],
                records: vec![],
                authenticated: false,
                ttl: 0,
            }),
        ] {
            let c = evaluate(&domain(), &outcome);
            assert_eq!(codes(&c), vec!["tls_rpt.missing"]);
            assert_eq!(c.section.status, TlsRptStatus::Missing);
            assert!(c.findings[0].fix.contains("_smtp._tls.example.com"));
        }
    }

    #[test]
    fn malformed_or_multiple_records_are_invalid() {
        let c = evaluate(
            &domain(),
            &txt(&[&["v=TLSRPTv1; rua=http://r.example.com/x"]]),
        );
        assert_eq!(codes(&c), vec!["tls_rpt.invalid"]);
        assert!(c.findings[0].detail.contains("http://r.example.com/x"));
        assert!(c.findings[0].fix.contains("mailto:tls-reports@example.com"));

        let c = evaluate(
            &domain(),
            &txt(&[
                &["v=TLSRPTv1; rua=mailto:a@example.com"],
                &["v=TLSRPTv1; rua=https://r.example.net/tls"],
            ]),
        );
        assert_eq!(codes(&c), vec!["tls_rpt.invalid"]);
        assert_eq!(c.section.status, TlsRptStatus::Invalid);
        assert!(c.findings[0].detail.starts_with("2 TLS-RPT records"));
        assert!(
            c.findings[0]
                .fix
                .contains("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.net/tls")
        );
        assert_eq!(c.findings[0].evidence.len(), 2);
    }

    #[test]
    fn a_failed_lookup_is_unknown_without_findings() {
        let c = evaluate(&domain(), &Err(DnsError::Timeout));
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, TlsRptStatus::Unknown);
        assert!(c.section.error.is_some());
    }
}
