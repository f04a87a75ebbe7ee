//! Tests of the MTA-STS record and policy grammars, beside the RFC 8461
//! rule each proves.

use super::*;

#[test]
fn parses_valid_records() {
    let r = parse_record("v=STSv1; id=20160831085700Z").unwrap();
    assert_eq!(r.id, "20160831085700Z");
    assert!(r.extensions.is_empty());
    for ok in [
        "v=STSv1;id=1",
        "v=STSv1; id=1;",
        "v=STSv1 ;\tid=1 ; ",
        "v=STSv1; id=abcdefghijklmnopqrstuvwxyz012345",
    ] {
        assert!(parse_record(ok).is_ok(), "{ok:?} refused");
    }
    let ext = parse_record("v=STSv1; id=7; x-note=hello").unwrap();
    assert_eq!(
        ext.extensions,
        vec![Extension {
            name: "x-note".into(),
            value: "hello".into()
        }]
    );
    // Of repeated ids the first counts.
    assert_eq!(parse_record("v=STSv1; id=a1; id=b2").unwrap().id, "a1");
}

#[test]
fn refuses_each_malformed_record() {
    use RecordError::*;
    let cases: &[(&str, RecordError)] = &[
        ("id=1; v=STSv1", BadVersion("id=1".into())),
        ("V=STSv1; id=1", BadVersion("V=STSv1".into())),
        ("v=STSv10; id=1", BadVersion("v=STSv10".into())),
        (" v=STSv1; id=1", BadVersion("v=STSv1".into())),
        ("v=STSv1", MissingId(String::new())),
        ("v=STSv1;", MissingId(String::new())),
        (
            "v=STSv1; ID=1",
            MissingId(" (`ID` is not `id`: field names are case-sensitive)".into()),
        ),
        ("v=STSv1; id=", BadId(String::new())),
        ("v=STSv1; id=2024-01-01", BadId("2024-01-01".into())),
        (
            "v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456",
            BadId("abcdefghijklmnopqrstuvwxyz0123456".into()),
        ),
        ("v=STSv1; id=1 2", BadId("1 2".into())),
        ("v=STSv1 id=1", BadVersion("v=STSv1 id=1".into())),
        ("v=STSv1; id = 1", BadField("id = 1".into())),
        ("v=STSv1; id=1; junk", BadField("junk".into())),
        ("v=STSv1; id=1; x=", BadField("x=".into())),
        ("v=STSv1; id=1; _x=1", BadField("_x=1".into())),
        ("v=STSv1; id=1; x=a=b", BadField("x=a=b".into())),
        ("v=STSv1;; id=1", EmptyField),
    ];
    for (text, want) in cases {
        assert_eq!(parse_record(text).as_ref(), Err(want), "{text:?}");
    }
}

#[test]
fn recognizes_records_meant_as_mta_sts() {
    assert!(is_sts_record("v=STSv1; id=1"));
    assert!(is_sts_record("v=STSv1x"));
    assert!(is_sts_record("id=1; v=STSv1"));
    assert!(is_sts_record("V = stsv1; id=1"));
    assert!(!is_sts_record("google-site-verification=abc"));
    assert!(!is_sts_record("v=spf1 -all"));
    assert!(!is_sts_record("v=TLSRPTv1; rua=mailto:a@example.com"));
}

pub(crate) const GOOD: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n";

#[test]
fn parses_a_valid_policy_with_crlf_or_lf() {
    let p = parse_policy(GOOD.as_bytes()).unwrap();
    assert_eq!(p.version, "STSv1");
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.max_age, 604800);
    assert_eq!(p.mx, vec!["mail.example.com", "*.example.net"]);
    let lf = GOOD.replace("\r\n", "\n");
    assert_eq!(parse_policy(lf.as_bytes()).unwrap(), p);
    // No final line break, fields in another order, no space after ':'.
    let other = "mode:enforce\nmax_age:0\nmx:mail.example.com\nversion:STSv1";
    let q = parse_policy(other.as_bytes()).unwrap();
    assert_eq!((q.mode, q.max_age), (Mode::Enforce, 0));
}

#[test]
fn ignores_unknown_fields_and_repeats() {
    let text = "version: STSv1\nmode: testing\nmode: bogus\nmx: a.example.com\n\
                max_age: 86400\nmax_age: 1\nx-comment: hé, hello = there; ok\n\n";
    let p = parse_policy(text.as_bytes()).unwrap();
    assert_eq!((p.mode, p.max_age), (Mode::Testing, 86400));
    assert_eq!(p.extensions.len(), 1);
    assert_eq!(p.extensions[0].value, "hé, hello = there; ok");
}

