//! `POST /v1/messages`: the report on one raw message (SPF, DKIM, DMARC,
//! ARC, iprev and its headers), its envelope given in the query string.
//!
//! The raw message is sent as the body, as `message/rfc822`, `text/plain`
//! or `application/octet-stream` (or with no content type); any other
//! type is 415 `/problems/unsupported-media-type`, an empty body 400
//! `/problems/invalid-request`. An envelope address that is not one is
//! 400 `/problems/invalid-ip` or `/problems/invalid-domain`.
//!
//! A message over a header limit is a 413 `/problems/header-limit` naming
//! the limit (why refused rather than verified in part:
//! [`crate::message::limits`]); the report itself runs off the async
//! runtime ([`report::report_pooled`]).

use super::Shared;
use super::extract::{
    ApiQuery, MediaType, QueryParams, flag, pairs_once, unknown_parameter, unread_body,
};
use super::problem::{Problem, ProblemType};
use crate::message::Clock;
use crate::message::envelope::Envelope;
use crate::message::report::{self, MessageRequest, ReportError};
use crate::spf;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use std::net::IpAddr;
use std::sync::Arc;

/// The envelope and options of `POST /v1/messages`, from the query string.
pub(super) struct MessageParams {
    envelope: Envelope,
    bulk: Option<bool>,
    trace: bool,
    /// Keep the report under an id ([`super::saved`]).
    save: bool,
    /// Keep the raw message beside it (only with `save`).
    keep_raw: bool,
}

/// The connecting client's IP a client gave (`spf::given::client_ip`).
pub(super) fn ip_param(value: &str) -> Result<IpAddr, Problem> {
    spf::given::client_ip(value)
        .map_err(|detail| Problem::new(ProblemType::InvalidIp, detail).field("ip"))
}

/// The HELO name a client gave: at most 255 characters, a domain name or
/// an address literal (`spf::given::helo`).
pub(super) fn helo_param(value: &str) -> Result<String, Problem> {
    identity_param("helo", value, 255, spf::given::helo)
}

/// The MAIL FROM a client gave: at most 320 characters, one address, a
/// domain or the null sender (`spf::given::mail_from`).
pub(super) fn mail_from_param(value: &str) -> Result<String, Problem> {
    identity_param("mail_from", value, 320, spf::given::mail_from)
}

fn identity_param(
    field: &'static str,
    value: &str,
    max: usize,
    given: fn(&str) -> Result<String, String>,
) -> Result<String, Problem> {
    let refused = |detail: String| Problem::new(ProblemType::InvalidDomain, detail).field(field);
    if value.len() > max || value.chars().any(char::is_control) {
        return Err(refused(format!(
            "{field} must be at most {max} characters without control characters"
        )));
    }
    given(value).map_err(refused)
}

impl QueryParams for MessageParams {
    fn from_uri(uri: &Uri) -> Result<Self, Problem> {
        let mut params = MessageParams {
            envelope: Envelope::default(),
            bulk: None,
            trace: false,
            save: false,
            keep_raw: false,
        };
        for (key, value) in pairs_once(uri, &[])? {
            match key.as_ref() {
                "ip" => params.envelope.ip = Some(ip_param(&value)?),
                "helo" => params.envelope.helo = Some(helo_param(&value)?),
                "mail_from" => params.envelope.mail_from = Some(mail_from_param(&value)?),
                "bulk" => params.bulk = Some(flag("bulk", &value)?),
                "trace" => params.trace = flag("trace", &value)?,
                "save" => params.save = flag("save", &value)?,
                "keep_raw" => params.keep_raw = flag("keep_raw", &value)?,
                other => {
                    return Err(unknown_parameter(
                        other,
                        "use ip, helo, mail_from, bulk, trace, save and keep_raw",
                    ));
                }
            }
        }
        if params.keep_raw && !params.save {
            return Err(Problem::new(
                ProblemType::InvalidRequest,
                "keep_raw=true keeps the message beside a saved report; add save=true",
            )
            .field("keep_raw"));
        }
        Ok(params)
    }
}

/// The media types a raw message may be sent as (none given is accepted),
/// without a content coding: a compressed body would be verified as if
/// its bytes were the message (RFC 9110 §8.4: 415 for a coding not read).
fn accepted_media_type(headers: &HeaderMap) -> Result<(), Problem> {
    let coded = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .find(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"));
    if let Some(coding) = coded {
        // RFC 9110 §15.5.16: the codings that are read.
        return Err(Problem::new(
            ProblemType::UnsupportedMediaType,
            format!(
                "the body is sent with Content-Encoding {}, which is not read here; send the \
                 raw message as it is",
                crate::untrusted::echoed(coding)
            ),
        )
        .header(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        ));
    }
    let media_type = MediaType::of(headers);
    if media_type == MediaType::Absent
        || matches!(
            media_type.essence(),
            Some("message/rfc822" | "text/plain" | "application/octet-stream")
        )
    {
        return Ok(());
    }
    Err(Problem::new(
        ProblemType::UnsupportedMediaType,
        format!(
            "send the raw message as message/rfc822, text/plain or \
             application/octet-stream, not {}",
            media_type.named()
        ),
    ))
}

pub(super) async fn verify(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<MessageParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    accepted_media_type(&headers)?;
    let raw = body.map_err(|rejection| {
        unread_body(rejection, || {
            format!(
                "the message is larger than the limit of {} bytes",
                state.message_limit
            )
        })
    })?;
    if raw.is_empty() {
        return Err(Problem::new(
            ProblemType::InvalidRequest,
            "the body is empty; send the raw message (headers, blank line, body)",
        ));
    }
    // Kept for the store only when asked; otherwise the report takes the
    // body's buffer without a copy (it is the only owner).
    let kept = params.keep_raw.then(|| raw.clone());
    let request = MessageRequest {
        raw: Vec::from(raw),
        envelope: params.envelope,
        bulk: params.bulk,
        authserv_id: state.authserv_id.clone(),
        clock: Clock::system(),
        limits: state.service.message_limits,
        blocklists: state.service.blocklists.clone(),
    };
    let report = report::report_pooled(Arc::clone(&state.dns), request, params.trace)
        .await
        .map_err(|e| match e {
            ReportError::Limit(limit) => Problem::new(ProblemType::HeaderLimit, limit.to_string()),
            other => Problem::new(ProblemType::Internal, other.to_string()),
        })?;
    state.metrics.observe_report(&report.dns, &report.findings);
    if !params.save {
        return Ok(Json(report).into_response());
    }
    let value = serde_json::to_value(&report)
        .map_err(|e| Problem::new(ProblemType::Internal, e.to_string()))?;
    super::saved::save(&state, value, kept.as_deref()).await
}
