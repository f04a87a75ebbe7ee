//! Received DMARC aggregate and SMTP TLS reports: `POST /v1/reports`
//! takes one report in any container (XML, JSON, gzip, zip or a report
//! email as received; the format is read from the bytes, whatever the
//! content type says), `POST /v1/reports/tls/{token}` is the HTTPS POST
//! of RFC 8460 §3 (`application/tlsrpt+gzip` or `application/tlsrpt+json`)
//! at the URL a domain's `_smtp._tls` record names ([`tls_rua`]), taken
//! without an API key, `POST /v1/reports/tls` the same for a keyed caller
//! (a relay), and `GET /v1/reports/dmarc/{domain}` sums up what is stored
//! for a domain, with its readiness for enforcement.
//!
//! This module decides the answers: a report stored is 201 with what it
//! held, one already stored 200 with `"status": "duplicate"` (never
//! counted twice); a body that is no readable report is 422
//! `/problems/invalid-report` naming what was wrong and where, one that
//! decompresses past `--max-report-size` (or past the ratio of a bomb) 413
//! `/problems/report-too-large`; a TLS endpoint given another media type
//! 415. At a token's URL an unknown token is 404 before the body is read,
//! and a report with a policy for any domain but the token's is 422. Reading
//! runs off the async runtime. The upload itself is capped by the same
//! size.

use super::extract::{
    ApiQuery, MediaType, NoParams, QueryParams, pairs_once, unknown_parameter, unread_body,
};
use super::problem::{Problem, ProblemType};
use super::saved::unavailable;
use super::tls_rua::TokenDomain;
use super::{AppState, Shared};
use crate::records::address::client_network;
use crate::records::name::DomainName;
use crate::reports::ReportError;
use crate::reports::container::Overview;
use crate::reports::dates::parse_rfc3339;
use crate::reports::ingest::{self, DomainSummary, Prepared, SummaryError};
use crate::reports::summary::Options;
use crate::store::{StoreError, Stored};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Extension, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What storing an uploaded report did.
#[derive(Debug, Serialize)]
struct Intake {
    /// `imported` or `duplicate`.
    status: &'static str,
    #[serde(flatten)]
    overview: Overview,
}

/// `POST /v1/reports`.
pub(super) async fn import(
    State(state): State<Shared>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let prepared = read(&state, body).await?;
    store(&state, prepared).await
}

/// `POST /v1/reports/tls` (RFC 8460 §3), for a caller with the API key.
pub(super) async fn import_tls(
    State(state): State<Shared>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let prepared = read_tls(&state, &headers, body).await?;
    store(&state, prepared).await
}

/// `POST /v1/reports/tls/{token}` (RFC 8460 §3), the URL a domain's
/// `_smtp._tls` record names: no API key, and only reports about the
/// token's domain.
pub(super) async fn import_tls_for(
    State(state): State<Shared>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
    Extension(TokenDomain(domain)): Extension<TokenDomain>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let prepared = read_tls(&state, &headers, body).await?;
    // One domain: a report with policies for several was refused.
    let about = &prepared.overview().domain;
    if *about != domain {
        return Err(Problem::new(
            ProblemType::InvalidReport,
            format!(
                "this URL takes the TLS reports of {domain} only, and this one has a policy for {}; each domain's _smtp._tls record names a URL of its own",
                crate::untrusted::quoted(about)
            ),
        ));
    }
    store(&state, prepared).await
}

