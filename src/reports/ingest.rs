//! Ingestion: an input read into a report and kept in the store once,
//! and a domain's stored reports of a period read back and summed up.
//!
//! This module decides what of a report the store keeps and learns: the
//! parsed report as JSON (so a summary never parses XML again), its
//! duplicate key and counts ([`Overview`]), and the DKIM selectors its
//! records name for the domain's own organization with a signature that
//! passed, for the domain audit. A report [`super::fit`] refuses is not
//! kept.
//! Every door — `mailvet reports import`, `POST /v1/reports`,
//! `POST /v1/reports/tls` — goes through [`prepare`] (synchronous and
//! CPU-bound: callers on the runtime use `spawn_blocking`) and
//! [`Prepared::store`].
//!
//! A summary ([`summarize_domain`]) reads the period asked for and the
//! period of the same length before it (for new sources), decodes and
//! sums them up off the runtime, and asks PTR names on it. The DMARC
//! record it suggests is the one the domain publishes now, read from its
//! live `_dmarc` record ([`live_record`]), with the step made: its report
//! addresses (`rua`) and every other tag stay, unless the caller names
//! other addresses.

use super::aggregate::{AggregateReport, Record};
use super::container::{Opened, Overview, Report, open_reader};
use super::enforcement::{self, LiveRecord};
use super::services::Services;
use super::sources::{ips_by_volume, organizational_domain, reverse_dns};
use super::summary::{Options, PeriodTally, TlsSummary, summarize, tls_summary};
use super::tls::TlsReport;
use super::xml::AggregateReader;
use super::{Analysis, Limits, ReportError, fit};
use crate::dns::Resolver;
use crate::message::dmarc::AuthResult;
use crate::records::dmarc;
use crate::store::received::Received;
use crate::store::{NewReport, ReportKind, Store, StoreError, Stored};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::io::{BufWriter, Read, Write};
use std::sync::Arc;

/// A report read from an input, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    kind: ReportKind,
    overview: Overview,
    /// The report as gzip-compressed JSON.
    json: Vec<u8>,
    selectors: Vec<(String, String)>,
}

/// Reads one input of any accepted container into a report ready to
/// store, received at `received` (seconds since the epoch): a report
/// [`fit`] refuses is an error like one that does not read.
/// Synchronous and CPU-bound.
///
/// An aggregate report is written out as JSON record by record while it
/// is read, never held whole: a 20,000-record report costs its JSON text
/// and one record at a time. Its header is judged before the first
/// record is read.
pub fn prepare(
    input: impl Read + Send,
    limits: &Limits,
    received: i64,
) -> Result<Prepared, ReportError> {
    match open_reader(input, limits)? {
        Opened::Aggregate(reader) => prepare_aggregate(*reader, received),
        Opened::Tls(report) => {
            fit::period(report.begin, report.end, received)?;
            fit::policy_domains(report.policies.iter().map(|p| p.policy_domain.as_str()))?;
            let mut json = Compressed::new();
            serde_json::to_writer(&mut json.0, &report).map_err(Compressed::error)?;
            Ok(Prepared {
                kind: ReportKind::Tls,
                overview: Report::Tls(report).overview(),
                json: json.finish()?,
                selectors: Vec::new(),
            })
        }
    }
}

