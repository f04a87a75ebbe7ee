//! The whole domain audit, end to end, through the real test DNS server
//! and the test HTTPS server: every fixture domain of every protocol
//! produces its codes through `report::audit`, every domain-side code of
//! the catalog is produced by some fixture, the fully healthy domain gets
//! no error or warning, and the doors (`mailvet domain`, `GET
//! /v1/domains/{d}`, `GET /v1/findings`) behave.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mailvet::dns::dnssec::anchor::TrustAnchor;
use mailvet::dns::{Dns, Settings, UpstreamChoice, zone};
use mailvet::domain::AuditOptions;
use mailvet::domain::report;
use mailvet::findings::Severity;
use mailvet::findings::catalog::CATALOG;
use mailvet::records::name::DomainName;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use support::TestDns;
use support::audit_cases::{self, Case, is_overlay_only};
use support::https::TestHttps;
use support::smtp::TestSmtp;
use tower::ServiceExt;

/// Domains with nothing wrong: one without and one with an MTA-STS policy.
const HEALTHY: [&str; 2] = ["healthy.test", "healthy.mta-sts.test"];

fn zone_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/audit")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "zone") && !is_overlay_only(p))
        .collect();
    files.sort();
    files
}

/// What cases of some protocols add: a zone laid over the server's
/// answers (SPF), selectors to ask (DKIM), the SMTP probe (TLS).
#[derive(serde::Deserialize)]
struct More {
    #[serde(default)]
    overlay: Option<String>,
    #[serde(default)]
    selectors: Vec<String>,
    #[serde(default)]
    probe_smtp: bool,
}

/// Every protocol's cases, with the protocol's name.
fn cases() -> Vec<(String, Case<More>)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("fixtures/audit").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(module) = name.strip_suffix(".cases.json") {
            let list = audit_cases::read(&path.to_string_lossy());
            all.extend(list.into_iter().map(|c| (module.replace('-', "_"), c)));
        }
    }
    all
}

struct Servers {
    dns: TestDns,
    /// The signed zones of fixtures/dnssec and the DANE zones, for the
    /// DNSSEC and DANE cases.
    signed: TestDns,
    /// The trust anchor over them.
    anchor: TrustAnchor,
    https: TestHttps,
    smtp: TestSmtp,
}

async fn servers() -> Servers {
    let files = zone_files();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let smtp = TestSmtp::start().await;
    let signed = Arc::new(crate::support::dane::signed_tree(&smtp));
    Servers {
        dns: TestDns::start(&paths).await,
        anchor: signed.trust_anchor(),
        signed: TestDns::start_signed(signed).await,
        https: TestHttps::start().await,
        smtp,
    }
}

fn resolver_layer(servers: &Servers, overlay: Vec<zone::Zone>) -> Arc<Dns> {
    Dns::new(
        Settings {
            upstream: UpstreamChoice::Servers(vec![servers.dns.addr]),
            query_timeout: Duration::from_millis(400),
            attempts: 1,
            deadline: Duration::from_secs(8),
            cache_capacity: 0,
            max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
        },
        overlay,
    )
    .unwrap()
}

