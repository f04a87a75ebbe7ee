//! `mailvet check`: the CI gate, a config of domains and what their owner
//! expects.
//!
//! This module decides how the command runs the `check` layer: with the
//! `--zone` files over live DNS and, when there are any and the run is
//! not `--offline`, against live DNS alone too, to show what the change
//! fixes and what it breaks. With `--format jsonl` each domain is a
//! line of its own, written as it is checked, with what the change does
//! to it.

use super::UsageError;
use super::audit::AuditArgs;
use super::batch::{self, CACHE_ENTRIES};
use super::output::{Batch, Format};
use crate::check::CheckedDomain;
use crate::check::config::{ConfigError, DomainExpectations, LEAST_CONFIG};
use crate::local_file::{FileError, FileProblem};
use crate::render::{self, ZoneLocator, text::Style};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config: the domains to check and what is expected of each
    /// (TOML; see fixtures/check/mailvet.example.toml).
    #[arg(long, value_name = "FILE", default_value = "mailvet.toml")]
    pub config: PathBuf,

    #[command(flatten)]
    pub audit: AuditArgs,
}

/// A config that cannot be read, and for one that is not there, how to
/// write one.
fn missing_config(e: &ConfigError) -> String {
    let missing = matches!(
        e,
        ConfigError::File(FileError {
            problem: FileProblem::Io { source, .. },
            ..
        }) if source.kind() == std::io::ErrorKind::NotFound
    );
    if !missing {
        return e.to_string();
    }
    format!(
        "{e}. `mailvet check` reads mailvet.toml in this directory, or the file --config \
         names; write one listing each domain and what is expected of it, the least being \
         {LEAST_CONFIG} (every expectation is in fixtures/check/mailvet.example.toml of \
         mailvet's repository)"
    )
}

/// Checks the config's domains, with the --zone files and, to show what
/// they change, against live DNS alone.
pub async fn run(args: CheckArgs) -> Result<ExitCode, UsageError> {
    let config = crate::check::config::load(&args.config).map_err(|e| missing_config(&e))?;
    let options = args.audit.fetch.audit_options(args.audit.dns.offline)?;
    let zones = args.audit.dns.load_zones()?;
    args.audit.dns.warn_outside_zones(
        &zones,
        config.domains.iter().map(|d| d.domain.value.ascii.as_str()),
    );
    let compare_live = !zones.is_empty() && !args.audit.dns.offline;
    let planned_dns = args.audit.dns.build_with(zones.clone(), CACHE_ENTRIES)?;
    let live_dns = args.audit.dns.build_with(Vec::new(), CACHE_ENTRIES)?;
    let trace = args.audit.output.trace;
    let fail_on = args.audit.output.fail_on();
    let locator = ZoneLocator::new(&zones);
    if args.audit.output.format == Format::Jsonl {
        // A line per domain as it is checked, one after another as below.
        let inputs: Vec<(String, DomainExpectations)> = config
            .domains
            .iter()
            .map(|d| (d.domain.value.ascii.clone(), d.clone()))
            .collect();
        let suite = |_: &str, d: &CheckedDomain| {
            render::check::suite(&d.check, &config.path, fail_on, locator)
        };
        let mut lines = Batch::new(&args.audit.output, inputs.len());
        batch::run(
            inputs,
            1,
            |expected| {
                let (dns, live, options) = (
                    Arc::clone(&planned_dns),
                    compare_live.then(|| Arc::clone(&live_dns)),
                    options.clone(),
                );
                async move {
                    let live = live.as_ref();
                    Ok(
                        crate::check::check_one(&dns, live, &expected, &options, fail_on, trace)
                            .await,
                    )
                }
            },
            |done| lines.add(done, suite),
        )
        .await;
        let code = lines.finish(|_, _| String::new(), suite);
        args.audit.dns.explain_silence(&[&planned_dns, &live_dns]);
        return Ok(code);
    }
    let live = compare_live.then_some(&live_dns);
    let (planned, live) = crate::check::run(&planned_dns, live, &config, &options, trace).await;
    let report = crate::check::CheckReport::new(&config, fail_on, planned, live.as_deref());
    let suites = render::check::suites(&report, fail_on, locator);
    let rendered = match args.audit.output.format {
        Format::Text => render::check::render(&report, fail_on, Style::for_stdout()),
        Format::Json => render::json(&report),
        Format::Jsonl | Format::Junit | Format::Sarif => String::new(),
    };
    let code = args.audit.output.print(&rendered, &suites);
    args.audit.dns.explain_silence(&[&planned_dns, &live_dns]);
    Ok(code)
}
