//! The HTTP server (axum): the API's routes, request parsing, limits and
//! errors, and the web pages' routes.
//!
//! This module decides what each endpoint accepts and answers, and the
//! order in which a request meets the service's guards. It parses input,
//! calls the engine, and returns the report as JSON; every client mistake
//! is a 4xx `application/problem+json` ([`problem`]) naming the field to
//! fix — never a 500. A verdict is not an error: an SPF `temperror` is a
//! 200 report that says so.
//!
//! Endpoints, one module per group, all listed in one table ([`routes`])
//! that the router mounts and the contract test compares with
//! `openapi.yaml`: `GET /healthz` and `GET /readyz` ([`health`]),
//! `GET /metrics` ([`metrics`]), `GET /openapi.yaml` ([`openapi`]),
//! `POST /v1/spf` ([`spf`]), `GET /v1/domains/{domain}` (reused while its
//! answers live, [`audit_cache`]), `POST /v1/domains`
//! (a batch) and `GET /v1/findings` ([`domains`]), `POST /v1/messages`
//! ([`messages`]; with `save=true` the report is kept), `GET` and `DELETE
//! /v1/reports/{id}` ([`saved`]), `POST /v1/inboxes` and `GET
//! /v1/inboxes/{token}` (the send-a-test inbox, [`inboxes`]), `POST
//! /v1/reports`, `POST /v1/reports/tls` and `POST /v1/reports/tls/{token}`
//! (received DMARC aggregate and TLS reports) and `GET
//! /v1/reports/dmarc/{domain}` (what they say) ([`intake`]), `POST
//! /v1/reports/tls/endpoints` (the URL a domain's TLS reports are posted
//! to, [`tls_rua`]), `POST
//! /v1/dmarc/evaluate` ([`dmarc`]). Handlers read
//! their input through extractors whose rejection is the problem
//! ([`extract`]). The web pages are not API operations: they have their
//! own table in [`pages`], are mounted beside it, meet the same rate
//! limit, keys (unless `--web-public`) and work guards, and answer HTML,
//! errors included. Every answer carries the security headers of
//! [`pages::SECURITY_HEADERS`].
//!
//! A request passes, from the outside in: the `x-request-id` (kept from
//! the client when it is at most [`MAX_REQUEST_ID`] visible ASCII
//! characters, else made; echoed on every answer and named in problems), the
//! access log span, the metrics, CORS ([`auth`]), the turning of every
//! error the router or an extractor makes into a problem
//! ([`problem::every_error_a_problem`]), then for `/v1` the rate limit
//! ([`rate`]), the API key, the reading of the whole body (its route's
//! size limit, the body read timeout and the server's body memory
//! budget), the concurrency cap, the request timeout and the answer size
//! cap ([`limits`]). `POST /v1/reports/tls/{token}` meets every one of
//! them but the API key: a reporting MTA cannot send one, and the token
//! in its path is the secret instead. `/metrics` needs the API key but
//! no other guard; the probes and the contract need none.

pub mod audit_cache;
mod auth;
pub mod config;
mod dmarc;
mod domains;
mod extract;
mod health;
mod inboxes;
mod intake;
mod limits;
mod messages;
pub mod metrics;
mod openapi;
pub mod pages;
pub mod problem;
mod rate;
mod saved;
mod server;
mod spf;
mod tls_rua;

