//! What can go wrong in the store, in words an operator can act on. URLs
//! in these messages have their password hidden.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot use the database URL {url}: {reason} \
         (expected sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE)"
    )]
    UnsupportedUrl { url: String, reason: &'static str },

    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "there is no database at {}: nothing was stored there; name the one `mailvet reports \
         import` or `mailvet serve` uses",
        path.display()
    )]
    NoDatabase { path: PathBuf },

    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },

    #[error(
        "cannot bring the schema of the database {url} up to date: {source} \
         (was it written by a newer mailvet, or edited by hand?)"
    )]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },

    #[error("the database failed: {0}")]
    Database(#[from] sqlx::Error),

    #[error("a stored report is not valid JSON: {0}")]
    CorruptReport(serde_json::Error),

    #[error("a stored token is not 32 hexadecimal digits (was the database edited by hand?)")]
    CorruptToken,

    #[error("the system's random number generator failed")]
    Random,

    #[error("refused to store {what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
}
