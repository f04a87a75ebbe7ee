//! Hostile header sections through the message report (what
//! `POST /v1/messages` answers), against the header limits: 5,000 fields
//! and 1 MiB of header section by default (`mailvet::message::limits`).
//!
//! The input drives a generator, so that few bytes make a large section:
//! a run of pieces, each one field (From, DKIM-Signature, ARC-*, Received,
//! a long folded Subject, a field of raw input bytes with NULs, 8-bit
//! bytes, bare CRs and missing colons) repeated up to 20,000 times, with
//! CR LF or bare LF line ends, until the section passes 1 MiB; then the
//! blank line and the rest of the input as the body.
//!
//! Asserted, on every input:
//! - `limits::check` splits the section as mail-auth does: accepted, it
//!   counts mail-auth's fields and ends where mail-auth's body starts,
//!   within both limits; refused for fields, mail-auth counts more than
//!   5,000; refused for bytes, mail-auth's body starts past 1 MiB;
//! - the report refuses exactly what `check` refuses, with the same
//!   error, and otherwise produces a report whose JSON serialises, with at
//!   most 20 DKIM signatures judged.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mail_auth::AuthenticatedMessage;
use mailvet::message::Clock;
use mailvet::message::envelope::Envelope;
use mailvet::message::limits::{self, HeaderLimit, MessageLimits};
use mailvet::message::report::ReportError;
use mailvet_fuzz::Offline;
use std::sync::OnceLock;

fn offline() -> &'static Offline {
    static OFFLINE: OnceLock<Offline> = OnceLock::new();
    OFFLINE.get_or_init(|| Offline::new("", ""))
}

/// The generator stops repeating once the section is this large: past
/// the byte limit, whatever follows.
const ENOUGH: usize = limits::DEFAULT_MAX_HEADER_BYTES + 4096;

const DOMAINS: [&str; 4] = ["msg.test", "esp.test", "example.test", ""];
const CANONICALIZATIONS: [&str; 5] = [
    "relaxed/relaxed",
    "simple/simple",
    "relaxed",
    "simple/relaxed",
    "x/y",
];

/// One header field, without its final line end; `eol` separates the
/// lines of a folded one.
fn piece(u: &mut Unstructured<'_>, eol: &[u8]) -> Result<Vec<u8>> {
    let domain = *u.choose(&DOMAINS)?;
    let n: u16 = u.arbitrary()?;
    Ok(match u.int_in_range(0..=8u8)? {
        0 => format!("From: news@{domain}").into_bytes(),
        1 => format!(
            "DKIM-Signature: v=1; a=ed25519-sha256; c={}; d={domain}; s=ed; l={n}; \
             h=from:to:dkim-signature; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA",
            u.choose(&CANONICALIZATIONS)?
        )
        .into_bytes(),
        2 => format!(
            "ARC-Seal: i={}; a=ed25519-sha256; cv=none; d={domain}; s=ed; b=AAAA",
            n % 60
        )
        .into_bytes(),
        3 => format!(
            "ARC-Message-Signature: i={}; a=rsa-sha256; c={}; d={domain}; s=rsa; l={n}; \
             h=from; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA",
            n % 60,
            u.choose(&CANONICALIZATIONS)?
        )
        .into_bytes(),
        4 => format!(
            "ARC-Authentication-Results: i={}; mx.{domain}; spf=pass",
            n % 60
        )
        .into_bytes(),
        5 => format!(
            "Received: from mail.{domain} (mail.{domain} [192.0.2.{}]) by mx.test; \
             Tue, 01 Jul 2025 10:00:00 +0000",
            n % 256
        )
        .into_bytes(),
        6 => {
            // A long folded line: `n * 16` bytes, folded every `width`.
            let width = usize::from(u.int_in_range(1..=998u16)?);
            let mut field = b"Subject:".to_vec();
            let text = b"July offers ".repeat(usize::from(n) * 16 / 12 + 1);
            for (i, chunk) in text.chunks(width).enumerate() {
                if i > 0 {
                    field.extend_from_slice(eol);
                    field.push(b' ');
                }
                field.extend_from_slice(chunk);
            }
            field
        }
        7 => {
            // Raw input bytes: NULs, 8-bit, CRs, line feeds, colons or not.
            let len = u.int_in_range(0..=200usize)?.min(u.len());
            u.bytes(len)?.to_vec()
        }
        _ => {
            let len = u.int_in_range(0..=64usize)?.min(u.len());
            let mut field = format!("X-Flood-{n}: ").into_bytes();
            field.extend(u.bytes(len)?.iter().map(|&b| b | 0x80));
            field
        }
    })
}

/// The message the input describes.
fn flood(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let eol: &[u8] = if u.arbitrary()? { b"\r\n" } else { b"\n" };
    let mut raw = Vec::new();
    while raw.len() < ENOUGH && !u.is_empty() {
        let field = piece(u, eol)?;
        let times = match u.int_in_range(0..=3u8)? {
            0 => 1,
            1 => u.int_in_range(1..=64usize)?,
            // Around the field limit.
            2 => u.int_in_range(4_990..=5_010usize)?,
            _ => u.int_in_range(1..=20_000usize)?,
        };
        for _ in 0..times {
            raw.extend_from_slice(&field);
            raw.extend_from_slice(eol);
            if raw.len() >= ENOUGH {
                break;
            }
        }
    }
    raw.extend_from_slice(eol);
    let body = u.len();
    raw.extend_from_slice(u.bytes(body)?);
    Ok(raw)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(given) = u.arbitrary::<bool>() else {
        return;
    };
    let Ok(raw) = flood(&mut u) else {
        return;
    };
    let limits = MessageLimits::default();
    let checked = limits::check(&raw, &limits);

    // mail-auth's split of the whole message, unbounded.
    let theirs = AuthenticatedMessage::parse_with_opts(&raw, None, false)
        .map(|m| (m.headers().len(), m.body_offset()));
    match &checked {
        Ok(section) => {
            assert!(section.fields <= limits.header_fields);
            assert!(section.bytes <= limits.header_bytes);
            match theirs {
                Some((fields, body)) => {
                    assert_eq!(section.fields, fields, "fields counted");
                    assert_eq!(section.bytes, body, "where the body starts");
                }
                None => assert_eq!(section.fields, 0, "mail-auth found no field"),
            }
        }
        Err(HeaderLimit::Fields { limit }) => {
            assert_eq!(*limit, limits.header_fields);
            let (fields, _) = theirs.expect("a refused section has fields");
            assert!(fields > limits.header_fields, "{fields} fields refused");
        }
        Err(HeaderLimit::Bytes { limit }) => {
            assert_eq!(*limit, limits.header_bytes);
            if let Some((_, body)) = theirs {
                assert!(body > limits.header_bytes, "refused a {body}-byte section");
            }
        }
    }

    let envelope = if given {
        Envelope {
            ip: Some("192.0.2.10".parse().expect("IP")),
            helo: Some("mail.msg.test".to_string()),
            mail_from: Some("bounce@msg.test".to_string()),
        }
    } else {
        Envelope::default()
    };
    let answer = offline().report(raw, envelope, None, Clock::at(mailvet_fuzz::FIXTURE_TIME));
    match (checked, answer) {
        (Ok(_), Ok(report)) => {
            assert!(report.dkim.signatures.len() <= limits.dkim_signatures);
            serde_json::to_vec(&report).expect("a report serialises");
        }
        (Err(refused), Err(ReportError::Limit(answered))) => assert_eq!(refused, answered),
        (checked, answer) => panic!(
            "check said {checked:?}, the report {:?}",
            answer.map(|r| r.verdict)
        ),
    }
});
