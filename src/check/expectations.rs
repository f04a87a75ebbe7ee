//! Expectations: whether a domain's DNS gives what its owner asked for in
//! the check config.
//!
//! This module decides, from the domain audit (and, for authorized
//! sources, from SPF evaluated for each address), whether each expectation
//! is met, broken, or unknown because a DNS lookup failed — a failed lookup
//! is never read as a missing record. Each kind of expectation is a rule
//! with fixed text, like a catalog finding, so CI formats can describe it.

use super::config::{AllEnding, At, DomainExpectations, Source, StsMode};
use crate::dns::Resolver;
use crate::domain::dkim::SelectorStatus;
use crate::domain::dmarc::DmarcStatus;
use crate::domain::mta_sts::{PolicyStatus, RecordStatus};
use crate::domain::report::DomainReport;
use crate::domain::spf::NodeStatus;
use crate::domain::{bimi::BimiStatus, tls_rpt::TlsRptStatus};
use crate::findings::{CatalogEntry, Severity};
use crate::records::dkim_key::{KeyAlgorithm, KeyRecord};
use crate::records::dmarc::Policy;
use crate::records::mta_sts;
use crate::spf::{self, SpfQuery, SpfResult};
use serde::{Serialize, Serializer};

/// Whether an expectation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Met,
    Broken,
    /// A DNS lookup it rests on failed; retry.
    Unknown,
}

/// One expectation, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// The rule, serialized as its id (`expect.dmarc_policy`).
    #[serde(rename = "id", serialize_with = "rule_id")]
    pub rule: &'static CatalogEntry,
    /// What is expected, for people: "DMARC policy is at least reject".
    pub name: String,
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// The change to make; empty when met.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// The config line that sets it.
    pub line: usize,
}

fn rule_id<S: Serializer>(rule: &&'static CatalogEntry, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.code)
}

macro_rules! rule {
    ($code:literal, $title:literal, $why:literal, $fix:literal, [$($r:literal),*]) => {
        CatalogEntry {
            code: $code,
            severity: Severity::Error,
            title: $title,
            why: $why,
            fix: $fix,
            refs: &[$($r),*],
        }
    };
}

