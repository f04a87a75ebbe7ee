//! Judging what was fetched: the TXT record's answer (§3.1), the policy
//! fetch's outcome (§3.3) and the policy itself (§3.2), and the coverage
//! of the MX hosts (§4.1); pure, tested without a network.

use super::*;
use crate::dns::DnsError;
use crate::findings::{Finding, catalog};
use crate::records::address::is_fetchable;
use crate::records::mta_sts::{
    Mode, VERSION_FIELD, is_sts_record, mx_matches, parse_policy, parse_record,
};
use crate::records::tag_list::{Kind, Syntax, TagList};
use std::net::IpAddr;
use std::time::Duration;

/// What the `_mta-sts` TXT lookup answered, reduced to what matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtAnswer {
    pub nxdomain: bool,
    /// Every TXT record at the name, its character-strings joined.
    pub texts: Vec<String>,
}

/// The record half of the section, and its findings.
pub fn evaluate_record(
    name: &str,
    lookup: Result<TxtAnswer, DnsError>,
) -> (MtaStsSection, Vec<Finding>) {
    let mut section = MtaStsSection {
        name: name.to_string(),
        status: RecordStatus::Unknown,
        records: Vec::new(),
        record: None,
        error: None,
        policy: None,
    };
    let answer = match lookup {
        Ok(answer) => answer,
        Err(e) => {
            // Unknown is not absent: no finding rests on a failed lookup.
            section.error = Some(format!("the TXT lookup of {name} failed: {e}"));
            return (section, Vec::new());
        }
    };
    let evidence = txt_evidence(name, &answer);
    section.records = answer
        .texts
        .iter()
        .filter(|t| is_sts_record(t))
        .cloned()
        .collect();
    match section.records.as_slice() {
        [] => {
            section.status = RecordStatus::Missing;
            let seen = if answer.nxdomain {
                "the name does not exist".to_string()
            } else if answer.texts.is_empty() {
                "it has no TXT record".to_string()
            } else {
                format!(
                    "none of its {} TXT record(s) begins with v=STSv1",
                    answer.texts.len()
                )
            };
            let domain = name
                .strip_prefix(RECORD_LABEL)
                .and_then(|d| d.strip_prefix('.'))
                .unwrap_or(name);
            let finding = Finding::new(
                catalog::MTA_STS_MISSING,
                format!("No MTA-STS record at {name}: {seen}."),
            )
            .with_fix(format!(
                "Serve a policy at {} with the lines version: STSv1, mode: testing, one \
                 mx: line per MX host of {domain}, and max_age: 604800; then publish the TXT \
                 record {name} \"v=STSv1; id=1\" (change the id whenever the policy \
                 changes). Move to mode: enforce once TLS reports show no failures.",
                policy_url(&format!("{POLICY_HOST_LABEL}.{domain}"), 443)
            ))
            .with_evidence(evidence);
            (section, vec![finding])
        }
        [text] => match parse_record(text) {
            Ok(record) => {
                section.status = RecordStatus::Valid;
                section.record = Some(record);
                (section, Vec::new())
            }
            Err(error) => {
                section.status = RecordStatus::Invalid;
                section.error = Some(error.to_string());
                let mut finding = Finding::new(
                    catalog::MTA_STS_RECORD_INVALID,
                    format!(
                        "The MTA-STS record at {name} is malformed, so senders ignore it: \
                         {error}. Record: \"{text}\"."
                    ),
                )
                .with_evidence(evidence);
                if let Some(fixed) = repaired_record(text) {
                    finding = finding.with_fix(format!(
                        "Replace the TXT record at {name} with: {fixed} (change the id \
                         whenever the policy file changes)."
                    ));
                }
                (section, vec![finding])
            }
        },
        many => {
            section.status = RecordStatus::Invalid;
            section.error = Some(format!(
                "{} MTA-STS records; exactly one is allowed",
                many.len()
            ));
            let listed = many
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let mut finding = Finding::new(
                catalog::MTA_STS_RECORD_INVALID,
                format!(
                    "{} MTA-STS records at {name}, so senders ignore all of them: {listed}.",
                    many.len()
                ),
            )
            .with_evidence(evidence);
            if let Some(keep) = many.iter().find_map(|t| parse_record(t).ok()) {
                finding = finding.with_fix(format!(
                    "Delete all but one TXT record at {name}; keep: v=STSv1; id={}",
                    keep.id
                ));
            }
            (section, vec![finding])
        }
    }
}

