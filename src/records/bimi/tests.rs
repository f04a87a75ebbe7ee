//! Tests of the BIMI assertion record grammar.

use super::*;

pub(crate) const GOOD: &str =
    "v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem";

#[test]
fn valid_records_parse() {
    let r = parse(GOOD).unwrap();
    assert_eq!(r.logo_url.as_deref(), Some("https://example.com/logo.svg"));
    assert_eq!(
        r.authority_url.as_deref(),
        Some("https://example.com/vmc.pem")
    );
    assert!(!r.is_declination());
    for text in [
        "v=BIMI1; l=https://example.com/logo.svg",
        "v=BIMI1;l=https://example.com/logo.svg;",
        "v = BIMI1 ; l = https://example.com/logo.svg ; a= ;",
        "v=BIMI1; l=https://example.com/logo.svg; a=self",
        "v=BIMI1; l=https://example.com/logo.svg; x=unknown-tags-are-ignored",
        "v=BIMI1; a=https://example.com/vmc.pem; l=https://example.com/logo.svg",
    ] {
        let r = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(!r.is_declination(), "{text}");
    }
    for text in ["v=BIMI1; l=", "v=BIMI1; l=;", "v=BIMI1; l=; a=;"] {
        assert!(parse(text).unwrap().is_declination(), "{text}");
    }
    assert!(
        !parse("v=BIMI1; l=; a=https://example.com/vmc.pem")
            .unwrap()
            .is_declination()
    );
}

#[test]
fn malformed_records_are_rejected_with_the_reason() {
    for (text, needle) in [
        ("l=https://example.com/logo.svg; v=BIMI1", "must begin"),
        ("v=bimi1; l=https://example.com/logo.svg", "exactly"),
        ("v=BIMI2; l=https://example.com/logo.svg", "not v=BIMI1"),
        ("v=BIMI1", "no l= tag"),
        ("v=BIMI1; a=https://example.com/vmc.pem", "no l= tag"),
        ("v=BIMI1; l=http://example.com/logo.svg", "https://"),
        ("v=BIMI1; l=example.com/logo.svg", "https://"),
        ("v=BIMI1; l=https:///logo.svg", "no host"),
        ("v=BIMI1; l=https://example.com/a b.svg", "space"),
        (
            "v=BIMI1; l=https://example.com/l.svg; a=http://example.com/v.pem",
            "a=http",
        ),
        (
            "v=BIMI1; l=https://example.com/l.svg; l=https://example.com/m.svg",
            "more than once",
        ),
        ("v=BIMI1;; l=https://example.com/l.svg", "empty field"),
        ("v=BIMI1; l=https://example.com/l.svg; junk", "tag=value"),
        ("v=BIMI1; l=https://example.com/l.svg; 1x=2", "tag name"),
        ("v=BIMI1; l=https://exämple.com/l.svg", "byte"),
        (";v=BIMI1; l=https://example.com/l.svg", "empty field"),
    ] {
        let e = parse(text).expect_err(text);
        assert!(e.0.contains(needle), "{text}: {e}");
    }
}

#[test]
fn candidates_are_records_meant_for_bimi() {
    assert!(is_candidate(GOOD));
    assert!(is_candidate("V = bimi1; l="));
    assert!(is_candidate("l=https://example.com/logo.svg; v=BIMI1"));
    assert!(!is_candidate("v=spf1 -all"));
    assert!(!is_candidate("v=BIMI2; l="));
}
