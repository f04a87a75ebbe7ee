//! The message report through its doors, against the test DNS server:
//! `POST /v1/messages` (with its limits and bad input), `POST
//! /v1/dmarc/evaluate`, and `mailvet message`.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mailvet::http::{AppState, router};
use serde_json::{Value, json};
use std::path::Path;
use support::TestDns;

async fn server() -> TestDns {
    TestDns::start(&[Path::new("fixtures/audit/healthy.zone")]).await
}

async fn call(state: AppState, request: Request<Body>) -> (StatusCode, String, Value) {
    support::api::call(router(state), request).await
}

fn post_message(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(body.into())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_gets_every_verdict_and_an_authentication_results_header() {
    let dns = server().await;
    let state = AppState::new(dns.layer(), crate::support::store::scratch().await);
    let raw = std::fs::read("fixtures/messages/received-only.eml").unwrap();
    let (status, _, report) = call(
        state.clone(),
        post_message("/v1/messages?trace=true", raw.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["spf"]["result"], "pass");
    assert_eq!(report["envelope"]["ip"]["source"], "received");
    assert_eq!(report["dmarc"]["result"], "pass");
    assert_eq!(report["dmarc"]["policy"], "reject");
    assert!(report["dkim"].as_array().unwrap().is_empty());
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"envelope.inferred") && codes.contains(&"dkim.missing"),
        "{codes:?}"
    );
    let ar = report["authentication_results"].as_str().unwrap();
    assert!(
        ar.starts_with("Authentication-Results: mailvet;")
            && ar.contains("spf=pass")
            && ar.contains("dmarc=pass"),
        "{ar}"
    );
    assert!(!report["dns"]["trace"].as_array().unwrap().is_empty());
    assert!(
        report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "gmail.bulk.alignment" && r["status"] == "met")
    );

    // Given envelope values win over the headers.
    let (_, _, given) = call(
        state,
        post_message(
            "/v1/messages?ip=192.0.2.99&helo=elsewhere.test&mail_from=x@healthy.test",
            raw,
        ),
    )
    .await;
    assert_eq!(given["envelope"]["ip"]["source"], "given");
    assert_eq!(given["spf"]["result"], "fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_report_or_a_4xx_never_a_500() {
    let dns = server().await;
    let state = AppState::new(dns.layer(), crate::support::store::scratch().await);
    for body in [
        b"\x00\x01\xff\xfe garbage".to_vec(),
        b"no header section at all".to_vec(),
        b"Subject: only a subject\r\n".to_vec(),
        b"From: a@healthy.test\r\nDKIM-Signature: v=1; a=rsa-sha256; d=; b=!!!\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nbroken".to_vec(),
        vec![0xC3; 4096],
    ] {
        let (status, _, report) = call(state.clone(), post_message("/v1/messages?ip=192.0.2.1", body)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert!(report["findings"].is_array());
    }
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_message("/v1/messages?ip=not-an-ip", "Subject: x\r\n\r\n"),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-ip",
        ),
        (
            post_message("/v1/messages?helo=a%00b", "Subject: x\r\n\r\n"),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-domain",
        ),
        (
            post_message("/v1/messages?bulk=maybe", "Subject: x\r\n\r\n"),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            post_message("/v1/messages?ipaddr=192.0.2.1", "Subject: x\r\n\r\n"),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        // Two IPs: which one sent the message cannot be known.
        (
            post_message(
                "/v1/messages?ip=192.0.2.1&ip=192.0.2.2",
                "Subject: x\r\n\r\n",
            ),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            post_message("/v1/messages", ""),
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        ),
        (
            Request::post("/v1/messages")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
        ),
        // A compressed body is not a message to verify byte by byte.
        (
            Request::post("/v1/messages")
                .header(header::CONTENT_TYPE, "message/rfc822")
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Body::from(&b"\x1f\x8b\x08\x00"[..]))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
        ),
    ];
    for (request, want, kind) in cases {
        let uri = request.uri().to_string();
        let (status, content_type, problem) = call(state.clone(), request).await;
        assert_eq!(
            (status, content_type.as_str()),
            (want, "application/problem+json"),
            "{uri}: {problem}"
        );
        assert_eq!(problem["type"], kind, "{uri}");
    }
    let small = AppState {
        message_limit: 1000,
        ..AppState::new(dns.layer(), crate::support::store::scratch().await)
    };
    let (status, _, problem) = call(small, post_message("/v1/messages", vec![b'a'; 5000])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem["type"], "/problems/body-too-large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_what_if_answers_without_a_message() {
    let dns = server().await;
    let state = AppState::new(dns.layer(), crate::support::store::scratch().await);
    let post = |body: Value| {
        Request::post("/v1/dmarc/evaluate")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (status, _, pass) = call(
        state.clone(),
        post(json!({"from_domain": "healthy.test", "spf": {"domain": "bounce.esp.example", "result": "pass"}, "dkim": [{"domain": "healthy.test", "result": "pass"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pass}");
    assert_eq!(pass["result"], "pass");
    assert_eq!(pass["dkim"]["aligned_domain"], "healthy.test");
    let (_, _, fail) = call(
        state.clone(),
        post(json!({"from_domain": "healthy.test", "spf": {"domain": "esp.example", "result": "pass"}, "dkim": [{"domain": "esp.example", "result": "pass"}]})),
    )
    .await;
    assert_eq!(fail["result"], "fail");
    assert_eq!(fail["policy"], "reject");
    // A word that is not a result is a request not matching the API, not
    // an invalid domain; a domain that is not one is.
    for (body, field, kind) in [
        (
            json!({"from_domain": "healthy.test", "dkim": [{"domain": "x.test", "result": "great"}]}),
            "dkim[0].result",
            "/problems/invalid-request",
        ),
        (
            json!({"from_domain": "healthy.test", "spf": {"domain": "x.test", "result": "great"}}),
            "spf.result",
            "/problems/invalid-request",
        ),
        (
            json!({"from_domain": "healthy.test", "spf": {"domain": "news@x.test", "result": "pass"}}),
            "spf.domain",
            "/problems/invalid-domain",
        ),
    ] {
        let (status, _, problem) = call(state.clone(), post(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["field"], field, "{problem}");
        assert_eq!(problem["type"], kind, "{problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_verifies_files_and_standard_input() {
    let dns = server().await;
    let run = |args: Vec<&str>, stdin: Option<&'static [u8]>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"));
        command
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        async move {
            let mut child = command.spawn().unwrap();
            if let Some(input) = stdin {
                use tokio::io::AsyncWriteExt;
                child.stdin.take().unwrap().write_all(input).await.unwrap();
            } else {
                drop(child.stdin.take());
            }
            child.wait_with_output().await.unwrap()
        }
    };
    let addr = dns.dns_arg();
    let out = run(
        vec![
            "message",
            "fixtures/messages/received-only.eml",
            "fixtures/messages/clean-bulk.eml",
            "--dns",
            &addr,
            "--format",
            "json",
        ],
        None,
    )
    .await;
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        reports.as_array().unwrap().len(),
        2,
        "several files give an array"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "unsigned mail is a dkim.missing error"
    );
    let text = run(
        vec![
            "message",
            "-",
            "--dns",
            &addr,
            "--ip",
            "198.51.100.7",
            "--fail-on",
            "never",
        ],
        Some(b"From: a@healthy.test\r\nSubject: hi\r\n\r\nbody\r\n"),
    )
    .await;
    assert_eq!(text.status.code(), Some(0));
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(
        stdout.contains("Authentication-Results: mailvet;")
            && stdout.contains("msg.missing_header"),
        "{stdout}"
    );
    let missing = run(vec!["message", "nope.eml", "--offline"], None).await;
    assert_eq!(missing.status.code(), Some(2));
    let big = run(
        vec![
            "message",
            "fixtures/messages/clean-bulk.eml",
            "--offline",
            "--max-message-size",
            "10",
        ],
        None,
    )
    .await;
    assert_eq!(big.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&big.stderr).contains("--max-message-size"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_from_domain_without_dmarc_explains_the_none_verdict() {
    let dns = server().await;
    let raw = "From: a@nodmarc.test\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\
               Message-ID: <1@nodmarc.test>\r\nSubject: hi\r\n\r\nbody\r\n";
    let (_, _, report) = call(
        AppState::new(dns.layer(), crate::support::store::scratch().await),
        post_message("/v1/messages?ip=192.0.2.1&mail_from=a@nodmarc.test", raw),
    )
    .await;
    assert_eq!(report["dmarc"]["result"], "none");
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"dmarc.missing") && codes.contains(&"spf.missing"),
        "{codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_mail_auth_endpoints_answer_for_the_request_that_leases_them() {
    let dns = server().await;
    let layer = dns.layer();
    let raw = std::fs::read("fixtures/messages/received-only.eml").unwrap();
    let request = |ip: &str| mailvet::message::report::MessageRequest {
        raw: raw.clone(),
        envelope: mailvet::message::envelope::Envelope {
            ip: Some(ip.parse().unwrap()),
            helo: None,
            mail_from: None,
        },
        bulk: None,
        authserv_id: "mailvet".into(),
        clock: mailvet::message::Clock::system(),
        limits: mailvet::message::limits::MessageLimits::default(),
        blocklists: mailvet::message::blocklists::Blocklists::none(),
    };
    // Sequential requests reuse one endpoint; each trace holds its own
    // mail-auth questions (iprev's PTR for its own IP) and none of the other's.
    let first = mailvet::message::report::report(&layer, &request("198.51.100.7"), true)
        .await
        .unwrap();
    let second = mailvet::message::report::report(&layer, &request("192.0.2.25"), true)
        .await
        .unwrap();
    let names = |r: &mailvet::message::report::MessageReport| -> Vec<String> {
        r.dns
            .trace
            .iter()
            .flatten()
            .map(|t| t.name.clone())
            .collect()
    };
    assert!(
        names(&first).contains(&"7.100.51.198.in-addr.arpa.".to_string()),
        "{:?}",
        names(&first)
    );
    assert!(!names(&first).contains(&"25.2.0.192.in-addr.arpa.".to_string()));
    assert!(
        names(&second).contains(&"25.2.0.192.in-addr.arpa.".to_string()),
        "{:?}",
        names(&second)
    );
    assert!(!names(&second).contains(&"7.100.51.198.in-addr.arpa.".to_string()));
    // Concurrent requests get their own endpoints.
    let (ra, rb) = (request("198.51.100.7"), request("192.0.2.25"));
    let (a, b) = tokio::join!(
        mailvet::message::report::report(&layer, &ra, true),
        mailvet::message::report::report(&layer, &rb, true)
    );
    assert!(names(&a.unwrap()).contains(&"7.100.51.198.in-addr.arpa.".to_string()));
    assert!(names(&b.unwrap()).contains(&"25.2.0.192.in-addr.arpa.".to_string()));
}

/// SPF that could not be checked says what was missing: with the IP given
/// but neither MAIL FROM nor HELO known, that is the identity, not the IP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_not_evaluated_names_what_is_missing() {
    let dns = server().await;
    let state = AppState::new(dns.layer(), crate::support::store::scratch().await);
    let raw = "From: a@healthy.test\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\
               Message-ID: <1@healthy.test>\r\nSubject: hi\r\n\r\nbody\r\n";
    for (uri, reason, comment) in [
        (
            "/v1/messages?ip=192.0.2.1",
            "SPF was not evaluated: give a MAIL FROM address, a HELO name, or both",
            "spf=none (not evaluated: no usable MAIL FROM or HELO)",
        ),
        (
            "/v1/messages?mail_from=a@healthy.test",
            "SPF was not evaluated: the sending IP is unknown",
            "spf=none (not evaluated: no client IP)",
        ),
    ] {
        let (status, _, report) = call(state.clone(), post_message(uri, raw)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["spf"]["result"], "not_evaluated", "{uri}");
        let said = report["spf"]["reason"].as_str().unwrap();
        assert!(said.starts_with(reason), "{uri}: {said}");
        let header = report["authentication_results"].as_str().unwrap();
        assert!(header.contains(comment), "{uri}: {header}");
    }
}

/// The clauses of an Authentication-Results field: split at each `;`
/// outside a quoted-string (RFC 8601 §2.2), folding undone.
fn clauses(field: &str) -> Vec<String> {
    let mut clauses = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in field.replace("\r\n\t", " ").chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                clauses.push(String::new());
                continue;
            }
            _ => {}
        }
        clauses.last_mut().unwrap().push(c);
    }
    clauses.iter().map(|c| c.trim().to_string()).collect()
}

/// Values from the envelope and the message cannot add a result to the
/// Authentication-Results header: a MAIL FROM whose local part reads like
/// a result, a HELO that is no name and a DKIM selector holding markup
/// are each one quoted value. The SPF check of a HELO that is no domain
/// name says so rather than asking for a record there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_outside_value_adds_a_result_to_the_authentication_results() {
    let dns = TestDns::start(&[Path::new("fixtures/web/xss.zone")]).await;
    let state = AppState::new(dns.layer(), crate::support::store::scratch().await);
    let raw = std::fs::read("fixtures/web/xss.eml").unwrap();
    let (status, _, report) = call(
        state.clone(),
        post_message(
            "/v1/messages?ip=203.0.113.20&mail_from=x%3Bdkim%3Dpass%20header.d%3Dpaypal.com@xss.test",
            raw.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let ar = report["authentication_results"].as_str().unwrap();
    assert!(
        ar.contains(r#"smtp.mailfrom="x;dkim=pass header.d=paypal.com@xss.test";"#),
        "{ar}"
    );
    assert!(
        ar.contains(r#"header.s="<script>alert('s')</script>""#),
        "{ar}"
    );
    // Read as a receiver reads it: `;` ends a clause only outside a
    // quoted-string.
    let results = clauses(ar);
    assert_eq!(
        results.iter().filter(|c| c.starts_with("dkim=")).count(),
        report["dkim"].as_array().unwrap().len().max(1),
        "one dkim result per signature: {results:?}"
    );
    assert_eq!(
        results.iter().filter(|c| c.starts_with("spf=")).count(),
        1,
        "{results:?}"
    );

    let (status, _, report) = call(
        state,
        post_message(
            "/v1/messages?ip=203.0.113.20&helo=bad_helo!&mail_from=",
            raw,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let ar = report["authentication_results"].as_str().unwrap();
    assert!(
        ar.contains(r#"smtp.mailfrom="postmaster@bad_helo!";"#),
        "{ar}"
    );
    let missing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "spf.missing")
        .unwrap_or_else(|| panic!("{report}"));
    let message = missing["detail"].as_str().unwrap();
    assert!(
        message.contains("The HELO name `bad_helo!` is not a domain name"),
        "{message}"
    );
    assert!(
        !missing["fix"].as_str().unwrap().contains("Publish"),
        "{missing}"
    );
}