/// A corrected record, when the intent of a malformed one is clear: its
/// `v` field and an `id` made of the letters and digits of the one given.
fn repaired_record(text: &str) -> Option<String> {
    let id: String = TagList::split(text, Syntax::EXTENSIBLE)
        .specs
        .iter()
        .find_map(|spec| match spec.kind {
            Kind::Tag(tag) | Kind::BadName(tag) if tag.name.eq_ignore_ascii_case("id") => {
                Some(tag.value)
            }
            _ => None,
        })
        .map(|v| {
            v.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(32)
                .collect()
        })?;
    (!id.is_empty()).then(|| format!("{VERSION_FIELD}; id={id}"))
}

fn txt_evidence(name: &str, answer: &TxtAnswer) -> Vec<String> {
    if answer.nxdomain {
        vec![format!("{name}. TXT: NXDOMAIN")]
    } else if answer.texts.is_empty() {
        vec![format!("{name}. TXT: no records")]
    } else {
        answer
            .texts
            .iter()
            .map(|t| format!("{name}. TXT \"{t}\""))
            .collect()
    }
}

/// MX coverage (§4.1, §5.1): under `mode: enforce`, one
/// `mta_sts.mx_not_covered` per MX host that matches no `mx` pattern.
/// Nothing without a valid enforcing policy; a null MX (`.`) is skipped.
pub fn coverage(section: &MtaStsSection, mx_hosts: &[String]) -> Vec<Finding> {
    let Some(report) = section.policy.as_ref() else {
        return Vec::new();
    };
    let Some(policy) = report.parsed.as_ref().filter(|p| p.mode == Mode::Enforce) else {
        return Vec::new();
    };
    let mut seen: Vec<String> = Vec::new();
    let mut findings = Vec::new();
    for host in mx_hosts {
        let bare = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if bare.is_empty() || seen.contains(&bare) {
            continue;
        }
        seen.push(bare.clone());
        if policy.mx.iter().any(|p| mx_matches(p, &bare)) {
            continue;
        }
        let patterns = policy
            .mx
            .iter()
            .map(|p| format!("mx: {p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let wildcard = bare
            .split_once('.')
            .filter(|(_, parent)| parent.contains('.'))
            .map(|(_, parent)| {
                format!(" (or `mx: *.{parent}` to cover every host directly under {parent})")
            })
            .unwrap_or_default();
        let mut evidence = vec![
            format!("MX host: {bare}"),
            format!("policy: {}", report.url),
        ];
        evidence.extend(policy.mx.iter().map(|p| format!("mx: {p}")));
        findings.push(
            Finding::new(
                catalog::MTA_STS_MX_NOT_COVERED,
                format!(
                    "MX host {bare} matches none of the mx patterns of the enforcing policy at \
                     {} ({patterns}), so senders that apply it refuse to deliver there.",
                    report.url
                ),
            )
            .with_fix(format!(
                "Add the line `mx: {bare}`{wildcard} to the policy at {}, then change the id \
                 in the TXT record at {} so senders fetch it again. If {bare} no longer \
                 receives mail, remove its MX record instead.",
                report.url, section.name
            ))
            .with_evidence(evidence),
        );
    }
    findings
}

/// Why the policy could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not fetched: the run sends nothing to the network.
    #[error("not fetched: --offline sends nothing to the network")]
    Offline,
    /// The policy host's lookup failed: unknown, not unreachable.
    #[error("the DNS lookup of {host} failed: {error}")]
    Dns { host: String, error: String },
    #[error("{host} has no A or AAAA record{}", if *.nxdomain { " (the name does not exist)" } else { "" })]
    NoAddress { host: String, nxdomain: bool },
    #[error(
        "refused to connect to {host} at {}: not a public address (private, loopback, \
         link-local, documentation or another special-purpose range; pass \
         --allow-private-fetch to allow it)",
        list(.addresses)
    )]
    PrivateAddress {
        host: String,
        addresses: Vec<IpAddr>,
    },
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("no complete answer within {} ms (the fetch timeout)", .0.as_millis())]
    Timeout(Duration),
    #[error("HTTP status {0}; the policy must be served with status 200")]
    Status(u16),
    #[error(
        "HTTP status {status} redirecting to {}; senders do not follow redirects (RFC 8461 §3.3)",
        .location.as_deref().unwrap_or("(no Location header)")
    )]
    Redirect {
        status: u16,
        location: Option<String>,
    },
    #[error(
        "Content-Type is {}; the policy must be served as text/plain (RFC 8461 §3.2)",
        .0.as_deref().map_or("missing".to_string(), |t| format!("`{t}`"))
    )]
    ContentType(Option<String>),
    #[error("the body is larger than {MAX_POLICY_BYTES} bytes ({})", match .declared {
        Some(n) => format!("Content-Length: {n}"),
        None => format!("stopped reading after {} bytes", .read),
    })]
    TooLarge { declared: Option<u64>, read: usize },
    #[error("HTTP error: {0}")]
    Http(String),
    /// The audit could not set the fetch up: unknown, no finding.
    #[error("the fetch could not be set up: {0}")]
    Setup(String),
}

