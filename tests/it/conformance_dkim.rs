//! DKIM conformance: the 13 vectors (18 signatures) of
//! `fixtures/conformance/dkim/vectors`, each verified through a real DNS
//! server on loopback serving the vector's zone, mail-auth's lookups going
//! through mailvet's resolver layer and bridge, at the vector's own time
//! (`verify_time`). A signature passes when its result is the expected
//! one; signatures allowed to differ are listed in
//! `fixtures/conformance/dkim/allowlist.txt` as `<vector>#<index>` with the
//! RFC section that justifies it.
//!
//! The other tests here use the vectors to pin the module's rules: the
//! clock, failures in DNS, unparsable headers and the outputs for DMARC.

use crate::support;

use mail_auth::crypto::Ed25519Key;
use mail_auth::headers::HeaderWriter;
use mailvet::message::Clock;
use mailvet::message::dkim::{self, DkimProblem, DkimResult, DkimSection};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use support::{FaultKind, FaultTypes, TestDns};

const VECTORS: &str = "fixtures/conformance/dkim/vectors";
const ALLOWLIST: &str = "fixtures/conformance/dkim/allowlist.txt";

fn vector(id: &str) -> (PathBuf, Vec<u8>, Value) {
    let dir = PathBuf::from(VECTORS).join(id);
    let raw = std::fs::read(dir.join("message.eml")).expect("message");
    let expected = support::read_json(&dir.join("expected.json"));
    (dir, raw, expected)
}

fn verify_time(expected: &Value) -> u64 {
    expected["verify_time"].as_u64().expect("verify_time")
}

