//! How close the domain audit comes to a perfectly parallel checker.
//!
//! Every fixture domain (fixtures/audit/*.cases.json, except the cases that
//! inject faults) is audited against the test DNS server with 50 ms added
//! to every answer, and the MTA-STS test HTTPS server. For each domain the
//! table gives the wall time, the queries sent, the depth of its DNS
//! dependency chain (the round trips a checker that asks everything
//! independent at once must wait; the DKIM selector probe waits for the
//! domain's own answer, see [`depth`]), and wall time in round trips. The target
//! is at most depth + 1 round trips for every domain, the DKIM selector
//! probe and the MTA-STS policy fetch included.
//!
//! Then the batch: the first [`BATCH`] of those domains (the list repeated
//! if shorter) audited as `mailvet domain --file` audits them — one
//! resolver layer with one shared cache of [`CACHE_ENTRIES`] answers, at
//! most 64 audits at once (the CLI's default `--concurrency`) — at
//! [`BATCH_LATENCY`] per answer; the target is under 0.5 s for all of
//! them. The questions sent upstream are counted from the test DNS
//! server's log, with how many were asked more than once.
//!
//! Run: `cargo bench --ignore-rust-version --bench domain_audit`

// The tests' support module, for its test DNS server; the tests use all of
// it, this binary only a part.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

use futures_util::{StreamExt, stream};
use mailvet::cli::batch::CACHE_ENTRIES;
use mailvet::dns::{Dns, Settings, UpstreamChoice};
use mailvet::domain::AuditOptions;
use mailvet::domain::report;
use mailvet::records::name::DomainName;
use mailvet::spf::record::{Mechanism, SpfRecord};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::TestDns;
use support::https::TestHttps;

const LATENCY: Duration = Duration::from_millis(50);

/// Domains of the batch and the delay of each answer while it runs.
const BATCH: usize = 40;
const BATCH_LATENCY: Duration = Duration::from_millis(20);
const BATCH_CONCURRENCY: usize = 64;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let mut zones: Vec<PathBuf> = std::fs::read_dir("fixtures/audit")
        .expect("fixtures/audit")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "zone") && !p.ends_with("spf-overlay.zone"))
        .collect();
    zones.sort();
    let paths: Vec<&std::path::Path> = zones.iter().map(PathBuf::as_path).collect();
    let dns_server = TestDns::start(&paths).await;
    let https = TestHttps::start().await;
    dns_server.set_latency(LATENCY);
    let options = AuditOptions {
        selectors: Vec::new(),
        allow_private_fetch: true,
        fetch_timeout: Duration::from_secs(3),
        extra_roots_pem: https.ca_pem.clone(),
        https_port: https.port(),
        ..AuditOptions::default()
    };

    let mut domains = vec!["healthy.test".to_string()];
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/audit")
        .expect("fixtures/audit")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".cases.json"))
        .collect();
    files.sort();
    for file in files {
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("cases")).expect("json");
        for case in cases {
            if case.get("faults").is_some() || case.get("overlay").is_some() {
                continue;
            }
            domains.push(case["domain"].as_str().expect("domain").to_string());
        }
    }

    println!(
        "{:<36} {:>8} {:>8} {:>6} {:>7} {:>7}",
        "domain", "wall ms", "queries", "depth", "RTTs", "target"
    );
    let (mut within, mut total) = (0, 0);
    let mut worst: f64 = 0.0;
    for domain in domains.clone() {
        let dns = layer(&dns_server, 0);
        let name = DomainName::parse(&domain).expect("fixture domain");
        let resolver = dns.resolver();
        dns_server.clear_log();
        let started = Instant::now();
        let report = report::audit(&resolver, &name, &options, false).await;
        let wall = started.elapsed();
        let probed = dns_server
            .queries()
            .iter()
            .any(|q| q.name.contains("._domainkey."));
        let json = serde_json::to_value(&report).expect("report json");
        let depth = depth(&json, probed);
        let rtts = wall.as_secs_f64() / LATENCY.as_secs_f64();
        let ok = rtts <= (depth + 1) as f64;
        total += 1;
        within += usize::from(ok);
        worst = worst.max(rtts - depth as f64);
        println!(
            "{:<36} {:>8.0} {:>8} {:>6} {:>7.1} {:>7}",
            domain,
            wall.as_secs_f64() * 1000.0,
            report.dns.upstream_queries,
            depth,
            rtts,
            if ok { "ok" } else { "MISSED" }
        );
    }
    println!(
        "\n{within} of {total} domains within depth + 1 round trips ({} ms each); \
         worst: {worst:.1} round trips over depth",
        LATENCY.as_millis()
    );
    batch(&dns_server, &options, &domains).await;
}