fn list(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a response may carry the policy: status 200 exactly (a 3xx is
/// a failure, since redirects are not followed) and `text/plain`, with
/// or without parameters such as `charset`.
pub fn judge_response(
    status: u16,
    location: Option<&str>,
    content_type: Option<&str>,
) -> Result<(), FetchError> {
    if (300..400).contains(&status) {
        return Err(FetchError::Redirect {
            status,
            location: location.map(str::to_string),
        });
    }
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    let media_type = content_type.map(|t| t.split(';').next().unwrap_or(t).trim());
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("text/plain")) {
        return Err(FetchError::ContentType(content_type.map(str::to_string)));
    }
    Ok(())
}

/// Splits a host's addresses into those the fetch may connect to and
/// those refused as not globally reachable (see [`is_fetchable`]).
pub fn screen_addresses(addresses: &[IpAddr], allow_private: bool) -> (Vec<IpAddr>, Vec<IpAddr>) {
    if allow_private {
        return (addresses.to_vec(), Vec::new());
    }
    addresses.iter().partition(|ip| is_fetchable(**ip))
}

/// Everything the fetch saw; the input of [`evaluate_policy`].
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: String,
    pub host: String,
    pub addresses: Vec<IpAddr>,
    pub refused: Vec<IpAddr>,
    pub http_status: Option<u16>,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub result: Result<Vec<u8>, FetchError>,
}

