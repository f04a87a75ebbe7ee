//! DNSSEC as mailvet validates it, against a real DNS server on loopback
//! serving the fixture zones of fixtures/dnssec, signed at test start
//! (support::signed), with the test root's DS as the trust anchor: every
//! case of dnssec.cases.json gives exactly its codes and status; the chain
//! is reported; negative answers are proven by NSEC and NSEC3; validation
//! questions are memoized, traced and on the question budget; zone
//! overlays, `--offline`, failed lookups and unsigned upstreams are
//! indeterminate ("unknown"), never bogus or insecure.

use crate::support;
use crate::support::scratch::ScratchDir;

use hickory_proto::rr::{Name, RecordType};
use mailvet::dns::dnssec::Security;
use mailvet::dns::dnssec::anchor::TrustAnchor;
use mailvet::dns::{Dns, Settings, UpstreamChoice, zone};
use mailvet::domain::dnssec::{self, DnssecSection, DnssecStatus};
use mailvet::findings::Checked;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

use support::audit_cases::{Case, Rules, run_cases};
use support::signed::SignedTree;
use support::{FaultKind, FaultTypes, TestDns};

const CASES: &str = "fixtures/audit/dnssec.cases.json";

fn tree() -> Arc<SignedTree> {
    SignedTree::fixtures()
}

fn anchor() -> TrustAnchor {
    tree().trust_anchor()
}

async fn server() -> TestDns {
    TestDns::start_signed(tree()).await
}