/// The kinds of expectation, as rules CI formats describe.
pub static RULES: &[CatalogEntry] = &[
    rule!(
        "expect.dkim_key",
        "A DKIM selector holds a valid key of the required size",
        "Mail signed with this selector fails DKIM when the key is missing, revoked, \
         unusable or too short, and DMARC then depends on SPF alone.",
        "Publish the key your sending service gives you at <selector>._domainkey.<domain>, \
         at least the required size (2048-bit RSA recommended).",
        ["RFC 6376 §3.6", "RFC 8301 §3.2"]
    ),
    rule!(
        "expect.dmarc_policy",
        "DMARC policy is at least the required one",
        "A weaker policy than the owner decided on lets spoofed mail through.",
        "Set p= in the DMARC record at _dmarc.<domain> to the required policy.",
        ["RFC 9989 §4.7"]
    ),
    rule!(
        "expect.dmarc_subdomain_policy",
        "DMARC policy for subdomains is at least the required one",
        "Spoofers use subdomains when only the domain itself is protected.",
        "Set sp= (or remove it so p= applies) in the DMARC record at _dmarc.<domain>.",
        ["RFC 9989 §4.7"]
    ),
    rule!(
        "expect.dmarc_rua",
        "DMARC aggregate reports are requested",
        "Without rua= the owner never learns which sources fail or spoof the domain.",
        "Add rua=mailto:<address> to the DMARC record at _dmarc.<domain>.",
        ["RFC 9989 §4.7"]
    ),
    rule!(
        "expect.spf_authorized",
        "SPF authorizes a required sending source",
        "Mail from a source SPF does not authorize fails SPF, and DMARC then rests on \
         DKIM alone.",
        "Add the source (ip4:/ip6:, or the ESP's include:) to the SPF record at <domain>, \
         before its all term.",
        ["RFC 7208 §5"]
    ),
    rule!(
        "expect.spf_all",
        "SPF ends as required",
        "The ending decides what receivers do with mail from sources the record does not list.",
        "End the SPF record at <domain> with the required -all or ~all.",
        ["RFC 7208 §5.1"]
    ),
    rule!(
        "expect.spf_lookup_margin",
        "SPF leaves the required margin of DNS lookups",
        "A record close to the limit of 10 lookups breaks with the next include a \
         provider adds, and then SPF fails with permerror.",
        "Remove unused includes or replace a/mx terms with ip4:/ip6: addresses.",
        ["RFC 7208 §4.6.4"]
    ),
    rule!(
        "expect.mta_sts",
        "MTA-STS is published in the required mode",
        "Without an enforced MTA-STS policy, mail to the domain can be downgraded to \
         plain text by an attacker on the path.",
        "Publish _mta-sts.<domain> TXT \"v=STSv1; id=<id>\" and the policy at \
         https://mta-sts.<domain>/.well-known/mta-sts.txt with the required mode.",
        ["RFC 8461 §3"]
    ),
    rule!(
        "expect.tls_rpt",
        "TLS-RPT is published",
        "Without TLS reporting, failures of TLS delivery to the domain go unnoticed.",
        "Publish _smtp._tls.<domain> TXT \"v=TLSRPTv1; rua=mailto:<address>\".",
        ["RFC 8460 §3"]
    ),
    rule!(
        "expect.bimi",
        "BIMI is published",
        "Without a BIMI record, mailbox providers show no brand logo.",
        "Publish default._bimi.<domain> TXT \"v=BIMI1; l=<https URL of an SVG logo>\".",
        ["BIMI draft (draft-brand-indicators-for-message-identification)"]
    ),
    rule!(
        "expect.sender_dmarc",
        "A configured sender passes DMARC",
        "Mail from a sender that passes neither aligned SPF nor aligned DKIM fails DMARC \
         and is quarantined or rejected under an enforcing policy.",
        "Have the sender sign with d=<domain> (publish its DKIM key), or use a MAIL FROM \
         domain under <domain> that authorizes the sender's IP in SPF.",
        ["RFC 9989 §4.4"]
    ),
    rule!(
        "expect.dns",
        "Every DNS lookup of the check was answered",
        "When a lookup fails, the check cannot tell whether a record is there; the run \
         fails rather than guess.",
        "Retry the check; if it keeps failing, check the nameservers given with --dns \
         and the domain's authoritative servers.",
        ["RFC 7208 §2.6.6"]
    ),
];

/// The rule of an expectation kind.
pub fn rule(code: &str) -> &'static CatalogEntry {
    RULES
        .iter()
        .find(|r| r.code == code)
        .unwrap_or(&RULES[RULES.len() - 1])
}

fn judged<T>(
    code: &str,
    at: &At<T>,
    name: String,
    (status, detail, fix): (Status, String, String),
) -> Expectation {
    let fix = if status == Status::Met {
        String::new()
    } else {
        fix
    };
    Expectation {
        rule: rule(code),
        name,
        status,
        detail,
        fix,
        line: at.line,
    }
}

fn met(detail: String) -> (Status, String, String) {
    (Status::Met, detail, String::new())
}