/// A resolver layer asking only the test DNS server, with a shared cache
/// of `cache_capacity` answers (0: none, each audit asks afresh).
fn layer(dns_server: &TestDns, cache_capacity: usize) -> Arc<Dns> {
    Dns::new(
        Settings {
            upstream: UpstreamChoice::Servers(vec![dns_server.addr]),
            query_timeout: Duration::from_secs(2),
            attempts: 1,
            deadline: Duration::from_secs(10),
            cache_capacity,
            max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
        },
        Vec::new(),
    )
    .expect("resolver layer")
}

/// The CLI's batch, in process: one layer, one cache, one stream.
async fn batch(dns_server: &TestDns, options: &AuditOptions, domains: &[String]) {
    let names: Vec<DomainName> = domains
        .iter()
        .cycle()
        .take(BATCH)
        .map(|d| DomainName::parse(d).expect("fixture domain"))
        .collect();
    let distinct = names
        .iter()
        .map(|n| n.ascii.as_str())
        .collect::<std::collections::BTreeSet<&str>>()
        .len();
    let dns = layer(dns_server, CACHE_ENTRIES);
    dns_server.set_latency(BATCH_LATENCY);
    dns_server.clear_log();
    let started = Instant::now();
    let slowest = stream::iter(names)
        .map(|name| {
            let dns = Arc::clone(&dns);
            async move {
                let began = Instant::now();
                report::audit(&dns.resolver(), &name, options, false).await;
                began.elapsed()
            }
        })
        .buffer_unordered(BATCH_CONCURRENCY)
        .fold(
            Duration::ZERO,
            |slowest, took| async move { slowest.max(took) },
        )
        .await;
    let wall = started.elapsed();
    let queries = dns_server.queries();
    let mut asked: HashMap<(String, u16), usize> = HashMap::new();
    for q in &queries {
        *asked
            .entry((q.name.clone(), u16::from(q.rtype)))
            .or_default() += 1;
    }
    let repeated = asked.values().filter(|n| **n > 1).count();
    println!(
        "\nbatch: {BATCH} domains ({} distinct) at {} ms per answer, {BATCH_CONCURRENCY} at once, \
         one cache: {:.0} ms (target < 500 ms: {}); slowest audit {:.0} ms; \
         {} questions upstream, {repeated} of them asked more than once",
        distinct,
        BATCH_LATENCY.as_millis(),
        wall.as_secs_f64() * 1000.0,
        if wall < Duration::from_millis(500) {
            "ok"
        } else {
            "MISSED"
        },
        slowest.as_secs_f64() * 1000.0,
        queries.len(),
    );
}

/// The longest chain of DNS questions where each needs the previous
/// answer, read from the report's sections.
///
/// `probed`: DKIM selectors were asked. They wait for the answer at the
/// domain itself, which says whether it exists (no selector of a domain
/// that does not exist is asked: tests/it/hostile.rs), so the probe is
/// two round trips, plus the longest CNAME chain of a key.
fn depth(r: &Value, probed: bool) -> usize {
    let spf = spf_depth(&r["spf"]["tree"], 1);
    let dmarc_walk = r["dmarc"]["walk"].as_array().map_or(1, Vec::len).max(1);
    let outside_reports = r["dmarc"]["report_destinations"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x["status"] != "same_organization"));
    let dmarc = dmarc_walk + usize::from(outside_reports);
    let chain = |v: &Value| v["cname_chain"].as_array().map_or(0, Vec::len);
    let dkim = 1
        + usize::from(probed)
        + r["dkim"]["selectors"]
            .as_array()
            .map_or(0, |s| s.iter().map(chain).max().unwrap_or(0));
    let mx = match r["mx"]["hosts"].as_array() {
        Some(hosts) if !hosts.is_empty() => 2 + hosts.iter().map(chain).max().unwrap_or(0),
        _ => 1,
    };
    let mta_sts = 1 + usize::from(!r["mta_sts"]["policy"].is_null());
    let bimi = r["bimi"]["looked_up"].as_array().map_or(1, Vec::len).max(1);
    let dnssec = if r["dnssec"]["status"] == "bogus" {
        2
    } else {
        1
    };
    [spf, dmarc, dkim, mx, mta_sts, bimi, dnssec, 1]
        .into_iter()
        .max()
        .unwrap_or(1)
}

/// A node's TXT is asked at `level`; its includes and redirect one level
/// deeper, and so are the lookups of its a, mx and exists terms.
fn spf_depth(node: &Value, level: usize) -> usize {
    let own_terms = node["record"]
        .as_str()
        .and_then(|r| SpfRecord::parse(r.as_bytes()).ok())
        .is_some_and(|r| {
            r.directives.iter().any(|d| {
                matches!(
                    d.mechanism,
                    Mechanism::A { .. } | Mechanism::Mx { .. } | Mechanism::Exists(_)
                )
            })
        });
    let children = node["children"].as_array().map_or(level, |c| {
        c.iter()
            .map(|n| spf_depth(n, level + 1))
            .max()
            .unwrap_or(level)
    });
    children.max(level + usize::from(own_terms))
}