fn codes(findings: &[mailvet::findings::Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_vectors() {
    let allow = support::allowlist(ALLOWLIST);
    let index = support::read_json(&PathBuf::from(VECTORS).join("index.json"));
    let mut passed = 0;
    let mut total = 0;
    let mut failures = Vec::new();
    let mut allowed_failures = BTreeSet::new();
    let mut cases = BTreeSet::new();
    for entry in index.as_array().expect("index") {
        let id = entry["id"].as_str().expect("id");
        let (dir, raw, expected) = vector(id);
        let server = TestDns::start(&[&dir.join("dns.zone")]).await;
        let request = server.mail_auth_session().await;
        let cx = request.context(&raw, Clock::at(verify_time(&expected)));
        let checked = dkim::verify(&cx).await;
        let wanted = expected["signatures"].as_array().expect("signatures");
        assert_eq!(
            checked.section.signatures.len(),
            wanted.len(),
            "{id}: one entry per DKIM-Signature header"
        );
        for (got, want) in checked.section.signatures.iter().zip(wanted) {
            total += 1;
            let case = format!("{id}#{}", want["index"]);
            cases.insert(case.clone());
            let same_signature = got.domain.as_deref() == want["d"].as_str()
                && got.selector.as_deref() == want["s"].as_str()
                && got.algorithm.as_deref() == want["a"].as_str();
            let ok = same_signature && got.result.as_str() == want["expected"];
            match (ok, allow.contains_key(&case)) {
                (true, false) => passed += 1,
                (true, true) => failures.push(format!(
                    "{case} passes but is allowlisted: remove it from {ALLOWLIST}"
                )),
                (false, true) => {
                    allowed_failures.insert(case);
                }
                (false, false) => failures.push(format!(
                    "{case}: expected {} for d={} s={} a={}, got {} for d={:?} s={:?} a={:?} ({:?})",
                    want["expected"],
                    want["d"],
                    want["s"],
                    want["a"],
                    got.result.as_str(),
                    got.domain,
                    got.selector,
                    got.algorithm,
                    got.reason
                )),
            }
        }
    }
    let unknown: Vec<&String> = allow.keys().filter(|k| !cases.contains(*k)).collect();
    writeln!(
        std::io::stderr(),
        "DKIM vectors: {passed}/{total} signatures as expected, {} allowlisted",
        allowed_failures.len()
    )
    .ok();
    assert!(
        unknown.is_empty(),
        "allowlist names unknown cases: {unknown:?}"
    );
    assert_eq!(total, 18, "the suite has 18 signatures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// stalwart-005 carries `x=` one day after `t=`: valid at its time, expired
/// now. mail-auth judges it by the real time; the module judges it by the
/// clock, verifying it itself when mail-auth refused it only for expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_follows_the_clock_not_the_real_time() {
    let (dir, raw, expected) = vector("stalwart-005");
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    let request = server.mail_auth_session().await;

    let then = verify_time(&expected);
    let wire = dkim::wire_form(&raw);
    let message = dkim::parse(&wire).expect("parses");
    let cx = request.context(&raw, Clock::at(then));
    let at_signing = dkim::verify_message(&cx, &message).await;
    let signature = &at_signing.section.signatures[0];
    assert_eq!(signature.result, DkimResult::Pass, "{:?}", signature.reason);
    assert_eq!(signature.expiration, Some(1_667_930_064));
    assert_eq!(signature.key_bits, Some(1024));
    assert!(at_signing.findings.is_empty(), "{:?}", at_signing.findings);
    // The output for DMARC says pass too, with its signature.
    assert_eq!(at_signing.outputs.len(), 1);
    assert_eq!(at_signing.outputs[0].result(), &mail_auth::DkimResult::Pass);
    assert_eq!(
        at_signing.outputs[0].signature().map(|s| s.d.as_str()),
        Some("topicbox.com")
    );

    for clock in [Clock::system(), Clock::at(1_667_930_065)] {
        let cx = request.context(&raw, clock);
        let later = dkim::verify_message(&cx, &message).await;
        let signature = &later.section.signatures[0];
        assert_eq!(signature.result, DkimResult::Policy);
        assert_eq!(signature.problem, Some(DkimProblem::Expired));
        assert_eq!(codes(&later.findings), ["dkim.expired"]);
        assert!(
            !matches!(later.outputs[0].result(), mail_auth::DkimResult::Pass),
            "an expired signature must not count for DMARC"
        );
    }
}

/// A message signed now with `x=` an hour ahead: mail-auth passes it, and
/// at a clock a day later it is expired all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_mail_auth_accepts_is_expired_at_a_later_clock() {
    let pkcs8 = Ed25519Key::generate_pkcs8().expect("key");
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
    let public = support::base64(&key.public_key());
    let body = "From: a@signed.test\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n";
    let signature = mail_auth::dkim::DkimSigner::from_key(key)
        .domain("signed.test")
        .selector("sel")
        .headers(["From", "To", "Subject"])
        .expiration(Duration::from_secs(3600))
        .sign(body.as_bytes())
        .expect("signs");
    let raw = format!("{}{body}", signature.to_header());
    let zone = format!(
        "$ORIGIN signed.test.\n$TTL 300\n@ IN SOA ns h 1 3600 600 86400 300\n\
         sel._domainkey IN TXT \"v=DKIM1; k=ed25519; p={public}\"\n"
    );
    let server = TestDns::start_with_texts(&[&zone]).await;
    let request = server.mail_auth_session().await;

    let now = request.context(raw.as_bytes(), Clock::system());
    let checked = dkim::verify(&now).await;
    assert_eq!(checked.section.signatures[0].result, DkimResult::Pass);
    assert_eq!(checked.section.signatures[0].key_bits, Some(256));
    assert!(checked.findings.is_empty());

    let later = Clock::at(Clock::system().now() + 86_400);
    let checked = dkim::verify(&request.context(raw.as_bytes(), later)).await;
    assert_eq!(checked.section.signatures[0].result, DkimResult::Policy);
    assert_eq!(codes(&checked.findings), ["dkim.expired"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_body_fails_and_says_why() {
    let (dir, raw, expected) = vector("rfc6376-appendix-a-as-printed");
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    let request = server.mail_auth_session().await;
    let wire = dkim::wire_form(&raw);
    let message = dkim::parse(&wire).expect("parses");
    let cx = request.context(&raw, Clock::at(verify_time(&expected)));
    let checked = dkim::verify_message(&cx, &message).await;
    let signature = &checked.section.signatures[0];
    assert_eq!(signature.result, DkimResult::Fail);
    assert_eq!(signature.problem, Some(DkimProblem::BodyHashMismatch));
    assert!(signature.reason.as_deref().unwrap().contains("body hash"));
    assert_eq!(codes(&checked.findings), ["dkim.fail"]);
    assert!(
        checked.findings[0]
            .detail
            .contains("d=example.com (s=brisbane)")
    );
    assert!(checked.findings[0].evidence[0].starts_with("DKIM-Signature: v=1;"));
    assert!(
        checked.findings[0].evidence[1]
            .starts_with("brisbane._domainkey.example.com TXT \"v=DKIM1; p=MIGf"),
        "{:?}",
        checked.findings[0].evidence
    );
    // mail-auth says neutral; the output for DMARC is corrected to fail.
    assert!(matches!(
        checked.outputs[0].result(),
        mail_auth::DkimResult::Fail(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_permerror_and_a_dns_failure_temperror() {
    let (dir, raw, expected) = vector("go-msgauth-rsa");
    let clock = Clock::at(verify_time(&expected));

    // A zone without the key: NXDOMAIN.
    let empty = TestDns::start_with_texts(&[]).await;
    let request_empty = empty.mail_auth_session().await;
    let checked = dkim::verify(&request_empty.context(&raw, clock)).await;
    let signature = &checked.section.signatures[0];
    assert_eq!(signature.result, DkimResult::PermError);
    assert_eq!(signature.problem, Some(DkimProblem::KeyNotFound));
    assert_eq!(codes(&checked.findings), ["dkim.fail"]);
    assert!(
        checked.findings[0]
            .fix
            .contains("brisbane._domainkey.example.com")
    );

    // The key's server fails: never "missing", and no failure finding.
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    server.add_fault(
        "brisbane._domainkey.example.com",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let request_failing = server.mail_auth_session().await;
    let checked = dkim::verify(&request_failing.context(&raw, clock)).await;
    let signature = &checked.section.signatures[0];
    assert_eq!(signature.result, DkimResult::TempError);
    assert_eq!(signature.problem, Some(DkimProblem::DnsError));
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_signature_keeps_its_place_in_header_order() {
    let (dir, raw, expected) = vector("go-msgauth-rsa");
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    let request = server.mail_auth_session().await;
    // A header mail-auth cannot parse (no bh=), above the good one, and one
    // it parses but RFC 6376 forbids (From not signed), below.
    let mut broken =
        b"DKIM-Signature: v=1; a=rsa-sha256; d=broken.example; s=x;\r\n h=from; b=AAAA\r\n"
            .to_vec();
    broken.extend_from_slice(&raw);
    let text = String::from_utf8(broken).unwrap();
    let (head, tail) = text.split_once("\r\n\r\n").unwrap();
    let with_unsigned_from = format!(
        "{head}\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=brisbane;\r\n h=subject; bh=AAAA; b=AAAA\r\n\r\n{tail}"
    );
    let checked = dkim::verify(&request.context(
        with_unsigned_from.as_bytes(),
        Clock::at(verify_time(&expected)),
    ))
    .await;
    let section: &DkimSection = &checked.section;
    let results: Vec<(DkimResult, Option<DkimProblem>)> = section
        .signatures
        .iter()
        .map(|s| (s.result, s.problem))
        .collect();
    assert_eq!(
        results,
        [
            (DkimResult::PermError, Some(DkimProblem::Unparsable)),
            (DkimResult::Pass, None),
            (DkimResult::PermError, Some(DkimProblem::FromNotSigned)),
        ]
    );
    assert_eq!(
        section.signatures[0].domain.as_deref(),
        Some("broken.example")
    );
    assert!(
        section.signatures[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("bh="),
        "{:?}",
        section.signatures[0].reason
    );
    assert_eq!(codes(&checked.findings), ["dkim.fail", "dkim.fail"]);
    assert_eq!(
        section.passing_domains().collect::<Vec<_>>(),
        ["example.com"]
    );
    // The JSON is a list of signatures, each with the contract's fields.
    let json = serde_json::to_value(section).unwrap();
    for field in ["result", "domain", "selector", "algorithm"] {
        assert!(json[0].get(field).is_some(), "{field}");
    }
    assert_eq!(json[1]["result"], "pass");
    assert_eq!(json[0]["result"], "permerror");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_or_empty_message_has_no_signatures_and_dkim_missing() {
    let server = TestDns::start_with_texts(&[]).await;
    let request = server.mail_auth_session().await;
    for raw in [
        &b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"[..],
        b"From: a@example.com\nSubject: x\n\nbody\n",
        b"",
        b"\r\n\r\n",
    ] {
        let checked = dkim::verify(&request.context(raw, Clock::system())).await;
        assert!(checked.section.signatures.is_empty());
        assert_eq!(codes(&checked.findings), ["dkim.missing"]);
    }
}

/// A message pasted with LF line ends verifies like the CRLF original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_lf_line_ends_verifies() {
    let (dir, raw, expected) = vector("rfc8463-appendix-a");
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    let request = server.mail_auth_session().await;
    let lf: Vec<u8> = String::from_utf8(raw)
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    let checked = dkim::verify(&request.context(&lf, Clock::at(verify_time(&expected)))).await;
    let results: Vec<DkimResult> = checked
        .section
        .signatures
        .iter()
        .map(|s| s.result)
        .collect();
    assert_eq!(results, [DkimResult::Pass, DkimResult::Pass]);
}

/// Hostile and mangled messages give results, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_do_not_panic() {
    let (dir, raw, expected) = vector("stalwart-005");
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    let request = server.mail_auth_session().await;
    let clock = Clock::at(verify_time(&expected));
    let mut messages: Vec<Vec<u8>> = [
        &b"DKIM-Signature:\r\n\r\n"[..],
        b"DKIM-Signature: ;;;;\r\nFrom: a@b\r\n\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=.; s=.; h=from; bh=; b=\r\n\r\n",
        b"DKIM-Signature: v=1; a=ed25519-sha256; d=topicbox.com; s=sysmsg-1; h=from; l=99999999999999999999; x=18446744073709551615; t=1; bh=AAAA; b=AAAA\r\nFrom: a@b\r\n\r\nx",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=topicbox.com; s=sysmsg-1; h=from; l=1000; bh=AAAA; b=AAAA\r\nFrom: a@b\r\n\r\nshort",
        b"ARC-Seal: i=99999999999999999999; a=rsa-sha256; b=AA; cv=none; d=x; s=y\r\n\r\n",
        b"ARC-Seal: i=1\r\nARC-Message-Signature: i=1\r\nARC-Authentication-Results: i=1\r\n\r\n",
        b"ARC-Authentication-Results: i=\r\nARC-Seal:\r\n\r\n",
        b"\xff\xfe\x00DKIM-Signature: \xff=\xff\r\n\r\n\xff",
        b"From: a@b",
        b"\r\n",
        b":",
    ]
    .iter()
    .map(|m| m.to_vec())
    .collect();
    // Mangle a signed message byte by byte, deterministically.
    let mut seed: u32 = 0x1234_5678;
    for _ in 0..60 {
        let mut mangled = raw.clone();
        for _ in 0..4 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let at = (seed as usize) % mangled.len();
            mangled[at] = (seed >> 24) as u8;
        }
        messages.push(mangled);
    }
    let arc_cases = support::read_json(&PathBuf::from(
        "fixtures/conformance/arc/validation-cases.json",
    ));
    for case in arc_cases.as_array().unwrap().iter().take(40) {
        let mut m = case["message"].as_str().unwrap().as_bytes().to_vec();
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        if !m.is_empty() {
            let at = (seed as usize) % m.len();
            m.truncate(at);
        }
        messages.push(m);
    }
    for message in &messages {
        let cx = request.context(message, clock);
        let _ = dkim::verify(&cx).await;
        let _ = mailvet::message::arc::verify(&cx).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_hash_that_is_not_base64_is_named() {
    let (dir, raw, expected) = vector("go-msgauth-rsa");
    let server = TestDns::start(&[&dir.join("dns.zone")]).await;
    let request = server.mail_auth_session().await;
    // Every required tag is there; bh= holds one character, no base64.
    let mut message =
        b"DKIM-Signature: v=1; a=rsa-sha256; d=broken.example; s=x;\r\n h=from; bh=x; b=AAAA\r\n"
            .to_vec();
    message.extend_from_slice(&raw);
    let checked = dkim::verify(&request.context(&message, Clock::at(verify_time(&expected)))).await;
    let signature = &checked.section.signatures[0];
    assert_eq!(signature.problem, Some(DkimProblem::Unparsable));
    let reason = signature.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("unparsable: bh= is not valid base64: "),
        "{reason}"
    );
    assert!(!reason.contains("missing"), "{reason}");
}
