//! The SMTP envelope of a message: the client IP, the HELO/EHLO name and
//! the MAIL FROM address that SPF and iprev judge (RFC 7208 §2.3, §2.4).
//!
//! This module decides which envelope a message is checked with. What the
//! caller gives is kept as given. Only what is missing is read from the
//! trace headers the receiving servers wrote (RFC 5321 §4.4):
//!
//! - the client IP and HELO name from a Received header's `from` clause,
//!   `from <helo> (<reverse name> [<ip>])` in the Postfix, Sendmail and
//!   Gmail forms, `from <name> ([<ip>]:<port> helo=<helo>)` and
//!   `from [<ip>] (helo=<helo>)` in Exim's, `from <helo> (<ip>)` in
//!   Microsoft's and `from <name> (HELO <helo>) (<ip>)` in qmail's;
//! - the MAIL FROM from the topmost Return-Path (RFC 5321 §4.4, RFC 5322
//!   §3.6.7; `<>` is the null sender), else from an `envelope-from` comment
//!   in the Received header used for the IP.
//!
//! The Received header used is the newest (topmost) one that names a
//! client IP, passing over headers without a `from` clause and hops from
//! loopback or private addresses: those record hand-offs inside the
//! receiving system (a content filter re-injecting on 127.0.0.1, Gmail's
//! internal `Received: by 2002:…`), not the delivery SPF is about. When
//! every hop is internal, the newest one is used. When the caller gave the
//! IP, the HELO and envelope-from are read only from a Received header
//! naming that IP, since another hop's HELO would be another client's.
//!
//! Anything read from headers yields `envelope.inferred` (info); a field
//! that stays unknown carries a note saying which option supplies it, so
//! the caller can report SPF as not evaluated rather than guess.

use super::headers::unfold;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::address::is_private;
use mail_parser::Header;
use serde::Serialize;
use std::net::IpAddr;

/// The SMTP envelope as the caller knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// The IP address of the SMTP client that delivered the message.
    pub ip: Option<IpAddr>,
    /// The HELO/EHLO name the client gave.
    pub helo: Option<String>,
    /// The MAIL FROM address; `Some("")` is the null reverse-path `<>`.
    pub mail_from: Option<String>,
}

/// Where an envelope field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The caller supplied it.
    Given,
    /// Read from a Received header.
    Received,
    /// Read from the Return-Path header.
    ReturnPath,
    /// Neither given nor found in the headers.
    Unknown,
}

/// One envelope field: its value, where it came from, and a note saying
/// which header it was read from or, when unknown, how to supply it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeField<T> {
    pub value: Option<T>,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl<T> EnvelopeField<T> {
    fn given(value: T) -> EnvelopeField<T> {
        EnvelopeField {
            value: Some(value),
            source: Source::Given,
            note: None,
        }
    }

    fn read(value: T, source: Source, note: String) -> EnvelopeField<T> {
        EnvelopeField {
            value: Some(value),
            source,
            note: Some(note),
        }
    }

    fn unknown(note: String) -> EnvelopeField<T> {
        EnvelopeField {
            value: None,
            source: Source::Unknown,
            note: Some(note),
        }
    }

    /// Whether the value was read from a header.
    fn is_inferred(&self) -> bool {
        matches!(self.source, Source::Received | Source::ReturnPath)
    }

    pub fn is_unknown(&self) -> bool {
        self.source == Source::Unknown
    }
}

/// The envelope a message is checked with, field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeReport {
    pub ip: EnvelopeField<IpAddr>,
    pub helo: EnvelopeField<String>,
    pub mail_from: EnvelopeField<String>,
    /// `envelope.inferred` when any field was read from the headers.
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

impl EnvelopeReport {
    /// The envelope to check with: given and inferred values together.
    pub fn envelope(&self) -> Envelope {
        Envelope {
            ip: self.ip.value,
            helo: self.helo.value.clone(),
            mail_from: self.mail_from.value.clone(),
        }
    }
}

