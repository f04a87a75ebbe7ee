//! SPF (RFC 7208), evaluated by mailvet itself.
//!
//! This module decides which identity is checked and assembles the report;
//! [`record`] parses records strictly, [`macros`] expands macros, and
//! [`eval`] runs `check_host()` through the resolver layer, within the
//! limits of [`limits`], which the domain audit applies too.
//!
//! Identity (RFC 7208 §2.3, §2.4): with a MAIL FROM, the "mailfrom"
//! identity is checked — a null reverse-path (`--mail-from ''`) becomes
//! `postmaster@<helo>`; with only a HELO name, the "helo" identity is
//! checked as `postmaster@<helo>`. A sender without a local-part gets
//! `postmaster` (§4.3). IPv4-mapped IPv6 clients are treated as IPv4 (§5).
//! A domain in Unicode (an SMTPUTF8 envelope, or as a person types it) is
//! looked up as its A-label (RFC 8616 §4).
//! What a person may give as those identities is [`given`]'s to decide.
//!
//! mail-auth has its own SPF, but it is lenient where the RFC says
//! permerror and misses the void-lookup limit (see the project's research
//! notes); mail-auth's DMARC receives our result instead.

pub mod eval;
pub mod given;
pub mod limits;
pub mod macros;
pub mod record;
pub mod report;

use crate::dns::Resolver;
use crate::records::name::a_label;
use crate::records::trace_field;
use serde::Serialize;
use std::net::IpAddr;

/// The seven SPF results (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

impl std::fmt::Display for SpfResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which identity was checked (RFC 7208 §2.3, §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Identity {
    Helo,
    MailFrom,
}

/// What is asked: the client and its envelope.
#[derive(Debug, Clone)]
pub struct SpfQuery {
    pub ip: IpAddr,
    /// The HELO/EHLO name.
    pub helo: Option<String>,
    /// The MAIL FROM address; `Some("")` is the null reverse-path.
    pub mail_from: Option<String>,
    /// The name of the checking host (the `r` macro); "unknown" if unset.
    pub receiver: Option<String>,
}

/// Why a query cannot be checked at all (a caller mistake, not a result).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("give a MAIL FROM address, a HELO name, or both")]
    NoIdentity,
    #[error("{field} is not usable: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// The DNS-querying term counts of §4.6.4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Lookups {
    /// Terms that queried DNS (include, a, mx, ptr, exists, redirect).
    pub count: usize,
    /// Of their lookups, those answered NXDOMAIN or with no data.
    pub void: usize,
}

/// What went wrong, on temperror and permerror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// One sentence for people.
    pub message: String,
    /// The domain whose record holds the problem.
    pub domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The offending term, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// Its byte offset in the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Syntax,
    MultipleRecords,
    TooManyLookups,
    TooManyVoidLookups,
    TooManyMxNames,
    IncludeWithoutRecord,
    RedirectWithoutRecord,
    DnsError,
}

/// The directive that decided the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    pub domain: String,
    pub term: String,
    pub record: String,
}

/// A record consulted during evaluation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsultedRecord {
    pub domain: String,
    pub record: String,
}

/// The outcome of an SPF check.
#[derive(Debug, Clone, Serialize)]
pub struct SpfCheck {
    pub result: SpfResult,
    /// The domain whose policy was evaluated.
    pub domain: String,
    pub identity: Identity,
    /// The full identity checked (`local@domain`).
    pub sender: String,
    pub client_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// The expanded `exp=` text, on fail, when the domain publishes one.
    pub explanation: Option<String>,
    pub lookups: Lookups,
    /// The reason, on temperror and permerror.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Matched>,
    pub records: Vec<ConsultedRecord>,
    /// The RFC 7208 §9.1 header a receiver would add.
    pub received_spf: String,
}

impl SpfQuery {
    /// The identity to check and its parts: (identity, local-part, domain).
    fn identity(&self) -> Result<(Identity, String, String), QueryError> {
        let helo = self.helo.as_deref().map(str::trim).unwrap_or("");
        for (field, value, max) in [
            ("helo", helo, 255),
            ("mail_from", self.mail_from.as_deref().unwrap_or(""), 320),
        ] {
            if value.len() > max {
                return Err(QueryError::Invalid {
                    field,
                    reason: format!("longer than {max} characters"),
                });
            }
            // Spaces can be part of a quoted local-part (RFC 5321 §4.1.2);
            // control characters cannot be part of anything.
            if let Some(c) = value.chars().find(|c| c.is_control()) {
                return Err(QueryError::Invalid {
                    field,
                    reason: format!("contains the character {c:?}"),
                });
            }
        }
        let mail_from = self
            .mail_from
            .as_deref()
            .map(|m| m.trim().trim_start_matches('<').trim_end_matches('>'));
        match mail_from {
            Some(m) if !m.is_empty() => {
                let (local, domain) = match m.rsplit_once('@') {
                    Some((l, d)) if !l.is_empty() => (l, d),
                    Some((_, d)) => ("postmaster", d),
                    None => ("postmaster", m),
                };
                Ok((Identity::MailFrom, local.to_string(), domain.to_string()))
            }
            Some(_) if !helo.is_empty() => {
                Ok((Identity::MailFrom, "postmaster".into(), helo.to_string()))
            }
            None if !helo.is_empty() => Ok((Identity::Helo, "postmaster".into(), helo.to_string())),
            _ => Err(QueryError::NoIdentity),
        }
    }
}

