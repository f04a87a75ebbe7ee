//! The web pages, through the real router against the test DNS server
//! serving fixtures/web: the forms, the domain and message report pages,
//! the catalog, keys, error pages, escaping of hostile DNS and message
//! values, the security headers, and the weight of a page.

use crate::support;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use mailvet::http::AppState;
use mailvet::http::config::ServiceConfig;
use mailvet::store::Store;
use std::io::Write;
use std::path::Path;
use support::{FaultKind, FaultTypes, TestDns};

const KEY: &str = "pages-key-0123456789abcdef";

/// The test DNS server with the web fixtures, and a router over it.
async fn setup(service: ServiceConfig) -> (TestDns, Router) {
    let (dns, router, _) = setup_with_store(service).await;
    (dns, router)
}

/// [`setup`], and the store the router saves reports in.
async fn setup_with_store(service: ServiceConfig) -> (TestDns, Router, Store) {
    let dns = TestDns::start(&[
        Path::new("fixtures/web/web.zone"),
        Path::new("fixtures/web/reverse.zone"),
        Path::new("fixtures/web/xss.zone"),
    ])
    .await;
    let store = support::store::scratch().await;
    let mut state = AppState::new(dns.layer(), store.clone());
    state.service = service;
    (dns, mailvet::http::router(state), store)
}

/// One answer: status, headers, body as text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    fn is_html(&self) -> bool {
        self.header(header::CONTENT_TYPE) == "text/html; charset=utf-8"
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let (status, headers, bytes) = support::api::send(router.clone(), request).await;
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap()
}

/// A GET with one more header.
fn get_with(uri: &str, name: header::HeaderName, value: &str) -> Request<Body> {
    Request::get(uri)
        .header(name, value)
        .body(Body::empty())
        .unwrap()
}

