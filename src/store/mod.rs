//! The store: what must outlive a request — saved message reports, the
//! test inbox's one-time addresses, received DMARC aggregate and TLS
//! reports, DKIM selectors learned from them, and the secret URL each
//! domain's TLS reports are posted to.
//!
//! It keeps reports as data (JSON text and bytes) and knows nothing of the
//! checks that made them: it imports no other layer of mailvet. It runs
//! on sqlx with two back ends that execute the *same* query text through
//! `sqlx::Any` (parameters are written `$1`, `$2`…, which both SQLite and
//! PostgreSQL read):
//!
//! - **SQLite** by default: `sqlite://PATH`, a file created (with its
//!   directory) on first start; [`Store::default_url`] puts it in the data
//!   directory. Nothing to install. One process uses it.
//! - **PostgreSQL** by `postgres://USER:PASSWORD@HOST/DB`, when several
//!   replicas must share what they store; TLS (rustls) with
//!   `?sslmode=verify-full`, trusting the Mozilla roots or
//!   `&sslrootcert=FILE`.
//!
//! Times are seconds since the Unix epoch (`BIGINT`; `sqlx::Any` carries
//! no date type). Reports and inbox addresses carry their own expiry,
//! and every read treats an expired row as gone, so what the [`sweeper`]
//! has not deleted yet is never served.
//!
//! # The schema, and how a feature adds its tables
//!
//! The schema is a list of numbered migrations embedded in the binary
//! ([`migrations`]) and applied by [`Store::open`]; sqlx records each in
//! `_sqlx_migrations` with a checksum, and PostgreSQL replicas starting
//! together take an advisory lock so only one applies them. A feature that
//! needs tables:
//!
//! 1. writes `src/store/migrations/NNNN_description.sql` with the next
//!    free number, in SQL that both back ends run (see [`migrations`] for
//!    the types to use); the build lists it in
//!    [`migrations::MIGRATIONS`];
//! 2. adds a module here with its types and the functions on [`Store`]
//!    that read and write those tables (like [`reports`], [`inbox`],
//!    [`received`], [`selectors`], [`tls_endpoints`]), and the expiry of
//!    its rows to the [`sweeper`] if they expire;
//! 3. tests them in `tests/it/store.rs` (or a test module of its own using
//!    `on_both_back_ends!` from `tests/it/support/store.rs`), so every test
//!    runs on both back ends, and adds its tables to the schema test.
//!
//! An applied migration is never edited (its checksum would no longer
//! match and [`Store::open`] refuses the database); a change is a new
//! migration.

mod error;
pub mod id;
pub mod inbox;
pub mod migrations;
pub mod received;
pub mod reports;
pub mod selectors;
pub mod sweeper;
pub mod tls_endpoints;

pub use error::StoreError;
pub use id::{InboxToken, InvalidId, ReportId, TlsReportToken};
pub use inbox::{Claim, Inbox, InboxStatus};
pub use received::{NewReport, ReportKind, Stored};
pub use reports::{SavedReport, StoredReport};
pub use selectors::LearnedSelector;
pub use sweeper::Swept;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a saved report is kept unless told otherwise
/// (`--report-retention`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long a query waits for a free connection (or a new one) before
/// failing: a database that does not answer is an error, not a request
/// that hangs.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The file name of the SQLite database in the data directory.
pub const SQLITE_FILE: &str = "mailvet.db";

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The back end a database URL names, by its scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

