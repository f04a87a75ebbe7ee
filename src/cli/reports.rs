//! `mailvet reports`: DMARC aggregate and SMTP TLS reports kept in the
//! store — `import` reads files, directories or standard input into it,
//! `summary` says what a domain's reports show and whether it is ready
//! for enforcement, `tls-url` gives the URL on `mailvet serve` a domain's
//! TLS reports are posted to, and the `_smtp._tls` record naming it.
//!
//! This module decides which inputs an import reads (a directory: its
//! regular files, at any depth, in name order; `-`: standard input), how
//! its outcome is told (one entry per input: imported, duplicate or
//! error, as text or JSON) and its exit code: 0 when every input was
//! imported or was a duplicate, 2 when any was refused — the others are
//! imported all the same. Each input is read and parsed off the async
//! runtime, streamed when it is plain or gzip.

use super::UsageError;
use super::dns::DnsArgs;
use super::output::{stderr_line, stdout};
use super::store::StoreArgs;
use super::values::{MAX_BYTES, bytes, parse_base_url};
use crate::records::name::DomainName;
use crate::render::workflow_guard::Syntax;
use crate::reports::container::Overview;
use crate::reports::dates::{moment, parse_rfc3339};
use crate::reports::enforcement::LiveRecord;
use crate::reports::ingest::{self, Prepared};
use crate::reports::rua::TlsReportingUrl;
use crate::reports::services::Services;
use crate::reports::summary::Options;
use crate::reports::{Limits, ReportError};
use crate::store::{Store, Stored};
use crate::untrusted::escape_controls;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ReportsArgs {
    #[command(subcommand)]
    pub command: ReportsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Import aggregate and TLS reports: files, directories (every regular
    /// file in them, at any depth) or `-` for standard input.
    ///
    /// Each input may be XML, JSON, gzip, zip or a report email as
    /// received. A report already stored (same reporter, report id, domain
    /// and period) is a duplicate and is not counted again. A bad input is
    /// named with the reason and nothing of it is stored; the rest are
    /// imported.
    #[command(after_help = "Examples:\n  \
        mailvet reports import ~/dmarc-reports/\n  \
        mailvet reports import report.xml.gz tls.json --format json\n  \
        mailvet reports import - < report.eml\n\n\
        Exit codes: 0 every input imported or a duplicate, 2 an input refused (the \
        others were imported) or bad usage.")]
    Import(ImportArgs),
    /// What the stored reports of a domain say: messages and DMARC pass rate
    /// per day, each sending source and how it fails, new sources, TLS
    /// failures, and whether p=quarantine and p=reject can be published.
    #[command(after_help = "Examples:\n  \
        mailvet reports summary example.com\n  \
        mailvet reports summary example.com --since 2026-11-01 --format json\n\n\
        Exit codes: 0 a summary was written with the record to publish, 1 the \
        DMARC record published now is invalid or there are several (mend it \
        first), 2 bad usage or a database that cannot be read, 3 the DNS lookup \
        of the record published now failed (run it again).")]
    Summary(SummaryArgs),
    /// The URL on `mailvet serve` a domain's TLS reports are posted to, and
    /// the _smtp._tls record to publish for it (RFC 8460 §3).
    ///
    /// Reporting mail servers post to it without an API key; the secret
    /// token in it lets in reports about this domain only. The token is
    /// made the first time and kept in the store, so the same URL is
    /// printed after (and given by POST /v1/reports/tls/endpoints).
    #[command(after_help = "Examples:\n  \
        mailvet reports tls-url example.com --base-url https://mailvet.example.com\n  \
        mailvet reports tls-url example.com --base-url https://mailvet.example.com --replace\n\n\
        Exit codes: 0 the URL was printed, 2 bad usage or a database that cannot be \
        opened.")]
    TlsUrl(TlsUrlArgs),
}

/// How an import or a summary is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Report files, directories, or `-` for standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub limit: ReportSizeArgs,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `--max-report-size`, shared by the import and the server.
#[derive(Debug, Clone, Args)]
pub struct ReportSizeArgs {
    /// Most bytes a report may have once decompressed (and a plain or
    /// uploaded one as it is); a larger one is refused as a likely
    /// decompression bomb.
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_REPORT_SIZE",
          default_value_t = Limits::default().max_size, value_parser = bytes::<u64>(1024, MAX_BYTES as u64))]
    pub max_report_size: u64,
}

impl ReportSizeArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_size: self.max_report_size,
            ..Limits::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The policy domain the reports are about.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,

    /// Only reports counted on this day (YYYY-MM-DD, UTC) or moment (RFC
    /// 3339) or later, a report being counted on the day of its period's
    /// middle; the period of the same length before it decides
    /// which sources are new. Default: every stored report.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<i64>,

    /// A report address (`mailto:…`) for the suggested DMARC record
    /// (repeatable). Default: the `rua` of the DMARC record the domain
    /// publishes now, read from the DNS.
    #[arg(long, value_name = "URI")]
    pub rua: Vec<String>,

    /// A TOML file of more sending services, added to the built-in table.
    #[arg(long, value_name = "FILE")]
    pub services: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub dns: DnsArgs,
}

