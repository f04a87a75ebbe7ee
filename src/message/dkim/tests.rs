//! Unit tests of the DKIM check: canonicalization, the verifier against
//! the conformance vectors, and the verdicts on parsed signatures.

use super::findings::*;
use super::judge::*;
use super::signatures::*;
use super::verify::*;
use super::*;
use crate::records::dkim_key::{KeyRecord, decode_base64, read_key_record};
use mail_auth::crypto::{Algorithm, CryptoError, HashAlgorithm};
use mail_auth::dkim::{Canonicalization, DkimError, Signature};
use mail_auth::{DkimOutput, DnsError as AuthDnsError, Error as AuthError};
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/dkim/vectors")
}

#[test]
fn wire_form_turns_bare_lf_into_crlf_and_borrows_crlf_input() {
    assert_eq!(
        &*wire_form(b"a: b\nc: d\r\n\nbody\n"),
        b"a: b\r\nc: d\r\n\r\nbody\r\n"
    );
    assert!(matches!(wire_form(b"a: b\r\n\r\nx\r\n"), Cow::Borrowed(_)));
    assert!(matches!(wire_form(b""), Cow::Borrowed(_)));
}

#[test]
fn body_canonicalization_follows_rfc6376_section_3_4_5() {
    // The example of RFC 6376 §3.4.5.
    let body = b" C \r\nD \t E\r\n\r\n\r\n";
    assert_eq!(
        canonical_body(body, Canonicalization::Relaxed),
        b" C\r\nD E\r\n"
    );
    assert_eq!(
        canonical_body(body, Canonicalization::Simple),
        b" C \r\nD \t E\r\n"
    );
    // Empty bodies: CRLF under simple, nothing under relaxed (§3.4.3, §3.4.4).
    assert_eq!(canonical_body(b"", Canonicalization::Simple), b"\r\n");
    assert_eq!(
        canonical_body(b"\r\n\r\n", Canonicalization::Simple),
        b"\r\n"
    );
    assert_eq!(canonical_body(b"", Canonicalization::Relaxed), b"");
    assert_eq!(canonical_body(b"x", Canonicalization::Relaxed), b"x\r\n");
    assert_eq!(canonical_body(b"x", Canonicalization::Simple), b"x\r\n");
}

#[test]
fn header_canonicalization_follows_rfc6376_section_3_4_5() {
    let mut out = Vec::new();
    canonical_header(b"A", b" X\r\n", Canonicalization::Relaxed, &mut out);
    canonical_header(
        b"B ",
        b" Y\t\r\n\tZ  \r\n",
        Canonicalization::Relaxed,
        &mut out,
    );
    assert_eq!(out, b"a:X\r\nb:Y Z\r\n");
    let mut out = Vec::new();
    canonical_header(
        b"B ",
        b" Y\t\r\n\tZ  \r\n",
        Canonicalization::Simple,
        &mut out,
    );
    assert_eq!(out, b"B : Y\t\r\n\tZ  \r\n");
}

#[test]
fn only_the_b_value_is_stripped() {
    assert_eq!(
        strip_b_value(b" v=1; bh=abc; b=dGVz\r\n dA==; d=x\r\n"),
        b" v=1; bh=abc; b=; d=x\r\n"
    );
    assert_eq!(strip_b_value(b"a=1; b = xyz\r\n"), b"a=1; b =");
}

#[test]
fn tag_lists_are_read_by_the_rfc6376_grammar() {
    let read = WrittenTags::read(b" a=1; b = two words ;\r\n");
    assert_eq!(read.error, None);
    assert_eq!(read.tags.len(), 2);
    assert_eq!(read.get("b"), Some("two words"));
    let doubled = WrittenTags::read(b"a=1;; b=2");
    assert!(doubled.error.is_some() && !doubled.broken);
    assert!(WrittenTags::read(b"a=1; a=2").broken);
    assert!(WrittenTags::read(b"a=1; b").broken);
    assert!(WrittenTags::read(b"a=1; a=2").error.is_some());
    assert!(WrittenTags::read(b"a=1; _=2").error.is_some());
    assert!(WrittenTags::read(b"a=1; b").error.is_some());
    assert_eq!(
        WrittenTags::read(b"a=1; =2").error.as_deref(),
        Some("`=2` has no tag name")
    );
    // Names are case-sensitive: S= is another tag than s=.
    let read = WrittenTags::read(b"s=1; S=2");
    assert_eq!((read.tags.len(), read.error), (2, None));
}

