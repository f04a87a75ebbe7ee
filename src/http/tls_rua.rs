//! Where a domain's SMTP TLS reports are posted: `POST
//! /v1/reports/tls/endpoints` gives (with the API key, like every `/v1`
//! call) the domain's reporting URL, `https://HOST/v1/reports/tls/TOKEN`,
//! and the `_smtp._tls` record that names it (RFC 8460 §3:
//! `v=TLSRPTv1; rua=https://…`).
//!
//! This module decides the host that URL names, and which domain a token
//! in a posted URL stands for (the URL's and record's shape is
//! [`crate::reports::rua`]'s). A reporting MTA cannot send our API key, so
//! the token in the path is what lets its report in (`POST
//! /v1/reports/tls/{token}` needs no key; see [`super::intake`]). The
//! token is the store's, one per domain, the same one each time it is
//! asked for (`"replace": true` makes a new one; the old URL is then
//! unknown). The URL's origin is the server's `--base-url` when it has
//! one, and otherwise `https://` and the `Host` the request came with
//! (behind a proxy, the proxy must then pass on the name reporters reach
//! it by). A token that is malformed or that no domain has is the same
//! 404, naming no domain.

use super::extract::{ApiJson, ApiQuery, NoParams};
use super::problem::{Problem, ProblemType};
use super::saved::unavailable;
use super::{AppState, Shared};
use crate::records::name::DomainName;
use crate::reports::rua::{TlsReportingUrl, https_origin};
use crate::store::TlsReportToken;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

/// The body of `POST /v1/reports/tls/endpoints`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointRequest {
    domain: String,
    /// Make a new token in place of the old one (the URL leaked).
    #[serde(default)]
    replace: bool,
}

/// `POST /v1/reports/tls/endpoints`.
pub(super) async fn endpoint(
    State(state): State<Shared>,
    headers: HeaderMap,
    ApiQuery(NoParams): ApiQuery<NoParams>,
    ApiJson(request): ApiJson<EndpointRequest>,
) -> Result<Json<TlsReportingUrl>, Problem> {
    let domain = super::domains::domain_name(&request.domain, "domain".into())?;
    endpoint_of(&state, &domain, &headers, request.replace)
        .await
        .map(Json)
}

/// The TLS reporting URL of `domain` ([`origin_of`]), its token made now
/// if it has none (or anew with `replace`).
pub(super) async fn endpoint_of(
    state: &AppState,
    domain: &DomainName,
    headers: &HeaderMap,
    replace: bool,
) -> Result<TlsReportingUrl, Problem> {
    let origin = origin_of(state, headers)?;
    let token = state
        .store
        .tls_report_token(&domain.ascii, replace)
        .await
        .map_err(unavailable)?;
    Ok(TlsReportingUrl::new(&origin, &domain.ascii, &token))
}

/// [`endpoint_of`] when `domain` already has a token; none is made.
pub(super) async fn known_endpoint_of(
    state: &AppState,
    domain: &DomainName,
    headers: &HeaderMap,
) -> Result<Option<TlsReportingUrl>, Problem> {
    let origin = origin_of(state, headers)?;
    let token = state
        .store
        .known_tls_report_token(&domain.ascii)
        .await
        .map_err(unavailable)?;
    Ok(token.map(|token| TlsReportingUrl::new(&origin, &domain.ascii, &token)))
}

/// The server's `--base-url`, or else `https://` and the `Host` a
/// request came with.
fn origin_of(state: &AppState, headers: &HeaderMap) -> Result<String, Problem> {
    if let Some(base_url) = &state.service.base_url {
        return Ok(base_url.clone());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    https_origin(host).ok_or_else(|| {
        Problem::new(
            ProblemType::InvalidRequest,
            "the URL is built from the request's Host header, which is missing or not a host \
             name with an optional port; call this server by the name TLS reporters will reach \
             it by (behind a proxy, have the proxy pass that Host on), or start it with \
             --base-url",
        )
    })
}

/// The domain of a posted URL's token, found by [`known_token`].
#[derive(Debug, Clone)]
pub(super) struct TokenDomain(pub(super) String);

/// Lets a post through to the body guard only when the `{token}` of its
/// path is one the store knows, with its domain as a [`TokenDomain`]: a
/// post to an unknown URL is answered before its body is read, and its
/// connection closed. The lookup is held to the request timeout.
pub(super) async fn known_token(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let token = Path::<String>::from_request_parts(&mut parts, &state)
        .await
        .map(|Path(token)| token)
        .unwrap_or_default();
    // Before the request timeout's own guard, so bounded here: a store
    // slow to answer does not hold anonymous posts for longer.
    let timeout = state.service.request_timeout;
    let found = match tokio::time::timeout(timeout, domain_of(&state, &token)).await {
        Ok(found) => found,
        Err(_) => Err(Problem::new(
            ProblemType::Timeout,
            format!(
                "the store did not answer within the server's request timeout of {} ms; \
                 retry later",
                timeout.as_millis()
            ),
        )),
    };
    match found {
        Ok(domain) => {
            parts.extensions.insert(TokenDomain(domain));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(problem) => problem
            .header(header::CONNECTION, HeaderValue::from_static("close"))
            .into_response(),
    }
}

/// The domain whose TLS reports `token` lets in; 404, naming no domain,
/// for a token that is malformed or unknown.
async fn domain_of(state: &AppState, token: &str) -> Result<String, Problem> {
    let not_found = || {
        Problem::new(
            ProblemType::NotFound,
            "no TLS reports are taken at this URL; ask for the domain's URL with \
             POST /v1/reports/tls/endpoints and publish it in its _smtp._tls record",
        )
    };
    let token: TlsReportToken = token.parse().map_err(|_| not_found())?;
    state
        .store
        .tls_report_domain(&token)
        .await
        .map_err(unavailable)?
        .ok_or_else(not_found)
}
