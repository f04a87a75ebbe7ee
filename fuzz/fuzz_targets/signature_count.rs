//! Many signatures on one message, against the signature limits: 20 DKIM
//! signatures judged and 4 distinct body hashes computed by default
//! (`mailvet::message::limits`).
//!
//! The input drives which fields go on top of the msg.test newsletter, in
//! order: copies of valid `DKIM-Signature` fields (by msg.test and
//! esp.test, with an Ed25519 key generated for the run and published in
//! the offline zones; simple or relaxed body, with `l=` or not), made-up
//! ones with chosen `d=`, `s=`, `a=`, `c=`, `l=` and `h=`, the valid ARC
//! set msg.test seals, made-up `ARC-Message-Signature` and `ARC-Seal`
//! fields, and runs of the previous field, up to 1,000 fields.
//!
//! Asserted, on every input:
//! - at most 20 signatures are judged, and judged plus not evaluated is
//!   every `DKIM-Signature` field; past 20 the rest are not evaluated,
//!   `dkim.not_evaluated` is there exactly when some are, and the listed
//!   ones are in header order;
//! - mail-auth, given the bytes the signature budget leaves it, computes
//!   at most 4 distinct body hashes (DKIM and ARC together);
//! - a judged copy of a valid signature passes.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mail_auth::AuthenticatedMessage;
use mail_auth::crypto::HashAlgorithm;
use mail_auth::dkim::Canonicalization;
use mailvet::message::Clock;
use mailvet::message::dkim::DkimResult;
use mailvet::message::envelope::Envelope;
use mailvet::message::limits::{Budget, LeftOutBecause, MessageLimits};
use mailvet_fuzz::{Offline, Signer, newsletter};
use std::borrow::Cow;
use std::sync::OnceLock;

/// The fixed part of a run: the resolver layer, the newsletter and the
/// fields that verify over it.
struct Setup {
    offline: Offline,
    newsletter: Vec<u8>,
    /// Valid `DKIM-Signature` fields, CR LF ended.
    valid: Vec<String>,
    /// The valid ARC set (i=1).
    arc_set: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let signer = Signer::generate();
        let newsletter = newsletter();
        let (relaxed, simple) = (Canonicalization::Relaxed, Canonicalization::Simple);
        let valid = [
            ("msg.test", relaxed, false),
            ("msg.test", simple, false),
            ("msg.test", relaxed, true),
            ("esp.test", relaxed, false),
            ("esp.test", simple, true),
        ]
        .into_iter()
        .map(|(d, c, l)| signer.dkim(d, c, l, &newsletter))
        .collect();
        Setup {
            offline: Offline::new(&signer.record("msg.test"), &signer.record("esp.test")),
            arc_set: signer.arc_set(&newsletter),
            valid,
            newsletter,
        }
    })
}

const MOST_FIELDS: usize = 1_000;

/// One field the input chose, CR LF ended.
#[derive(Clone)]
struct Field {
    text: String,
    /// 1 for a `DKIM-Signature` field, 0 else (the ARC set is 3 fields).
    dkim: usize,
    valid: bool,
}

fn made_dkim(u: &mut Unstructured<'_>) -> Result<String> {
    let d = u.choose(&["msg.test", "esp.test", "example.test", "MSG.TEST"])?;
    let s = u.choose(&["ed", "rsa", "none"])?;
    let a = u.choose(&["ed25519-sha256", "rsa-sha256", "rsa-sha1", "hmac-sha256"])?;
    let c = u.choose(&[
        "relaxed/relaxed",
        "simple/simple",
        "relaxed",
        "simple/relaxed",
        "relaxed/simple",
        "",
        "bogus",
    ])?;
    let h = u.choose(&[
        "from",
        "from:to:subject",
        "from:dkim-signature",
        "from:arc-message-signature",
        "to",
    ])?;
    let l = match u.int_in_range(0..=3u8)? {
        0 => String::new(),
        1 => format!(" l={};", u.int_in_range(0..=400u16)?),
        2 => format!(" l={};", u.arbitrary::<u64>()?),
        _ => " l=x;".to_string(),
    };
    Ok(format!(
        "DKIM-Signature: v=1; a={a}; c={c}; d={d}; s={s};{l} h={h};\r\n \
         bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=; b=QmFzZTY0\r\n"
    ))
}

fn made_arc(u: &mut Unstructured<'_>) -> Result<String> {
    let i = u.int_in_range(0..=55u8)?;
    Ok(if u.arbitrary()? {
        let c = u.choose(&["relaxed/relaxed", "simple/simple", "relaxed/simple"])?;
        let h = u.choose(&["from", "from:dkim-signature"])?;
        let l = u.int_in_range(0..=400u16)?;
        format!(
            "ARC-Message-Signature: i={i}; a=ed25519-sha256; c={c}; d=msg.test; s=ed; \
             l={l}; h={h};\r\n bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=; b=QmFzZTY0\r\n"
        )
    } else {
        let cv = u.choose(&["none", "pass", "fail"])?;
        format!("ARC-Seal: i={i}; a=ed25519-sha256; cv={cv}; d=msg.test; s=ed; b=QmFzZTY0\r\n")
    })
}

