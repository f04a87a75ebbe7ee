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
use mailvet::domain::{AuditContext, AuditOptions};
use mailvet::findings::Checked;
use mailvet::records::name::DomainName;
use std::path::Path;
use std::sync::Arc;

use support::audit_cases::{Case, Rules, run_cases};
use support::{FaultKind, FaultTypes, TestDns};

const ZONE: &str = "fixtures/audit/dnssec.zone";
const CASES: &str = "fixtures/audit/dnssec.cases.json";

async fn server() -> TestDns {
    TestDns::start(&[Path::new(ZONE)]).await
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<DnssecSection> {
    let run = support::AuditRun::new(dns.resolver(), domain);
    dnssec::check(&run.cx()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_codes() {
    let server = server().await;
    let dns = server.layer();
    run_cases(
        &server,
        CASES,
        Rules::STRICT,
        async |case: &Case, errors: &mut Vec<String>| {
            let checked = audit(&dns, &case.domain).await;
            let section = &checked.section;
            // A plain server sets no AD bit anywhere: it cannot tell.
            if case.faults.is_empty()
                && (!checked.findings.is_empty()
                    || section.status != DnssecStatus::Unknown
                    || section.resolver_validates != Some(false))
            {
                errors.push(format!("no validating server, yet {section:?}"));
            }
            for f in &checked.findings {
                if !f.detail.contains(&case.domain) {
                    errors.push(format!(
                        "{} detail does not name the domain: {}",
                        f.code, f.detail
                    ));
                }
            }
            if section.explanation.is_empty() {
                errors.push("no explanation".to_string());
            }
            checked.findings
        },
    )
    .await;
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
    run_cases(
        &server,
        CASES,
        Rules::STRICT,
        async |case: &Case, errors: &mut Vec<String>| {
            let (_, status, words) = want
                .iter()
                .find(|(d, ..)| *d == case.domain)
                .expect("a case per status");
            let checked = audit(&dns, &case.domain).await;
            let section = &checked.section;
            if section.status != *status {
                errors.push(format!("status {:?}, not {status:?}", section.status));
            }
            if !section.explanation.contains(words) {
                errors.push(format!(
                    "explanation lacks {words:?}: {}",
                    section.explanation
                ));
            }
            let json = serde_json::to_value(section).unwrap();
            if json["status"] != serde_json::to_value(status).unwrap() {
                errors.push(format!("status as JSON: {}", json["status"]));
            }
            checked.findings
        },
    )
    .await;
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
