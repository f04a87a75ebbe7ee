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
use crate::dns::{DnsError, Outcome, Rcode, trace};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::name::DomainName;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

/// The version field every record begins with (RFC 8460 §3).
const VERSION: &str = "v=TLSRPTv1";

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

/// One `name=value` field of a record, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    pub name: String,
    pub value: String,
}

/// A parsed TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The report URIs of every `rua` field, in order.
    pub rua: Vec<String>,
    /// Every field after the version, in order.
    pub tags: Vec<Tag>,
}

/// Why a record is not a usable TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

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

impl TlsRptSection {
    /// What a failed lookup left undecided, in a few words; `None` when
    /// every question this check rests on was answered.
    pub fn undecided(&self) -> Option<String> {
        (self.status == TlsRptStatus::Unknown).then(|| {
            self.error
                .clone()
                .unwrap_or_else(|| format!("the TXT lookup for {} failed", self.name))
        })
    }
}

/// Fetches the TXT records at `_smtp._tls.<domain>` and evaluates them.
pub async fn check(cx: &AuditContext<'_>) -> Checked<TlsRptSection> {
    let outcome = match Name::from_ascii(format!("{}.", cx.domain.child(LABEL))) {
        Ok(name) => cx.resolver.lookup(&name, RecordType::TXT).await,
        // Only a domain near the 253-octet limit gets here: the question
        // cannot be asked, which is not the same as an answer saying "none".
        Err(e) => Err(DnsError::Malformed(format!(
            "{} cannot be asked: {e}",
            cx.domain.child(LABEL)
        ))),
    };
    evaluate(cx.domain, &outcome)
}