fn options(servers: &Servers, selectors: Vec<String>) -> AuditOptions {
    AuditOptions {
        selectors,
        allow_private_fetch: true,
        fetch_timeout: Duration::from_secs(2),
        extra_roots_pem: [servers.https.ca_pem.as_slice(), &servers.smtp.ca_pem].concat(),
        https_port: servers.https.port(),
        smtp_port: servers.smtp.port,
        probe_timeout: Duration::from_secs(1),
        ..AuditOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_domain_produces_its_codes_through_the_full_audit() {
    let servers = servers().await;
    let mut produced = BTreeSet::new();
    let mut failures = Vec::new();
    for (module, case) in cases() {
        let domain = case.domain.as_str();
        servers.dns.clear_faults();
        servers.signed.clear_faults();
        let overlay = audit_cases::overlay(case.more.overlay.as_deref());
        // The DNSSEC and DANE cases ask the signed zones, under their test
        // anchor.
        let (server, dns) = if module == "dnssec" || module == "dane" {
            let settings = servers.signed.settings();
            let anchor = servers.anchor.clone();
            let dns = Dns::with_trust_anchor(settings, overlay, anchor).unwrap();
            (&servers.signed, dns)
        } else {
            (&servers.dns, resolver_layer(&servers, overlay))
        };
        for fault in &case.faults {
            fault.apply(server);
        }
        let name = DomainName::parse(domain).unwrap();
        let options = AuditOptions {
            probe_smtp: case.more.probe_smtp,
            ..options(&servers, case.more.selectors.clone())
        };
        let report = report::audit(&dns.resolver(), &name, &options, false).await;
        let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
        produced.extend(codes.iter().map(|c| c.to_string()));
        for code in &case.expect {
            if !codes.contains(&code.as_str()) {
                failures.push(format!("{domain}: expected {code}, got {codes:?}"));
            }
        }
        if case.expect.is_empty() {
            let prefix = format!("{module}.");
            let bad: Vec<&str> = report
                .findings
                .iter()
                .filter(|f| f.code.starts_with(&prefix) && f.severity >= Severity::Warning)
                .map(|f| f.code)
                .collect();
            if !bad.is_empty() {
                failures.push(format!("{domain} is healthy for {module} but got {bad:?}"));
            }
        }
    }
    servers.dns.clear_faults();
    servers.signed.clear_faults();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let domain_side: BTreeSet<String> = CATALOG
        .iter()
        .filter(|e| !mailvet::findings::catalog::MESSAGE_CODES.contains(e))
        .map(|e| e.code)
        .map(String::from)
        .collect();
    let missing: Vec<&String> = domain_side.difference(&produced).collect();
    assert!(missing.is_empty(), "no fixture produces {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthy_domains_have_no_error_or_warning_and_ask_each_question_once() {
    let servers = servers().await;
    for domain in HEALTHY {
        servers.dns.clear_log();
        let dns = resolver_layer(&servers, Vec::new());
        let name = DomainName::parse(domain).unwrap();
        let report = report::audit(&dns.resolver(), &name, &options(&servers, vec![]), true).await;
        let bad: Vec<(&str, &str)> = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| (f.code, f.detail.as_str()))
            .collect();
        assert!(bad.is_empty(), "{domain}: {bad:?}");
        // No information finding either, but the one fact known of each
        // (healthy.test publishes no MTA-STS).
        let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
        let known: &[&str] = if domain == "healthy.test" {
            &["mta_sts.missing"]
        } else {
            &[]
        };
        assert_eq!(codes, known, "{domain}");
        assert_eq!(report.score, Some(100));
        assert_eq!(
            report.summary,
            format!(
                "{domain} scores 100/100: receivers reject mail that forges it (DMARC p=reject)."
            )
        );
        assert!(
            report.undecided.is_empty(),
            "{domain}: {:?}",
            report.undecided
        );
        assert_eq!(serde_json::to_value(report.verdict).unwrap(), "pass");
        let met: Vec<&str> = report
            .requirements
            .iter()
            .filter(|r| serde_json::to_value(r.status).unwrap() == "met")
            .map(|r| r.id)
            .collect();
        assert!(
            met.contains(&"gmail.bulk.dmarc_policy") && met.contains(&"yahoo.bulk.spf_and_dkim"),
            "{met:?}"
        );
        // Each question went out once, though SPF, DMARC and BIMI share some.
        let log = servers.dns.queries();
        for q in &log {
            let n = log
                .iter()
                .filter(|o| o.name == q.name && o.rtype == q.rtype && o.protocol == q.protocol)
                .count();
            assert_eq!(n, 1, "{} {:?} asked {n} times", q.name, q.rtype);
        }
        assert_eq!(report.dns.queries, report.dns.trace.as_ref().unwrap().len());
        every_section_is_a_declared_protocol(&report);
    }
}

/// The one sentence of a report says what receivers do with forgeries
/// (the DMARC policy that applies, or that there is none) and counts the
/// errors; a domain a DNS failure left undecided is not scored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_says_what_receivers_do_with_forgeries() {
    let servers = servers().await;
    let summary = |domain: &'static str| {
        let servers = &servers;
        async move {
            let dns = resolver_layer(servers, Vec::new());
            let name = DomainName::parse(domain).unwrap();
            report::audit(&dns.resolver(), &name, &options(servers, vec![]), false)
                .await
                .summary
        }
    };
    let none = summary("none.dmarc.test").await;
    assert!(
        none.contains("receivers still deliver mail that forges it, because its DMARC policy only monitors (p=none)"),
        "{none}"
    );
    let missing = summary("dmarc.test").await;
    assert!(
        missing.contains("publishes no DMARC policy") && missing.contains("error"),
        "{missing}"
    );
    // A typo leads with the spelling, not with records to publish.
    let typo = summary("dmrac.dmarc.test").await;
    assert!(
        typo.contains(": it does not exist in the DNS (NXDOMAIN), so check its spelling;"),
        "{typo}"
    );
}

