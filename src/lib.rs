//! mailvet: will this mail authenticate and reach the inbox, and if not,
//! exactly what to fix.
//!
//! # Layout
//!
//! The engine is layered, bottom to top; a module imports only from the
//! layers below its own (a test in `tests/it/layers.rs` reads the `crate::`
//! paths of `src/` and fails otherwise), and siblings on one layer do not
//! import each other.
//!
//! - [`untrusted`] — outside text made safe to show: control characters
//!   escaped, short excerpts. Used by every layer above.
//! - [`local_file`] — local files read only when regular and under a cap.
//! - [`parsed_texts`] — records parsed once per distinct text and shared
//!   across requests, bounded by the bytes of text kept.
//! - [`dns`] — the resolver layer every check queries through: upstream
//!   servers or the system's, `--zone` overlays, `--offline`, a per-request
//!   trace, memo, question budget and deadline, a shared cache for the
//!   server, and the bridge that routes mail-auth's lookups through it.
//! - [`store`] — what outlives a request (saved reports, test inbox
//!   addresses, received DMARC aggregate and TLS reports, learned DKIM
//!   selectors) on sqlx: SQLite by default, PostgreSQL for replicas;
//!   embedded migrations, retention, the sweeper.
//!   It keeps reports as data and imports no check.
//! - [`records`] — the wire formats both the audit and the message checks
//!   read: one tag-list tokenizer with per-protocol options, and the
//!   records built on it. What a record says, never whether it is good.
//! - [`https`] — the trust of the audit's TLS clients: the roots the SMTP
//!   probe judges MX certificates against, and the client configuration
//!   of the HTTPS fetches (MTA-STS policies), built once per set of extra
//!   roots.
//! - [`findings`] — the vocabulary: the catalog of finding codes (typed
//!   constants), findings, verdicts and the provider checklist.
//! - [`spf`] — SPF (RFC 7208), our own: the record parser, the macro
//!   expander and `check_host()` with its lookup limits.
//! - [`domain`] and [`message`] — the two kinds of check: the DNS posture
//!   audit of a domain, each protocol declared once, with the SMTP probe
//!   of its MX addresses on request; and the report on one
//!   message (SPF, DKIM, ARC, DMARC, iprev, header checks,
//!   Authentication-Results).
//! - [`reports`] — DMARC aggregate and SMTP TLS reports: reading them
//!   from plain, gzip, zip or report email inputs with capped
//!   decompression, and what they say: who sends as a domain, how each
//!   source fails, and whether it is ready for `p=quarantine` or `p=reject`;
//!   and their import into the store, once each.
//! - [`check`] — `mailvet check`, the CI gate: a config of domains and
//!   what their owner expects, judged against an audit of each, with the
//!   difference a `--zone` change would make.
//! - [`render`] — reports as text for people, and as JUnit XML, SARIF and
//!   GitHub Actions annotations for CI.
//! - [`web`] — the web pages as HTML: the forms, report pages, the
//!   finding catalog, and the stylesheet and script they load, embedded.
//! - [`smtp`] — the test inbox's SMTP receiver: one message per one-time
//!   address, reported on with its real envelope and saved through the
//!   store; never relays. Session loop, limits, STARTTLS.
//! - [`http`] — the axum server: routes, problem+json errors, limits.
//! - [`cli`] — subcommands, flags and exit codes; clap lives only here.
//!
//! The binary (`src/main.rs`) parses the command line and hands it to
//! [`cli`]; it holds no logic of its own.

pub mod check;
pub mod cli;
pub mod dns;
pub mod domain;
pub mod findings;
pub mod http;
pub mod https;
pub mod local_file;
pub mod message;
pub mod parsed_texts;
pub mod records;
pub mod render;
pub mod reports;
pub mod smtp;
pub mod spf;
pub mod store;
pub mod untrusted;
pub mod web;
