//! The MX part of the domain audit against a real DNS server on loopback
//! serving fixtures/audit/mx.zone: every case of mx.cases.json gives exactly
//! its expected `mx.*` codes, each host's A and AAAA questions go on the
//! wire at most once, and a failed lookup is never "missing" or
//! "unresolvable".

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::dns::Dns;
use mailvet::domain::mx::{self, HostStatus, MxSection, MxStatus};
use mailvet::findings::Checked;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use support::audit_cases::{Case, Rules, run_cases};
use support::{FaultKind, FaultTypes, TestDns};

async fn server() -> TestDns {
    TestDns::start(&[Path::new("fixtures/audit/mx.zone")]).await
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<MxSection> {
    let run = support::AuditRun::new(dns.resolver(), domain);
    mx::check(&run.cx()).await
}

/// A and AAAA questions the server saw more than once.
fn repeated_address_questions(server: &TestDns) -> Vec<(String, RecordType, usize)> {
    let mut seen: HashMap<(String, RecordType), usize> = HashMap::new();
    for q in server.queries() {
        if q.rtype == RecordType::A || q.rtype == RecordType::AAAA {
            *seen.entry((q.name, q.rtype)).or_default() += 1;
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((name, rtype), n)| (name, rtype, n))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_codes() {
    let server = server().await;
    let dns = server.layer();
    run_cases(
        &server,
        "fixtures/audit/mx.cases.json",
        // Each host with a private address gives its own finding.
        Rules {
            count_repeats: false,
            ..Rules::STRICT
        },
        async |case: &Case, errors: &mut Vec<String>| {
            let checked = audit(&dns, &case.domain).await;
            let repeated = repeated_address_questions(&server);
            if !repeated.is_empty() {
                errors.push(format!("address questions went out twice: {repeated:?}"));
            }
            checked.findings
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_named_twice_is_asked_once_and_listed_once() {
    let server = server().await;
    let checked = audit(&server.layer(), "shared.mx.test").await;
    assert_eq!(checked.section.records.len(), 2);
    assert_eq!(checked.section.host_names(), vec!["mail.shared.mx.test"]);
    assert_eq!(checked.section.hosts[0].preference, 10);
    assert_eq!(server.count("mail.shared.mx.test", RecordType::A), 1);
    assert_eq!(server.count("mail.shared.mx.test", RecordType::AAAA), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_section_lists_hosts_and_addresses() {
    let server = server().await;
    let checked = audit(&server.layer(), "good.mx.test").await;
    let section = &checked.section;
    assert_eq!(section.status, MxStatus::Published);
    assert_eq!(
        section.host_names(),
        vec!["mx1.good.mx.test", "mx2.good.mx.test"]
    );
    let json = serde_json::to_value(section).unwrap();
    assert_eq!(json["hosts"][0]["addresses"][0], "192.0.2.10");
    assert_eq!(json["hosts"][0]["addresses"][1], "2001:db8::10");
    assert_eq!(json["hosts"][1]["status"], "resolves");
    // Nothing is asked for an IP literal or a null MX.
    server.clear_log();
    audit(&server.layer(), "ip.mx.test").await;
    audit(&server.layer(), "null.mx.test").await;
    assert!(
        server.queries().iter().all(|q| q.rtype == RecordType::MX),
        "{:?}",
        server.queries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_mx_lookup_is_unknown_never_missing() {
    let server = server().await;
    let dns = server.layer();
    for (domain, kind) in [
        ("nomx.mx.test", FaultKind::ServFail),
        ("good.mx.test", FaultKind::NoAnswer),
    ] {
        server.add_fault(domain, FaultTypes::Only(vec![RecordType::MX]), kind);
        let checked = audit(&dns, domain).await;
        assert!(
            checked.findings.is_empty(),
            "{domain}: {:?}",
            checked.findings
        );
        assert_eq!(checked.section.status, MxStatus::Unknown);
        assert!(checked.section.error.is_some());
        server.clear_faults();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_address_lookup_is_unknown_never_unresolvable() {
    let server = server().await;
    let dns = server.layer();
    server.add_fault(
        "gone.dangling.mx.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let checked = audit(&dns, "dangling.mx.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.hosts[0].status, HostStatus::Unknown);
    assert!(checked.section.hosts[0].error.is_some());

    // A timeout on A alone, while AAAA answers empty, is still unknown.
    server.clear_faults();
    server.add_fault(
        "nowhere.nxhost.mx.test",
        FaultTypes::Only(vec![RecordType::A]),
        FaultKind::NoAnswer,
    );
    let checked = audit(&dns, "nxhost.mx.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.hosts[0].status, HostStatus::Unknown);

    // One family failing while the other has addresses still resolves.
    server.clear_faults();
    server.add_fault(
        "mx1.good.mx.test",
        FaultTypes::Only(vec![RecordType::AAAA]),
        FaultKind::ServFail,
    );
    let checked = audit(&dns, "good.mx.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.hosts[0].status, HostStatus::Resolves);
    assert_eq!(checked.section.hosts[0].addresses.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_name_what_was_seen() {
    let server = server().await;
    let dns = server.layer();
    let alias = audit(&dns, "alias.mx.test").await;
    let f = &alias.findings[0];
    assert!(
        f.detail
            .contains("mail.alias.mx.test CNAME real.alias.mx.test"),
        "{}",
        f.detail
    );
    assert!(f.fix.contains("MX 10 real.alias.mx.test."), "{}", f.fix);
    assert!(
        f.evidence.iter().any(|e| e.contains("CNAME")),
        "{:?}",
        f.evidence
    );

    let private = audit(&dns, "private.mx.test").await;
    assert_eq!(private.findings.len(), 2, "one finding per host");
    let details: Vec<&str> = private.findings.iter().map(|f| f.detail.as_str()).collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("10.0.0.25") && d.contains("fd00::25"))
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("::ffff:192.168.1.26") && !d.contains("192.0.2.26"))
    );

    let ip = audit(&dns, "ip.mx.test").await;
    assert!(ip.findings[0].fix.contains("mail.ip.mx.test. A 192.0.2.1"));
}
