//! DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990) and SMTP TLS
//! reports (RFC 8460): reading them as they arrive, and what they say
//! about who sends as a domain and whether it is ready for `p=reject`.
//!
//! # Layout
//!
//! Reading, bottom to top:
//!
//! - [`capped`] — the decompression caps (size, and ratio past the first
//!   MiB), enforced on the output stream as it is produced.
//! - [`container`] — what an input is (XML, JSON, gzip, zip or a report
//!   email, sniffed from its bytes, never from a file name) and the
//!   decompressed report stream inside it.
//! - [`zip`] — the entries of a zip archive held in memory.
//! - [`mail`] — the report attached to a report email (RFC 7489 §7.2.1.1,
//!   RFC 8460 §5.3).
//! - [`aggregate`] — the aggregate report's data model as the store keeps
//!   it, and its duplicate key.
//! - [`xml`] — the streaming aggregate report parser (quick-xml's reader,
//!   one record at a time, no DTD, no entities).
//! - [`tls`] — TLS reports: the data model and its JSON reading, with the
//!   variants real reporters send.
//! - [`dates`] — report periods as days, and RFC 3339 times.
//! - [`fit`] — what a report that reads well must also be to be kept: a
//!   period that is past and after 2000, a policy domain that is a domain
//!   name, one domain per report.
//!
//! Analysis, over parsed reports:
//!
//! - [`services`] — our table of sending services (Google Workspace,
//!   Microsoft 365, Amazon SES, …), embedded and extendable by a file.
//! - [`sources`] — each source IP's PTR name, asked concurrently through the
//!   resolver layer and forward-confirmed, and its organizational domain.
//! - [`classify`] — each record's class: aligned, DKIM only (forwarding),
//!   SPF only, unaligned (a service to set up), forwarded, unauthenticated.
//! - [`summary`] — per day, per sending source, new sources, DKIM selectors
//!   seen; TLS failures per result type, MX and policy.
//! - [`enforcement`] — the verdict for `p=quarantine` and `p=reject`, the
//!   fix for each source in the way, and the DMARC record to publish next.
//!
//! Keeping, over the store:
//!
//! - [`ingest`] — a report read from any input and stored once (a
//!   duplicate is recognized by its key), with the DKIM selectors it
//!   names; a domain's stored reports of a period summed up.
//! - [`rua`] — the URL on this server a domain's TLS reports are posted
//!   to, and the `_smtp._tls` record naming it.
//!
//! Reading is synchronous and CPU-bound: callers on an async runtime run it
//! in `spawn_blocking`. Only [`analyze`] asks the DNS.

pub mod aggregate;
pub mod capped;
pub mod classify;
pub mod container;
pub mod dates;
pub mod enforcement;
pub mod fit;
pub mod ingest;
pub mod mail;
pub mod rua;
pub mod services;
pub mod sources;
pub mod summary;
pub mod tls;
pub mod xml;
pub mod zip;

pub use container::{Opened, Overview, Report, open, open_reader, parse};

use crate::dns::Resolver;
use serde::Serialize;

/// Most messages one aggregate report row (`<count>`), or sessions one
/// TLS report count, may claim: 10^9. A billion messages from one IP in
/// one report period (a day, usually) is more than the busiest sender
/// sends; a count beyond it is a broken or forged report, refused rather
/// than let swamp every share. With at most [`Limits::max_records`] rows a
/// report then sums to well within `u64`.
pub const MAX_COUNT: u64 = 1_000_000_000;

/// How much one input may cost. Every cap is checked while reading, so an
/// input over a cap is refused before it has cost more than the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes a report may have once decompressed (`--max-report-size`);
    /// a plain report may not be larger either.
    pub max_size: u64,
    /// Most decompressed bytes per compressed byte …
    pub max_ratio: u64,
    /// … once this many bytes have come out: small reports compress well
    /// without being bombs.
    pub ratio_grace: u64,
    /// Most entries a zip archive may list.
    pub max_zip_entries: usize,
    /// Most `<record>` rows in one aggregate report.
    pub max_records: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_size: 50 * 1024 * 1024,
            max_ratio: 100,
            ratio_grace: 1024 * 1024,
            max_zip_entries: 16,
            max_records: 200_000,
        }
    }
}

/// Why an input is not an acceptable report. Each says what was wrong and,
/// for XML and JSON, where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("not a DMARC aggregate or TLS report: {0}")]
    NotAReport(String),
    #[error(
        "the report is larger than {limit} bytes once decompressed; \
         raise --max-report-size if it is genuine"
    )]
    TooLarge { limit: u64 },
    #[error(
        "the data expands more than {ratio}:1 past the first {grace} bytes: \
         refused as a likely decompression bomb"
    )]
    RatioExceeded { ratio: u64, grace: u64 },
    #[error("{container} data is corrupt: {message}")]
    Corrupt {
        container: &'static str,
        message: String,
    },
    #[error("zip archive: {0}")]
    Zip(String),
    #[error("report email: {0}")]
    Mail(String),
    #[error("XML at line {line} (byte {offset}): {message}")]
    Xml {
        line: u64,
        offset: u64,
        message: String,
    },
    #[error("JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("TLS report: {0}")]
    Tls(String),
    /// Read well, and still not a report to keep.
    #[error(transparent)]
    Unfit(#[from] fit::Unfit),
}

/// The most characters of a parser's message kept in an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// A parser's message, which may quote the input: escaped
/// ([`crate::untrusted`]) and cut to [`MAX_MESSAGE_CHARS`].
fn outside_message(message: &str) -> String {
    let mut chars = message.chars();
    let kept: String = chars.by_ref().take(MAX_MESSAGE_CHARS).collect();
    let mut out = crate::untrusted::escape_controls(&kept).into_owned();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Everything the analysis answers for one domain over a period.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    #[serde(flatten)]
    pub summary: summary::Summary,
    pub enforcement: enforcement::Enforcement,
}

/// Analyses the aggregate reports of a period: `previous` holds those of
/// the period before it (for new sources; may be empty), `live` the DMARC
/// record the domain publishes now (which the suggestion edits), `rua`
/// report addresses to put in the suggestion instead of its own. PTR
/// names are asked through `resolver`, each IP once, at most
/// `options.concurrency` at a time. The rest is pure CPU work in proportion to the records: a server
/// calls [`sources::reverse_dns`] on the runtime and
/// [`summary::summarize`] and [`enforcement::assess`] in `spawn_blocking`
/// instead of this convenience.
pub async fn analyze(
    resolver: &Resolver,
    current: &[aggregate::AggregateReport],
    previous: &[aggregate::AggregateReport],
    services: &services::Services,
    options: &summary::Options,
    live: &enforcement::LiveRecord,
    rua: &[String],
) -> Analysis {
    let (current, previous) = (
        summary::PeriodTally::of(current),
        summary::PeriodTally::of(previous),
    );
    let ips = sources::ips_by_volume(current.volumes().chain(previous.volumes()));
    let reverse =
        sources::reverse_dns(resolver, &ips, options.max_lookups, options.concurrency).await;
    let summary = summary::summarize(current, &previous, &reverse, services, options);
    let enforcement = enforcement::assess(&summary, services, live, rua);
    Analysis {
        summary,
        enforcement,
    }
}
