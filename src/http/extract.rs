//! What a handler reads from a request: a JSON body ([`ApiJson`]),
//! query parameters ([`ApiQuery`]) and the media type a body is sent as
//! ([`MediaType`]).
//!
//! This module decides how a request that cannot be read is answered: the
//! extractors' rejection is the problem itself, so a handler never sees a
//! rejection. A JSON body is read whatever its declared content type (so
//! `curl -d` works): a body over the route's limit is 413
//! `/problems/body-too-large`, text that is not JSON 400
//! `/problems/malformed-json`, JSON of the wrong shape (a missing or
//! unknown field, a wrong type, an array or other value where the body
//! must be an object) 400 `/problems/invalid-request`, its detail in
//! JSON's words, naming no Rust type. A query
//! parameter that is unknown (on an endpoint that takes none too,
//! [`NoParams`]), given twice or malformed is 400, of the type and naming
//! the field each endpoint's [`QueryParams`] says. A `Content-Type` that
//! is not visible ASCII names no media type an endpoint takes: each one
//! that checks the type answers it 415 `/problems/unsupported-media-type`.

use super::problem::{Problem, ProblemType};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use serde::de::{DeserializeOwned, IgnoredAny, Visitor};
use std::borrow::Cow;

/// The largest body a route takes, set on the request by the body guard
/// so that a rejection can name it.
#[derive(Debug, Clone, Copy)]
pub(super) struct RouteBodyLimit(pub(super) usize);

/// Turns a body that could not be read into a problem; `too_large` says
/// what was over which limit.
pub(super) fn unread_body(
    rejection: BytesRejection,
    too_large: impl FnOnce() -> String,
) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(ProblemType::BodyTooLarge, too_large())
    } else {
        Problem::new(ProblemType::InvalidRequest, rejection.body_text())
    }
}

/// The media type a request's body is sent as, from its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MediaType {
    /// No `Content-Type` header.
    Absent,
    /// A `Content-Type` that is not visible ASCII (RFC 9110 §5.5 obs-text
    /// or worse): no media type can be read from it.
    Unreadable,
    /// The essence of the media type (RFC 9110 §8.3.1): `type/subtype` in
    /// lower case (they are case-insensitive), without its parameters and
    /// the optional whitespace around it.
    Essence(String),
}

impl MediaType {
    /// The media type of a request with `headers`.
    pub(super) fn of(headers: &HeaderMap) -> MediaType {
        let Some(value) = headers.get(header::CONTENT_TYPE) else {
            return MediaType::Absent;
        };
        match value.to_str() {
            Ok(text) => {
                let essence = text.split(';').next().unwrap_or("");
                MediaType::Essence(essence.trim_matches([' ', '\t']).to_ascii_lowercase())
            }
            Err(_) => MediaType::Unreadable,
        }
    }

    /// The essence, when the header gives one.
    pub(super) fn essence(&self) -> Option<&str> {
        match self {
            MediaType::Essence(essence) => Some(essence),
            MediaType::Absent | MediaType::Unreadable => None,
        }
    }

    /// The media type as an answer that refuses it names it, the client's
    /// text [echoed](crate::untrusted::echoed).
    pub(super) fn named(&self) -> String {
        match self {
            MediaType::Absent => "no content type".to_owned(),
            MediaType::Unreadable => "a content type that is not visible ASCII".to_owned(),
            MediaType::Essence(essence) => crate::untrusted::echoed(essence),
        }
    }
}

/// A JSON body of type `T`.
#[derive(Debug)]
pub(super) struct ApiJson<T>(pub(super) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let limit = request.extensions().get::<RouteBodyLimit>().copied();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                unread_body(rejection, || match limit {
                    Some(RouteBodyLimit(limit)) => {
                        format!("the JSON body is larger than {limit} bytes")
                    }
                    None => "the JSON body is larger than this endpoint takes".to_owned(),
                })
            })?;
        if let Some(fields) = struct_fields::<T>()
            && !bytes.trim_ascii_start().starts_with(b"{")
        {
            serde_json::from_slice::<IgnoredAny>(&bytes).map_err(unreadable_json)?;
            return Err(Problem::new(
                ProblemType::InvalidRequest,
                format!(
                    "the body must be a JSON object with the fields {}",
                    fields
                        .iter()
                        .map(|field| format!("`{field}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(unreadable_json)
    }
}

/// A JSON body that could not be read as what the endpoint takes: text
/// that is not JSON, or JSON of the wrong shape, said in JSON's words.
fn unreadable_json(e: serde_json::Error) -> Problem {
    let kind = if e.is_data() {
        ProblemType::InvalidRequest
    } else {
        ProblemType::MalformedJson
    };
    let message = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    let (said, at) = match message.strip_suffix(&at) {
        Some(said) => (said, at.as_str()),
        None => (message.as_str(), ""),
    };
    let said = crate::untrusted::plain_serde(said, crate::untrusted::Format::Json);
    Problem::new(kind, format!("request body: {said}{at}"))
}

/// The fields of `T` when it is read as a struct, from what its
/// `Deserialize` asks of a deserializer. Serde reads a struct from a
/// sequence of its fields' values too; a body that is one (`["203.0.113.20",
/// null, "a@b.test"]`) names none of them, so it is refused.
fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    /// A deserializer that holds no value: it notes the fields a struct
    /// asks for and fails.
    struct FieldsOf<'a>(&'a mut Option<&'static [&'static str]>);

    impl<'de> serde::Deserializer<'de> for FieldsOf<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = Some(fields);
            Err(serde::de::Error::custom("fields noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields = None;
    let _ = T::deserialize(FieldsOf(&mut fields));
    fields
}

/// The query parameters an endpoint takes, read from the request's URI.
pub(super) trait QueryParams: Sized {
    fn from_uri(uri: &Uri) -> Result<Self, Problem>;
}

/// The query parameters `T` of a request.
#[derive(Debug)]
pub(super) struct ApiQuery<T>(pub(super) T);

impl<T: QueryParams, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        T::from_uri(&parts.uri).map(ApiQuery)
    }
}

/// One `key=value` pair of a query, decoded.
pub(super) type QueryPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The `key=value` pairs of a query, in order, repeated keys included.
pub(super) fn pairs(uri: &Uri) -> impl Iterator<Item = QueryPair<'_>> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
}

