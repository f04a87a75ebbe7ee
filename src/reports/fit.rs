//! Whether a report that reads well is one to keep: what it claims must
//! be able to be true of a report, since anyone can send one.
//!
//! This module decides what a report must be, beyond its format, before
//! it is stored:
//!
//! - its period begins on or after 2000-01-01 ([`EARLIEST`]), before any
//!   DMARC or TLS report was sent, and ends at most a day
//!   ([`CLOCK_SKEW`]) after the report was received: a report covers a
//!   period that is over. A period dated years ahead would fall inside
//!   every `--since` window, be "the most recent report" for ever and
//!   push real ones out of a summary's record budget;
//! - its policy domain is a domain name ([`DomainName`]): it is the key
//!   the report is stored and shown under;
//! - a TLS report names at least one policy, all of them for one domain:
//!   a reporter sends each policy domain's results to that domain's own
//!   `rua` (RFC 8460 §3), and the report is kept for its domain alone.

use super::dates::moment;
use crate::records::name::{DomainError, DomainName};
use crate::untrusted::quoted;

/// 2000-01-01T00:00:00Z: no report period begins earlier.
pub const EARLIEST: i64 = 946_684_800;

/// How long after the report was received its period may end: a day, for
/// a reporter whose clock or time zone is ahead.
pub const CLOCK_SKEW: i64 = 86_400;

/// Why a report that reads well is not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unfit {
    #[error(
        "the report's period, {begin} to {end}, begins before 2000-01-01: no DMARC or TLS \
         report covers a time that early"
    )]
    TooEarly { begin: String, end: String },
    #[error(
        "the report's period, {begin} to {end}, ends more than a day after it was received \
         ({received}): a report covers a period that is over"
    )]
    Future {
        begin: String,
        end: String,
        received: String,
    },
    #[error("the report's policy domain {0}")]
    NotADomain(DomainError),
    #[error(
        "the TLS report has policies for {first} and {other}: a report is about one policy \
         domain, sent to that domain's own rua (RFC 8460 §3); import each domain's reports \
         as their own"
    )]
    SeveralDomains { first: String, other: String },
    #[error("the TLS report names no policy, so it counts no session for any domain")]
    NoPolicy,
}

/// A period from `begin` to `end` (seconds), of a report received at
/// `received`.
pub fn period(begin: i64, end: i64, received: i64) -> Result<(), Unfit> {
    if begin < EARLIEST {
        return Err(Unfit::TooEarly {
            begin: moment(begin),
            end: moment(end),
        });
    }
    if end > received.saturating_add(CLOCK_SKEW) {
        return Err(Unfit::Future {
            begin: moment(begin),
            end: moment(end),
            received: moment(received),
        });
    }
    Ok(())
}

/// The policy domains of a report, as read: one at least, each a domain
/// name, and all the same.
pub fn policy_domains<'a>(mut domains: impl Iterator<Item = &'a str>) -> Result<(), Unfit> {
    let first = domains.next().ok_or(Unfit::NoPolicy)?;
    DomainName::parse(first).map_err(Unfit::NotADomain)?;
    match domains.find(|d| *d != first) {
        Some(other) => Err(Unfit::SeveralDomains {
            first: quoted(first),
            other: quoted(other),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVED: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z

    #[test]
    fn a_period_begins_after_2000_and_is_over_within_a_day() {
        assert_eq!(period(1_795_996_800, 1_796_083_199, RECEIVED), Ok(()));
        assert_eq!(period(EARLIEST, EARLIEST, RECEIVED), Ok(()));
        assert_eq!(
            period(RECEIVED, RECEIVED + CLOCK_SKEW, RECEIVED),
            Ok(()),
            "a reporter a day ahead"
        );
        let early = period(-86_400, 0, RECEIVED).unwrap_err();
        assert_eq!(
            early.to_string(),
            "the report's period, 1969-12-31T00:00:00Z to 1970-01-01T00:00:00Z, begins \
             before 2000-01-01: no DMARC or TLS report covers a time that early"
        );
        assert!(matches!(
            period(i64::MIN, 0, RECEIVED),
            Err(Unfit::TooEarly { .. })
        ));
        let ahead = period(253_402_214_400, 253_402_300_799, RECEIVED).unwrap_err();
        assert_eq!(
            ahead.to_string(),
            "the report's period, 9999-12-31T00:00:00Z to 9999-12-31T23:59:59Z, ends more \
             than a day after it was received (2026-12-01T00:00:00Z): a report covers a \
             period that is over"
        );
        assert!(matches!(
            period(3_155_760_000_000, 3_155_760_086_399, RECEIVED),
            Err(Unfit::Future { .. })
        ));
        assert!(matches!(
            period(RECEIVED, RECEIVED + CLOCK_SKEW + 1, RECEIVED),
            Err(Unfit::Future { .. })
        ));
    }

    #[test]
    fn policy_domains_are_one_domain_name() {
        assert_eq!(policy_domains(["example.com"].into_iter()), Ok(()));
        assert_eq!(
            policy_domains(["example.com", "example.com"].into_iter()),
            Ok(())
        );
        assert_eq!(policy_domains([].into_iter()), Err(Unfit::NoPolicy));
        let script = policy_domains(["<script>alert(1)</script>"].into_iter()).unwrap_err();
        assert!(
            script.to_string().starts_with(
                "the report's policy domain `<script>alert(1)</script>` is not a domain name: "
            ),
            "{script}"
        );
        assert_eq!(
            policy_domains(["other.example", "example.com"].into_iter())
                .unwrap_err()
                .to_string(),
            "the TLS report has policies for `other.example` and `example.com`: a report is \
             about one policy domain, sent to that domain's own rua (RFC 8460 §3); import each \
             domain's reports as their own"
        );
    }
}