/// The report's sections are exactly the protocols `sections()` declares,
/// in order: a section added to the report but not declared would miss
/// the undecided list, the summary and record locations.
fn every_section_is_a_declared_protocol(report: &report::DomainReport) {
    const NOT_SECTIONS: &[&str] = &[
        "domain",
        "domain_unicode",
        "verdict",
        "score",
        "summary",
        "undecided",
        "findings",
        "requirements",
        "dns",
    ];
    let json = serde_json::to_value(report).unwrap();
    let sections: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| !NOT_SECTIONS.contains(k))
        .collect();
    for section in report.sections() {
        let protocol = section.protocol();
        assert_eq!(
            mailvet::domain::report::by_key(protocol.key),
            Some(protocol),
            "{} is not in PROTOCOLS",
            protocol.key
        );
    }
    let declared: Vec<&str> = report
        .sections()
        .iter()
        .map(|s| s.protocol().section)
        .collect();
    let mut sorted = declared.clone();
    sorted.sort_unstable();
    let mut found = sections.clone();
    found.sort_unstable();
    assert_eq!(
        found, sorted,
        "report sections {sections:?}, declared {declared:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exits_0_for_healthy_1_for_broken_2_for_bad_input() {
    let servers = servers().await;
    let ca = std::env::temp_dir().join(format!("mailvet-test-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &servers.https.ca_pem).unwrap();
    let run = |args: Vec<String>| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .await
            .unwrap()
    };
    let common = |domains: &[&str], extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["domain".into()];
        v.extend(domains.iter().map(|d| d.to_string()));
        v.extend(
            [
                "--dns",
                &servers.dns.dns_arg(),
                "--dns-timeout",
                "400ms",
                "--allow-private-fetch",
                "--ca-file",
                ca.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let healthy = run(common(&["healthy.test"], &["--format", "json"])).await;
    assert_eq!(healthy.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&healthy.stdout).unwrap();
    assert_eq!(report["domain"], "healthy.test");
    let strict = run(common(&["healthy.test"], &["--fail-on", "warning"])).await;
    assert_eq!(strict.status.code(), Some(0), "no warning either");
    assert!(report["findings"].is_array() && report["requirements"].is_array());

    let broken = run(common(&["plus-all.spf.test"], &["--format", "json"])).await;
    assert_eq!(broken.status.code(), Some(1));
    let two = run(common(
        &["plus-all.spf.test", "softfail.spf.test"],
        &["--format", "json", "--fail-on", "never"],
    ))
    .await;
    assert_eq!(two.status.code(), Some(0), "--fail-on never");
    let list: Value = serde_json::from_slice(&two.stdout).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "several domains give an array"
    );
    assert_eq!(list[1]["domain"], "softfail.spf.test");

    // softfail.spf.test has only info-level SPF findings, but no DMARC:
    // --fail-on warning fails it, --fail-on error does not fail on warnings.
    let warn = run(common(&["softfail.spf.test"], &["--fail-on", "warning"])).await;
    assert_eq!(warn.status.code(), Some(1));
    let text = String::from_utf8(warn.stdout).unwrap();
    assert!(
        text.contains("softfail.spf.test")
            && text.contains("why:")
            && text.contains("Provider requirements"),
        "{text}"
    );

    for bad in ["192.0.2.1", "a..b.test", "localhost"] {
        let out = run(common(&[bad], &[])).await;
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("is not a domain name"));
    }
    let idn = run(common(
        &["bücher.test"],
        &["--format", "json", "--fail-on", "never"],
    ))
    .await;
    let report: Value = serde_json::from_slice(&idn.stdout).unwrap();
    assert_eq!(report["domain"], "xn--bcher-kva.test");
    assert_eq!(report["domain_unicode"], "bücher.test");
    let _ = std::fs::remove_file(&ca);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_audits_a_domain_and_lists_the_catalog() {
    let servers = servers().await;
    let dns = resolver_layer(&servers, Vec::new());
    let state = mailvet::http::AppState {
        audit: options(&servers, vec![]),
        ..mailvet::http::AppState::new(dns, crate::support::store::scratch().await)
    };
    let call = |uri: &str| {
        let router = mailvet::http::router(state.clone());
        let request = Request::get(uri).body(Body::empty()).unwrap();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let (status, report) = call("/v1/domains/healthy.mta-sts.test?trace=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["verdict"], "pass");
    assert!(
        report["dns"]["trace"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let (_, custom) = call("/v1/domains/custom.dkim.test?selector=custom2026").await;
    assert!(
        custom["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "dkim.no_selector_found")
    );
    let (status, problem) = call("/v1/domains/192.0.2.1").await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("/problems/invalid-domain"))
    );
    let (status, problem) = call("/v1/domains/example.test?selector=a/b").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("selector"))
    );
    let (status, catalog) = call("/v1/findings").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(catalog.as_array().unwrap().len(), CATALOG.len());
    assert!(catalog[0]["why"].is_string() && catalog[0]["refs"].is_array());
}

/// An SPF record `check_host()` fails on reaching an mx term that names
/// more than 10 hosts (RFC 7208 §4.6.4) is unusable for the provider
/// checklist too, not only in its finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mx_term_over_the_host_limit_leaves_spf_unusable() {
    let servers = servers().await;
    let dns = resolver_layer(&servers, Vec::new());
    let name = DomainName::parse("mx-many.spf.test").unwrap();
    let report = report::audit(&dns.resolver(), &name, &options(&servers, vec![]), false).await;
    let spf = report
        .requirements
        .iter()
        .find(|r| r.id == "gmail.bulk.spf")
        .expect("gmail.bulk.spf");
    assert_eq!(serde_json::to_value(spf.status).unwrap(), "unmet");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == "spf.mx_too_many_hosts")
    );
}
