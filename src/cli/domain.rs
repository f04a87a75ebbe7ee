//! `mailvet domain`: the DNS posture audit of sending domains.
//!
//! This module decides which domains are audited (arguments and a
//! `--file` list) and which DKIM selectors are added (`--selector`, and
//! with `--database` those the stored DMARC reports named); the domains
//! run as one batch ([`super::batch`]) and the audit is the `domain`
//! layer's.

use super::UsageError;
use super::audit::AuditArgs;
use super::batch::{self, BatchArgs};
use super::output::Batch;
use crate::domain::report::{self, DomainReport};
use crate::local_file;
use crate::records::name::{self, DomainName};
use crate::render::{self, Location, Suite, ZoneLocator, text::Style};
use crate::store::Store;
use clap::Args;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct DomainArgs {
    /// Domains to audit, in Unicode or A-label form.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,

    /// Read more domains from a file: one per line, `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// A DKIM selector to check besides the common ones probed (repeatable).
    #[arg(long = "selector", value_name = "SELECTOR")]
    pub selectors: Vec<String>,

    /// Probe every MX address over SMTP: STARTTLS, the TLS handshake and
    /// the certificate. Takes seconds and needs outbound port 25.
    #[arg(long, conflicts_with = "offline")]
    pub probe_smtp: bool,

    /// The store `mailvet reports import` and `serve` keep DMARC reports
    /// in (`sqlite://PATH` or `postgres://…`): DKIM is checked at the
    /// selectors those reports show signing each domain's mail instead of
    /// guessing common ones. Without it no store is read.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    #[command(flatten)]
    pub audit: AuditArgs,

    #[command(flatten)]
    pub batch: BatchArgs,
}

/// The largest `--file` domain list read (1 MiB: tens of thousands of domains).
const DOMAIN_LIST_LIMIT: u64 = 1024 * 1024;

/// Most selectors learned from reports asked per domain.
const LEARNED_SELECTORS: u32 = 20;

/// Domains audited at once by default: audits mostly wait on DNS.
const CONCURRENT_AUDITS: usize = 64;

/// Audits the domains as one batch and prints their reports.
pub async fn run(args: DomainArgs) -> Result<ExitCode, UsageError> {
    let mut domains = args
        .domains
        .iter()
        .map(|input| DomainName::parse(input))
        .collect::<Result<Vec<_>, _>>()?;
    let mut listed = HashMap::new();
    if let Some(path) = &args.file {
        for (domain, line) in domain_list(path)? {
            listed.entry(domain.ascii.clone()).or_insert(Location {
                file: path.display().to_string(),
                line,
            });
            domains.push(domain);
        }
    }
    let domains = name::distinct(domains);
    if domains.is_empty() {
        return Err(match &args.file {
            Some(path) => format!(
                "{}: the file lists no domain; write one domain per line (# starts a comment)",
                crate::untrusted::escape_controls(&path.display().to_string())
            ),
            None => "give at least one domain, or --file with one domain per line".into(),
        }
        .into());
    }
    let mut options = args.audit.fetch.audit_options(args.audit.dns.offline)?;
    if let Some(s) = args.selectors.iter().find(|s| !name::is_dkim_selector(s)) {
        return Err(format!(
            "`{s}` is not a DKIM selector ({})",
            name::DKIM_SELECTOR_RULE
        )
        .into());
    }
    options.selectors = args.selectors.clone();
    options.probe_smtp = args.probe_smtp;
    let zones = args.audit.dns.load_zones()?;
    args.audit
        .dns
        .warn_outside_zones(&zones, domains.iter().map(|d| d.ascii.as_str()));
    let dns = args
        .audit
        .dns
        .build_with(zones.clone(), batch::CACHE_ENTRIES)?;
    let trace = args.audit.output.trace;
    let store = match &args.database {
        Some(url) => Some(
            Store::open_existing(url)
                .await
                .map_err(|e| format!("--database: {e}"))?,
        ),
        None => None,
    };
    let locator = ZoneLocator::new(&zones);
    // The line naming the domain (its SOA record, its --file line), else
    // the zone that would hold its records.
    let home = |domain: &str| {
        locator
            .soa(domain)
            .or_else(|| listed.get(domain).cloned())
            .or_else(|| locator.home(domain))
    };
    // A domain named only on the command line, outside every --zone.
    let unlocated = domains.iter().find(|d| home(&d.ascii).is_none());
    args.audit
        .output
        .refuse_unlocated_sarif(unlocated.map(|d| d.ascii.as_str()))
        .map_err(|e| format!("{e} (or list the domains with --file, or give their --zone)"))?;
    let fail_on = args.audit.output.fail_on();
    let suite = |_: &str, r: &DomainReport| {
        Suite::of_domain(r, fail_on, |f| locator.locate(f)).located_at(home(&r.domain))
    };
    let inputs: Vec<(String, DomainName)> = domains
        .into_iter()
        .map(|domain| (domain.ascii.clone(), domain))
        .collect();
    let mut batch = Batch::new(&args.audit.output, inputs.len());
    batch::run(
        inputs,
        args.batch.concurrency.unwrap_or(CONCURRENT_AUDITS),
        |domain| {
            let (dns, mut options, store) = (Arc::clone(&dns), options.clone(), store.clone());
            async move {
                if let Some(store) = &store {
                    options.learned_selectors = store
                        .learned_dkim_selectors(&domain.ascii, LEARNED_SELECTORS)
                        .await
                        .map_err(|e| format!("--database: {e}"))?
                        .into_iter()
                        .map(|s| s.selector)
                        .collect();
                }
                let resolver = dns.resolver();
                let report = report::audit(&resolver, &domain, &options, trace).await;
                let found = report.dkim.learned_keys(&options.learned_selectors);
                // A store that takes no write (read-only) still gave the
                // selectors: the report stands, and the failure is said.
                if let Some(store) = &store
                    && let Err(e) = store.record_dkim_keys(&domain.ascii, &found).await
                {
                    super::output::stderr_line(&format!(
                        "mailvet: warning: --database: the DKIM keys found at {} were not \
                         recorded: {e}",
                        domain.ascii
                    ));
                }
                Ok(report)
            }
        },
        |done| batch.add(done, suite),
    )
    .await;
    let code = batch.finish(|_, r| render::text::domain(r, Style::for_stdout()), suite);
    args.audit.dns.explain_silence(&[&dns]);
    Ok(code)
}

/// The domains of a `--file` list, each with its 1-based line: one per
/// line, `#` starts a comment. A line that is no domain is quoted only as
/// an excerpt: the file may be anything.
fn domain_list(path: &Path) -> Result<Vec<(DomainName, usize)>, String> {
    let text =
        local_file::read_text(path, "domain list", DOMAIN_LIST_LIMIT).map_err(|e| e.to_string())?;
    let mut domains = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let domain = DomainName::parse(entry).map_err(|e| {
            format!(
                "{}:{}: {} is not a domain name: {}",
                path.display(),
                number + 1,
                crate::untrusted::quoted(entry),
                e.reason
            )
        })?;
        domains.push((domain, number + 1));
    }
    Ok(domains)
}
