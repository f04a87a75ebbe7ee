//! Saved message reports: `POST /v1/messages?save=true` keeps a report
//! under an unguessable id, `GET /v1/reports/{id}` reads it back and
//! `DELETE /v1/reports/{id}` removes it.
//!
//! This module decides how a saved report is shown through the API: the
//! report as `POST /v1/messages` answers it, plus its `id`, its
//! `expires_at` (RFC 3339, UTC) and `links` to its page (`/reports/{id}`)
//! and its JSON. The id is the only key: whoever holds the link may read
//! or delete the report until it expires (`--report-retention`). A string
//! that is not an id is simply not found. A database that cannot be
//! reached is 503 `/problems/store-unavailable`, never a lost report
//! answered as saved.

use super::extract::{ApiQuery, NoParams};
use super::problem::{Problem, ProblemType};
use super::{AppState, Shared};
use crate::store::{ReportId, StoreError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A saved report as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct SavedReport {
    #[serde(flatten)]
    report: serde_json::Value,
    id: String,
    expires_at: String,
    links: Links,
}

#[derive(Debug, Serialize)]
struct Links {
    /// The page for people.
    html: String,
    /// This JSON.
    json: String,
}

impl SavedReport {
    pub(super) fn new(report: serde_json::Value, id: &ReportId, expires_at: u64) -> SavedReport {
        SavedReport {
            report,
            id: id.to_string(),
            expires_at: rfc3339(expires_at),
            links: Links {
                html: format!("/reports/{id}"),
                json: json_link(id),
            },
        }
    }
}

fn json_link(id: &ReportId) -> String {
    format!("/v1/reports/{id}")
}

/// Seconds since the Unix epoch as RFC 3339 UTC.
pub(super) fn rfc3339(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".into())
}

/// The store failed: the client may try again; the reason is logged, not
/// shown (it may name the database).
pub(super) fn unavailable(error: StoreError) -> Problem {
    tracing::error!(%error, "store");
    Problem::new(
        ProblemType::StoreUnavailable,
        "the report store could not be reached; try again shortly",
    )
    .retry_after(RETRY_STORE)
}

/// When to try again after the store failed.
const RETRY_STORE: std::time::Duration = std::time::Duration::from_secs(5);

/// Saves `report` (and `raw` when the sender asked to keep it) and answers
/// 201 with the saved report and its `Location`.
pub(super) async fn save(
    state: &AppState,
    report: serde_json::Value,
    raw: Option<&[u8]>,
) -> Result<Response, Problem> {
    let saved = state
        .store
        .save_report(&report, raw)
        .await
        .map_err(unavailable)?;
    let location = json_link(&saved.id);
    let body = SavedReport::new(report, &saved.id, saved.expires_at);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

fn not_found(id: &str) -> Problem {
    Problem::new(
        ProblemType::NotFound,
        format!(
            "no saved report {}: it expired, was deleted, or never existed",
            crate::untrusted::quoted(id)
        ),
    )
}

/// `GET /v1/reports/{id}`.
pub(super) async fn read(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
) -> Result<Json<SavedReport>, Problem> {
    let report_id: ReportId = id.parse().map_err(|_| not_found(&id))?;
    let stored = state
        .store
        .report(&report_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(SavedReport::new(
        stored.report,
        &report_id,
        stored.expires_at,
    )))
}

/// `DELETE /v1/reports/{id}`: 204, or 404 when there was none to delete.
pub(super) async fn delete(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
) -> Result<StatusCode, Problem> {
    let report_id: ReportId = id.parse().map_err(|_| not_found(&id))?;
    if state
        .store
        .delete_report(&report_id)
        .await
        .map_err(unavailable)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}
