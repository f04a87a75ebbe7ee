//! `GET /v1/domains/{domain}` reuses a finished audit while the DNS
//! answers it rests on live: the test DNS server's query log shows what
//! a reused, a fresh and an expired audit ask, and the answer's `Age`
//! and `Cache-Control` say which it was.

use crate::support::{self, FaultKind, FaultTypes, TestDns};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use hickory_proto::rr::RecordType;
use mailvet::dns::{Dns, Settings};
use mailvet::http::AppState;
use mailvet::http::audit_cache::AuditCache;
use std::sync::Arc;
use std::time::Duration;

/// Every answer lives an hour but the DMARC record's, which lives
/// [`SHORT_TTL`] seconds: the audit is reused for that long. Every answer
/// about `long.reuse.test` lives an hour.
const ZONE: &str = "$ORIGIN reuse.test.
$TTL 3600
@        IN SOA ns1 hostmaster 1 3600 600 86400 3600
@        IN NS  ns1
ns1      IN A   192.0.2.53
@        IN MX  10 mail
mail     IN A   192.0.2.25
@        IN TXT \"v=spf1 mx -all\"
_dmarc 2 IN TXT \"v=DMARC1; p=reject\"
rare2026._domainkey IN TXT \"v=DKIM1; p=\"
long     IN MX  10 mail
long     IN TXT \"v=spf1 mx -all\"
_dmarc.long IN TXT \"v=DMARC1; p=reject\"
";

const SHORT_TTL: u64 = 2;

/// A router whose state keeps audits, over a resolver layer that keeps a
/// shared DNS cache too (so `fresh=true` is seen to skip both).
async fn setup() -> (TestDns, Router) {
    let dns = TestDns::start_with_texts(&[ZONE]).await;
    let layer = Dns::new(
        Settings {
            cache_capacity: 1000,
            ..dns.settings()
        },
        Vec::new(),
    )
    .expect("resolver layer");
    let state = AppState {
        audits: Arc::new(AuditCache::new(1024 * 1024)),
        ..AppState::new(layer, support::store::scratch().await)
    };
    (dns, mailvet::http::router(state))
}

async fn get(router: &Router, path: &str) -> (HeaderMap, Bytes) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let (status, headers, body) = support::api::send(router.clone(), request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    (headers, body)
}

fn age(headers: &HeaderMap) -> u64 {
    headers[header::AGE].to_str().unwrap().parse().unwrap()
}

fn cache_control(headers: &HeaderMap) -> &str {
    headers[header::CACHE_CONTROL].to_str().unwrap()
}

/// The seconds of `max-age=N`.
fn max_age(headers: &HeaderMap) -> u64 {
    let control = cache_control(headers);
    control
        .strip_prefix("max-age=")
        .unwrap_or_else(|| panic!("not max-age: {control}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_audit_asks_nothing_until_the_smallest_ttl_runs_out() {
    let (dns, router) = setup().await;
    let (first_headers, first) = get(&router, "/v1/domains/reuse.test").await;
    let asked = dns.queries().len();
    assert!(asked > 10, "the first audit asks ({asked} questions)");
    assert_eq!(age(&first_headers), 0);
    assert!(
        max_age(&first_headers) <= SHORT_TTL,
        "the DMARC record's TTL bounds the reuse: {}",
        cache_control(&first_headers)
    );

    dns.clear_log();
    let (headers, again) = get(&router, "/v1/domains/reuse.test").await;
    assert_eq!(dns.queries(), Vec::new(), "a reused audit asks nothing");
    assert_eq!(again, first, "the same report");
    assert!(max_age(&headers) <= max_age(&first_headers));

    // A fresh audit asks every question again, though both the audit and
    // the DNS answers are still live here.
    let (fresh_headers, _) = get(&router, "/v1/domains/reuse.test?fresh=true").await;
    assert_eq!(dns.queries().len(), asked, "fresh asks all it asked before");
    assert_eq!(age(&fresh_headers), 0);

    // Other options are another audit.
    dns.clear_log();
    get(&router, "/v1/domains/reuse.test?selector=rare2026").await;
    assert_eq!(
        dns.count("rare2026._domainkey.reuse.test", RecordType::TXT),
        1
    );

    // Once the DMARC record's TTL is out, the audit is made again; the
    // hour-long answers still come from the shared DNS cache.
    tokio::time::sleep(Duration::from_millis(SHORT_TTL * 1000 + 200)).await;
    dns.clear_log();
    let (expired_headers, _) = get(&router, "/v1/domains/reuse.test").await;
    assert_eq!(age(&expired_headers), 0, "made anew");
    assert_eq!(dns.count("_dmarc.reuse.test", RecordType::TXT), 1);
    assert_eq!(dns.count("reuse.test", RecordType::MX), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_that_met_a_dns_failure_is_not_reused() {
    let (dns, router) = setup().await;
    dns.add_fault("_dmarc.reuse.test", FaultTypes::All, FaultKind::ServFail);
    let (headers, _) = get(&router, "/v1/domains/reuse.test").await;
    assert_eq!(cache_control(&headers), "no-store");
    dns.clear_faults();
    dns.clear_log();
    let (headers, body) = get(&router, "/v1/domains/reuse.test").await;
    assert_eq!(dns.count("_dmarc.reuse.test", RecordType::TXT), 1);
    assert_eq!(age(&headers), 0);
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["dmarc"]["policy"], "reject", "{report}");
}

/// A reused audit's `max-age` is its whole freshness lifetime, counted
/// from when it was made (RFC 9111 §4.2.1): max-age minus `Age` is the
/// time it has left, so it is never stale on arrival.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_audit_is_fresh_for_the_time_it_has_left() {
    let (_dns, router) = setup().await;
    let start = std::time::Instant::now();
    let (first, _) = get(&router, "/v1/domains/long.reuse.test").await;
    assert_eq!(age(&first), 0);
    let lifetime = max_age(&first);
    assert!(
        lifetime > 60,
        "hour-long answers: {}",
        cache_control(&first)
    );

    // Long enough for an `Age` of 2, far from the lifetime's end.
    let pause = Duration::from_millis(2100);
    tokio::time::sleep(pause).await;
    let (second, _) = get(&router, "/v1/domains/long.reuse.test").await;
    let elapsed = start.elapsed().as_secs_f64();
    let (age, max_age) = (age(&second), max_age(&second));
    assert!(age >= 2, "reused, two seconds later: Age {age}");
    assert!(
        max_age.abs_diff(lifetime) <= 1,
        "the same lifetime, to a second of rounding: {lifetime} then {max_age}"
    );
    // The time left by this test's own clock: at most the first answer's
    // lifetime less the pause, at least that less all the time since the
    // first request; a second of rounding each side (whole seconds).
    let left = max_age.checked_sub(age).unwrap_or_else(|| {
        panic!("stale on arrival: Age {age}, max-age {max_age}");
    }) as f64;
    let (most, least) = (
        lifetime as f64 + 1.0 - pause.as_secs_f64(),
        lifetime as f64 - 1.0 - elapsed,
    );
    assert!(
        (least..=most).contains(&left),
        "max-age {max_age} - Age {age} = {left} s left, not within {least:.1}..={most:.1}"
    );
}
