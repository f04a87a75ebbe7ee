//! The DKIM part of the domain audit against a real DNS server on loopback
//! serving fixtures/audit/dkim.zone: every case of dkim.cases.json gives
//! exactly its expected codes, failed lookups never read as "no key", the
//! selector lookups run concurrently, and each goes on the wire once.

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::dns::Dns;
use mailvet::domain::dkim::{self, COMMON_SELECTORS, DkimStatus, SelectorSource, SelectorStatus};
use mailvet::domain::{AuditContext, AuditOptions};
use mailvet::findings::Checked;
use mailvet::records::name::DomainName;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::audit_cases::{self, Case, Rules, run_cases};
use support::{FaultKind, FaultTypes, TestDns};

/// What a DKIM case adds: the selectors to ask besides the common ones,
/// and a zone file laid over the server's answers.
#[derive(Debug, serde::Deserialize)]
struct Selectors {
    #[serde(default)]
    selectors: Vec<String>,
    #[serde(default)]
    overlay: Option<String>,
}

async fn server() -> TestDns {
    TestDns::start(&[Path::new("fixtures/audit/dkim.zone")]).await
}

async fn audit(dns: &Arc<Dns>, domain: &str, selectors: &[String]) -> Checked<dkim::DkimSection> {
    let resolver = dns.resolver();
    let domain = DomainName::parse(domain).unwrap();
    let options = AuditOptions {
        selectors: selectors.to_vec(),
        ..AuditOptions::default()
    };
    let cx = AuditContext {
        resolver: &resolver,
        domain: &domain,
        options: &options,
    };
    dkim::check(&cx).await
}