fn form(fields: &[(&str, &str)]) -> Request<Body> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    Request::post("/messages")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// What every page must carry, whatever its status.
fn assert_secure(answer: &Answer) {
    let csp = answer.header(header::CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "script-src 'self'",
    ] {
        assert!(csp.contains(part), "CSP `{csp}` lacks {part}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(answer.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(answer.header(header::REFERRER_POLICY), "no-referrer");
    // No inline script or style for the CSP to have to allow.
    assert!(!answer.body.contains("<script>"), "inline script");
    assert!(!answer.body.contains(" style="), "inline style");
    assert!(!answer.body.contains("<style"), "inline style sheet");
}

/// Every `<script` element of a page: the one that loads copy.js.
fn scripts(body: &str) -> Vec<&str> {
    body.match_indices("<script")
        .map(|(at, _)| &body[at..body[at..].find('>').map_or(body.len(), |end| at + end + 1)])
        .collect()
}

/// Text as a page writes it.
fn as_html(text: &str) -> String {
    maud::html! { (text) }.into_string()
}

fn gzipped_size(body: &str) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    gz.finish().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_has_both_forms_as_the_issue_names_them() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(&router, get("/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.is_html());
    assert_secure(&page);
    for needle in [
        r#"<form class="check" id="check-domain" method="get" action="/domains">"#,
        r#"name="domain""#,
        r#"name="selector""#,
        r#"<form class="check" id="check-message" method="post" action="/messages">"#,
        r#"<textarea id="message" name="message""#,
        r#"name="ip""#,
        r#"name="helo""#,
        r#"name="mail_from""#,
        r#"href="/static/style.css""#,
    ] {
        assert!(page.body.contains(needle), "index lacks {needle}");
    }
    assert_eq!(
        scripts(&page.body),
        [r#"<script src="/static/copy.js" defer>"#]
    );
    // The form's address opened as a link (a bookmark of a refused form)
    // leads to the form.
    let opened = send(&router, get("/messages")).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.header(header::LOCATION), "/#check-message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_weigh_less_than_30_kb_gzipped() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    for path in ["/", "/findings", "/findings/spf.missing"] {
        let page = send(&router, get(path)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let size = gzipped_size(&page.body);
        assert!(size < 30 * 1024, "{path} is {size} bytes gzipped");
    }
    let (mut assets, mut total) = (0, 0);
    for asset in mailvet::web::assets::ALL {
        let answer = send(&router, get(asset.path)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", asset.path);
        assert_eq!(answer.header(header::CONTENT_TYPE), asset.content_type);
        assert_eq!(answer.body, asset.body);
        assets += 1;
        total += gzipped_size(&answer.body);
    }
    assert_eq!(assets, 4, "the stylesheet, two scripts and the icon");
    assert!(total < 10 * 1024, "the assets are {total} bytes gzipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_form_goes_to_the_permalink_with_its_selectors() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let answer = send(&router, get("/domains?domain=Web.Test&selector=ed+s2%2Cs3")).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        "/domains/web.test?selector=ed&selector=s2&selector=s3"
    );
    let answer = send(&router, get("/domains?domain=web.test&selector=")).await;
    assert_eq!(answer.header(header::LOCATION), "/domains/web.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_domain_shows_the_form_again_with_the_reason() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    for (uri, reason) in [
        ("/domains?domain=", "Type the domain"),
        (
            "/domains?domain=not+a+domain",
            "it contains a space; a domain has letters, digits, hyphens and dots",
        ),
        (
            "/domains?domain=web.test&selector=a%2Fb",
            "is not a DKIM selector",
        ),
        (
            "/domains?domain=a.test&domain=b.test",
            "`domain` is given more than once; give it once",
        ),
        ("/domains/-bad-.test", "starts or ends with a hyphen"),
        ("/domains/web.test?selector=x%2Fy", "is not a DKIM selector"),
    ] {
        let page = send(&router, get(uri)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(page.is_html(), "{uri}");
        assert_secure(&page);
        assert!(
            page.body.contains(r#"id="domain-problem" role="alert""#),
            "{uri}"
        );
        assert!(page.body.contains(reason), "{uri}: {}", page.body);
        assert!(page.body.contains(r#"action="/domains""#), "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_domain_page_shows_its_verdict_tree_and_policy() {
    let (dns, router) = setup(ServiceConfig::default()).await;
    let page = send(&router, get("/domains/web.test?selector=ed")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.is_html());
    assert_secure(&page);
    let body = &page.body;
    assert!(
        body.contains(r#"<div class="verdict v-pass" role="status">"#),
        "{body}"
    );
    // The issue's order: verdict, checklist, findings, SPF tree, DMARC,
    // DNS questions.
    let at = |needle: &str| {
        body.find(needle)
            .unwrap_or_else(|| panic!("the page lacks {needle}"))
    };
    let order = [
        at(r#"class="verdict"#),
        at(r#"id="checklist-h""#),
        at(r#"id="findings-h""#),
        at(r#"id="spf-h""#),
        at(r#"id="dmarc-h""#),
        at(r#"id="dns-h""#),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(body.contains("Gmail"));
    assert!(body.contains("<pre>v=spf1 ip4:203.0.113.20 -all</pre>"));
    assert!(body.contains("<strong>p=reject</strong>"));
    assert!(body.contains("<code>_dmarc.web.test</code>"));
    // The DNS questions, collapsed, said in words a reader without DNS
    // knows.
    assert!(body.contains("<details><summary>The "));
    assert!(body.contains(" DNS lookups behind this report</summary>"));
    // Each lookup says where its answer came from: the test server, or
    // (a name the report needed twice) the answer it already had.
    assert!(body.contains(r#"<th scope="col">From</th>"#));
    assert!(
        body.contains(&format!(r#"<td class="words">{}</td>"#, dns.addr)),
        "{body}"
    );
    assert!(body.contains(r#"<td class="words">asked before</td>"#));
    assert!(body.contains(r#"<code class="name">_dmarc.<wbr>web.<wbr>test.<wbr></code>"#));
    assert!(body.contains("ed.<wbr>_domainkey.<wbr>web.<wbr>test."));
    assert!(body.contains(r#"href="/v1/domains/web.test?selector=ed""#));
    // The sentence on top is the report's.
    let (_, _, json) = support::api::call(
        router.clone(),
        Request::get("/v1/domains/web.test?selector=ed")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let summary = json["summary"].as_str().unwrap();
    assert!(!summary.is_empty());
    assert!(body.contains(&as_html(summary)), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_domain_page_shows_each_finding_with_its_fix() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(&router, get("/domains/broken.web.test")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains(r#"<div class="verdict v-fail" role="status">"#),
        "{body}"
    );
    assert!(body.contains(r#"<a href="/findings/spf.plus_all"><code>spf.plus_all</code></a>"#));
    assert!(
        body.contains(
            r#"<a href="/findings/dmarc.policy_none"><code>dmarc.policy_none</code></a>"#
        )
    );
    assert!(body.contains("Why it matters: "));
    // Worst first: the error before the warning.
    assert!(body.find("spf.plus_all") < body.find("dmarc.policy_none"));
    // The records the fixes ask for, ready to copy.
    assert!(body.contains(r#"<pre data-copy="name">broken.web.test</pre>"#));
    assert!(body.contains(r#"<pre data-copy="value">v=spf1 mx -all</pre>"#));
    assert!(
        body.contains(r#"<pre data-copy="name">_dmarc.broken.web.test</pre>"#),
        "{body}"
    );
    // One record to publish at one name: reports first (p=none with
    // rua), not p=quarantine under another finding beside it.
    let dmarc_records: Vec<&str> = body
        .split(r#"<pre data-copy="name">_dmarc.broken.web.test</pre>"#)
        .skip(1)
        .map(|after| {
            let value = after.split(r#"<pre data-copy="value">"#).nth(1).unwrap();
            &value[..value.find("</pre>").unwrap()]
        })
        .collect();
    assert_eq!(
        dmarc_records,
        ["v=DMARC1; p=none; rua=mailto:dmarc-reports@broken.web.test"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_could_not_be_checked_and_is_never_missing() {
    let (dns, router) = setup(ServiceConfig::default()).await;
    dns.add_fault("_dmarc.web.test", FaultTypes::All, FaultKind::ServFail);
    let page = send(&router, get("/domains/web.test")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains(r#"<div class="verdict v-unknown" role="status">"#),
        "{body}"
    );
    assert!(body.contains("Could not be checked"));
    assert!(
        body.contains("DMARC: the TXT lookup for _dmarc.web.test"),
        "{body}"
    );
    assert!(!body.to_lowercase().contains("dmarc: missing"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_dns_values_render_as_inert_text() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(&router, get("/domains/xss.test")).await;
    assert_inert(
        &page,
        &[
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&lt;img src=x onerror=alert(2)&gt;",
        ],
    );
}

/// A page that shows hostile values: 200, secure, no live markup of
/// theirs, and each of `escaped` shown as text.
fn assert_inert(page: &Answer, escaped: &[&str]) {
    assert_eq!(page.status, StatusCode::OK);
    assert_secure(page);
    let body = &page.body;
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<img src=x"), "{body}");
    for text in escaped {
        assert!(body.contains(text), "{text} not in {body}");
    }
}

/// Posts `message` with the envelope of web.test's sending host.
async fn post_signed(router: &Router, message: &str) -> Answer {
    send(
        router,
        form(&[
            ("message", message),
            ("ip", "203.0.113.20"),
            ("helo", "mail.web.test"),
            ("mail_from", "bounce@web.test"),
        ]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_message_is_saved_and_shown_at_its_permalink() {
    let (_dns, router, store) = setup_with_store(ServiceConfig::default()).await;
    let message = std::fs::read_to_string("fixtures/web/signed.eml").unwrap();
    let answer = post_signed(&router, &message).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.header(header::LOCATION).to_owned();
    let id = location.strip_prefix("/reports/").expect("a permalink");
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

    let page = send(&router, get(&location)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_secure(&page);
    let body = &page.body;
    assert!(
        body.contains(r#"<div class="verdict v-pass" role="status">"#),
        "{body}"
    );
    assert!(body.contains("December offers from Web"));
    for needle in [
        r#"id="checklist-h""#,
        r#"id="findings-h""#,
        r#"id="dmarc-h""#,
        r#"id="dkim-h""#,
        r#"id="spf-h""#,
        r#"id="alignment-h""#,
        r#"id="arc-h""#,
        r#"id="dns-h""#,
    ] {
        assert!(body.contains(needle), "the report lacks {needle}");
    }
    // The signature, SPF and alignment.
    assert!(
        body.contains("<td><code>web.test</code></td><td><code>ed</code></td>"),
        "{body}"
    );
    assert!(
        body.contains("<strong>pass</strong> for <code>bounce@web.test</code> from 203.0.113.20")
    );
    assert!(body.contains("aligned with From — makes DMARC pass"));
    // The Authentication-Results header, a fold to a line.
    assert!(
        body.contains("mailvet;\n    spf=pass smtp.mailfrom=bounce@web.test;\n    dkim=pass"),
        "{body}"
    );
    assert!(body.contains("<code>_dmarc.web.test</code>"));
    let json = format!(r#"href="/v1/reports/{id}""#);
    assert!(body.contains(&json), "the page links its JSON");
    // The page shows the saved report: its sentence is the JSON's.
    let (status, _, saved) = support::api::call(
        router.clone(),
        Request::get(format!("/v1/reports/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let summary = saved["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Receivers will accept this message"),
        "{summary}"
    );
    assert!(body.contains(&as_html(summary)), "{summary}");
    // The message itself was not kept.
    let id: mailvet::store::ReportId = id.parse().unwrap();
    assert!(store.report(&id).await.unwrap().is_some());
    assert_eq!(store.raw_message(&id).await.unwrap(), None);
}

/// A message whose signing key could not be fetched is "could not be
/// checked" on its page, with the lookup that failed, and no grade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_page_says_what_a_failed_lookup_left_undecided() {
    let (dns, router, _store) = setup_with_store(ServiceConfig::default()).await;
    dns.add_fault(
        "ed._domainkey.web.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let message = std::fs::read_to_string("fixtures/web/signed.eml").unwrap();
    let answer = post_signed(&router, &message).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = send(&router, get(answer.header(header::LOCATION))).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains(r#"<div class="verdict v-unknown" role="status">"#),
        "{body}"
    );
    assert!(body.contains(r#"<h2 id="undecided-h">Could not be checked</h2>"#));
    assert!(body.contains("<li>DKIM: the key at ed._domainkey.web.test could not be fetched"));
    assert!(!body.contains(r#"class="grade""#), "no grade: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_message_values_render_as_inert_text() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let message = std::fs::read_to_string("fixtures/web/xss.eml").unwrap();
    let answer = send(&router, form(&[("message", &message)])).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = send(&router, get(answer.header(header::LOCATION))).await;
    // The Subject and the DKIM selector, shown as text; the From display
    // name is in no report (only its address is), and nowhere on the page.
    assert_inert(
        &page,
        &[
            "&lt;img src=x onerror=alert('subject')&gt;&lt;script&gt;",
            "&lt;script&gt;alert('s')&lt;/script&gt;",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_oversized_message_shows_the_form_again() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(
        &router,
        form(&[("message", "  \r\n"), ("ip", "203.0.113.20")]),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.is_html());
    assert_secure(&page);
    assert!(page.body.contains(r#"id="message-problem" role="alert""#));
    assert!(page.body.contains("Paste the whole message"));
    assert!(
        page.body.contains(r#"value="203.0.113.20""#),
        "the envelope is kept"
    );

    let page = send(
        &router,
        form(&[("message", "Subject: x\r\n\r\nhi"), ("ip", "not-an-ip")]),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body
            .contains("`not-an-ip` is not an IP address; give the sending server's address")
    );
    assert!(page.body.contains("Subject: x"), "the message is kept");

    // Over the message size limit: refused by the body guard before the
    // handler, still a page with the form.
    let mut state = AppState::new(_dns.layer(), support::store::scratch().await);
    state.message_limit = 1024;
    let small = mailvet::http::router(state);
    let big = "x".repeat(4096);
    let page = send(&small, form(&[("message", &big)])).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.is_html());
    assert_secure(&page);
    assert!(page.body.contains(r#"id="message-problem" role="alert""#));
    assert!(page.body.contains("1024 bytes"), "{}", page.body);
    assert!(
        !page.body.contains(&big),
        "a refused message is not sent back"
    );

    // The limit is the message's, not its percent-encoded form's: 900
    // bytes of non-ASCII text are over 2,400 bytes encoded, and taken.
    let accented = format!("Subject: x\r\n\r\n{}", "é".repeat(440));
    assert!(accented.len() <= 1024);
    let page = send(&small, form(&[("message", &accented)])).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// The "Bulk mail" box applies the bulk-sender rules to a message whose
/// headers do not look bulk; unticked, the headers decide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_box_applies_the_bulk_sender_rules() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let index = send(&router, get("/")).await;
    assert!(
        index
            .body
            .contains(r#"<input id="bulk" type="checkbox" name="bulk" value="true">"#),
        "{}",
        index.body
    );
    let message = "From: News <news@web.test>\r\nTo: ann@example.net\r\n\
                   Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@web.test>\r\n\
                   Subject: Hello\r\n\r\nHello\r\n";
    for (bulk, judged) in [(None, false), (Some("true"), true)] {
        let mut fields = vec![("message", message), ("ip", "203.0.113.20")];
        fields.extend(bulk.map(|b| ("bulk", b)));
        let posted = send(&router, form(&fields)).await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let report = send(&router, get(posted.header(header::LOCATION))).await;
        assert_eq!(
            report.body.contains("bulk.no_list_unsubscribe"),
            judged,
            "bulk {bulk:?}: {}",
            report.body
        );
        assert_eq!(
            report.body.contains("this message does not look bulk"),
            !judged
        );
    }
}

/// A paste that does not start with a header field would be graded as a
/// message without From, Date or DKIM: the form refuses it instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_that_is_no_message_is_refused_naming_its_first_line() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let message = std::fs::read_to_string("fixtures/web/signed.eml").unwrap();
    // What a select-all of Gmail's "Show original" page copies: its
    // summary above the message.
    let gmail_page = format!(
        "Original Message\n\nMessage ID\t<1@web.test>\nFrom:\tWeb News <news@web.test>\n\
         SPF:\tPASS with IP 192.0.2.10\n\nDownload Original\tCopy to clipboard\n\n{message}"
    );
    for (text, line_1) in [
        (
            gmail_page.as_str(),
            "line 1 is `Original Message`, not a header field",
        ),
        (
            "hello, can you check why my campaign went to spam?",
            "line 1 is `hello, can you check why my campaign went to spam?`",
        ),
        // Outlook's "Internet headers" box: headers only, under a title.
        (
            "Microsoft Mail Internet Headers Version 2.0\r\nReceived: from x\r\n",
            "line 1 is `Microsoft Mail Internet Headers Version 2.0`",
        ),
    ] {
        let page = send(&router, form(&[("message", text)])).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{text}");
        assert!(page.body.contains(r#"id="message-problem" role="alert""#));
        assert!(page.body.contains(line_1), "{}", page.body);
        assert!(page.body.contains("Show original, then Copy to clipboard"));
    }
    // An mbox separator line in front is no part of the message, nor are
    // blank lines a paste starts with.
    let mbox = format!("From news@web.test Thu Dec  3 10:00:00 2026\n{message}");
    for text in [mbox, format!("\r\n  \n{message}")] {
        let page = send(&router, form(&[("message", &text)])).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
}

/// The DMARC report pages are reached from every page's menu and from a
/// domain's report, through a page that asks for the domain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dmarc_reports_are_reached_from_the_menu_and_the_domain_page() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let index = send(&router, get("/")).await;
    assert!(
        index
            .body
            .contains(r#"<a href="/reports/dmarc">DMARC reports</a>"#),
        "{}",
        index.body
    );
    let choose = send(&router, get("/reports/dmarc")).await;
    assert_eq!(choose.status, StatusCode::OK);
    assert_secure(&choose);
    assert!(
        choose.body.contains(
            r#"<form class="check" id="choose-domain" method="get" action="/reports/dmarc">"#
        ),
        "{}",
        choose.body
    );
    let chosen = send(&router, get("/reports/dmarc?domain=%20Web.Test.%20")).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    assert_eq!(chosen.header(header::LOCATION), "/reports/dmarc/web.test");
    for (typed, said) in [
        ("https%3A%2F%2Fweb.test%2F", "not a URL"),
        ("", "Type the domain whose reports to read"),
    ] {
        let refused = send(&router, get(&format!("/reports/dmarc?domain={typed}"))).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{typed}");
        assert!(refused.body.contains(r#"id="choose-problem" role="alert""#));
        assert!(refused.body.contains(said), "{}", refused.body);
    }
    let domain = send(&router, get("/domains/web.test")).await;
    assert!(
        domain
            .body
            .contains(r#"<a href="/reports/dmarc/web.test">its DMARC reports</a>"#),
        "{}",
        domain.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_not_sent_as_a_multipart_form_says_so_in_its_own_words() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let import = |content_type: Option<&[u8]>| {
        let mut request = Request::post("/reports/dmarc/web.test");
        if let Some(content_type) = content_type {
            let value = header::HeaderValue::from_bytes(content_type).unwrap();
            request = request.header(header::CONTENT_TYPE, value);
        }
        request.body(Body::from("report=aggregate.xml")).unwrap()
    };
    for (content_type, status, said) in [
        (
            Some(&b"application/x-www-form-urlencoded"[..]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "must be sent as multipart/form-data, the report file in its report field",
        ),
        (
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "must be sent as multipart/form-data, the report file in its report field",
        ),
        (
            Some(&b"multipart/form-data"[..]),
            StatusCode::BAD_REQUEST,
            "must be sent with the boundary between its parts",
        ),
        // RFC 9110 §8.3.1: the type is case-insensitive, and whitespace
        // around it is not part of it.
        (
            Some(&b" Multipart/Form-Data ; charset=utf-8"[..]),
            StatusCode::BAD_REQUEST,
            "must be sent with the boundary between its parts",
        ),
        // Not visible ASCII: no media type can be read from it, whatever
        // its first words say.
        (
            Some(&b"multipart/form-data; boundary=\xe9"[..]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "must be sent as multipart/form-data, the report file in its report field",
        ),
    ] {
        let page = send(&router, import(content_type)).await;
        assert_eq!(page.status, status, "{content_type:?}: {}", page.body);
        assert!(page.is_html());
        assert_secure(&page);
        assert!(page.body.contains(said), "{content_type:?}: {}", page.body);
        assert!(
            page.body.contains(r#"id="import" method="post""#),
            "the page with its form again: {}",
            page.body
        );
        // Not the multipart library's own words.
        assert!(!page.body.contains("boundary` for"), "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_form_cut_short_says_so_in_its_own_words() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    // A part that never ends: no closing boundary.
    let cut = "--b\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n<feedback>";
    let request = Request::post("/reports/dmarc/web.test")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
        .body(Body::from(cut))
        .unwrap();
    let page = send(&router, request).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.is_html());
    assert!(
        page.body
            .contains("not well-formed multipart/form-data (a part is cut short"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="import" method="post""#));
    // Not the multipart library's own words.
    assert!(!page.body.contains("Error parsing"), "{}", page.body);
    // Said where the page opens too, not only by the form far below.
    let alert = page
        .body
        .find(r#"role="alert"><p>The report was not imported: "#);
    assert!(
        alert.is_some_and(|at| at < page.body.find(r#"id="import""#).unwrap()),
        "{}",
        page.body
    );
}

/// An upload over `--max-report-size` is refused by the body guard before
/// the form is read; its page says so in the import's words and leads back
/// to the reports, not the generic "body too large".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_over_the_size_limit_says_how_large_a_report_may_be() {
    let dns = TestDns::start(&[Path::new("fixtures/web/web.zone")]).await;
    let mut state = AppState::new(dns.layer(), support::store::scratch().await);
    state.report_limits.max_size = 3 << 20;
    let router = mailvet::http::router(state);
    let form = format!(
        "--b\r\nContent-Disposition: form-data; name=\"report\"; filename=\"big.xml\"\r\n\r\n{}\r\n--b--\r\n",
        "x".repeat((3 << 20) + 1)
    );
    let request = Request::post("/reports/dmarc/web.test")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
        .body(Body::from(form))
        .unwrap();
    let page = send(&router, request).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.body);
    assert!(page.is_html());
    assert!(
        page.body.contains("The report file is too large")
            && page
                .body
                .contains("takes uploads of up to 3 MiB (its --max-report-size)"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<a href="/reports/dmarc/web.test">Back to the reports</a>"#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("endpoint's limit"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_page_is_gone_once_its_report_expires() {
    let dns = TestDns::start(&[Path::new("fixtures/web/web.zone")]).await;
    let clock = support::store::ManualClock::at(1_800_000_000);
    let store = support::store::scratch()
        .await
        .with_retention(std::time::Duration::from_secs(3600))
        .with_clock(clock.reader());
    let router = mailvet::http::router(AppState::new(dns.layer(), store));
    let message = std::fs::read_to_string("fixtures/web/signed.eml").unwrap();
    let answer = post_signed(&router, &message).await;
    let page = answer.header(header::LOCATION).to_owned();
    clock.set(1_800_000_000 + 3599);
    let shown = send(&router, get(&page)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.contains("Kept until 2027-01-15 09:00 (UTC)"),
        "{}",
        shown.body
    );
    clock.set(1_800_000_000 + 3600);
    let gone = send(&router, get(&page)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.is_html());
    assert!(gone.body.contains("This report is gone"));
}

/// A field a page reads, given twice on its query, is a 400 page saying
/// so, as the API says it: which of the two was meant cannot be known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_field_given_twice_is_a_400_page() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(
        &router,
        get("/reports/dmarc/web.test?since=2025-01-01&since=2025-02-01"),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.is_html());
    assert_secure(&page);
    assert!(
        page.body
            .contains("`since` is given more than once; give it once"),
        "{}",
        page.body
    );
    // A key the page does not read, as a link's tracking adds, is passed
    // over however often it comes.
    for (uri, status) in [
        (
            "/reports/dmarc/web.test?utm_source=a&utm_source=b",
            StatusCode::OK,
        ),
        (
            "/domains?domain=web.test&utm_source=a&utm_source=b",
            StatusCode::SEE_OTHER,
        ),
    ] {
        let page = send(&router, get(uri)).await;
        assert_eq!(page.status, status, "{uri}: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_report_is_a_404_page() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    for uri in [
        "/reports/0123456789abcdef0123456789abcdef",
        "/reports/not-an-id",
    ] {
        let page = send(&router, get(uri)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.is_html());
        assert_secure(&page);
        assert!(page.body.contains("This report is gone"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_pages_list_every_code_and_explain_each() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(&router, get("/findings")).await;
    assert_eq!(page.status, StatusCode::OK);
    for entry in mailvet::findings::catalog::CATALOG {
        // A narrow screen may wrap a code after each dot and underscore.
        let wrappable: String = entry
            .code
            .split_inclusive(['.', '_'])
            .map(|piece| format!("{piece}<wbr>"))
            .collect();
        let link = format!(
            r#"<a href="/findings/{}"><code class="code">{wrappable}</code></a>"#,
            entry.code
        );
        assert!(page.body.contains(&link), "{}", entry.code);
    }
    let page = send(&router, get("/findings/spf.plus_all")).await;
    assert_eq!(page.status, StatusCode::OK);
    let entry = mailvet::findings::catalog::lookup("spf.plus_all").unwrap();
    assert!(
        page.body
            .contains(&maud::html! { (entry.why) }.into_string())
    );
    assert!(page.body.contains("References"));
    let page = send(&router, get("/findings/no.such_code")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.is_html());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_is_a_page_for_browsers_and_a_problem_for_clients() {
    let (_dns, router) = setup(ServiceConfig::default()).await;
    let page = send(&router, get("/no/such/page")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.is_html());
    assert_secure(&page);
    let problem = send(
        &router,
        Request::get("/no/such/page").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(problem.status, StatusCode::NOT_FOUND);
    assert_eq!(
        problem.header(header::CONTENT_TYPE),
        "application/problem+json"
    );
    // A method a page does not take is a page too.
    let page = send(
        &router,
        Request::delete("/findings")
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(page.is_html());
}

fn keyed(web_public: bool) -> ServiceConfig {
    ServiceConfig {
        api_keys: vec![KEY.parse().unwrap()],
        web_public,
        ..ServiceConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_pages_take_the_key_once_in_a_strict_http_only_cookie() {
    let (_dns, router) = setup(keyed(false)).await;
    let page = send(&router, get("/findings?x=1")).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.is_html());
    assert_secure(&page);
    assert!(
        page.body
            .contains(r#"<form class="check" method="post" action="/login">"#)
    );
    assert!(page.body.contains(r#"name="next" value="/findings?x=1""#));
    // The stylesheet is not guarded, so the key form has its look.
    assert_eq!(
        send(&router, get("/static/style.css")).await.status,
        StatusCode::OK
    );

    let login = |key: &str, host: &str| {
        Request::post("/login")
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("key={key}&next=%2Ffindings%3Fx%3D1")))
            .unwrap()
    };
    let refused = send(
        &router,
        login("wrong-key-0123456789abcdef", "127.0.0.1:8080"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("not an API key this server accepts"));
    assert!(refused.headers.get(header::SET_COOKIE).is_none());

    let local = send(&router, login(KEY, "127.0.0.1:8080")).await;
    assert_eq!(local.status, StatusCode::SEE_OTHER);
    assert_eq!(local.header(header::LOCATION), "/findings?x=1");
    let cookie = local.header(header::SET_COOKIE).to_owned();
    assert!(
        cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "a loopback server has no TLS: {cookie}"
    );
    let remote = send(&router, login(KEY, "mailvet.example")).await;
    assert!(remote.header(header::SET_COOKIE).ends_with("; Secure"));

    let pair = cookie.split(';').next().unwrap();
    let page = send(&router, get_with("/findings", header::COOKIE, pair)).await;
    assert_eq!(page.status, StatusCode::OK);
    // A page let in by the cookie offers to log out.
    let log_out = r#"<form class="logout" method="post" action="/logout"><button type="submit">Log out</button></form>"#;
    assert!(page.body.contains(log_out), "{}", page.body);
    // A bearer key does for a page too (with nothing to log out of); the
    // cookie does not for the API.
    let page = send(
        &router,
        get_with("/", header::AUTHORIZATION, &format!("Bearer {KEY}")),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("/logout"));
    let api = send(&router, get_with("/v1/findings", header::COOKIE, pair)).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    // A form posted from another site comes without the SameSite=Strict
    // cookie, and logs no one out.
    let forged = send(
        &router,
        Request::post("/logout")
            .header(header::ORIGIN, "https://evil.test")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    assert!(forged.headers.get(header::SET_COOKIE).is_none());
    // Logging out forgets the key (the browser test sees the pages ask
    // for it again).
    let out = send(
        &router,
        Request::post("/logout")
            .header(header::COOKIE, pair)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header(header::LOCATION), "/");
    let forgotten = out.header(header::SET_COOKIE);
    assert!(
        forgotten.starts_with("mailvet_key=; Path=/; Max-Age=0")
            && forgotten.contains("; HttpOnly; SameSite=Strict"),
        "{forgotten}"
    );
    // The form cannot send anyone elsewhere.
    let away = send(
        &router,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "key={KEY}&next=https%3A%2F%2Fevil.test%2F"
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(away.header(header::LOCATION), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_public_opens_the_pages_and_not_the_api() {
    let (_dns, router) = setup(keyed(true)).await;
    let index = send(&router, get("/")).await;
    assert_eq!(index.status, StatusCode::OK);
    // Open pages took no key, so there is none to log out of.
    assert!(!index.body.contains("/logout"));
    assert_eq!(
        send(&router, get("/findings/spf.missing")).await.status,
        StatusCode::OK
    );
    let api = send(
        &router,
        Request::get("/v1/findings").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.header(header::CONTENT_TYPE), "application/problem+json");
}

/// Open pages do not open the store: the reports page's import form
/// keeps a report as the owner's, so a POST needs the key as
/// `POST /v1/reports` does, and a reader without one is offered the key
/// form instead of the import form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_public_pages_import_reports_only_with_the_key() {
    let (_dns, router, store) = setup_with_store(keyed(true)).await;
    let report = std::fs::read("fixtures/reports/aggregate/rfc9990.xml").unwrap();
    let upload = |key: Option<&str>| {
        let mut body = b"--b\r\nContent-Disposition: form-data; name=\"report\"; \
            filename=\"r.xml\"\r\n\r\n"
            .to_vec();
        body.extend_from_slice(&report);
        body.extend_from_slice(b"\r\n--b--\r\n");
        let mut request = Request::post("/reports/dmarc/example.com")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        request.body(Body::from(body)).unwrap()
    };
    let stored = || async {
        store
            .received_reports(
                mailvet::store::ReportKind::Aggregate,
                "example.org",
                None,
                None,
                10,
            )
            .await
            .unwrap()
            .reports
            .len()
    };

    let page = send(&router, get("/reports/dmarc/example.com")).await;
    assert_eq!(page.status, StatusCode::OK, "the page stays open");
    assert!(
        !page.body.contains(r#"id="import" method="post""#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("importing a report into it needs this server's API key")
            && page
                .body
                .contains(r#"<a href="/login?next=/reports/dmarc/example.com">Give the key</a>"#),
        "{}",
        page.body
    );

    let anyone = send(&router, upload(None)).await;
    assert_eq!(anyone.status, StatusCode::UNAUTHORIZED);
    assert!(anyone.is_html());
    assert!(
        anyone
            .body
            .contains(r#"name="next" value="/reports/dmarc/example.com""#),
        "{}",
        anyone.body
    );
    assert_eq!(stored().await, 0, "nothing stored without the key");
    let wrong = send(&router, upload(Some("wrong-key-0123456789abcdef"))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(stored().await, 0);

    let keyed_upload = send(&router, upload(Some(KEY))).await;
    assert_eq!(keyed_upload.status, StatusCode::SEE_OTHER);
    assert_eq!(stored().await, 1);
    // With the key, the page offers the form.
    let page = send(
        &router,
        get_with(
            "/reports/dmarc/example.com",
            header::AUTHORIZATION,
            &format!("Bearer {KEY}"),
        ),
    )
    .await;
    assert!(
        page.body.contains(r#"id="import" method="post""#),
        "{}",
        page.body
    );
    // The other open forms stay open: checking a message stores nothing
    // of the owner's.
    let message = send(&router, form(&[("message", "")])).await;
    assert_ne!(message.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_count_against_the_rate_limit_of_the_api() {
    let dns = TestDns::start(&[Path::new("fixtures/web/web.zone")]).await;
    let mut state = AppState::new(dns.layer(), support::store::scratch().await);
    state.service.rate_limit = 3;
    let server = support::listening::Running::start(state).await;
    let html = [(header::ACCEPT, "text/html")];
    for path in ["/", "/findings", "/v1/findings"] {
        let answer = server.send(reqwest::Method::GET, path, &html).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
    let refused = server.send(reqwest::Method::GET, "/", &html).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        refused.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(refused.text().await.unwrap().contains("Too many requests"));
    // The stylesheet is not counted: the page that says so keeps its look.
    let style = server.get("/static/style.css").await;
    assert_eq!(style.status(), StatusCode::OK);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// The send-a-test pages
// ---------------------------------------------------------------------------

/// Without `--inbox-domain` nothing offers a test address, and `/test`
/// and its form say why; with it, the offer's form makes an address whose
/// page waits (reloading itself), sends on to the report once the message
/// came, and says when it expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_pages_follow_the_address_from_waiting_to_report_or_expiry() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (dns, plain) = setup(ServiceConfig::default()).await;
    let index = send(&plain, get("/")).await;
    assert!(!index.body.contains("Send a test message"));
    for request in [
        get("/test"),
        Request::post("/inboxes").body(Body::empty()).unwrap(),
    ] {
        let refused = send(&plain, request).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert!(refused.is_html());
        assert!(
            refused.body.contains("started without --inbox-domain"),
            "{}",
            refused.body
        );
    }

    let now = Arc::new(AtomicU64::new(1_800_000_000));
    let clock = Arc::clone(&now);
    let store = support::store::scratch()
        .await
        .with_clock(move || clock.load(Ordering::SeqCst));
    let state = AppState {
        inbox: Some(support::inbox::settings()),
        ..AppState::new(dns.layer(), store.clone())
    };
    let router = mailvet::http::router(state);
    let index = send(&router, get("/")).await;
    assert!(
        index
            .body
            .contains(r#"<form class="check" id="send-test" method="post" action="/inboxes">"#)
    );
    assert_secure(&index);

    let make = || Request::post("/inboxes").body(Body::empty()).unwrap();
    let made = send(&router, make()).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let page = made.header(header::LOCATION).to_string();
    let token: mailvet::store::InboxToken =
        page.strip_prefix("/inboxes/").unwrap().parse().unwrap();
    let waiting = send(&router, get(&page)).await;
    assert_eq!(waiting.status, StatusCode::OK);
    assert_secure(&waiting);
    assert!(
        waiting
            .body
            .contains(r#"<meta http-equiv="refresh" content="5">"#)
    );
    assert!(waiting.body.contains(r#"data-inbox-state="waiting""#));
    assert!(
        waiting
            .body
            .contains(&format!("t-{token}@{}", support::inbox::INBOX_DOMAIN))
    );
    assert_eq!(
        scripts(&waiting.body),
        [
            r#"<script src="/static/copy.js" defer>"#,
            r#"<script src="/static/inbox.js" data-poll="2000" defer>"#
        ]
    );

    // The receiver's claim, as the SMTP session makes it.
    let report = serde_json::json!({"verdict": "pass", "summary": "delivered"});
    let claim = store.claim_inbox(&token, &report, None).await.unwrap();
    let mailvet::store::Claim::Accepted(saved) = claim else {
        panic!("{claim:?}")
    };
    let received = send(&router, get(&page)).await;
    assert_eq!(received.status, StatusCode::SEE_OTHER);
    assert_eq!(
        received.header(header::LOCATION),
        format!("/reports/{}", saved.id)
    );

    let other = send(&router, make()).await;
    let other = other.header(header::LOCATION).to_string();
    now.fetch_add(2 * 60 * 60, Ordering::SeqCst);
    let expired = send(&router, get(&other)).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.body.contains(r#"data-inbox-state="expired""#));
    assert!(!expired.body.contains("refresh"));

    let unknown = send(&router, get(&format!("/inboxes/{}", "0".repeat(32)))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = send(&router, get("/inboxes/%3Cscript%3E")).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
}
