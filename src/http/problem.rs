//! Errors over HTTP as `application/problem+json` (RFC 9457).
//!
//! This module decides the stable `type` of each error a client can cause
//! or meet. Types are relative URIs under `/problems/`; clients match on
//! them, so a type never changes meaning. Every problem names what to change,
//! and carries the request's `x-request-id` as `request_id` so a report of
//! it can be found in the logs.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The kinds of problem, each with its stable type URI and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    InvalidIp,
    InvalidDomain,
    MissingIdentity,
    MalformedJson,
    InvalidRequest,
    BodyTooLarge,
    HeaderLimit,
    UnsupportedMediaType,
    NotFound,
    MethodNotAllowed,
    TooManyDomains,
    Unauthorized,
    RateLimited,
    Overloaded,
    NotReady,
    Timeout,
    Internal,
}

impl ProblemType {
    pub fn slug(self) -> &'static str {
        match self {
            ProblemType::InvalidIp => "invalid-ip",
            ProblemType::InvalidDomain => "invalid-domain",
            ProblemType::MissingIdentity => "missing-identity",
            ProblemType::MalformedJson => "malformed-json",
            ProblemType::InvalidRequest => "invalid-request",
            ProblemType::BodyTooLarge => "body-too-large",
            ProblemType::HeaderLimit => "header-limit",
            ProblemType::UnsupportedMediaType => "unsupported-media-type",
            ProblemType::NotFound => "not-found",
            ProblemType::MethodNotAllowed => "method-not-allowed",
            ProblemType::TooManyDomains => "too-many-domains",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::RateLimited => "rate-limited",
            ProblemType::Overloaded => "overloaded",
            ProblemType::NotReady => "not-ready",
            ProblemType::Timeout => "timeout",
            ProblemType::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemType::InvalidIp
            | ProblemType::InvalidDomain
            | ProblemType::MissingIdentity
            | ProblemType::MalformedJson
            | ProblemType::InvalidRequest => StatusCode::BAD_REQUEST,
            ProblemType::BodyTooLarge | ProblemType::HeaderLimit | ProblemType::TooManyDomains => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ProblemType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::NotFound => StatusCode::NOT_FOUND,
            ProblemType::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemType::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemType::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemType::Overloaded | ProblemType::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ProblemType::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ProblemType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            ProblemType::InvalidIp => "The IP address is not valid",
            ProblemType::InvalidDomain => "A domain or address is not valid",
            ProblemType::MissingIdentity => "No identity to check",
            ProblemType::MalformedJson => "The body is not valid JSON",
            ProblemType::InvalidRequest => "The request does not match the API",
            ProblemType::BodyTooLarge => "The request body is too large",
            ProblemType::HeaderLimit => "The message's header section is over a limit",
            ProblemType::UnsupportedMediaType => "Unsupported media type",
            ProblemType::NotFound => "No such resource",
            ProblemType::MethodNotAllowed => "Method not allowed on this resource",
            ProblemType::TooManyDomains => "Too many domains in one batch",
            ProblemType::Unauthorized => "A valid API key is required",
            ProblemType::RateLimited => "Too many requests from this client",
            ProblemType::Overloaded => "The server is at its concurrency limit",
            ProblemType::NotReady => "The service is not ready",
            ProblemType::Timeout => "The request took too long",
            ProblemType::Internal => "Internal error",
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The `x-request-id` of the request that met the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Box<str>>,
    #[serde(skip)]
    kind: Option<ProblemType>,
    /// Headers the answer needs (`Retry-After`, `WWW-Authenticate`);
    /// boxed, as most problems have none.
    #[serde(skip)]
    headers: Option<Box<HeaderMap>>,
}

tokio::task_local! {
    /// The id of the request being answered, set around each request by
    /// the router so that every problem made while answering it names it.
    pub(super) static REQUEST_ID: String;
}

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: format!("/problems/{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            field: None,
            request_id: REQUEST_ID.try_with(|id| id.as_str().into()).ok(),
            kind: Some(kind),
            headers: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// Adds a header to the answer.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Problem {
        self.headers
            .get_or_insert_with(Box::default)
            .insert(name, value);
        self
    }

    /// Adds `Retry-After` in whole seconds, at least one.
    pub fn retry_after(self, wait: std::time::Duration) -> Problem {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self
            .kind
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, ProblemType::status);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if let Some(extra) = self.headers {
            headers.extend(*extra);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
