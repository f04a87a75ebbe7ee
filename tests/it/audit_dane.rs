//! DANE for SMTP against real servers on loopback: fixtures/audit/dane.zone.in
//! on the test DNS server, its TLSA association data computed at start
//! from the certificates the test SMTP servers made, its zones signed
//! under the test root (support/dane.rs), the MTA-STS policies on the test
//! HTTPS server. mailvet validates the TLSA answers itself from the test
//! trust anchor: no AD bit is set anywhere. Every case of
//! fixtures/audit/dane.cases.json gives exactly its expected codes through
//! the full audit and the DANE verdict it names at its address.

use crate::support;
use crate::support::scratch::ScratchDir;

use mailvet::dns::Dns;
use mailvet::domain::AuditOptions;
use mailvet::domain::dnssec::DnssecStatus;
use mailvet::domain::report::{self, DomainReport};
use mailvet::domain::transport::dane::DaneStatus;
use mailvet::records::name::DomainName;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use support::TestDns;
use support::audit_cases::{Case, Rules, run_cases};
use support::https::TestHttps;
use support::signed::SignedTree;
use support::smtp::TestSmtp;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/audit/dane.cases.json"
);

/// What a DANE case expects at its (only) address besides its codes.
#[derive(Debug, Deserialize)]
struct Expect {
    /// The usage, selector and matching type of the record that matched.
    #[serde(default)]
    matched: Option<String>,
    /// The DANE status as the report writes it, when nothing matched.
    #[serde(default)]
    status: Option<String>,
}

struct Servers {
    dns: TestDns,
    /// The signed zones, and the trust anchor over them.
    tree: Arc<SignedTree>,
    https: TestHttps,
    smtp: TestSmtp,
}

async fn servers() -> Servers {
    let smtp = TestSmtp::start().await;
    let tree = Arc::new(support::dane::signed_tree(&smtp));
    Servers {
        dns: TestDns::start_signed(Arc::clone(&tree)).await,
        tree,
        https: TestHttps::start().await,
        smtp,
    }
}

impl Servers {
    fn options(&self) -> AuditOptions {
        support::smtp::probe_options(&self.https, &self.smtp, Duration::from_secs(3))
    }

    async fn audit(&self, domain: &str) -> DomainReport {
        let anchor = self.tree.trust_anchor();
        let dns = Dns::with_trust_anchor(self.dns.settings(), Vec::new(), anchor)
            .expect("resolver layer");
        let name = DomainName::parse(domain).unwrap();
        report::audit(&dns.resolver(), &name, &self.options(), true).await
    }
}

