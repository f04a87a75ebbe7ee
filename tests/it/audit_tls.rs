//! The SMTP transport probe against real servers on loopback: the fixture
//! zones (fixtures/audit/tls.zone, mta-sts.zone) on the test DNS server,
//! the MX hosts on the test SMTP servers (support/smtp.rs) and the policy
//! hosts on the test HTTPS server. Every case of
//! fixtures/audit/tls.cases.json gives exactly its expected codes through
//! the full audit; each verdict stands alone; every address of every MX
//! host is probed; private addresses are refused without connecting
//! unless allowed; nothing is probed unless asked; and the doors (`mailvet
//! domain --probe-smtp`, `GET /v1/domains/{d}?probe=smtp`) give the
//! transport section.

use crate::support;
use crate::support::scratch::ScratchDir;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mailvet::domain::AuditOptions;
use mailvet::domain::report::{self, DomainReport};
use mailvet::domain::transport::legacy::LegacyVersion;
use mailvet::domain::transport::{ProbeStatus, TransportSection};
use mailvet::records::name::DomainName;
use serde_json::Value;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use support::audit_cases::{Case, Rules, run_cases};
use support::https::TestHttps;
use support::smtp::TestSmtp;
use support::{TestDns, api};

const ZONES: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/audit/tls.zone"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/audit/mta-sts.zone"),
];
const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/audit/tls.cases.json");

/// How long each address may take in these tests: the silent server
/// holds its case exactly this long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

struct Servers {
    dns: TestDns,
    https: TestHttps,
    smtp: TestSmtp,
}

async fn servers() -> Servers {
    let zones: Vec<&Path> = ZONES.iter().map(Path::new).collect();
    Servers {
        dns: TestDns::start(&zones).await,
        https: TestHttps::start().await,
        smtp: TestSmtp::start().await,
    }
}

impl Servers {
    fn options(&self) -> AuditOptions {
        support::smtp::probe_options(&self.https, &self.smtp, PROBE_TIMEOUT)
    }

    async fn audit(&self, domain: &str, options: &AuditOptions) -> DomainReport {
        let dns = self.dns.layer();
        let name = DomainName::parse(domain).unwrap();
        report::audit(&dns.resolver(), &name, options, false).await
    }
}

/// The codes the probe is responsible for.
fn is_transport_code(code: &str) -> bool {
    code.starts_with("tls.") || code == "mta_sts.enforce_tls_failure"
}

