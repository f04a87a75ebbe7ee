//! The schema, as numbered migrations embedded in the binary and applied
//! at open (see the module doc of [`crate::store`] for adding one): each
//! file `migrations/NNNN_description.sql` is a step, found by the build,
//! so adding one is adding its file.
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

// `MIGRATIONS`: every step, oldest first, one a file of `migrations/`
// (`NNNN_description.sql`), listed by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

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