/// The policy half of the section, and its findings.
pub fn evaluate_policy(fetched: Fetched, record_name: &str) -> (PolicyReport, Vec<Finding>) {
    let mut report = PolicyReport {
        status: PolicyStatus::Unknown,
        url: fetched.url.clone(),
        host: fetched.host.clone(),
        addresses: fetched.addresses.clone(),
        refused_addresses: fetched.refused.clone(),
        http_status: fetched.http_status,
        content_type: fetched.content_type.clone(),
        error: None,
        text: None,
        parsed: None,
    };
    let url = &fetched.url;
    let mut evidence = vec![format!("GET {url}")];
    if !fetched.addresses.is_empty() {
        evidence.push(format!("{}: {}", fetched.host, list(&fetched.addresses)));
    }
    if let Some(status) = fetched.http_status {
        evidence.push(format!("HTTP status: {status}"));
    }
    if let Some(location) = &fetched.location {
        evidence.push(format!("Location: {location}"));
    }
    if let Some(content_type) = &fetched.content_type {
        evidence.push(format!("Content-Type: {content_type}"));
    }
    let body = match fetched.result {
        Ok(body) => body,
        Err(error) => {
            report.error = Some(error.to_string());
            if error == FetchError::Offline {
                report.status = PolicyStatus::NotFetched;
                return (report, Vec::new());
            }
            if matches!(error, FetchError::Dns { .. } | FetchError::Setup(_)) {
                return (report, Vec::new());
            }
            report.status = PolicyStatus::Unreachable;
            let mut finding = Finding::new(
                catalog::MTA_STS_POLICY_UNREACHABLE,
                format!("The MTA-STS policy at {url} cannot be fetched: {error}."),
            )
            .with_evidence(evidence);
            if let Some(fix) = unreachable_fix(&error, &fetched.host, url) {
                finding = finding.with_fix(fix);
            }
            return (report, vec![finding]);
        }
    };
    report.text = Some(String::from_utf8_lossy(&body).into_owned());
    match parse_policy(&body) {
        Err(error) => {
            report.status = PolicyStatus::Invalid;
            report.error = Some(error.to_string());
            evidence.push(format!("policy text: {}", quoted(&body)));
            let finding = Finding::new(
                catalog::MTA_STS_POLICY_INVALID,
                format!("The MTA-STS policy at {url} is malformed, so senders ignore it: {error}."),
            )
            .with_fix(format!(
                "{} Then change the id in the TXT record at {record_name} so senders fetch \
                 the corrected policy.",
                error.advice()
            ))
            .with_evidence(evidence);
            (report, vec![finding])
        }
        Ok(policy) => {
            report.status = PolicyStatus::Valid;
            let mut findings = Vec::new();
            if policy.mode == Mode::Testing {
                findings.push(
                    Finding::new(
                        catalog::MTA_STS_TESTING_MODE,
                        format!(
                            "The MTA-STS policy at {url} has mode: testing: senders report TLS \
                             failures but still deliver without verified TLS."
                        ),
                    )
                    .with_fix(format!(
                        "When TLS reports show no failures, change `mode: testing` to \
                         `mode: enforce` in {url} and change the id in the TXT record at \
                         {record_name}."
                    ))
                    .with_evidence([format!("GET {url}"), "mode: testing".to_string()]),
                );
            }
            report.parsed = Some(policy);
            (report, findings)
        }
    }
}

fn unreachable_fix(error: &FetchError, host: &str, url: &str) -> Option<String> {
    Some(match error {
        FetchError::PrivateAddress { addresses, .. } => format!(
            "Senders on the internet cannot reach {host} at {}: publish its public address \
             in DNS. To audit a private setup on purpose, run with --allow-private-fetch.",
            list(addresses)
        ),
        FetchError::NoAddress { .. } => format!(
            "Publish an A (and AAAA) record for {host} pointing at the web server that \
             serves {url}."
        ),
        FetchError::Tls(_) => format!(
            "Serve {host} with a certificate from a publicly trusted CA that names {host} \
             and is not expired, and send the intermediate certificates with it."
        ),
        FetchError::Redirect { location, .. } => format!(
            "Serve the policy at {url} itself with status 200 instead of redirecting{}.",
            location
                .as_deref()
                .map(|l| format!(" to {l}"))
                .unwrap_or_default()
        ),
        FetchError::Status(_) => format!(
            "Make {url} answer with status 200 and the policy file (check the path: \
             /.well-known/mta-sts.txt)."
        ),
        FetchError::ContentType(_) => {
            format!("Serve {url} with the header `Content-Type: text/plain`.")
        }
        FetchError::Connect(_) | FetchError::Timeout(_) => format!(
            "Make sure a web server answers HTTPS for {host} at the addresses its A and AAAA \
             records give, reachable from the internet, and serves {url} promptly."
        ),
        FetchError::TooLarge { .. } => {
            format!("Serve only the policy at {url}: a few lines of version, mode, mx and max_age.")
        }
        _ => return None,
    })
}

fn quoted(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut shown: String = text.chars().take(EVIDENCE_TEXT_LIMIT).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("\"{}\"", shown.escape_debug())
}
