//! How much work the API takes on: request bodies, concurrency, time and
//! answer size.
//!
//! This module decides when a `/v1` request is turned away and what the
//! client is told to do about it. After the client's rate (`rate`) and
//! its API key, the guards run in this order, each before any work the
//! next one would let in:
//!
//! - **Body** ([`read_body`]) — a route that takes a body has a size limit.
//!   A declared `Content-Length` over it is answered 413
//!   `/problems/body-too-large` before a byte of the body is read; a body
//!   sent in chunks is counted as it arrives and refused the same way at
//!   the first byte over. The whole body must arrive within
//!   `body_read_timeout` (408 `/problems/body-timeout`). Every body byte
//!   held, from its arrival until the request is answered, counts against
//!   one budget of `body_memory` bytes for the whole server; a declared
//!   length over what is left, or a chunk that would go over it, is
//!   answered 503 `/problems/overloaded` with `Retry-After: 1` at once
//!   rather than waiting for room (the declared length is only compared,
//!   never set aside, so announcing a body holds nothing): a waiting
//!   upload would hold its connection and the bytes already read, and the
//!   client (or its load balancer) can better try again or elsewhere.
//!   Those three answers close the connection. After a 413 or 503 the
//!   rest of the body is read and dropped — for up to `body_read_timeout`
//!   and up to the route's limit in bytes, and not at all when the client
//!   waits for `100 Continue` — so a client still sending reads the answer
//!   rather than a reset connection; after a 408 the client is not waited
//!   for.
//! - **Concurrency** — at most `max_concurrent` requests are answered at
//!   once; one more is answered 503 `/problems/overloaded` with
//!   `Retry-After: 1` straight away rather than queued, so load beyond the
//!   cap costs nothing and a load balancer can try elsewhere. The slot is
//!   taken once the body has arrived, so slow uploads cannot hold slots.
//! - **Time** — a request still unanswered `request_timeout` after its body
//!   arrived is dropped (its DNS queries and fetches with it) and answered
//!   504 `/problems/timeout`.
//! - **Answer size** — a report whose JSON is over `max_response_size`
//!   bytes is answered 422 `/problems/response-too-large` naming the limit
//!   instead of being sent: the same request would get the same report, so
//!   this is not an error to retry, and the client can ask for less (no
//!   trace, fewer domains). The caps on the work of each report keep this
//!   rare; this is the backstop.
//!
//! [`Guarded::guarded`] puts the guards from the body on around one route;
//! slow header senders are cut off by the connection (see `server`).

use super::config::ServiceConfig;
use super::extract::RouteBodyLimit;
use super::metrics::Metrics;
use super::problem::{Problem, ProblemType};
use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits of one server.
#[derive(Debug)]
pub struct Limits {
    request_timeout: Duration,
    max_concurrent: usize,
    in_flight: Arc<Semaphore>,
    body_read_timeout: Duration,
    body_memory: usize,
    /// One permit per byte of request body held.
    body_bytes: Arc<Semaphore>,
    max_response_size: usize,
    /// Where the bytes held are shown.
    metrics: Arc<Metrics>,
}

impl Limits {
    pub fn new(config: &ServiceConfig, metrics: Arc<Metrics>) -> Limits {
        // The semaphore's own ceiling is far above any memory a server has.
        let body_memory = config.body_memory.min(Semaphore::MAX_PERMITS);
        Limits {
            request_timeout: config.request_timeout,
            max_concurrent: config.max_concurrent,
            in_flight: Arc::new(Semaphore::new(config.max_concurrent)),
            body_read_timeout: config.body_read_timeout,
            body_memory,
            body_bytes: Arc::new(Semaphore::new(body_memory)),
            max_response_size: config.max_response_size,
            metrics,
        }
    }
}

