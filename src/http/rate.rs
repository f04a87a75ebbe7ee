//! How many `/v1` requests one client may send: the rate limit.
//!
//! This module decides who a client is and when it has sent too much.
//! A client is its IPv4 address, or for IPv6 its /64, which is what one
//! site is usually given. Each may send `rate_limit` requests a minute in
//! bursts of up to `rate_limit` (`0` turns the limit off): the generic
//! cell rate algorithm of `governor`, which is a token bucket holding
//! `rate_limit` tokens and refilled at `rate_limit` a minute. A request
//! over the rate is answered 429 `/problems/rate-limited` with
//! `Retry-After` saying when the next one would be let in.
//!
//! At most [`TRACKED_CLIENTS`] clients are remembered. Once that many are,
//! those owed nothing (whose bucket is full again) are forgotten, at most
//! once every [`PRUNE_INTERVAL`] so that a full table is not scanned for
//! every request; a client new while the table still holds that many
//! clients with spent tokens is held to a full bucket without being
//! remembered.

use super::problem::{Problem, ProblemType};
use crate::records::address::client_network;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::Quota;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most clients whose buckets are remembered at once.
pub const TRACKED_CLIENTS: usize = 10_000;

/// Least time between two scans of a full table for clients owed nothing.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(1);

/// The buckets of at most `capacity` clients.
#[derive(Debug)]
struct BoundedStore {
    clients: DashMapStateStore<IpAddr>,
    capacity: usize,
}

impl StateStore for BoundedStore {
    type Key = IpAddr;

    fn measure_and_replace<T, F, E>(&self, key: &IpAddr, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if self.clients.len() >= self.capacity && !self.clients.contains_key(key) {
            // No room: measured against a full bucket, not remembered.
            return f(None).map(|(outcome, _)| outcome);
        }
        self.clients.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<IpAddr> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.clients, drop_below);
    }

    fn len(&self) -> usize {
        self.clients.len()
    }

    fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

/// The rate limit of one server.
#[derive(Debug)]
pub(super) struct RateLimit<C: Clock = DefaultClock> {
    per_minute: u32,
    capacity: usize,
    buckets: governor::RateLimiter<IpAddr, BoundedStore, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    /// When a full table was last scanned.
    pruned: Mutex<Option<C::Instant>>,
}

impl RateLimit {
    /// `None` when `per_minute` is 0 (no limit).
    pub(super) fn new(per_minute: u32) -> Option<RateLimit> {
        RateLimit::with_clock(per_minute, TRACKED_CLIENTS, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimit<C> {
    fn with_clock(per_minute: u32, capacity: usize, clock: C) -> Option<RateLimit<C>> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?);
        let store = BoundedStore {
            clients: DashMapStateStore::default(),
            capacity,
        };
        Some(RateLimit {
            per_minute,
            capacity,
            buckets: governor::RateLimiter::new(quota, store, clock.clone()),
            clock,
            pruned: Mutex::new(None),
        })
    }

    /// Takes a token for `client`, or says how long until there is one.
    fn take(&self, client: IpAddr) -> Result<(), Duration> {
        if self.buckets.len() >= self.capacity {
            self.prune();
        }
        self.buckets
            .check_key(&client_network(client))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets the clients owed nothing, unless that was done less than
    /// [`PRUNE_INTERVAL`] ago or another request is doing it now.
    fn prune(&self) {
        let Ok(mut pruned) = self.pruned.try_lock() else {
            return;
        };
        let now = self.clock.now();
        if pruned.is_some_and(|at| now.duration_since(at) < Nanos::from(PRUNE_INTERVAL)) {
            return;
        }
        *pruned = Some(now);
        self.buckets.retain_recent();
    }
}

/// 429 when the client has used its share. Requests without a peer
/// address (called in-process, not over a socket) are not limited.
pub(super) async fn rate(
    State(limit): State<Arc<Option<RateLimit>>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let (Some(limit), Some(peer)) = (&*limit, peer)
        && let Err(wait) = limit.take(peer)
    {
        return Problem::new(
            ProblemType::RateLimited,
            format!(
                "this client may send {} requests a minute; retry after the time in Retry-After",
                limit.per_minute
            ),
        )
        .retry_after(wait)
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn a_bucket_allows_a_burst_then_refills_at_the_rate() {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(60, 10, clock.clone()).unwrap();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..60 {
            assert!(limit.take(client).is_ok());
        }
        let wait = limit.take(client).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // One token a second comes back.
        clock.advance(Duration::from_secs(1));
        assert!(limit.take(client).is_ok());
        assert!(limit.take(client).is_err());
        // Another client has its own bucket.
        assert!(limit.take("192.0.2.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_table_of_clients_stays_bounded() {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(2, 3, clock.clone()).unwrap();
        for i in 0..10u8 {
            clock.advance(Duration::from_millis(1));
            // A client not remembered still gets its burst.
            assert!(limit.take(IpAddr::from([198, 51, 100, i])).is_ok());
        }
        assert_eq!(limit.buckets.len(), 3);
        // Once their buckets are full again, the clients are forgotten
        // and new ones remembered.
        clock.advance(Duration::from_secs(60));
        assert!(limit.take(IpAddr::from([203, 0, 113, 1])).is_ok());
        assert_eq!(limit.buckets.len(), 1);
    }
}
