//! mailvet: will this mail authenticate and reach the inbox, and if not,
//! exactly what to fix.
//!
//! # Layout
//!
//! The engine is layered; each layer knows only the one below it.
//!
//! - [`untrusted`] and [`local_file`] — at the bottom, used by every layer:
//!   outside text made safe to show (control characters escaped, short
//!   excerpts), and local files read only when regular and under a cap.
//! - [`dns`] — the resolver layer every check queries through: upstream
//!   servers or the system's, `--zone` overlays, `--offline`, a per-request
//!   trace, memo and deadline, a shared cache for the server, and the bridge
//!   that routes mail-auth's lookups through the same layer.
//! - [`spf`] — SPF (RFC 7208), our own: the record parser, the macro
//!   expander and `check_host()` with its lookup limits.
//! - [`store`] — what outlives a request (saved reports, test inbox
//!   addresses, learned DKIM selectors) on sqlx: SQLite by default,
//!   PostgreSQL for replicas; embedded migrations, retention, the sweeper.
//!   It keeps reports as data and imports no check.
//! - [`findings`] — the catalog of finding codes, findings and verdicts.
//! - [`reports`] — DMARC aggregate and SMTP TLS reports: reading them
//!   from plain, gzip, zip or report email inputs with capped
//!   decompression, and what they say: who sends as a domain, how each
//!   source fails, and whether it is ready for `p=quarantine` or `p=reject`.
//! - [`render`] — reports as JSON, as text for people, and as JUnit XML,
//!   SARIF and GitHub Actions annotations for CI.
//! - [`check`] — `mailvet check`, the CI gate: a config of domains and
//!   what their owner expects, judged against an audit of each, with the
//!   difference a `--zone` change would make.
//! - [`http`] — the axum server: routes, problem+json errors, limits.
//! - [`cli`] — subcommands, flags and exit codes.
//!
//! The binary (`src/main.rs`) parses the command line, calls the engine
//! and renders; it holds no logic of its own.

pub mod check;
pub mod cli;
pub mod dns;
pub mod domain;
pub mod findings;
pub mod http;
pub mod https;
pub mod local_file;
pub mod message;
pub mod records;
pub mod render;
pub mod reports;
pub mod spf;
pub mod store;
pub mod untrusted;
