//! Where the commands that keep data find the store: `--database`,
//! `--data-dir` and `--report-retention`, shared by `serve` and the
//! commands that read or write what it keeps.
//!
//! This module decides the defaults a newcomer gets with nothing
//! installed: a SQLite file `mailvet.db` in the data directory
//! (`$MAILVET_DATA_DIR`, else `$XDG_DATA_HOME/mailvet`, else
//! `~/.local/share/mailvet`, else `./mailvet-data`), created on first
//! start; saved reports are kept 7 days. PostgreSQL is chosen by giving
//! `--database postgres://…`.

use super::UsageError;
use super::values::parse_period;
use crate::store::{Store, StoreError};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Stored reports")]
pub struct StoreArgs {
    /// The database: `sqlite://PATH` (created on first start) or
    /// `postgres://USER:PASSWORD@HOST/DB` when several replicas share what
    /// they store. Default: the SQLite file mailvet.db in --data-dir.
    #[arg(long, value_name = "URL", env = "MAILVET_DATABASE")]
    pub database: Option<String>,

    /// Directory of the default SQLite database (created when missing).
    /// Default: $XDG_DATA_HOME/mailvet, else ~/.local/share/mailvet, else
    /// ./mailvet-data.
    #[arg(long, value_name = "DIR", env = "MAILVET_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// How long a saved report (and its raw message, when kept) stays
    /// readable before it is deleted: e.g. 7d, 12h, 30m.
    #[arg(
        long,
        value_name = "DURATION",
        env = "MAILVET_REPORT_RETENTION",
        default_value = "7d",
        value_parser = parse_period
    )]
    pub report_retention: Duration,
}

impl StoreArgs {
    /// The database URL these flags name.
    pub fn url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => Store::default_url(&self.data_dir.clone().unwrap_or_else(default_data_dir)),
        }
    }

    /// Opens the store (creating a SQLite file and bringing the schema up
    /// to date); a database that cannot be opened is a usage error naming
    /// the URL (its password hidden) and the reason.
    pub async fn open(&self) -> Result<Store, UsageError> {
        self.opened(Store::open(&self.url()).await)
    }

    /// [`StoreArgs::open`] for a command that only reads: a SQLite file
    /// that does not exist is refused, not created empty.
    pub async fn open_existing(&self) -> Result<Store, UsageError> {
        self.opened(Store::open_existing(&self.url()).await)
    }

    fn opened(&self, opened: Result<Store, StoreError>) -> Result<Store, UsageError> {
        // Named by the flag that chose the database: the default one is in
        // the data directory.
        let flag = match (&self.database, &self.data_dir) {
            (None, Some(_)) => "--data-dir",
            (None, None) => "the default database (--data-dir, --database)",
            (Some(_), _) => "--database",
        };
        let store = opened.map_err(|e| UsageError::from(format!("{flag}: {e}")))?;
        Ok(store.with_retention(self.report_retention))
    }
}

/// The data directory when `--data-dir` is not given.
fn default_data_dir() -> PathBuf {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(xdg) = non_empty("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("mailvet");
    }
    if let Some(home) = non_empty("HOME") {
        return PathBuf::from(home).join(".local/share/mailvet");
    }
    PathBuf::from("mailvet-data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DEFAULT_RETENTION;

    #[test]
    fn the_flag_default_is_the_store_default() {
        assert_eq!(parse_period("7d").unwrap(), DEFAULT_RETENTION);
    }

    #[test]
    fn retentions() {
        assert_eq!(parse_period("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_period("30m").unwrap(), Duration::from_secs(1_800));
        assert!(parse_period("30").is_err());
        assert!(parse_period("10s").is_err());
        assert!(parse_period("99999999999999999d").is_err());
        assert!(parse_period("d").is_err());
    }
}
