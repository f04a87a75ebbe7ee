//! The HTTP API (axum): routes, request parsing, limits and errors.
//!
//! This module decides what each endpoint accepts and answers. It parses
//! input, calls the engine, and returns the report as JSON; every client
//! mistake is a 4xx `application/problem+json` ([`problem`]) naming the
//! field to fix — never a 500. A verdict is not an error: an SPF
//! `temperror` is a 200 report that says so.
//!
//! Endpoints: `GET /healthz`, `POST /v1/spf`, `GET /v1/domains/{domain}`,
//! `POST /v1/messages`, `POST /v1/dmarc/evaluate`, `GET /v1/findings`. The contract is `openapi.yaml` at the repository
//! root.

mod domains;
mod messages;
pub mod problem;

use crate::dns::Dns;
use crate::domain::AuditOptions;
use crate::spf::{self, QueryError, SpfQuery};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use problem::{Problem, ProblemType};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Largest JSON body (`POST /v1/spf`, `POST /v1/dmarc/evaluate`).
pub const JSON_BODY_LIMIT: usize = 16 * 1024;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub dns: Arc<Dns>,
    /// Options of every domain audit (selectors come per request).
    pub audit: AuditOptions,
    /// Largest message `POST /v1/messages` accepts, in bytes.
    pub message_limit: usize,
    /// The authserv-id written in Authentication-Results headers.
    pub authserv_id: String,
}

/// 25 MiB, the common size limit of receiving mail systems.
pub const DEFAULT_MESSAGE_LIMIT: usize = 25 * 1024 * 1024;

impl AppState {
    pub fn new(dns: Arc<Dns>) -> AppState {
        AppState {
            dns,
            audit: AuditOptions::default(),
            message_limit: DEFAULT_MESSAGE_LIMIT,
            authserv_id: "mailvet".into(),
        }
    }
}

/// The router, ready to serve or to call in tests.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/spf",
            post(spf_handler).layer(DefaultBodyLimit::max(JSON_BODY_LIMIT)),
        )
        .route("/v1/domains/{domain}", get(domains::audit))
        .route(
            "/v1/messages",
            post(messages::verify).layer(DefaultBodyLimit::max(state.message_limit)),
        )
        .route(
            "/v1/dmarc/evaluate",
            post(messages::evaluate_dmarc).layer(DefaultBodyLimit::max(JSON_BODY_LIMIT)),
        )
        .route("/v1/findings", get(domains::findings))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(
                ProblemType::Internal,
                "the server hit a bug; please report it",
            )
            .into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(listen: SocketAddr, state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    tracing::info!(address = %listener.local_addr()?, "mailvet listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> Problem {
    Problem::new(
        ProblemType::NotFound,
        "no such endpoint; see /openapi.yaml in the repository for the API",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        ProblemType::MethodNotAllowed,
        "this endpoint does not accept that method",
    )
}

/// `?trace=true` on any report endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    #[serde(default)]
    pub trace: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpfRequest {
    ip: String,
    #[serde(default)]
    helo: Option<String>,
    #[serde(default)]
    mail_from: Option<String>,
}

/// Reads a JSON body whatever its declared content type (so `curl -d`
/// works), mapping every failure to a problem.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Problem> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemType::BodyTooLarge,
                format!("the JSON body is larger than {JSON_BODY_LIMIT} bytes"),
            )
        } else {
            Problem::new(ProblemType::InvalidRequest, rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let kind = if e.is_data() {
            ProblemType::InvalidRequest
        } else {
            ProblemType::MalformedJson
        };
        Problem::new(kind, format!("request body: {e}"))
    })
}

pub(crate) fn params(
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<ReportParams, Problem> {
    params
        .map(|Query(p)| p)
        .map_err(|e| Problem::new(ProblemType::InvalidRequest, e.body_text()))
}

async fn spf_handler(
    State(state): State<AppState>,
    query: Result<Query<ReportParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let params = params(query)?;
    let request: SpfRequest = json_body(body)?;
    let ip: IpAddr = request.ip.trim().parse().map_err(|_| {
        Problem::new(
            ProblemType::InvalidIp,
            format!("`{}` is not an IPv4 or IPv6 address", request.ip),
        )
        .field("ip")
    })?;
    let query = SpfQuery {
        ip,
        helo: request.helo,
        mail_from: request.mail_from,
        receiver: None,
    };
    let resolver = state.dns.resolver();
    match spf::report::report(&resolver, &query, params.trace).await {
        Ok(report) => Ok(Json(report).into_response()),
        Err(QueryError::NoIdentity) => Err(Problem::new(
            ProblemType::MissingIdentity,
            "give mail_from (the envelope sender), helo, or both",
        )),
        Err(QueryError::Invalid { field, reason }) => {
            Err(Problem::new(ProblemType::InvalidDomain, format!("{field} {reason}")).field(field))
        }
    }
}