/// Checks SPF for the query's identity (MAIL FROM when given, else HELO).
pub async fn check(resolver: &Resolver, query: &SpfQuery) -> Result<SpfCheck, QueryError> {
    let (identity, local, domain) = query.identity()?;
    let domain = a_label(&domain);
    let ip = query.ip.to_canonical();
    let helo = query.helo.as_deref().filter(|h| !h.is_empty()).map(a_label);
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let receiver = query.receiver.as_deref().unwrap_or("unknown");
    let inputs = eval::Inputs {
        ip,
        local: &local,
        sender_domain: &domain,
        helo: helo.as_deref().unwrap_or(&domain),
        receiver,
        timestamp,
    };
    let ev = eval::evaluate(resolver, &inputs, &domain).await;
    let sender = format!("{local}@{domain}");
    let received_spf = received_spf(ev.result, &sender, ip, helo.as_deref(), identity);
    Ok(SpfCheck {
        result: ev.result,
        domain,
        identity,
        sender,
        client_ip: ip,
        helo,
        explanation: ev.explanation,
        lookups: ev.lookups,
        reason: ev.problem,
        matched: ev.matched,
        records: ev.records,
        received_spf,
    })
}

/// RFC 7208 §9.1 `Received-SPF` header field.
fn received_spf(
    result: SpfResult,
    sender: &str,
    ip: IpAddr,
    helo: Option<&str>,
    identity: Identity,
) -> String {
    let comment = match result {
        SpfResult::Pass => format!("domain of {sender} designates {ip} as permitted sender"),
        SpfResult::Fail => {
            format!("domain of {sender} does not designate {ip} as permitted sender")
        }
        SpfResult::SoftFail => {
            format!("domain of {sender} does not designate {ip} as permitted sender (softfail)")
        }
        SpfResult::Neutral => format!("{ip} is neither permitted nor denied by domain of {sender}"),
        SpfResult::None => format!("domain of {sender} does not publish an SPF record"),
        SpfResult::TempError => format!("error in processing during lookup of {sender}"),
        SpfResult::PermError => format!("domain of {sender} has an unusable SPF record"),
    };
    let identity = match identity {
        Identity::Helo => "helo",
        Identity::MailFrom => "mailfrom",
    };
    // A quoted local part may hold `(`, `)`, `"` and `\`: in the comment
    // and the quoted-string each is a quoted-pair (RFC 5322 §3.2.1).
    let mut header = format!(
        "Received-SPF: {result} (mailvet: {}) client-ip={}; envelope-from={};",
        trace_field::comment(&comment),
        trace_field::key_value(&ip.to_string()),
        trace_field::quoted_string(sender)
    );
    if let Some(h) = helo {
        header.push_str(&format!(" helo={};", trace_field::key_value(h)));
    }
    header.push_str(&format!(" identity={identity};"));
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_spf_quotes_what_a_quoted_local_part_and_a_literal_hold() {
        let header = received_spf(
            SpfResult::Fail,
            r#""a (b) \"c\""@example.com"#,
            "192.0.2.1".parse().unwrap(),
            Some("[192.0.2.1]"),
            Identity::MailFrom,
        );
        assert_eq!(
            header,
            r#"Received-SPF: fail (mailvet: domain of "a \(b\) \\"c\\""@example.com does not designate 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="\"a (b) \\\"c\\\"\"@example.com"; helo="[192.0.2.1]"; identity=mailfrom;"#
        );
        let plain = received_spf(
            SpfResult::Pass,
            "bounce@example.com",
            "192.0.2.1".parse().unwrap(),
            Some("mail.example.com"),
            Identity::MailFrom,
        );
        assert!(
            plain.ends_with(
                r#"envelope-from="bounce@example.com"; helo=mail.example.com; identity=mailfrom;"#
            ),
            "{plain}"
        );
    }
}
