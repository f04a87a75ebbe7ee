//! The DNSSEC part of the domain audit against a real DNS server on
//! loopback serving fixtures/audit/dnssec.zone, with the faults of
//! dnssec.cases.json making the server act like a validating resolver:
//! every case gives exactly its expected `dnssec.*` codes and status; a
//! server that does not validate, a zone overlay, `--offline` and failed
//! lookups give "unknown" and no finding; the CD question is asked only
//! after a SERVFAIL and is memoized apart from ordinary questions.

use crate::support;

use hickory_proto::rr::{Name, RecordType};
use mailvet::dns::{Dns, Settings, UpstreamChoice, zone};
use mailvet::domain::dnssec::{self, DnssecSection, DnssecStatus};
use mailvet::domain::name::DomainName;
use mailvet::domain::{AuditContext, AuditOptions, Checked};
use mailvet::findings::Severity;
use std::path::Path;
use std::sync::Arc;

use support::{FaultKind, FaultTypes, TestDns};

const ZONE: &str = "fixtures/audit/dnssec.zone";

#[derive(Debug, serde::Deserialize)]
struct Case {
    domain: String,
    expect: Vec<String>,
    #[serde(default)]
    faults: Vec<FaultSpec>,
}

#[derive(Debug, serde::Deserialize)]
struct FaultSpec {
    name: String,
    kind: String,
}

fn cases() -> Vec<Case> {
    support::read_cases("fixtures/audit/dnssec.cases.json")
}

fn apply(server: &TestDns, faults: &[FaultSpec]) {
    server.clear_faults();
    for fault in faults {
        let kind = match fault.kind.as_str() {
            "authentic_data" => FaultKind::AuthenticData,
            "bogus" => FaultKind::Bogus,
            other => panic!("unknown fault kind {other:?} in dnssec.cases.json"),
        };
        server.add_fault(&fault.name, FaultTypes::All, kind);
    }
}

