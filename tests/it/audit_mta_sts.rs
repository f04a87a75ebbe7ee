//! The MTA-STS check against real servers on loopback: the fixture zone
//! (fixtures/audit/mta-sts.zone) on the test DNS server and the policy
//! hosts on the test HTTPS server (support/https.rs). Every case of
//! fixtures/audit/mta-sts.cases.json gives exactly its expected codes; the
//! private-address guard refuses loopback and every other special-purpose
//! address class without connecting; DNS failures give "unknown" and no
//! finding.

use crate::support;

use hickory_proto::rr::{Name, RecordType};
use mailvet::dns::Dns;
use mailvet::domain::mta_sts::{self, MtaStsSection, PolicyStatus, RecordStatus};
use mailvet::domain::protocol::Audited;
use mailvet::domain::{AuditContext, AuditOptions};
use mailvet::findings::Checked;
use mailvet::findings::Finding;
use mailvet::records::mta_sts::Mode;
use mailvet::records::name::DomainName;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::audit_cases::{self, Case, Rules, run_cases};
use support::https::TestHttps;
use support::{FaultKind, FaultTypes, TestDns};

const ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/audit/mta-sts.zone");
const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/audit/mta-sts.cases.json"
);

/// What an MTA-STS case adds.
#[derive(serde::Deserialize)]
struct MtaSts {
    /// The domain's MX hosts, for the coverage step.
    #[serde(default)]
    mx_hosts: Vec<String>,
    /// A piece of the first finding's detail: the exact reason.
    #[serde(default)]
    detail_contains: Option<String>,
}

fn options(https: &TestHttps) -> AuditOptions {
    AuditOptions {
        allow_private_fetch: true,
        extra_roots_pem: https.ca_pem.clone(),
        https_port: https.port(),
        fetch_timeout: Duration::from_secs(3),
        ..AuditOptions::default()
    }
}

async fn audit(dns: &Arc<Dns>, domain: &str, options: &AuditOptions) -> Checked<MtaStsSection> {
    let resolver = dns.resolver();
    let domain = DomainName::parse(domain).unwrap();
    let cx = AuditContext {
        resolver: &resolver,
        domain: &domain,
        options,
    };
    mta_sts::check(&cx).await
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    let mut codes: Vec<_> = findings.iter().map(|f| f.code).collect();
    codes.sort();
    codes
}

