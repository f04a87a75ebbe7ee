//! Finished domain audits, reused by `GET /v1/domains/{domain}`.
//!
//! It decides when an audit may answer a later request instead of a new
//! one: while every DNS answer it rests on is still live, that is until
//! the smallest TTL among them runs out ([`crate::dns::Resolver::answers_live_for`]),
//! never longer than the shared DNS cache keeps an answer. An audit
//! that met a DNS failure (a timeout, SERVFAIL, a spent question budget)
//! is never reused: the next request asks again. The key is everything
//! of the request that changes the report: the domain, the selectors in
//! the order given, `probe` and `trace`. `?fresh=true` skips the lookup
//! here (and the shared DNS cache) and stores its new audit for the next.
//!
//! The report is kept as the JSON body it was answered with, so a reuse
//! costs a copy of bytes, and the bound is on those bytes
//! (`--audit-cache-mib`): when a new body does not fit, expired entries
//! go first, then the oldest. A body larger than an eighth of the bound
//! is never kept. The answer says how old it is (`Age`, RFC 9111 §5.1)
//! and how long it stays true from when it was made (`Cache-Control:
//! max-age`, so max-age minus Age is the time left).
//!
//! Selectors learned from stored DMARC reports join a domain's audit at
//! its next expiry, not at once.

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What makes two requests' reports the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditKey {
    /// The A-label form.
    pub domain: String,
    /// As the request gave them: the report lists them in that order.
    pub selectors: Vec<String>,
    pub probe_smtp: bool,
    pub trace: bool,
}

/// One report's JSON body, when it was made and until when it holds.
#[derive(Debug, Clone)]
pub struct Audited {
    body: Bytes,
    made: Instant,
    /// `None`: rests on a failure, never reused.
    expires: Option<Instant>,
}

impl Audited {
    /// A report made now from answers that stay live for `live`.
    pub fn new(body: Vec<u8>, live: Option<Duration>) -> Audited {
        let made = Instant::now();
        Audited {
            body: Bytes::from(body),
            made,
            expires: live.filter(|d| !d.is_zero()).map(|d| made + d),
        }
    }

    fn live_at(&self, now: Instant) -> bool {
        self.expires.is_some_and(|e| e > now)
    }

    /// `Age` and `Cache-Control` at `now`. `max-age` is the freshness
    /// lifetime, counted from when the report was made (RFC 9111 §4.2.1):
    /// the age plus the seconds left, so a receiver subtracting `Age`
    /// gets the seconds left, never a report stale on arrival.
    fn freshness(&self, now: Instant) -> (u64, String) {
        let age = now.saturating_duration_since(self.made).as_secs();
        let control = match self.expires {
            Some(expires) => format!(
                "max-age={}",
                age + expires.saturating_duration_since(now).as_secs()
            ),
            None => "no-store".to_string(),
        };
        (age, control)
    }
}

impl IntoResponse for Audited {
    /// The JSON body with its `Age` and `Cache-Control`; a report resting
    /// on a failure is `no-store`.
    fn into_response(self) -> Response {
        let (age, control) = self.freshness(Instant::now());
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::AGE, HeaderValue::from(age)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::try_from(control).unwrap_or(HeaderValue::from_static("no-store")),
                ),
            ],
            self.body,
        )
            .into_response()
    }
}

/// The bounded store of reusable audits; a bound of 0 keeps none.
#[derive(Debug)]
pub struct AuditCache {
    max_bytes: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<AuditKey, Audited>,
    /// Insertion order, for eviction.
    order: VecDeque<AuditKey>,
    bytes: usize,
}

