//! The send-a-test inbox through the API: `POST /v1/inboxes` makes a
//! one-time address, `GET /v1/inboxes/{token}` says whether its message
//! has arrived and, once it has, carries its report.
//!
//! This module decides how a test address is shown: its `token`, its
//! `address` (`t-<token>@<inbox-domain>`), its `status` (`waiting` until
//! its one message arrives or it expires, then `received` or `expired`),
//! `expires_at` (RFC 3339, UTC), `received_at` once received, the saved
//! report (as `GET /v1/reports/{id}` shows it) while that report is kept,
//! and `links` to its page (`/inboxes/{token}`) and its JSON. With
//! `keep_raw=true` the message's raw bytes are kept beside its report
//! (otherwise they are dropped once reported on). The token
//! is the only key: whoever holds it may read the report. A server
//! started without `--inbox-domain` makes no addresses (404
//! `/problems/inbox-disabled`) but still answers for those another
//! replica made in a shared database. The receiver itself is
//! [`crate::smtp`].

use super::Shared;
use super::extract::{ApiQuery, KeepRawParams, NoParams};
use super::problem::{Problem, ProblemType};
use super::saved::{self, SavedReport, rfc3339};
use crate::store::{Inbox, InboxStatus, InboxToken};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A test address as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct InboxView {
    token: String,
    address: String,
    status: &'static str,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    received_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<SavedReport>,
    links: Links,
}

#[derive(Debug, Serialize)]
struct Links {
    /// The page for people.
    html: String,
    /// This JSON.
    json: String,
}

impl InboxView {
    fn new(inbox: &Inbox, report: Option<SavedReport>) -> InboxView {
        let (status, received_at) = match inbox.status {
            InboxStatus::Waiting => ("waiting", None),
            InboxStatus::Received { at, .. } => ("received", Some(rfc3339(at))),
            InboxStatus::Expired => ("expired", None),
        };
        InboxView {
            token: inbox.token.to_string(),
            address: inbox.address.clone(),
            status,
            expires_at: rfc3339(inbox.expires_at),
            received_at,
            report,
            links: Links {
                html: format!("/inboxes/{}", inbox.token),
                json: json_link(&inbox.token),
            },
        }
    }
}

fn json_link(token: &InboxToken) -> String {
    format!("/v1/inboxes/{token}")
}

/// `POST /v1/inboxes`: 201 with the new address and its `Location`;
/// with `?keep_raw=true` the raw message is kept beside its report (for
/// `--report-retention`), as with `POST /v1/messages`.
pub(super) async fn create(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<KeepRawParams>,
) -> Result<Response, Problem> {
    let Some(settings) = &state.inbox else {
        return Err(Problem::new(
            ProblemType::InboxDisabled,
            "this server makes no test addresses; start it with --inbox-domain (and --smtp to \
             receive their mail)",
        ));
    };
    let token = InboxToken::generate().map_err(saved::unavailable)?;
    let inbox = state
        .store
        .create_inbox(
            &token,
            &settings.address(&token),
            settings.ttl,
            params.keep_raw,
        )
        .await
        .map_err(saved::unavailable)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, json_link(&token))],
        Json(InboxView::new(&inbox, None)),
    )
        .into_response())
}

fn not_found(token: &str) -> Problem {
    Problem::new(
        ProblemType::NotFound,
        format!(
            "no test address {}: it was never made, or has been forgotten since it expired",
            crate::untrusted::quoted(token)
        ),
    )
}

/// `GET /v1/inboxes/{token}`.
pub(super) async fn read(
    State(state): State<Shared>,
    Path(token): Path<String>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
) -> Result<Json<InboxView>, Problem> {
    let parsed: InboxToken = token.parse().map_err(|_| not_found(&token))?;
    let inbox = state
        .store
        .inbox(&parsed)
        .await
        .map_err(saved::unavailable)?
        .ok_or_else(|| not_found(&token))?;
    let report = match inbox.status {
        InboxStatus::Received {
            report: Some(id), ..
        } => state
            .store
            .report(&id)
            .await
            .map_err(saved::unavailable)?
            .map(|stored| SavedReport::new(stored.report, &id, stored.expires_at)),
        _ => None,
    };
    Ok(Json(InboxView::new(&inbox, report)))
}
