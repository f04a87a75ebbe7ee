//! The processing limits of RFC 7208 §4.6.4, decided in one place for
//! `check_host()` ([`super::eval`]) and for the domain audit, which reads
//! the same records without a client and must never call a record healthy
//! that the evaluator fails for every client.
//!
//! - at most [`MAX_DNS_TERMS`] terms that query DNS (include, a, mx, ptr,
//!   exists, redirect);
//! - at most [`MAX_VOID_LOOKUPS`] lookups answered NXDOMAIN or with no data
//!   ([`is_void`]);
//! - an `mx` term looks at no more than [`MAX_NAMES_PER_TERM`] MX hosts,
//!   more is a permerror ([`mx_hosts_over_limit`]); a `ptr` term looks at
//!   the first [`MAX_NAMES_PER_TERM`] names of the client's PTR answer and
//!   ignores the rest, which is not an error and depends on the client, so
//!   the audit has nothing to judge there.

use crate::dns::{Answer, Rcode};
use hickory_proto::rr::RecordType;

/// At most 10 terms that query DNS.
pub const MAX_DNS_TERMS: usize = 10;
/// At most 2 lookups answered NXDOMAIN or empty.
pub const MAX_VOID_LOOKUPS: usize = 2;
/// An `mx` term may name at most 10 hosts; `ptr` looks at 10 names.
pub const MAX_NAMES_PER_TERM: usize = 10;

/// Whether a term's lookup of `rtype` found no such name or no data.
pub fn is_void(answer: &Answer, rtype: RecordType) -> bool {
    answer.rcode == Rcode::NXDomain || answer.is_empty_of(rtype)
}

/// The number of MX hosts of an answer, when an `mx` term may not look at
/// that many (a permerror).
pub fn mx_hosts_over_limit(answer: &Answer) -> Option<usize> {
    let hosts = answer.mx().len();
    (hosts > MAX_NAMES_PER_TERM).then_some(hosts)
}