#[derive(Debug, Args)]
pub struct TlsUrlArgs {
    /// The policy domain whose TLS reports are to come to the server.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,

    /// Where reporting mail servers reach `mailvet serve`: https:// and
    /// its public host name, with a port if not 443 (no path).
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    pub base_url: String,

    /// Make a new token in place of the old one (the URL leaked); the old
    /// URL then takes nothing.
    #[arg(long)]
    pub replace: bool,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_since(text: &str) -> Result<i64, String> {
    parse_rfc3339(text.trim())
        .ok_or_else(|| format!("`{text}` is not a date; write YYYY-MM-DD, e.g. 2026-11-01"))
}

pub async fn run(args: ReportsArgs) -> Result<ExitCode, UsageError> {
    match args.command {
        ReportsCommand::Import(args) => import(args).await,
        ReportsCommand::Summary(args) => summary(args).await,
        ReportsCommand::TlsUrl(args) => tls_url(args).await,
    }
}

/// What became of one input.
#[derive(Debug, Serialize)]
struct Entry {
    file: String,
    #[serde(flatten)]
    overview: Overview,
}

#[derive(Debug, Serialize)]
struct Failure {
    file: String,
    error: String,
}

/// A file in a directory that was not read, and why: only regular files
/// are, so a symlink cannot lead the walk out of the tree.
#[derive(Debug, Serialize)]
struct Skipped {
    file: String,
    reason: String,
}

/// The outcome of an import, as `--format json` writes it.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    imported: Vec<Entry>,
    duplicates: Vec<Entry>,
    errors: Vec<Failure>,
    skipped: Vec<Skipped>,
}