#[test]
fn times_and_durations_read_well() {
    assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(format_time(1_667_843_664), "2022-11-07 17:54:24 UTC");
    assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(format_duration(90_061), "1 day(s) 1 hour(s)");
    assert_eq!(format_duration(59), "0 minute(s) 59 second(s)");
}

#[test]
fn display_header_unfolds_and_shortens_b() {
    let shown = display_header(
        b"DKIM-Signature",
        b" v=1; d=example.com;\r\n b=AAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
    );
    assert_eq!(shown, "DKIM-Signature: v=1; d=example.com; b=AAAAAAAAAAAA…");
}

/// The key records of a vector, by owner name (lower case, no dot).
fn vector_keys(dir: &std::path::Path) -> Vec<(String, KeyRecord)> {
    let text = std::fs::read_to_string(dir.join("dns.json")).unwrap();
    let dns: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (name, types) in dns.as_object().unwrap() {
        for record in types["TXT"].as_array().into_iter().flatten() {
            let strings: Vec<&str> = record
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            out.push((
                name.trim_end_matches('.').to_ascii_lowercase(),
                read_key_record(&strings.concat()),
            ));
        }
    }
    out
}

/// Our own verifier, offline, on every signature of every vector: it
/// must agree with each vector's expected result (all pass but the
/// RFC 6376 example as printed, whose body hash does not match).
#[test]
fn own_verifier_agrees_with_every_conformance_vector() {
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let raw = std::fs::read(dir.join("message.eml")).unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let keys = vector_keys(&dir);
        let wire = wire_form(&raw);
        let message = parse(&wire).unwrap();
        let signatures = message.dkim_signatures();
        let wanted = expected["signatures"].as_array().unwrap();
        assert_eq!(signatures.len(), wanted.len(), "{}", dir.display());
        for (header, want) in signatures.iter().zip(wanted) {
            let s = &header.header;
            let owner = format!("{}._domainkey.{}", s.s, s.d).to_ascii_lowercase();
            let key = &keys.iter().find(|(n, _)| *n == owner).unwrap().1;
            let body_ok =
                body_hash(message.raw_body(), s.cb, s.l, HashAlgorithm::from(s.a)) == s.bh;
            let data = header_hash_input(message.headers(), &s.h, header.name, header.value, s.ch);
            let sig_ok = verify_with_key(key, s.a, &data, &s.b).is_ok();
            let ours = if body_ok && sig_ok { "pass" } else { "fail" };
            assert_eq!(
                ours,
                want["expected"].as_str().unwrap(),
                "{} signature {} (body {body_ok}, signature {sig_ok})",
                dir.display(),
                want["index"]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

#[test]
fn a_tampered_signature_or_wrong_key_is_refused() {
    let dir = vectors_dir().join("rfc8463-appendix-a");
    let raw = std::fs::read(dir.join("message.eml")).unwrap();
    let keys = vector_keys(&dir);
    let wire = wire_form(&raw);
    let message = parse(&wire).unwrap();
    for header in message.dkim_signatures() {
        let s = &header.header;
        let owner = format!("{}._domainkey.{}", s.s, s.d);
        let key = &keys.iter().find(|(n, _)| *n == owner).unwrap().1;
        let other = &keys.iter().find(|(n, _)| *n != owner).unwrap().1;
        let data = header_hash_input(message.headers(), &s.h, header.name, header.value, s.ch);
        assert_eq!(verify_with_key(key, s.a, &data, &s.b), Ok(()));
        let mut tampered = data.clone();
        tampered.push(b'x');
        assert_eq!(
            verify_with_key(key, s.a, &tampered, &s.b),
            Err(Broken::Signature)
        );
        assert!(matches!(
            verify_with_key(other, s.a, &data, &s.b),
            Err(Broken::KeyUnusable(_))
        ));
    }
}

#[test]
fn rsa_keys_are_taken_apart_in_both_layouts() {
    // The same 1024-bit key as SubjectPublicKeyInfo and as RSAPublicKey.
    let spki = decode_base64(
        "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
    )
    .unwrap();
    let form = rsa_dnskey_form(&spki).unwrap();
    assert_eq!(&form[..4], &[3, 1, 0, 1]);
    assert_eq!(form.len(), 4 + 128);
    assert_eq!(rsa_dnskey_form(b"\x30\x03\x02\x01"), None);
    assert_eq!(rsa_dnskey_form(b""), None);
}

fn signature(a: Algorithm) -> Signature {
    Signature {
        v: 1,
        a,
        d: "example.com".into(),
        s: "sel".into(),
        h: vec!["from".into(), "subject".into()],
        b: vec![1],
        bh: vec![2],
        ..Signature::default()
    }
}

fn header(tags: &[u8]) -> SignatureHeader<'_> {
    SignatureHeader {
        name: b"DKIM-Signature",
        value: tags,
        tags: WrittenTags::read(tags),
        parsed: Parsed::Failed(AuthError::Parse),
    }
}

fn judged(
    signature: &Signature,
    tags: &[u8],
    result: mail_auth::DkimResult,
    now: u64,
) -> (DkimSignature, mail_auth::DkimResult, Option<Finding>) {
    let header = header(tags);
    let output = DkimOutput::from(result).with_signature(signature);
    let (report, output) = judge(Judged {
        header: &header,
        signature,
        output: Some(output),
        key: None,
        now,
        headers: &[],
        body: b"",
    });
    let finding = finding_for(&report, &header, None);
    (report, output.result().clone(), finding)
}

const TAGS: &[u8] =
    b" v=1; a=rsa-sha256; d=example.com; s=sel; h=from:subject; bh=Ag==; b=AQ==\r\n";

#[test]
fn rsa_sha1_that_verifies_is_policy_and_does_not_count() {
    let sha1 = signature(Algorithm::RsaSha1);
    let (report, output, finding) = judged(&sha1, TAGS, mail_auth::DkimResult::Pass, 1_000);
    assert_eq!(report.result, DkimResult::Policy);
    assert_eq!(report.problem, Some(DkimProblem::Sha1));
    assert!(matches!(output, mail_auth::DkimResult::Neutral(_)));
    assert_eq!(finding.map(|f| f.code), Some("dkim.sha1"));

    // One that does not verify is a failure, and says it is rsa-sha1.
    let failed = mail_auth::DkimResult::Fail(AuthError::Crypto(CryptoError::FailedVerification));
    let (report, _, finding) = judged(&sha1, TAGS, failed, 1_000);
    assert_eq!(report.result, DkimResult::Fail);
    assert!(report.reason.unwrap().contains("rsa-sha1"));
    assert_eq!(finding.map(|f| f.code), Some("dkim.fail"));
}

#[test]
fn mail_auth_results_become_rfc8601_words() {
    let sha256 = signature(Algorithm::RsaSha256);
    let cases = [
        (mail_auth::DkimResult::Pass, DkimResult::Pass, None, None),
        (
            mail_auth::DkimResult::Neutral(AuthError::Dkim(DkimError::BodyHashMismatch)),
            DkimResult::Fail,
            Some(DkimProblem::BodyHashMismatch),
            Some("dkim.fail"),
        ),
        (
            mail_auth::DkimResult::Fail(AuthError::Crypto(CryptoError::FailedVerification)),
            DkimResult::Fail,
            Some(DkimProblem::BadSignature),
            Some("dkim.fail"),
        ),
        (
            mail_auth::DkimResult::PermError(AuthError::Dns(AuthDnsError::RecordNotFound(
                hickory_proto::op::ResponseCode::NXDomain,
            ))),
            DkimResult::PermError,
            Some(DkimProblem::KeyNotFound),
            Some("dkim.fail"),
        ),
        (
            mail_auth::DkimResult::PermError(AuthError::Dkim(DkimError::PublicKeyRevoked)),
            DkimResult::PermError,
            Some(DkimProblem::KeyRevoked),
            Some("dkim.fail"),
        ),
        (
            mail_auth::DkimResult::Fail(AuthError::Dkim(DkimError::AuidMismatch)),
            DkimResult::Fail,
            Some(DkimProblem::IdentityMismatch),
            Some("dkim.fail"),
        ),
        (
            mail_auth::DkimResult::TempError(AuthError::Dns(AuthDnsError::Resolver(
                "timeout".into(),
            ))),
            DkimResult::TempError,
            Some(DkimProblem::DnsError),
            None,
        ),
    ];
    for (from, result, problem, code) in cases {
        let (report, output, finding) = judged(&sha256, TAGS, from.clone(), 1_000);
        assert_eq!(
            (report.result, report.problem),
            (result, problem),
            "{from:?}"
        );
        assert_eq!(finding.map(|f| f.code), code, "{from:?}");
        // The output for DMARC passes exactly when the section does.
        assert_eq!(
            output == mail_auth::DkimResult::Pass,
            result == DkimResult::Pass,
            "{from:?}"
        );
    }
}

#[test]
fn expiry_is_judged_at_the_clock_whatever_mail_auth_said() {
    let mut expiring = signature(Algorithm::RsaSha256);
    expiring.t = 100;
    expiring.x = 200;
    let (report, output, finding) = judged(&expiring, TAGS, mail_auth::DkimResult::Pass, 201);
    assert_eq!(report.result, DkimResult::Policy);
    assert_eq!(report.problem, Some(DkimProblem::Expired));
    assert!(report.reason.unwrap().contains("1970-01-01 00:03:20 UTC"));
    assert!(matches!(output, mail_auth::DkimResult::Neutral(_)));
    assert_eq!(finding.map(|f| f.code), Some("dkim.expired"));
    let (report, _, _) = judged(&expiring, TAGS, mail_auth::DkimResult::Pass, 200);
    assert_eq!(report.result, DkimResult::Pass);
}

#[test]
fn rules_mail_auth_skips_are_permerror() {
    let good = signature(Algorithm::RsaSha256);
    let pass = mail_auth::DkimResult::Pass;
    // v= and a= are required (RFC 6376 §3.5).
    let (report, ..) = judged(&good, b" a=rsa-sha256; d=example.com", pass.clone(), 1);
    assert_eq!(report.problem, Some(DkimProblem::Unparsable));
    let (report, ..) = judged(&good, b" v=1; d=example.com", pass.clone(), 1);
    assert_eq!(report.problem, Some(DkimProblem::Unparsable));
    // From must be signed (§6.1.1).
    let mut unsigned_from = good.clone();
    unsigned_from.h = vec!["subject".into()];
    let (report, ..) = judged(&unsigned_from, TAGS, pass.clone(), 1);
    assert_eq!(
        (report.result, report.problem),
        (DkimResult::PermError, Some(DkimProblem::FromNotSigned))
    );
    // x= must be after t= (§3.5).
    let mut backwards = good.clone();
    backwards.t = 300;
    backwards.x = 200;
    let (report, ..) = judged(&backwards, TAGS, pass.clone(), 1);
    assert_eq!(report.problem, Some(DkimProblem::Unparsable));
    // i= must be d= or below it (§6.1.1).
    let mut elsewhere = good.clone();
    elsewhere.i = "joe@example.org".into();
    let (report, ..) = judged(&elsewhere, TAGS, pass.clone(), 1);
    assert_eq!(report.problem, Some(DkimProblem::IdentityMismatch));
    let mut below = good;
    below.i = "joe@mail.example.com".into();
    let (report, ..) = judged(&below, TAGS, pass, 1);
    assert_eq!(report.result, DkimResult::Pass);
}

/// The report's fields come from the signature, and the JSON carries
/// the contract's names.
#[test]
fn the_report_describes_the_signature() {
    let mut s = signature(Algorithm::Ed25519Sha256);
    s.ch = Canonicalization::Relaxed;
    s.cb = Canonicalization::Simple;
    s.l = 10;
    s.t = 5;
    let tags = b" v=1; a=ed25519-sha256; c=relaxed; d=Example.com; s=sel; h=from:subject; l=10; t=5; bh=Ag==; b=AQ==";
    let (report, ..) = judged(&s, tags, mail_auth::DkimResult::Pass, 1);
    assert_eq!(report.domain.as_deref(), Some("example.com"));
    assert_eq!(report.algorithm.as_deref(), Some("ed25519-sha256"));
    assert_eq!(report.canonicalization.as_deref(), Some("relaxed/simple"));
    assert_eq!(report.signed_headers, ["from", "subject"]);
    assert_eq!(
        (report.body_length, report.timestamp, report.expiration),
        (Some(10), Some(5), None)
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["result"], "pass");
    assert!(json.get("aligned_with").is_none());
}

#[allow(dead_code)]
fn futures_are_send(cx: &MessageContext<'_>) {
    fn send<T: Send>(_: T) {}
    send(verify(cx));
    send(super::super::arc::verify(cx));
}

#[test]
fn identity_must_be_the_signing_domain_or_below() {
    assert!(identity_within("@example.com", "example.com"));
    assert!(identity_within("joe@mail.Example.com", "example.com"));
    assert!(!identity_within("joe@badexample.com", "example.com"));
    assert!(!identity_within("joe@example.org", "example.com"));
}
