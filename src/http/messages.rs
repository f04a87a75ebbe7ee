//! `POST /v1/messages` (the message report) and `POST /v1/dmarc/evaluate`
//! (DMARC for given SPF and DKIM outcomes, without a message).
//!
//! A message over a header limit is a 413 `/problems/header-limit` naming
//! the limit (why refused rather than verified in part:
//! [`crate::message::limits`]); the report itself runs off the async
//! runtime ([`report::report_pooled`]).

use super::problem::{Problem, ProblemType};
use super::{AppState, json_body};
use crate::message::envelope::Envelope;
use crate::message::report::{self, MessageRequest, ReportError};
use crate::message::{Clock, dmarc};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Json;
use std::net::IpAddr;
use std::sync::Arc;

/// The envelope and options of `POST /v1/messages`, from the query string.
struct MessageParams {
    envelope: Envelope,
    bulk: Option<bool>,
    trace: bool,
}

fn parse_params(raw: Option<&str>) -> Result<MessageParams, Problem> {
    let mut params = MessageParams {
        envelope: Envelope::default(),
        bulk: None,
        trace: false,
    };
    let bool_param = |field: &'static str, value: &str| match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Problem::new(
            ProblemType::InvalidRequest,
            format!("{field} must be true or false, not `{other}`"),
        )
        .field(field)),
    };
    let envelope_text = |field: &'static str, value: &str, max: usize| {
        if value.len() > max || value.chars().any(char::is_control) {
            Err(Problem::new(
                ProblemType::InvalidDomain,
                format!("{field} must be at most {max} characters without control characters"),
            )
            .field(field))
        } else {
            Ok(value.trim().to_string())
        }
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "ip" => {
                let ip: IpAddr = value.trim().parse().map_err(|_| {
                    Problem::new(
                        ProblemType::InvalidIp,
                        format!("`{value}` is not an IPv4 or IPv6 address"),
                    )
                    .field("ip")
                })?;
                params.envelope.ip = Some(ip);
            }
            "helo" => params.envelope.helo = Some(envelope_text("helo", &value, 255)?),
            "mail_from" => {
                params.envelope.mail_from = Some(envelope_text("mail_from", &value, 320)?)
            }
            "bulk" => params.bulk = Some(bool_param("bulk", &value)?),
            "trace" => params.trace = bool_param("trace", &value)?,
            other => {
                return Err(Problem::new(
                    ProblemType::InvalidRequest,
                    format!(
                        "unknown query parameter `{other}`; use ip, helo, mail_from, bulk and trace"
                    ),
                ));
            }
        }
    }
    Ok(params)
}

/// The media types a raw message may be sent as (none given is accepted).
fn accepted_media_type(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "message/rfc822" | "text/plain" | "application/octet-stream" => Ok(()),
        other => Err(Problem::new(
            ProblemType::UnsupportedMediaType,
            format!(
                "send the raw message as message/rfc822, text/plain or \
                 application/octet-stream, not `{other}`"
            ),
        )),
    }
}

pub(super) async fn verify(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<report::MessageReport>, Problem> {
    let params = parse_params(query.as_deref())?;
    accepted_media_type(&headers)?;
    let raw = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemType::BodyTooLarge,
                format!(
                    "the message is larger than the limit of {} bytes",
                    state.message_limit
                ),
            )
        } else {
            Problem::new(ProblemType::InvalidRequest, rejection.body_text())
        }
    })?;
    if raw.is_empty() {
        return Err(Problem::new(
            ProblemType::InvalidRequest,
            "the body is empty; send the raw message (headers, blank line, body)",
        ));
    }
    let request = MessageRequest {
        // Takes the body's buffer without a copy when it is the only owner.
        raw: Vec::from(raw),
        envelope: params.envelope,
        bulk: params.bulk,
        authserv_id: state.authserv_id.clone(),
        clock: Clock::system(),
        limits: state.service.message_limits,
    };
    let report = report::report_pooled(Arc::clone(&state.dns), request, params.trace)
        .await
        .map_err(|e| match e {
            ReportError::Limit(limit) => Problem::new(ProblemType::HeaderLimit, limit.to_string()),
            other => Problem::new(ProblemType::Internal, other.to_string()),
        })?;
    state.metrics.observe_report(&report.dns, &report.findings);
    Ok(Json(report))
}

pub(super) async fn evaluate_dmarc(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<dmarc::DmarcEvaluation>, Problem> {
    let input: dmarc::WhatIf = json_body(body, super::JSON_BODY_LIMIT)?;
    let resolver = state.dns.resolver();
    let lease = resolver
        .mail_auth()
        .await
        .map_err(|e| Problem::new(ProblemType::Internal, e.to_string()))?;
    let evaluation = dmarc::evaluate(&resolver, &lease.authenticator, &input).await;
    state.metrics.observe_report(&resolver.summary(false), &[]);
    evaluation.map(Json).map_err(|e| {
        Problem::new(
            ProblemType::InvalidDomain,
            format!("{}: {}", e.field, e.reason),
        )
        .field(e.field)
    })
}