/// What a Received header's `from` clause and comments say about the
/// client that delivered the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedFrom {
    /// Whether the header has a `from` clause at all.
    pub has_from: bool,
    /// The HELO/EHLO name, as the receiving server recorded it.
    pub helo: Option<String>,
    /// The client's IP address.
    pub ip: Option<IpAddr>,
    /// The address of an `envelope-from` comment; `Some("")` for `<>`.
    pub envelope_from: Option<String>,
}

/// Keeps what the caller gave and fills what is missing from the Received
/// and Return-Path fields of the message's header section.
pub fn infer(headers: &[Header<'_>], given: Envelope) -> EnvelopeReport {
    let received: Vec<Trace> = headers
        .iter()
        .filter(|h| h.raw_name().eq_ignore_ascii_case("Received"))
        .enumerate()
        .map(|(index, h)| {
            let text = unfold(h.raw_value());
            Trace {
                position: index + 1,
                parsed: parse_received(&text),
                text,
            }
        })
        .collect();
    let return_path = headers
        .iter()
        .find(|h| h.raw_name().eq_ignore_ascii_case("Return-Path"))
        .map(|h| unfold(h.raw_value()));
    let helo_given = given.helo.filter(|h| !h.trim().is_empty());

    let chosen = match given.ip {
        Some(ip) => received.iter().find(|t| t.parsed.ip == Some(ip)),
        None => delivering_hop(&received),
    };
    let total = received.len();
    let mut evidence = Vec::new();
    let used = |trace: &Trace, evidence: &mut Vec<String>| {
        let line = format!("Received: {}", trace.text);
        if !evidence.contains(&line) {
            evidence.push(line);
        }
        trace.describe(total)
    };

    let ip = match (given.ip, chosen) {
        (Some(ip), _) => EnvelopeField::given(ip),
        (None, Some(trace)) => match trace.parsed.ip {
            Some(ip) => {
                let note = format!("read from {}", used(trace, &mut evidence));
                EnvelopeField::read(ip, Source::Received, note)
            }
            None => EnvelopeField::unknown(IP_UNKNOWN.to_string()),
        },
        (None, None) => EnvelopeField::unknown(IP_UNKNOWN.to_string()),
    };

    let helo = match (
        helo_given,
        chosen.and_then(|t| t.parsed.helo.clone().map(|h| (t, h))),
    ) {
        (Some(helo), _) => EnvelopeField::given(helo),
        (None, Some((trace, helo))) => {
            let note = format!("read from {}", used(trace, &mut evidence));
            EnvelopeField::read(helo, Source::Received, note)
        }
        (None, None) => EnvelopeField::unknown(
            if given.ip.is_some() && chosen.is_none() {
                "not given, and no Received header names the given IP; give it (the HELO name field, --helo or ?helo=)"
            } else {
                "not given, and no Received header records it; give it (the HELO name field, --helo or ?helo=)"
            }
            .to_string(),
        ),
    };

    let from_return_path = return_path.as_deref().and_then(reverse_path);
    let from_received = chosen.and_then(|t| t.parsed.envelope_from.clone().map(|a| (t, a)));
    let mail_from = match (given.mail_from, from_return_path, from_received) {
        (Some(address), _, _) => EnvelopeField::given(address),
        (None, Some(address), _) => {
            evidence.push(format!(
                "Return-Path: {}",
                return_path.as_deref().unwrap_or_default()
            ));
            EnvelopeField::read(
                address,
                Source::ReturnPath,
                "read from the topmost Return-Path header".to_string(),
            )
        }
        (None, None, Some((trace, address))) => {
            let note = format!(
                "read from the envelope-from note of {}",
                used(trace, &mut evidence)
            );
            EnvelopeField::read(address, Source::Received, note)
        }
        (None, None, None) => EnvelopeField::unknown(
            if return_path.is_some() {
                "not given, and the Return-Path header holds no usable address; \
                 give it (the MAIL FROM field, --mail-from or ?mail_from=)"
            } else {
                "not given, and the message has neither a Return-Path header nor an \
                 envelope-from in its Received header; give it (the MAIL FROM field, --mail-from or ?mail_from=)"
            }
            .to_string(),
        ),
    };

    let findings = inferred_finding(&ip, &helo, &mail_from, evidence)
        .into_iter()
        .collect();
    EnvelopeReport {
        ip,
        helo,
        mail_from,
        findings,
    }
}

pub const IP_UNKNOWN: &str = "the sending IP is unknown: it was not given and no Received header \
                          names it, so SPF and iprev cannot be evaluated; give it (the Sending IP field, --ip or ?ip=)";

/// One Received header, with its place among them (1 = topmost).
struct Trace {
    position: usize,
    text: String,
    parsed: ReceivedFrom,
}

impl Trace {
    fn describe(&self, total: usize) -> String {
        let clause: String = self.text.chars().take(120).collect();
        let clause = if clause.len() < self.text.len() {
            format!("{clause}…")
        } else {
            clause
        };
        format!(
            "Received header {} of {total} (counting from the top): {clause}",
            self.position
        )
    }
}

/// The newest Received header that names a public client IP; failing
/// that, the newest that names any IP; failing that, the newest with a
/// `from` clause (for the HELO alone).
fn delivering_hop(received: &[Trace]) -> Option<&Trace> {
    received
        .iter()
        .find(|t| t.parsed.ip.is_some_and(|ip| !is_private(ip)))
        .or_else(|| received.iter().find(|t| t.parsed.ip.is_some()))
        .or_else(|| received.iter().find(|t| t.parsed.has_from))
}

/// `envelope.inferred` naming each field read from headers, and the ones
/// still unknown.
fn inferred_finding(
    ip: &EnvelopeField<IpAddr>,
    helo: &EnvelopeField<String>,
    mail_from: &EnvelopeField<String>,
    evidence: Vec<String>,
) -> Option<Finding> {
    let mut read = Vec::new();
    let mut unknown = Vec::new();
    let header = |source: Source| match source {
        Source::ReturnPath => "Return-Path",
        _ => "Received",
    };
    if let (Some(value), true) = (ip.value, ip.is_inferred()) {
        read.push(format!("IP {value} from the {} header", header(ip.source)));
    }
    if let (Some(value), true) = (&helo.value, helo.is_inferred()) {
        read.push(format!(
            "HELO {value} from the {} header",
            header(helo.source)
        ));
    }
    if let (Some(value), true) = (&mail_from.value, mail_from.is_inferred()) {
        let shown = if value.is_empty() {
            "<> (null sender)".to_string()
        } else {
            value.clone()
        };
        read.push(format!(
            "MAIL FROM {shown} from the {} header",
            header(mail_from.source)
        ));
    }
    if read.is_empty() {
        return None;
    }
    if ip.is_unknown() {
        unknown.push(
            "the sending IP (the Sending IP field, --ip or ?ip=; without it SPF is not evaluated)",
        );
    }
    if helo.is_unknown() {
        unknown.push("the HELO name (the HELO name field, --helo or ?helo=)");
    }
    if mail_from.is_unknown() {
        unknown.push("the MAIL FROM (the MAIL FROM field, --mail-from or ?mail_from=)");
    }
    let mut detail = format!("Read from the message headers: {}.", read.join("; "));
    if !unknown.is_empty() {
        detail.push_str(&format!(" Still unknown: {}.", unknown.join("; ")));
    }
    Some(Finding::new(catalog::ENVELOPE_INFERRED, detail).with_evidence(evidence))
}

/// The address of a Return-Path value (RFC 5321 §4.1.2 `Reverse-path`):
/// `<>` is the null sender (`Some("")`), a source route `<@a,@b:x@y>` is
/// dropped (RFC 5321 Appendix C), and brackets are tolerated missing.
/// `None` when the value holds no address.
pub fn reverse_path(value: &str) -> Option<String> {
    let value = value.trim();
    let inner = match value.find('<') {
        Some(open) => {
            let rest = value.get(open + 1..)?;
            let close = rest.find('>')?;
            rest.get(..close)?
        }
        None => value.split_whitespace().next().unwrap_or_default(),
    };
    let inner = inner.trim();
    let address = match inner.strip_prefix('@') {
        Some(route) => route.split_once(':').map_or("", |(_, a)| a).trim(),
        None => inner,
    };
    if address.is_empty() {
        // `<>` is meaningful; an empty bare value is not an address.
        return value.contains('<').then(String::new);
    }
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || address.chars().any(char::is_whitespace) {
        return None;
    }
    Some(address.to_string())
}

/// One lexical piece of a Received value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A run of characters up to white space, `(` or `;`.
    Word(String),
    /// The text of a comment, nested comments included with their parens.
    Comment(String),
}

