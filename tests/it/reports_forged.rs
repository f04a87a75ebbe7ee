//! Reports anyone can forge, on both store back ends: a report whose DKIM
//! results name selectors that failed teaches the domain audit nothing,
//! one naming made-up selectors that "passed" does not hide a key at a
//! common selector, and no report makes a selector seen later than its
//! import; a period
//! that cannot be a report's (before 2000, or not over a day after it
//! arrived), a policy domain that is no domain name, and a TLS report
//! naming no policy or several domains are refused with the reason at
//! the API (422) and by mail (550), and nothing of them is stored or
//! counted.

use crate::support;

use crate::reports_store::{learned, month};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use mailvet::reports::fit::Unfit;
use mailvet::reports::ingest;
use mailvet::reports::{Limits, ReportError};
use mailvet::smtp::intake;
use mailvet::store::{ReportKind, Store};
use serde_json::{Value, json};
use std::path::Path;
use support::TestDns;
use support::store::TestDatabase;

crate::on_both_back_ends!(
    failed_signatures_teach_no_selector,
    forged_selectors_do_not_hide_a_key_at_a_common_one,
    forged_selectors_do_not_push_out_a_key_once_found,
    a_selector_is_never_seen_after_its_import,
    implausible_periods_are_refused_and_nothing_stored,
    reports_about_no_domain_or_several_are_refused,
);

/// 2026-12-01T00:00:00Z, the day after the month's last report.
const DEC_1: i64 = 1_796_083_200;

/// An aggregate report about `domain` from `begin` to `end` (seconds, as
/// written), with one record whose DKIM results are `dkim`.
fn aggregate(id: &str, domain: &str, begin: &str, end: &str, dkim: &str) -> Vec<u8> {
    format!(
        "<feedback><report_metadata><org_name>forger.example</org_name>\
         <email>x@forger.example</email><report_id>{id}</report_id><date_range>\
         <begin>{begin}</begin><end>{end}</end></date_range></report_metadata>\
         <policy_published><domain>{domain}</domain><p>reject</p></policy_published>\
         <record><row><source_ip>203.0.113.66</source_ip><count>1</count><policy_evaluated>\
         <disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated>\
         </row><identifiers><header_from>brand.example</header_from></identifiers>\
         <auth_results>{dkim}<spf><domain>brand.example</domain><result>fail</result></spf>\
         </auth_results></record></feedback>"
    )
    .into_bytes()
}

/// One DKIM result of brand.example.
fn dkim(selector: &str, result: &str) -> String {
    format!(
        "<dkim><domain>brand.example</domain><selector>{selector}</selector>\
         <result>{result}</result></dkim>"
    )
}

/// A TLS report from `start` to `end` with `policies`.
fn tls(id: &str, start: &str, end: &str, policies: Value) -> Vec<u8> {
    json!({
        "organization-name": "forger.example",
        "date-range": {"start-datetime": start, "end-datetime": end},
        "contact-info": "x@forger.example",
        "report-id": id,
        "policies": policies,
    })
    .to_string()
    .into_bytes()
}

/// One policy of `domain` with `ok` and `failed` sessions.
fn policy(domain: &str, ok: u64, failed: u64) -> Value {
    json!({
        "policy": {"policy-type": "sts", "policy-domain": domain},
        "summary": {
            "total-successful-session-count": ok,
            "total-failure-session-count": failed
        }
    })
}

/// The DKIM section of brand.example's audit by a server on `store`,
/// asking `dns`.
async fn dkim_audit(store: Store, dns: &TestDns) -> Value {
    let app = mailvet::http::router(mailvet::http::AppState::new(dns.layer(), store));
    let audit = Request::get("/v1/domains/brand.example")
        .body(Body::empty())
        .unwrap();
    let (code, _, audit) = support::api::call(app, audit).await;
    assert_eq!(code, StatusCode::OK);
    audit["dkim"].clone()
}

/// Imports a forged report of brand.example on the day of the newest
/// real report, naming `count` made-up selectors a00, a01, … whose
/// signatures had `result`.
async fn import_poison(store: &Store, count: usize, result: &str) {
    let forged: String = (0..count)
        .map(|i| dkim(&format!("a{i:02}"), result))
        .collect();
    let poison = aggregate(
        "poison",
        "brand.example",
        "1795996800",
        "1796083199",
        &forged,
    );
    import(store, &poison, DEC_1).await;
}

