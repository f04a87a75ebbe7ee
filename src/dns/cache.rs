//! The shared answer cache that `serve` keeps across requests.
//!
//! It decides how long an upstream answer may be reused: for the smallest
//! TTL of its records, or for a negative answer the SOA minimum (RFC 2308
//! §5), never longer than [`MAX_TTL`]. Failures (timeouts, SERVFAIL) are not
//! cached, so the next request asks again. The cache is bounded: when full,
//! expired entries go first, then the oldest insertions.

use super::Answer;
use hickory_proto::rr::{LowerName, RecordType};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bound on how long any answer is kept, whatever its TTL says.
pub const MAX_TTL: Duration = Duration::from_secs(3600);

type Key = (LowerName, RecordType);

/// A bounded, TTL-respecting map from questions to answers.
#[derive(Debug)]
pub struct SharedCache {
    capacity: usize,
    inner: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Key, (Answer, Instant)>,
    order: VecDeque<Key>,
}

impl SharedCache {
    pub fn new(capacity: usize) -> SharedCache {
        SharedCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A live answer for the question, with its TTL lowered to what remains.
    pub fn get(&self, key: &Key) -> Option<Answer> {
        let now = Instant::now();
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let found = entries
            .map
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(answer, expires)| {
                let mut answer = answer.clone();
                let left = u32::try_from(expires.duration_since(now).as_secs()).unwrap_or(0);
                answer.ttl = left;
                for r in &mut answer.records {
                    r.ttl = r.ttl.min(left);
                }
                answer
            });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub fn insert(&self, key: Key, answer: Answer) {
        let ttl = Duration::from_secs(u64::from(answer.ttl)).min(MAX_TTL);
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if entries.map.len() >= self.capacity && !entries.map.contains_key(&key) {
            entries.map.retain(|_, (_, expires)| *expires > now);
            while entries.map.len() >= self.capacity {
                let Some(oldest) = entries.order.pop_front() else {
                    break;
                };
                entries.map.remove(&oldest);
            }
            let Entries { map, order } = &mut *entries;
            order.retain(|k| map.contains_key(k));
        }
        if entries
            .map
            .insert(key.clone(), (answer, now + ttl))
            .is_none()
        {
            entries.order.push_back(key);
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since start.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Rcode;
    use hickory_proto::rr::Name;

    fn key(s: &str) -> Key {
        (LowerName::new(&Name::from_ascii(s).unwrap()), RecordType::A)
    }

    fn answer(ttl: u32) -> Answer {
        Answer {
            rcode: Rcode::NXDomain,
            records: vec![],
            authority: vec![],
            authenticated: false,
            ttl,
        }
    }

    #[test]
    fn bounded_and_ttl_respecting() {
        let cache = SharedCache::new(2);
        cache.insert(key("a."), answer(60));
        cache.insert(key("b."), answer(60));
        cache.insert(key("c."), answer(60));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("a.")).is_none(), "oldest entry evicted");
        assert!(cache.get(&key("c.")).is_some());
        cache.insert(key("zero."), answer(0));
        assert!(cache.get(&key("zero.")).is_none(), "TTL 0 is never cached");
        assert_eq!(cache.stats(), (1, 2));
    }
}
