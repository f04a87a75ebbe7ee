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
use crate::store::Store;
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
        value_parser = parse_retention
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
        let store = Store::open(&self.url())
            .await
            .map_err(|e| UsageError::from(format!("--database: {e}")))?;
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

/// `7d`, `12h`, `30m` or `90s`: from one minute to ten years.
fn parse_retention(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let seconds_per = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("`{s}`: write a number and d, h, m or s, e.g. 7d")),
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per))
        .ok_or_else(|| format!("`{s}` is not a duration; write e.g. 7d or 12h"))?;
    if !(60..=10 * 365 * 86_400).contains(&seconds) {
        return Err(format!("`{s}` is out of range (1m to 3650d)"));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DEFAULT_RETENTION;

    #[test]
    fn the_flag_default_is_the_store_default() {
        assert_eq!(parse_retention("7d").unwrap(), DEFAULT_RETENTION);
    }

    #[test]
    fn retentions() {
        assert_eq!(parse_retention("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_retention("30m").unwrap(), Duration::from_secs(1_800));
        assert!(parse_retention("30").is_err());
        assert!(parse_retention("10s").is_err());
        assert!(parse_retention("99999999999999999d").is_err());
        assert!(parse_retention("d").is_err());
    }
}
