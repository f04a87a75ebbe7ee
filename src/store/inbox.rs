//! One-time test addresses ("send your campaign to this address"): a
//! token that accepts exactly one message until it expires, and then
//! points at that message's saved report.
//!
//! Accepting the message is one transaction — save the report, mark the
//! token received — whose update only succeeds on a token still waiting
//! and unexpired. Two receivers racing for one token (two replicas on one
//! PostgreSQL) both save, but only one update matches: PostgreSQL
//! re-checks the row's condition after the first commits, SQLite lets one
//! writer in at a time. The loser rolls back, so its report never exists.
//!
//! The row is kept for the store's retention after the token expires, so
//! its page says "expired" rather than "unknown" for that long; a report
//! deleted meanwhile leaves the token `received` with no report.

use super::reports::{self, SavedReport};
use super::{InboxToken, ReportId, Store, StoreError, from_db, later, to_db};
use sqlx::Row;
use std::time::Duration;

/// A test address as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub token: InboxToken,
    /// The address as handed out.
    pub address: String,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The first second it no longer accepts a message.
    pub expires_at: u64,
    pub status: InboxStatus,
    /// Keep the message's raw bytes beside its report (the sender asked).
    pub keep_raw: bool,
}

/// Where a test address stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxStatus {
    /// No message yet; one is still accepted.
    Waiting,
    /// Its message arrived at `at`; `report` is `None` once that report
    /// was deleted or swept.
    Received { at: u64, report: Option<ReportId> },
    /// No message came before it expired.
    Expired,
}

/// What became of a message delivered to a test address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This message is the token's one message; its report is saved.
    Accepted(SavedReport),
    /// Another message got there first; nothing was saved.
    AlreadyReceived,
    /// The token expired unused; nothing was saved.
    Expired,
    /// No such token (never made, or swept); nothing was saved.
    Unknown,
}

const WAITING: &str = "waiting";
const RECEIVED: &str = "received";

impl Store {
    /// Records a new test address, accepting one message for `ttl`, whose
    /// raw bytes are kept beside its report only with `keep_raw`. The
    /// caller makes the token ([`InboxToken::generate`]) and the address
    /// from it.
    pub async fn create_inbox(
        &self,
        token: &InboxToken,
        address: &str,
        ttl: Duration,
        keep_raw: bool,
    ) -> Result<Inbox, StoreError> {
        const INSERT: &str = "INSERT INTO inbox_tokens \
             (token, address, status, created_at, expires_at, keep_raw) \
             VALUES ($1, $2, $3, $4, $5, $6)";
        let now = self.now();
        let expires_at = later(now, ttl);
        sqlx::query(INSERT)
            .bind(token.as_str())
            .bind(address)
            .bind(WAITING)
            .bind(to_db(now))
            .bind(expires_at)
            .bind(i64::from(keep_raw))
            .execute(&self.pool)
            .await?;
        Ok(Inbox {
            token: *token,
            address: address.to_string(),
            created_at: now,
            expires_at: from_db(expires_at),
            status: InboxStatus::Waiting,
            keep_raw,
        })
    }

    /// The test address of `token`, unless unknown or past its keeping
    /// (expiry plus retention).
    pub async fn inbox(&self, token: &InboxToken) -> Result<Option<Inbox>, StoreError> {
        const SELECT: &str = "SELECT address, status, created_at, expires_at, received_at, \
             report_id, keep_raw FROM inbox_tokens WHERE token = $1 AND expires_at > $2";
        let now = self.now();
        let row = sqlx::query(SELECT)
            .bind(token.as_str())
            .bind(to_db(now.saturating_sub(self.retention.as_secs())))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at = from_db(row.try_get("expires_at")?);
        let status = match row.try_get::<Option<i64>, _>("received_at")? {
            Some(at) => InboxStatus::Received {
                at: from_db(at),
                // A report id in the row was written by us; anything else
                // reads as no report rather than as an error.
                report: row
                    .try_get::<Option<String>, _>("report_id")?
                    .and_then(|id| id.parse().ok()),
            },
            None if now < expires_at => InboxStatus::Waiting,
            None => InboxStatus::Expired,
        };
        Ok(Some(Inbox {
            token: *token,
            address: row.try_get("address")?,
            created_at: from_db(row.try_get("created_at")?),
            expires_at,
            status,
            keep_raw: row.try_get::<i64, _>("keep_raw")? != 0,
        }))
    }

    /// Delivers a message's report to the test address `token`: saved and
    /// [`Claim::Accepted`] only if the token is waiting and unexpired and
    /// no other delivery wins the race; otherwise nothing is saved.
    pub async fn claim_inbox(
        &self,
        token: &InboxToken,
        report: &serde_json::Value,
        raw_message: Option<&[u8]>,
    ) -> Result<Claim, StoreError> {
        const CLAIM: &str = "UPDATE inbox_tokens \
             SET status = $2, received_at = $3, report_id = $4 \
             WHERE token = $1 AND status = $5 AND expires_at > $3";
        const WHY_NOT: &str = "SELECT status FROM inbox_tokens WHERE token = $1";
        let _turn = self.write_turn().await;
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        // The insert comes first so that SQLite takes its write lock (and
        // waits its turn for it) at once, before anything is read.
        let saved = reports::insert(&mut *tx, now, self.retention, report, raw_message).await?;
        let claimed = sqlx::query(CLAIM)
            .bind(token.as_str())
            .bind(RECEIVED)
            .bind(to_db(now))
            .bind(saved.id.as_str())
            .bind(WAITING)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 1 {
            tx.commit().await?;
            return Ok(Claim::Accepted(saved));
        }
        let status: Option<String> = sqlx::query_scalar(WHY_NOT)
            .bind(token.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(match status.as_deref() {
            None => Claim::Unknown,
            Some(RECEIVED) => Claim::AlreadyReceived,
            Some(_) => Claim::Expired,
        })
    }
}