/// The pairs of [`pairs`], refusing a key given twice unless it is one
/// of `repeatable`: which of two values was meant cannot be known, and
/// taking the last (or first) would answer a question not asked.
pub(super) fn pairs_once<'a>(
    uri: &'a Uri,
    repeatable: &[&str],
) -> Result<Vec<QueryPair<'a>>, Problem> {
    refuse_repeats(uri, |key| !repeatable.contains(&key))
}

/// [`pairs_once`] for a page, which passes over the keys it does not
/// read (a link's tracking parameters): only a repeat of one of
/// `read_once` is refused.
pub(super) fn page_pairs<'a>(
    uri: &'a Uri,
    read_once: &[&str],
) -> Result<Vec<QueryPair<'a>>, Problem> {
    refuse_repeats(uri, |key| read_once.contains(&key))
}

/// The pairs of [`pairs`], refusing a second value of a key `once` names.
fn refuse_repeats<'a>(
    uri: &'a Uri,
    once: impl Fn(&str) -> bool,
) -> Result<Vec<QueryPair<'a>>, Problem> {
    let pairs: Vec<_> = pairs(uri).collect();
    let mut seen = std::collections::HashSet::new();
    for (key, _) in &pairs {
        if once(key.as_ref()) && !seen.insert(key.as_ref()) {
            return Err(Problem::new(
                ProblemType::InvalidRequest,
                format!(
                    "{} is given more than once; give it once",
                    crate::untrusted::echoed(key)
                ),
            )
            .field(key.as_ref()));
        }
    }
    Ok(pairs)
}

/// A boolean query parameter: `true`, `1`, `false` or `0`.
pub(super) fn flag(field: &'static str, value: &str) -> Result<bool, Problem> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Problem::new(
            ProblemType::InvalidRequest,
            format!(
                "{field} must be true or false, not {}",
                crate::untrusted::echoed(other)
            ),
        )
        .field(field)),
    }
}

/// A query parameter an endpoint does not take; `known` names those it
/// does.
pub(super) fn unknown_parameter(key: &str, known: &str) -> Problem {
    Problem::new(
        ProblemType::InvalidRequest,
        format!(
            "unknown query parameter {}; {known}",
            crate::untrusted::echoed(key)
        ),
    )
}

/// The query of an endpoint whose one parameter is the flag `name`
/// ([`flag`]), false when not given.
fn only_flag(uri: &Uri, name: &'static str) -> Result<bool, Problem> {
    let mut value = false;
    for (key, given) in pairs_once(uri, &[])? {
        if key != name {
            return Err(unknown_parameter(&key, &format!("use {name}")));
        }
        value = flag(name, &given)?;
    }
    Ok(value)
}

/// `?trace=true` on a report endpoint that takes no other parameter.
#[derive(Debug, Default)]
pub(super) struct ReportParams {
    pub(super) trace: bool,
}

impl QueryParams for ReportParams {
    fn from_uri(uri: &Uri) -> Result<Self, Problem> {
        Ok(ReportParams {
            trace: only_flag(uri, "trace")?,
        })
    }
}

/// `?keep_raw=true` of `POST /v1/inboxes`.
#[derive(Debug, Default)]
pub(super) struct KeepRawParams {
    pub(super) keep_raw: bool,
}

impl QueryParams for KeepRawParams {
    fn from_uri(uri: &Uri) -> Result<Self, Problem> {
        Ok(KeepRawParams {
            keep_raw: only_flag(uri, "keep_raw")?,
        })
    }
}

/// The query of an endpoint that takes no parameter: any given is
/// refused, as a misspelt option would otherwise be ignored unseen.
#[derive(Debug)]
pub(super) struct NoParams;

impl QueryParams for NoParams {
    fn from_uri(uri: &Uri) -> Result<Self, Problem> {
        match pairs(uri).next() {
            Some((key, _)) => Err(unknown_parameter(&key, "this endpoint takes none")),
            None => Ok(NoParams),
        }
    }
}
