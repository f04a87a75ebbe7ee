//! The class of each record: how its messages stood with DMARC, and what
//! that usually means (RFC 7489 §3.1 identifier alignment, §4.2 the
//! DMARC result; RFC 9989 §4.4).
//!
//! The reporter's `policy_evaluated` says which mechanism passed *aligned*;
//! the raw `auth_results` say what passed at all. Together:
//!
//! | class | DMARC | what it means |
//! |---|---|---|
//! | `aligned` | pass | DKIM and SPF both pass aligned |
//! | `dkim_only` | pass | DKIM aligned, SPF not: usually forwarding (or a service's own MAIL FROM) — harmless under DMARC |
//! | `spf_only` | pass | SPF aligned, no aligned DKIM: passes, but forwarding will break it |
//! | `unaligned` | fail | SPF or DKIM passed, but for another domain: a service that needs DKIM for the domain or a custom MAIL FROM |
//! | `forwarded` | fail | nothing passed, but the domain's own signature was there (broken in transit), or the reporter said forwarded / mailing list |
//! | `unauthenticated` | fail | nothing passed: spoofing, or a sender nobody set up |

use super::aggregate::{AlignedResult, OverrideKind, Record};
use super::sources::organizational_domain;
use crate::message::dmarc::AuthResult;
use serde::Serialize;

/// How a record's messages stood with DMARC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Aligned,
    DkimOnly,
    SpfOnly,
    Unaligned,
    Forwarded,
    Unauthenticated,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::Aligned,
        Class::DkimOnly,
        Class::SpfOnly,
        Class::Unaligned,
        Class::Forwarded,
        Class::Unauthenticated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Aligned => "aligned",
            Class::DkimOnly => "dkim_only",
            Class::SpfOnly => "spf_only",
            Class::Unaligned => "unaligned",
            Class::Forwarded => "forwarded",
            Class::Unauthenticated => "unauthenticated",
        }
    }

    /// Whether the messages passed DMARC.
    pub fn passes(self) -> bool {
        matches!(self, Class::Aligned | Class::DkimOnly | Class::SpfOnly)
    }

    /// One line for a person.
    pub fn meaning(self) -> &'static str {
        match self {
            Class::Aligned => "DKIM and SPF both pass for your domain",
            Class::DkimOnly => {
                "DKIM passes for your domain, SPF does not: usually forwarding, \
                 or a service using its own return path — harmless under DMARC"
            }
            Class::SpfOnly => {
                "SPF passes for your domain but nothing is DKIM-signed for it: \
                 this passes today, and fails as soon as the mail is forwarded"
            }
            Class::Unaligned => {
                "it authenticates, but as another domain: a service that needs \
                 DKIM set up for your domain or a custom MAIL FROM"
            }
            Class::Forwarded => {
                "your DKIM signature was there but broke on the way, as \
                 forwarding and mailing lists do"
            }
            Class::Unauthenticated => {
                "nothing authenticates it: spoofing, or a sender nobody set up"
            }
        }
    }
}

/// The class of one record.
pub fn classify(record: &Record) -> Class {
    let evaluated = &record.policy_evaluated;
    match (
        evaluated.dkim == AlignedResult::Pass,
        evaluated.spf == AlignedResult::Pass,
    ) {
        (true, true) => return Class::Aligned,
        (true, false) => return Class::DkimOnly,
        (false, true) => return Class::SpfOnly,
        (false, false) => {}
    }
    let passed_elsewhere = record.dkim.iter().any(|d| d.result == AuthResult::Pass)
        || record.spf.iter().any(|s| s.result == AuthResult::Pass);
    if passed_elsewhere {
        return Class::Unaligned;
    }
    let from_org = organizational_domain(&record.identifiers.header_from);
    let own_signature_broke = record
        .dkim
        .iter()
        .any(|d| !d.domain.is_empty() && organizational_domain(&d.domain) == from_org);
    let reporter_says_forwarded = evaluated.reasons.iter().any(|r| {
        matches!(
            r.kind,
            OverrideKind::Forwarded | OverrideKind::MailingList | OverrideKind::TrustedForwarder
        )
    });
    if own_signature_broke || reporter_says_forwarded {
        Class::Forwarded
    } else {
        Class::Unauthenticated
    }
}
