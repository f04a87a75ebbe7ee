//! The DMARC part of the domain audit against a real DNS server on
//! loopback serving `fixtures/audit/dmarc*.zone`: every case of
//! `fixtures/audit/dmarc.cases.json` (discovery and the RFC 9989 tree walk,
//! strict parsing, the effective policy, each finding and its computed fix,
//! external report authorization, DNS failures), plus the properties a
//! table cannot show: the exact queries of a long walk, and authorization
//! lookups running concurrently.
//!
//! A case gives the `domain` to audit, `expect` (exactly its codes, in any
//! order) and optional `faults` (names that answer SERVFAIL, `servfail`, or
//! not at all, `no_answer`, for every type). Optional checks: `section`
//! must be contained in the section's JSON (objects by key, arrays of equal
//! length element by element), `enforcement` is `DmarcSection::enforcement`
//! as `[policy, pct]` or null, `fix_contains` and `detail_contains` give per
//! code a text the finding's fix or detail contains, `notes_contain` texts
//! that some note contains.

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::dns::Dns;
use mailvet::domain::dmarc;
use mailvet::domain::{AuditContext, AuditOptions};
use mailvet::findings::Checked;
use mailvet::records::dmarc::Policy;
use mailvet::records::name::DomainName;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::audit_cases::{Case, Rules, run_cases};
use support::{FaultKind, FaultTypes, TestDns};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit")
}

/// dmarc.test and the two outside report domains.
const ZONES: [&str; 3] = ["dmarc.zone", "dmarc-reports.zone", "dmarc-elsewhere.zone"];

const CASES: &str = "fixtures/audit/dmarc.cases.json";

async fn server() -> TestDns {
    let zones: Vec<PathBuf> = ZONES.iter().map(|z| fixtures().join(z)).collect();
    let paths: Vec<&Path> = zones.iter().map(PathBuf::as_path).collect();
    TestDns::start(&paths).await
}

async fn audit(dns: &Arc<Dns>, domain: &str) -> Checked<dmarc::DmarcSection> {
    let run = support::AuditRun::new(dns.resolver(), domain);
    dmarc::check(&run.cx()).await
}