/// The expectations the audit alone decides.
pub fn from_audit(config: &DomainExpectations, report: &DomainReport) -> Vec<Expectation> {
    let mut out = Vec::new();
    let domain = &report.domain;
    for selector in &config.dkim_selectors {
        out.push(judged(
            "expect.dkim_key",
            selector,
            format!(
                "DKIM selector {} holds a valid key of at least {} bits",
                selector.value, config.min_key_bits
            ),
            dkim_key(report, &selector.value, config.min_key_bits),
        ));
    }
    let dmarc = &report.dmarc;
    let dmarc_name = dmarc
        .record_name
        .clone()
        .unwrap_or_else(|| format!("_dmarc.{domain}"));
    let dmarc_usable = || {
        (dmarc.status != DmarcStatus::Ok).then(|| {
            no_usable_record(
                "DMARC",
                &format!("_dmarc.{domain}"),
                &word(&dmarc.status),
                dmarc.status == DmarcStatus::DnsError,
            )
        })
    };
    let mut least_policy = |code, at: &At<Policy>, subject: &str, seen: Option<Policy>, tag| {
        let required = at.value.as_str();
        let outcome = dmarc_usable().unwrap_or_else(|| match seen {
            Some(p) if p >= at.value => met(format!("{dmarc_name} applies {}", p.as_str())),
            seen => (
                Status::Broken,
                format!(
                    "{dmarc_name} applies {} for {subject}, weaker than {required}",
                    seen.map_or("no policy", Policy::as_str)
                ),
                format!("Set {tag}={required} in the DMARC record at {dmarc_name}."),
            ),
        });
        out.push(judged(
            code,
            at,
            format!("DMARC policy for {subject} is at least {required}"),
            outcome,
        ));
    };
    if let Some(at) = &config.dmarc_policy {
        least_policy("expect.dmarc_policy", at, domain, dmarc.policy, "p");
    }
    if let Some(at) = &config.dmarc_subdomain_policy {
        least_policy(
            "expect.dmarc_subdomain_policy",
            at,
            "subdomains",
            dmarc.subdomain_policy,
            "sp",
        );
    }
    if let Some(at) = &config.dmarc_rua {
        let rua = dmarc.tags.as_ref().map(|t| &t.rua[..]).unwrap_or_default();
        let outcome = dmarc_usable().unwrap_or_else(|| {
            if rua.is_empty() {
                (
                    Status::Broken,
                    format!("{dmarc_name} has no rua= tag"),
                    format!("Add rua=mailto:dmarc-reports@{domain} to {dmarc_name}."),
                )
            } else {
                let uris: Vec<&str> = rua.iter().map(|u| u.uri.as_str()).collect();
                met(format!("rua={}", uris.join(",")))
            }
        });
        out.push(judged(
            "expect.dmarc_rua",
            at,
            "DMARC aggregate reports (rua) are requested".into(),
            outcome,
        ));
    }
    out.extend(spf_record(config, report));
    if let Some(at) = &config.mta_sts {
        out.push(judged(
            "expect.mta_sts",
            at,
            format!("MTA-STS is published in {} mode", at.value.as_str()),
            sts(report, at.value),
        ));
    }
    if let Some(at) = &config.tls_rpt {
        let section = &report.tls_rpt;
        let outcome = match section.status {
            TlsRptStatus::Valid => met(format!("{}: {}", section.name, section.records.join(" "))),
            TlsRptStatus::Unknown => unknown(&section.name, section.error.as_deref()),
            status => no_usable_record("TLS-RPT", &section.name, &word(&status), false),
        };
        out.push(judged(
            "expect.tls_rpt",
            at,
            "TLS-RPT is published".into(),
            outcome,
        ));
    }
    if let Some(at) = &config.bimi {
        let section = &report.bimi;
        let name = format!("default._bimi.{domain}");
        let outcome = match section.status {
            BimiStatus::Published => met(format!("{}: {}", name, section.records.join(" "))),
            BimiStatus::Unknown => unknown(&name, section.error.as_deref()),
            status => no_usable_record("BIMI", &name, &word(&status), false),
        };
        out.push(judged(
            "expect.bimi",
            at,
            "BIMI is published".into(),
            outcome,
        ));
    }
    out
}

/// The outcome when a record cannot be judged: its lookup failed (retry),
/// or `name` holds no usable record.
fn no_usable_record(
    protocol: &str,
    name: &str,
    status: &str,
    dns_error: bool,
) -> (Status, String, String) {
    if dns_error {
        (
            Status::Unknown,
            format!("the {protocol} lookup at {name} failed; retry"),
            String::new(),
        )
    } else {
        (
            Status::Broken,
            format!("no usable {protocol} record at {name} ({status})"),
            format!("Publish one valid {protocol} record at {name}."),
        )
    }
}