async fn import(store: &Store, bytes: &[u8], received: i64) {
    ingest::prepare(bytes, &Limits::default(), received)
        .unwrap()
        .store(store)
        .await
        .unwrap();
}

async fn failed_signatures_teach_no_selector(db: TestDatabase) {
    let store = db.open().await;
    for path in month() {
        import(&store, &std::fs::read(path).unwrap(), DEC_1).await;
    }
    // Twenty selectors that failed, on the day of the newest real report.
    import_poison(&store, 20, "fail").await;
    assert_eq!(
        learned(&store).await,
        ["google", "ses2026"],
        "only keys that verified"
    );

    let dns = TestDns::start(&[Path::new("fixtures/reports/brand.example.zone")]).await;
    let dkim = dkim_audit(store, &dns).await;
    assert_eq!(dkim["status"], "found", "{dkim}");
    assert_eq!(dkim["selectors_checked"], json!(["google", "ses2026"]));
}

async fn forged_selectors_do_not_hide_a_key_at_a_common_one(db: TestDatabase) {
    let store = db.open().await;
    let forged: String = (0..20).map(|i| dkim(&format!("f{i:02}"), "pass")).collect();
    let poison = aggregate(
        "made-up",
        "brand.example",
        "1795996800",
        "1796083199",
        &forged,
    );
    import(&store, &poison, DEC_1).await;
    assert_eq!(
        learned(&store).await.len(),
        20,
        "a forger's pass is learned"
    );

    // The domain signs with Google Workspace's selector (RFC 8463 §A.2's
    // Ed25519 key), which no report named.
    let dns = TestDns::start_with_texts(&[
        "$ORIGIN brand.example.\n$TTL 300\n@ SOA ns h 1 1 1 1 60\n\
         google._domainkey TXT \"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"\n",
    ])
    .await;
    let dkim = dkim_audit(store, &dns).await;
    assert_eq!(dkim["status"], "found", "{dkim}");
    let checked = dkim["selectors_checked"].as_array().unwrap();
    assert!(checked.contains(&json!("f00")), "{dkim}");
    assert!(checked.contains(&json!("google")), "{dkim}");
}

/// Twenty-five made-up selectors that "passed", newer than the real one:
/// once an audit has found the real key, it is still asked first, where
/// the most recently seen twenty pushed it out and the audit said no key
/// was found.
async fn forged_selectors_do_not_push_out_a_key_once_found(db: TestDatabase) {
    let store = db.open().await;
    let real = aggregate(
        "real",
        "brand.example",
        "1795910400",
        "1795996799",
        &dkim("ses2026", "pass"),
    );
    import(&store, &real, DEC_1).await;
    let dns = TestDns::start(&[Path::new("fixtures/reports/brand.example.zone")]).await;
    let before = dkim_audit(store.clone(), &dns).await;
    assert_eq!(before["status"], "found", "{before}");

    import_poison(&store, 25, "pass").await;
    let asked = learned(&store).await;
    assert_eq!(asked.len(), 20);
    assert_eq!(
        asked[0], "ses2026",
        "the selector proven by its key first: {asked:?}"
    );

    let after = dkim_audit(store, &dns).await;
    assert_eq!(after["status"], "found", "{after}");
}

async fn a_selector_is_never_seen_after_its_import(db: TestDatabase) {
    // Imported at DEC_1, a report whose period ends 20 hours later (a
    // reporter's clock ahead, within the day allowed).
    let store = db.open().await.with_clock(|| DEC_1 as u64);
    let ahead = aggregate(
        "ahead",
        "brand.example",
        &(DEC_1 - 4 * 3600).to_string(),
        &(DEC_1 + 20 * 3600).to_string(),
        &dkim("s2026", "pass"),
    );
    import(&store, &ahead, DEC_1).await;
    let learned = store
        .learned_dkim_selectors("brand.example", 20)
        .await
        .unwrap();
    assert_eq!(learned.len(), 1);
    assert_eq!(learned[0].selector, "s2026");
    assert_eq!(learned[0].last_seen, DEC_1 as u64, "the time of import");
    assert_eq!(learned[0].first_seen, DEC_1 as u64);
}

