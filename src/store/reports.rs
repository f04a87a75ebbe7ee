//! Saved message reports: the report of one message kept under an
//! unguessable id for the store's retention, so its permalink can be
//! shared; the raw message beside it only when the sender asked for that
//! (`keep_raw`).
//!
//! A report whose expiry has passed reads as gone at once, whether or not
//! the sweeper has deleted it yet.

use super::{ReportId, Store, StoreError, from_db, later, to_db};
use sqlx::{Any, Executor, Row};

/// What saving a report gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReport {
    pub id: ReportId,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The first second it reads as gone.
    pub expires_at: u64,
}

/// A saved report as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub id: ReportId,
    /// The report exactly as saved.
    pub report: serde_json::Value,
    /// Whether the raw message was kept ([`Store::raw_message`]).
    pub raw_kept: bool,
    pub created_at: u64,
    pub expires_at: u64,
}

impl Store {
    /// Saves a message report under a new id for the store's retention.
    /// Pass `raw_message` only when the sender asked to keep it; its
    /// size is the caller's to bound (the message size limit).
    pub async fn save_report(
        &self,
        report: &serde_json::Value,
        raw_message: Option<&[u8]>,
    ) -> Result<SavedReport, StoreError> {
        insert(&self.pool, self.now(), self.retention, report, raw_message).await
    }

    /// The report saved under `id`, unless it was deleted or has expired.
    /// The raw message is read separately ([`Store::raw_message`]): a page
    /// never needs it, and it may be megabytes.
    pub async fn report(&self, id: &ReportId) -> Result<Option<StoredReport>, StoreError> {
        const SELECT: &str = "SELECT report, \
             CAST(CASE WHEN raw_message IS NULL THEN 0 ELSE 1 END AS BIGINT) AS raw_kept, \
             created_at, expires_at \
             FROM message_reports WHERE id = $1 AND expires_at > $2";
        let row = sqlx::query(SELECT)
            .bind(id.as_str())
            .bind(to_db(self.now()))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text: String = row.try_get("report")?;
        Ok(Some(StoredReport {
            id: *id,
            report: serde_json::from_str(&text).map_err(StoreError::CorruptReport)?,
            raw_kept: row.try_get::<i64, _>("raw_kept")? != 0,
            created_at: from_db(row.try_get("created_at")?),
            expires_at: from_db(row.try_get("expires_at")?),
        }))
    }

    /// The raw message kept with the report `id`: `None` when the report
    /// is gone or was saved without it.
    pub async fn raw_message(&self, id: &ReportId) -> Result<Option<Vec<u8>>, StoreError> {
        const SELECT: &str =
            "SELECT raw_message FROM message_reports WHERE id = $1 AND expires_at > $2";
        let raw: Option<Option<Vec<u8>>> = sqlx::query_scalar(SELECT)
            .bind(id.as_str())
            .bind(to_db(self.now()))
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.flatten())
    }

    /// Deletes the report `id` (and its raw message) now. Says whether
    /// there was one to delete: `false` for an unknown id, a second
    /// delete, or a report already expired (whose row this removes too).
    pub async fn delete_report(&self, id: &ReportId) -> Result<bool, StoreError> {
        const DELETE: &str = "DELETE FROM message_reports WHERE id = $1 RETURNING expires_at";
        let expires_at: Option<i64> = sqlx::query_scalar(DELETE)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(expires_at.is_some_and(|at| from_db(at) > self.now()))
    }
}

/// Inserts a report through `executor`: the pool, or the transaction of
/// an inbox claim that must save it only if it wins.
pub(super) async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    now: u64,
    retention: std::time::Duration,
    report: &serde_json::Value,
    raw_message: Option<&[u8]>,
) -> Result<SavedReport, StoreError> {
    const INSERT: &str = "INSERT INTO message_reports \
         (id, report, raw_message, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    let id = ReportId::generate()?;
    let expires_at = later(now, retention);
    sqlx::query(INSERT)
        .bind(id.as_str())
        .bind(report.to_string())
        .bind(raw_message)
        .bind(to_db(now))
        .bind(expires_at)
        .execute(executor)
        .await?;
    Ok(SavedReport {
        id,
        created_at: now,
        expires_at: from_db(expires_at),
    })
}
