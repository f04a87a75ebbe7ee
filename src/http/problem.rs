//! Errors over HTTP as `application/problem+json` (RFC 9457).
//!
//! This module decides the stable `type` of each error a client can cause
//! or meet. Types are relative URIs under `/problems/`; clients match on
//! them, so a type never changes meaning. Every problem names what to change.

use axum::http::{HeaderValue, StatusCode, header};
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
    UnsupportedMediaType,
    NotFound,
    MethodNotAllowed,
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
            ProblemType::UnsupportedMediaType => "unsupported-media-type",
            ProblemType::NotFound => "not-found",
            ProblemType::MethodNotAllowed => "method-not-allowed",
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
            ProblemType::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::NotFound => StatusCode::NOT_FOUND,
            ProblemType::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
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
            ProblemType::UnsupportedMediaType => "Unsupported media type",
            ProblemType::NotFound => "No such resource",
            ProblemType::MethodNotAllowed => "Method not allowed on this resource",
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
    #[serde(skip)]
    kind: Option<ProblemType>,
}

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: format!("/problems/{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            field: None,
            kind: Some(kind),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self
            .kind
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, ProblemType::status);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
