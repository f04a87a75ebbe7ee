//! Errors over HTTP as `application/problem+json` (RFC 9457).
//!
//! This module decides the stable `type` of each error a client can cause
//! or meet. Types are relative URIs under `/problems/`; clients match on
//! them, so a type never changes meaning. Every problem names what to change,
//! and carries the request's `x-request-id` as `request_id` so a report of
//! it can be found in the logs.
//!
//! Handlers and guards answer with a [`Problem`]; what the router and
//! axum's extractors refuse on their own (a path parameter that is not
//! UTF-8, say) is turned into one by [`every_error_a_problem`]. Only what
//! hyper refuses before a request exists — a request line or header it
//! cannot parse (400), a URI too long (414), a header section over the
//! limit (431) — is answered by hyper with a bare status line and no body:
//! hyper 1 writes those itself and offers no hook to shape them.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Most characters of a rejection's own text kept as a problem's detail.
const DETAIL_CHARS: usize = 300;

/// The kinds of problem, each with its stable type URI and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    InvalidIp,
    InvalidDomain,
    MissingIdentity,
    MalformedJson,
    InvalidRequest,
    BodyTooLarge,
    BodyTimeout,
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
    ResponseTooLarge,
    StoreUnavailable,
    InboxDisabled,
    ProbeDisabled,
    InvalidReport,
    ReportTooLarge,
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
            ProblemType::BodyTimeout => "body-timeout",
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
            ProblemType::ResponseTooLarge => "response-too-large",
            ProblemType::StoreUnavailable => "store-unavailable",
            ProblemType::InboxDisabled => "inbox-disabled",
            ProblemType::ProbeDisabled => "probe-disabled",
            ProblemType::InvalidReport => "invalid-report",
            ProblemType::ReportTooLarge => "report-too-large",
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
            ProblemType::BodyTooLarge
            | ProblemType::HeaderLimit
            | ProblemType::TooManyDomains
            | ProblemType::ReportTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ProblemType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::ResponseTooLarge | ProblemType::InvalidReport => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ProblemType::NotFound | ProblemType::InboxDisabled => StatusCode::NOT_FOUND,
            ProblemType::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemType::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemType::ProbeDisabled => StatusCode::FORBIDDEN,
            ProblemType::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemType::Overloaded | ProblemType::NotReady | ProblemType::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ProblemType::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ProblemType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem for an error status the router or an extractor chose:
    /// each status the API documents keeps its type, any other client
    /// error is an invalid request and any server error an internal one.
    fn for_status(status: StatusCode) -> ProblemType {
        match status {
            StatusCode::NOT_FOUND => ProblemType::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemType::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemType::BodyTooLarge,
            StatusCode::REQUEST_TIMEOUT => ProblemType::BodyTimeout,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemType::UnsupportedMediaType,
            s if s.is_client_error() => ProblemType::InvalidRequest,
            _ => ProblemType::Internal,
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
            ProblemType::BodyTimeout => "The request body was not sent in time",
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
            ProblemType::ResponseTooLarge => "The answer is larger than the server sends",
            ProblemType::StoreUnavailable => "The report store could not be reached",
            ProblemType::InboxDisabled => "This server has no test inbox",
            ProblemType::ProbeDisabled => "This server does not probe mail servers",
            ProblemType::InvalidReport => {
                "The body is not a readable DMARC aggregate or TLS report"
            }
            ProblemType::ReportTooLarge => {
                "The report is larger than the server accepts once decompressed"
            }
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

/// A problem, or a web page's error page: an answer that already says
/// what went wrong in its own format.
fn is_explained(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes() == b"application/problem+json" || v.as_bytes().starts_with(b"text/html")
        })
}

/// Turns every error answer that is not yet a problem (nor a web page's
/// error page) — what the router or an extractor answered on its own, as
/// plain text — into one, keeping
/// the rejection's text (cut short) as the detail and its headers.
pub(super) async fn every_error_a_problem(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_explained(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4 * DETAIL_CHARS)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_owned()
    } else {
        text.chars().take(DETAIL_CHARS).collect()
    };
    let mut problem = Problem::new(ProblemType::for_status(status), detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().append(name, value.clone());
        }
    }
    problem
}

/// The answer to a path no route has.
pub(super) async fn not_found() -> Problem {
    Problem::new(
        ProblemType::NotFound,
        "no such endpoint; GET /openapi.yaml describes the API",
    )
}

/// The answer to a method a route does not take.
pub(super) async fn method_not_allowed() -> Problem {
    Problem::new(
        ProblemType::MethodNotAllowed,
        "this endpoint does not accept that method",
    )
}