/// A handle on the database: cheap to clone (clones share one pool of
/// connections), safe to use from many tasks at once.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    retention: Duration,
    clock: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// SQLite's one writer at a time, taken before a transaction that
    /// writes begins ([`Store::write_turn`]); `None` for PostgreSQL.
    writer: Option<Arc<tokio::sync::Semaphore>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// [`Store::open`] for a command that reads what others stored (and
    /// at most notes what it found): a SQLite file that does not exist is
    /// an error, not a new empty database (a mistyped path would otherwise
    /// read as "nothing stored").
    pub async fn open_existing(url: &str) -> Result<Store, StoreError> {
        if Backend::of_url(url) == Some(Backend::Sqlite) {
            let (path, query) = sqlite_parts(url)?;
            // An in-memory URL is refused by `open`, in its own words.
            if !in_memory(&path, query) && !Path::new(&path).exists() {
                return Err(StoreError::NoDatabase {
                    path: PathBuf::from(path),
                });
            }
        }
        Store::open(url).await
    }

    /// Opens (and for SQLite creates) the database at `url` and brings its
    /// schema up to date.
    ///
    /// `sqlite://PATH` (relative to the working directory, or
    /// `sqlite:///absolute/path`) creates the file and its directory when
    /// missing; `postgres://…` connects to a server whose database must
    /// exist. Errors name the URL with any password hidden.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let shown = redact(url);
        let backend = Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl {
            url: shown.clone(),
            reason: "unknown scheme",
        })?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite(url)?,
            Backend::Postgres => url.to_string(),
        };
        sqlx::any::install_default_drivers();
        let open_error = |source| StoreError::Open {
            url: shown.clone(),
            source,
        };
        // One connection first, without the pool's retries, so that a
        // server that refuses or a file that cannot be opened is reported
        // as such at once; it also brings the schema up to date.
        let mut conn = AnyConnection::connect(&url).await.map_err(open_error)?;
        if backend == Backend::Sqlite {
            // Readers then never wait for the writer, nor it for them;
            // the mode is kept in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut conn)
                .await
                .map_err(open_error)?;
        }
        migrations::apply(&mut conn)
            .await
            .map_err(|source| StoreError::Migrate {
                url: shown.clone(),
                source,
            })?;
        conn.close().await.map_err(open_error)?;
        let mut options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        if backend == Backend::Sqlite {
            // Under WAL this loses no commit when mailvet crashes (only a
            // power loss can undo the last ones) and spares an fsync per
            // commit; the setting is per connection.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(conn)
                        .await
                        .map(drop)
                })
            });
        }
        let pool = options.connect_lazy(&url).map_err(open_error)?;
        Ok(Store {
            pool,
            backend,
            retention: DEFAULT_RETENTION,
            clock: Arc::new(system_now),
            writer: (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Semaphore::new(1))),
        })
    }

    /// The SQLite URL of the database file in `data_dir`: where `serve`
    /// keeps its data when no `--database` is given.
    pub fn default_url(data_dir: &Path) -> String {
        let path = data_dir.join(SQLITE_FILE);
        let mut url = String::from("sqlite://");
        for &byte in path.as_os_str().as_encoded_bytes() {
            // sqlx percent-decodes the path, so '%', '?' and '#' in a
            // directory name must not be read as URL syntax.
            if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
                url.push(byte as char);
            } else {
                url.push_str(&format!("%{byte:02X}"));
            }
        }
        url
    }

    /// The same store with reports saved from now on kept for `retention`
    /// (the sweeper also keeps expired inbox addresses this long, so their
    /// page can still say "expired").
    pub fn with_retention(mut self, retention: Duration) -> Store {
        self.retention = retention;
        self
    }

    /// The same store reading the time (seconds since the Unix epoch)
    /// from `clock` instead of the system: for tests of expiry.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Store {
        self.clock = Arc::new(clock);
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Waits for the connections in use to be returned, then closes them
    /// all (every clone of this store stops working).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Waits for this process's turn to write to SQLite (PostgreSQL: at
    /// once). SQLite lets one writer in at a time, and a transaction
    /// waiting for its lock holds a pooled connection meanwhile: a burst
    /// of writers (a hundred test messages arriving at once) would hold
    /// every connection and starve the readers until their acquire
    /// timeout. Waiting here holds none.
    async fn write_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match &self.writer {
            Some(writer) => writer.acquire().await.ok(),
            None => None,
        }
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A time as the database keeps it (`BIGINT`); times past the year
/// 292 billion are clamped rather than wrapped.
fn to_db(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// A time as read from the database; a negative value (only written by
/// hand) reads as the epoch.
fn from_db(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0)
}

/// `start` plus `duration`, as the database keeps times.
fn later(start: u64, duration: Duration) -> i64 {
    to_db(start.saturating_add(duration.as_secs()))
}

/// The file path and the query of a `sqlite://…` URL.
fn sqlite_parts(url: &str) -> Result<(String, &str), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = percent_decode(path).ok_or_else(|| StoreError::UnsupportedUrl {
        url: redact(url),
        reason: "the path is not UTF-8",
    })?;
    Ok((path, query))
}

