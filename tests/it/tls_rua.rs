//! A domain's TLS reporting URL (RFC 8460 §3), on a real listening
//! server that needs an API key, with a SQLite store: the URL is given
//! only with the key, is the same each time until replaced, and takes a
//! reporter's gzip and JSON reports without a key — once each, a second
//! copy a duplicate — but only reports about its own domain; an unknown,
//! malformed or replaced token is the same 404, naming no domain. The
//! reports page offers the record to publish to whoever could ask the API
//! for it, and not where pages are open to all.

use crate::support;

use mailvet::http::AppState;
use mailvet::http::config::ServiceConfig;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::TestDns;
use support::listening::Running;
use support::store::{Backend, TestDatabase};

const KEY: &str = "tls-rua-key-0123456789abcdef";

async fn keyed_server(web_public: bool) -> (TestDns, Running) {
    keyed_server_at(web_public, None).await
}

/// [`keyed_server`] started with `--base-url` `base_url`.
async fn keyed_server_at(web_public: bool, base_url: Option<&str>) -> (TestDns, Running) {
    let dns = TestDns::start(&[Path::new("fixtures/zones/some.test.zone")]).await;
    let service = ServiceConfig {
        api_keys: vec![KEY.parse().unwrap()],
        web_public,
        base_url: base_url.map(str::to_string),
        rate_limit: 0,
        ..ServiceConfig::default()
    };
    let state = AppState {
        service,
        ..AppState::new(dns.layer(), support::store::scratch().await)
    };
    let server = Running::start(state).await;
    (dns, server)
}

fn report(name: &str) -> Vec<u8> {
    std::fs::read(Path::new("fixtures/reports").join(name)).unwrap()
}

