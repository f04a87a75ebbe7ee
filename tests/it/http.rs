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

/// RFC 7208 §4.3: an identity that is no domain name gives `none`; the
/// finding says why instead of asking for a record at no name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_that_is_no_domain_name_is_none_and_said_so() {
    let (_server, dns) = setup().await;
    // What no envelope holds is refused, naming the field.
    for (body, field) in [
        (json!({"ip": "192.0.2.1", "mail_from": "a@"}), "mail_from"),
        (json!({"ip": "192.0.2.1", "mail_from": "@"}), "mail_from"),
        (json!({"ip": "192.0.2.1", "helo": "a b"}), "helo"),
    ] {
        let (status, _, problem) = call(&dns, post("/v1/spf", body.to_string())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["type"], "/problems/invalid-domain");
        assert_eq!(problem["field"], field, "{problem}");
    }
    for (body, detail) in [(
        json!({"ip": "192.0.2.1", "helo": "bad_helo!"}),
        "The HELO name `bad_helo!` is not a domain name",
    )] {
        let (status, _, report) = call(&dns, post("/v1/spf", body.to_string())).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["result"], "none");
        let finding = &report["findings"][0];
        assert_eq!(finding["code"], "spf.missing");
        assert!(
            finding["detail"].as_str().unwrap().starts_with(detail),
            "{finding}"
        );
        assert!(
            !finding["fix"].as_str().unwrap().contains("Publish"),
            "{finding}"
        );
    }
    // A name DNS can hold, underscore and all, is asked about: a record
    // could be published there.
    let body = json!({"ip": "192.0.2.1", "mail_from": "a@mail_1.some.test"});
    let (_, _, report) = call(&dns, post("/v1/spf", body.to_string())).await;
    assert_eq!(report["result"], "none", "{report}");
    let fix = report["findings"][0]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("Publish one TXT record at mail_1.some.test"),
        "{fix}"
    );
}

/// What no envelope holds and a person easily pastes (a URL, a list of
/// addresses, a MAIL FROM without a domain) is a 400 naming the field,
/// for the SPF and message endpoints alike; what passes is checked as
/// SPF reads it (domain in lower case, no final dot, brackets dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_identity_that_is_no_envelope_is_refused() {
    let (_server, dns) = setup().await;
    for (body, field, says) in [
        (
            json!({"ip": "192.0.2.1", "mail_from": "bounce"}),
            "mail_from",
            "it has no @domain",
        ),
        (
            json!({"ip": "192.0.2.1", "mail_from": "a@some.test, b@some.test"}),
            "mail_from",
            "more than one address",
        ),
        (
            json!({"ip": "192.0.2.1", "helo": "https://mail.some.test/"}),
            "helo",
            "not a URL (mail.some.test)",
        ),
    ] {
        let (status, _, problem) = call(&dns, post("/v1/spf", body.to_string())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["type"], "/problems/invalid-domain");
        assert_eq!(problem["field"], field);
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    let message = Request::post("/v1/messages?ip=192.0.2.1&mail_from=bounce")
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(Body::from("From: a@some.test\r\n\r\nhi\r\n"))
        .unwrap();
    let (status, _, problem) = call(&dns, message).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "mail_from");

    let body = json!({"ip": "192.0.2.1", "mail_from": "<User@Some.TEST.>"});
    let (status, _, report) = call(&dns, post("/v1/spf", body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["domain"], "some.test");
    assert_eq!(report["sender"], "User@some.test");
    assert_eq!(report["result"], "fail");
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

/// A `Content-Type` that is not visible ASCII (a Latin-1 `é`, a byte of
/// UTF-8) names no media type: each endpoint that checks the type refuses
/// it 415, saying so, before reading the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_type_that_is_not_visible_ascii_is_an_unsupported_media_type() {
    let (_server, dns) = setup().await;
    for (uri, content_type) in [
        ("/v1/messages", &b"message/rfc822; charset=\xe9"[..]),
        ("/v1/messages", "text/plain; charset=é".as_bytes()),
        ("/v1/reports/tls", &b"application/tlsrpt+json\xff"[..]),
        ("/v1/reports/tls", "application/tlsrpt+gzip; n=é".as_bytes()),
    ] {
        let request = Request::post(uri)
            .header(
                header::CONTENT_TYPE,
                header::HeaderValue::from_bytes(content_type).unwrap(),
            )
            .body(Body::from("Subject: x\r\n\r\n"))
            .unwrap();
        let (status, _, problem) = call(&dns, request).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{uri}: {problem}"
        );
        assert_eq!(problem["type"], "/problems/unsupported-media-type", "{uri}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .ends_with("not a content type that is not visible ASCII"),
            "{uri}: {problem}"
        );
    }
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

