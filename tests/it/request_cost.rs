//! What one HTTP request may cost in DNS, through the real router and the
//! test DNS server's query log (issue 17, cases 5 and 7): a batch of
//! domains draws on one budget of upstream questions and answers what it
//! finished by one deadline instead of a 504; a domain that does not exist
//! costs no DKIM probes (RFC 8020); `/readyz` asks upstream at most about
//! once a second however often it is called.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mailvet::dns::{Dns, Settings};
use mailvet::http::AppState;
use mailvet::http::config::ServiceConfig;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::TestDns;

/// Names under a zone that exists, so every audit's questions reach the
/// server and come back NXDOMAIN.
const ZONE: &str =
    "$ORIGIN nonexistent.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n";

fn layer(server: &TestDns, max_questions: usize) -> Arc<Dns> {
    Dns::new(
        Settings {
            max_questions,
            ..server.settings()
        },
        vec![],
    )
    .unwrap()
}

fn batch(domains: usize, selectors: usize) -> Request<Body> {
    let body = json!({
        "domains": (0..domains).map(|i| format!("nx{i}.nonexistent.test")).collect::<Vec<_>>(),
        "selectors": (0..selectors).map(|i| format!("sel{i}")).collect::<Vec<_>>(),
    });
    Request::post("/v1/domains?trace=true")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn call(state: AppState, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = support::api::call(mailvet::http::router(state), request).await;
    (status, body)
}

async fn open(dns: Arc<Dns>) -> AppState {
    AppState {
        service: ServiceConfig {
            rate_limit: 0,
            ..ServiceConfig::default()
        },
        ..AppState::new(dns, crate::support::store::scratch().await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_domains_that_do_not_exist_ask_no_selector() {
    let server = TestDns::start_with_texts(&[ZONE]).await;
    let (status, body) = call(open(layer(&server, 1000)).await, batch(50, 20)).await;
    assert_eq!(status, StatusCode::OK);
    let reports = body.as_array().unwrap();
    assert_eq!(reports.len(), 50);
    let asked = server.queries();
    // Before the stop, each domain cost its 47 selectors and a few more
    // questions: 2,774 in all.
    assert!(
        asked.iter().all(|q| !q.name.contains("._domainkey.")),
        "a selector of a domain that does not exist was asked"
    );
    eprintln!(
        "50 domains that do not exist, 20 selectors: {} questions",
        asked.len()
    );
    // Per domain: its TXT (SPF and DKIM's existence check), type 99,
    // DMARC at the domain and up the tree, MX, MTA-STS, TLS-RPT, BIMI at
    // the domain and the organizational domain, and DNSSEC's questions
    // (the root's SOA, and its DNSKEY where validation starts).
    assert!(asked.len() <= 50 * 13, "{} questions", asked.len());
    for report in reports {
        assert_eq!(report["dns"]["budget_exhausted"], false);
        // The selectors are reported as not found, with the reason.
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "dkim.no_selector_found")
            .unwrap_or_else(|| panic!("{report}"));
        let evidence = finding["evidence"].to_string();
        assert!(evidence.contains("RFC 8020"), "{evidence}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_draws_on_one_budget_and_never_reads_a_refusal_as_missing() {
    let server = TestDns::start_with_texts(&[ZONE]).await;
    let budget = 100;
    let (status, body) = call(open(layer(&server, budget)).await, batch(50, 20)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.queries().len(),
        budget,
        "one budget for the whole batch"
    );
    let reports = body.as_array().unwrap();
    let upstream: u64 = reports
        .iter()
        .map(|r| r["dns"]["upstream_queries"].as_u64().unwrap())
        .sum();
    assert_eq!(upstream, budget as u64);
    let refused: Vec<&Value> = reports
        .iter()
        .filter(|r| r["dns"]["budget_exhausted"] == true)
        .collect();
    assert!(!refused.is_empty());
    for report in refused {
        let domain = report["domain"].as_str().unwrap();
        let spf_question = report["dns"]["trace"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == format!("{domain}.") && e["type"] == "TXT")
            .unwrap();
        if spf_question["rcode"] != "BUDGET" {
            continue;
        }
        assert_eq!(spf_question["source"], "not_sent");
        let findings = report["findings"].as_array().unwrap();
        let finding = |code: &str| findings.iter().find(|f| f["code"] == code);
        assert!(finding("spf.missing").is_none(), "{domain}: {findings:?}");
        let detail =
            finding("spf.dns_error").unwrap_or_else(|| panic!("{domain}: {findings:?}"))["detail"]
                .to_string();
        assert!(detail.contains("--max-dns-questions"), "{detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_silent_resolvers_a_batch_keeps_what_finished_and_marks_the_rest() {
    // Every question times out after 300 ms, so each audit takes about
    // 600 ms (the domain's TXT, then the DKIM selectors). The budget is
    // raised so that time, not the budget, ends the batch.
    let (_socket, settings) = support::silent_settings().await;
    let settings = Settings {
        max_questions: 1_000_000,
        ..settings
    };
    let dns = Dns::new(settings, vec![]).unwrap();
    let request_timeout = Duration::from_secs(2);
    let state = AppState {
        service: ServiceConfig {
            rate_limit: 0,
            request_timeout,
            ..ServiceConfig::default()
        },
        ..AppState::new(dns, crate::support::store::scratch().await)
    };
    // In time: past the request timeout the router answers 504, so the
    // 200 is the proof. A stopwatch around the call would also count
    // building the router and reading the answer, which a loaded machine
    // stretches past the timeout while the server kept it.
    let (status, body) = call(state, batch(50, 0)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body.as_array().unwrap();
    assert_eq!(entries.len(), 50);
    let finished = entries
        .iter()
        .take_while(|e| e.get("timed_out").is_none())
        .count();
    // 8 audits at a time, each about 600 ms: some waves finish in 1.8 s,
    // the 7 that 50 need cannot.
    assert!((1..50).contains(&finished), "{finished} finished");
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry["domain"], format!("nx{i}.nonexistent.test"));
        if i < finished {
            // A finished audit with every lookup failed: unknown, not missing.
            let codes = entry["findings"].to_string();
            assert!(codes.contains("spf.dns_error"), "{codes}");
            assert!(!codes.contains("spf.missing"), "{codes}");
        } else {
            assert_eq!(entry["timed_out"], true, "{entry}");
            let detail = entry["detail"].as_str().unwrap();
            assert!(detail.contains("1800 ms"), "{detail}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_asks_upstream_at_most_about_once_a_second() {
    let server = TestDns::start_with_texts(&[ZONE]).await;
    let state = open(layer(&server, 1000)).await;
    let router = mailvet::http::router(state);
    let started = Instant::now();
    let calls = (0..500).map(|_| {
        let router = router.clone();
        async move {
            let request = Request::get("/readyz").body(Body::empty()).unwrap();
            support::api::call(router, request).await.0
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let seconds = started.elapsed().as_secs();
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    let asked = server.queries().len();
    assert!(
        asked >= 1 && asked as u64 <= seconds + 1,
        "{asked} questions for 500 calls in {seconds} s"
    );
    // The outcome is kept for a second, not for good.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let request = Request::get("/readyz").body(Body::empty()).unwrap();
    assert_eq!(support::api::call(router, request).await.0, StatusCode::OK);
    assert_eq!(server.queries().len(), asked + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_silent_resolvers_the_budget_ends_a_batch_too() {
    // Nothing answers, so every selector of every domain is asked: the
    // default budget runs out long before the deadline.
    let (_socket, dns) = support::silent_layer(0).await;
    let started = Instant::now();
    let (status, body) = call(open(dns).await, batch(50, 20)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(27));
    let entries = body.as_array().unwrap();
    let sent: u64 = entries
        .iter()
        .map(|e| e["dns"]["upstream_queries"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, mailvet::dns::DEFAULT_MAX_QUESTIONS as u64);
    assert_eq!(entries.last().unwrap()["dns"]["budget_exhausted"], true);
}