/// Whether `expected` is contained in `actual`: objects by key, arrays of
/// equal length element by element, anything else equal.
fn contains(actual: &Value, expected: &Value, path: &str, errors: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (key, want) in e {
                let at = format!("{path}.{key}");
                match a.get(key) {
                    Some(got) => contains(got, want, &at, errors),
                    None if want.is_null() => {}
                    None => errors.push(format!("{at}: missing, expected {want}")),
                }
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (i, (got, want)) in a.iter().zip(e).enumerate() {
                contains(got, want, &format!("{path}[{i}]"), errors);
            }
        }
        _ if actual == expected => {}
        _ => errors.push(format!("{path}: got {actual}, expected {expected}")),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A DMARC case's own fields, as JSON: a field given as `null` is a check
/// too.
type More = serde_json::Map<String, Value>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_case_gives_exactly_its_findings() {
    let server = server().await;
    let dns = server.layer();
    run_cases(
        &server,
        CASES,
        Rules::STRICT,
        async |case: &Case<More>, errors: &mut Vec<String>| {
            let checked = audit(&dns, &case.domain).await;
            let more = &case.more;

            let section = serde_json::to_value(&checked.section).expect("section serializes");
            if let Some(expected) = more.get("section") {
                contains(&section, expected, "section", errors);
            }

            if let Some(expected) = more.get("enforcement") {
                let actual = match checked.section.enforcement() {
                    Some((policy, pct)) => serde_json::json!([policy.as_str(), pct]),
                    None => Value::Null,
                };
                if &actual != expected {
                    errors.push(format!("enforcement: got {actual}, expected {expected}"));
                }
            }

            for (field, key) in [("fix", "fix_contains"), ("detail", "detail_contains")] {
                let Some(map) = more.get(key).and_then(Value::as_object) else {
                    continue;
                };
                for (code, text) in map {
                    let text = text.as_str().expect("text");
                    let finding = checked.findings.iter().find(|f| f.code == code);
                    let value = finding.map(|f| if field == "fix" { &f.fix } else { &f.detail });
                    if !value.is_some_and(|v| v.contains(text)) {
                        errors.push(format!("{code} {field}: {value:?} lacks {text:?}"));
                    }
                }
            }

            let notes = &checked.section.notes;
            for text in more.get("notes_contain").map(strings).unwrap_or_default() {
                if !notes.iter().any(|n| n.contains(&text)) {
                    errors.push(format!("no note contains {text:?}: {notes:?}"));
                }
            }

            if !errors.is_empty() {
                errors.push(format!("section: {section}"));
            }
            checked.findings
        },
    )
    .await;
}

/// Findings that each change the record at one name offer one record
/// with all their changes, so nobody publishes two DMARC records; a
/// stronger policy waits for the reports that show it is safe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_findings_at_one_name_offer_one_record() {
    let dns = server().await;
    for (domain, offered, without_record, with_record) in [
        (
            "steps.dmarc.test",
            "v=DMARC1; p=none; sp=none; pct=50; rua=mailto:dmarc-reports@steps.dmarc.test",
            &["dmarc.policy_none", "dmarc.pct_partial"][..],
            &["dmarc.no_rua"][..],
        ),
        (
            "steps-rua.dmarc.test",
            "v=DMARC1; p=reject; rua=mailto:dmarc@steps-rua.dmarc.test",
            &[][..],
            &["dmarc.subdomain_policy_none", "dmarc.pct_partial"][..],
        ),
        // The historic ri= goes at once; t=y waits for the reports.
        (
            "steps-testing.dmarc.test",
            "v=DMARC1; p=quarantine; t=y; rua=mailto:dmarc-reports@steps-testing.dmarc.test",
            &["dmarc.policy_none"][..],
            &["dmarc.no_rua"][..],
        ),
    ] {
        let checked = audit(&dns.layer(), domain).await;
        let mut records = Vec::new();
        for finding in &checked.findings {
            if without_record.contains(&finding.code) {
                assert!(finding.publish.is_empty(), "{}", finding.code);
                assert!(
                    finding.fix.starts_with("First have aggregate reports sent"),
                    "{}",
                    finding.fix
                );
            }
            for record in &finding.publish {
                assert_eq!(record.name, format!("_dmarc.{domain}"));
                assert!(finding.fix.contains(offered), "{}", finding.fix);
                records.push((finding.code, record.value.as_str()));
            }
        }
        let codes: Vec<&str> = records.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, with_record, "{domain}");
        assert!(
            records.iter().all(|(_, v)| *v == offered),
            "{domain}: {records:?}"
        );
    }
    let testing = audit(&dns.layer(), "steps-testing.dmarc.test").await;
    let none = testing
        .findings
        .iter()
        .find(|f| f.code == "dmarc.policy_none")
        .unwrap();
    assert!(
        none.fix
            .ends_with("remove t=y so receivers apply p=quarantine."),
        "{}",
        none.fix
    );
    // A subdomain inheriting sp=none under p=reject: dropping sp is its
    // step, not sp=quarantine beside it.
    let inherited = audit(&dns.layer(), "news.lax-org.dmarc.test").await;
    let offered: Vec<&str> = inherited
        .findings
        .iter()
        .flat_map(|f| &f.publish)
        .filter(|r| r.name == "_dmarc.lax-org.dmarc.test")
        .map(|r| r.value.as_str())
        .collect();
    assert!(!offered.is_empty(), "{:#?}", inherited.findings);
    assert!(
        offered
            .iter()
            .all(|v| *v == "v=DMARC1; p=reject; rua=mailto:dmarc@lax-org.dmarc.test"),
        "{offered:?}"
    );
}