/// Whether a `sqlite://` URL's path and query name an in-memory database.
fn in_memory(path: &str, query: &str) -> bool {
    let names_mode = form_urlencoded::parse(query.as_bytes()).any(|(key, _)| key == "mode");
    path.is_empty() || path == ":memory:" || (names_mode && query.contains("mode=memory"))
}

/// The URL sqlx is given for `sqlite://…`: the file is created when
/// missing (`mode=rwc`) unless the URL says otherwise, and so is its
/// directory.
fn prepare_sqlite(url: &str) -> Result<String, StoreError> {
    let (path, query) = sqlite_parts(url)?;
    let unsupported = |reason| StoreError::UnsupportedUrl {
        url: url.to_string(),
        reason,
    };
    let names_mode = form_urlencoded::parse(query.as_bytes()).any(|(key, _)| key == "mode");
    if in_memory(&path, query) {
        // sqlx would give each pooled connection a database of its own.
        return Err(unsupported(
            "an in-memory SQLite database is not shared between connections; give a file path",
        ));
    }
    if let Some(dir) = Path::new(&path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(if names_mode {
        url.to_string()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    })
}

/// `%XX` escapes decoded, as sqlx decodes a SQLite path; `None` when the
/// result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `url` with the password, if any, replaced by `***`, fit for logs and
/// error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_back_end() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite:x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://h/db"), Some(Backend::Postgres));
        assert_eq!(
            Backend::of_url("PostgreSQL://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
        assert_eq!(Backend::of_url("/var/lib/mailvet.db"), None);
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://mailvet:s3cr3t@db.internal:5432/mailvet?sslmode=require"),
            "postgres://mailvet:***@db.internal:5432/mailvet?sslmode=require"
        );
        // An '@' in the password (written raw) still hides all of it.
        assert_eq!(
            redact("postgres://u:p@ss@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(redact("postgres://u@host/db"), "postgres://u@host/db");
        assert_eq!(redact("sqlite:///var/lib/m.db"), "sqlite:///var/lib/m.db");
    }

    #[test]
    fn the_default_url_escapes_what_sqlx_would_decode() {
        assert_eq!(
            Store::default_url(Path::new("/var/lib/mailvet")),
            "sqlite:///var/lib/mailvet/mailvet.db"
        );
        assert_eq!(
            Store::default_url(Path::new("data 100%?#")),
            "sqlite://data%20100%25%3F%23/mailvet.db"
        );
    }

    #[test]
    fn sqlx_reads_the_default_url_as_the_same_path() {
        for dir in ["data", ".", "../up", "/var/lib/mailvet", "a dir/100%?#x"] {
            let url = Store::default_url(Path::new(dir));
            let seen: sqlx::any::AnyConnectOptions = url.parse().unwrap();
            let path = seen
                .database_url
                .as_str()
                .strip_prefix("sqlite://")
                .unwrap();
            assert_eq!(
                percent_decode(path).unwrap(),
                format!("{dir}/{SQLITE_FILE}"),
                "{url}"
            );
        }
    }

    #[test]
    fn sqlite_files_are_created_unless_the_url_says_otherwise() {
        let dir = std::env::temp_dir().join(format!("mailvet-prepare-{}", std::process::id()));
        let file = dir.join("new dir").join("m.db");
        let url = format!("sqlite://{}", file.display()).replace(' ', "%20");
        assert_eq!(prepare_sqlite(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir(), "the directory is made");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            prepare_sqlite("sqlite:m.db?cache=shared").unwrap(),
            "sqlite:m.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            prepare_sqlite("sqlite:m.db?mode=ro").unwrap(),
            "sqlite:m.db?mode=ro"
        );
    }

    #[test]
    fn in_memory_sqlite_is_refused() {
        for url in ["sqlite::memory:", "sqlite://", "sqlite:x.db?mode=memory"] {
            let err = prepare_sqlite(url).unwrap_err();
            assert!(err.to_string().contains("in-memory"), "{url}: {err}");
        }
    }

    #[test]
    fn percent_escapes_decode_like_sqlx() {
        assert_eq!(percent_decode("a%20b%25c").as_deref(), Some("a b%c"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn times_convert_without_wrapping() {
        assert_eq!(to_db(u64::MAX), i64::MAX);
        assert_eq!(from_db(-5), 0);
        assert_eq!(later(u64::MAX - 1, Duration::from_secs(10)), i64::MAX);
        assert_eq!(later(100, Duration::from_secs(60)), 160);
    }
}