/// The JSON of an [`AggregateReport`], written as its records are read.
fn prepare_aggregate<R: std::io::BufRead>(
    mut reader: AggregateReader<R>,
    received: i64,
) -> Result<Prepared, ReportError> {
    let header = reader.header().clone();
    let metadata = &header.metadata;
    fit::period(metadata.begin, metadata.end, received)?;
    fit::policy_domains(std::iter::once(header.policy.domain.as_str()))?;
    let organization = organizational_domain(&header.policy.domain);
    // `{"version":…,"metadata":…,"policy":…` then the records: the header
    // is flattened into the report's object.
    let mut head = serde_json::to_vec(&header).map_err(Compressed::error)?;
    head.pop();
    head.extend_from_slice(b",\"records\":[");
    let mut json = Compressed::new();
    json.write(&head)?;
    let (mut records, mut messages) = (0u64, 0u64);
    let mut selectors = BTreeSet::new();
    while let Some(record) = reader.next_record()? {
        if records > 0 {
            json.write(b",")?;
        }
        serde_json::to_writer(&mut json.0, &record).map_err(Compressed::error)?;
        records += 1;
        messages = messages.saturating_add(record.count);
        selectors.extend(own_selectors(&organization, &record));
    }
    json.write(b"]}")?;
    Ok(Prepared {
        kind: ReportKind::Aggregate,
        overview: Overview {
            kind: "aggregate",
            org_name: metadata.org_name.clone(),
            report_id: metadata.report_id.clone(),
            domain: header.policy.domain.clone(),
            begin: metadata.begin,
            end: metadata.end,
            records,
            messages,
        },
        json: json.finish()?,
        selectors: selectors.into_iter().collect(),
    })
}

/// JSON compressed as it is written: a stored report takes about a tenth
/// of its JSON's size, and is never held uncompressed on its way in. The
/// buffer in front gives the compressor large blocks rather than each of
/// the many small writes of a serializer.
struct Compressed(BufWriter<GzEncoder<Vec<u8>>>);

impl Compressed {
    fn new() -> Compressed {
        Compressed(BufWriter::with_capacity(
            64 * 1024,
            GzEncoder::new(Vec::new(), Compression::fast()),
        ))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ReportError> {
        self.0.write_all(bytes).map_err(Compressed::error)
    }

    fn finish(self) -> Result<Vec<u8>, ReportError> {
        let encoder = self
            .0
            .into_inner()
            .map_err(|e| Compressed::error(e.error()))?;
        encoder.finish().map_err(Compressed::error)
    }

    /// Writing to memory does not fail; if it ever did, the report is
    /// refused rather than stored in part.
    fn error(e: impl std::fmt::Display) -> ReportError {
        ReportError::Corrupt {
            container: "stored report",
            message: e.to_string(),
        }
    }
}

impl Prepared {
    /// What the import says about the report.
    pub fn overview(&self) -> &Overview {
        &self.overview
    }

    /// Stores the report unless it is a duplicate, with its selectors.
    pub async fn store(&self, store: &Store) -> Result<Stored, StoreError> {
        let o = &self.overview;
        store
            .store_received(&NewReport {
                kind: self.kind,
                org_name: &o.org_name,
                report_id: &o.report_id,
                domain: &o.domain,
                begin: o.begin,
                end: o.end,
                records: o.records,
                messages: o.messages,
                report: &self.json,
                selectors: &self.selectors,
            })
            .await
    }
}

/// The `(signing domain, selector)` pairs of a record's DKIM results
/// that passed and whose domain belongs to the policy domain's
/// `organization`: the keys the owner's own mail is signed with, not a
/// third party's. Only a signature that verified shows a key exists at
/// the selector; mail forging the domain names any selector and fails.
fn own_selectors<'a>(
    organization: &'a str,
    record: &'a Record,
) -> impl Iterator<Item = (String, String)> + 'a {
    record.dkim.iter().filter_map(move |dkim| {
        let selector = dkim.selector.as_deref()?.trim();
        (dkim.result == AuthResult::Pass
            && !selector.is_empty()
            && organizational_domain(&dkim.domain) == organization)
            .then(|| (dkim.domain.clone(), selector.to_ascii_lowercase()))
    })
}

/// Most records (TLS: policies) of each kind one summary reads for a
/// period (the one asked for, and the one before it), from the most
/// recent report back; the older reports of the period are left out, and
/// the summary says how many. Reports are tallied one at a time, so the
/// summary's memory grows with the distinct source IPs (about 3 KB each),
/// not with the records: this bounds it (about 90 MB a period when every
/// record names a new IP, as a flood of forged reports can; 112 MB peak
/// for a whole `reports summary` of 30,000 such records, measured) within
/// the 256 MiB a pod of docs/deploy.md has with both periods read, and
/// holds months of a typical domain's daily reports.
pub const MAX_RECORDS_PER_SUMMARY: u64 = 30_000;