fn unknown(name: &str, error: Option<&str>) -> (Status, String, String) {
    (
        Status::Unknown,
        format!(
            "the lookup of {name} failed ({}); retry",
            error.unwrap_or("DNS error")
        ),
        String::new(),
    )
}

/// A serialized enum's word (`multiple_records`).
fn word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn dkim_key(report: &DomainReport, selector: &str, min_bits: u32) -> (Status, String, String) {
    let domain = &report.domain;
    let name = format!("{selector}._domainkey.{domain}");
    let fix = format!(
        "Publish the key your sending service gives for selector {selector} at {name}, \
         an RSA key of at least {min_bits} bits (or Ed25519)."
    );
    let Some(found) = report
        .dkim
        .selectors
        .iter()
        .find(|s| s.selector.eq_ignore_ascii_case(selector))
    else {
        return (Status::Broken, format!("{name} was not checked"), fix);
    };
    match found.status {
        SelectorStatus::Unknown => return unknown(&name, found.error.as_deref()),
        SelectorStatus::NotFound | SelectorStatus::InvalidName => {
            return (Status::Broken, format!("no key record at {name}"), fix);
        }
        SelectorStatus::KeyFound => {}
    }
    let size = |k: &KeyRecord| match (k.algorithm, k.bits) {
        (Some(KeyAlgorithm::Ed25519), _) => "an Ed25519 key".to_string(),
        (_, Some(bits)) => format!("a {bits}-bit RSA key"),
        _ => "a key".to_string(),
    };
    let strong = |k: &&KeyRecord| {
        k.usable && (k.algorithm == Some(KeyAlgorithm::Ed25519) || k.bits >= Some(min_bits))
    };
    if let Some(key) = found.keys.iter().find(strong) {
        return met(format!("{name} holds {}", size(key)));
    }
    let seen: Vec<String> = found
        .keys
        .iter()
        .map(|k| match (&k.problem, k.usable) {
            (_, true) => format!("{}, below {min_bits} bits", size(k)),
            (Some(problem), false) => problem.clone(),
            (None, false) => format!("{} that receivers cannot use", size(k)),
        })
        .collect();
    (Status::Broken, format!("{name}: {}", seen.join("; ")), fix)
}

fn spf_record(config: &DomainExpectations, report: &DomainReport) -> Vec<Expectation> {
    let section = &report.spf;
    let domain = &report.domain;
    let usable = || {
        (section.status != NodeStatus::Ok).then(|| {
            no_usable_record(
                "SPF",
                domain,
                &word(&section.status),
                section.status == NodeStatus::DnsError,
            )
        })
    };
    let mut out = Vec::new();
    if let Some(at) = &config.spf_all {
        let ok = match at.value {
            AllEnding::Fail => section.all == "-all",
            AllEnding::SoftFail => section.all == "-all" || section.all == "~all",
        };
        let outcome = usable().unwrap_or_else(|| {
            if ok {
                met(format!("the SPF record ends in {}", section.all))
            } else {
                (
                    Status::Broken,
                    format!(
                        "the SPF record at {domain} ends in {}: {}",
                        section.all,
                        section.record.as_deref().unwrap_or("")
                    ),
                    format!(
                        "End the SPF record at {domain} with {} instead.",
                        at.value.as_str()
                    ),
                )
            }
        });
        out.push(judged(
            "expect.spf_all",
            at,
            format!("SPF ends in {}", at.value.as_str()),
            outcome,
        ));
    }
    if let Some(at) = &config.spf_lookup_margin {
        let budget = spf::eval::MAX_DNS_TERMS - at.value;
        let outcome = usable().unwrap_or_else(|| {
            if section.lookups <= budget {
                met(format!("{} DNS lookups", section.lookups))
            } else {
                (
                    Status::Broken,
                    format!(
                        "the SPF record at {domain} needs {} DNS lookups, more than {budget}",
                        section.lookups
                    ),
                    "Remove includes of services that no longer send for you, or replace \
                     a/mx terms with ip4:/ip6: addresses."
                        .into(),
                )
            }
        });
        out.push(judged(
            "expect.spf_lookup_margin",
            at,
            format!(
                "SPF needs at most {budget} of its {} DNS lookups",
                spf::eval::MAX_DNS_TERMS
            ),
            outcome,
        ));
    }
    out
}

