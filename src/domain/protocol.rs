//! What an audited protocol is: its key (the report section and the family
//! of its finding codes), its title for people, and the DNS record it reads
//! relative to the audited domain.
//!
//! This module decides what the rest of the engine may assume about a
//! protocol without knowing it: the audit runner asks each section whether
//! it was decided and stamps each finding with the record it is about, and
//! the text summary, JUnit/SARIF record locations and the OpenAPI section
//! list all follow from [`Audited`]. Each protocol's module declares its
//! own `static PROTOCOL`; the list of them, in report order, is
//! [`super::report::PROTOCOLS`], beside the checks that fill the report.

use serde::Serialize;

/// Where a protocol's record lives, relative to the audited domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Labels before the domain, with their final dot (`_dmarc.`); empty
    /// for the domain itself.
    pub prefix: &'static str,
    /// The record type, e.g. `TXT`.
    pub rtype: &'static str,
}

/// One audited protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// The report section's name and its finding codes' family (`mta_sts`).
    pub key: &'static str,
    /// Its name for people (`MTA-STS`).
    pub title: &'static str,
    /// Its record's place; `None` when each finding names its own (DKIM:
    /// one record per selector).
    pub place: Option<Place>,
}

/// A protocol's section of the domain report.
pub trait Audited {
    /// The protocol it reports on.
    fn protocol(&self) -> &'static Protocol;

    /// Which failed lookup left the check undecided, if one did.
    fn undecided(&self) -> Option<String>;

    /// The protocol's state in one line, for people.
    fn summary(&self) -> String;
}

impl Protocol {
    /// A protocol whose record is the `rtype` record at `prefix` followed
    /// by the audited domain.
    pub const fn at(
        key: &'static str,
        title: &'static str,
        prefix: &'static str,
        rtype: &'static str,
    ) -> Protocol {
        Protocol {
            key,
            title,
            place: Some(Place { prefix, rtype }),
        }
    }

    /// A protocol whose findings each name the record they are about.
    pub const fn per_finding(key: &'static str, title: &'static str) -> Protocol {
        Protocol {
            key,
            title,
            place: None,
        }
    }
}

/// A status enum as its JSON word, spaces for underscores (`not found`):
/// the summary of a section with nothing more to say.
pub fn status_word<T: Serialize>(status: &T) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        _ => "unknown".into(),
    }
}