/// Puts the guards of a `/v1` route on it (see the module documentation).
pub(super) trait Guarded {
    /// `body_limit`: the largest body the route takes, `None` when it
    /// takes none (its body, if any, is never read).
    fn guarded(self, limits: &Arc<Limits>, body_limit: Option<usize>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> Guarded for MethodRouter<S> {
    fn guarded(self, limits: &Arc<Limits>, body_limit: Option<usize>) -> Self {
        // The last layer added is the first one a request meets. The
        // concurrency, time and answer size guards are one layer: each
        // layer costs every request a clone of the route behind it.
        let route = self.layer(from_fn_with_state(Arc::clone(limits), work));
        match body_limit {
            None => route,
            Some(limit) => route
                // What the handler's extractor allows of the body read here.
                .layer(DefaultBodyLimit::max(limit))
                .layer(from_fn_with_state(
                    BodyLimit {
                        limits: Arc::clone(limits),
                        limit,
                    },
                    read_body,
                )),
        }
    }
}

/// The body limit of one route, with the server's limits.
#[derive(Debug, Clone)]
pub(super) struct BodyLimit {
    limits: Arc<Limits>,
    limit: usize,
}

/// A refused body also ends its connection: the rest of it is never read.
fn closing(problem: Problem) -> Response {
    problem
        .header(header::CONNECTION, HeaderValue::from_static("close"))
        .into_response()
}

fn too_large(limit: usize) -> Problem {
    Problem::new(
        ProblemType::BodyTooLarge,
        format!("the body is larger than this endpoint's limit of {limit} bytes"),
    )
}

/// Reads the body whole before the request goes on: 413 over the route's
/// limit, 408 past `body_read_timeout`, 503 when the server's body budget
/// is spent. The budget taken is given back once the request is answered.
pub(super) async fn read_body(
    State(body_limit): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let BodyLimit { limits, limit } = body_limit;
    let (mut parts, body) = request.into_parts();
    // Hyper's hint is the declared Content-Length, when there is one.
    let declared = body.size_hint().lower();
    let mut stream = body.into_data_stream();
    let (refusal, sending) = if declared > limit as u64 {
        (too_large(limit), !waits_for_continue(&parts.headers))
    } else if declared > limits.body_bytes.available_permits() as u64 {
        // Compared, not set aside: a client that announces a body and
        // sends nothing must not hold the budget.
        (limits.budget_spent(), !waits_for_continue(&parts.headers))
    } else {
        let read = limits.collect(&mut stream, declared as usize, limit);
        match tokio::time::timeout(limits.body_read_timeout, read).await {
            Ok(Ok((bytes, held))) => {
                parts.extensions.insert(RouteBodyLimit(limit));
                let response = next
                    .run(Request::from_parts(parts, Body::from(bytes)))
                    .await;
                drop(held);
                return response;
            }
            Ok(Err(refusal)) => (refusal, true),
            // A client this slow is not waited for any longer.
            Err(_) => return closing(limits.body_timed_out()),
        }
    };
    if sending {
        tokio::spawn(linger(stream, limits.body_read_timeout, limit));
    }
    closing(refusal)
}

/// A client that sent `Expect: 100-continue` sends no body before it is
/// told to (RFC 9110 §10.1.1), so a refusal needs no lingering.
fn waits_for_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and drops what is left of a refused body, for at most `time`
/// and `bytes`: a client still sending it then reads the refusal instead
/// of a reset connection (RFC 9112 §9.6). Nothing is kept, so this costs
/// no memory.
async fn linger(mut stream: BodyDataStream, time: Duration, bytes: usize) {
    let drain = async {
        let mut left = bytes;
        while let Some(Ok(chunk)) = stream.next().await {
            left = left.saturating_sub(chunk.len());
            if left == 0 {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(time, drain).await;
}

/// Body bytes counted against the budget, and shown in the metrics, until
/// dropped.
struct HeldBody {
    permit: Option<OwnedSemaphorePermit>,
    metrics: Arc<Metrics>,
}

impl HeldBody {
    fn add(&mut self, permit: OwnedSemaphorePermit) {
        self.metrics.body_bytes.inc_by(bytes_held(&permit));
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
    }
}

/// The bytes a permit stands for; permits never exceed the semaphore's
/// ceiling, far below `i64::MAX`.
fn bytes_held(permit: &OwnedSemaphorePermit) -> i64 {
    i64::try_from(permit.num_permits()).unwrap_or(i64::MAX)
}

impl Drop for HeldBody {
    fn drop(&mut self) {
        if let Some(permit) = &self.permit {
            self.metrics.body_bytes.dec_by(bytes_held(permit));
        }
    }
}

impl Limits {
    /// The body's bytes, each one counted against the budget as it
    /// arrives, and what holds them there. They are copied into one buffer
    /// as they come, so hyper's read buffer is reused and the body is held
    /// once; with a declared length the buffer is sized when the first
    /// bytes arrive (an announcement alone allocates nothing).
    async fn collect(
        &self,
        stream: &mut BodyDataStream,
        declared: usize,
        limit: usize,
    ) -> Result<(Bytes, HeldBody), Problem> {
        let mut whole: Vec<u8> = Vec::new();
        let mut held = HeldBody {
            permit: None,
            metrics: Arc::clone(&self.metrics),
        };
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                Problem::new(
                    ProblemType::InvalidRequest,
                    format!("the body could not be read: {e}"),
                )
            })?;
            if whole.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            let permit = u32::try_from(chunk.len())
                .ok()
                .and_then(|n| Arc::clone(&self.body_bytes).try_acquire_many_owned(n).ok())
                .ok_or_else(|| self.budget_spent())?;
            held.add(permit);
            if whole.capacity() == 0 {
                whole.reserve_exact(declared.max(chunk.len()));
            }
            whole.extend_from_slice(&chunk);
        }
        Ok((Bytes::from(whole), held))
    }

    fn body_timed_out(&self) -> Problem {
        Problem::new(
            ProblemType::BodyTimeout,
            format!(
                "the body did not arrive within the server's body read timeout of {} ms; \
                 send it faster or in a smaller request",
                self.body_read_timeout.as_millis()
            ),
        )
    }

    fn budget_spent(&self) -> Problem {
        Problem::new(
            ProblemType::Overloaded,
            format!(
                "the server is holding its limit of {} bytes of request bodies; retry shortly",
                self.body_memory
            ),
        )
        .retry_after(Duration::from_secs(1))
    }
}

/// The guards of the work itself, in this order: 503 when
/// `max_concurrent` requests are already being answered, 504 when the
/// answer is not ready within `request_timeout`, and 422 when a report's
/// body is over `max_response_size` bytes. Every `/v1` answer is a whole
/// JSON document, so its size is known here; problems are small and pass
/// whatever the limit.
pub(super) async fn work(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = Arc::clone(&limits.in_flight).try_acquire_owned() else {
        return Problem::new(
            ProblemType::Overloaded,
            format!(
                "the server is answering its limit of {} requests at once; retry shortly",
                limits.max_concurrent
            ),
        )
        .retry_after(Duration::from_secs(1))
        .into_response();
    };
    let Ok(response) = tokio::time::timeout(limits.request_timeout, next.run(request)).await else {
        return Problem::new(
            ProblemType::Timeout,
            format!(
                "no answer within the server's request timeout of {} ms; \
                 the DNS servers or HTTPS hosts involved may be slow — retry later",
                limits.request_timeout.as_millis()
            ),
        )
        .into_response();
    };
    let size = response.body().size_hint().lower();
    if !response.status().is_success() || size <= limits.max_response_size as u64 {
        return response;
    }
    Problem::new(
        ProblemType::ResponseTooLarge,
        format!(
            "the report is {size} bytes of JSON, over this server's limit of {} bytes; \
             ask for less (without trace, fewer domains or selectors)",
            limits.max_response_size
        ),
    )
    .into_response()
}