use crate::dns::Dns;
use crate::domain::AuditOptions;
use crate::reports::{self, services::Services};
use crate::smtp::address::InboxSettings;
use crate::store::Store;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use config::ServiceConfig;
use limits::Guarded;
use metrics::Metrics;
use problem::{Problem, ProblemType};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use openapi::OPENAPI;
pub use server::{serve, serve_on};

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
    /// Access, limits and shutdown of the service.
    pub service: ServiceConfig,
    /// What `/metrics` reports.
    pub metrics: Arc<Metrics>,
    /// The last `/readyz` probe, reused for a second.
    pub ready: Arc<health::LastProbe>,
    /// Where saved reports and received DMARC and TLS reports are kept.
    pub store: Store,
    /// The test inbox's addresses (`--inbox-domain`); without it
    /// `POST /v1/inboxes` is 404 `/problems/inbox-disabled`.
    pub inbox: Option<InboxSettings>,
    /// The caps on a received report (`--max-report-size`); its upload is
    /// capped by the same size.
    pub report_limits: reports::Limits,
    /// The sending services a summary recognizes.
    pub services: Arc<Services>,
    /// Finished domain audits, reused while their answers live
    /// (`--audit-cache-mib`; none kept unless set).
    pub audits: Arc<audit_cache::AuditCache>,
}

/// The router's state: the one [`AppState`] of the server, shared by
/// every request. axum clones its state for each request and each
/// `State` extractor; a clone of this is a reference count, where a clone
/// of `AppState` copied its configuration (strings, lists, the store's
/// handles) twice a request.
pub(crate) type Shared = Arc<AppState>;

/// 25 MiB, the common size limit of receiving mail systems.
pub const DEFAULT_MESSAGE_LIMIT: usize = 25 * 1024 * 1024;

impl AppState {
    pub fn new(dns: Arc<Dns>, store: Store) -> AppState {
        AppState {
            dns,
            store,
            audit: AuditOptions::default(),
            message_limit: DEFAULT_MESSAGE_LIMIT,
            authserv_id: "mailvet".into(),
            service: ServiceConfig::default(),
            metrics: Arc::default(),
            ready: Arc::default(),
            inbox: None,
            report_limits: reports::Limits::default(),
            services: Arc::new(Services::built_in()),
            audits: Arc::new(audit_cache::AuditCache::new(0)),
        }
    }
}

/// Which guards a route meets (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// None: the probes and the contract.
    Open,
    /// The API key only.
    Key,
    /// Every `/v1` guard: rate, API key, body, concurrency, time and
    /// answer size.
    Api(BodySize),
    /// Every `/v1` guard but the API key, for a reporting MTA that cannot
    /// hold one: the path's `{token}` is a domain's TLS reporting token
    /// ([`tls_rua::known_token`]), looked up before the body is read.
    TlsReportToken(BodySize),
}

/// The largest body a `/v1` route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySize {
    /// The route takes no body; one sent is never read.
    None,
    /// [`JSON_BODY_LIMIT`].
    Json,
    /// Room for `--max-batch` domain names at their longest.
    Batch,
    /// `--max-message-size`.
    Message,
    /// `--max-message-size` as the web form sends it: percent-encoding
    /// writes a byte as up to three, beside the envelope fields. The
    /// handler holds the decoded message to `--max-message-size`.
    MessageForm,
    /// `--max-report-size`.
    Report,
}

impl BodySize {
    fn limit(self, state: &AppState) -> Option<usize> {
        match self {
            BodySize::None => None,
            BodySize::Json => Some(JSON_BODY_LIMIT),
            BodySize::Batch => Some(domains::batch_body_limit(state.service.max_batch)),
            BodySize::Message => Some(state.message_limit),
            BodySize::MessageForm => Some(
                state
                    .message_limit
                    .saturating_mul(3)
                    .saturating_add(pages::FORM_FIELDS),
            ),
            BodySize::Report => {
                Some(usize::try_from(state.report_limits.max_size).unwrap_or(usize::MAX))
            }
        }
    }
}

/// One operation of the API: what the router mounts and `openapi.yaml`
/// documents.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// The path template, as axum and OpenAPI write it.
    pub path: &'static str,
    pub access: Access,
    /// The handler, mounted for the method given.
    handler: fn(MethodFilter) -> MethodRouter<Shared>,
}

