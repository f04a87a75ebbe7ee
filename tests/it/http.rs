//! The HTTP API: the real router, and one real listening server spoken to
//! over a socket, against the test DNS server.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mailvet::dns::{Dns, Settings, UpstreamChoice};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::TestDns;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn setup() -> (TestDns, Arc<Dns>) {
    let server = TestDns::start(&[Path::new("fixtures/zones/some.test.zone")]).await;
    let dns = Dns::new(
        Settings {
            upstream: UpstreamChoice::Servers(vec![server.addr]),
            query_timeout: Duration::from_millis(500),
            attempts: 1,
            deadline: Duration::from_secs(5),
            cache_capacity: 1000,
            max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
        },
        vec![],
    )
    .unwrap();
    (server, dns)
}

async fn call(dns: &Arc<Dns>, request: Request<Body>) -> (StatusCode, String, Value) {
    support::api::call(
        mailvet::http::router(mailvet::http::AppState::new(
            Arc::clone(dns),
            crate::support::store::scratch().await,
        )),
        request,
    )
    .await
}

fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_spf_returns_the_report() {
    let (_server, dns) = setup().await;
    let body =
        json!({"ip": "192.0.2.1", "helo": "mail.client.test", "mail_from": "user@some.test"});
    let (status, content_type, report) = call(&dns, post("/v1/spf", body.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    assert_eq!(report["result"], "fail");
    assert_eq!(report["identity"], "mailfrom");
    assert_eq!(report["domain"], "some.test");
    assert!(
        report["explanation"]
            .as_str()
            .unwrap()
            .starts_with("192.0.2.1 is not")
    );
    assert!(report["dns"].get("trace").is_none());

    let (_, _, traced) = call(&dns, post("/v1/spf?trace=true", body.to_string())).await;
    assert!(!traced["dns"]["trace"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_problem_json_with_a_stable_type() {
    let (_server, dns) = setup().await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/v1/spf", r#"{"ip":"not-an-ip"}"#),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-ip",
        ),
        (
            post("/v1/spf", r#"{"ip":"192.0.2.1""#),
            StatusCode::BAD_REQUEST,
            "/problems/malformed-json",
        ),
        (
            post("/v1/spf", "\u{0}\u{1}garbage"),
            StatusCode::BAD_REQUEST,
            "/problems/malformed-json",
        ),
        (
            post("/v1/spf", r#"{"helo":"x.test"}"#),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            post("/v1/spf", r#"{"ip":"192.0.2.1","mailfrom":"a@b.test"}"#),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            post("/v1/spf", r#"{"ip":"192.0.2.1"}"#),
            StatusCode::BAD_REQUEST,
            "/problems/missing-identity",
        ),
        (
            post("/v1/spf", r#"{"ip":"192.0.2.1","helo":"a\u0000b"}"#),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-domain",
        ),
        (
            post(
                "/v1/spf?trace=maybe",
                r#"{"ip":"192.0.2.1","helo":"x.test"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            post("/v1/spf", vec![b' '; 20_000]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/body-too-large",
        ),
        (
            Request::get("/v1/spf").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "/problems/method-not-allowed",
        ),
        (
            Request::get("/nope").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
            "/problems/not-found",
        ),
        // Refused by axum's path extractor before the handler runs.
        (
            Request::get("/v1/domains/%FF.test")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            Request::get("/v1/domains/a%C3%28.test")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
    ];
    for (request, want_status, want_type) in cases {
        let uri = request.uri().to_string();
        let (status, content_type, problem) = call(&dns, request).await;
        assert_eq!(status, want_status, "{uri}: {problem}");
        assert_eq!(content_type, "application/problem+json", "{uri}");
        assert_eq!(problem["type"], want_type, "{uri}: {problem}");
        assert_eq!(problem["status"], want_status.as_u16());
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    let (_, _, problem) = call(
        &dns,
        post("/v1/spf", r#"{"ip":"300.1.1.1","helo":"x.test"}"#),
    )
    .await;
    assert_eq!(problem["field"], "ip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_server_answers_curl_style_requests() {
    let (_server, dns) = setup().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = crate::support::store::scratch().await;
    tokio::spawn(async move {
        axum::serve(
            listener,
            mailvet::http::router(mailvet::http::AppState::new(dns, store)),
        )
        .await
        .unwrap();
    });
    // What `curl -s localhost:8080/v1/spf -d '{"ip":"not-an-ip"}'` sends:
    // a form content type, which the API must not reject as such.
    let body = r#"{"ip":"not-an-ip"}"#;
    let request = format!(
        "POST /v1/spf HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json")
    );
    assert!(response.contains("/problems/invalid-ip"));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok"}"#));
}