/// The codes of DANE, the probe and MTA-STS's view of the MX hosts.
fn is_dane_case_code(code: &str) -> bool {
    code.starts_with("dane.")
        || code.starts_with("tls.")
        || code == "mta_sts.enforce_tls_failure"
        || code == "mta_sts.mx_not_covered"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_gives_exactly_its_expected_codes_and_verdict() {
    let servers = servers().await;
    run_cases(
        &servers.dns,
        CASES,
        Rules::STRICT,
        async |case: &Case<Expect>, errors: &mut Vec<String>| {
            let report = servers.audit(&case.domain).await;
            let [address] = report.transport.addresses.as_slice() else {
                errors.push(format!("not one address: {:?}", report.transport));
                return Vec::new();
            };
            let verdict = address.dane.clone();
            let got = verdict.as_ref().map(|d| d.status);
            match (&case.more.matched, &case.more.status) {
                (Some(record), _) => {
                    let matched = verdict.as_ref().and_then(|d| d.record.clone());
                    if got != Some(DaneStatus::Matched)
                        || !matched
                            .as_deref()
                            .is_some_and(|m| m.starts_with(record.as_str()))
                    {
                        errors.push(format!("expected a match of {record}, got {verdict:?}"));
                    }
                }
                (None, Some(status)) => {
                    let written = got.map(|s| serde_json::to_value(s).unwrap());
                    if written.as_ref().and_then(|w| w.as_str()) != Some(status.as_str())
                        || verdict.as_ref().is_some_and(|d| d.reason.is_none())
                    {
                        errors.push(format!(
                            "expected {status:?} with a reason, got {verdict:?}"
                        ));
                    }
                }
                (None, None) => errors.push("the case names no verdict".into()),
            }
            report
                .findings
                .into_iter()
                .filter(|f| is_dane_case_code(f.code))
                .collect()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tlsa_is_asked_once_per_host_traced_and_listed_with_its_zone_status() {
    let servers = servers().await;
    let report = servers.audit("healthy.dane.test").await;
    assert_eq!(
        servers.dns.count(
            "_25._tcp.healthy.mx.dane.test.",
            hickory_proto::rr::RecordType::TLSA
        ),
        1
    );
    let traced = serde_json::to_string(&report.dns).unwrap();
    assert!(traced.contains("_25._tcp.healthy.mx.dane.test"), "{traced}");
    let [host] = report.transport.tlsa.as_slice() else {
        panic!("{:?}", report.transport.tlsa);
    };
    assert_eq!(host.name, "_25._tcp.healthy.mx.dane.test");
    assert_eq!(host.security, DnssecStatus::Secure);
    assert_eq!(host.security_reason, None);
    let records: Vec<(u8, u8, u8)> = host
        .records
        .iter()
        .map(|r| (r.usage, r.selector, r.matching))
        .collect();
    assert_eq!(records, [(3, 1, 1), (2, 1, 1)]);
    assert!(
        host.records
            .iter()
            .all(|r| r.usable() && r.data.len() == 64)
    );
    let json = serde_json::to_value(&report.transport).unwrap();
    assert_eq!(json["addresses"][0]["dane"]["status"], "matched");
    assert_eq!(json["tlsa"][0]["security"], "secure");
    let summary = mailvet::domain::protocol::Audited::summary(&report.transport);
    assert!(summary.contains("DANE matched"), "{summary}");
}

/// The "done when", through the command line: `mailvet domain
/// --probe-smtp` against the signed fixtures with `--trust-anchor` lists
/// the MX address with its TLS session and DANE match, and the DNSSEC
/// status of the domain, of its MX host and of the TLSA answer, each
/// computed by mailvet from the test anchor (the test server sets no AD
/// bit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_probes_and_validates_with_the_test_trust_anchor() {
    let servers = servers().await;
    let dir = ScratchDir::new("dane-cli");
    let anchor = servers.tree.write_anchor(&dir);
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &servers.smtp.ca_pem).unwrap();
    let output = crate::mailvet()
        .args(["domain", "healthy.dane.test", "--probe-smtp"])
        .args(["--dns", &servers.dns.dns_arg()])
        .arg("--trust-anchor")
        .arg(&anchor)
        .arg("--ca-file")
        .arg(&ca)
        .args(["--allow-private-fetch", "--probe-timeout", "3s"])
        .args(["--smtp-port", &servers.smtp.port.to_string()])
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let transport = &report["transport"];
    assert_eq!(transport["probed"], true);
    let addresses = transport["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 1, "{transport}");
    assert_eq!(addresses[0]["address"], "127.0.0.32");
    assert_eq!(addresses[0]["status"], "tls");
    assert_eq!(addresses[0]["dane"]["status"], "matched", "{transport}");
    assert_eq!(transport["tlsa"][0]["security"], "secure");
    let dnssec = &report["dnssec"];
    assert_eq!(dnssec["status"], "secure", "{dnssec}");
    // The test root, test. and dane.test.
    assert_eq!(dnssec["chain"].as_array().unwrap().len(), 3, "{dnssec}");
    assert_eq!(dnssec["mx_hosts"][0]["status"], "secure");
    let codes = crate::support::api::finding_codes(&report);
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("dane.") || c.starts_with("dnssec.") || c.starts_with("tls.")),
        "{codes:?}"
    );
}
