//! The BIMI part of the domain audit against a real DNS server on loopback
//! serving fixtures/audit/bimi.zone: every case of bimi.cases.json gives
//! exactly its expected `bimi.*` codes (the DMARC prerequisite included,
//! fed from the fixture's own DMARC records), the organizational domain is
//! asked only when the domain has no record, and a failed lookup is never
//! "missing".

use crate::support;

use hickory_proto::rr::{Name, RecordType};
use mailvet::dns::{Dns, Resolver};
use mailvet::domain::bimi::{self, BimiSection, BimiStatus};
use mailvet::findings::Checked;
use mailvet::findings::{Finding, Severity};
use std::path::Path;
use std::sync::Arc;
use support::audit_cases::{Case, Rules, run_cases};
use support::{FaultKind, FaultTypes, TestDns};

async fn server() -> TestDns {
    TestDns::start(&[Path::new("fixtures/audit/bimi.zone")]).await
}

async fn audit_with(resolver: &Resolver, domain: &str) -> Checked<BimiSection> {
    let run = support::AuditRun::new(resolver.clone(), domain);
    bimi::check(&run.cx()).await
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<BimiSection> {
    audit_with(&dns.resolver(), domain).await
}

/// The DMARC policy and pct that apply to `domain`, read the simple way a
/// test can afford (the DMARC module is not what is tested here): the
/// record at `_dmarc.<domain>`, else at the organizational domain.
async fn dmarc_enforcement(resolver: &Resolver, domain: &str) -> Option<(String, u8)> {
    let mut names = vec![format!("_dmarc.{domain}.")];
    if let Some(org) = bimi::organizational_domain(domain) {
        names.push(format!("_dmarc.{org}."));
    }
    for name in names {
        let answer = resolver
            .lookup(&Name::from_ascii(&name).unwrap(), RecordType::TXT)
            .await
            .unwrap();
        for strings in answer.txt() {
            let text = String::from_utf8(strings.concat()).unwrap();
            if !text.starts_with("v=DMARC1") {
                continue;
            }
            let tag = |name: &str| {
                text.split(';').find_map(|f| {
                    let (n, v) = f.trim().split_once('=')?;
                    (n.trim() == name).then(|| v.trim().to_string())
                })
            };
            let pct = tag("pct").map_or(100, |p| p.parse().unwrap());
            return Some((tag("p").unwrap(), pct));
        }
    }
    None
}

/// The BIMI findings the orchestration would report: the check's, then
/// the DMARC prerequisite's.
async fn all_findings(dns: &Arc<Dns>, domain: &str) -> (Checked<BimiSection>, Vec<Finding>) {
    let resolver = dns.resolver();
    let checked = audit_with(&resolver, domain).await;
    let enforcement = dmarc_enforcement(&resolver, domain).await;
    let mut findings = checked.findings.clone();
    findings.extend(bimi::dmarc_prerequisite(
        &checked.section,
        enforcement.as_ref().map(|(p, pct)| (p.as_str(), *pct)),
    ));
    (checked, findings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_codes() {
    let server = server().await;
    let dns = server.layer();
    run_cases(
        &server,
        "fixtures/audit/bimi.cases.json",
        Rules::STRICT,
        async |case: &Case, errors: &mut Vec<String>| {
            let (_, findings) = all_findings(&dns, &case.domain).await;
            for f in &findings {
                if f.severity != Severity::Info && !f.detail.contains(&case.domain) {
                    errors.push(format!(
                        "{} detail does not name the domain: {}",
                        f.code, f.detail
                    ));
                }
            }
            findings
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizational_domain_is_asked_only_without_a_record() {
    let server = server().await;
    let dns = server.layer();
    server.clear_log();
    let checked = audit(&dns, "brand.bimi.test").await;
    assert_eq!(checked.section.status, BimiStatus::Published);
    assert_eq!(server.count("default._bimi.bimi.test", RecordType::TXT), 0);
    assert_eq!(
        checked.section.looked_up,
        vec!["default._bimi.brand.bimi.test"]
    );

    let checked = audit(&dns, "missing.bimi.test").await;
    assert_eq!(
        checked.section.looked_up,
        vec!["default._bimi.missing.bimi.test", "default._bimi.bimi.test"]
    );
    assert_eq!(server.count("default._bimi.bimi.test", RecordType::TXT), 1);

    // An invalid record at the domain stops the search.
    server.clear_log();
    audit(&dns, "http.bimi.test").await;
    assert_eq!(server.count("default._bimi.bimi.test", RecordType::TXT), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subdomain_inherits_the_organizational_domains_record() {
    let zone = "$ORIGIN brand.example.\n$TTL 300\n\
                @ IN SOA ns hostmaster 1 3600 600 86400 300\n\
                default._bimi IN TXT \"v=BIMI1; l=https://brand.example/logo.svg\"\n\
                _dmarc IN TXT \"v=DMARC1; p=reject\"\n\
                shop IN MX 10 mx.shop\n";
    let server = TestDns::start_with_texts(&[zone]).await;
    let dns = server.layer();
    let (checked, findings) = all_findings(&dns, "shop.brand.example").await;
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(checked.section.status, BimiStatus::Published);
    assert!(checked.section.inherited);
    assert_eq!(
        checked.section.record_name.as_deref(),
        Some("default._bimi.brand.example")
    );
    assert_eq!(
        checked.section.logo_url.as_deref(),
        Some("https://brand.example/logo.svg")
    );
    let json = serde_json::to_value(&checked.section).unwrap();
    assert_eq!(json["status"], "published");
    assert_eq!(json["inherited"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dmarc_prerequisite_names_the_policy() {
    let server = server().await;
    let dns = server.layer();
    let resolver = dns.resolver();
    let checked = audit_with(&resolver, "partial.bimi.test").await;
    let f = bimi::dmarc_prerequisite(&checked.section, Some(("quarantine", 50))).unwrap();
    assert!(f.detail.contains("pct=50"), "{}", f.detail);
    assert!(f.fix.contains("remove pct=50"), "{}", f.fix);
    let checked = audit_with(&resolver, "declined.bimi.test").await;
    assert_eq!(checked.section.status, BimiStatus::Declined);
    assert!(bimi::dmarc_prerequisite(&checked.section, None).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_lookup_is_unknown_never_missing() {
    let server = server().await;
    let dns = server.layer();
    // At the domain: the organizational domain is not asked either.
    server.add_fault(
        "default._bimi.missing.bimi.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let checked = audit(&dns, "missing.bimi.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, BimiStatus::Unknown);
    assert_eq!(checked.section.looked_up.len(), 1);
    assert!(bimi::dmarc_prerequisite(&checked.section, None).is_none());
    // At the organizational domain.
    server.clear_faults();
    server.add_fault(
        "default._bimi.bimi.test",
        FaultTypes::All,
        FaultKind::NoAnswer,
    );
    let checked = audit(&dns, "missing.bimi.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, BimiStatus::Unknown);
    assert!(
        checked
            .section
            .error
            .as_deref()
            .unwrap()
            .contains("default._bimi.bimi.test")
    );
}