/// Splits a Received value into words and comments, up to the `;` before
/// the date (RFC 5322 §3.6.7). Comments nest and take quoted pairs
/// (RFC 5322 §3.2.2).
fn tokens(value: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ';' {
            break;
        }
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            chars.next();
            let mut depth = 1usize;
            let mut text = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            text.push(escaped);
                        }
                    }
                    '(' => {
                        depth += 1;
                        text.push(c);
                    }
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                        text.push(c);
                    }
                    _ => text.push(c),
                }
            }
            out.push(Token::Comment(text));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ';' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(Token::Word(word));
        }
    }
    out
}

/// Reads the client's HELO name, IP and envelope-from out of a Received
/// value (unfolded). Never fails: what is not recognised stays `None`.
pub fn parse_received(value: &str) -> ReceivedFrom {
    let mut result = ReceivedFrom {
        envelope_from: envelope_from(value),
        ..ReceivedFrom::default()
    };
    let tokens = tokens(value);
    // The `from` clause is the first word; comments may precede it.
    let mut rest = tokens.iter().skip_while(|t| matches!(t, Token::Comment(_)));
    let Some(Token::Word(keyword)) = rest.next() else {
        return result;
    };
    if !keyword.eq_ignore_ascii_case("from") {
        return result;
    }
    result.has_from = true;
    let Some(Token::Word(name)) = rest.next() else {
        return result;
    };
    // The comments after the name, up to the next clause (`by`, `with`, …).
    let comments: Vec<&str> = rest
        .map_while(|t| match t {
            Token::Comment(text) => Some(text.as_str()),
            Token::Word(_) => None,
        })
        .collect();
    let words: Vec<&str> = comments
        .iter()
        .flat_map(|c| c.split_whitespace())
        .map(|w| w.trim_matches(|c| c == '(' || c == ')' || c == ','))
        .collect();

    // Exim writes `helo=<name>`, qmail `HELO <name>`; otherwise the name
    // after `from` is the HELO (Postfix, Sendmail, Gmail, Microsoft).
    let labelled = words.iter().enumerate().find_map(|(i, w)| {
        let (label, value) = match w.split_once('=') {
            Some((label, value)) => (label, Some(value)),
            None => (*w, None),
        };
        if !(label.eq_ignore_ascii_case("helo") || label.eq_ignore_ascii_case("ehlo")) {
            return None;
        }
        match value {
            Some(value) => Some(value),
            None => words.get(i + 1).copied(),
        }
    });
    let labelled = labelled.map(str::trim).filter(|h| !h.is_empty());
    result.helo = labelled
        .or(Some(name.trim()))
        .filter(|h| !h.is_empty())
        .map(str::to_string);

    // The client IP is in the comment: bracketed first (`[192.0.2.1]`,
    // `[IPv6:2001:db8::1]`, Exim's `[192.0.2.1]:25`), then bare
    // (Microsoft, qmail); Exim without reverse DNS puts it after `from`.
    result.ip = words
        .iter()
        .filter(|w| w.starts_with('['))
        .find_map(|w| address_literal(w))
        .or_else(|| words.iter().find_map(|w| bare_ip(w)))
        .or_else(|| {
            // `from [ip] (helo=…)`: Exim's form when the client has no
            // reverse name. In Postfix's `from [ip] (unknown [ip])` the
            // comment already answered.
            labelled.and_then(|_| address_literal(name))
        });
    result
}

