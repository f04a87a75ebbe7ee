//! Who may hold a session and send a message: the receiver's per-client
//! limits (a client is its IPv4 address or its IPv6 /64,
//! [`client_network`]).
//!
//! This module decides three limits. At connect: at most
//! `sessions_per_client` sessions at once from one client and
//! `max_sessions` in all, else `421` and the connection is closed. At
//! MAIL FROM: at most `messages_per_minute` transactions per client in
//! each minute (a fixed window from the client's first one), else `450`,
//! which a real sender's queue retries. A client's row lives while it has
//! a session or a window running; at most [`TRACKED_CLIENTS`] rows are
//! kept, and a new client finding the table full of live rows is refused
//! as busy rather than let the table grow.

use crate::records::address::client_network;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most clients remembered at once.
pub const TRACKED_CLIENTS: usize = 10_000;

const WINDOW: Duration = Duration::from_secs(60);

/// The limits, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    pub sessions_per_client: usize,
    pub max_sessions: usize,
    pub messages_per_minute: u32,
}

#[derive(Debug)]
struct Client {
    sessions: usize,
    window_start: Instant,
    messages: u32,
}

#[derive(Debug, Default)]
struct Table {
    clients: HashMap<IpAddr, Client>,
    sessions: usize,
}

/// The shared count of sessions and messages.
#[derive(Debug)]
pub struct Admission {
    limits: AdmissionLimits,
    table: Mutex<Table>,
}

/// Why a session was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This client already holds `sessions_per_client` sessions.
    ClientSessions,
    /// `max_sessions` in all, or no room to remember another client.
    Busy,
}

/// A session let in; leaving is dropping it.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
    client: IpAddr,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            table: Mutex::default(),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // The table holds only counts; one left by a panicking holder is
        // still the best count there is.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets a session from `peer` in, or says why not.
    pub fn enter(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refused> {
        let client = client_network(peer);
        let mut table = self.table();
        if table.sessions >= self.limits.max_sessions {
            return Err(Refused::Busy);
        }
        if !table.clients.contains_key(&client) && table.clients.len() >= TRACKED_CLIENTS {
            let now = Instant::now();
            table
                .clients
                .retain(|_, c| c.sessions > 0 || now.duration_since(c.window_start) < WINDOW);
            if table.clients.len() >= TRACKED_CLIENTS {
                return Err(Refused::Busy);
            }
        }
        let row = table.clients.entry(client).or_insert_with(|| Client {
            sessions: 0,
            window_start: Instant::now(),
            messages: 0,
        });
        if row.sessions >= self.limits.sessions_per_client {
            return Err(Refused::ClientSessions);
        }
        row.sessions += 1;
        table.sessions += 1;
        Ok(Admitted {
            admission: Arc::clone(self),
            client,
        })
    }
}

impl Admitted {
    /// Counts one more message from this session's client: `false` when
    /// it is over `messages_per_minute` for the current minute.
    pub fn take_message(&self) -> bool {
        let limit = self.admission.limits.messages_per_minute;
        let mut table = self.admission.table();
        let Some(row) = table.clients.get_mut(&self.client) else {
            return false;
        };
        let now = Instant::now();
        if now.duration_since(row.window_start) >= WINDOW {
            row.window_start = now;
            row.messages = 0;
        }
        if row.messages >= limit {
            return false;
        }
        row.messages += 1;
        true
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut table = self.admission.table();
        table.sessions = table.sessions.saturating_sub(1);
        let forget = match table.clients.get_mut(&self.client) {
            Some(row) => {
                row.sessions = row.sessions.saturating_sub(1);
                row.sessions == 0 && row.messages == 0
            }
            None => false,
        };
        if forget {
            table.clients.remove(&self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(sessions_per_client: usize, max_sessions: usize) -> Arc<Admission> {
        Admission::new(AdmissionLimits {
            sessions_per_client,
            max_sessions,
            messages_per_minute: 2,
        })
    }

    #[test]
    fn sessions_are_counted_per_client_and_in_all() {
        let admission = admission(2, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let first = admission.enter(a).unwrap();
        let _second = admission.enter(a).unwrap();
        assert_eq!(admission.enter(a).unwrap_err(), Refused::ClientSessions);
        let _third = admission.enter(b).unwrap();
        assert_eq!(
            admission.enter("2001:db8::2".parse().unwrap()).unwrap_err(),
            Refused::Busy,
            "the same /64, and no room in all anyway"
        );
        drop(first);
        assert!(admission.enter(a).is_ok());
    }

    #[test]
    fn messages_are_counted_per_minute_across_sessions() {
        let admission = admission(5, 5);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let one = admission.enter(a).unwrap();
        assert!(one.take_message());
        drop(one);
        let two = admission.enter(a).unwrap();
        assert!(two.take_message());
        assert!(!two.take_message(), "the window outlives the first session");
        let other = admission.enter("192.0.2.2".parse().unwrap()).unwrap();
        assert!(other.take_message());
    }
}
