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
use crate::records::name::DomainName;
use crate::reports::ReportError;
use crate::reports::container::Overview;
use crate::reports::dates::parse_rfc3339;
use crate::reports::ingest::{self, DomainSummary, Prepared, SummaryError};
use crate::reports::summary::Options;
use crate::store::{StoreError, Stored};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

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