/// Whether a TXT record is meant as a TLS-RPT record: it begins with the
/// version, in any case, or carries a `v=TLSRPTv1` field somewhere.
pub fn is_candidate(text: &str) -> bool {
    let starts = text
        .get(..VERSION.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(VERSION));
    starts
        || text
            .split(';')
            .any(|field| field.trim_matches(is_wsp).eq_ignore_ascii_case(VERSION))
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses a record strictly by the ABNF of RFC 8460 §3.
pub fn parse(text: &str) -> Result<TlsRptRecord, RecordError> {
    let fail = |m: String| Err(RecordError(m));
    if let Some(bad) = text
        .bytes()
        .find(|b| !(0x20..=0x7e).contains(b) && *b != b'\t')
    {
        return fail(format!(
            "the record contains the byte 0x{bad:02X}; only printable ASCII is allowed"
        ));
    }
    let mut fields = text.split(';');
    let first = fields.next().unwrap_or_default().trim_end_matches(is_wsp);
    if first != VERSION {
        return fail(if first.starts_with(VERSION) {
            format!("{VERSION} must be followed by `;` before the next field: `{first}`")
        } else if first.eq_ignore_ascii_case(VERSION) {
            format!("the version is written `{first}`; it must be exactly {VERSION} (case matters)")
        } else {
            format!("the record must begin with {VERSION}; it begins with `{first}`")
        });
    }
    let fields: Vec<&str> = fields.collect();
    let mut record = TlsRptRecord {
        rua: Vec::new(),
        tags: Vec::new(),
    };
    for (i, raw) in fields.iter().enumerate() {
        let field = raw.trim_matches(is_wsp);
        if field.is_empty() {
            // One trailing separator is allowed; an empty field elsewhere is not.
            if i + 1 == fields.len() {
                break;
            }
            return fail("the record has an empty field (two `;` in a row)".to_string());
        }
        let Some((name, value)) = field.split_once('=') else {
            return fail(format!("the field `{field}` is not of the form name=value"));
        };
        if !is_ext_name(name) {
            return fail(format!(
                "the field name `{name}` is not valid: it must start with a letter or digit and \
                 hold at most 32 letters, digits, `_`, `-` or `.`, with no space around `=`"
            ));
        }
        match name {
            "v" => return fail(format!("the version field appears again: `{field}`")),
            "rua" => record.rua.extend(parse_rua(value)?),
            _ if name.eq_ignore_ascii_case("rua") => {
                return fail(format!(
                    "the field name `{name}` must be written rua, in lower case"
                ));
            }
            _ => {
                if value.is_empty() || value.bytes().any(|b| !is_ext_value_byte(b)) {
                    return fail(format!(
                        "the value of `{name}` must be one or more printable characters without \
                         space, `=` or `;`"
                    ));
                }
            }
        }
        record.tags.push(Tag {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    if record.rua.is_empty() {
        return fail("the record has no rua= field naming where reports go".to_string());
    }
    Ok(record)
}

/// `tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`
fn is_ext_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `%x21-3A / %x3C / %x3E-7E`: visible characters except `;` and `=`.
fn is_ext_value_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e)
}

/// The URIs of a `rua` value: comma-separated, `mailto:` or `https:`.
fn parse_rua(value: &str) -> Result<Vec<String>, RecordError> {
    let mut uris = Vec::new();
    for uri in value.split(',').map(|u| u.trim_matches(is_wsp)) {
        if uri.is_empty() {
            return Err(RecordError(format!(
                "rua=`{value}` has an empty URI (a stray comma, or no URI at all)"
            )));
        }
        if let Some(problem) = report_uri_problem(uri) {
            return Err(RecordError(format!("the rua URI `{uri}` {problem}")));
        }
        uris.push(uri.to_string());
    }
    Ok(uris)
}

/// Why a report URI is unusable, if it is.
fn report_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Some("contains a space or a control character");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Some("must use the mailto: or https: scheme (RFC 8460 §3)");
    };
    if scheme.eq_ignore_ascii_case("mailto") {
        let address = rest.split('?').next().unwrap_or_default();
        match address.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => None,
            _ => {
                Some("is not a mailto: URI with an address such as mailto:tls-reports@example.com")
            }
        }
    } else if scheme.eq_ignore_ascii_case("https") {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(h) if !h.is_empty() => None,
            _ => {
                Some("is not an https: URL with a host such as https://reports.example.com/tlsrpt")
            }
        }
    } else {
        Some("must use the mailto: or https: scheme (RFC 8460 §3)")
    }
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
        for field in text.split(';') {
            let Some((name, value)) = field.trim_matches(is_wsp).split_once('=') else {
                continue;
            };
            if !name.trim_matches(is_wsp).eq_ignore_ascii_case("rua") {
                continue;
            }
            for uri in value.split(',').map(|u| u.trim_matches(is_wsp)) {
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
    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{RData, Record};

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn txt(records: &[&[&str]]) -> Outcome {
        Ok(Answer {
            rcode: Rcode::NoError,
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
    fn valid_records_parse() {
        let r = parse("v=TLSRPTv1; rua=mailto:tls@example.com").unwrap();
        assert_eq!(r.rua, vec!["mailto:tls@example.com"]);
        let r = parse("v=TLSRPTv1;rua=mailto:a@example.com , https://r.example.net/tls;").unwrap();
        assert_eq!(
            r.rua,
            vec!["mailto:a@example.com", "https://r.example.net/tls"]
        );
        let r = parse("v=TLSRPTv1 ; rua=MAILTO:a@example.com; ext-1.x=some:value ; ").unwrap();
        assert_eq!(r.tags.len(), 2);
        assert_eq!(r.tags[1].name, "ext-1.x");
        let r = parse("v=TLSRPTv1; rua=mailto:a@example.com; rua=https://r.example.net").unwrap();
        assert_eq!(r.rua.len(), 2);
    }

    #[test]
    fn malformed_records_are_rejected_with_the_reason() {
        for (text, needle) in [
            ("v=TLSRPTv1", "no rua"),
            ("v=TLSRPTv1;", "no rua"),
            ("v=TLSRPTv1; ext=1", "no rua"),
            ("rua=mailto:a@example.com; v=TLSRPTv1", "must begin"),
            ("v=tlsrptv1; rua=mailto:a@example.com", "case matters"),
            ("v=TLSRPTv1 rua=mailto:a@example.com", "followed by `;`"),
            ("v=TLSRPTv1; rua=http://r.example.net/", "mailto: or https:"),
            ("v=TLSRPTv1; rua=tls@example.com", "mailto: or https:"),
            ("v=TLSRPTv1; rua=mailto:nobody", "mailto: URI"),
            ("v=TLSRPTv1; rua=https:///path", "https: URL"),
            ("v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI"),
            ("v=TLSRPTv1; rua=", "empty URI"),
            ("v=TLSRPTv1;; rua=mailto:a@example.com", "empty field"),
            ("v=TLSRPTv1; rua = mailto:a@example.com", "field name"),
            ("v=TLSRPTv1; rua=mailto:a@example.com; ext", "name=value"),
            ("v=TLSRPTv1; rua=mailto:a@example.com; x=", "value of `x`"),
            (
                "v=TLSRPTv1; rua=mailto:a@example.com; x=a b",
                "value of `x`",
            ),
            ("v=TLSRPTv1; RUA=mailto:a@example.com", "lower case"),
            ("v=TLSRPTv1; rua=mailto:a@example.com; v=TLSRPTv1", "again"),
            ("v=TLSRPTv1; rua=mailto:a@example.com; _x=1", "field name"),
            ("v=TLSRPTv1; rua=mailto:é@example.com", "byte"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.0.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn candidates_are_records_meant_for_tls_rpt() {
        assert!(is_candidate("v=TLSRPTv1; rua=mailto:a@example.com"));
        assert!(is_candidate("V=tlsrptv1;rua=mailto:a@example.com"));
        assert!(is_candidate("rua=mailto:a@example.com; v=TLSRPTv1"));
        assert!(!is_candidate("v=spf1 -all"));
        assert!(!is_candidate("google-site-verification=abc"));
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