fn layer(server: &TestDns, settings: Settings) -> Arc<Dns> {
    let _ = server;
    Dns::with_trust_anchor(settings, Vec::new(), anchor()).expect("layer")
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<DnssecSection> {
    let run = support::AuditRun::new(dns.resolver(), domain);
    dnssec::check(&run.cx()).await
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A case's own fields: the status, and words its reason must hold.
#[derive(Debug, Deserialize)]
struct Expected {
    /// As the report's JSON says it.
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_codes_and_status() {
    let server = server().await;
    let dns = layer(&server, server.settings());
    run_cases(
        &server,
        CASES,
        Rules::STRICT,
        async |case: &Case<Expected>, errors: &mut Vec<String>| {
            let checked = audit(&dns, &case.domain).await;
            let section = &checked.section;
            let status = serde_json::to_value(section.status).unwrap();
            if status != case.more.status.as_str() {
                errors.push(format!(
                    "status {status}, not {}: {}",
                    case.more.status, section.explanation
                ));
            }
            if let Some(words) = &case.more.reason
                && !section.explanation.contains(words.as_str())
            {
                errors.push(format!(
                    "explanation lacks {words:?}: {}",
                    section.explanation
                ));
            }
            for f in &checked.findings {
                if !f.detail.contains(&case.domain) {
                    errors.push(format!("{} detail lacks the domain: {}", f.code, f.detail));
                }
            }
            checked.findings
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_section_shows_the_chain_and_each_mx_host() {
    let server = server().await;
    let dns = layer(&server, server.settings());
    let checked = audit(&dns, "healthy.test").await;
    let section = &checked.section;
    let zones: Vec<&str> = section.chain.iter().map(|l| l.zone.as_str()).collect();
    assert_eq!(zones, vec![".", "test.", "healthy.test."]);
    for link in &section.chain {
        assert_eq!(link.ds.len(), 1, "{link:?}");
        assert_eq!(link.dnskey.len(), 1, "{link:?}");
        assert!(link.dnskey[0].contains("KSK"), "{link:?}");
    }
    assert!(section.chain[1].ds[0].starts_with("test. DS "));
    assert_eq!(section.mx_hosts.len(), 1);
    assert_eq!(section.mx_hosts[0].host, "mx.healthy.test");
    assert_eq!(section.mx_hosts[0].status, DnssecStatus::Secure);
    let json = serde_json::to_value(section).unwrap();
    assert_eq!(json["status"], "secure");
    assert_eq!(json["chain"][2]["zone"], "healthy.test.");

    let checked = audit(&dns, "mxinsecure.test").await;
    let host = &checked.section.mx_hosts[0];
    assert_eq!(host.host, "mail.insecure.test");
    assert_eq!(host.status, DnssecStatus::Insecure);
    assert!(host.reason.as_deref().unwrap().contains("insecure.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_answers_are_proven_by_nsec_and_nsec3() {
    let server = server().await;
    let dns = layer(&server, server.settings());
    let resolver = dns.resolver();
    for (qname, rtype) in [
        // NXDOMAIN in an NSEC zone and in an NSEC3 zone.
        ("nothere.test.", RecordType::A),
        ("nothere.healthy.test.", RecordType::A),
        ("deep.nothere.healthy.test.", RecordType::TXT),
        // NODATA in each.
        ("ns.test.", RecordType::TXT),
        ("mx.healthy.test.", RecordType::TXT),
        // An empty non-terminal of an NSEC3 zone.
        ("_tcp.mx.healthy.test.", RecordType::TLSA),
    ] {
        let v = resolver
            .lookup_validated(&name(qname), rtype)
            .await
            .unwrap();
        assert_eq!(v.security, Security::Secure, "{qname} {rtype}: {v:?}");
        assert!(v.answer.is_empty_of(rtype));
    }
    // Positive answers, and a name below an insecure delegation.
    let v = resolver
        .lookup_validated(&name("_dmarc.healthy.test."), RecordType::TXT)
        .await
        .unwrap();
    assert_eq!(v.security, Security::Secure);
    assert_eq!(v.answer.txt().len(), 1);
    let v = resolver
        .lookup_validated(&name("mail.insecure.test."), RecordType::A)
        .await
        .unwrap();
    assert!(matches!(v.security, Security::Insecure(_)), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_answer_is_secure_only_with_the_proof_the_name_does_not_exist() {
    let server = server().await;
    // *.wild.test (NSEC) and *.wild.healthy.test (NSEC3), a name one and
    // two labels below each wildcard's parent.
    let names = [
        "a.wild.test.",
        "b.a.wild.test.",
        "a.wild.healthy.test.",
        "b.a.wild.healthy.test.",
    ];
    // Each name asked afresh (no memo).
    let ask = async |qname: &str, rtype: RecordType| {
        let dns = layer(&server, server.settings());
        let resolver = dns.resolver();
        resolver
            .lookup_validated(&name(qname), rtype)
            .await
            .unwrap()
    };
    // Its TXT answer from the wildcard.
    let validate = async |qname: &str| {
        let v = ask(qname, RecordType::TXT).await;
        assert_eq!(v.answer.txt(), [[&b"from the wildcard"[..]]], "{qname}");
        v.security
    };
    for qname in names {
        assert_eq!(validate(qname).await, Security::Secure, "{qname}");
    }
    // A type the wildcard does not have: "no such record", proven by the
    // name's absence and the wildcard's own NSEC or NSEC3.
    for qname in names {
        let v = ask(qname, RecordType::MX).await;
        assert_eq!(v.answer.rcode, mailvet::dns::Rcode::NoError, "{qname}");
        assert!(v.answer.is_empty_of(RecordType::MX));
        assert_eq!(v.security, Security::Secure, "{qname} MX: {v:?}");
    }
    // The same answers without their NSEC/NSEC3 records: the signature
    // verifies, but nothing shows the name does not exist, so the
    // wildcard's data could be replayed over data the name has.
    for qname in names {
        server.add_fault(qname, FaultTypes::All, FaultKind::NoDenialProof);
        let Security::Bogus(reason) = validate(qname).await else {
            panic!("{qname}: not bogus");
        };
        assert!(
            reason.contains("wildcard *.wild.") && reason.contains("does not exist"),
            "{reason}"
        );
    }
    server.clear_faults();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_questions_are_memoized_traced_and_budgeted() {
    let server = server().await;
    let dns = layer(&server, server.settings());
    let resolver = dns.resolver();
    server.clear_log();
    let first = resolver
        .lookup_validated(&name("healthy.test."), RecordType::SOA)
        .await
        .unwrap();
    assert_eq!(first.security, Security::Secure);
    assert_eq!(server.count(".", RecordType::DNSKEY), 1);
    assert_eq!(server.count("test.", RecordType::DS), 1);
    assert_eq!(server.count("healthy.test.", RecordType::DS), 1);
    assert_eq!(server.count("healthy.test.", RecordType::DNSKEY), 1);
    let asked = server.queries().len();
    // The MX host of the same zone needs no chain question again.
    resolver
        .lookup_validated(&name("mx.healthy.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(server.queries().len(), asked + 1);
    let trace = resolver.trace();
    assert!(
        trace
            .iter()
            .any(|t| t.name == "healthy.test." && t.rtype == "DNSKEY")
    );

    // A budget too small for the chain: indeterminate, not bogus.
    let tight = layer(
        &server,
        Settings {
            max_questions: 3,
            ..server.settings()
        },
    );
    let v = tight
        .resolver()
        .lookup_validated(&name("healthy.test."), RecordType::SOA)
        .await
        .unwrap();
    assert!(
        matches!(&v.security, Security::Indeterminate(r) if r.contains("budget")),
        "{v:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_chain_questions_are_indeterminate() {
    let server = server().await;
    let dns = layer(&server, server.settings());
    server.add_fault(
        "test.",
        FaultTypes::Only(vec![RecordType::DS]),
        FaultKind::NoAnswer,
    );
    let checked = audit(&dns, "healthy.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    assert!(
        checked
            .section
            .explanation
            .contains("DS question for test.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlays_offline_and_unsigned_upstreams_cannot_tell() {
    let server = server().await;
    let overlay = zone::Zone::load(Path::new("fixtures/dnssec/healthy.test.zone")).unwrap();
    let dns = Dns::with_trust_anchor(server.settings(), vec![overlay], anchor()).unwrap();
    server.clear_log();
    let checked = audit(&dns, "healthy.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    assert!(checked.section.explanation.contains("--zone"));
    // The MX host's zone is the overlay's too.
    let v = dns
        .resolver()
        .lookup_validated(&name("mx.healthy.test."), RecordType::A)
        .await
        .unwrap();
    assert!(
        matches!(&v.security, Security::Indeterminate(r) if r.contains("overlay")),
        "{v:?}"
    );

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

    // An upstream that passes no DNSSEC records, under IANA's root anchor.
    let plain = TestDns::start(&[Path::new("fixtures/dnssec/healthy.test.zone")]).await;
    let checked = audit(&plain.layer(), "healthy.test").await;
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    assert_eq!(checked.section.status, DnssecStatus::Unknown);
    assert!(checked.section.explanation.contains("no DNSKEY for ."));

    // The test root's keys under IANA's anchor: they match no anchor.
    let checked = audit(&server.layer(), "healthy.test").await;
    assert_eq!(checked.section.status, DnssecStatus::Bogus);
    assert!(
        checked.section.explanation.contains("trust anchor"),
        "{}",
        checked.section.explanation
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cd_questions_follow_a_servfail_and_are_memoized_apart() {
    let server = server().await;
    let dns = layer(&server, server.settings());
    // A validating upstream that rejects the data: mailvet asks with CD
    // and judges it itself.
    server.add_fault(
        "healthy.test.",
        FaultTypes::Only(vec![RecordType::SOA]),
        FaultKind::Bogus,
    );
    let resolver = dns.resolver();
    let v = resolver
        .lookup_validated(&name("healthy.test."), RecordType::SOA)
        .await
        .unwrap();
    assert_eq!(v.security, Security::Secure);
    assert_eq!(server.count("healthy.test.", RecordType::SOA), 2);
    let rcodes: Vec<String> = resolver
        .trace()
        .into_iter()
        .filter(|t| t.name == "healthy.test." && t.rtype == "SOA")
        .map(|t| t.rcode)
        .collect();
    assert_eq!(rcodes, vec!["SERVFAIL", "NOERROR"]);
    // CD answers have a memo of their own.
    let soa = name("healthy.test.");
    assert!(resolver.lookup(&soa, RecordType::SOA).await.is_err());
    resolver
        .lookup_checking_disabled(&soa, RecordType::SOA)
        .await
        .unwrap();
    assert_eq!(server.count("healthy.test.", RecordType::SOA), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_computes_the_status_with_a_trust_anchor_file() {
    let server = server().await;
    let dir = ScratchDir::new("trust-anchor");
    let anchor = tree().write_anchor(&dir);
    let run = |domain: &'static str, anchor: Option<std::path::PathBuf>| {
        let mut command = crate::mailvet();
        command.args([
            "domain",
            domain,
            "--format",
            "json",
            "--dns",
            &server.dns_arg(),
        ]);
        if let Some(path) = anchor {
            command.arg("--trust-anchor").arg(path);
        }
        command.output()
    };
    let out = run("healthy.test", Some(anchor.clone())).await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["dnssec"]["status"], "secure", "{}", report["dnssec"]);
    assert_eq!(report["dnssec"]["chain"].as_array().unwrap().len(), 3);
    assert_eq!(report["dnssec"]["mx_hosts"][0]["status"], "secure");
    let codes = support::api::finding_codes(&report);
    assert!(!codes.iter().any(|c| c.starts_with("dnssec.")), "{codes:?}");

    let out = run("expired.test", Some(anchor.clone())).await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dnssec"]["status"], "bogus");
    assert!(support::api::finding_codes(&report).contains(&"dnssec.bogus".to_string()));

    // A file that holds no anchor is a usage error, exit code 2.
    let empty = dir.join("empty.ds");
    std::fs::write(&empty, "; nothing\n").unwrap();
    let out = run("healthy.test", Some(empty)).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no DS or DNSKEY"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_batch_validates_each_zone_once_for_all_its_domains() {
    let server = server().await;
    let dir = ScratchDir::new("batch-anchor");
    let anchor = tree().write_anchor(&dir);
    let list = dir.join("domains.txt");
    // Two domains under test., audited at once.
    std::fs::write(&list, "healthy.test\nmxinsecure.test\n").unwrap();
    let out = crate::mailvet()
        .args(["domain", "--format", "jsonl", "--trace"])
        .args(["--dns", &server.dns_arg()])
        .arg("--file")
        .arg(&list)
        .arg("--trust-anchor")
        .arg(&anchor)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let statuses: Vec<String> = stdout
        .lines()
        .map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let report = &line["report"];
            format!("{} {}", report["domain"], report["dnssec"]["status"])
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{stdout}");
    assert!(
        statuses.contains(&r#""healthy.test" "secure""#.to_string()),
        "{statuses:?}"
    );
    // The chain above both, and test.'s own keys, asked once for the
    // batch, and validated once: only one report relies on each question
    // (the other takes the validated zones, and asks nothing of them).
    let relied_on = |zone: &str, rtype: &str| -> usize {
        stdout
            .lines()
            .map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).unwrap();
                let trace = line["report"]["dns"]["trace"].as_array().unwrap().clone();
                trace
                    .iter()
                    .filter(|t| t["name"] == zone && t["type"] == rtype)
                    .count()
            })
            .sum()
    };
    for (zone, rtype) in [
        (".", RecordType::DNSKEY),
        ("test.", RecordType::DS),
        ("test.", RecordType::DNSKEY),
    ] {
        assert_eq!(server.count(zone, rtype), 1, "{zone} {rtype}");
        assert_eq!(relied_on(zone, &rtype.to_string()), 1, "{zone} {rtype}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_validated_zones_across_requests() {
    let server = server().await;
    let dns = layer(
        &server,
        Settings {
            cache_capacity: 100,
            ..server.settings()
        },
    );
    let first = dns.resolver();
    let v = first
        .lookup_validated(&name("healthy.test."), RecordType::SOA)
        .await
        .unwrap();
    assert_eq!(v.security, Security::Secure);
    let chain_questions = |trace: Vec<mailvet::dns::trace::TraceEntry>| {
        trace
            .into_iter()
            .filter(|t| t.rtype == "DS" || t.rtype == "DNSKEY")
            .count()
    };
    // DNSKEY ., then DS and DNSKEY of test. and of healthy.test.
    assert_eq!(chain_questions(first.trace()), 5);
    // A later request neither asks nor verifies the chain again, and still
    // gets the chain and the status.
    let second = dns.resolver();
    let v = second
        .lookup_validated(&name("mx.healthy.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(v.security, Security::Secure);
    assert_eq!(v.chain.len(), 3);
    assert_eq!(chain_questions(second.trace()), 0);
    assert_eq!(server.count(".", RecordType::DNSKEY), 1);
    // Without a shared cache every request walks the chain itself.
    let uncached = layer(&server, server.settings());
    let third = uncached.resolver();
    third
        .lookup_validated(&name("mx.healthy.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(chain_questions(third.trace()), 5);
}