fn sts(report: &DomainReport, required: StsMode) -> (Status, String, String) {
    let section = &report.mta_sts;
    let fix = format!(
        "Publish a valid _mta-sts record and a policy with mode: {}.",
        required.as_str()
    );
    match section.status {
        RecordStatus::Unknown => return unknown(&section.name, section.error.as_deref()),
        RecordStatus::Missing | RecordStatus::Invalid => {
            return (
                Status::Broken,
                format!("{}: {}", section.name, word(&section.status)),
                fix,
            );
        }
        RecordStatus::Valid => {}
    }
    let Some(policy) = &section.policy else {
        return (Status::Broken, "the policy was not fetched".into(), fix);
    };
    match (policy.status, &policy.parsed) {
        (PolicyStatus::Valid, Some(parsed)) => {
            let ok = match required {
                StsMode::Enforce => parsed.mode == mta_sts::Mode::Enforce,
                StsMode::Testing => parsed.mode != mta_sts::Mode::None,
            };
            let seen = format!("{} has mode: {}", policy.url, word(&parsed.mode));
            if ok {
                met(seen)
            } else {
                (Status::Broken, seen, fix)
            }
        }
        (PolicyStatus::Unknown, _) => unknown(&policy.host, policy.error.as_deref()),
        // Its mode is what is expected: unknown, though no lookup failed.
        (PolicyStatus::NotFetched, _) => (
            Status::Unknown,
            format!(
                "the policy at {} is not fetched under --offline; run without it to judge \
                 its mode",
                policy.url
            ),
            String::new(),
        ),
        (status, _) => (
            Status::Broken,
            format!(
                "{}: {} ({})",
                policy.url,
                word(&status),
                policy.error.as_deref().unwrap_or("")
            ),
            fix,
        ),
    }
}

/// Whether SPF authorizes each required source, evaluated as a receiver
/// would for mail from `postmaster@<domain>`.
pub async fn authorized_sources(
    resolver: &Resolver,
    config: &DomainExpectations,
) -> Vec<Expectation> {
    let domain = &config.domain.value.ascii;
    let mut out = Vec::new();
    for at in &config.spf_authorized {
        out.push(judged(
            "expect.spf_authorized",
            at,
            format!("SPF authorizes {}", at.value),
            source_outcome(resolver, domain, &at.value).await,
        ));
    }
    out
}

async fn source_outcome(
    resolver: &Resolver,
    domain: &str,
    source: &Source,
) -> (Status, String, String) {
    let mut seen = Vec::new();
    let mut status = Status::Met;
    for ip in source.probes() {
        let query = SpfQuery {
            ip,
            helo: None,
            mail_from: Some(format!("postmaster@{domain}")),
            receiver: None,
        };
        let result = match spf::check(resolver, &query).await {
            Ok(check) => check.result,
            Err(e) => {
                return (
                    Status::Broken,
                    e.to_string(),
                    String::from("Check the domain name."),
                );
            }
        };
        seen.push(format!("{ip}: {result}"));
        status = match (status, result) {
            (_, SpfResult::TempError) => Status::Unknown,
            (Status::Unknown, _) => Status::Unknown,
            (_, SpfResult::Pass) => status,
            _ => Status::Broken,
        };
    }
    let detail = format!("SPF of {domain} gives {}", seen.join(", "));
    let fix = format!(
        "Add {} (or the include: of the service that uses it) to the SPF record at {domain}, \
         before its all term.",
        source.mechanism()
    );
    match status {
        Status::Unknown => (Status::Unknown, format!("{detail}; retry"), String::new()),
        status => (status, detail, fix),
    }
}