#[test]
fn mode_none_needs_no_mx() {
    let p = parse_policy(b"version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
    assert_eq!(p.mode, Mode::None);
    assert!(p.mx.is_empty());
    assert_eq!(
        parse_policy(b"version: STSv1\nmode: enforce\nmax_age: 86400\n"),
        Err(PolicyError::NoMx)
    );
    assert_eq!(
        parse_policy(b"version: STSv1\nmode: testing\nmax_age: 86400\n"),
        Err(PolicyError::NoMx)
    );
}

#[test]
fn refuses_each_malformed_policy() {
    let with = |line: &str, replace: &str| GOOD.replace(line, replace);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"version: STSv1\n\xff\n".to_vec(), "not UTF-8"),
        (with("mode: enforce", "mode enforce").into_bytes(), "line 2"),
        (
            with("mode: enforce", "mode : enforce").into_bytes(),
            "no space",
        ),
        (format!("\u{feff}{GOOD}").into_bytes(), "byte-order mark"),
        (with("STSv1", "STSv2").into_bytes(), "`version: STSv2`"),
        (with("STSv1", "stsv1").into_bytes(), "`version: stsv1`"),
        (with("enforce", "Enforce").into_bytes(), "`mode: Enforce`"),
        (with("enforce", "report").into_bytes(), "`mode: report`"),
        (
            with("604800", "31557601").into_bytes(),
            "`max_age: 31557601`",
        ),
        (with("604800", "-1").into_bytes(), "`max_age: -1`"),
        (with("604800", "1w").into_bytes(), "`max_age: 1w`"),
        (
            with("604800", "00000000001").into_bytes(),
            "`max_age: 00000000001`",
        ),
        (with("604800", "").into_bytes(), "`max_age: `"),
        (
            with("mail.example.com", "mail.example.com.").into_bytes(),
            "`mx: mail.example.com.`",
        ),
        (
            with("*.example.net", "*example.net").into_bytes(),
            "`mx: *example.net`",
        ),
        (
            with("*.example.net", "mx.*.example.net").into_bytes(),
            "`mx: mx.*.example.net`",
        ),
        (
            with("*.example.net", "*.*.example.net").into_bytes(),
            "`mx: *.*.example.net`",
        ),
        (
            with("*.example.net", "-bad.example.net").into_bytes(),
            "`mx: -bad.example.net`",
        ),
        (with("*.example.net", "").into_bytes(), "`mx: `"),
        (
            with("*.example.net", "b\u{fc}cher.example").into_bytes(),
            "b\u{fc}cher",
        ),
        (
            with("version: STSv1", "").into_bytes(),
            "`version` field is missing",
        ),
        (
            with("version: STSv1", "Version: STSv1").into_bytes(),
            "`Version` is not `version`",
        ),
        (
            with("mode: enforce", "").into_bytes(),
            "`mode` field is missing",
        ),
        (
            with("max_age: 604800", "").into_bytes(),
            "`max_age` field is missing",
        ),
        (with("max_age: 604800", "x-empty:").into_bytes(), "empty"),
    ];
    for (body, want) in cases {
        let error = parse_policy(&body).expect_err(&String::from_utf8_lossy(&body));
        assert!(
            error.to_string().contains(want),
            "{:?}: {error} lacks {want:?}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[test]
fn mx_patterns() {
    for ok in [
        "mail.example.com",
        "*.example.net",
        "MX1.Example.COM",
        "localhost",
        "a-b.c0",
    ] {
        assert!(is_mx_pattern(ok), "{ok}");
    }
    for bad in [
        "",
        "*.",
        "*",
        ".example.com",
        "a..b",
        "a_b.example",
        "a-.example",
        "*.a.*",
    ] {
        assert!(!is_mx_pattern(bad), "{bad}");
    }
}

#[test]
fn wildcards_match_exactly_one_leftmost_label() {
    assert!(mx_matches("mail.example.com", "mail.example.com"));
    assert!(mx_matches("mail.example.com", "MAIL.Example.com."));
    assert!(!mx_matches("mail.example.com", "mail2.example.com"));
    assert!(mx_matches("*.example.com", "mx1.example.com"));
    assert!(mx_matches("*.Example.com", "mx1.example.COM."));
    assert!(!mx_matches("*.example.com", "example.com"));
    assert!(!mx_matches("*.example.com", "a.b.example.com"));
    assert!(!mx_matches("*.example.com", ".example.com"));
    assert!(!mx_matches("*.example.com", "mx1.example.net"));
}

// --- coverage (§4.1) ------------------------------------------------------
