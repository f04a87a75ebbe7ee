//! The service around the API, against a real listening server: every
//! limit (body size, body read time, body memory, request timeout,
//! concurrency, rate, header read time, header size, batch size, answer
//! size), API keys, CORS, request ids, metrics, readiness and graceful
//! shutdown — over sockets, with the test DNS server behind.

use crate::support;

use mailvet::dns::{Dns, Settings};
use mailvet::http::AppState;
use mailvet::http::config::ServiceConfig;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::TestDns;
use support::listening::Running;
use support::raw::{self, Sent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "test-key-0123456789abcdef";

/// The resolver layer over the test DNS server, with a shared cache and
/// room for a slow server (tests make answers late with its latency).
fn layer(dns: &TestDns) -> Arc<Dns> {
    Dns::new(
        Settings {
            query_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
            cache_capacity: 1000,
            ..dns.settings()
        },
        Vec::new(),
    )
    .unwrap()
}

async fn test_dns() -> TestDns {
    TestDns::start(&[Path::new("fixtures/zones/some.test.zone")]).await
}

/// The test DNS server and a server over it with this configuration.
async fn serving(service: ServiceConfig) -> (TestDns, Running) {
    let dns = test_dns().await;
    let server = Running::start(state(&dns, service).await).await;
    (dns, server)
}

async fn state(dns: &TestDns, service: ServiceConfig) -> AppState {
    AppState {
        service,
        ..AppState::new(layer(dns), crate::support::store::scratch().await)
    }
}

/// Reads a problem answer, checking what every problem shares.
async fn problem(response: reqwest::Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["type"], format!("/problems/{kind}"), "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(!body["detail"].as_str().unwrap().is_empty());
    assert_eq!(body["request_id"], request_id, "{body}");
    body
}

async fn json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// A header's value; empty when absent.
fn header_of<'a>(response: &'a reqwest::Response, name: &header::HeaderName) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn retry_after(response: &reqwest::Response) -> u64 {
    header_of(response, &header::RETRY_AFTER).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413() {
    let dns = test_dns().await;
    let server = Running::start(AppState {
        message_limit: 1000,
        ..state(&dns, ServiceConfig::default()).await
    })
    .await;
    let spf = server
        .request(Method::POST, "/v1/spf")
        .body(vec![b' '; 20_000])
        .send()
        .await
        .unwrap();
    problem(spf, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large").await;
    let message = server
        .request(Method::POST, "/v1/messages")
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(vec![b'x'; 2000])
        .send()
        .await
        .unwrap();
    let body = problem(message, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large").await;
    assert!(body["detail"].as_str().unwrap().contains("1000"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_its_time_is_504() {
    let dns = test_dns().await;
    dns.set_latency(Duration::from_secs(2));
    let server = Running::start(
        state(
            &dns,
            ServiceConfig {
                request_timeout: Duration::from_millis(300),
                ..ServiceConfig::default()
            },
        )
        .await,
    )
    .await;
    let started = std::time::Instant::now();
    let response = server.get("/v1/domains/some.test").await;
    problem(response, StatusCode::GATEWAY_TIMEOUT, "timeout").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_cap_is_503_with_retry_after() {
    let dns = test_dns().await;
    // Slow enough that the audit is still in flight when the second request
    // arrives, even on a loaded machine.
    dns.set_latency(Duration::from_secs(2));
    let server = Arc::new(
        Running::start(
            state(
                &dns,
                ServiceConfig {
                    max_concurrent: 1,
                    ..ServiceConfig::default()
                },
            )
            .await,
        )
        .await,
    );
    let slow = tokio::spawn({
        let server = Arc::clone(&server);
        async move { server.get("/v1/domains/some.test").await.status() }
    });
    server.wait_in_flight(KEY, 1).await;
    let turned_away = server.get("/v1/findings").await;
    assert_eq!(retry_after(&turned_away), 1);
    problem(turned_away, StatusCode::SERVICE_UNAVAILABLE, "overloaded").await;
    // The probes are never capped.
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    assert_eq!(server.get("/v1/findings").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_is_429_with_retry_after() {
    let (_dns, server) = serving(ServiceConfig {
        rate_limit: 3,
        ..ServiceConfig::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(server.get("/v1/findings").await.status(), StatusCode::OK);
    }
    let limited = server.get("/v1/findings").await;
    // Three a minute: the next token comes within 20 s.
    assert!((1..=20).contains(&retry_after(&limited)));
    let body = problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    assert!(body["detail"].as_str().unwrap().contains('3'));
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_headers_is_cut_off() {
    let (_dns, server) = serving(ServiceConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServiceConfig::default()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A client that sends its request in time is answered.
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_audits_each_domain_up_to_the_limit() {
    let (_dns, server) = serving(ServiceConfig {
        max_batch: 2,
        ..ServiceConfig::default()
    })
    .await;
    let reports = json(
        server
            .post_json(
                "/v1/domains",
                &json!({"domains": ["some.test", "nothing.test"], "selectors": ["mail2026"]}),
            )
            .await,
    )
    .await;
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["domain"], "some.test");
    assert_eq!(reports[1]["domain"], "nothing.test");
    assert!(reports[0]["dns"].get("trace").is_none());

    let too_many = server
        .post_json(
            "/v1/domains",
            &json!({"domains": ["a.test", "b.test", "c.test"]}),
        )
        .await;
    let body = problem(too_many, StatusCode::PAYLOAD_TOO_LARGE, "too-many-domains").await;
    assert_eq!(body["field"], "domains");
    let empty = server
        .post_json("/v1/domains", &json!({"domains": []}))
        .await;
    problem(empty, StatusCode::BAD_REQUEST, "invalid-request").await;
    let invalid = server
        .post_json(
            "/v1/domains",
            &json!({"domains": ["some.test", "192.0.2.1"]}),
        )
        .await;
    let body = problem(invalid, StatusCode::BAD_REQUEST, "invalid-domain").await;
    assert_eq!(body["field"], "domains[1]");
    let selector = server
        .post_json(
            "/v1/domains",
            &json!({"domains": ["some.test"], "selectors": ["no spaces"]}),
        )
        .await;
    let body = problem(selector, StatusCode::BAD_REQUEST, "invalid-request").await;
    assert_eq!(body["field"], "selectors[0]");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_guard_everything_but_the_probes() {
    let (_dns, server) = serving(ServiceConfig {
        api_keys: vec![KEY.parse().unwrap()],
        ..ServiceConfig::default()
    })
    .await;
    let missing = server.get("/v1/findings").await;
    assert_eq!(
        missing.headers()[header::WWW_AUTHENTICATE],
        r#"Bearer realm="mailvet""#
    );
    problem(missing, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = server
        .send(
            Method::GET,
            "/v1/findings",
            &[(header::AUTHORIZATION, "Bearer test-key-0123456789abcdeX")],
        )
        .await;
    assert!(header_of(&wrong, &header::WWW_AUTHENTICATE).contains("invalid_token"));
    problem(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let right = server
        .send(
            Method::GET,
            "/v1/findings",
            &[(header::AUTHORIZATION, &format!("Bearer {KEY}"))],
        )
        .await;
    assert_eq!(right.status(), StatusCode::OK);
    let metrics = server.get("/metrics").await;
    problem(metrics, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for open in ["/healthz", "/readyz", "/openapi.yaml"] {
        assert_eq!(server.get(open).await.status(), StatusCode::OK, "{open}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_origins_may_call_from_a_browser() {
    let (dns, server) = serving(ServiceConfig {
        cors_origins: vec!["https://app.example".parse().unwrap()],
        api_keys: vec![KEY.parse().unwrap()],
        ..ServiceConfig::default()
    })
    .await;
    let from_app = (header::ORIGIN, "https://app.example");
    // A preflight carries no key; it must not need one. Each method of the
    // API is allowed (deleting a saved report from a page too), with the
    // header the key comes in.
    for (path, method) in [("/v1/spf", "POST"), ("/v1/reports/some-id", "DELETE")] {
        let preflight = server
            .send(
                Method::OPTIONS,
                path,
                &[
                    from_app.clone(),
                    (header::ACCESS_CONTROL_REQUEST_METHOD, method),
                    (
                        header::ACCESS_CONTROL_REQUEST_HEADERS,
                        "authorization,content-type",
                    ),
                ],
            )
            .await;
        assert!(preflight.status().is_success(), "{}", preflight.status());
        assert_eq!(
            header_of(&preflight, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "https://app.example"
        );
        let methods = header_of(&preflight, &header::ACCESS_CONTROL_ALLOW_METHODS);
        assert!(methods.split(',').any(|m| m.trim() == method), "{methods}");
        let headers = header_of(&preflight, &header::ACCESS_CONTROL_ALLOW_HEADERS);
        assert!(headers.contains("authorization"), "{headers}");
    }
    // Errors carry the CORS headers too, so the page can read them.
    let unauthorized = server
        .send(Method::GET, "/v1/findings", std::slice::from_ref(&from_app))
        .await;
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_of(&unauthorized, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "https://app.example"
    );
    assert!(
        header_of(&unauthorized, &header::ACCESS_CONTROL_EXPOSE_HEADERS).contains("x-request-id")
    );
    let stranger = server
        .send(
            Method::GET,
            "/healthz",
            &[(header::ORIGIN, "https://evil.example")],
        )
        .await;
    assert_eq!(
        header_of(&stranger, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        ""
    );
    server.stop().await;

    // Without configured origins, no CORS header at all.
    let closed = Running::start(state(&dns, ServiceConfig::default()).await).await;
    let response = closed.send(Method::GET, "/healthz", &[from_app]).await;
    assert_eq!(
        header_of(&response, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        ""
    );
    closed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_a_request_id() {
    let (_dns, server) = serving(ServiceConfig::default()).await;
    let made = server.get("/healthz").await;
    let id = made.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let other = server.get("/healthz").await;
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id);
    // A client's own id is kept, on errors too, and named in the problem.
    let not_found = server
        .send(
            Method::GET,
            "/nowhere",
            &[(
                header::HeaderName::from_static("x-request-id"),
                "trace-4711",
            )],
        )
        .await;
    assert_eq!(not_found.headers()["x-request-id"], "trace-4711");
    let body = problem(not_found, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(body["request_id"], "trace-4711");
    // Up to 128 visible ASCII characters are kept; a longer id, or one
    // with a space or a control character, is replaced by a new one.
    let longest = "r".repeat(128);
    let long = "r".repeat(5_000);
    for (given, kept) in [
        (longest.as_str(), true),
        (long.as_str(), false),
        ("trace 4711", false),
        ("trace\t4711", false),
    ] {
        let answer = server
            .send(
                Method::GET,
                "/nowhere",
                &[(header::HeaderName::from_static("x-request-id"), given)],
            )
            .await;
        let id = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = problem(answer, StatusCode::NOT_FOUND, "not-found").await;
        assert_eq!(body["request_id"], id.as_str());
        if kept {
            assert_eq!(id, given);
        } else {
            assert_eq!(
                id.len(),
                36,
                "a new UUID for {} characters: {id}",
                given.len()
            );
        }
    }
    let wrong_method = server.get("/v1/spf").await;
    problem(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;
    let invalid = server
        .post_json("/v1/spf", &json!({"ip": "not-an-ip", "helo": "x.test"}))
        .await;
    problem(invalid, StatusCode::BAD_REQUEST, "invalid-ip").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_dns_and_findings() {
    let (_dns, server) = serving(ServiceConfig::default()).await;
    let spf = server
        .post_json(
            "/v1/spf",
            &json!({"ip": "192.0.2.1", "mail_from": "user@some.test"}),
        )
        .await;
    assert_eq!(spf.status(), StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(
            server.get("/v1/domains/some.test").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        server.get("/v1/nothing").await.status(),
        StatusCode::NOT_FOUND
    );
    let response = server
        .send(
            Method::GET,
            "/metrics",
            &[(header::AUTHORIZATION, &format!("Bearer {KEY}"))],
        )
        .await;
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    for line in [
        r#"mailvet_http_requests_total{route="/v1/spf",status="200"} 1"#,
        r#"mailvet_http_requests_total{route="/v1/domains/{domain}",status="200"} 2"#,
        r#"mailvet_http_requests_total{route="unmatched",status="404"} 1"#,
        r#"mailvet_http_request_duration_seconds_count{route="/v1/domains/{domain}"} 2"#,
        r#"mailvet_http_request_duration_seconds_bucket{route="/v1/domains/{domain}",le="+Inf"} 2"#,
        "# TYPE mailvet_http_request_duration_seconds histogram",
        "# TYPE mailvet_dns_cache_hit_ratio gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    for prefix in [
        r#"mailvet_dns_queries_total{source="upstream",rcode="NOERROR"} "#,
        r#"mailvet_dns_queries_total{source="upstream",rcode="NXDOMAIN"} "#,
        // The second audit is answered from the shared cache.
        r#"mailvet_dns_queries_total{source="cache",rcode="NOERROR"} "#,
        // The fixture's SPF fails 192.0.2.1.
        r#"mailvet_findings_total{code="spf.fail"} "#,
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "{prefix} missing:\n{text}"
        );
    }
    let ratio: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("mailvet_dns_cache_hit_ratio "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_when_the_resolver_answers() {
    let (_dns, server) = serving(ServiceConfig::default()).await;
    assert_eq!(json(server.get("/readyz").await).await["status"], "ready");
    server.stop().await;

    // A server that never answers: the probe gives up and says so.
    let (_silent, dead) = support::silent_layer(1000).await;
    let server = Running::start(AppState::new(dead, crate::support::store::scratch().await)).await;
    let response = server.get("/readyz").await;
    problem(response, StatusCode::SERVICE_UNAVAILABLE, "not-ready").await;
    assert_eq!(json(server.get("/healthz").await).await["status"], "ok");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_requests_in_flight_first() {
    let dns = test_dns().await;
    dns.set_latency(Duration::from_millis(300));
    let server = Running::start(state(&dns, ServiceConfig::default()).await).await;
    let addr = server.addr;
    let in_flight = {
        let request = server.request(Method::GET, "/v1/domains/some.test");
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    server.wait_in_flight(KEY, 1).await;
    server.stop().await;
    let response = in_flight.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["domain"], "some.test");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_is_served() {
    let (_dns, server) = serving(ServiceConfig::default()).await;
    let response = server.get("/openapi.yaml").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/yaml");
    let text = response.text().await.unwrap();
    assert!(text.starts_with("openapi: 3.1"));
    for path in ["/readyz:", "/metrics:", "/v1/domains:", "/openapi.yaml:"] {
        assert!(text.contains(path), "{path} is documented");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_refused_before_the_body() {
    let (_dns, server) = serving(ServiceConfig::default()).await;
    // A terabyte announced, not a byte of it sent: the answer cannot wait
    // for the body.
    let head = raw::head(
        "POST",
        "/v1/messages",
        "message/rfc822",
        "Content-Length: 1000000000000\r\n",
    );
    let answer = Sent::start(server.addr, &head, b"").await.answer().await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.header("content-type"), "application/problem+json");
    assert_eq!(answer.header("connection"), "close");
    let body = answer.json();
    assert_eq!(body["type"], "/problems/body-too-large");
    assert!(
        body["detail"].as_str().unwrap().contains("26214400"),
        "{body}"
    );

    // Chunks without a declared length are counted as they come: the
    // JSON endpoints take 16 KiB.
    let head = raw::head(
        "POST",
        "/v1/spf",
        "application/json",
        "Transfer-Encoding: chunked\r\n",
    );
    let mut chunks = Vec::new();
    for _ in 0..5 {
        chunks.extend_from_slice(b"1000\r\n");
        chunks.extend_from_slice(&[b' '; 0x1000]);
        chunks.extend_from_slice(b"\r\n");
    }
    let answer = Sent::start(server.addr, &head, &chunks)
        .await
        .answer()
        .await;
    assert_eq!(answer.status, 413);
    let body = answer.json();
    assert_eq!(body["type"], "/problems/body-too-large");
    assert!(body["detail"].as_str().unwrap().contains("16384"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_408_and_holds_no_concurrency_slot() {
    let (_dns, server) = serving(ServiceConfig {
        max_concurrent: 1,
        body_read_timeout: Duration::from_millis(700),
        ..ServiceConfig::default()
    })
    .await;
    let started = std::time::Instant::now();
    let head = raw::head(
        "POST",
        "/v1/messages",
        "message/rfc822",
        "Content-Length: 1000\r\n",
    );
    let slow = Sent::start(server.addr, &head, b"From: a@some.test\r\n").await;
    server.wait_in_flight(KEY, 1).await;
    // The only slot is free while the body is awaited.
    assert_eq!(server.get("/v1/findings").await.status(), StatusCode::OK);
    let answer = slow.answer().await;
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert_eq!(answer.status, 408);
    assert_eq!(answer.header("connection"), "close");
    let body = answer.json();
    assert_eq!(body["type"], "/problems/body-timeout");
    assert!(
        body["detail"].as_str().unwrap().contains("700 ms"),
        "{body}"
    );
    server.stop().await;
}

/// The bytes of request bodies the server holds, from `/metrics`.
async fn body_bytes(server: &Running) -> u64 {
    server
        .metrics(KEY)
        .await
        .lines()
        .find_map(|l| l.strip_prefix("mailvet_http_body_bytes "))
        .and_then(|n| n.parse().ok())
        .expect("the gauge is exported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_budget_is_shared_and_given_back() {
    let dns = test_dns().await;
    let server = Running::start(AppState {
        message_limit: 2000,
        ..state(
            &dns,
            ServiceConfig {
                body_memory: 3000,
                body_read_timeout: Duration::from_millis(800),
                ..ServiceConfig::default()
            },
        )
        .await
    })
    .await;
    let message = |size: usize| {
        let mut raw = b"From: a@some.test\r\nSubject: x\r\n\r\n".to_vec();
        raw.resize(size, b'x');
        raw
    };
    // One upload holds 1500 bytes and stalls.
    let head = raw::head(
        "POST",
        "/v1/messages",
        "message/rfc822",
        "Content-Length: 2000\r\n",
    );
    let slow = Sent::start(server.addr, &head, &message(1500)).await;
    for _ in 0..200 {
        if body_bytes(&server).await == 1500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(body_bytes(&server).await, 1500);
    // 2000 more would go over the 3000 the server holds at most.
    let refused = server
        .post_raw("/v1/messages", "message/rfc822", message(2000))
        .await;
    assert_eq!(retry_after(&refused), 1);
    assert_eq!(header_of(&refused, &header::CONNECTION), "close");
    let body = problem(refused, StatusCode::SERVICE_UNAVAILABLE, "overloaded").await;
    assert!(body["detail"].as_str().unwrap().contains("3000"), "{body}");
    // A small body still fits beside the stalled one.
    assert_eq!(
        server
            .post_raw("/v1/messages", "message/rfc822", message(1000))
            .await
            .status(),
        StatusCode::OK
    );
    // Once the stalled upload has been answered (408), its bytes are free.
    assert_eq!(slow.answer().await.status, 408);
    assert_eq!(body_bytes(&server).await, 0);
    assert_eq!(
        server
            .post_raw("/v1/messages", "message/rfc822", message(2000))
            .await
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_size_cap_is_422_naming_it() {
    let (_dns, server) = serving(ServiceConfig {
        max_response_size: 2000,
        ..ServiceConfig::default()
    })
    .await;
    let response = server.get("/v1/domains/some.test?trace=true").await;
    let body = problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "response-too-large",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("2000"), "{body}");
    // Problems and small answers pass.
    let small = server
        .post_json("/v1/spf", &json!({"ip": "192.0.2.1", "helo": "x.test"}))
        .await;
    assert_eq!(small.status(), StatusCode::OK);
    let invalid = server.post_json("/v1/spf", &json!({"ip": "x"})).await;
    problem(invalid, StatusCode::BAD_REQUEST, "invalid-ip").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_router_refuses_is_a_problem_and_hyper_refuses_bare() {
    let (_dns, server) = serving(ServiceConfig::default()).await;
    // Not UTF-8 once percent-decoded: refused by the path extractor.
    let response = server.get("/v1/domains/%FF.test").await;
    let body = problem(response, StatusCode::BAD_REQUEST, "invalid-request").await;
    assert!(body["detail"].as_str().unwrap().contains("UTF-8"), "{body}");
    // A header section over 64 KiB is refused by hyper before a request
    // exists: a bare 431, no body, the connection closed.
    let big = format!("X-Big: {}\r\n", "a".repeat(70 * 1024));
    let head = raw::head("GET", "/healthz", "text/plain", &big);
    let answer = Sent::start(server.addr, &head, b"").await.answer().await;
    assert_eq!(answer.status, 431);
    assert!(answer.body.is_empty(), "{answer:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_budget_below_the_message_limit_stops_startup() {
    let dns = test_dns().await;
    let state = AppState {
        message_limit: 2000,
        ..state(
            &dns,
            ServiceConfig {
                body_memory: 1999,
                ..ServiceConfig::default()
            },
        )
        .await
    };
    let refused = mailvet::http::serve("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("--body-memory"), "{refused}");
}