/// The way each door refuses an input: what `POST /v1/reports` answers
/// (422 and the detail) and what a report address answers (the reply).
async fn refused_at_every_door(store: &Store, body: &[u8]) -> (String, String) {
    let dns = TestDns::start(&[]).await;
    let app = mailvet::http::router(mailvet::http::AppState::new(dns.layer(), store.clone()));
    let upload = Request::post("/v1/reports")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let (code, _, problem) = support::api::call(app, upload).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-report");
    let reply = intake::import(store, &Limits::default(), body.to_vec()).await;
    assert_eq!(reply.code, 550, "{}", reply.text());
    (
        problem["detail"].as_str().unwrap().to_string(),
        reply.text(),
    )
}

async fn implausible_periods_are_refused_and_nothing_stored(db: TestDatabase) {
    let store = db.open().await;
    let pass = dkim("s2026", "pass");
    for (begin, end, says) in [
        (
            "253402214400",
            "253402300799",
            "9999-12-31T00:00:00Z to 9999-12-31T23:59:59Z, ends more than a day after it \
             was received",
        ),
        (
            "3155760000000",
            "3155760086399",
            "3155760000000 (seconds since the epoch) to 3155760086399 (seconds since the \
             epoch), ends more than a day after",
        ),
        (
            "-9223372036854775808",
            "0",
            "-9223372036854775808 (seconds since the epoch) to 1970-01-01T00:00:00Z, begins \
             before 2000-01-01",
        ),
        (
            "-86400",
            "-1",
            "1969-12-31T00:00:00Z to 1969-12-31T23:59:59Z, begins before 2000-01-01",
        ),
    ] {
        let report = aggregate("odd", "brand.example", begin, end, &pass);
        let (detail, reply) = refused_at_every_door(&store, &report).await;
        assert!(detail.contains(says), "{detail}");
        assert!(
            reply.starts_with("550 5.6.0 the report's period, "),
            "{reply}"
        );
        assert!(reply.contains(says), "{reply}");
    }
    let future = tls(
        "future",
        "9999-12-31T00:00:00Z",
        "9999-12-31T23:59:59Z",
        json!([policy("brand.example", 5, 0)]),
    );
    let (detail, _) = refused_at_every_door(&store, &future).await;
    assert!(
        detail.contains("9999-12-31T00:00:00Z to 9999-12-31T23:59:59Z, ends more than a day"),
        "{detail}"
    );
    assert_eq!(db.count("received_reports").await, 0);
    assert_eq!(db.count("dkim_selectors").await, 0);
}

async fn reports_about_no_domain_or_several_are_refused(db: TestDatabase) {
    let store = db.open().await;
    let day = ("2026-11-01T00:00:00Z", "2026-11-01T23:59:59Z");
    let several = tls(
        "multi",
        day.0,
        day.1,
        json!([policy("other.example", 5, 0), policy("example.com", 7, 3)]),
    );
    let (detail, reply) = refused_at_every_door(&store, &several).await;
    assert!(
        detail.contains("has policies for `other.example` and `example.com`"),
        "{detail}"
    );
    assert!(reply.contains("policies for several domains"), "{reply}");

    let script = tls(
        "xss",
        day.0,
        day.1,
        json!([policy("<script>alert(1)</script>", 100, 2)]),
    );
    let (detail, reply) = refused_at_every_door(&store, &script).await;
    assert!(
        detail.starts_with(
            "the report's policy domain `<script>alert(1)</script>` is not a domain name"
        ),
        "{detail}"
    );
    assert!(
        reply.ends_with("its policy domain is not a domain name"),
        "{reply}"
    );
    let spaced = aggregate("spaced", "brand example", "1795996800", "1796083199", "");
    let (detail, _) = refused_at_every_door(&store, &spaced).await;
    assert!(
        detail.starts_with("the report's policy domain `brand example` is not a domain name"),
        "{detail}"
    );

    let none = tls("none", day.0, day.1, json!([]));
    let (detail, reply) = refused_at_every_door(&store, &none).await;
    assert_eq!(
        detail,
        "the TLS report names no policy, so it counts no session for any domain"
    );
    assert!(reply.ends_with("its TLS report names no policy"), "{reply}");
    assert!(matches!(
        ingest::prepare(&none[..], &Limits::default(), DEC_1),
        Err(ReportError::Unfit(Unfit::NoPolicy))
    ));
    for domain in ["example.com", "other.example"] {
        let stored = store
            .received_reports(ReportKind::Tls, domain, None, None, 10)
            .await
            .unwrap();
        assert!(stored.reports.is_empty(), "{domain}");
    }
    assert_eq!(db.count("received_reports").await, 0);
}
