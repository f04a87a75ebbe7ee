//! Tests of the TLS-RPT record grammar (RFC 8460 §3).

use super::*;

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
