//! DMARC aggregate reports and SMTP TLS reports as received: each kept
//! once, as the bytes the reports layer writes (its parsed form,
//! compressed), under the key that makes a second arrival a duplicate
//! (RFC 7489 §7.2 lets reporters resend).
//!
//! A report is one row, however many `<record>` rows it has: the store
//! never reads records one by one, only a domain's reports of a period,
//! whole, for a summary. One insert per report keeps a 20,000-record
//! report a single write, and the row carries the key, the period and
//! the counts a listing shows without reading the JSON.
//!
//! Storing a report and learning the DKIM selectors it names happen in
//! one transaction: a duplicate teaches nothing, and a failed insert
//! leaves no selector behind. Selectors a report names that are not
//! fit to be asked for (see [`super::selectors`]) are skipped, not an
//! error: the report is still good data.
//!
//! Received reports do not expire with `--report-retention` (that is the
//! permalinks' lifetime); they are the owner's history.

use super::selectors::{learn, normalize};
use super::{Store, StoreError, from_db, to_db};
use sqlx::Row;

/// The two kinds of report received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// A DMARC aggregate report (RFC 7489 Appendix C, RFC 9990).
    Aggregate,
    /// An SMTP TLS report (RFC 8460).
    Tls,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Aggregate => "aggregate",
            ReportKind::Tls => "tls",
        }
    }
}

/// A report to store.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub kind: ReportKind,
    pub org_name: &'a str,
    pub report_id: &'a str,
    /// The policy domain the report is about.
    pub domain: &'a str,
    /// The period, seconds since the epoch.
    pub begin: i64,
    pub end: i64,
    /// `<record>` rows (TLS: policies) and the sum of their counts (TLS:
    /// sessions).
    pub records: u64,
    pub messages: u64,
    /// The report as its reader keeps it (mailvet: gzip-compressed JSON
    /// of the parsed report): what [`Store::received_reports`] gives back.
    pub report: &'a [u8],
    /// `(signing domain, selector)` pairs the report names, remembered
    /// as seen at the end of its period, or when it is stored if that is
    /// earlier.
    pub selectors: &'a [(String, String)],
}

/// What storing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    /// The same reporter, report id, domain and period was already kept;
    /// nothing was written.
    Duplicate,
}

/// Most bytes of a reporter's name or report id: PostgreSQL cannot index
/// much longer keys, and no real reporter comes near.
const MAX_KEY_TEXT: usize = 1024;

/// Most selectors remembered from one report: a forged report must not
/// fill the table.
const MAX_SELECTORS_PER_REPORT: usize = 100;

impl Store {
    /// Stores a received report unless it is a duplicate, and remembers
    /// the DKIM selectors it names.
    pub async fn store_received(&self, report: &NewReport<'_>) -> Result<Stored, StoreError> {
        const INSERT: &str = "INSERT INTO received_reports \
             (kind, org_name, report_id, domain, begin_at, end_at, records, messages, \
              report, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (kind, org_name, report_id, domain, begin_at, end_at) DO NOTHING";
        let domain = normalize(report.domain, "a report's domain")?;
        let org_name = key_text(report.org_name, "a report's org_name")?;
        let report_id = key_text(report.report_id, "a report's report_id")?;
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(INSERT)
            .bind(report.kind.as_str())
            .bind(org_name)
            .bind(report_id)
            .bind(domain.as_str())
            .bind(report.begin)
            .bind(report.end)
            .bind(to_db(report.records))
            .bind(to_db(report.messages))
            .bind(report.report)
            .bind(to_db(self.now()))
            .execute(&mut *tx)
            .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Stored::Duplicate);
        }
        // A period ending after its import teaches no later time than that.
        let seen_at = from_db(report.end).min(self.now());
        for (signer, selector) in report.selectors.iter().take(MAX_SELECTORS_PER_REPORT) {
            match learn(&mut *tx, signer, selector, seen_at).await {
                Ok(()) | Err(StoreError::Invalid { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(Stored::New)
    }

    /// The reports of `kind` about `domain` (as stored) whose period's
    /// middle (as `reports::dates::middle` takes it, the moment a report is
    /// counted on) is in `since..until` (seconds; either open), oldest
    /// first: the
    /// most recent ones, as many as hold at most `max_records` records
    /// together. A report of more records than that alone is passed over,
    /// so no single report can take a summary past its bound; it counts
    /// among those left out.
    pub async fn received_reports(
        &self,
        kind: ReportKind,
        domain: &str,
        since: Option<i64>,
        until: Option<i64>,
        max_records: u64,
    ) -> Result<Received, StoreError> {
        const WHERE: &str = "FROM received_reports \
             WHERE kind = $1 AND domain = $2 \
             AND begin_at / 2 + end_at / 2 >= $3 AND begin_at / 2 + end_at / 2 < $4";
        const NEWEST_FIRST: &str = "ORDER BY begin_at DESC, org_name, report_id";
        let domain = normalize(domain, "a domain")?;
        let (since, until) = (since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX));
        // The sizes first, so no more reports are read than fit.
        let sizes: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT records {WHERE} {NEWEST_FIRST}"
        )))
        .bind(kind.as_str())
        .bind(domain.as_str())
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        let mut total = 0u64;
        let fitting = sizes
            .iter()
            .map(|&records| from_db(records))
            .filter(|&records| records <= max_records)
            .take_while(|&records| {
                total = total.saturating_add(records);
                total <= max_records
            })
            .count();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT report {WHERE} AND records <= $5 {NEWEST_FIRST} LIMIT $6"
        )))
        .bind(kind.as_str())
        .bind(domain.as_str())
        .bind(since)
        .bind(until)
        .bind(i64::try_from(max_records).unwrap_or(i64::MAX))
        .bind(i64::try_from(fitting).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut reports = rows
            .iter()
            .map(|row| row.try_get::<Vec<u8>, _>("report"))
            .collect::<Result<Vec<_>, _>>()?;
        reports.reverse();
        Ok(Received {
            reports,
            left_out: sizes.len() - fitting,
        })
    }
}

/// The reports [`Store::received_reports`] read back, oldest first.
#[derive(Debug, Default)]
pub struct Received {
    /// Each report as stored (gzip-compressed JSON).
    pub reports: Vec<Vec<u8>>,
    /// The older reports of the period past the record cap, not read.
    pub left_out: usize,
}

/// A key field as stored: refused when too long for an index or holding
/// NUL (which PostgreSQL text cannot hold).
fn key_text<'a>(text: &'a str, what: &'static str) -> Result<&'a str, StoreError> {
    let invalid = |reason| StoreError::Invalid { what, reason };
    if text.len() > MAX_KEY_TEXT {
        return Err(invalid("it is longer than 1024 bytes"));
    }
    if text.contains('\0') {
        return Err(invalid("it holds a NUL character"));
    }
    Ok(text)
}
