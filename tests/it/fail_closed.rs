//! Failing closed: a DNS lookup that fails never makes a check look
//! healthy or "missing". For each check of the audit, the one lookup it
//! rests on is made to fail on the test DNS server (SERVFAIL, or no answer
//! at all), and the report must list that check, and only it, as
//! undecided, with no score and the verdict `unknown`, and no warning or
//! error besides the `*.dns_error` findings. Then the CLI: every lookup
//! failing exits 3, "could not be checked", in every format.

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::dns::{Dns, Settings, UpstreamChoice};
use mailvet::domain::AuditOptions;
use mailvet::domain::report::{self, DomainReport};
use mailvet::findings::{Severity, Verdict};
use mailvet::records::name::DomainName;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use support::https::TestHttps;
use support::{FaultKind, FaultTypes, TestDns};

const MTA_STS_ZONE: &str = "fixtures/audit/mta-sts.zone";
/// Healthy in every check, with an MTA-STS policy on the test HTTPS server.
const DOMAIN: &str = "healthy.mta-sts.test";

fn layer(dns: &TestDns) -> Arc<Dns> {
    Dns::new(
        Settings {
            upstream: UpstreamChoice::Servers(vec![dns.addr]),
            query_timeout: Duration::from_millis(300),
            attempts: 1,
            deadline: Duration::from_secs(8),
            cache_capacity: 0,
            ..Settings::default()
        },
        Vec::new(),
    )
    .unwrap()
}

async fn audit(dns: &TestDns, https: &TestHttps) -> DomainReport {
    let options = AuditOptions {
        allow_private_fetch: true,
        fetch_timeout: Duration::from_secs(2),
        extra_roots_pem: https.ca_pem.clone(),
        https_port: https.port(),
        ..AuditOptions::default()
    };
    let domain = DomainName::parse(DOMAIN).unwrap();
    report::audit(&layer(dns).resolver(), &domain, &options, false).await
}