/// The text a web page shows for `text` (maud escapes these four).
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An input that is not a domain is refused with why, in the same words
/// by the API, the web page and the CLI; what is repeated of it is short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_refused_says_why_everywhere_and_repeats_little() {
    let (_server, dns) = setup().await;
    let long_label = format!("{}.test", "a".repeat(64));
    let long_name = format!("{}test", "abcdefghi.".repeat(26));
    let huge = "x".repeat(15_000);
    let cases = [
        (long_label.as_str(), "a label is longer than 63 characters"),
        (long_name.as_str(), "the name is longer than 253 characters"),
        (
            "news@web.test",
            "it is an email address; give the part after @ (web.test)",
        ),
        (
            "https://web.test/x",
            "give the domain alone, not a URL (web.test)",
        ),
        (
            "_dmarc.web.test",
            "it is a record's name; give the domain (web.test)",
        ),
        (
            "web\u{202e}tset.test",
            "it contains an invisible or control character (U+202E)",
        ),
        (huge.as_str(), "a label is longer than 63 characters"),
    ];
    for (input, reason) in cases {
        let path: String = form_urlencoded::byte_serialize(input.as_bytes()).collect();
        let (status, _, problem) = call(
            &dns,
            Request::get(format!("/v1/domains/{path}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{input}");
        assert_eq!(problem["type"], "/problems/invalid-domain");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.ends_with(&format!(" is not a domain name: {reason}")),
            "{detail}"
        );
        assert!(detail.len() < 300, "echoed short: {} bytes", detail.len());

        let (status, _, page) = support::api::send(
            mailvet::http::router(mailvet::http::AppState::new(
                Arc::clone(&dns),
                crate::support::store::scratch().await,
            )),
            Request::get(format!("/domains/{path}"))
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let page = String::from_utf8(page.to_vec()).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{input}");
        assert!(
            page.contains(&html_escaped(detail)),
            "{detail} not in {page}"
        );
        assert!(
            page.len() < 12_000,
            "the page repeats little of the input: {} bytes",
            page.len()
        );

        let cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
            .args(["domain", "--offline", input])
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&cli.stderr);
        assert_eq!(cli.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(detail), "{detail} not in {stderr}");
    }
}

