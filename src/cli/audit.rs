//! The flags of a domain audit (`domain`, `check`, and `serve` for its
//! HTTPS fetches, SMTP probe and SPF walk).
//!
//! This module decides how those flags become the audit's options; a CA
//! file is read and checked once, here, so a bad one stops the run before
//! any audit.

use super::dns::DnsArgs;
use super::output::OutputArgs;
use super::values::{number, parse_duration};
use crate::domain::AuditOptions;
use crate::local_file;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// The largest `--ca-file` read (1 MiB of PEM certificates).
const CA_FILE_LIMIT: u64 = 1024 * 1024;

/// How domain audits are run and reported (`domain` and `check`).
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub fetch: FetchArgs,

    #[command(flatten)]
    pub dns: DnsArgs,
}

/// How the MTA-STS policy may be fetched.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// Allow HTTPS fetches (MTA-STS policies) and the SMTP probe to connect
    /// to loopback, private and link-local addresses. Off by default so a
    /// domain cannot make mailvet probe your internal network; tests and
    /// private deployments need it.
    #[arg(long, env = "MAILVET_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,

    /// PEM file of extra CA certificates trusted for HTTPS fetches and MX
    /// certificates, besides the Mozilla roots (for a private PKI).
    #[arg(long, value_name = "FILE", env = "MAILVET_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// How long one HTTPS fetch may take.
    #[arg(long, value_name = "DURATION", env = "MAILVET_FETCH_TIMEOUT",
          default_value = "5s", value_parser = parse_duration)]
    pub fetch_timeout: Duration,

    /// Most records the audit's SPF walk reads for one domain (each name
    /// once), most a/mx/exists targets it checks, and most nodes its tree
    /// shows; a tree cut short gets spf.walk_limit.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_SPF_NODES",
          default_value_t = crate::domain::spf::DEFAULT_MAX_NODES as u32, value_parser = number(20u32, 100_000))]
    pub max_spf_nodes: u32,

    /// How long the SMTP probe of one MX address may take, from connecting
    /// to the end of the TLS handshake; a server silent longer is "could
    /// not be tested from here".
    #[arg(long, value_name = "DURATION", env = "MAILVET_PROBE_TIMEOUT",
          default_value = "15s", value_parser = parse_duration)]
    pub probe_timeout: Duration,

    /// The port the SMTP probe connects to (25; others for tests and
    /// unusual setups).
    #[arg(long, value_name = "PORT", default_value_t = crate::domain::transport::DEFAULT_PORT, value_parser = number(1u16, u16::MAX))]
    pub smtp_port: u16,
}

impl FetchArgs {
    /// Audit options from these flags and `--offline`; reads and checks
    /// the CA file.
    pub fn audit_options(&self, offline: bool) -> Result<AuditOptions, String> {
        let extra_roots_pem = match &self.ca_file {
            Some(path) => {
                let pem =
                    local_file::read(path, "CA file", CA_FILE_LIMIT).map_err(|e| e.to_string())?;
                crate::https::parse_extra_roots(&pem)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                pem
            }
            None => Vec::new(),
        };
        Ok(AuditOptions {
            offline,
            allow_private_fetch: self.allow_private_fetch,
            fetch_timeout: self.fetch_timeout,
            extra_roots_pem,
            max_spf_nodes: self.max_spf_nodes as usize,
            probe_timeout: self.probe_timeout,
            smtp_port: self.smtp_port,
            ..AuditOptions::default()
        })
    }
}
