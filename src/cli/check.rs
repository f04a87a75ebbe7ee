//! `mailvet check`: the CI gate, a config of domains and what their owner
//! expects.
//!
//! This module decides how the command runs the `check` layer: with the
//! `--zone` files over live DNS and, when there are any and the run is
//! not `--offline`, against live DNS alone too, to show what the change
//! fixes and what it breaks.

use super::UsageError;
use super::audit::AuditArgs;
use super::batch::CACHE_ENTRIES;
use super::output::Format;
use crate::render::{self, ZoneLocator, text::Style};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config: the domains to check and what is expected of each
    /// (TOML; see fixtures/check/mailvet.example.toml).
    #[arg(long, value_name = "FILE", default_value = "mailvet.toml")]
    pub config: PathBuf,

    #[command(flatten)]
    pub audit: AuditArgs,
}

/// Checks the config's domains, with the --zone files and, to show what
/// they change, against live DNS alone.
pub async fn run(args: CheckArgs) -> Result<ExitCode, UsageError> {
    let config = crate::check::config::load(&args.config)?;
    let options = args.audit.fetch.audit_options()?;
    let zones = args.audit.dns.load_zones()?;
    let compare_live = !zones.is_empty() && !args.audit.dns.offline;
    let planned_dns = args.audit.dns.build_with(zones.clone(), CACHE_ENTRIES)?;
    let live_dns = args.audit.dns.build_with(Vec::new(), CACHE_ENTRIES)?;
    let trace = args.audit.output.trace;
    let (planned, live) = tokio::join!(
        crate::check::run(&planned_dns, &config, &options, trace),
        async {
            if compare_live {
                Some(crate::check::run(&live_dns, &config, &options, false).await)
            } else {
                None
            }
        }
    );
    let fail_on = args.audit.output.fail_on();
    let report = crate::check::CheckReport::new(&config, fail_on, planned, live.as_deref());
    let suites = render::check::suites(&report, fail_on, ZoneLocator::new(&zones));
    let rendered = match args.audit.output.format {
        Format::Text => render::check::render(&report, fail_on, Style::for_stdout()),
        Format::Json => render::json(&report),
        Format::Jsonl => render::json_line(&report),
        Format::Junit | Format::Sarif => String::new(),
    };
    Ok(args.audit.output.print(&rendered, &suites))
}
