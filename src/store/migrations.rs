//! The schema, as numbered migrations embedded in the binary and applied
//! at open (see the module doc of [`crate::store`] for adding one).
//!
//! One SQL text serves both back ends: it uses only types both accept —
//! `TEXT`, `BIGINT` (an integer column to SQLite) and `BYTEA` (bytes kept
//! as given by SQLite, which knows no such name) — and only SQL both
//! read. `tests/it/store.rs` holds the two databases to the same tables and
//! columns.

use sqlx::AnyConnection;
use sqlx::SqlSafeStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

/// One step of the schema.
pub struct Step {
    /// Applied in increasing order; never reused or renumbered.
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

/// Every step, oldest first. A new one goes at the end.
pub const MIGRATIONS: &[Step] = &[
    Step {
        version: 1,
        description: "message reports",
        sql: include_str!("migrations/0001_message_reports.sql"),
    },
    Step {
        version: 2,
        description: "inbox tokens",
        sql: include_str!("migrations/0002_inbox_tokens.sql"),
    },
    Step {
        version: 3,
        description: "learned DKIM selectors",
        sql: include_str!("migrations/0003_dkim_selectors.sql"),
    },
    Step {
        version: 4,
        description: "inbox tokens keep_raw",
        sql: include_str!("migrations/0004_inbox_keep_raw.sql"),
    },
    Step {
        version: 5,
        description: "received DMARC aggregate and TLS reports",
        sql: include_str!("migrations/0005_received_reports.sql"),
    },
];

/// Applies the steps the database has not seen yet, each in its own
/// transaction, after checking that those it has seen are unchanged.
pub(super) async fn apply(conn: &mut AnyConnection) -> Result<(), MigrateError> {
    let steps = MIGRATIONS
        .iter()
        .map(|step| {
            Migration::new(
                step.version,
                step.description.into(),
                MigrationType::Simple,
                step.sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(steps).run(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_without_gaps() {
        for (i, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(step.version, i as i64 + 1, "{}", step.description);
        }
    }
}
