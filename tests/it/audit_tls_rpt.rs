//! The TLS-RPT part of the domain audit against a real DNS server on
//! loopback serving fixtures/audit/tls-rpt.zone: every case of
//! tls-rpt.cases.json gives exactly its expected `tls_rpt.*` codes, and a
//! failed lookup is never "missing".

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::dns::Dns;
use mailvet::domain::tls_rpt::{self, TlsRptSection, TlsRptStatus};
use mailvet::findings::Checked;
use std::path::Path;
use std::sync::Arc;

use support::audit_cases::{Case, Rules, run_cases};
use support::{FaultKind, FaultTypes, TestDns};

async fn server() -> TestDns {
    TestDns::start(&[Path::new("fixtures/audit/tls-rpt.zone")]).await
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<TlsRptSection> {
    let run = support::AuditRun::new(dns.resolver(), domain);
    tls_rpt::check(&run.cx()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_codes() {
    let server = server().await;
    let dns = server.layer();
    run_cases(
        &server,
        "fixtures/audit/tls-rpt.cases.json",
        Rules::STRICT,
        async |case: &Case, errors: &mut Vec<String>| {
            let checked = audit(&dns, &case.domain).await;
            if case.expect.is_empty() && checked.section.status != TlsRptStatus::Valid {
                errors.push(format!("healthy, yet {:?}", checked.section.status));
            }
            let record = format!("_smtp._tls.{}", case.domain);
            for f in &checked.findings {
                if !f.fix.contains(&record) {
                    errors.push(format!("{} fix does not name {record}: {}", f.code, f.fix));
                }
            }
            checked.findings
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_section_shows_the_joined_record_and_its_fields() {
    let server = server().await;
    let checked = audit(&server.layer(), "split.tls-rpt.test").await;
    let s = &checked.section;
    assert_eq!(s.name, "_smtp._tls.split.tls-rpt.test");
    assert_eq!(
        s.records.len(),
        1,
        "the unrelated TXT record is not counted"
    );
    assert_eq!(
        s.rua,
        vec![
            "mailto:tls@split.tls-rpt.test",
            "https://reports.split.tls-rpt.test/v1/tlsrpt"
        ]
    );
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["status"], "valid");
    assert_eq!(json["tags"][1]["name"], "ext-info");
    assert_eq!(
        server.count("_smtp._tls.split.tls-rpt.test", RecordType::TXT),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_findings_name_the_record_and_propose_one() {
    let server = server().await;
    let dns = server.layer();
    let multiple = audit(&dns, "multiple.tls-rpt.test").await;
    let f = &multiple.findings[0];
    assert!(f.detail.starts_with("2 TLS-RPT records"), "{}", f.detail);
    assert!(
        f.fix.contains(
            "v=TLSRPTv1; rua=mailto:a@multiple.tls-rpt.test,mailto:b@multiple.tls-rpt.test"
        ),
        "{}",
        f.fix
    );
    let http = audit(&dns, "http.tls-rpt.test").await;
    assert!(
        http.findings[0]
            .detail
            .contains("http://reports.http.tls-rpt.test/tlsrpt")
    );
    assert!(
        http.section
            .problem
            .as_deref()
            .unwrap()
            .contains("mailto: or https:")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_lookup_is_unknown_never_missing() {
    let server = server().await;
    let dns = server.layer();
    for (domain, kind) in [
        ("missing.tls-rpt.test", FaultKind::ServFail),
        ("good.tls-rpt.test", FaultKind::NoAnswer),
    ] {
        server.add_fault(&format!("_smtp._tls.{domain}"), FaultTypes::All, kind);
        let checked = audit(&dns, domain).await;
        assert!(
            checked.findings.is_empty(),
            "{domain}: {:?}",
            checked.findings
        );
        assert_eq!(checked.section.status, TlsRptStatus::Unknown);
        assert!(checked.section.error.is_some());
        server.clear_faults();
    }
}