/// An IP in brackets, `[192.0.2.1]` or `[IPv6:2001:db8::1]`, with anything
/// after the closing bracket (a port) ignored.
fn address_literal(word: &str) -> Option<IpAddr> {
    let inner = word.strip_prefix('[')?;
    let inner = inner.get(..inner.find(']')?)?;
    bare_ip(inner)
}

/// A bare IP, with the `IPv6:` tag of RFC 5321 §4.1.3 tolerated.
fn bare_ip(word: &str) -> Option<IpAddr> {
    let word = match word.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("ipv6:") => word.get(5..)?,
        _ => word,
    };
    word.parse().ok()
}

/// The address of an `envelope-from` (or `envelope-sender`) note, as Exim
/// and others write it: `(envelope-from <bounce@example.com>)`.
fn envelope_from(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let start = ["envelope-from", "envelope-sender"]
        .iter()
        .find_map(|label| lower.find(label).map(|at| at + label.len()))?;
    let rest = value
        .get(start..)?
        .trim_start_matches(|c: char| c.is_whitespace() || c == '=' || c == ':');
    if rest.starts_with('<') {
        return reverse_path(rest);
    }
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ')' | ';' | ','))
        .collect();
    reverse_path(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer_raw(raw: &[u8], given: Envelope) -> EnvelopeReport {
        infer(
            &crate::message::headers::fields(&crate::message::headers::parse(raw)),
            given,
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn received(value: &str) -> ReceivedFrom {
        parse_received(&unfold(value.as_bytes()))
    }

    #[test]
    fn postfix_form() {
        let r = received(
            "from mail.example.com (mail.example.com [192.0.2.1])\r\n\
             \tby mx.example.net (Postfix) with ESMTPS id 4Xb2Qk1vZ3z9t\r\n\
             \tfor <ann@example.net>; Tue,  1 Jul 2025 10:00:02 +0000 (UTC)",
        );
        assert!(r.has_from);
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("192.0.2.1"));
        assert_eq!(r.envelope_from, None);
    }

    #[test]
    fn postfix_with_helo_unlike_reverse_name_and_no_reverse_name() {
        let r = received("from relay.example.com (unknown [198.51.100.7]) by mx.example.net");
        assert_eq!(r.helo.as_deref(), Some("relay.example.com"));
        assert_eq!(r.ip, ip("198.51.100.7"));
        // A client that said `EHLO [198.51.100.7]`.
        let r = received("from [198.51.100.7] (unknown [198.51.100.7]) by mx.example.net");
        assert_eq!(r.helo.as_deref(), Some("[198.51.100.7]"));
        assert_eq!(r.ip, ip("198.51.100.7"));
    }

    #[test]
    fn postfix_ipv6_with_tag() {
        let r = received(
            "from mail.example.com (mail.example.com [IPv6:2001:db8::25])\r\n\
             \tby mx.example.net (Postfix) with ESMTPS id 4Xb2Q; Tue, 1 Jul 2025 10:00:02 +0000",
        );
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("2001:db8::25"));
    }

    #[test]
    fn exim_without_reverse_name() {
        let r = received(
            "from [192.0.2.1] (helo=mail.example.com)\r\n\
             \tby mx.example.net with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n\
             \t(Exim 4.96)\r\n\
             \t(envelope-from <bounces+abc@example.com>)\r\n\
             \tid 1uWxYz-000ABC-2Q\r\n\
             \tfor ann@example.net; Tue, 01 Jul 2025 10:00:02 +0000",
        );
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("192.0.2.1"));
        assert_eq!(r.envelope_from.as_deref(), Some("bounces+abc@example.com"));
    }

    #[test]
    fn exim_with_reverse_name_port_and_helo() {
        let r = received(
            "from out.example.com ([192.0.2.1]:41234 helo=mail.example.com) \
             by mx.example.net with esmtp (Exim 4.96) (envelope-from <>) id 1u; date",
        );
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("192.0.2.1"));
        assert_eq!(r.envelope_from.as_deref(), Some(""));
        // Exim omits helo= when it equals the reverse name.
        let r = received("from mail.example.com ([192.0.2.1]) by mx.example.net with esmtp");
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("192.0.2.1"));
    }

    #[test]
    fn gmail_form_with_ipv6_and_trailing_dot() {
        let r = received(
            "from mail.example.com (mail.example.com. [2001:db8::1])\r\n        \
             by mx.google.com with ESMTPS id a640c23a62f3a-ae0b1c2d3e4si123456766b.123.2025.07.01.03.00.02\r\n        \
             for <ann@gmail.com>\r\n        \
             (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n        \
             Tue, 01 Jul 2025 03:00:02 -0700 (PDT)",
        );
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("2001:db8::1"));
    }

    #[test]
    fn gmail_internal_hop_has_no_from_clause() {
        let r = received(
            "by 2002:a05:6a10:8c0b:b0:5c4:3e1:7f2a with SMTP id ab11csp1234567pxb;\r\n        \
             Tue, 1 Jul 2025 03:00:02 -0700 (PDT)",
        );
        assert!(!r.has_from);
        assert_eq!(r, ReceivedFrom::default());
    }

    #[test]
    fn microsoft_forms() {
        let r = received(
            "from BN8PR12MB3587.namprd12.prod.outlook.com (2603:10b6:408:49::10) by \
             MN2PR12MB4192.namprd12.prod.outlook.com (2603:10b6:208:1d5::13) with \
             Microsoft SMTP Server (version=TLS1_2, \
             cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.4200.0; Tue, 1 Jul 2025",
        );
        assert_eq!(
            r.helo.as_deref(),
            Some("BN8PR12MB3587.namprd12.prod.outlook.com")
        );
        assert_eq!(r.ip, ip("2603:10b6:408:49::10"));
        let r = received(
            "from NAM12-BN8-obe.outbound.protection.outlook.com \
             (mail-bn8nam12on2101.outbound.protection.outlook.com [40.107.237.101]) \
             by mx.example.net (Postfix) with ESMTPS id 4X; Tue, 1 Jul 2025",
        );
        assert_eq!(
            r.helo.as_deref(),
            Some("NAM12-BN8-obe.outbound.protection.outlook.com")
        );
        assert_eq!(r.ip, ip("40.107.237.101"));
    }

    #[test]
    fn sendmail_may_be_forged_and_qmail() {
        let r = received(
            "from helo.example.com (rdns.example.net [203.0.113.9] (may be forged))\r\n\
             \tby mx.example.net (8.17.1/8.17.1) with ESMTP id 561A02xT012345;\r\n\
             \tTue, 1 Jul 2025 10:00:02 GMT",
        );
        assert_eq!(r.helo.as_deref(), Some("helo.example.com"));
        assert_eq!(r.ip, ip("203.0.113.9"));
        let r = received(
            "from unknown (HELO mail.example.com) (203.0.113.9)\r\n  by mx.example.net with SMTP; 1 Jul 2025",
        );
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("203.0.113.9"));
        let r = received("(qmail 12345 invoked from network); 1 Jul 2025 10:00:02 -0000");
        assert!(!r.has_from);
    }

    #[test]
    fn folded_over_many_lines() {
        let r = received(
            "from\r\n mail.example.com\r\n (\r\n mail.example.com\r\n [192.0.2.1]\r\n )\r\n by mx.example.net",
        );
        assert_eq!(r.helo.as_deref(), Some("mail.example.com"));
        assert_eq!(r.ip, ip("192.0.2.1"));
    }

    #[test]
    fn garbage_received_values() {
        for value in [
            "",
            "from",
            "from (",
            "from x ([::1",
            "from [192.0.2.1",
            "from x (\\",
            "((((((",
            "from x (HELO)",
            "from x (helo=)",
            "envelope-from",
            "envelope-from <",
            "from ä (ü [ÿ])",
        ] {
            let _ = parse_received(value);
        }
        assert_eq!(parse_received("from x (helo=)").helo.as_deref(), Some("x"));
    }

    #[test]
    fn return_path_forms() {
        assert_eq!(
            reverse_path("<bounce@example.com>").as_deref(),
            Some("bounce@example.com")
        );
        assert_eq!(reverse_path("<>").as_deref(), Some(""));
        assert_eq!(reverse_path(" < > ").as_deref(), Some(""));
        assert_eq!(
            reverse_path("bounce@example.com").as_deref(),
            Some("bounce@example.com")
        );
        assert_eq!(
            reverse_path("<@relay.example.net:bounce@example.com>").as_deref(),
            Some("bounce@example.com")
        );
        assert_eq!(reverse_path("MAILER-DAEMON"), None);
        assert_eq!(reverse_path(""), None);
        assert_eq!(reverse_path("<bounce@example.com"), None);
    }

    const TOP: &str = "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n\
                       \tby mx.example.net (Postfix) with ESMTPS id 4X; Tue, 1 Jul 2025 10:00:02 +0000\r\n";

    fn message(headers: &str) -> Vec<u8> {
        format!(
            "{headers}From: news@example.com\r\nDate: Tue, 1 Jul 2025 10:00:00 +0000\r\n\
             Message-ID: <a@example.com>\r\n\r\nbody\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn given_envelope_is_kept_and_nothing_is_inferred() {
        let given = Envelope {
            ip: ip("203.0.113.5"),
            helo: Some("out.example.org".into()),
            mail_from: Some("b@example.org".into()),
        };
        let report = infer_raw(
            &message(&format!("Return-Path: <x@example.com>\r\n{TOP}")),
            given.clone(),
        );
        assert_eq!(report.envelope(), given);
        assert!(report.findings.is_empty());
        assert_eq!(report.ip.source, Source::Given);
    }

    #[test]
    fn everything_inferred_from_received_and_return_path() {
        let report = infer_raw(
            &message(&format!("Return-Path: <bounce@example.com>\r\n{TOP}")),
            Envelope::default(),
        );
        assert_eq!(report.ip.value, ip("192.0.2.1"));
        assert_eq!(report.ip.source, Source::Received);
        assert_eq!(report.helo.value.as_deref(), Some("mail.example.com"));
        assert_eq!(
            report.mail_from.value.as_deref(),
            Some("bounce@example.com")
        );
        assert_eq!(report.mail_from.source, Source::ReturnPath);
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(f.code, "envelope.inferred");
        assert!(
            f.detail.contains("IP 192.0.2.1 from the Received header"),
            "{}",
            f.detail
        );
        assert!(
            f.detail
                .contains("MAIL FROM bounce@example.com from the Return-Path")
        );
        assert!(!f.detail.contains("Still unknown"));
        assert_eq!(f.evidence.len(), 2);
    }

    #[test]
    fn only_missing_fields_are_read() {
        let given = Envelope {
            mail_from: Some("given@example.org".into()),
            ..Envelope::default()
        };
        let report = infer_raw(
            &message(&format!("Return-Path: <bounce@example.com>\r\n{TOP}")),
            given,
        );
        assert_eq!(report.mail_from.source, Source::Given);
        assert_eq!(report.ip.source, Source::Received);
        assert!(!report.findings[0].detail.contains("MAIL FROM"));
    }

    #[test]
    fn unknown_ip_is_visible_with_the_option_to_give() {
        let report = infer_raw(&message("Return-Path: <>\r\n"), Envelope::default());
        assert!(report.ip.is_unknown());
        assert!(
            report
                .ip
                .note
                .as_deref()
                .is_some_and(|n| n.contains("--ip or ?ip="))
        );
        assert!(
            report
                .helo
                .note
                .as_deref()
                .is_some_and(|n| n.contains("--helo"))
        );
        assert_eq!(report.mail_from.value.as_deref(), Some(""));
        let f = &report.findings[0];
        assert!(f.detail.contains("<> (null sender)"), "{}", f.detail);
        assert!(
            f.detail.contains("the Sending IP field, --ip or ?ip="),
            "{}",
            f.detail
        );

        // Nothing to read: no finding, but the notes say what is missing.
        let report = infer_raw(b"", Envelope::default());
        assert!(report.findings.is_empty());
        assert!(
            report.ip.is_unknown() && report.helo.is_unknown() && report.mail_from.is_unknown()
        );
        assert!(
            report
                .mail_from
                .note
                .as_deref()
                .is_some_and(|n| n.contains("--mail-from"))
        );
    }

    #[test]
    fn internal_hops_are_passed_over() {
        let headers = format!(
            "Received: by 2002:a05:6a10:8c0b::1 with SMTP id ab11csp;\r\n Tue, 1 Jul 2025\r\n\
             Received: from localhost (localhost [127.0.0.1]) by mx.example.net (amavis);\r\n Tue, 1 Jul 2025\r\n\
             {TOP}"
        );
        let report = infer_raw(&message(&headers), Envelope::default());
        assert_eq!(report.ip.value, ip("192.0.2.1"));
        assert!(
            report
                .ip
                .note
                .as_deref()
                .is_some_and(|n| n.contains("Received header 3 of 3")),
            "{:?}",
            report.ip.note
        );
        // When every hop is internal, the newest is still used.
        let report = infer_raw(
            &message("Received: from localhost (localhost [127.0.0.1]) by x; d\r\n"),
            Envelope::default(),
        );
        assert_eq!(report.ip.value, ip("127.0.0.1"));
    }

    #[test]
    fn given_ip_takes_helo_from_its_own_hop() {
        let headers = format!(
            "Received: from relay.example.net (relay.example.net [198.51.100.2]) by mx; d\r\n{TOP}"
        );
        let given = Envelope {
            ip: ip("192.0.2.1"),
            ..Envelope::default()
        };
        let report = infer_raw(&message(&headers), given);
        assert_eq!(report.helo.value.as_deref(), Some("mail.example.com"));
        let given = Envelope {
            ip: ip("203.0.113.99"),
            ..Envelope::default()
        };
        let report = infer_raw(&message(&headers), given);
        assert!(report.helo.is_unknown());
        assert!(report.findings.is_empty());
    }

    #[test]
    fn envelope_from_in_received_when_no_return_path() {
        let report = infer_raw(
            &message(
                "Received: from [192.0.2.1] (helo=mail.example.com) by mx.example.net \
                 with esmtp (Exim 4.96) (envelope-from <b@example.com>) id 1u; d\r\n",
            ),
            Envelope::default(),
        );
        assert_eq!(report.mail_from.value.as_deref(), Some("b@example.com"));
        assert_eq!(report.mail_from.source, Source::Received);
        assert_eq!(report.findings[0].evidence.len(), 1);
    }

    #[test]
    fn blank_helo_counts_as_not_given() {
        let given = Envelope {
            helo: Some("  ".into()),
            ..Envelope::default()
        };
        let report = infer_raw(&message(TOP), given);
        assert_eq!(report.helo.value.as_deref(), Some("mail.example.com"));
    }

    #[test]
    fn hostile_messages_do_not_panic() {
        for raw in [
            &b""[..],
            b"\x00\x00\x00",
            b"Received: \xff\xfe (\x00 [\xff])\r\nReturn-Path: <\xff@\x00>\r\n\r\n",
            b"Received: from\nReceived: (\nReturn-Path: <\n\n",
            b"no headers here",
        ] {
            let _ = infer_raw(raw, Envelope::default());
        }
    }
}