/// Every operation of the API.
pub fn routes() -> Vec<Route> {
    let route = |method, path, access, handler| Route {
        method,
        path,
        access,
        handler,
    };
    vec![
        route(Method::GET, "/healthz", Access::Open, |m| {
            on(m, health::healthz)
        }),
        route(Method::GET, "/readyz", Access::Open, |m| {
            on(m, health::readyz)
        }),
        route(Method::GET, "/metrics", Access::Key, |m| {
            on(m, metrics::export)
        }),
        route(Method::GET, "/openapi.yaml", Access::Open, |m| {
            on(m, openapi::document)
        }),
        route(Method::POST, "/v1/spf", Access::Api(BodySize::Json), |m| {
            on(m, spf::check)
        }),
        route(
            Method::GET,
            "/v1/domains/{domain}",
            Access::Api(BodySize::None),
            |m| on(m, domains::audit),
        ),
        route(
            Method::POST,
            "/v1/domains",
            Access::Api(BodySize::Batch),
            |m| on(m, domains::audit_batch),
        ),
        route(
            Method::POST,
            "/v1/messages",
            Access::Api(BodySize::Message),
            |m| on(m, messages::verify),
        ),
        route(
            Method::POST,
            "/v1/reports",
            Access::Api(BodySize::Report),
            |m| on(m, intake::import),
        ),
        route(
            Method::POST,
            "/v1/reports/tls",
            Access::Api(BodySize::Report),
            |m| on(m, intake::import_tls),
        ),
        route(
            Method::POST,
            "/v1/reports/tls/endpoints",
            Access::Api(BodySize::Json),
            |m| on(m, tls_rua::endpoint),
        ),
        route(
            Method::POST,
            "/v1/reports/tls/{token}",
            Access::TlsReportToken(BodySize::Report),
            |m| on(m, intake::import_tls_for),
        ),
        route(
            Method::GET,
            "/v1/reports/dmarc/{domain}",
            Access::Api(BodySize::None),
            |m| on(m, intake::summary).layer(from_fn(intake::one_summary_per_client)),
        ),
        route(
            Method::GET,
            "/v1/reports/{id}",
            Access::Api(BodySize::None),
            |m| on(m, saved::read),
        ),
        route(
            Method::DELETE,
            "/v1/reports/{id}",
            Access::Api(BodySize::None),
            |m| on(m, saved::delete),
        ),
        route(
            Method::POST,
            "/v1/inboxes",
            Access::Api(BodySize::None),
            |m| on(m, inboxes::create),
        ),
        route(
            Method::GET,
            "/v1/inboxes/{token}",
            Access::Api(BodySize::None),
            |m| on(m, inboxes::read),
        ),
        route(
            Method::POST,
            "/v1/dmarc/evaluate",
            Access::Api(BodySize::Json),
            |m| on(m, dmarc::evaluate),
        ),
        route(
            Method::GET,
            "/v1/findings",
            Access::Api(BodySize::None),
            |m| on(m, domains::findings),
        ),
    ]
}

