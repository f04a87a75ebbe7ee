//! The sweeper: deletes what has expired, so a report is really gone
//! (not merely hidden) soon after its retention ends.
//!
//! Reads already treat expired rows as gone; sweeping is for privacy and
//! space. It deletes in batches so SQLite's single writer is never held
//! long and a PostgreSQL transaction stays small; replicas sweeping the
//! same database at once are harmless (a row is deleted once, the other
//! delete finds nothing).

use super::{Store, StoreError, to_db};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often `serve` sweeps.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Rows deleted per statement.
const BATCH: i64 = 1000;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Saved reports past their expiry (with their raw messages).
    pub reports: u64,
    /// Test addresses past their expiry plus the retention.
    pub inboxes: u64,
}

impl Store {
    /// Deletes every expired row now.
    pub async fn sweep(&self) -> Result<Swept, StoreError> {
        const REPORTS: &str = "DELETE FROM message_reports WHERE id IN \
             (SELECT id FROM message_reports WHERE expires_at <= $1 LIMIT $2)";
        const INBOXES: &str = "DELETE FROM inbox_tokens WHERE token IN \
             (SELECT token FROM inbox_tokens WHERE expires_at <= $1 LIMIT $2)";
        let now = self.now();
        let inboxes_until = now.saturating_sub(self.retention.as_secs());
        Ok(Swept {
            reports: self.delete_in_batches(REPORTS, now).await?,
            inboxes: self.delete_in_batches(INBOXES, inboxes_until).await?,
        })
    }

    /// Runs [`Store::sweep`] at once and then every `every` (at least a
    /// millisecond) until the task is aborted, logging what it deleted
    /// and any failure (the next sweep tries again). Call it from within
    /// the tokio runtime.
    pub fn spawn_sweeper(&self, every: Duration) -> JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.sweep().await {
                    Ok(swept) if swept != Swept::default() => tracing::info!(
                        reports = swept.reports,
                        inboxes = swept.inboxes,
                        "store: deleted what expired"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "store: the sweep failed"),
                }
            }
        })
    }

    /// Runs `delete` (parameters: the cut-off time, the batch size) until
    /// a batch comes back short; the number of rows deleted.
    async fn delete_in_batches(&self, delete: &'static str, until: u64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(delete)
                .bind(to_db(until))
                .bind(BATCH)
                .execute(&self.pool)
                .await?
                .rows_affected();
            total += deleted;
            if deleted < BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