/// The fields the input chooses, in header order.
fn fields(u: &mut Unstructured<'_>, setup: &Setup) -> Result<Vec<Field>> {
    let mut out: Vec<Field> = Vec::new();
    while out.len() < MOST_FIELDS && !u.is_empty() {
        let field = match u.int_in_range(0..=5u8)? {
            0 => Field {
                text: u.choose(&setup.valid)?.clone(),
                dkim: 1,
                valid: true,
            },
            1 => Field {
                text: made_dkim(u)?,
                dkim: 1,
                valid: false,
            },
            2 => Field {
                text: setup.arc_set.clone(),
                dkim: 0,
                valid: false,
            },
            3 => Field {
                text: made_arc(u)?,
                dkim: 0,
                valid: false,
            },
            _ => {
                let Some(last) = out.last().cloned() else {
                    continue;
                };
                let times = u.int_in_range(1..=200usize)?;
                let room = MOST_FIELDS.saturating_sub(out.len());
                out.extend(std::iter::repeat_n(last, times.min(room)));
                continue;
            }
        };
        out.push(field);
    }
    Ok(out)
}

/// The distinct body hashes mail-auth computes when it parses `view`.
fn body_hashes(view: &[u8]) -> usize {
    let Some(message) = AuthenticatedMessage::parse_with_opts(view, None, false) else {
        return 0;
    };
    let dkim = message
        .dkim_signatures()
        .iter()
        .map(|h| (h.header.cb, HashAlgorithm::from(h.header.a), h.header.l));
    let arc = message
        .arc_message_signatures()
        .iter()
        .map(|h| (h.header.cb, HashAlgorithm::from(h.header.a), h.header.l));
    let mut seen = Vec::new();
    for hash in dkim.chain(arc) {
        if !seen.contains(&hash) {
            seen.push(hash);
        }
    }
    seen.len()
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let mut u = Unstructured::new(data);
    let Ok(chosen) = fields(&mut u, setup) else {
        return;
    };
    let mut raw: Vec<u8> = chosen.iter().flat_map(|f| f.text.bytes()).collect();
    raw.extend_from_slice(&setup.newsletter);
    // Whether each DKIM-Signature field, in header order, is a valid copy.
    let valid: Vec<bool> = chosen
        .iter()
        .filter(|f| f.dkim == 1)
        .map(|f| f.valid)
        .collect();
    let total = valid.len();
    let limits = MessageLimits::default();

    let (budget, view) = Budget::new(Cow::Borrowed(&raw[..]), &limits);
    let hashes = body_hashes(&view);
    assert!(
        hashes <= limits.body_hashes,
        "{hashes} body hashes computed"
    );

    let envelope = Envelope {
        ip: Some("192.0.2.10".parse().expect("IP")),
        helo: Some("mail.msg.test".to_string()),
        mail_from: Some("bounce@msg.test".to_string()),
    };
    let report = setup
        .offline
        .report(raw.clone(), envelope, None, Clock::system())
        .expect("within the header limits, a report");
    serde_json::to_vec(&report).expect("a report serialises");

    let judged = report.dkim.signatures.len();
    assert!(judged <= limits.dkim_signatures, "{judged} judged");
    assert_eq!(report.not_evaluated, budget.not_evaluated());
    let left_out = report.not_evaluated.as_ref();
    let not_evaluated = left_out.map_or(0, |n| n.dkim_signatures);
    assert_eq!(
        judged + not_evaluated,
        total,
        "every signature accounted for"
    );
    let finding = report
        .findings
        .iter()
        .any(|f| f.code == "dkim.not_evaluated");
    assert_eq!(finding, not_evaluated > 0);

    let listed = left_out.map(|n| n.dkim.as_slice()).unwrap_or_default();
    assert!(listed.len() <= 20);
    assert!(listed.windows(2).all(|w| w[0].position < w[1].position));
    for l in listed {
        assert!((1..=total).contains(&l.position));
        assert_eq!(
            l.because == LeftOutBecause::SignatureLimit,
            l.position > limits.dkim_signatures,
            "position {} left out for {:?}",
            l.position,
            l.because
        );
    }

    // When every left-out one is listed, the judged ones are known.
    if listed.len() == not_evaluated {
        let judged_positions = (1..=total).filter(|p| !listed.iter().any(|l| l.position == *p));
        for (position, signature) in judged_positions.zip(&report.dkim.signatures) {
            if valid[position - 1] {
                assert_eq!(
                    signature.result,
                    DkimResult::Pass,
                    "valid signature #{position}: {:?}",
                    signature.reason
                );
            }
        }
    }
});