/// The router, ready to serve or to call in tests: [`routes`] mounted
/// behind their guards.
pub fn router(state: AppState) -> Router {
    let state: Shared = Arc::new(state);
    let limits = Arc::new(limits::Limits::new(
        &state.service,
        Arc::clone(&state.metrics),
    ));
    let keys = Arc::new(auth::ApiKeys::new(state.service.api_keys.clone()));
    let rate = Arc::new(rate::RateLimit::new(state.service.rate_limit));
    let (mut app, mut api, mut unkeyed) = (Router::new(), Router::new(), Router::new());
    // The methods of the route table, for CORS preflight answers.
    let mut methods: Vec<Method> = Vec::new();
    for route in routes() {
        if !methods.contains(&route.method) {
            methods.push(route.method.clone());
        }
        let filter = MethodFilter::try_from(route.method.clone())
            .expect("every method of the route table is one axum routes by");
        let endpoint = (route.handler)(filter);
        match route.access {
            Access::Open => app = app.route(route.path, endpoint),
            Access::Key => {
                let key = from_fn_with_state(Arc::clone(&keys), auth::require_key);
                app = app.route(route.path, endpoint.route_layer(key));
            }
            Access::Api(body) => {
                let guarded = endpoint.guarded(&limits, body.limit(&state));
                api = api.route(route.path, guarded);
            }
            Access::TlsReportToken(body) => {
                let guarded = endpoint.guarded(&limits, body.limit(&state));
                // Outside the body guard: a URL no domain has costs no
                // upload.
                let known = from_fn_with_state(Arc::clone(&state), tls_rua::known_token);
                unkeyed = unkeyed.route(route.path, guarded.route_layer(known));
            }
        }
    }
    let api = api
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&keys), auth::require_key))
        .layer(from_fn_with_state(Arc::clone(&rate), rate::rate));
    let unkeyed = unkeyed
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&rate), rate::rate));
    let pages = pages::router(&state, &limits, Arc::clone(&keys), rate);
    let mut app = app
        .merge(api)
        .merge(unkeyed)
        .merge(pages)
        .fallback(pages::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            Problem::new(
                ProblemType::Internal,
                "the server hit a bug; please report it with the request_id",
            )
            .into_response()
        }))
        .layer(from_fn(problem::every_error_a_problem));
    if let Some(cors) = auth::cors(&state.service.cors_origins, methods) {
        app = app.layer(cors);
    }
    app.layer(from_fn(pages::security_headers))
        .layer(from_fn(scope_request_id))
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
        .layer(from_fn(refuse_unfit_request_id))
        .with_state(state)
}

/// The most characters of a client's `x-request-id` kept.
pub const MAX_REQUEST_ID: usize = 128;

/// Drops a client's `x-request-id` that is longer than [`MAX_REQUEST_ID`]
/// or holds anything but visible ASCII, so that a new one is made: the id
/// is repeated on the answer, in problems and in every log line of the
/// request.
async fn refuse_unfit_request_id(mut request: Request, next: Next) -> Response {
    let fit = |id: &HeaderValue| {
        let id = id.as_bytes();
        !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.iter().all(u8::is_ascii_graphic)
    };
    let name = HeaderName::from_static("x-request-id");
    let mut given = request.headers().get_all(&name).iter();
    let keep = matches!((given.next(), given.next()), (Some(id), None) if fit(id));
    if !keep {
        request.headers_mut().remove(&name);
    }
    next.run(request).await
}

fn request_id(request: &Request) -> Option<&str> {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
}

/// The access log's span: method, path (not the query, which may hold
/// addresses; nor a TLS reporting token, a credential that does not
/// expire) and request id.
fn request_span(request: &Request<Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %logged_path(request.uri().path()),
        request_id = request_id(request).unwrap_or("-"),
    )
}

/// The path as the access log shows it: a TLS reporting URL's token
/// replaced by `{token}`.
fn logged_path(path: &str) -> &str {
    match path.strip_prefix(crate::reports::rua::PATH) {
        Some(rest) if rest != "endpoints" => "/v1/reports/tls/{token}",
        _ => path,
    }
}

/// Makes the request id known to every problem made while answering.
async fn scope_request_id(request: Request, next: Next) -> Response {
    match request_id(&request).map(str::to_owned) {
        Some(id) => problem::REQUEST_ID.scope(id, next.run(request)).await,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn the_access_log_never_shows_a_tls_reporting_token() {
        assert_eq!(
            logged_path("/v1/reports/tls/0123456789abcdef0123456789abcdef"),
            "/v1/reports/tls/{token}"
        );
        assert_eq!(
            logged_path("/v1/reports/tls/anything"),
            "/v1/reports/tls/{token}"
        );
        for kept in [
            "/v1/reports/tls/endpoints",
            "/v1/reports/tls",
            "/v1/reports/dmarc/example.com",
            "/v1/domains/example.com",
        ] {
            assert_eq!(logged_path(kept), kept);
        }
    }
}
