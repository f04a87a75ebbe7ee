//! The message report: what a receiver will decide about one message, and
//! why. Each concern is one module: the envelope ([`envelope`]), header
//! checks ([`headers`]), DKIM ([`dkim`]), ARC ([`arc`]) and DMARC
//! ([`dmarc`]), and what verifying one message may cost ([`limits`]);
//! beyond authentication, the sending IP on DNS blocklists
//! ([`blocklists`]) and what the body holds ([`content`]). DKIM, DMARC, ARC and iprev are verified by mail-auth, whose
//! lookups go through the request's resolver layer via
//! [`crate::dns::bridge`]; SPF is our own ([`crate::spf`]).

pub mod arc;
pub mod blocklists;
pub mod content;
pub mod dkim;
pub mod dmarc;
pub mod envelope;
pub mod headers;
pub mod iprev;
pub mod limits;
pub mod report;
pub mod summary;

use crate::dns::Resolver;
use crate::dns::answered::Answered;
use std::time::{SystemTime, UNIX_EPOCH};

/// The time verification judges `t=` and `x=` against: now, or a fixed
/// instant (to verify a message as of when it was signed, as conformance
/// suites need).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    fixed: Option<u64>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A fixed instant, in seconds since the Unix epoch.
    pub fn at(seconds: u64) -> Clock {
        Clock {
            fixed: Some(seconds),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.fixed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }
}

/// What every message check receives.
pub struct MessageContext<'a> {
    pub resolver: &'a Resolver,
    /// mail-auth, with its lookups routed through `resolver`.
    pub authenticator: &'a mail_auth::MessageAuthenticator,
    /// The answers `resolver` has shared with mail-auth so far (a check
    /// asks its questions first, then lets mail-auth read them here).
    pub answered: Answered,
    /// The raw message as received (CRLF or LF line ends).
    pub raw: &'a [u8],
    pub clock: Clock,
}