impl AuditCache {
    pub fn new(max_bytes: usize) -> AuditCache {
        AuditCache {
            max_bytes,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// The live report for the key.
    pub fn get(&self, key: &AuditKey) -> Option<Audited> {
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .map
            .get(key)
            .filter(|a| a.live_at(Instant::now()))
            .cloned()
    }

    /// Keeps a report for later requests, if it may be reused and fits.
    pub fn insert(&self, key: AuditKey, audited: &Audited) {
        let size = audited.body.len();
        if audited.expires.is_none() || size > self.max_bytes / 8 {
            return;
        }
        let now = Instant::now();
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entries = &mut *guard;
        if let Some(old) = entries.map.remove(&key) {
            entries.bytes -= old.body.len();
            entries.order.retain(|k| k != &key);
        }
        if entries.bytes + size > self.max_bytes {
            let before = entries.map.len();
            entries.map.retain(|_, a| a.live_at(now));
            if entries.map.len() != before {
                entries.bytes = entries.map.values().map(|a| a.body.len()).sum();
            }
            while entries.bytes + size > self.max_bytes {
                let Some(oldest) = entries.order.pop_front() else {
                    break;
                };
                if let Some(gone) = entries.map.remove(&oldest) {
                    entries.bytes -= gone.body.len();
                }
            }
            let Entries { map, order, .. } = entries;
            order.retain(|k| map.contains_key(k));
        }
        entries.bytes += size;
        entries.order.push_back(key.clone());
        entries.map.insert(key, audited.clone());
    }

    /// (entries, bytes of their bodies).
    pub fn size(&self) -> (usize, usize) {
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (entries.map.len(), entries.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(domain: &str) -> AuditKey {
        AuditKey {
            domain: domain.into(),
            selectors: Vec::new(),
            probe_smtp: false,
            trace: false,
        }
    }

    fn audited(len: usize, live: Option<u64>) -> Audited {
        Audited::new(vec![b'x'; len], live.map(Duration::from_secs))
    }

    #[test]
    fn bounded_by_bytes_oldest_first() {
        let cache = AuditCache::new(800);
        for d in ["a.test", "b.test", "c.test", "d.test", "e.test"] {
            cache.insert(key(d), &audited(100, Some(60)));
        }
        assert_eq!(cache.size(), (5, 500));
        for d in ["f.test", "g.test", "h.test", "i.test"] {
            cache.insert(key(d), &audited(100, Some(60)));
        }
        assert_eq!(cache.size(), (8, 800));
        assert!(cache.get(&key("a.test")).is_none(), "the oldest went first");
        assert!(cache.get(&key("i.test")).is_some());
        cache.insert(key("i.test"), &audited(50, Some(60)));
        assert_eq!(cache.size(), (8, 750), "a replaced body is counted once");
    }

    #[test]
    fn failures_and_large_bodies_are_not_kept() {
        let cache = AuditCache::new(800);
        cache.insert(key("failed.test"), &audited(10, None));
        cache.insert(key("zero.test"), &audited(10, Some(0)));
        cache.insert(key("large.test"), &audited(101, Some(60)));
        assert_eq!(cache.size(), (0, 0));
        let off = AuditCache::new(0);
        off.insert(key("a.test"), &audited(1, Some(60)));
        assert_eq!(off.size(), (0, 0));
    }

    #[test]
    fn max_age_counts_from_when_the_report_was_made() {
        let then = Instant::now();
        let now = then + Duration::from_secs(166);
        let made = Audited {
            body: Bytes::new(),
            made: then,
            expires: Some(now + Duration::from_secs(133)),
        };
        assert_eq!(made.freshness(now), (166, "max-age=299".to_string()));
        let failed = Audited {
            expires: None,
            ..made
        };
        assert_eq!(failed.freshness(now), (166, "no-store".to_string()));
    }

    #[test]
    fn keys_tell_options_apart() {
        let cache = AuditCache::new(800);
        cache.insert(key("a.test"), &audited(10, Some(60)));
        let traced = AuditKey {
            trace: true,
            ..key("a.test")
        };
        let selected = AuditKey {
            selectors: vec!["s1".into()],
            ..key("a.test")
        };
        assert!(cache.get(&traced).is_none());
        assert!(cache.get(&selected).is_none());
        assert!(cache.get(&key("a.test")).is_some());
    }
}