async fn server() -> TestDns {
    TestDns::start(&[Path::new(ZONE)]).await
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<DnssecSection> {
    let run = support::AuditRun::new(dns.resolver(), domain);
    dnssec::check(&run.cx()).await
}

fn codes(checked: &Checked<DnssecSection>) -> Vec<&'static str> {
    let mut codes: Vec<&str> = checked.findings.iter().map(|f| f.code).collect();
    codes.sort_unstable();
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_codes() {
    let server = server().await;
    let dns = server.layer();
    for case in cases() {
        apply(&server, &case.faults);
        let checked = audit(&dns, &case.domain).await;
        let mut expected: Vec<&str> = case.expect.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(codes(&checked), expected, "{}: {:#?}", case.domain, checked);
        if case.expect.is_empty() {
            assert!(
                checked
                    .findings
                    .iter()
                    .all(|f| f.severity == Severity::Info),
                "{}: healthy domain has {:?}",
                case.domain,
                checked.findings
            );
        }
        if case.faults.is_empty() {
            // A plain server sets no AD bit anywhere: it cannot tell.
            assert!(checked.findings.is_empty(), "{}", case.domain);
            assert_eq!(checked.section.status, DnssecStatus::Unknown);
            assert_eq!(checked.section.resolver_validates, Some(false));
        }
        for f in &checked.findings {
            assert!(f.detail.contains(&case.domain), "{}", f.detail);
            assert!(
                !f.evidence.is_empty(),
                "{}: {} has no evidence",
                case.domain,
                f.code
            );
        }
        assert!(!checked.section.explanation.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_status_is_decided_and_explained() {
    let server = server().await;
    let dns = server.layer();
    let want = [
        ("signed.dnssec.test", DnssecStatus::Secure, "set the AD bit"),
        (
            "unsigned.dnssec.test",
            DnssecStatus::Insecure,
            "did not set",
        ),
        (
            "bogus.dnssec.test",
            DnssecStatus::Bogus,
            "checking disabled",
        ),
        (
            "plain.dnssec.test",
            DnssecStatus::Unknown,
            "does not validate",
        ),
    ];
    for case in cases() {
        let (_, status, words) = want
            .iter()
            .find(|(d, ..)| *d == case.domain)
            .expect("a case per status");
        apply(&server, &case.faults);
        let checked = audit(&dns, &case.domain).await;
        assert_eq!(checked.section.status, *status, "{}", case.domain);
        assert!(
            checked.section.explanation.contains(words),
            "{}: {}",
            case.domain,
            checked.section.explanation
        );
        let json = serde_json::to_value(&checked.section).unwrap();
        assert_eq!(json["status"], serde_json::to_value(status).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cd_question_follows_only_a_servfail_and_is_traced() {
    let server = server().await;
    let dns = server.layer();
    server.add_fault(".", FaultTypes::All, FaultKind::AuthenticData);
    server.add_fault("bogus.dnssec.test", FaultTypes::All, FaultKind::Bogus);
    server.clear_log();
    let resolver = dns.resolver();
    let domain = DomainName::parse("bogus.dnssec.test").unwrap();
    let options = AuditOptions::default();
    let cx = AuditContext {
        resolver: &resolver,
        domain: &domain,
        options: &options,
    };
    let checked = dnssec::check(&cx).await;
    assert_eq!(checked.section.status, DnssecStatus::Bogus);
    assert_eq!(server.count("bogus.dnssec.test", RecordType::SOA), 2);
    let rcodes: Vec<String> = resolver
        .trace()
        .into_iter()
        .filter(|t| t.name == "bogus.dnssec.test." && t.rtype == "SOA")
        .map(|t| t.rcode)
        .collect();
    assert_eq!(rcodes, vec!["SERVFAIL", "NOERROR"]);

    // No SERVFAIL, no second question.
    server.clear_log();
    audit(&dns, "unsigned.dnssec.test").await;
    assert_eq!(server.count("unsigned.dnssec.test", RecordType::SOA), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cd_questions_are_memoized_apart_from_ordinary_ones() {
    let server = server().await;
    let dns = server.layer();
    server.add_fault("bogus.dnssec.test", FaultTypes::All, FaultKind::Bogus);
    let resolver = dns.resolver();
    let name = Name::from_ascii("bogus.dnssec.test.").unwrap();
    assert!(resolver.lookup(&name, RecordType::A).await.is_err());
    let first = resolver
        .lookup_checking_disabled(&name, RecordType::A)
        .await
        .unwrap();
    assert!(first.records.is_empty(), "the name has MX only");
    resolver
        .lookup_checking_disabled(&name, RecordType::A)
        .await
        .unwrap();
    assert!(resolver.lookup(&name, RecordType::A).await.is_err());
    assert_eq!(server.count("bogus.dnssec.test", RecordType::A), 2);
    assert_eq!(resolver.trace().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servfail_with_cd_too_is_unknown() {
    let server = server().await;
    let dns = server.layer();
    server.add_fault(".", FaultTypes::All, FaultKind::AuthenticData);
    server.add_fault("bogus.dnssec.test", FaultTypes::All, FaultKind::ServFail);
    let checked = audit(&dns, "bogus.dnssec.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    assert_eq!(checked.section.answers.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_lookups_are_unknown_never_unsigned() {
    let server = server().await;
    let dns = server.layer();
    // The domain times out while the root validates.
    server.add_fault(".", FaultTypes::All, FaultKind::AuthenticData);
    server.add_fault("unsigned.dnssec.test", FaultTypes::All, FaultKind::NoAnswer);
    let checked = audit(&dns, "unsigned.dnssec.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    // The root fails: whether the resolver validates is not known.
    server.clear_faults();
    server.add_fault(".", FaultTypes::All, FaultKind::ServFail);
    let checked = audit(&dns, "unsigned.dnssec.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    assert_eq!(checked.section.resolver_validates, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_overlays_and_offline_cannot_tell() {
    let server = server().await;
    server.add_fault(".", FaultTypes::All, FaultKind::AuthenticData);
    let overlay = zone::Zone::load(Path::new(ZONE)).unwrap();
    let dns = Dns::new(server.settings(), vec![overlay]).unwrap();
    server.clear_log();
    let checked = audit(&dns, "unsigned.dnssec.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    assert!(checked.section.explanation.contains("--zone"));
    assert!(server.queries().is_empty(), "{:?}", server.queries());

    let offline = Dns::new(
        Settings {
            upstream: UpstreamChoice::Offline,
            ..server.settings()
        },
        vec![],
    )
    .unwrap();
    let checked = audit(&offline, "example.com").await;
    assert!(checked.findings.is_empty());
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
}