/// A domain given twice in a batch, in any case or IDNA form, is audited
/// and answered once, where it was first given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_audits_a_repeated_domain_once() {
    let server = TestDns::start(&[Path::new("fixtures/zones/some.test.zone")]).await;
    let router = mailvet::http::router(mailvet::http::AppState::new(
        server.layer(),
        crate::support::store::scratch().await,
    ));
    let body = json!({"domains": ["some.test", "nothing.test", "SOME.Test.", "some.test"]});
    let (status, _, reports) =
        support::api::call(router, post("/v1/domains", body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{reports}");
    let domains = reports.as_array().unwrap().iter().map(|r| &r["domain"]);
    assert!(
        domains.eq([&json!("some.test"), &json!("nothing.test")]),
        "each once, where first given: {reports}"
    );
    assert_eq!(
        server.count("_dmarc.some.test", hickory_proto::rr::RecordType::TXT),
        1,
        "asked once, without a shared cache"
    );
}

/// Each endpoint that takes a JSON body takes an object: an array of the
/// fields' values, which serde would read as the struct, is refused, and
/// no detail names a Rust type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_are_objects_and_their_errors_name_no_rust_type() {
    let (_server, dns) = setup().await;
    for (uri, body, fields) in [
        (
            "/v1/spf",
            r#"["203.0.113.20", null, "bounce@some.test"]"#,
            "`ip`, `helo`, `mail_from`",
        ),
        ("/v1/spf", "[]", "`ip`, `helo`, `mail_from`"),
        (
            "/v1/dmarc/evaluate",
            r#"["some.test", null, []]"#,
            "`from_domain`, `spf`, `dkim`",
        ),
        (
            "/v1/domains",
            r#"[["some.test"]]"#,
            "`domains`, `selectors`",
        ),
        (
            "/v1/reports/tls/endpoints",
            r#" ["some.test", true]"#,
            "`domain`, `replace`",
        ),
        ("/v1/spf", "\"203.0.113.20\"", "`ip`, `helo`, `mail_from`"),
    ] {
        let (status, _, problem) = call(&dns, post(uri, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-request", "{problem}");
        assert_eq!(
            problem["detail"],
            format!("the body must be a JSON object with the fields {fields}"),
        );
    }
    let (_, _, problem) = call(&dns, post("/v1/spf", "[1,")).await;
    assert_eq!(problem["type"], "/problems/malformed-json", "{problem}");
    for (uri, body, detail) in [
        (
            "/v1/dmarc/evaluate",
            r#"{"from_domain": "some.test", "spf": 5}"#,
            "request body: invalid type: integer `5`, expected an object at line 1 column 37",
        ),
        (
            "/v1/dmarc/evaluate",
            r#"{"from_domain": "some.test", "dkim": {}}"#,
            "request body: invalid type: an object, expected an array at line 1 column 37",
        ),
        (
            "/v1/reports/tls/endpoints",
            r#"{"domain": "some.test", "replace": null}"#,
            "request body: invalid type: null, expected a boolean at line 1 column 39",
        ),
    ] {
        let (status, _, problem) = call(&dns, post(uri, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-request", "{problem}");
        assert_eq!(problem["detail"], detail);
    }
}

/// Every /v1 endpoint refuses a query parameter it does not take, those
/// that take none included, with the same words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_refuses_an_unknown_query_parameter() {
    let (_server, dns) = setup().await;
    let spf = r#"{"ip": "192.0.2.1", "helo": "x.test"}"#;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    for (request, detail) in [
        (get("/v1/findings?x=1"), "this endpoint takes none"),
        (
            get(&format!("/v1/reports/{}?x=1", "0".repeat(32))),
            "this endpoint takes none",
        ),
        (
            get(&format!("/v1/inboxes/{}?x=1", "0".repeat(32))),
            "this endpoint takes none",
        ),
        (
            post("/v1/dmarc/evaluate?x=1", "{}"),
            "this endpoint takes none",
        ),
        (
            post("/v1/reports/tls/endpoints?x=1", "{}"),
            "this endpoint takes none",
        ),
        (post("/v1/reports?x=1", "x"), "this endpoint takes none"),
        (post("/v1/spf?x=1", spf), "use trace"),
        (post("/v1/inboxes?x=1", ""), "use keep_raw"),
        (
            get("/v1/domains/some.test?x=1"),
            "use selector, trace, probe and fresh",
        ),
    ] {
        let uri = request.uri().to_string();
        let (status, _, problem) = call(&dns, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-request", "{uri}");
        assert_eq!(
            problem["detail"],
            format!("unknown query parameter `x`; {detail}"),
            "{uri}"
        );
    }
    let (status, _, problem) = call(&dns, post("/v1/spf?trace=1&trace=0", spf)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(
        problem["detail"],
        "`trace` is given more than once; give it once"
    );
}