async fn import(args: ImportArgs) -> Result<ExitCode, UsageError> {
    let store = args.store.open().await?;
    let limits = args.limit.limits();
    let mut outcome = Outcome::default();
    let text = args.format == Format::Text;
    for path in &args.paths {
        let (errors, skipped) = (outcome.errors.len(), outcome.skipped.len());
        let found = inputs(path, &mut outcome);
        if text {
            outcome.errors[errors..].iter().for_each(print_failure);
            for s in &outcome.skipped[skipped..] {
                stdout(
                    &format!("{}: skipped, {}\n", s.file, s.reason),
                    Syntax::Text,
                );
            }
        }
        for input in found {
            let file = shown(&input);
            match import_one(&store, input, &limits).await {
                Ok((stored, overview)) => {
                    let entry = Entry { file, overview };
                    let list = match stored {
                        Stored::New => &mut outcome.imported,
                        Stored::Duplicate => &mut outcome.duplicates,
                    };
                    if text {
                        print_entry(stored, &entry);
                    }
                    list.push(entry);
                }
                Err(error) => {
                    let failure = Failure { file, error };
                    if text {
                        print_failure(&failure);
                    }
                    outcome.errors.push(failure);
                }
            }
        }
    }
    store.close().await;
    match args.format {
        Format::Json => stdout(&crate::render::json(&outcome), Syntax::Json),
        Format::Text => stdout(
            &format!(
                "{} imported, {} duplicates, {} refused{}\n",
                outcome.imported.len(),
                outcome.duplicates.len(),
                outcome.errors.len(),
                match outcome.skipped.len() {
                    0 => String::new(),
                    n => format!(", {n} skipped"),
                }
            ),
            Syntax::Text,
        ),
    }
    Ok(if outcome.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Reads, parses and stores one input; the error says why not.
async fn import_one(
    store: &Store,
    input: PathBuf,
    limits: &Limits,
) -> Result<(Stored, Overview), String> {
    let limits = limits.clone();
    let received = time::OffsetDateTime::now_utc().unix_timestamp();
    let prepared: Prepared = tokio::task::spawn_blocking(move || {
        if input.as_os_str() == "-" {
            return ingest::prepare(std::io::stdin(), &limits, received).map_err(|e| e.to_string());
        }
        // The batch names the file before its error.
        let file = crate::local_file::open(&input, "report").map_err(|e| e.problem.to_string())?;
        ingest::prepare(file, &limits, received).map_err(|e: ReportError| e.to_string())
    })
    .await
    .map_err(|e| format!("the import task failed: {e}"))??;
    let stored = prepared.store(store).await.map_err(|e| e.to_string())?;
    Ok((stored, prepared.overview().clone()))
}

/// The inputs a path names: itself, `-`, or the regular files under a
/// directory in name order. Anything else in a directory — a symlink, a
/// pipe, a device — is skipped and listed as such; a path that cannot be
/// listed is an error of its own.
fn inputs(path: &Path, outcome: &mut Outcome) -> Vec<PathBuf> {
    if path.as_os_str() == "-" {
        return vec![path.to_path_buf()];
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        _ => return vec![path.to_path_buf()],
    }
    let (mut found, first_skipped) = (Vec::new(), outcome.skipped.len());
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                outcome.errors.push(Failure {
                    file: shown(&dir),
                    error: format!("cannot list the directory: {e}"),
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            // The entry's own type: symbolic links are not followed, so a
            // link can neither lead out of the tree nor make the walk
            // endless.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            match crate::local_file::kind_of(kind) {
                None => found.push(entry.path()),
                Some(_) if kind.is_dir() => pending.push(entry.path()),
                Some(what) => outcome.skipped.push(Skipped {
                    file: shown(&entry.path()),
                    reason: match kind.is_symlink() {
                        true => "a symbolic link, not followed inside a directory (name it \
                                 on the command line to import what it points to)"
                            .into(),
                        false => format!("{what}, not a regular file"),
                    },
                }),
            }
        }
    }
    found.sort();
    outcome.skipped[first_skipped..].sort_by(|a, b| a.file.cmp(&b.file));
    found
}

fn shown(path: &Path) -> String {
    escape_controls(&path.to_string_lossy()).into_owned()
}

/// One line per input, as it is imported: the file, what it was and
/// what it held.
fn print_entry(stored: Stored, e: &Entry) {
    let o = &e.overview;
    stdout(
        &format!(
            "{}: {} {} report from {} (id {}) for {}, {} to {}: {}\n",
            e.file,
            match stored {
                Stored::New => "imported",
                Stored::Duplicate => "duplicate, already stored:",
            },
            o.kind,
            escape_controls(&o.org_name),
            escape_controls(&o.report_id),
            escape_controls(&o.domain),
            moment(o.begin),
            moment(o.end),
            o.contents(),
        ),
        Syntax::Text,
    );
}

/// Errors go to standard error, so the lines above stay a clean list.
fn print_failure(failure: &Failure) {
    stderr_line(&format!(
        "mailvet: {}: {}",
        failure.file,
        escape_controls(&failure.error)
    ));
}

async fn summary(args: SummaryArgs) -> Result<ExitCode, UsageError> {
    let domain = DomainName::parse(&args.domain)?;
    let mut services = Services::built_in();
    if let Some(path) = &args.services {
        services
            .extend_from_file(path)
            .map_err(|e| format!("--services: {e}"))?;
    }
    let zones = args.dns.load_zones()?;
    args.dns.warn_outside_zones(&zones, [domain.ascii.as_str()]);
    let dns = args.dns.build_with(zones, 0)?;
    let store = args.store.open_existing().await?;
    let resolver = dns.resolver();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let summary = ingest::summarize_domain(
        &store,
        &resolver,
        &domain.to_string(),
        args.since,
        now,
        Arc::new(services),
        &Options::default(),
        &args.rua,
    )
    .await
    .map_err(|e| e.to_string())?;
    store.close().await;
    match args.format {
        Format::Json => stdout(&crate::render::json(&summary), Syntax::Json),
        Format::Text => stdout(&crate::render::reports::summary(&summary), Syntax::Text),
    }
    args.dns.explain_silence(&[&dns]);
    // As `check`: 1 when the live record must be mended before a record
    // can be suggested, 3 when the DNS kept it from being read.
    let enforcement = &summary.analysis.enforcement;
    Ok(match (&enforcement.next_record, &enforcement.live) {
        (Some(_), _) => ExitCode::SUCCESS,
        (None, LiveRecord::Invalid { .. }) => ExitCode::from(super::output::EXIT_FAILED),
        (None, _) => ExitCode::from(super::output::EXIT_UNDECIDED),
    })
}

async fn tls_url(args: TlsUrlArgs) -> Result<ExitCode, UsageError> {
    let domain = DomainName::parse(&args.domain)?;
    let store = args.store.open().await?;
    let token = store
        .tls_report_token(&domain.ascii, args.replace)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    let rua = TlsReportingUrl::new(&args.base_url, &domain.ascii, &token);
    if let Some(host) = rua.unreachable_host() {
        stderr_line(&format!(
            "mailvet: warning: {host} is an address or a local name, which mail servers on the \
             internet cannot post to over HTTPS; give --base-url the server's public name, the \
             one its certificate is for"
        ));
    }
    match args.format {
        Format::Json => stdout(&crate::render::json(&rua), Syntax::Json),
        Format::Text => stdout(
            &format!(
                "TLS reports about {} are taken at {}\nPublish: {}. IN TXT \"{}\"\n",
                rua.domain, rua.url, rua.name, rua.record
            ),
            Syntax::Text,
        ),
    }
    Ok(ExitCode::SUCCESS)
}
