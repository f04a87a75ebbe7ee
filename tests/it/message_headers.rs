//! The message header checks and envelope inference against the fixture
//! messages of fixtures/messages/: a fixture named after a finding code
//! gives exactly that code, the healthy bulk message gives no error or
//! warning, and the envelope of a message carrying only trace headers is
//! read from its Received and Return-Path headers.

use mailvet::findings::Severity;
use mailvet::message::envelope::{self, Envelope, Source};
use mailvet::message::headers::{self, BulkSign};
use std::net::IpAddr;
use std::path::Path;

const DIR: &str = "fixtures/messages";

/// The envelope as `report` infers it: from the message's one parse.
fn infer(raw: &[u8], given: Envelope) -> envelope::EnvelopeReport {
    envelope::infer(&headers::fields(&headers::parse(raw)), given)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(DIR).join(name)).unwrap()
}

fn codes(raw: &[u8], bulk: Option<bool>) -> Vec<&'static str> {
    headers::check(raw, bulk)
        .findings
        .iter()
        .map(|f| f.code)
        .collect()
}

/// The codes this module decides, each with a fixture named after it.
/// Other modules keep their own fixtures in the same directory, so the
/// tests name theirs rather than walk it.
const CODES: &[&str] = &[
    "bulk.no_list_unsubscribe",
    "bulk.no_one_click",
    "msg.missing_header",
    "msg.multiple_from",
];

/// Every fixture of this module.
fn fixture_names() -> Vec<String> {
    CODES
        .iter()
        .map(|code| format!("{code}.eml"))
        .chain([
            "clean-bulk.eml".to_string(),
            "received-only.eml".to_string(),
        ])
        .collect()
}

#[test]
fn each_code_fixture_gives_exactly_its_code() {
    for code in CODES {
        let raw = read(&format!("{code}.eml"));
        assert_eq!(codes(&raw, None), [*code], "{code}.eml");
    }
}

#[test]
fn fixtures_use_crlf_line_ends() {
    for name in fixture_names() {
        let raw = read(&name);
        let bare_lf = raw
            .iter()
            .enumerate()
            .any(|(i, b)| *b == b'\n' && (i == 0 || raw[i - 1] != b'\r'));
        assert!(!bare_lf, "{name} has a bare LF");
    }
}