/// Summaries built at once in this process; the others wait their turn
/// (within their request's timeout), so the bound above holds for the
/// process, not for each of many requests.
const SUMMARIES_AT_ONCE: usize = 1;

static SUMMARY_TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(SUMMARIES_AT_ONCE);

/// What is known of one domain over a period.
#[derive(Debug, Clone, Serialize)]
pub struct DomainSummary {
    pub domain: String,
    /// The start of the period asked for (seconds), when one was.
    pub since: Option<i64>,
    /// Older reports of the period (aggregate and TLS) past
    /// [`MAX_RECORDS_PER_SUMMARY`], not summed up.
    pub reports_left_out: usize,
    #[serde(flatten)]
    pub analysis: Analysis,
    pub tls: TlsSummary,
}

impl DomainSummary {
    /// What the summary leaves out, in a sentence, when it leaves out
    /// reports.
    pub fn left_out_note(&self) -> Option<String> {
        (self.reports_left_out > 0).then(|| {
            format!(
                "{} of this period left out: a summary reads the most recent reports, up to \
                 {} records together (a report of more is never read); choose a later start \
                 to see a shorter period whole.",
                super::summary::counted(self.reports_left_out, "report"),
                super::summary::grouped(MAX_RECORDS_PER_SUMMARY)
            )
        })
    }
}

/// Why a summary could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the summary task failed: {0}")]
    Task(String),
}

/// Sums up the reports stored for `domain` counted on `since` or later
/// (a report is counted on the day of its period's middle; all of them
/// without it). With `since`, the period of the same length before it
/// decides which sources are new.
/// The suggested record edits the domain's live DMARC record; `rua`,
/// when not empty, replaces its report addresses.
#[allow(clippy::too_many_arguments)]
pub async fn summarize_domain(
    store: &Store,
    resolver: &Resolver,
    domain: &str,
    since: Option<i64>,
    now: i64,
    services: Arc<Services>,
    options: &Options,
    rua: &[String],
) -> Result<DomainSummary, SummaryError> {
    let aggregate = |from, until| {
        store.received_reports(
            ReportKind::Aggregate,
            domain,
            from,
            until,
            MAX_RECORDS_PER_SUMMARY,
        )
    };
    // A turn is waited for before anything is read, and moves with the
    // work off the runtime, which goes on when the request that asked is
    // dropped (its timeout): the next summary starts once that work ends.
    let turn = SUMMARY_TURNS
        .acquire()
        .await
        .map_err(|e| SummaryError::Task(e.to_string()))?;
    let current = aggregate(since, None).await?;
    let previous = match since {
        Some(since) => {
            let span = now.saturating_sub(since).max(0);
            aggregate(Some(since.saturating_sub(span)), Some(since)).await?
        }
        None => Received::default(),
    };
    let tls = store
        .received_reports(
            ReportKind::Tls,
            domain,
            since,
            None,
            MAX_RECORDS_PER_SUMMARY,
        )
        .await?;
    let reports_left_out = current.left_out + tls.left_out;
    let (current, previous, tls, turn) = off_runtime(move || {
        Ok::<_, StoreError>((
            tally(current.reports)?,
            tally(previous.reports)?,
            decode::<TlsReport>(&tls.reports)?,
            turn,
        ))
    })
    .await??;
    let ips = ips_by_volume(current.volumes().chain(previous.volumes()));
    let (reverse, live) = tokio::join!(
        reverse_dns(resolver, &ips, options.max_lookups, options.concurrency),
        live_record(resolver, domain)
    );
    let (options, domain, rua) = (options.clone(), domain.to_string(), rua.to_vec());
    off_runtime(move || {
        let _turn = turn;
        let summary = summarize(current, &previous, &reverse, &services, &options);
        let enforcement = enforcement::assess(&summary, &services, &live, &rua);
        let tls = tls_summary(&tls, &domain, options.max_names);
        DomainSummary {
            domain,
            since,
            reports_left_out,
            analysis: Analysis {
                summary,
                enforcement,
            },
            tls,
        }
    })
    .await
}