/// The MX hosts the DNS publishes, as the MX check would pass them on.
async fn mx_hosts(dns: &Arc<Dns>, domain: &str) -> Vec<String> {
    let answer = dns
        .resolver()
        .lookup(
            &Name::from_ascii(format!("{domain}.")).unwrap(),
            RecordType::MX,
        )
        .await
        .unwrap();
    let mut hosts: Vec<String> = answer
        .mx()
        .iter()
        .map(|(_, host)| host.to_ascii().trim_end_matches('.').to_string())
        .collect();
    hosts.sort();
    hosts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_gives_exactly_its_expected_codes() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let options = options(&https);
    let cases: Vec<Case<MtaSts>> = audit_cases::read(CASES);
    assert!(cases.iter().any(|c| c.expect.is_empty()), "no healthy case");
    run_cases(
        &server,
        CASES,
        Rules::STRICT,
        async |case: &Case<MtaSts>, errors: &mut Vec<String>| {
            // The cases file must agree with the zone, since the full audit
            // takes the MX hosts from DNS.
            let mut listed = case.more.mx_hosts.clone();
            listed.sort();
            let published = mx_hosts(&dns, &case.domain).await;
            if published != listed {
                errors.push(format!("mx_hosts {listed:?}, the zone has {published:?}"));
            }

            let connections = https.accepted();
            let checked = audit(&dns, &case.domain, &options).await;
            let mut findings = checked.findings.clone();
            findings.extend(mta_sts::coverage(&checked.section, &case.more.mx_hosts));
            if let Some(piece) = &case.more.detail_contains {
                let detail = findings.first().map(|f| f.detail.as_str());
                if !detail.is_some_and(|d| d.contains(piece.as_str())) {
                    errors.push(format!("first detail {detail:?} lacks {piece:?}"));
                }
            }
            // A policy is fetched exactly when the record is valid.
            let valid = checked.section.status == RecordStatus::Valid;
            if checked.section.policy.is_some() != valid {
                errors.push(format!(
                    "record {:?}, policy fetched: {}",
                    checked.section.status,
                    checked.section.policy.is_some()
                ));
            }
            if !valid && https.accepted() != connections {
                errors.push("connected for an invalid record".to_string());
            }
            findings
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthy_section_shows_record_fetch_and_policy() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let checked = audit(&dns, "healthy.mta-sts.test", &options(&https)).await;
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    let section = &checked.section;
    assert_eq!(section.name, "_mta-sts.healthy.mta-sts.test");
    assert_eq!(section.records, vec!["v=STSv1; id=20260101000000"]);
    let policy = section.policy.as_ref().unwrap();
    assert_eq!(policy.status, PolicyStatus::Valid);
    assert_eq!(
        policy.url,
        format!(
            "https://mta-sts.healthy.mta-sts.test:{}/.well-known/mta-sts.txt",
            https.port()
        )
    );
    assert_eq!(
        policy.addresses,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(policy.http_status, Some(200));
    assert_eq!(policy.content_type.as_deref(), Some("text/plain"));
    let parsed = policy.parsed.as_ref().unwrap();
    assert_eq!(parsed.mode, Mode::Enforce);
    assert_eq!(parsed.max_age, 604800);
    assert!(
        policy
            .text
            .as_deref()
            .unwrap()
            .starts_with("version: STSv1\r\n")
    );
    // The policy host was resolved through the test DNS server.
    assert_eq!(
        server.count("mta-sts.healthy.mta-sts.test", RecordType::A),
        1
    );
    let json = serde_json::to_value(section).unwrap();
    assert_eq!(json["status"], "valid");
    assert_eq!(json["record"]["id"], "20260101000000");
    assert_eq!(json["policy"]["parsed"]["mode"], "enforce");
    assert_eq!(json["policy"]["http_status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_policy_host_is_refused_without_connecting() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let options = AuditOptions {
        allow_private_fetch: false,
        ..options(&https)
    };
    let checked = audit(&dns, "healthy.mta-sts.test", &options).await;
    assert_eq!(codes(&checked.findings), vec!["mta_sts.policy_unreachable"]);
    let detail = &checked.findings[0].detail;
    assert!(detail.contains("127.0.0.1"), "{detail}");
    assert!(detail.contains("--allow-private-fetch"), "{detail}");
    let policy = checked.section.policy.as_ref().unwrap();
    assert_eq!(policy.status, PolicyStatus::Unreachable);
    assert_eq!(policy.refused_addresses, policy.addresses);
    assert_eq!(https.accepted(), 0, "a connection reached the server");

    // The same fetch with private addresses allowed does connect.
    let allowed = audit(&dns, "healthy.mta-sts.test", &options_allowing(&options)).await;
    assert!(allowed.findings.is_empty(), "{:#?}", allowed.findings);
    assert!(https.accepted() >= 1);
}

/// `--offline` sends nothing to the network: the policy is not fetched
/// (no connection reaches the server, whatever the flags allow), by
/// choice: neither unreachable nor undecided (no failed lookup, and no
/// second run offline could fetch it), without a finding, and the
/// summary says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_policy_is_not_fetched_and_said() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let options = AuditOptions {
        offline: true,
        ..options(&https)
    };
    let checked = audit(&dns, "healthy.mta-sts.test", &options).await;
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    let policy = checked.section.policy.as_ref().unwrap();
    assert_eq!(policy.status, PolicyStatus::NotFetched);
    assert_eq!(
        policy.error.as_deref(),
        Some("not fetched: --offline sends nothing to the network")
    );
    assert_eq!(checked.section.undecided(), None);
    assert_eq!(
        checked.section.summary(),
        "valid record; its policy is not fetched (--offline)"
    );
    assert_eq!(https.accepted(), 0, "a connection reached the server");
}

fn options_allowing(options: &AuditOptions) -> AuditOptions {
    AuditOptions {
        allow_private_fetch: true,
        ..options.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_timeout_on_the_record_is_unknown_and_silent() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    server.add_fault(
        "_mta-sts.healthy.mta-sts.test",
        FaultTypes::Only(vec![RecordType::TXT]),
        FaultKind::NoAnswer,
    );
    let https = TestHttps::start().await;
    let dns = server.layer();
    let checked = audit(&dns, "healthy.mta-sts.test", &options(&https)).await;
    assert_eq!(checked.section.status, RecordStatus::Unknown);
    assert!(
        checked
            .section
            .error
            .as_deref()
            .unwrap()
            .contains("query timeout"),
        "{:?}",
        checked.section.error
    );
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    assert!(checked.section.policy.is_none());
    assert_eq!(https.accepted(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_for_the_policy_host_is_unknown_and_silent() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    server.add_fault(
        "mta-sts.healthy.mta-sts.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let https = TestHttps::start().await;
    let dns = server.layer();
    let checked = audit(&dns, "healthy.mta-sts.test", &options(&https)).await;
    assert_eq!(checked.section.status, RecordStatus::Valid);
    let policy = checked.section.policy.as_ref().unwrap();
    assert_eq!(policy.status, PolicyStatus::Unknown);
    assert!(
        policy.error.as_deref().unwrap().contains("SERVFAIL"),
        "{:?}",
        policy.error
    );
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    assert_eq!(https.accepted(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_does_not_answer_times_out() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let options = AuditOptions {
        fetch_timeout: Duration::from_millis(700),
        ..options(&https)
    };
    let started = Instant::now();
    let checked = audit(&dns, "slow.mta-sts.test", &options).await;
    // The server would answer after 30 s (`support::https::SLOW`): ten
    // seconds tell the timeout from a wait for it, with room for a loaded
    // machine's delays.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(codes(&checked.findings), vec!["mta_sts.policy_unreachable"]);
    let detail = &checked.findings[0].detail;
    assert!(
        detail.contains("no complete answer within 700 ms"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_untrusted_ca_is_a_tls_error() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    // Only the Mozilla roots: the test CA is unknown.
    let options = AuditOptions {
        extra_roots_pem: Vec::new(),
        ..options(&https)
    };
    let checked = audit(&dns, "healthy.mta-sts.test", &options).await;
    assert_eq!(codes(&checked.findings), vec!["mta_sts.policy_unreachable"]);
    let detail = &checked.findings[0].detail;
    assert!(
        detail.contains("TLS error: invalid peer certificate: UnknownIssuer"),
        "{detail}"
    );
    assert_eq!(https.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_extra_roots_make_the_fetch_unknown_not_unreachable() {
    let server = TestDns::start(&[Path::new(ZONE)]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let options = AuditOptions {
        extra_roots_pem: b"not a PEM file".to_vec(),
        ..options(&https)
    };
    let checked = audit(&dns, "healthy.mta-sts.test", &options).await;
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    let policy = checked.section.policy.as_ref().unwrap();
    assert_eq!(policy.status, PolicyStatus::Unknown);
    assert!(
        policy.error.as_deref().unwrap().contains("--ca-file"),
        "{:?}",
        policy.error
    );
    assert_eq!(https.accepted(), 0);
}

/// A policy host at one address of each class the fetch guard refuses:
/// the IANA special-purpose registries, multicast, and the IPv6 forms that
/// carry an IPv4 address (judged by it) or lead somewhere unknown.
const REFUSED: &[(&str, &str)] = &[
    ("this-network", "0.0.0.1"),
    ("private10", "10.0.0.1"),
    ("shared", "100.64.0.1"),
    ("loopback", "127.0.0.1"),
    ("link-local", "169.254.1.1"),
    ("private172", "172.16.0.1"),
    ("ietf", "192.0.0.1"),
    ("test-net-1", "192.0.2.1"),
    ("relay", "192.88.99.1"),
    ("private192", "192.168.0.1"),
    ("benchmark", "198.18.0.1"),
    ("test-net-2", "198.51.100.1"),
    ("test-net-3", "203.0.113.1"),
    ("multicast", "224.0.0.1"),
    ("reserved", "240.0.0.1"),
    ("broadcast", "255.255.255.255"),
    ("unspecified", "::"),
    ("loopback6", "::1"),
    ("compatible", "::7f00:1"),
    ("mapped", "::ffff:127.0.0.1"),
    ("nat64", "64:ff9b::7f00:1"),
    ("nat64-local", "64:ff9b:1::808:808"),
    ("discard", "100::1"),
    ("teredo", "2001:0:4136:e378::1"),
    ("benchmark6", "2001:2::1"),
    ("documentation6", "2001:db8::1"),
    ("sixtofour", "2002:7f00:1::"),
    ("documentation3fff", "3fff::1"),
    ("unique-local", "fd00::1"),
    ("link-local6", "fe80::1"),
    ("site-local", "fec0::1"),
    ("multicast6", "ff02::1"),
    ("unallocated6", "4000::1"),
];

fn refused_zone() -> String {
    let mut zone =
        String::from("$ORIGIN ssrf.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n");
    for (label, address) in REFUSED {
        let rtype = if address.contains(':') { "AAAA" } else { "A" };
        zone.push_str(&format!(
            "_mta-sts.{label} IN TXT \"v=STSv1; id=1\"\nmta-sts.{label} IN {rtype} {address}\n"
        ));
    }
    zone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_address_class_that_is_not_public_is_refused_without_connecting() {
    let server = TestDns::start_with_texts(&[&refused_zone()]).await;
    let https = TestHttps::start().await;
    let dns = server.layer();
    let guarded = AuditOptions {
        allow_private_fetch: false,
        ..options(&https)
    };
    for (label, address) in REFUSED {
        let domain = format!("{label}.ssrf.test");
        let checked = audit(&dns, &domain, &guarded).await;
        assert_eq!(
            codes(&checked.findings),
            vec!["mta_sts.policy_unreachable"],
            "{domain}"
        );
        let policy = checked.section.policy.as_ref().unwrap();
        let ip: std::net::IpAddr = address.parse().unwrap();
        assert_eq!(policy.refused_addresses, vec![ip], "{domain}");
        let detail = &checked.findings[0].detail;
        assert!(
            detail.contains("--allow-private-fetch"),
            "{domain}: {detail}"
        );
        assert_eq!(https.accepted(), 0, "{domain}: a connection was made");
    }
    // Without the guard the same fetches go out: to the test server for
    // the forms this host routes to loopback (the others are not tried,
    // since they would leave the machine).
    let open = options_allowing(&guarded);
    for label in ["loopback", "mapped"] {
        let before = https.accepted();
        let checked = audit(&dns, &format!("{label}.ssrf.test"), &open).await;
        let policy = checked.section.policy.as_ref().unwrap();
        assert!(policy.refused_addresses.is_empty(), "{label}");
        assert!(https.accepted() > before, "{label}: no connection was made");
    }
}