/// The URL of `domain` as the API gives it, asked with the key.
async fn endpoint(s: &Running, domain: &str, replace: bool) -> Value {
    let response = s
        .request(Method::POST, "/v1/reports/tls/endpoints")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(json!({"domain": domain, "replace": replace}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await
}

async fn json_of(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// The path of a reporting URL on this server.
fn path_of(endpoint: &Value, s: &Running) -> String {
    let url = endpoint["url"].as_str().unwrap();
    let origin = format!("https://{}", s.addr);
    url.strip_prefix(&origin)
        .unwrap_or_else(|| panic!("{url} is on {origin}"))
        .to_string()
}

/// A reporter's post: no key, the RFC 8460 media type.
async fn post_report(s: &Running, path: &str, media_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = s.post_raw(path, media_type, body).await;
    let status = response.status().as_u16();
    (status, json_of(response).await)
}

/// example.com's reports page as a keyed reader sees it, opened at
/// `host` (or the server's address).
async fn reports_page(s: &Running, host: Option<&str>) -> String {
    let key = format!("Bearer {KEY}");
    let mut headers = vec![(header::AUTHORIZATION, key.as_str())];
    headers.extend(host.map(|host| (header::HOST, host)));
    let page = s
        .send(Method::GET, "/reports/dmarc/example.com", &headers)
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// A reporter's post of RFC 8460's sample report.
async fn post_sample(s: &Running, path: &str) -> (u16, Value) {
    post_report(
        s,
        path,
        "application/tlsrpt+json",
        report("tls/rfc8460.json"),
    )
    .await
}

/// Posts `body` as `application/tlsrpt+json` to `path`, which must
/// refuse it as no report it takes; the problem's detail.
async fn refused(s: &Running, path: &str, body: Vec<u8>) -> String {
    let (status, problem) = post_report(s, path, "application/tlsrpt+json", body).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-report");
    problem["detail"].as_str().unwrap().to_string()
}

/// The TLS part of `domain`'s summary, asked with the key.
async fn tls_summary(s: &Running, domain: &str) -> Value {
    let response = s
        .request(Method::GET, &format!("/v1/reports/dmarc/{domain}"))
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await["tls"].clone()
}

async fn stored_tls_reports(s: &Running, domain: &str) -> Value {
    tls_summary(s, domain).await["reports"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_posts_to_the_domains_url_without_the_key() {
    let (_dns, s) = keyed_server(false).await;

    let without_key = s
        .post_json(
            "/v1/reports/tls/endpoints",
            &json!({"domain": "example.com"}),
        )
        .await;
    assert_eq!(without_key.status(), StatusCode::UNAUTHORIZED);

    let first = endpoint(&s, "Example.COM.", false).await;
    assert_eq!(first["domain"], "example.com");
    assert_eq!(first["name"], "_smtp._tls.example.com");
    let url = first["url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 32, "{url}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
    assert_eq!(url, format!("https://{}/v1/reports/tls/{token}", s.addr));
    assert_eq!(first["record"], format!("v=TLSRPTv1; rua={url}"));
    for _ in 0..2 {
        assert_eq!(endpoint(&s, "example.com", false).await, first, "stable");
    }

    let path = path_of(&first, &s);
    for (media_type, file) in [
        ("application/tlsrpt+json", "tls/rfc8460.json"),
        ("application/tlsrpt+gzip", "tls/google.json.gz"),
    ] {
        let (status, intake) = post_report(&s, &path, media_type, report(file)).await;
        assert_eq!(status, 201, "{file}: {intake}");
        assert_eq!(intake["status"], "imported");
        assert_eq!(intake["kind"], "tls");
        assert_eq!(intake["domain"], "example.com");
        let (status, again) = post_report(&s, &path, media_type, report(file)).await;
        assert_eq!(status, 200, "{file}: {again}");
        assert_eq!(again["status"], "duplicate");
    }
    assert_eq!(stored_tls_reports(&s, "example.com").await, 2);
    // With TLS reports only, the page shows them and judges no readiness
    // for enforcement, which needs aggregate reports.
    let page = reports_page(&s, None).await;
    assert!(
        page.contains("No DMARC aggregate report is stored for this domain"),
        "{page}"
    );
    assert!(page.contains("TLS reports"), "{page}");
    assert!(!page.contains("Next step"), "{page}");

    // Still only these two media types, and only TLS reports.
    let (status, problem) =
        post_report(&s, &path, "application/json", report("tls/microsoft.json")).await;
    assert_eq!(status, 415, "{problem}");
    let detail = refused(&s, &path, report("aggregate/rfc9990.xml")).await;
    assert!(detail.contains("DMARC aggregate report"), "{detail}");

    // The keyed endpoint still takes reports from a keyed caller only.
    let keyless = s
        .post_raw(
            "/v1/reports/tls",
            "application/tlsrpt+json",
            report("tls/microsoft.json"),
        )
        .await;
    assert_eq!(keyless.status(), StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domains_url_takes_only_reports_about_that_domain() {
    let (_dns, s) = keyed_server(false).await;
    let other = path_of(&endpoint(&s, "other.example", false).await, &s);
    let detail = refused(&s, &other, report("tls/rfc8460.json")).await;
    assert!(
        detail.contains("other.example") && detail.contains("`example.com`"),
        "{detail}"
    );

    // One policy of the token's domain does not let another one in.
    let own = path_of(&endpoint(&s, "example.com", false).await, &s);
    let mut mixed: Value = serde_json::from_slice(&report("tls/rfc8460.json")).unwrap();
    let mut stranger = mixed["policies"][0].clone();
    stranger["policy"]["policy-domain"] = json!("other.example");
    mixed["policies"].as_array_mut().unwrap().push(stranger);
    let detail = refused(&s, &own, mixed.to_string().into_bytes()).await;
    assert!(
        detail.contains("has policies for `example.com` and `other.example`"),
        "{detail}"
    );
    // The keyed door refuses it the same way: a report is about one domain.
    let keyed = s
        .request(Method::POST, "/v1/reports/tls")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header(header::CONTENT_TYPE, "application/tlsrpt+json")
        .body(mixed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(keyed).await["detail"], detail);
    assert_eq!(stored_tls_reports(&s, "example.com").await, 0);
    assert_eq!(stored_tls_reports(&s, "other.example").await, 0);

    // A reporter that writes the domain in Unicode means the same domain.
    let idn = path_of(&endpoint(&s, "bücher.example", false).await, &s);
    let mut unicode: Value = serde_json::from_slice(&report("tls/rfc8460.json")).unwrap();
    unicode["policies"][0]["policy"]["policy-domain"] = json!("Bücher.Example");
    let (status, body) = post_report(
        &s,
        &idn,
        "application/tlsrpt+json",
        unicode.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(stored_tls_reports(&s, "xn--bcher-kva.example").await, 1);
    s.stop().await;
}

/// Reporters name any result type and MX host: however many were posted,
/// the summary lists the 20 with the most failed sessions of each and
/// counts the rest, in the JSON and on the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_lists_the_most_failed_tls_entries_and_counts_the_rest() {
    let (_dns, s) = keyed_server(false).await;
    let path = path_of(&endpoint(&s, "example.com", false).await, &s);
    for post in 0..2u64 {
        let mut sample: Value = serde_json::from_slice(&report("tls/rfc8460.json")).unwrap();
        sample["report-id"] = json!(format!("wide-{post}"));
        let details: Vec<Value> = (0..1000u64)
            .map(|i| {
                json!({
                    "result-type": format!("type-{post}-{i:04}"),
                    "receiving-mx-hostname": format!("mx-{post}-{i:04}.example.com"),
                    "failed-session-count": post * 1000 + i + 1,
                })
            })
            .collect();
        sample["policies"][0]["failure-details"] = json!(details);
        let (status, intake) = post_report(
            &s,
            &path,
            "application/tlsrpt+json",
            sample.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 201, "{intake}");
    }
    let tls = tls_summary(&s, "example.com").await;
    assert_eq!(tls["reports"], 2);
    let names = |list: &str| -> Vec<String> {
        tls[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let types = names("result_types");
    assert_eq!(types.len(), 20);
    assert_eq!(types[0], "type-1-0999", "the most failed first");
    assert_eq!(types[19], "type-1-0980");
    assert_eq!(names("mx_hosts")[0], "mx-1-0999.example.com");
    assert_eq!(
        tls["unlisted"],
        json!({"result_types": 1980, "mx_hosts": 1980, "policies": 0})
    );
    let page = reports_page(&s, None).await;
    assert_eq!(
        page.matches("… and 1,980 more, with fewer failed sessions.")
            .count(),
        2,
        "{page}"
    );
    assert!(!page.contains("type-1-0979"), "the page lists no more");
    s.stop().await;
}

/// A post to a URL no domain has is answered before its body is read:
/// the unknown token costs no upload. Here the body announced never comes,
/// and the 404 comes all the same, long before the body read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_token_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dns, s) = keyed_server(false).await;
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/reports/tls/0123456789abcdef0123456789abcdef HTTP/1.1\r\n\
              Host: reports.test\r\nContent-Type: application/tlsrpt+json\r\n\
              Content-Length: 1000000\r\n\r\n",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("answered without the body, and the connection closed")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("/problems/not-found"), "{answer}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_token_is_the_same_404_whatever_it_is() {
    let (_dns, s) = keyed_server(false).await;
    let old = path_of(&endpoint(&s, "example.com", false).await, &s);
    let new = endpoint(&s, "example.com", true).await;
    assert_ne!(path_of(&new, &s), old, "replaced");
    assert_eq!(endpoint(&s, "example.com", false).await, new, "kept");

    let mut details = Vec::new();
    for path in [
        old.as_str(),
        "/v1/reports/tls/0123456789abcdef0123456789abcdef",
        "/v1/reports/tls/not-a-token",
        "/v1/reports/tls/example.com",
    ] {
        let (status, problem) = post_sample(&s, path).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(problem["type"], "/problems/not-found");
        let detail = problem["detail"].as_str().unwrap().to_string();
        assert!(!detail.contains("example.com"), "{detail}");
        details.push(detail);
    }
    details.dedup();
    assert_eq!(details.len(), 1, "one answer for every unknown token");
    let (status, _) = post_report(
        &s,
        &path_of(&new, &s),
        "application/tlsrpt+json",
        report("tls/rfc8460.json"),
    )
    .await;
    assert_eq!(status, 201, "the new URL takes reports");
    s.stop().await;
}

/// Viewing the page makes no token: it offers a button, and the button
/// makes the URL the API would give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_page_makes_the_url_only_when_asked() {
    let (_dns, s) = keyed_server(false).await;
    let key = format!("Bearer {KEY}");
    let before = reports_page(&s, None).await;
    assert!(
        before.contains(r#"action="/reports/dmarc/example.com/tls-url""#),
        "{before}"
    );
    assert!(!before.contains("/v1/reports/tls/"), "{before}");
    let made = s
        .send(
            Method::POST,
            "/reports/dmarc/example.com/tls-url",
            &[(header::AUTHORIZATION, &key)],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK, "followed to the page");
    assert_eq!(made.url().path(), "/reports/dmarc/example.com");
    let after = made.text().await.unwrap();
    let record = endpoint(&s, "example.com", false).await["record"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(after.contains(&record), "the API's URL: {after}");
    assert!(!after.contains("/tls-url\""), "no button once made");
    s.stop().await;

    // Pages open to all have no button either.
    let (_dns, s) = keyed_server(true).await;
    let open = s
        .send(Method::POST, "/reports/dmarc/example.com/tls-url", &[])
        .await;
    assert_eq!(open.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_page_offers_the_record_to_whoever_could_ask_the_api() {
    let (_dns, s) = keyed_server(false).await;
    let record = endpoint(&s, "example.com", false).await["record"]
        .as_str()
        .unwrap()
        .to_string();
    let body = reports_page(&s, None).await;
    assert!(
        body.contains("Publish this so TLS reports come here"),
        "{body}"
    );
    assert!(body.contains("_smtp._tls.example.com"), "{body}");
    assert!(body.contains(&record), "the same URL as the API's");
    // Opened at 127.0.0.1, the page says no reporter can post there, and
    // offers no copy button for a record not to publish.
    assert!(
        body.contains("This record names <code>127.0.0.1</code>, the address this page"),
        "{body}"
    );
    assert!(body.contains("Not to publish as it stands"), "{body}");
    assert!(
        !body.contains(r#"<pre data-copy="name">_smtp._tls"#),
        "{body}"
    );
    // Opened by a public name, the record is the one to publish.
    let public = reports_page(&s, Some("mailvet.example")).await;
    assert!(
        public.contains("rua=https://mailvet.example/v1/reports/tls/"),
        "{public}"
    );
    assert!(!public.contains("This record names"), "{public}");
    assert!(
        public.contains(r#"<pre data-copy="name">_smtp._tls.example.com</pre>"#),
        "{public}"
    );
    s.stop().await;

    // Pages open to all do not show it: it lets reports in without a key.
    let (_dns, s) = keyed_server(true).await;
    let page = s.get("/reports/dmarc/example.com").await;
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(!body.contains("_smtp._tls.example.com"), "{body}");
    assert!(!body.contains("/v1/reports/tls/"), "{body}");
    s.stop().await;
}

/// With `--base-url`, the URL names it whatever `Host` the request came
/// with, and reports posted to it are taken; the page warns only when
/// that base URL is itself an address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_names_the_server_whatever_host_was_asked() {
    let (_dns, s) = keyed_server_at(false, Some("https://mailvet.example:8443")).await;
    let given = endpoint(&s, "example.com", false).await;
    let url = given["url"].as_str().unwrap();
    let path = url
        .strip_prefix("https://mailvet.example:8443")
        .unwrap_or_else(|| panic!("{url} is not on the base URL"));
    assert!(path.starts_with("/v1/reports/tls/"), "{url}");
    let (status, intake) = post_sample(&s, path).await;
    assert_eq!(status, 201, "{intake}");

    for host in [None, Some("other.example")] {
        let page = reports_page(&s, host).await;
        assert!(page.contains(&format!("rua={url}")), "{host:?}: {page}");
        assert!(!page.contains("This record names"), "{host:?}: {page}");
    }
    s.stop().await;

    let (_dns, s) = keyed_server_at(false, Some("https://192.0.2.7")).await;
    endpoint(&s, "example.com", false).await;
    let page = reports_page(&s, Some("mailvet.example")).await;
    assert!(
        page.contains("rua=https://192.0.2.7/v1/reports/tls/"),
        "{page}"
    );
    assert!(
        page.contains("This record names <code>192.0.2.7</code>, the server's --base-url"),
        "{page}"
    );
    s.stop().await;
}

/// The token's lookup is held to the request timeout: while another
/// connection holds the tokens' table locked, a reporter's post is
/// answered 504 and its connection closed; once the lock is gone the same
/// post is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_lookup_the_store_holds_up_ends_at_the_request_timeout() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let dns = TestDns::start(&[Path::new("fixtures/zones/some.test.zone")]).await;
    let service = ServiceConfig {
        api_keys: vec![KEY.parse().unwrap()],
        rate_limit: 0,
        request_timeout: Duration::from_millis(500),
        ..ServiceConfig::default()
    };
    let state = AppState {
        service,
        ..AppState::new(dns.layer(), db.open().await)
    };
    let s = Running::start(state).await;
    let path = path_of(&endpoint(&s, "example.com", false).await, &s);

    let mut lock = db.raw().await;
    for sql in [
        "BEGIN",
        "LOCK TABLE tls_report_endpoints IN ACCESS EXCLUSIVE MODE",
    ] {
        sqlx::query(sql).execute(&mut lock).await.unwrap();
    }
    // Answered while the lock is still held, so by the server's timeout;
    // twenty times that is a bound no loaded machine comes near.
    let held = tokio::time::timeout(
        Duration::from_secs(10),
        s.post_raw(&path, "application/tlsrpt+json", report("tls/rfc8460.json")),
    )
    .await
    .expect("the lookup was not held to the 500 ms request timeout");
    assert_eq!(held.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(held.headers()[header::CONNECTION], "close");
    let problem = json_of(held).await;
    assert_eq!(problem["type"], "/problems/timeout", "{problem}");
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();

    let (status, intake) = post_sample(&s, &path).await;
    assert_eq!(status, 201, "{intake}");
    s.stop().await;
}