/// The DMARC record published at `_dmarc.<domain>` now. A DNS failure
/// makes it unreadable, records there that receivers would ignore
/// (several, or one that does not parse) invalid, never absent.
pub async fn live_record(resolver: &Resolver, domain: &str) -> LiveRecord {
    let name = format!("_dmarc.{domain}");
    let set = match dmarc::fetch_txt(resolver, &name).await {
        Ok(set) => set,
        Err(e) => {
            return LiveRecord::Unreadable {
                reason: format!("the DNS lookup of {name} TXT failed: {e}"),
            };
        }
    };
    let records: Vec<&String> = set.texts.iter().filter(|t| dmarc::is_dmarc1(t)).collect();
    match records.as_slice() {
        [] => LiveRecord::Absent,
        [only] => match dmarc::parse(only) {
            Ok(parsed) => LiveRecord::Published {
                record: only.to_string(),
                parsed,
            },
            Err(problems) => LiveRecord::Invalid {
                reason: format!(
                    "the record at {name} is invalid ({}), so receivers ignore it",
                    problems
                        .first()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
            },
        },
        several => LiveRecord::Invalid {
            reason: format!(
                "{} DMARC records are published at {name}, so receivers ignore them all",
                several.len()
            ),
        },
    }
}

async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SummaryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SummaryError::Task(e.to_string()))
}

/// Stored reports read back.
fn decode<T: DeserializeOwned>(stored: &[Vec<u8>]) -> Result<Vec<T>, StoreError> {
    let mut json = Vec::new();
    stored
        .iter()
        .map(|bytes| decode_one(bytes, &mut json))
        .collect()
}

/// The stored aggregate reports tallied one at a time, each dropped (and
/// its stored bytes freed) once added: a summary holds one decoded report
/// at a time, whatever the period holds.
fn tally(stored: Vec<Vec<u8>>) -> Result<PeriodTally, StoreError> {
    let mut json = Vec::new();
    let mut tally = PeriodTally::default();
    for bytes in stored {
        tally.add(&decode_one::<AggregateReport>(&bytes, &mut json)?);
    }
    Ok(tally)
}

/// One stored report: gzip-compressed JSON, inflated into `json`.
fn decode_one<T: DeserializeOwned>(stored: &[u8], json: &mut Vec<u8>) -> Result<T, StoreError> {
    json.clear();
    GzDecoder::new(stored)
        .read_to_end(json)
        .map_err(|e| StoreError::CorruptReport(serde_json::Error::io(e)))?;
    serde_json::from_slice(json).map_err(StoreError::CorruptReport)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(path: &str) -> Prepared {
        let file = std::fs::File::open(path).expect(path);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        prepare(file, &Limits::default(), now).expect(path)
    }

    #[test]
    fn stored_reports_read_back_as_parsed() {
        for path in [
            "fixtures/reports/aggregate/quirks.xml",
            "fixtures/reports/aggregate/rfc9990.xml",
        ] {
            let Report::Aggregate(report) =
                super::super::parse(std::fs::read(path).unwrap(), &Limits::default()).unwrap()
            else {
                panic!("{path}: not an aggregate report");
            };
            let back: Vec<AggregateReport> = decode(&[prepared(path).json]).unwrap();
            assert_eq!(back, vec![report], "{path}");
        }
        let path = "fixtures/reports/tls/microsoft.json";
        let Report::Tls(report) =
            super::super::parse(std::fs::read(path).unwrap(), &Limits::default()).unwrap()
        else {
            panic!("{path}: not a TLS report");
        };
        let back: Vec<TlsReport> = decode(&[prepared(path).json]).unwrap();
        assert_eq!(back, vec![report]);
    }
}
