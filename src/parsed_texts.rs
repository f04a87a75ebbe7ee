//! Records parsed once per distinct text, and the parse shared: a sender's
//! SPF record, DKIM key or DMARC record is the same text for each of its
//! messages, so what it parses to is kept, keyed by that text. A changed
//! record is another text and is parsed anew.
//!
//! A store is bounded by the bytes of the texts it keeps (a TXT record
//! may be 64 KiB, and its parse a few times that) and is emptied whole
//! when the next text would not fit: a flood of distinct records, as a
//! hostile DNS server can send, costs parsing again, never memory. A text
//! larger than the whole bound is not kept at all.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// Parses kept by their text `K`, at most `capacity` bytes of text.
pub struct ParsedTexts<K, V> {
    kept: Mutex<Kept<K, V>>,
    capacity: usize,
}

struct Kept<K, V> {
    parses: HashMap<K, V>,
    bytes: usize,
}

impl<K: Hash + Eq, V: Clone> ParsedTexts<K, V> {
    /// An empty store keeping at most `capacity` bytes of text.
    pub fn new(capacity: usize) -> ParsedTexts<K, V> {
        ParsedTexts {
            kept: Mutex::new(Kept {
                parses: HashMap::new(),
                bytes: 0,
            }),
            capacity,
        }
    }

    /// The parse kept for `text`, if any.
    pub fn get<Q>(&self, text: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.kept().parses.get(text).cloned()
    }

    /// Keeps `parse` for `text`, which is `bytes` long.
    pub fn keep(&self, text: K, bytes: usize, parse: V) {
        if bytes > self.capacity {
            return;
        }
        let mut kept = self.kept();
        if kept.bytes + bytes > self.capacity {
            kept.parses.clear();
            kept.bytes = 0;
        }
        if kept.parses.insert(text, parse).is_none() {
            kept.bytes += bytes;
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept<K, V>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ParsedTexts<Box<[u8]>, usize> {
        ParsedTexts::new(10)
    }

    #[test]
    fn a_kept_parse_is_found_by_its_text() {
        let store = store();
        store.keep(b"v=spf1"[..].into(), 6, 1);
        assert_eq!(store.get(&b"v=spf1"[..]), Some(1));
        assert_eq!(store.get(&b"v=spf1 -all"[..]), None);
    }

    #[test]
    fn the_store_starts_over_when_the_next_text_would_not_fit() {
        let store = store();
        store.keep(b"aaaaaa"[..].into(), 6, 1);
        store.keep(b"bbbb"[..].into(), 4, 2);
        assert_eq!(store.get(&b"aaaaaa"[..]), Some(1));
        store.keep(b"c"[..].into(), 1, 3);
        assert_eq!(store.get(&b"aaaaaa"[..]), None);
        assert_eq!(store.get(&b"bbbb"[..]), None);
        assert_eq!(store.get(&b"c"[..]), Some(3));
    }

    #[test]
    fn a_text_larger_than_the_store_is_not_kept() {
        let store = store();
        store.keep(b"c"[..].into(), 1, 3);
        store.keep(b"eleven byte"[..].into(), 11, 4);
        assert_eq!(store.get(&b"eleven byte"[..]), None);
        assert_eq!(store.get(&b"c"[..]), Some(3));
    }

    #[test]
    fn the_same_text_kept_again_counts_once() {
        let store = store();
        for parse in 0..5 {
            store.keep(b"aaaaaa"[..].into(), 6, parse);
        }
        store.keep(b"bbbb"[..].into(), 4, 9);
        assert_eq!(store.get(&b"aaaaaa"[..]), Some(4));
        assert_eq!(store.get(&b"bbbb"[..]), Some(9));
    }
}
