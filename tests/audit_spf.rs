//! The SPF part of the domain audit against the test DNS server: every
//! SPF fixture domain produces its code, healthy ones no error or warning,
//! a timeout is a DNS error (never "missing"), and the tree's questions go
//! out once each.

mod support;

use hickory_proto::rr::RecordType;
use mailvet::dns::{Dns, zone};
use mailvet::domain::name::DomainName;
use mailvet::domain::{AuditContext, AuditOptions, spf};
use mailvet::findings::Severity;
use serde_json::Value;
use std::path::Path;

use support::{FaultKind, FaultTypes, TestDns};

async fn audit_spf(
    dns: &std::sync::Arc<Dns>,
    domain: &str,
) -> mailvet::domain::Checked<spf::SpfSection> {
    let resolver = dns.resolver();
    let domain = DomainName::parse(domain).unwrap();
    let options = AuditOptions::default();
    spf::check(&AuditContext {
        resolver: &resolver,
        domain: &domain,
        options: &options,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spf_fixture_domain_produces_its_code() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string("fixtures/audit/spf.cases.json").unwrap())
            .unwrap();
    for case in cases {
        let domain = case["domain"].as_str().unwrap();
        server.clear_faults();
        for fault in case["faults"].as_array().into_iter().flatten() {
            assert_eq!(fault["kind"], "no_answer");
            server.add_fault(
                fault["name"].as_str().unwrap(),
                FaultTypes::All,
                FaultKind::NoAnswer,
            );
        }
        let overlay: Vec<zone::Zone> = case["overlay"]
            .as_str()
            .map(|p| vec![zone::Zone::load(Path::new(p)).unwrap()])
            .unwrap_or_default();
        let dns = Dns::new(server.settings(), overlay).unwrap();
        let checked = audit_spf(&dns, domain).await;
        let codes: Vec<&str> = checked.findings.iter().map(|f| f.code).collect();
        let expect: Vec<&str> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for code in &expect {
            assert!(
                codes.contains(code),
                "{domain}: expected {code}, got {codes:?}"
            );
        }
        if expect.is_empty() {
            let bad: Vec<_> = checked
                .findings
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .map(|f| (f.code, f.detail.clone()))
                .collect();
            assert!(bad.is_empty(), "{domain} is healthy but got {bad:?}");
        }
        if domain.starts_with("dns-error.") {
            assert!(
                !codes.contains(&"spf.missing") && !codes.contains(&"spf.include_missing"),
                "a timeout is never a missing record: {codes:?}"
            );
        }
        if domain.starts_with("loop.") {
            assert_eq!(codes, ["spf.include_loop"], "a loop is reported alone");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_shows_each_include_cost_and_asks_each_question_once() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let checked = audit_spf(&dns, "too-many.spf.test").await;
    let s = &checked.section;
    assert_eq!(s.lookups, 11);
    assert_eq!(s.tree.children.len(), 11);
    assert!(
        s.tree
            .children
            .iter()
            .all(|c| c.record.is_some() && c.lookups == 0)
    );
    let fix = &checked
        .findings
        .iter()
        .find(|f| f.code == "spf.too_many_lookups")
        .unwrap()
        .fix;
    assert!(fix.contains("include:l1.lookups.spf.test costs 1"), "{fix}");
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(
        json["tree"]["children"][0]["via"],
        "include:l1.lookups.spf.test"
    );

    // l1..l9 are shared with near-limit.spf.test: a second audit of another
    // domain asks again (no shared cache), but within one audit each once.
    for q in server.queries() {
        let n = server
            .queries()
            .iter()
            .filter(|o| o.name == q.name && o.rtype == q.rtype)
            .count();
        assert_eq!(n, 1, "{} {:?} asked {n} times", q.name, q.rtype);
    }
    assert_eq!(server.count("too-many.spf.test", RecordType::TXT), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plus_all_fix_is_the_record_with_minus_all() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let checked = audit_spf(&dns, "plus-all.spf.test").await;
    let finding = checked
        .findings
        .iter()
        .find(|f| f.code == "spf.plus_all")
        .unwrap();
    assert_eq!(finding.fix, "Publish: v=spf1 ip4:192.0.2.1 -all");
    let bare = audit_spf(&dns, "bare-all.spf.test").await;
    let finding = bare
        .findings
        .iter()
        .find(|f| f.code == "spf.plus_all")
        .unwrap();
    assert_eq!(finding.fix, "Publish: v=spf1 ip4:192.0.2.1 -all");
}
