//! Who may call the API: bearer API keys, and which web pages may call it
//! from a browser (CORS).
//!
//! With keys configured, every request to a protected endpoint must carry
//! `Authorization: Bearer KEY` (RFC 6750 §2.1) with one of them; otherwise
//! the answer is 401 `/problems/unauthorized` with a `WWW-Authenticate`
//! challenge (RFC 6750 §3). The probes and the contract — `/healthz`,
//! `/readyz`, `/openapi.yaml` — are never protected, so orchestrators and
//! the web page need no key; `/metrics` is. Nor is a domain's TLS
//! reporting URL (`POST /v1/reports/tls/{token}`), whose token is the
//! secret a reporting MTA holds instead of a key. Keys are compared in constant
//! time so the answer's timing does not reveal how much of a guess was
//! right.
//!
//! CORS is off unless origins are configured; then the allowed origins may
//! send `GET` and `POST` with `Authorization` and `Content-Type`, and read
//! `x-request-id` and `Retry-After`.

use super::config::ApiKey;
use super::problem::{Problem, ProblemType};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The accepted keys; empty means the API is open.
#[derive(Debug, Default)]
pub struct ApiKeys(Vec<ApiKey>);

impl ApiKeys {
    pub fn new(keys: Vec<ApiKey>) -> ApiKeys {
        ApiKeys(keys)
    }

    /// No key is configured: the API is open.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `token` is one of the keys. Every key is compared, each
    /// over its whole length, whatever matched before.
    pub(super) fn accepts(&self, token: &[u8]) -> bool {
        let found = self.0.iter().fold(Choice::from(0), |found, key| {
            found | key.as_bytes().ct_eq(token)
        });
        found.into()
    }
}

/// The token of an `Authorization: Bearer TOKEN` header; the scheme is
/// case-insensitive (RFC 9110 §11.1).
pub(super) fn bearer_token(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    Some(token.trim_ascii())
}

/// Lets a request through when no key is configured or it carries one.
pub(super) async fn require_key(
    State(keys): State<Arc<ApiKeys>>,
    request: Request,
    next: Next,
) -> Response {
    if keys.0.is_empty() {
        return next.run(request).await;
    }
    match bearer_token(request.headers()) {
        Some(token) if keys.accepts(token) => next.run(request).await,
        Some(_) => Problem::new(
            ProblemType::Unauthorized,
            "the API key is not one this server accepts; check for a typo or a rotated key",
        )
        .header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="mailvet", error="invalid_token""#),
        )
        .into_response(),
        None => Problem::new(
            ProblemType::Unauthorized,
            "this server needs an API key: send `Authorization: Bearer <key>`",
        )
        .header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="mailvet""#),
        )
        .into_response(),
    }
}

/// The CORS layer for the configured origins; `None` when there are none.
/// A preflight allows `methods` (every method of the route table, so
/// `DELETE /v1/reports/{id}` too) and the `Authorization` header the
/// API key comes in.
pub(super) fn cors(origins: &[HeaderValue], methods: Vec<Method>) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().cloned())
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(methods)
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
            .max_age(Duration::from_secs(3600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ApiKeys {
        ApiKeys::new(vec![
            "first-key-0123456789".parse().unwrap(),
            "second-key-0123456789".parse().unwrap(),
        ])
    }

    #[test]
    fn any_configured_key_is_accepted_and_nothing_else() {
        let keys = keys();
        assert!(keys.accepts(b"first-key-0123456789"));
        assert!(keys.accepts(b"second-key-0123456789"));
        assert!(!keys.accepts(b"first-key-012345678"));
        assert!(!keys.accepts(b"first-key-01234567890"));
        assert!(!keys.accepts(b""));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        for (value, token) in [
            ("Bearer abc", Some(&b"abc"[..])),
            ("bearer  abc ", Some(&b"abc"[..])),
            ("Basic YWJj", None),
            ("Bearer", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_token(&headers), token, "{value}");
        }
    }
}