fn addresses(section: &TransportSection) -> Vec<(&str, IpAddr, ProbeStatus)> {
    let mut list: Vec<_> = section
        .addresses
        .iter()
        .map(|a| (a.host.as_str(), a.address, a.status))
        .collect();
    list.sort_by_key(|(host, ip, _)| (host.to_string(), *ip));
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_gives_exactly_its_expected_codes() {
    let servers = servers().await;
    let options = servers.options();
    run_cases(
        &servers.dns,
        CASES,
        Rules::STRICT,
        async |case: &Case, errors: &mut Vec<String>| {
            let report = servers.audit(&case.domain, &options).await;
            if !report.transport.probed || report.transport.addresses.is_empty() {
                errors.push(format!("no address probed: {:?}", report.transport));
            }
            report
                .findings
                .into_iter()
                .filter(|f| is_transport_code(f.code))
                .collect()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_address_of_every_mx_host_is_probed_and_the_healthy_one_is_clean() {
    let servers = servers().await;
    let report = servers.audit("healthy.tls.test", &servers.options()).await;
    let v4: IpAddr = "127.0.0.20".parse().unwrap();
    let v6: IpAddr = "::1".parse().unwrap();
    assert_eq!(
        addresses(&report.transport),
        [
            ("mail.healthy.tls.test", v4, ProbeStatus::Tls),
            ("mail.healthy.tls.test", v6, ProbeStatus::Tls),
            ("mx2.healthy.tls.test", v4, ProbeStatus::Tls),
        ]
    );
    for address in &report.transport.addresses {
        let tls = address.tls.as_ref().unwrap();
        assert!(
            tls.version == "TLSv1_3" || tls.version == "TLSv1_2",
            "{tls:?}"
        );
        let cert = tls.certificate.as_ref().unwrap();
        assert!(cert.trusted && cert.name_matches, "{cert:?}");
        assert!(cert.days_to_expiry >= 88, "{cert:?}");
        assert_eq!(cert.key_type, "EC P-256");
        assert_eq!(cert.key_bits, 256);
        assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA256");
        assert!(
            tls.legacy_accepted.is_empty() && tls.legacy_unknown.is_empty(),
            "{tls:?}"
        );
        assert!(address.extensions.contains(&"STARTTLS".to_string()));
        assert_eq!(address.banner.as_deref(), Some("test MX ESMTP ready"));
    }
    let transport: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.code)
        .filter(|c| is_transport_code(c))
        .collect();
    assert!(transport.is_empty(), "{transport:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_certificate_verdict_stands_alone() {
    let servers = servers().await;
    let options = servers.options();
    // (domain, trusted, name matches, expired)
    let expected = [
        ("selfsigned.tls.test", false, true, false),
        ("wrongname.tls.test", true, false, false),
        ("expired.tls.test", true, true, true),
        ("expiring.tls.test", true, true, false),
    ];
    for (domain, trusted, name_matches, expired) in expected {
        let report = servers.audit(domain, &options).await;
        let [address] = report.transport.addresses.as_slice() else {
            panic!("{domain}: {:?}", report.transport);
        };
        let cert = address
            .tls
            .as_ref()
            .and_then(|t| t.certificate.as_ref())
            .unwrap_or_else(|| panic!("{domain}: {address:?}"));
        assert_eq!(
            (cert.trusted, cert.name_matches, cert.days_to_expiry < 0),
            (trusted, name_matches, expired),
            "{domain}: {cert:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_0_and_1_1_are_asked_with_a_client_hello_of_their_own() {
    let servers = servers().await;
    let report = servers.audit("legacy.tls.test", &servers.options()).await;
    let [address] = report.transport.addresses.as_slice() else {
        panic!("{:?}", report.transport);
    };
    let tls = address.tls.as_ref().unwrap();
    assert_eq!(
        tls.version, "TLSv1_3",
        "a current client still gets TLS 1.3"
    );
    assert_eq!(
        tls.legacy_accepted,
        [LegacyVersion::Tls10, LegacyVersion::Tls11]
    );
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "tls.legacy_version")
        .unwrap();
    assert!(
        finding
            .detail
            .contains("still accepts TLS 1.0 and TLS 1.1 after STARTTLS (it negotiates TLS 1.3 "),
        "{}",
        finding.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_cannot_be_reached_is_untestable_never_without_starttls() {
    let servers = servers().await;
    let options = servers.options();
    for domain in ["silent.tls.test", "refused.tls.test"] {
        let report = servers.audit(domain, &options).await;
        let [address] = report.transport.addresses.as_slice() else {
            panic!("{domain}: {:?}", report.transport);
        };
        assert_eq!(address.status, ProbeStatus::Untestable, "{domain}");
        assert!(address.elapsed_ms <= 3 * PROBE_TIMEOUT.as_millis() as u64);
        let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&"tls.untestable"), "{domain}: {codes:?}");
        assert!(!codes.contains(&"tls.starttls_missing"), "{domain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greeting_that_never_ends_is_cut_at_the_limits() {
    let servers = servers().await;
    let options = servers.options();
    for (domain, reason) in [
        (
            "endlessline.tls.test",
            "the server sent a line longer than 2048 bytes",
        ),
        (
            "endlessreply.tls.test",
            "the server sent a reply of more than 64 lines",
        ),
    ] {
        let report = servers.audit(domain, &options).await;
        let [address] = report.transport.addresses.as_slice() else {
            panic!("{domain}: {:?}", report.transport);
        };
        assert_eq!(address.status, ProbeStatus::Untestable, "{domain}");
        assert_eq!(address.reason.as_deref(), Some(reason), "{domain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_slower_than_the_deadline_is_untestable() {
    let servers = servers().await;
    servers.smtp.set_greeting_delay(PROBE_TIMEOUT * 3);
    let report = servers.audit("healthy.tls.test", &servers.options()).await;
    assert_eq!(report.transport.addresses.len(), 3);
    for address in &report.transport.addresses {
        assert_eq!(address.status, ProbeStatus::Untestable);
        assert_eq!(
            address.reason.as_deref(),
            Some("no complete answer within 1000 ms")
        );
    }
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes.iter().filter(|c| c.starts_with("tls.")).count(),
        3,
        "{codes:?}"
    );
    assert!(codes.iter().all(|c| *c != "tls.starttls_missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_without_connecting_unless_allowed() {
    let servers = servers().await;
    let options = AuditOptions {
        allow_private_fetch: false,
        ..servers.options()
    };
    let before = servers.smtp.accepted();
    let report = servers.audit("healthy.tls.test", &options).await;
    assert_eq!(servers.smtp.accepted(), before, "a connection was made");
    assert_eq!(report.transport.addresses.len(), 3);
    for address in &report.transport.addresses {
        assert_eq!(address.status, ProbeStatus::NotProbed);
        assert!(
            address
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("--allow-private-fetch")),
            "{address:?}"
        );
    }
    assert!(!report.findings.iter().any(|f| is_transport_code(f.code)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_probed_unless_asked() {
    let servers = servers().await;
    let options = AuditOptions {
        probe_smtp: false,
        ..servers.options()
    };
    let report = servers.audit("nostarttls.tls.test", &options).await;
    assert_eq!(servers.smtp.accepted(), 0);
    assert!(!report.transport.probed && report.transport.addresses.is_empty());
    assert!(!report.findings.iter().any(|f| is_transport_code(f.code)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_http_doors_probe_on_request() {
    let servers = servers().await;
    let ca = std::env::temp_dir().join(format!("mailvet-smtp-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &servers.smtp.ca_pem).unwrap();
    let run = |format: &'static str| {
        let (dns, port, ca) = (
            servers.dns.dns_arg(),
            servers.smtp.port.to_string(),
            ca.clone(),
        );
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
                .args(["domain", "healthy.tls.test", "--probe-smtp", "--dns", &dns])
                .args(["--allow-private-fetch", "--ca-file", ca.to_str().unwrap()])
                .args(["--smtp-port", &port, "--probe-timeout", "2s"])
                .args(["--format", format, "--fail-on", "never"])
                .env("NO_COLOR", "1")
                .output()
                .await
                .unwrap()
        }
    };
    let output = run("json").await;
    let text = String::from_utf8(run("text").await.stdout).unwrap();
    let _ = std::fs::remove_file(&ca);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let statuses: Vec<&str> = report["transport"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["tls", "tls", "tls"], "{}", report["transport"]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("SMTP TLS"))
        .unwrap_or_else(|| panic!("no SMTP TLS line in\n{text}"));
    for address in [
        "mail.healthy.tls.test 127.0.0.20",
        "mail.healthy.tls.test ::1",
        "mx2.healthy.tls.test 127.0.0.20",
    ] {
        assert!(line.contains(address), "{address} missing from {line}");
    }

    let refusing = mailvet::http::AppState {
        audit: AuditOptions {
            probe_smtp: false,
            ..servers.options()
        },
        ..mailvet::http::AppState::new(servers.dns.layer(), crate::support::store::scratch().await)
    };
    let mut state = refusing.clone();
    state.service.allow_probe = true;
    let call_on = async |state: &mailvet::http::AppState, uri: &str| {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let (status, _, body) = api::call(mailvet::http::router(state.clone()), request).await;
        (status, body)
    };
    let call = async |uri: &str| call_on(&state, uri).await;
    // Without `serve --allow-probe`: refused before any connection.
    let before = servers.smtp.accepted();
    let (status, problem) = call_on(&refusing, "/v1/domains/nostarttls.tls.test?probe=smtp").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["type"], "/problems/probe-disabled");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("its operator can allow it with `mailvet serve --allow-probe`"),
        "{detail}"
    );
    assert!(!detail.contains("  "), "one space between words: {detail}");
    assert_eq!(servers.smtp.accepted(), before);
    let (status, report) = call("/v1/domains/nostarttls.tls.test?probe=smtp").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["transport"]["addresses"][0]["status"], "no_starttls");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "tls.starttls_missing")
    );
    let (_, plain) = call("/v1/domains/nostarttls.tls.test").await;
    assert_eq!(plain["transport"]["probed"], false);
    let (status, problem) = call("/v1/domains/nostarttls.tls.test?probe=imap").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("probe"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_pages_probe_only_when_the_server_allows_it() {
    let servers = servers().await;
    let refusing = mailvet::http::AppState {
        audit: AuditOptions {
            probe_smtp: false,
            ..servers.options()
        },
        ..mailvet::http::AppState::new(servers.dns.layer(), crate::support::store::scratch().await)
    };
    let mut allowing = refusing.clone();
    allowing.service.allow_probe = true;
    let page = async |state: &mailvet::http::AppState, uri: &str| {
        let request = Request::get(uri)
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) =
            api::send(mailvet::http::router(state.clone()), request).await;
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    };
    let checkbox = r#"type="checkbox" name="probe" value="smtp""#;
    let (_, _, index) = page(&refusing, "/").await;
    assert!(!index.contains(checkbox), "{index}");
    let (_, _, index) = page(&allowing, "/").await;
    assert!(index.contains(checkbox), "{index}");
    assert!(index.contains("Test TLS at each mail server"));

    let (status, headers, _) = page(&allowing, "/domains?domain=healthy.tls.test&probe=smtp").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/domains/healthy.tls.test?probe=smtp");
    let (status, _, report) = page(&allowing, "/domains/healthy.tls.test?probe=smtp").await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("TLS at each mail server"), "{report}");
    assert!(
        report.contains("An address that could not be tested from here says nothing"),
        "one space between words: {report}"
    );
    for address in ["127.0.0.20", "::1"] {
        assert!(
            report.contains(&format!("<code>{address}</code>")),
            "{address}"
        );
    }
    assert!(report.contains("/v1/domains/healthy.tls.test?probe=smtp"));
    let (_, _, plain) = page(&allowing, "/domains/healthy.tls.test").await;
    assert!(!plain.contains("TLS at each mail server"));

    let before = servers.smtp.accepted();
    let (status, _, refused) = page(&refusing, "/domains/healthy.tls.test?probe=smtp").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refused.contains("can allow it with `mailvet serve --allow-probe`"),
        "one space between words: {refused}"
    );
    assert_eq!(servers.smtp.accepted(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audits_sharing_probe_slots_stay_within_them() {
    let servers = servers().await;
    let slots = mailvet::domain::transport::ProbeSlots::new(1);
    let options = AuditOptions {
        probe_slots: slots.clone(),
        ..servers.options()
    };
    let domains = ["healthy.tls.test", "wrongname.tls.test", "expired.tls.test"];
    let reports = futures_util::future::join_all(domains.map(|d| servers.audit(d, &options))).await;
    // One address at a time: its first connection, then the two that ask
    // about TLS 1.0 and 1.1 (the first may still be closing on the
    // server's side).
    assert!(
        servers.smtp.most_open() <= 3,
        "{}",
        servers.smtp.most_open()
    );
    let probed: usize = reports
        .iter()
        .flat_map(|r| &r.transport.addresses)
        .inspect(|a| assert_eq!(a.status, ProbeStatus::Tls, "{a:?}"))
        .count();
    assert_eq!(probed, 5);
    assert_eq!(slots.available(), 1, "every slot given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_from_a_file_probes_every_domain() {
    let servers = servers().await;
    let dir = ScratchDir::new("probe-batch");
    let (ca, list) = (dir.join("ca.pem"), dir.join("domains.txt"));
    std::fs::write(&ca, &servers.smtp.ca_pem).unwrap();
    std::fs::write(
        &list,
        "healthy.tls.test\nnostarttls.tls.test\n# a comment\nwrongname.tls.test\n",
    )
    .unwrap();
    let port = servers.smtp.port.to_string();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(["domain", "--file", list.to_str().unwrap(), "--probe-smtp"])
        .args(["--dns", &servers.dns.dns_arg(), "--allow-private-fetch"])
        .args(["--ca-file", ca.to_str().unwrap(), "--smtp-port", &port])
        .args(["--probe-timeout", "3s", "--concurrency", "3"])
        .args(["--format", "jsonl", "--fail-on", "never"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut seen: Vec<(String, Vec<String>)> = stdout
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let report = &entry["report"];
            assert_eq!(report["transport"]["probed"], true, "{line}");
            let statuses = report["transport"]["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["status"].as_str().unwrap().to_string())
                .collect();
            (report["domain"].as_str().unwrap().to_string(), statuses)
        })
        .collect();
    seen.sort();
    let tls = |n| vec!["tls".to_string(); n];
    assert_eq!(
        seen,
        [
            ("healthy.tls.test".to_string(), tls(3)),
            (
                "nostarttls.tls.test".to_string(),
                vec!["no_starttls".into()]
            ),
            ("wrongname.tls.test".to_string(), tls(1)),
        ],
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
