//! How much work the API takes on: per-client rate, concurrency and time.
//!
//! This module decides when a `/v1` request is turned away and what the
//! client is told to do about it:
//!
//! - **Rate** — each client (its IP address; an IPv6 client by its /64,
//!   which is what one site is usually given) has a token bucket holding
//!   `rate_limit` tokens, refilled at `rate_limit` a minute. A request takes
//!   a token; without one it is answered 429 `/problems/rate-limited` with
//!   `Retry-After` saying when the next token comes. At most
//!   [`TRACKED_CLIENTS`] buckets are kept: full buckets (idle clients) go
//!   first, then the longest unused.
//! - **Concurrency** — at most `max_concurrent` requests are answered at
//!   once; one more is answered 503 `/problems/overloaded` with
//!   `Retry-After: 1` straight away rather than queued, so load beyond the
//!   cap costs nothing and a load balancer can try elsewhere.
//! - **Time** — a request still unanswered after `request_timeout` is
//!   dropped (its DNS queries and fetches with it) and answered 504
//!   `/problems/timeout`.
//!
//! Body size is limited where the body is read (see the routes), and slow
//! header senders are cut off by the connection (see `server`).

use super::config::ServiceConfig;
use super::problem::{Problem, ProblemType};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Most clients whose buckets are remembered at once.
pub const TRACKED_CLIENTS: usize = 10_000;

/// The limits of one server.
#[derive(Debug)]
pub struct Limits {
    request_timeout: Duration,
    max_concurrent: usize,
    in_flight: Arc<Semaphore>,
    rate: Option<RateLimiter>,
}

impl Limits {
    pub fn new(config: &ServiceConfig) -> Limits {
        Limits {
            request_timeout: config.request_timeout,
            max_concurrent: config.max_concurrent,
            in_flight: Arc::new(Semaphore::new(config.max_concurrent)),
            rate: (config.rate_limit > 0)
                .then(|| RateLimiter::new(config.rate_limit, TRACKED_CLIENTS)),
        }
    }
}

/// Token buckets by client.
#[derive(Debug)]
struct RateLimiter {
    /// Tokens a bucket holds, and adds per minute.
    per_minute: u32,
    capacity: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    fn new(per_minute: u32, capacity: usize) -> RateLimiter {
        RateLimiter {
            per_minute,
            capacity,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// The bucket refilled up to `now`.
    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + elapsed * self.per_second()).min(f64::from(self.per_minute)),
            updated: now,
        }
    }

    /// Takes a token for `client`, or says how long until there is one.
    fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&client) && buckets.len() >= self.capacity {
            self.make_room(&mut buckets, now);
        }
        let full = Bucket {
            tokens: f64::from(self.per_minute),
            updated: now,
        };
        let bucket = buckets.entry(client).or_insert(full);
        *bucket = self.refilled(*bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second(),
            ))
        }
    }

    /// Forgets clients whose buckets are full again (they are owed nothing),
    /// and if that frees nothing, the one unused longest.
    fn make_room(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let full = f64::from(self.per_minute);
        buckets.retain(|_, bucket| self.refilled(*bucket, now).tokens < full);
        if buckets.len() >= self.capacity
            && let Some(oldest) = buckets
                .iter()
                .min_by_key(|(_, bucket)| bucket.updated)
                .map(|(client, _)| *client)
        {
            buckets.remove(&oldest);
        }
    }
}

/// The rate-limit key of a peer: its IPv4 address, or its IPv6 /64.
fn client_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

/// 429 when the client has used its share. Requests without a peer
/// address (called in-process, not over a socket) are not limited.
pub(super) async fn rate(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let (Some(rate), Some(peer)) = (&limits.rate, peer)
        && let Err(wait) = rate.take(client_key(peer), Instant::now())
    {
        return Problem::new(
            ProblemType::RateLimited,
            format!(
                "this client may send {} requests a minute; retry after the time in Retry-After",
                rate.per_minute
            ),
        )
        .retry_after(wait)
        .into_response();
    }
    next.run(request).await
}

/// 503 when `max_concurrent` requests are already being answered.
pub(super) async fn concurrency(
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
    next.run(request).await
}

/// 504 when the answer is not ready within `request_timeout`.
pub(super) async fn deadline(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            ProblemType::Timeout,
            format!(
                "no answer within the server's request timeout of {} ms; \
                 the DNS servers or HTTPS hosts involved may be slow — retry later",
                limits.request_timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(60, 10);
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.take(client, start).is_ok());
        }
        let wait = limiter.take(client, start).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // One token a second comes back.
        assert!(limiter.take(client, start + Duration::from_secs(1)).is_ok());
        assert!(
            limiter
                .take(client, start + Duration::from_secs(1))
                .is_err()
        );
        // Another client has its own bucket.
        assert!(limiter.take("192.0.2.2".parse().unwrap(), start).is_ok());
    }

    #[test]
    fn the_map_of_clients_stays_bounded() {
        let limiter = RateLimiter::new(2, 3);
        let start = Instant::now();
        for i in 0..10u8 {
            let client = IpAddr::from([198, 51, 100, i]);
            let _ = limiter.take(client, start + Duration::from_millis(u64::from(i)));
        }
        assert!(limiter.buckets.lock().unwrap().len() <= 3);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
