//! The two back ends every store test runs on — SQLite in a temporary
//! directory, PostgreSQL on the server of [`super::postgres`] — and a
//! clock the tests move by hand.
//!
//! `on_both_back_ends!(name, …)` turns each `async fn name(db:
//! TestDatabase)` into the tests `name::sqlite` and `name::postgres`.

use mailvet::store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An empty database of one back end, removed when dropped (SQLite) or
/// with the server (PostgreSQL).
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new("store");
                TestDatabase {
                    backend,
                    url: Store::default_url(&dir.0),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => TestDatabase {
                backend,
                url: super::postgres::database().await,
                _dir: None,
            },
        }
    }

    /// A store on this database (another call: another replica).
    pub async fn open(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }

    /// Runs `sql` on a connection of its own, beside any store: to look
    /// at (or tamper with) the rows themselves.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        <sqlx::AnyConnection as sqlx::Connection>::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }

    /// How many rows `table` holds, expired or not.
    pub async fn count(&self, table: &str) -> i64 {
        let mut conn = self.raw().await;
        let sql = format!("SELECT COUNT(*) FROM {table}");
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e}"))
    }
}

/// A clock that stands still until told to move.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(seconds: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(seconds)))
    }

    pub fn set(&self, seconds: u64) {
        self.0.store(seconds, Ordering::SeqCst);
    }

    /// What [`Store::with_clock`] takes.
    pub fn reader(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let now = Arc::clone(&self.0);
        move || now.load(Ordering::SeqCst)
    }
}

/// The URL of a SQLite database of its own, for a test that needs one
/// but does not look at it (the HTTP service's, a `mailvet serve` child's):
/// its file lives under cargo's scratch directory for integration tests
/// (`target/tmp`), so it outlives whatever holds it.
pub fn scratch_url() -> String {
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    let dir = option_env!("CARGO_TARGET_TMPDIR")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(format!(
            "stores/{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        ));
    Store::default_url(&dir)
}

/// A store on a [`scratch_url`] database.
pub async fn scratch() -> Store {
    let url = scratch_url();
    Store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("open a scratch store {url}: {e}"))
}

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(purpose: &str) -> TempDir {
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "mailvet-{purpose}-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[macro_export]
macro_rules! on_both_back_ends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::support::store::{Backend, TestDatabase};

            #[tokio::test]
            async fn sqlite() {
                super::$name(TestDatabase::new(Backend::Sqlite).await).await
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(TestDatabase::new(Backend::Postgres).await).await
            }
        }
    )*};
}
