//! Questions being asked upstream right now, shared by every request of a
//! layer that keeps a cache: a request that needs an answer another
//! request is already waiting for waits for that answer instead of asking
//! the same question again.
//!
//! This is what makes a batch — forty domains sharing one SPF include, a
//! thousand messages signed with one key — ask each question once even
//! while the first asker has no answer in the cache yet. A flight ends
//! when its answer (or failure) is in; the answer itself lives on in the
//! cache for its TTL, a failure does not. When the asker gives up (its
//! request was cancelled), the flight is forgotten and the next waiter
//! asks in its place.

use super::{Answer, DnsError};
use hickory_proto::rr::{LowerName, RecordType};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Key = (LowerName, RecordType);

/// What one flight brought back: the answer or failure, and the server
/// that gave it; `None` when its asker had no question left in its
/// budget and so asked nothing (a waiter then asks on its own budget).
pub type Landed = Option<(Result<Answer, DnsError>, Option<SocketAddr>)>;

/// The flights under way.
#[derive(Debug, Default)]
pub struct InFlight {
    flights: Mutex<HashMap<Key, Arc<OnceCell<Landed>>>>,
}

/// A place in a flight; leaving it (dropping this) after the answer is in,
/// or after giving up, forgets the flight so later questions go to the
/// cache or ask anew.
pub struct Boarded<'a> {
    flights: &'a InFlight,
    key: Key,
    pub cell: Arc<OnceCell<Landed>>,
}

impl InFlight {
    /// The flight for `key`, joined or started.
    pub fn board(&self, key: &Key) -> Boarded<'_> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        let cell = Arc::clone(flights.entry(key.clone()).or_default());
        Boarded {
            flights: self,
            key: key.clone(),
            cell,
        }
    }
}

impl Drop for Boarded<'_> {
    fn drop(&mut self) {
        let mut flights = self
            .flights
            .flights
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Only this flight's entry: a newer one for the same question may
        // have started since.
        let ended = self.cell.initialized() || Arc::strong_count(&self.cell) <= 2;
        if ended
            && flights
                .get(&self.key)
                .is_some_and(|cell| Arc::ptr_eq(cell, &self.cell))
        {
            flights.remove(&self.key);
        }
    }
}
