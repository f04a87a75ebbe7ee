//! The HTTP API (axum): routes, request parsing, limits and errors.
//!
//! This module decides what each endpoint accepts and answers, and the
//! order in which a request meets the service's guards. It parses input,
//! calls the engine, and returns the report as JSON; every client mistake
//! is a 4xx `application/problem+json` ([`problem`]) naming the field to
//! fix — never a 500. A verdict is not an error: an SPF `temperror` is a
//! 200 report that says so.
//!
//! Endpoints: `GET /healthz`, `GET /readyz`, `GET /metrics`,
//! `GET /openapi.yaml` (the contract, `openapi.yaml` at the repository
//! root), `POST /v1/spf`, `GET /v1/domains/{domain}`, `POST /v1/domains`
//! (a batch), `POST /v1/messages`, `POST /v1/dmarc/evaluate`,
//! `GET /v1/findings`.
//!
//! A request passes, from the outside in: the `x-request-id` (kept from
//! the client or made; echoed on every answer and named in problems), the
//! access log span, the metrics, CORS ([`auth`]), the turning of every
//! error the router or an extractor makes into a problem
//! ([`problem::every_error_a_problem`]), then for `/v1` the rate limit, the
//! API key, the reading of the whole body (its route's size limit, the
//! body read timeout and the server's body memory budget), the
//! concurrency cap, the request timeout and the answer size cap
//! ([`limits`]). `/metrics` needs the API key but no other guard; the
//! probes and the contract need none.

mod auth;
pub mod config;
mod domains;
mod limits;
mod messages;
pub mod metrics;
pub mod problem;
mod readiness;
mod server;

use crate::dns::Dns;
use crate::domain::AuditOptions;
use crate::spf::{self, QueryError, SpfQuery};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use config::ServiceConfig;
use limits::Guarded;
use metrics::Metrics;
use problem::{Problem, ProblemType};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use server::serve_on;

/// Largest JSON body (`POST /v1/spf`, `POST /v1/dmarc/evaluate`).
pub const JSON_BODY_LIMIT: usize = 16 * 1024;

/// The contract, served at `GET /openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

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
    /// Access, limits and shutdown of the service.
    pub service: ServiceConfig,
    /// What `/metrics` reports.
    pub metrics: Arc<Metrics>,
    /// The last `/readyz` probe, reused for a second.
    pub ready: Arc<readiness::LastProbe>,
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
            service: ServiceConfig::default(),
            metrics: Arc::default(),
            ready: Arc::default(),
        }
    }
}

/// The router, ready to serve or to call in tests.
pub fn router(state: AppState) -> Router {
    let limits = Arc::new(limits::Limits::new(
        &state.service,
        Arc::clone(&state.metrics),
    ));
    let keys = Arc::new(auth::ApiKeys::new(state.service.api_keys.clone()));
    let api = Router::new()
        .route(
            "/v1/spf",
            post(spf_handler).guarded(&limits, Some(JSON_BODY_LIMIT)),
        )
        .route(
            "/v1/domains",
            post(domains::audit_batch).guarded(
                &limits,
                Some(domains::batch_body_limit(state.service.max_batch)),
            ),
        )
        .route(
            "/v1/domains/{domain}",
            get(domains::audit).guarded(&limits, None),
        )
        .route(
            "/v1/messages",
            post(messages::verify).guarded(&limits, Some(state.message_limit)),
        )
        .route(
            "/v1/dmarc/evaluate",
            post(messages::evaluate_dmarc).guarded(&limits, Some(JSON_BODY_LIMIT)),
        )
        .route(
            "/v1/findings",
            get(domains::findings).guarded(&limits, None),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&keys), auth::require_key))
        .layer(from_fn_with_state(limits, limits::rate));
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readiness::readyz))
        .route("/openapi.yaml", get(openapi))
        .route(
            "/metrics",
            get(metrics::export).route_layer(from_fn_with_state(keys, auth::require_key)),
        )
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(
                ProblemType::Internal,
                "the server hit a bug; please report it with the request_id",
            )
            .into_response()
        }))
        .layer(from_fn(problem::every_error_a_problem));
    if let Some(cors) = auth::cors(&state.service.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(from_fn(scope_request_id))
        .layer(from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn request_id(request: &Request) -> Option<&str> {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
}

/// The access log's span: method, path (not the query, which may hold
/// addresses) and request id.
fn request_span(request: &Request<Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = request_id(request).unwrap_or("-"),
    )
}

/// Makes the request id known to every problem made while answering.
async fn scope_request_id(request: Request, next: Next) -> Response {
    match request_id(&request).map(str::to_owned) {
        Some(id) => problem::REQUEST_ID.scope(id, next.run(request)).await,
        None => next.run(request).await,
    }
}

/// Serves until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(listen: SocketAddr, state: AppState) -> std::io::Result<()> {
    if state.service.body_memory < state.message_limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "--body-memory ({} bytes) is below --max-message-size ({} bytes), so a message \
                 of the largest size could never be read; raise the one or lower the other",
                state.service.body_memory, state.message_limit
            ),
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    tracing::info!(address = %listener.local_addr()?, "mailvet listening");
    serve_on(listener, state, shutdown_signal()).await
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
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn openapi() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        OPENAPI,
    )
}

async fn not_found() -> Problem {
    Problem::new(
        ProblemType::NotFound,
        "no such endpoint; GET /openapi.yaml describes the API",
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
    limit: usize,
) -> Result<T, Problem> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemType::BodyTooLarge,
                format!("the JSON body is larger than {limit} bytes"),
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
    let request: SpfRequest = json_body(body, JSON_BODY_LIMIT)?;
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
        Ok(report) => {
            state.metrics.observe_report(&report.dns, &report.findings);
            Ok(Json(report).into_response())
        }
        Err(QueryError::NoIdentity) => Err(Problem::new(
            ProblemType::MissingIdentity,
            "give mail_from (the envelope sender), helo, or both",
        )),
        Err(QueryError::Invalid { field, reason }) => {
            Err(Problem::new(ProblemType::InvalidDomain, format!("{field} {reason}")).field(field))
        }
    }
}