fn codes(checked: &Checked<dkim::DkimSection>) -> Vec<&'static str> {
    let mut codes: Vec<&str> = checked.findings.iter().map(|f| f.code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// Every selector name an audit of `domain` asks.
fn key_names(domain: &str, selectors: &[String]) -> Vec<String> {
    let mut names: Vec<String> = selectors
        .iter()
        .map(|s| format!("{s}._domainkey.{domain}"))
        .collect();
    for s in COMMON_SELECTORS {
        let name = format!("{s}._domainkey.{domain}");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_gives_exactly_its_codes_asking_each_selector_once() {
    let server = server().await;
    let dns = server.layer();
    run_cases(
        &server,
        "fixtures/audit/dkim.cases.json",
        Rules::STRICT,
        async |case: &Case<Selectors>, errors: &mut Vec<String>| {
            let selectors = &case.more.selectors;
            if let Some(path) = &case.more.overlay {
                // The overlay answers; nothing goes on the wire to count.
                let overlay = audit_cases::overlay(Some(path));
                let dns = Dns::new(server.settings(), overlay).unwrap();
                return audit(&dns, &case.domain, selectors).await.findings;
            }
            let checked = audit(&dns, &case.domain, selectors).await;
            if let Some(f) = checked
                .findings
                .iter()
                .find(|f| !f.code.starts_with("dkim."))
            {
                errors.push(format!("{} is not a DKIM code", f.code));
            }
            if case.expect.is_empty() {
                if checked.section.status != DkimStatus::Found {
                    errors.push(format!("healthy, yet {:?}", checked.section.status));
                }
                if checked.section.has_usable_key() != Some(true) {
                    errors.push("healthy, yet no usable key".to_string());
                }
            }
            for name in key_names(&case.domain, selectors) {
                let asked = server.count(&name, RecordType::TXT);
                if asked != 1 {
                    errors.push(format!("{name} TXT asked {asked} times, not once"));
                }
            }
            // Besides the selectors, the domain's own TXT: whether it exists
            // (in the full audit, the same question as SPF's, asked once).
            let others: Vec<(String, RecordType)> = server
                .queries()
                .iter()
                .filter(|q| !q.name.ends_with(&format!("._domainkey.{}.", case.domain)))
                .filter(|q| !q.name.contains("._domainkey.tenant.dkim.test."))
                .map(|q| (q.name.clone(), q.rtype))
                .collect();
            if others != [(format!("{}.", case.domain), RecordType::TXT)] {
                errors.push(format!(
                    "only selector names and the domain itself are asked, not {others:?}"
                ));
            }
            checked.findings
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_section_tells_what_was_found_and_where() {
    let server = server().await;
    let dns = server.layer();

    let healthy = audit(&dns, "healthy.dkim.test", &[]).await.section;
    assert_eq!(healthy.selectors.len(), 1, "not-found probes are left out");
    let selector1 = &healthy.selectors[0];
    assert_eq!(selector1.name, "selector1._domainkey.healthy.dkim.test");
    assert_eq!(selector1.source, SelectorSource::Probed);
    assert_eq!(selector1.status, SelectorStatus::KeyFound);
    let key = &selector1.keys[0];
    assert_eq!(key.bits, Some(2048));
    assert!(key.record.starts_with("v=DKIM1; k=rsa; p=MIIBIjAN"));
    assert!(
        key.record.ends_with("IDAQAB"),
        "strings joined: {}",
        key.record
    );
    assert_eq!(key.tags.as_ref().unwrap().k.as_deref(), Some("rsa"));

    let ed = audit(&dns, "ed25519.dkim.test", &[]).await.section;
    assert_eq!(
        ed.selectors[0].keys[0].algorithm,
        Some(mailvet::records::dkim_key::KeyAlgorithm::Ed25519)
    );

    let cname = audit(&dns, "cname.dkim.test", &[]).await.section;
    assert_eq!(
        cname.selectors[0].cname_chain,
        ["selector1-cname-dkim-test._domainkey.tenant.dkim.test."]
    );

    // The wildcard's SPF record answers at every other selector name; it is
    // shown at a selector the caller names, and counts as no key anywhere.
    let nonesuch = ["nonesuch".to_string()];
    let foreign = audit(&dns, "foreign.dkim.test", &nonesuch).await.section;
    assert_eq!(foreign.selectors.len(), 2, "{:#?}", foreign.selectors);
    assert_eq!(foreign.selectors[0].status, SelectorStatus::NotFound);
    assert_eq!(foreign.selectors[0].other_txt, ["v=spf1 -all"]);
    assert_eq!(foreign.selectors[1].selector, "google");
    assert_eq!(foreign.selectors[1].keys.len(), 1);

    let custom = ["custom2026".to_string()];
    let given = audit(&dns, "custom.dkim.test", &custom).await.section;
    assert_eq!(given.selectors[0].source, SelectorSource::Given);
    assert_eq!(given.selectors[0].status, SelectorStatus::KeyFound);
    assert_eq!(given.selectors_checked[0], "custom2026");

    let short = audit(&dns, "short.dkim.test", &[]).await;
    assert_eq!(short.section.has_usable_key(), Some(false));
    assert!(short.findings[0].detail.contains("512 bits"));
    assert!(short.findings[0].evidence[0].starts_with("default._domainkey.short.dkim.test TXT"));

    let nokeys = audit(&dns, "nokeys.dkim.test", &[]).await;
    assert_eq!(nokeys.section.status, DkimStatus::Unknown);
    assert!(nokeys.section.summary.starts_with("unknown"));
    assert_eq!(nokeys.section.has_usable_key(), None);

    let missing = audit(&dns, "missinggiven.dkim.test", &custom).await;
    assert_eq!(missing.section.status, DkimStatus::NotFound);
    assert!(
        missing
            .section
            .summary
            .starts_with("not found at the given selectors (custom2026)")
    );
    assert_eq!(missing.section.has_usable_key(), Some(false));
    assert_eq!(
        missing.section.selectors[0].status,
        SelectorStatus::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servfail_everywhere_means_dkim_could_not_be_checked() {
    let server = server().await;
    let dns = server.layer();
    for name in key_names("nokeys.dkim.test", &[]) {
        server.add_fault(&name, FaultTypes::All, FaultKind::ServFail);
    }
    let checked = audit(&dns, "nokeys.dkim.test", &[]).await;
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.status, DkimStatus::Unknown);
    assert!(
        checked.section.summary.contains("could not be checked"),
        "{}",
        checked.section.summary
    );
    assert_eq!(checked.section.has_usable_key(), None);
    assert_eq!(checked.section.selectors.len(), COMMON_SELECTORS.len());
    for s in &checked.section.selectors {
        assert_eq!(s.status, SelectorStatus::Unknown, "{}", s.name);
        assert!(
            s.error.as_deref().unwrap().contains("SERVFAIL"),
            "{:?}",
            s.error
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_timeout_among_empty_answers_is_not_no_selector_found() {
    let server = server().await;
    let dns = server.layer();
    let custom = ["custom2026".to_string()];
    server.add_fault(
        "custom2026._domainkey.missinggiven.dkim.test",
        FaultTypes::All,
        FaultKind::NoAnswer,
    );
    server.add_fault(
        "google._domainkey.nokeys.dkim.test",
        FaultTypes::Only(vec![RecordType::TXT]),
        FaultKind::NoAnswer,
    );
    for (domain, selectors) in [
        ("missinggiven.dkim.test", &custom[..]),
        ("nokeys.dkim.test", &[][..]),
    ] {
        let checked = audit(&dns, domain, selectors).await;
        assert_eq!(codes(&checked), Vec::<&str>::new(), "{domain}");
        assert_eq!(checked.section.status, DkimStatus::Unknown, "{domain}");
        assert_eq!(checked.section.has_usable_key(), None, "{domain}");
        let unknown: Vec<&str> = checked
            .section
            .selectors
            .iter()
            .filter(|s| s.status == SelectorStatus::Unknown)
            .map(|s| s.selector.as_str())
            .collect();
        assert_eq!(unknown.len(), 1, "{domain}: {unknown:?}");
        assert!(checked.section.summary.contains(unknown[0]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_probe_beside_a_good_key_keeps_the_domain_healthy() {
    let server = server().await;
    let dns = server.layer();
    server.add_fault(
        "google._domainkey.healthy.dkim.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let checked = audit(&dns, "healthy.dkim.test", &[]).await;
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.status, DkimStatus::Found);
    assert_eq!(checked.section.has_usable_key(), Some(true));
    let google = checked
        .section
        .selectors
        .iter()
        .find(|s| s.selector == "google")
        .unwrap();
    assert_eq!(google.status, SelectorStatus::Unknown);
    assert!(google.error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_lookups_run_concurrently() {
    let server = server().await;
    let dns = server.layer();
    let delay = Duration::from_millis(150);
    for name in key_names("healthy.dkim.test", &[]) {
        server.add_fault(&name, FaultTypes::All, FaultKind::Latency(delay));
    }
    let started = Instant::now();
    let checked = audit(&dns, "healthy.dkim.test", &[]).await;
    let elapsed = started.elapsed();
    assert_eq!(codes(&checked), Vec::<&str>::new());
    // One after another would take 27 × 150 ms, about 4 s.
    assert!(
        elapsed < delay * 10,
        "{} lookups took {elapsed:?}",
        COMMON_SELECTORS.len()
    );
}