#[test]
fn clean_bulk_message_has_no_error_or_warning() {
    let checked = headers::check(&read("clean-bulk.eml"), None);
    let serious: Vec<_> = checked
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    let s = &checked.section;
    assert!(s.bulk.looks_bulk && s.bulk.applies);
    assert_eq!(
        s.bulk.signs,
        [
            BulkSign::ListId,
            BulkSign::ListUnsubscribe,
            BulkSign::FeedbackId
        ]
    );
    assert!(s.one_click);
    assert_eq!(
        s.list_unsubscribe,
        [
            "https://healthy.test/unsub/5f2c9e1ab7",
            "mailto:unsub+5f2c9e1ab7@healthy.test"
        ]
    );
    assert_eq!(
        s.list_unsubscribe_post.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(s.from_domain.as_deref(), Some("healthy.test"));
    assert!(s.date_valid);
    assert!(s.repeated.is_empty());
    // Declaring it bulk changes nothing; declaring it not bulk neither.
    assert!(codes(&read("clean-bulk.eml"), Some(true)).is_empty());
    assert!(codes(&read("clean-bulk.eml"), Some(false)).is_empty());
}

#[test]
fn bulk_codes_follow_the_declaration() {
    for name in ["bulk.no_list_unsubscribe.eml", "bulk.no_one_click.eml"] {
        assert!(codes(&read(name), Some(false)).is_empty(), "{name}");
    }
    // A personal message declared bulk must have List-Unsubscribe.
    assert_eq!(
        codes(&read("received-only.eml"), Some(true)),
        ["bulk.no_list_unsubscribe"]
    );
}

#[test]
fn findings_name_what_was_seen() {
    let multiple = headers::check(&read("msg.multiple_from.eml"), None);
    let f = &multiple.findings[0];
    assert!(f.detail.contains("2 From headers"), "{}", f.detail);
    assert!(f.detail.contains("support@example.org"), "{}", f.detail);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(multiple.section.from_domain, None);
    assert_eq!(headers::from_domain(&read("msg.multiple_from.eml")), None);

    let missing = headers::check(&read("msg.missing_header.eml"), None);
    assert_eq!(
        missing.findings[0].detail,
        "The message has no Message-ID header."
    );

    let one_click = headers::check(&read("bulk.no_one_click.eml"), None);
    let f = &one_click.findings[0];
    assert!(f.detail.contains("no https URI"), "{}", f.detail);
    assert!(
        f.detail.contains("no List-Unsubscribe-Post"),
        "{}",
        f.detail
    );
    assert!(
        f.fix
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
}

#[test]
fn from_domain_of_fixtures() {
    assert_eq!(
        headers::from_domain(&read("clean-bulk.eml")).as_deref(),
        Some("healthy.test")
    );
    assert_eq!(
        headers::from_domain(&read("msg.missing_header.eml")).as_deref(),
        Some("example.com")
    );
    assert!(headers::looks_bulk(&read("clean-bulk.eml")));
    assert!(!headers::looks_bulk(&read("received-only.eml")));
}

#[test]
fn envelope_is_inferred_from_received_and_return_path() {
    let raw = read("received-only.eml");
    assert!(codes(&raw, None).is_empty());
    let report = infer(&raw, Envelope::default());
    assert_eq!(
        report.envelope(),
        Envelope {
            ip: Some("198.51.100.7".parse::<IpAddr>().unwrap()),
            helo: Some("out.healthy.test".into()),
            mail_from: Some("bounce+ann=example.net@healthy.test".into()),
        }
    );
    assert_eq!(report.ip.source, Source::Received);
    assert_eq!(report.helo.source, Source::Received);
    assert_eq!(report.mail_from.source, Source::ReturnPath);
    // Gmail's internal hop on top records no client and is passed over.
    assert!(
        report
            .ip
            .note
            .as_deref()
            .is_some_and(|n| n.contains("Received header 2 of 2")),
        "{:?}",
        report.ip.note
    );
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(f.code, "envelope.inferred");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.detail.contains("IP 198.51.100.7"), "{}", f.detail);
    assert!(f.detail.contains("HELO out.healthy.test"), "{}", f.detail);
    assert!(f.detail.contains("Return-Path"), "{}", f.detail);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.starts_with("Received: from out.healthy.test"))
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.starts_with("Return-Path: <bounce+"))
    );

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ip"]["source"], "received");
    assert_eq!(json["mail_from"]["source"], "return_path");
    assert!(json.get("findings").is_none());
}

#[test]
fn envelope_without_trace_headers_stays_unknown() {
    let report = infer(&read("clean-bulk.eml"), Envelope::default());
    assert!(report.findings.is_empty());
    assert_eq!(report.ip.source, Source::Unknown);
    assert!(
        report
            .ip
            .note
            .as_deref()
            .is_some_and(|n| n.contains("the Sending IP field, --ip or ?ip=")),
        "{:?}",
        report.ip.note
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ip"]["source"], "unknown");
    assert!(json["ip"]["value"].is_null());
}

#[test]
fn given_envelope_wins_over_headers() {
    let given = Envelope {
        ip: Some("192.0.2.44".parse().unwrap()),
        helo: None,
        mail_from: Some(String::new()),
    };
    let report = infer(&read("received-only.eml"), given);
    assert_eq!(report.ip.source, Source::Given);
    assert_eq!(report.mail_from.value.as_deref(), Some(""));
    assert_eq!(report.mail_from.source, Source::Given);
    // No Received header names the given IP, so its HELO is not borrowed
    // from another hop.
    assert_eq!(report.helo.source, Source::Unknown);
    assert!(report.findings.is_empty());
}

/// Every prefix of every fixture, and every fixture with bytes replaced
/// by NUL, 0xFF or a bare LF, gives a result: no panic on any input.
#[test]
fn damaged_fixtures_never_panic() {
    for name in fixture_names() {
        let raw = read(&name);
        for end in 0..=raw.len() {
            let cut = &raw[..end];
            let _ = headers::check(cut, None);
            let _ = infer(cut, Envelope::default());
        }
        for (i, junk) in [0u8, 0xff, b'\n', b'(', b'<', b':']
            .iter()
            .cycle()
            .enumerate()
            .take(raw.len())
        {
            let mut damaged = raw.clone();
            damaged[i] = *junk;
            let _ = headers::check(&damaged, Some(true));
            let _ = headers::from_domain(&damaged);
            let _ = infer(&damaged, Envelope::default());
        }
    }
}
