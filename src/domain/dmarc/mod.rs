//! DMARC in the domain audit: which record applies to the domain, what it
//! asks receivers to do, and whether its reports can arrive (RFC 9989
//! "DMARCbis"; RFC 7489 for the historic `pct`, `ri` and `rf` tags and for
//! external report authorization, §7.1).
//!
//! This module decides:
//!
//! - **Discovery** (RFC 9989 §4.10, §4.10.1). The record at
//!   `_dmarc.<domain>` settles the policy on the first query. Without one,
//!   the DNS tree walk asks `_dmarc.` + each shorter parent: a name of eight
//!   or more labels is cut to its last seven after the first query, so the
//!   walk never takes more than eight queries; it stops early at a record
//!   carrying `psd=y` or `psd=n`. The Organizational Domain is the name of a
//!   `psd=n` record, else the name one label below a `psd=y` record, else the
//!   highest name with a record (§4.10.2); the policy that applies is that
//!   domain's record, or, when it has none, the public suffix operator's.
//!   At each name, TXT records not starting with `v=DMARC1` are not DMARC
//!   records; two or more that do are discarded by receivers.
//! - **What the audit reports.** The first name that holds anything
//!   DMARC-like decides: two or more records give `dmarc.multiple_records`
//!   only, one that does not parse `dmarc.syntax` only, a failed query
//!   `dmarc.dns_error` only, nothing along the whole walk `dmarc.missing`.
//!   Codes about a record's content fire only for exactly one valid record:
//!   with none, or several, there is no one content to judge.
//! - **The record** is parsed strictly by [`crate::records::dmarc`]; a
//!   missing `p` is read as `none`.
//! - **The effective policy**: `p` for a domain with its own record; for an
//!   inherited record `sp` (falling back to `p`), or `np` (falling back to
//!   `sp`, then `p`) when the domain does not exist. `t=y` asks receivers to
//!   apply one step less (reject → quarantine → none); the applied policy
//!   reflects that.
//! - **External report authorization**: a `mailto:` report address whose
//!   domain has another organizational domain (Public Suffix List) than the
//!   domain the record was found at needs `<that domain>._report._dmarc.
//!   <report domain>` to hold a `v=DMARC1` record. All such queries run
//!   concurrently; a failed one is "unknown", never "unauthorized".
//! - **A stray record at the apex**: a `v=DMARC1` TXT at the domain itself.

mod check;
mod discovery;
mod section;
#[cfg(test)]
mod tests;

pub use check::check;
pub use section::{AuthorizationStatus, DmarcSection, DmarcStatus, ReportDestination};

use crate::domain::protocol::Protocol;

/// DMARC: the TXT record at `_dmarc.` below the domain.
pub static PROTOCOL: Protocol = Protocol::at("dmarc", "DMARC", "_dmarc.", "TXT");