/// A TLS report posted as RFC 8460 §3 says, read off the runtime.
async fn read_tls(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Prepared, Problem> {
    tls_media_type(headers)?;
    let prepared = read(state, body).await?;
    if prepared.overview().kind != "tls" {
        return Err(Problem::new(
            ProblemType::InvalidReport,
            "this is a DMARC aggregate report; post it to /v1/reports",
        ));
    }
    Ok(prepared)
}

/// RFC 8460 §3: the two media types a TLS report is posted as.
fn tls_media_type(headers: &HeaderMap) -> Result<(), Problem> {
    let media_type = MediaType::of(headers);
    if let Some("application/tlsrpt+gzip" | "application/tlsrpt+json") = media_type.essence() {
        return Ok(());
    }
    Err(Problem::new(
        ProblemType::UnsupportedMediaType,
        format!(
            "post a TLS report as application/tlsrpt+gzip or application/tlsrpt+json \
             (RFC 8460 §3), not {}",
            media_type.named()
        ),
    ))
}

/// The body read into a report, off the runtime.
async fn read(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Prepared, Problem> {
    let body = body.map_err(|rejection| {
        unread_body(rejection, || {
            format!(
                "the report is larger than the limit of {} bytes",
                state.report_limits.max_size
            )
        })
    })?;
    prepare(state, body).await
}

/// A report's bytes read into a report, off the runtime: what every way
/// in over HTTP (the API and the page's form) does with an upload.
pub(super) async fn prepare(state: &AppState, body: Bytes) -> Result<Prepared, Problem> {
    let limits = state.report_limits.clone();
    if body.is_empty() {
        return Err(Problem::new(
            ProblemType::InvalidRequest,
            "the upload is empty; send the report (XML, JSON, gzip, zip or the report email)",
        ));
    }
    let received = time::OffsetDateTime::now_utc().unix_timestamp();
    tokio::task::spawn_blocking(move || {
        ingest::prepare(std::io::Cursor::new(body), &limits, received)
    })
    .await
    .map_err(|e| Problem::new(ProblemType::Internal, e.to_string()))?
    .map_err(|e| match e {
        ReportError::TooLarge { .. } | ReportError::RatioExceeded { .. } => {
            Problem::new(ProblemType::ReportTooLarge, e.to_string())
        }
        other => Problem::new(ProblemType::InvalidReport, other.to_string()),
    })
}

async fn store(state: &AppState, prepared: Prepared) -> Result<Response, Problem> {
    let stored = keep(state, &prepared).await?;
    let (status, word) = match stored {
        Stored::New => (StatusCode::CREATED, "imported"),
        Stored::Duplicate => (StatusCode::OK, "duplicate"),
    };
    let intake = Intake {
        status: word,
        overview: prepared.overview().clone(),
    };
    Ok((status, Json(intake)).into_response())
}

/// Stores a report read from an upload, once.
pub(super) async fn keep(state: &AppState, prepared: &Prepared) -> Result<Stored, Problem> {
    prepared.store(&state.store).await.map_err(|e| match e {
        StoreError::Invalid { .. } => Problem::new(ProblemType::InvalidReport, e.to_string()),
        other => unavailable(other),
    })
}

/// The query of `GET /v1/reports/dmarc/{domain}`.
pub(super) struct SummaryParams {
    since: Option<i64>,
}

impl QueryParams for SummaryParams {
    fn from_uri(uri: &Uri) -> Result<Self, Problem> {
        let mut params = SummaryParams { since: None };
        for (key, value) in pairs_once(uri, &[])? {
            match key.as_ref() {
                "since" => {
                    let since = parse_rfc3339(value.trim()).ok_or_else(|| {
                        Problem::new(
                            ProblemType::InvalidRequest,
                            format!(
                                "since={} is not a date; write YYYY-MM-DD",
                                crate::untrusted::quoted(&value)
                            ),
                        )
                        .field("since")
                    })?;
                    params.since = Some(since);
                }
                other => {
                    return Err(unknown_parameter(other, "use since"));
                }
            }
        }
        Ok(params)
    }
}

/// `GET /v1/reports/dmarc/{domain}`.
pub(super) async fn summary(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> Result<Json<DomainSummary>, Problem> {
    let domain = super::domains::domain_name(&domain, "domain".into())?;
    summarize(&state, &domain, params.since).await.map(Json)
}

/// Clients (an IPv4 address, an IPv6 /64) with a summary being built or
/// waiting its turn. Summaries are built one at a time in the process
/// (their memory bound is the process's, [`ingest`]), so one client's
/// burst would keep every other client's summary waiting past its
/// request timeout: each client may have one in the queue.
static SUMMARIZING: LazyLock<Mutex<HashSet<IpAddr>>> = LazyLock::new(Default::default);

/// Lets a request that reads a domain's summary on only while its client
/// has no other one in flight; else 429 with `Retry-After`. A request
/// without a peer address (called in-process) is let on.
pub(super) async fn one_summary_per_client(request: Request, next: Next) -> Response {
    let Some(client) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| client_network(peer.ip()))
    else {
        return next.run(request).await;
    };
    if !summarizing().insert(client) {
        return Problem::new(
            ProblemType::RateLimited,
            "this client already waits for a DMARC report summary; ask again once it is \
             answered",
        )
        .retry_after(Duration::from_secs(1))
        .into_response();
    }
    /// Takes the client off the list however the request ends.
    struct Answered(IpAddr);
    impl Drop for Answered {
        fn drop(&mut self) {
            summarizing().remove(&self.0);
        }
    }
    let _answered = Answered(client);
    next.run(request).await
}

fn summarizing() -> MutexGuard<'static, HashSet<IpAddr>> {
    SUMMARIZING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The summary of a domain's stored reports since `since`, its suggested
/// record carrying the `rua` the domain publishes now.
pub(super) async fn summarize(
    state: &AppState,
    domain: &DomainName,
    since: Option<i64>,
) -> Result<DomainSummary, Problem> {
    let resolver = state.dns.resolver();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ingest::summarize_domain(
        &state.store,
        &resolver,
        &domain.to_string(),
        since,
        now,
        state.services.clone(),
        &Options::default(),
        &[],
    )
    .await
    .map_err(|e| match e {
        SummaryError::Store(e) => unavailable(e),
        SummaryError::Task(e) => Problem::new(ProblemType::Internal, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn;
    use axum::routing::get;
    use std::sync::Arc;
    use tokio::sync::Semaphore;
    use tower::ServiceExt;

    fn from(peer: &str) -> Request {
        let mut request = Request::get("/").body(Body::empty()).unwrap();
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    }

    async fn in_flight(client: &str) {
        let client: IpAddr = client.parse().unwrap();
        while !summarizing().contains(&client) {
            tokio::task::yield_now().await;
        }
    }

    /// A second summary from a client (an IPv4 address, an IPv6 /64)
    /// whose first is still in flight is 429; another client goes on, and
    /// a client is free again once answered.
    #[tokio::test]
    async fn a_client_waits_for_one_summary_at_a_time() {
        // Each answer waits for a permit, given once the test has looked.
        let answers = Arc::new(Semaphore::new(0));
        let held = Arc::clone(&answers);
        let app = Router::new()
            .route(
                "/",
                get(move || {
                    let held = Arc::clone(&held);
                    async move { held.acquire().await.unwrap().forget() }
                }),
            )
            .layer(from_fn(one_summary_per_client));
        let first = tokio::spawn(app.clone().oneshot(from("192.0.2.7:1000")));
        let v6 = tokio::spawn(app.clone().oneshot(from("[2001:db8::1]:1000")));
        in_flight("192.0.2.7").await;
        in_flight("2001:db8::").await;
        for again in ["192.0.2.7:1001", "[2001:db8::2]:1000"] {
            let refused = app.clone().oneshot(from(again)).await.unwrap();
            assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{again}");
            assert_eq!(refused.headers()[axum::http::header::RETRY_AFTER], "1");
        }
        let other = tokio::spawn(app.clone().oneshot(from("198.51.100.9:1000")));
        in_flight("198.51.100.9").await;
        answers.add_permits(3);
        for answer in [first, v6, other] {
            assert_eq!(answer.await.unwrap().unwrap().status(), StatusCode::OK);
        }
        for client in ["192.0.2.7", "2001:db8::", "198.51.100.9"] {
            let client: IpAddr = client.parse().unwrap();
            assert!(!summarizing().contains(&client), "{client} still listed");
        }
    }
}