/// RFC 9989 §4.10: an eleven-label name takes eight queries, the first at
/// the name itself and then from its last seven labels down to the TLD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_name_walks_in_eight_queries_in_rfc_order() {
    let server = server().await;
    let dns = server.layer();
    audit(&dns, "a.b.c.d.e.f.g.h.i.dmarc.test").await;
    let asked: Vec<String> = server
        .queries()
        .into_iter()
        .filter(|q| q.rtype == RecordType::TXT && q.name.starts_with("_dmarc."))
        .map(|q| q.name)
        .collect();
    assert_eq!(
        asked,
        [
            "_dmarc.a.b.c.d.e.f.g.h.i.dmarc.test.",
            "_dmarc.e.f.g.h.i.dmarc.test.",
            "_dmarc.f.g.h.i.dmarc.test.",
            "_dmarc.g.h.i.dmarc.test.",
            "_dmarc.h.i.dmarc.test.",
            "_dmarc.i.dmarc.test.",
            "_dmarc.dmarc.test.",
            "_dmarc.test.",
        ]
    );
}

/// A record of its own settles the policy: no walk, and a psd=n record
/// ends the walk where it is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walk_asks_no_more_than_it_needs() {
    let server = server().await;
    let dns = server.layer();
    audit(&dns, "healthy.dmarc.test").await;
    audit(&dns, "host.dept.org.dmarc.test").await;
    let asked: Vec<String> = server
        .queries()
        .into_iter()
        .filter(|q| q.name.starts_with("_dmarc."))
        .map(|q| q.name)
        .collect();
    assert_eq!(
        asked,
        [
            "_dmarc.healthy.dmarc.test.",
            "_dmarc.host.dept.org.dmarc.test.",
            "_dmarc.dept.org.dmarc.test.",
        ]
    );
}

/// Each outside report domain is asked at once, not one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_lookups_run_concurrently() {
    let server = server().await;
    let dns = server.layer();
    let delay = Duration::from_millis(350);
    for report in ["one", "two", "three"] {
        server.add_fault(
            &format!("many.dmarc.test._report._dmarc.{report}.dmarc-reports.test"),
            FaultTypes::Only(vec![RecordType::TXT]),
            FaultKind::Latency(delay),
        );
    }
    let started = Instant::now();
    let checked = audit(&dns, "many.dmarc.test").await;
    let elapsed = started.elapsed();
    assert!(checked.findings.is_empty(), "{:?}", checked.findings);
    let statuses: Vec<_> = checked
        .section
        .report_destinations
        .iter()
        .map(|d| serde_json::to_value(d.status).unwrap())
        .collect();
    assert_eq!(statuses, ["authorized", "authorized", "authorized"]);
    // One after another would take at least 3 × 350 ms.
    assert!(
        elapsed < delay * 2,
        "three authorization lookups took {elapsed:?}: not concurrent"
    );
}

/// The apex TXT query DMARC makes is the one the SPF check makes too: within
/// one request it goes on the wire once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apex_query_is_shared_within_a_request() {
    let server = server().await;
    let dns = server.layer();
    let domain = DomainName::parse("apex.dmarc.test").unwrap();
    let resolver = dns.resolver();
    let options = AuditOptions::default();
    let cx = AuditContext {
        resolver: &resolver,
        domain: &domain,
        options: &options,
    };
    fn spawnable<F: std::future::Future + Send>(f: F) -> F {
        f
    }
    let (first, again) = tokio::join!(spawnable(dmarc::check(&cx)), dmarc::check(&cx));
    assert_eq!(first.findings.len(), again.findings.len());
    assert_eq!(server.count("apex.dmarc.test", RecordType::TXT), 1);
}

#[test]
fn policy_words_are_the_record_values() {
    assert_eq!(Policy::None.as_str(), "none");
    assert_eq!(Policy::Quarantine.as_str(), "quarantine");
    assert_eq!(Policy::Reject.as_str(), "reject");
}
