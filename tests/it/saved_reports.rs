//! Saved message reports through the API on both store back ends: a
//! report saved through one replica is read and deleted through another
//! sharing the database, the raw message is kept only when asked, and an
//! expired report reads as gone at once.

use crate::on_both_back_ends;
use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mailvet::http::{AppState, router};
use mailvet::store::{ReportId, Store};
use std::path::Path;
use support::store::{ManualClock, TestDatabase};

const ENVELOPE: &str = "ip=192.0.2.10&helo=mail.msg.test&mail_from=bounce%40msg.test";

fn message() -> Vec<u8> {
    std::fs::read("fixtures/messages/msg-test-newsletter.eml").unwrap()
}

async fn replica(dns: &support::TestDns, store: Store) -> axum::Router {
    router(AppState::new(dns.layer(), store))
}

fn save(query: &str) -> Request<Body> {
    Request::post(format!("/v1/messages?{ENVELOPE}&{query}"))
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(Body::from(message()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn delete(path: &str) -> Request<Body> {
    Request::delete(path).body(Body::empty()).unwrap()
}

/// The status of a request whose answer may have no body.
async fn status(app: axum::Router, request: Request<Body>) -> StatusCode {
    tower::ServiceExt::oneshot(app, request)
        .await
        .unwrap()
        .status()
}

async fn replicas_share_saved_reports(db: TestDatabase) {
    let dns = support::TestDns::start(&[Path::new("fixtures/messages/messages.zone")]).await;
    let one = replica(&dns, db.open().await).await;
    let two = replica(&dns, db.open().await).await;

    let (code, _, saved) = support::api::call(one.clone(), save("save=true")).await;
    assert_eq!(code, StatusCode::CREATED, "{saved}");
    let json = saved["links"]["json"].as_str().unwrap().to_string();
    let (code, _, read) = support::api::call(two.clone(), get(&json)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(read, saved);
    assert_eq!(db.count("message_reports").await, 1);
    let id: ReportId = saved["id"].as_str().unwrap().parse().unwrap();
    let store = db.open().await;
    assert_eq!(
        store.raw_message(&id).await.unwrap(),
        None,
        "not kept unless asked"
    );

    assert_eq!(
        status(two.clone(), delete(&json)).await,
        StatusCode::NO_CONTENT
    );
    let (code, _, gone) = support::api::call(one.clone(), get(&json)).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["type"], "/problems/not-found");
    assert_eq!(db.count("message_reports").await, 0);

    let (code, _, kept) = support::api::call(one, save("save=true&keep_raw=true")).await;
    assert_eq!(code, StatusCode::CREATED, "{kept}");
    let id: ReportId = kept["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(store.raw_message(&id).await.unwrap(), Some(message()));
}

async fn an_expired_report_is_gone_at_once(db: TestDatabase) {
    let dns = support::TestDns::start(&[Path::new("fixtures/messages/messages.zone")]).await;
    let clock = ManualClock::at(1_800_000_000);
    let store = db
        .open()
        .await
        .with_retention(std::time::Duration::from_secs(3600))
        .with_clock(clock.reader());
    let app = replica(&dns, store).await;
    let (code, _, saved) = support::api::call(app.clone(), save("save=true")).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(saved["expires_at"], "2027-01-15T09:00:00Z");
    let json = saved["links"]["json"].as_str().unwrap().to_string();
    clock.set(1_800_000_000 + 3599);
    assert_eq!(status(app.clone(), get(&json)).await, StatusCode::OK);
    clock.set(1_800_000_000 + 3600);
    assert_eq!(status(app.clone(), get(&json)).await, StatusCode::NOT_FOUND);
    assert_eq!(status(app, delete(&json)).await, StatusCode::NOT_FOUND);
}

on_both_back_ends!(
    replicas_share_saved_reports,
    an_expired_report_is_gone_at_once
);