fn undecided(report: &DomainReport) -> Vec<&'static str> {
    report.undecided.iter().map(|u| u.check).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_closed_when_its_lookup_fails() {
    let dns = TestDns::start(&[Path::new(MTA_STS_ZONE)]).await;
    let https = TestHttps::start().await;

    let healthy = audit(&dns, &https).await;
    assert_eq!(undecided(&healthy), Vec::<&str>::new());
    assert_eq!(healthy.verdict, Verdict::Pass);
    assert_eq!(healthy.score, Some(100));

    let txt = || FaultTypes::Only(vec![RecordType::TXT]);
    // The check that must be undecided, and the faults that should do it.
    type Faults<'a> = Vec<(&'a str, FaultTypes, FaultKind)>;
    let cases: Vec<(&str, Faults)> = vec![
        ("spf", vec![(DOMAIN, txt(), FaultKind::ServFail)]),
        ("spf", vec![(DOMAIN, txt(), FaultKind::NoAnswer)]),
        (
            "dmarc",
            vec![("_dmarc.healthy.mta-sts.test", txt(), FaultKind::ServFail)],
        ),
        (
            "dkim",
            vec![(
                "selector1._domainkey.healthy.mta-sts.test",
                txt(),
                FaultKind::ServFail,
            )],
        ),
        (
            "mx",
            vec![(
                DOMAIN,
                FaultTypes::Only(vec![RecordType::MX]),
                FaultKind::ServFail,
            )],
        ),
        // One exchange's addresses.
        (
            "mx",
            vec![(
                "mx1.healthy.mta-sts.test",
                FaultTypes::All,
                FaultKind::ServFail,
            )],
        ),
        (
            "mta_sts",
            vec![("_mta-sts.healthy.mta-sts.test", txt(), FaultKind::ServFail)],
        ),
        // The policy host's address: the policy cannot be fetched.
        (
            "mta_sts",
            vec![(
                "mta-sts.healthy.mta-sts.test",
                FaultTypes::All,
                FaultKind::ServFail,
            )],
        ),
        (
            "tls_rpt",
            vec![(
                "_smtp._tls.healthy.mta-sts.test",
                txt(),
                FaultKind::ServFail,
            )],
        ),
        (
            "bimi",
            vec![(
                "default._bimi.healthy.mta-sts.test",
                txt(),
                FaultKind::ServFail,
            )],
        ),
        // The domain's SOA fails, with and without checking disabled.
        (
            "dnssec",
            vec![(
                DOMAIN,
                FaultTypes::Only(vec![RecordType::SOA]),
                FaultKind::ServFail,
            )],
        ),
    ];
    let mut wrong = Vec::new();
    for (check, faults) in cases {
        dns.clear_faults();
        let what = format!("{check} with {faults:?}");
        for (name, types, kind) in faults {
            dns.add_fault(name, types, kind);
        }
        let report = audit(&dns, &https).await;
        if undecided(&report) != [check] {
            wrong.push(format!("{what}: undecided {:?}", report.undecided));
        }
        if report.verdict != Verdict::Unknown || report.score.is_some() {
            wrong.push(format!("{what}: {:?} {:?}", report.verdict, report.score));
        }
        // Nothing reads the failure as a missing or broken record.
        let claims: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning && !f.code.ends_with(".dns_error"))
            .map(|f| f.code)
            .collect();
        if !claims.is_empty() {
            wrong.push(format!("{what}: {claims:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Runs mailvet with these arguments.
async fn mailvet(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DNS")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .await
        .expect("run mailvet")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The case: a nameserver that answers nothing (port 0 refuses).
const NO_DNS: [&str; 6] = [
    "--dns",
    "127.0.0.1:0",
    "--dns-timeout",
    "200ms",
    "--deadline",
    "2s",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lookup_failing_exits_3_could_not_be_checked_in_every_format() {
    let run = |format: &'static str, fail_on: &'static str| async move {
        // Listed in a file too, for SARIF results to point at.
        let mut args = vec![
            "domain",
            "example.com",
            "--file",
            "fixtures/check/example.domains",
            "--format",
            format,
            "--fail-on",
            fail_on,
        ];
        args.extend_from_slice(&NO_DNS);
        mailvet(&args).await
    };
    let text = run("text", "error").await;
    assert_eq!(text.status.code(), Some(3), "{}", stdout(&text));
    let shown = stdout(&text);
    assert!(
        shown.starts_with("UNKNOWN example.com · could not be checked"),
        "{shown}"
    );
    assert!(!shown.contains("/100"), "no score: {shown}");
    for check in [
        "SPF", "DMARC", "DKIM", "MX", "MTA-STS", "TLS-RPT", "BIMI", "DNSSEC",
    ] {
        assert!(
            shown.contains(&format!("undecided {check}: ")),
            "{check}: {shown}"
        );
    }

    let json = run("json", "error").await;
    assert_eq!(json.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["verdict"], "unknown");
    assert!(report["score"].is_null());
    assert_eq!(report["undecided"].as_array().unwrap().len(), 8);

    let junit = run("junit", "error").await;
    assert_eq!(junit.status.code(), Some(3));
    let xml = stdout(&junit);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap_or_else(|| panic!("no <error> in {xml}"));
    assert_eq!(error.attribute("type"), Some("audit.undecided"));
    assert_eq!(doc.root_element().attribute("errors"), Some("1"), "{xml}");

    let sarif = run("sarif", "error").await;
    assert_eq!(sarif.status.code(), Some(3));
    let log: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let undecided = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "audit.undecided")
        .expect("an audit.undecided result");
    assert_eq!(undecided["level"], "error");
    assert_eq!(undecided["properties"]["failsRun"], true);
    assert_eq!(
        undecided["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/check/example.domains"
    );
    assert_eq!(
        undecided["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );

    // --fail-on sets which findings fail; "could not be checked" is not a
    // finding, and is never a pass.
    assert_eq!(run("text", "never").await.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_found_among_what_was_decided_fails_whatever_is_undecided() {
    let server = TestDns::start_with_texts(&[
        "$ORIGIN mixed.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\n@ TXT \"v=spf1 +all\"\n\
         _dmarc TXT \"v=DMARC1; p=reject\"\n",
    ])
    .await;
    server.add_fault("_dmarc.mixed.test", FaultTypes::All, FaultKind::ServFail);
    let dns = server.dns_arg();
    let out = mailvet(&["domain", "mixed.test", "--dns", &dns, "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "fail");
    assert!(report["score"].is_null());
    assert_eq!(report["undecided"][0]["check"], "dmarc");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "spf.plus_all")
    );
}

/// A message whose signing key cannot be fetched: DKIM is undecided (not
/// failed), so the report is "could not be checked" with no grade, the
/// rules resting on DKIM are unknown for the lookup rather than unmet,
/// and the CLI exits 3 in every format; SPF and DMARC, decided, stay as
/// they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_key_lookup_fails_is_undecided_not_failed() {
    let server = TestDns::start(&[
        Path::new("fixtures/web/web.zone"),
        Path::new("fixtures/web/reverse.zone"),
    ])
    .await;
    server.add_fault(
        "ed._domainkey.web.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let dns = server.dns_arg();
    let run = |format: &'static str| {
        let dns = dns.clone();
        async move {
            mailvet(&[
                "message",
                "fixtures/web/signed.eml",
                "--ip",
                "203.0.113.20",
                "--helo",
                "mail.web.test",
                "--mail-from",
                "bounce@web.test",
                "--dns",
                &dns,
                "--format",
                format,
            ])
            .await
        }
    };
    let json = run("json").await;
    assert_eq!(json.status.code(), Some(3), "{}", stdout(&json));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["verdict"], "unknown");
    assert!(report["grade"].is_null());
    let undecided: Vec<&str> = report["undecided"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["check"].as_str().unwrap())
        .collect();
    assert_eq!(undecided, ["dkim"]);
    assert_eq!(report["spf"]["result"], "pass");
    assert_eq!(report["dmarc"]["result"], "pass");
    let rule = |id: &str| {
        report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id}"))
    };
    let both = rule("gmail.bulk.spf_and_dkim");
    assert_eq!(both["status"], "unknown", "{both}");
    assert!(both["note"].as_str().unwrap().contains("DNS lookup failed"));
    // SPF passes: "SPF or DKIM" is decided whatever DKIM turns out to be.
    assert_eq!(rule("gmail.all.spf_or_dkim")["status"], "met");

    let text = run("text").await;
    assert_eq!(text.status.code(), Some(3));
    let shown = stdout(&text);
    assert!(
        shown.starts_with("UNKNOWN fixtures/web/signed.eml"),
        "{shown}"
    );
    assert!(shown.contains("undecided DKIM: "), "{shown}");
    assert!(
        shown.contains("Grade    none while a check is undecided"),
        "{shown}"
    );

    let junit = run("junit").await;
    assert_eq!(junit.status.code(), Some(3));
    let xml = stdout(&junit);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert!(
        doc.descendants()
            .any(|n| n.has_tag_name("error") && n.attribute("type") == Some("audit.undecided")),
        "{xml}"
    );

    // `message --help` tells a user what this exit means.
    let help = stdout(&mailvet(&["message", "--help"]).await);
    assert!(
        help.contains("3 could not be checked: a DNS lookup failed and left SPF, DKIM, DMARC or iprev undecided"),
        "{help}"
    );
}
