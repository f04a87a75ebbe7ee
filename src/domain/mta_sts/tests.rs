use super::*;
use crate::dns::DnsError;
use crate::findings::Finding;
use crate::https::{parse_extra_roots, tls_config};
use crate::records::mta_sts::Mode;
use crate::records::mta_sts::tests::GOOD;
use std::net::IpAddr;
use std::time::Duration;

// --- the TXT record (§3.1) ---------------------------------------------

fn answer(texts: &[&str]) -> Result<TxtAnswer, DnsError> {
    Ok(TxtAnswer {
        nxdomain: false,
        texts: texts.iter().map(|t| t.to_string()).collect(),
    })
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

const NAME: &str = "_mta-sts.example.com";

#[test]
fn one_valid_record_is_valid_without_findings() {
    let (section, findings) = evaluate_record(NAME, answer(&["some other text", "v=STSv1; id=42"]));
    assert_eq!(section.status, RecordStatus::Valid);
    assert_eq!(section.records, vec!["v=STSv1; id=42"]);
    assert_eq!(section.record.unwrap().id, "42");
    assert!(findings.is_empty());
}

#[test]
fn no_record_is_missing() {
    for lookup in [
        answer(&[]),
        answer(&["v=spf1 -all"]),
        Ok(TxtAnswer {
            nxdomain: true,
            texts: vec![],
        }),
    ] {
        let (section, findings) = evaluate_record(NAME, lookup);
        assert_eq!(section.status, RecordStatus::Missing);
        assert_eq!(codes(&findings), vec!["mta_sts.missing"]);
        assert!(findings[0].detail.contains(NAME));
        assert!(findings[0].fix.contains(URL), "{}", findings[0].fix);
    }
}

#[test]
fn a_failed_lookup_is_unknown_and_silent() {
    for error in [DnsError::Timeout, DnsError::ServFail] {
        let (section, findings) = evaluate_record(NAME, Err(error));
        assert_eq!(section.status, RecordStatus::Unknown);
        assert!(section.error.is_some());
        assert!(findings.is_empty());
    }
}

#[test]
fn two_records_are_invalid() {
    let (section, findings) = evaluate_record(NAME, answer(&["v=STSv1; id=1", "v=STSv1; id=2"]));
    assert_eq!(section.status, RecordStatus::Invalid);
    assert_eq!(codes(&findings), vec!["mta_sts.record_invalid"]);
    assert!(findings[0].detail.contains("2 MTA-STS records"));
    assert!(findings[0].fix.contains("keep: v=STSv1; id=1"));
}

#[test]
fn a_malformed_record_is_invalid_with_a_repair() {
    let (section, findings) = evaluate_record(NAME, answer(&["v=STSv1; id=2024-06-01"]));
    assert_eq!(section.status, RecordStatus::Invalid);
    assert_eq!(codes(&findings), vec!["mta_sts.record_invalid"]);
    assert!(findings[0].detail.contains("`id=2024-06-01`"));
    assert!(findings[0].fix.contains("v=STSv1; id=20240601"));
    let (_, not_first) = evaluate_record(NAME, answer(&["id=5; v=STSv1"]));
    assert_eq!(codes(&not_first), vec!["mta_sts.record_invalid"]);
    assert!(
        not_first[0]
            .detail
            .contains("must begin with the field `v=STSv1`")
    );
}

// --- the policy (§3.2) ---------------------------------------------------

fn section_with(policy: &str) -> MtaStsSection {
    let (mut section, _) = evaluate_record(NAME, answer(&["v=STSv1; id=1"]));
    let (report, _) = evaluate_policy(fetched_ok(policy), NAME);
    section.policy = Some(report);
    section
}

fn hosts(list: &[&str]) -> Vec<String> {
    list.iter().map(|h| h.to_string()).collect()
}

#[test]
fn enforce_covering_every_host_gives_nothing() {
    let section = section_with(GOOD);
    let mx = hosts(&["mail.example.com.", "mx7.example.net", "."]);
    assert!(coverage(&section, &mx).is_empty());
}

#[test]
fn enforce_with_an_uncovered_host_gives_one_finding_per_host() {
    let section = section_with(GOOD);
    let mx = hosts(&[
        "mail.example.com",
        "backup.example.org.",
        "a.b.example.net",
        "BACKUP.example.org",
    ]);
    let findings = coverage(&section, &mx);
    assert_eq!(codes(&findings), vec!["mta_sts.mx_not_covered"; 2]);
    assert!(findings[0].detail.contains("backup.example.org"));
    assert!(findings[0].fix.contains("mx: backup.example.org"));
    assert!(findings[0].fix.contains("mx: *.example.org"));
    assert!(findings[1].detail.contains("a.b.example.net"));
    assert!(
        findings[1]
            .evidence
            .contains(&"mx: *.example.net".to_string())
    );
}

#[test]
fn only_an_enforcing_valid_policy_is_checked() {
    let mx = hosts(&["elsewhere.example.org"]);
    let testing = section_with(&GOOD.replace("enforce", "testing"));
    assert!(coverage(&testing, &mx).is_empty());
    let none = section_with("version: STSv1\nmode: none\nmax_age: 1\n");
    assert!(coverage(&none, &mx).is_empty());
    let invalid = section_with("version: STSv1\nmode: enforce\n");
    assert!(coverage(&invalid, &mx).is_empty());
    let (missing, _) = evaluate_record(NAME, answer(&[]));
    assert!(coverage(&missing, &mx).is_empty());
}

// --- the fetch's verdicts (§3.3) -----------------------------------------

const URL: &str = "https://mta-sts.example.com/.well-known/mta-sts.txt";

fn fetched(result: Result<Vec<u8>, FetchError>) -> Fetched {
    Fetched {
        url: URL.into(),
        host: "mta-sts.example.com".into(),
        addresses: vec!["192.0.2.10".parse().unwrap()],
        refused: vec![],
        http_status: None,
        content_type: None,
        location: None,
        result,
    }
}

fn fetched_ok(policy: &str) -> Fetched {
    Fetched {
        http_status: Some(200),
        content_type: Some("text/plain".into()),
        ..fetched(Ok(policy.as_bytes().to_vec()))
    }
}

#[test]
fn judges_status_and_media_type() {
    assert_eq!(judge_response(200, None, Some("text/plain")), Ok(()));
    assert_eq!(
        judge_response(200, None, Some("Text/Plain; charset=utf-8")),
        Ok(())
    );
    assert_eq!(
        judge_response(302, Some("https://elsewhere.example/"), Some("text/plain")),
        Err(FetchError::Redirect {
            status: 302,
            location: Some("https://elsewhere.example/".into())
        })
    );
    assert_eq!(
        judge_response(304, None, None),
        Err(FetchError::Redirect {
            status: 304,
            location: None
        })
    );
    assert_eq!(
        judge_response(404, None, Some("text/plain")),
        Err(FetchError::Status(404))
    );
    assert_eq!(
        judge_response(204, None, Some("text/plain")),
        Err(FetchError::Status(204))
    );
    assert_eq!(
        judge_response(200, None, Some("text/html")),
        Err(FetchError::ContentType(Some("text/html".into())))
    );
    assert_eq!(
        judge_response(200, None, Some("text/plainx")),
        Err(FetchError::ContentType(Some("text/plainx".into())))
    );
    assert_eq!(
        judge_response(200, None, None),
        Err(FetchError::ContentType(None))
    );
}

#[test]
fn screens_addresses_that_are_not_public_unless_allowed() {
    let ips: Vec<IpAddr> = [
        "192.0.2.1",
        "127.0.0.1",
        "10.1.2.3",
        "2001:db8::1",
        "::1",
        "8.8.8.8",
        "2606:4700::1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let (usable, refused) = screen_addresses(&ips, false);
    assert_eq!(usable, vec![ips[5], ips[6]]);
    // Documentation ranges are no server's address: refused too.
    assert_eq!(refused, vec![ips[0], ips[1], ips[2], ips[3], ips[4]]);
    let (usable, refused) = screen_addresses(&ips, true);
    assert_eq!((usable.len(), refused.len()), (7, 0));
}

#[test]
fn a_valid_enforcing_policy_gives_nothing() {
    let (report, findings) = evaluate_policy(fetched_ok(GOOD), NAME);
    assert_eq!(report.status, PolicyStatus::Valid);
    assert_eq!(report.parsed.unwrap().mode, Mode::Enforce);
    assert_eq!(report.text.as_deref(), Some(GOOD));
    assert!(findings.is_empty());
}

#[test]
fn testing_mode_is_reported() {
    let (report, findings) = evaluate_policy(fetched_ok(&GOOD.replace("enforce", "testing")), NAME);
    assert_eq!(report.status, PolicyStatus::Valid);
    assert_eq!(codes(&findings), vec!["mta_sts.testing_mode"]);
}

#[test]
fn a_malformed_policy_is_invalid_with_advice() {
    let (report, findings) = evaluate_policy(
        fetched_ok("version: STSv1\nmode: enforce\nmax_age: 86400\n"),
        NAME,
    );
    assert_eq!(report.status, PolicyStatus::Invalid);
    assert_eq!(codes(&findings), vec!["mta_sts.policy_invalid"]);
    assert!(findings[0].fix.starts_with("Add one `mx:` line"));
    assert!(findings[0].fix.contains(NAME));
    assert!(
        findings[0]
            .evidence
            .iter()
            .any(|e| e.starts_with("policy text:"))
    );
}

#[test]
fn every_fetch_failure_is_unreachable_with_its_reason() {
    let failures = [
        (
            FetchError::PrivateAddress {
                host: "mta-sts.example.com".into(),
                addresses: vec!["127.0.0.1".parse().unwrap()],
            },
            "--allow-private-fetch",
        ),
        (
            FetchError::NoAddress {
                host: "mta-sts.example.com".into(),
                nxdomain: true,
            },
            "no A or AAAA record (the name does not exist)",
        ),
        (
            FetchError::Tls("invalid peer certificate: UnknownIssuer".into()),
            "UnknownIssuer",
        ),
        (
            FetchError::Connect("Connection refused".into()),
            "Connection refused",
        ),
        (FetchError::Timeout(Duration::from_millis(1500)), "1500 ms"),
        (FetchError::Status(404), "HTTP status 404"),
        (
            FetchError::Redirect {
                status: 301,
                location: Some("https://www.example.com/".into()),
            },
            "301 redirecting to https://www.example.com/",
        ),
        (
            FetchError::ContentType(Some("text/html".into())),
            "`text/html`",
        ),
        (FetchError::ContentType(None), "Content-Type is missing"),
        (
            FetchError::TooLarge {
                declared: Some(70000),
                read: 0,
            },
            "Content-Length: 70000",
        ),
        (
            FetchError::TooLarge {
                declared: None,
                read: 65600,
            },
            "stopped reading after 65600 bytes",
        ),
    ];
    for (error, want) in failures {
        let (report, findings) = evaluate_policy(fetched(Err(error.clone())), NAME);
        assert_eq!(report.status, PolicyStatus::Unreachable, "{error}");
        assert_eq!(codes(&findings), vec!["mta_sts.policy_unreachable"]);
        assert!(
            findings[0].detail.contains(want),
            "{} lacks {want:?}",
            findings[0].detail
        );
        assert!(findings[0].detail.contains(URL));
    }
}

#[test]
fn a_failed_host_lookup_or_setup_is_unknown_and_silent() {
    for error in [
        FetchError::Dns {
            host: "mta-sts.example.com".into(),
            error: "no answer before the query timeout".into(),
        },
        FetchError::Setup("bad CA file".into()),
    ] {
        let (report, findings) = evaluate_policy(fetched(Err(error)), NAME);
        assert_eq!(report.status, PolicyStatus::Unknown);
        assert!(report.error.is_some());
        assert!(findings.is_empty());
    }
    let (report, findings) = evaluate_policy(fetched(Err(FetchError::Offline)), NAME);
    assert_eq!(report.status, PolicyStatus::NotFetched);
    assert!(findings.is_empty());
}

#[test]
fn policy_urls() {
    assert_eq!(policy_url("mta-sts.example.com", 443), URL);
    assert_eq!(
        policy_url("mta-sts.example.com", 8443),
        "https://mta-sts.example.com:8443/.well-known/mta-sts.txt"
    );
}

#[test]
fn extra_roots() {
    assert_eq!(parse_extra_roots(b"").unwrap().len(), 0);
    assert_eq!(parse_extra_roots(b" \n").unwrap().len(), 0);
    assert!(parse_extra_roots(b"not a certificate").is_err());
    assert!(tls_config(b"").is_ok());
    assert!(tls_config(b"garbage").is_err());
}
