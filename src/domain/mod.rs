//! The domain posture audit: every DNS check a sending domain needs, run
//! concurrently through one resolver, each problem a catalog finding.
//!
//! Each protocol is one module with its record types, parser and checks.
//! A module's `check` fetches what it needs through the request's
//! [`Resolver`] and turns the records into a section of the report and
//! findings; the parts that need another module's result (MTA-STS coverage
//! of the MX hosts, BIMI's DMARC prerequisite) are separate functions the
//! orchestration calls once both are known, so no check waits for another
//! — except the SMTP transport probe, which connects to the addresses the
//! MX check found and so runs after it, beside the other checks.

pub mod bimi;
pub mod dkim;
pub mod dmarc;
pub mod dnssec;
pub mod mta_sts;
pub mod mx;
pub mod protocol;
pub mod report;
pub mod spf;
pub mod summary;
pub mod tls_rpt;
pub mod transport;

use crate::dns::Resolver;
use crate::records::name::DomainName;
use std::time::Duration;

/// What the caller can tune about an audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// DKIM selectors to look at, besides the common ones probed always.
    pub selectors: Vec<String>,
    /// DKIM selectors the domain's DMARC aggregate reports named (from the
    /// store); when there are any, the common selectors are probed only
    /// if none of these holds a key.
    pub learned_selectors: Vec<String>,
    /// Send nothing to the network (`--offline`): the MTA-STS policy is
    /// then not fetched, and is unknown rather than unreachable.
    pub offline: bool,
    /// Allow HTTPS fetches (MTA-STS policy) and the SMTP probe to reach
    /// loopback, private and link-local addresses. Off by default; tests
    /// need it.
    pub allow_private_fetch: bool,
    /// How long an HTTPS fetch may take.
    pub fetch_timeout: Duration,
    /// Extra trust anchors for HTTPS fetches, as PEM certificates, besides
    /// the Mozilla roots (`--ca-file`, for private PKI and tests).
    pub extra_roots_pem: Vec<u8>,
    /// The port of HTTPS fetches; 443 except in tests.
    pub https_port: u16,
    /// Most records the SPF walk reads, a/mx/exists targets it checks and
    /// nodes its tree shows (`--max-spf-nodes`).
    pub max_spf_nodes: usize,
    /// Probe every MX address over SMTP and STARTTLS (`--probe-smtp`).
    pub probe_smtp: bool,
    /// How long the probe of one address may take (`--probe-timeout`).
    pub probe_timeout: Duration,
    /// The port the probe connects to; 25 except in tests (`--smtp-port`).
    pub smtp_port: u16,
    /// The probe's bound on addresses probed at once, shared by every
    /// clone of these options (a batch, a server).
    pub probe_slots: transport::ProbeSlots,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            selectors: Vec::new(),
            learned_selectors: Vec::new(),
            offline: false,
            allow_private_fetch: false,
            fetch_timeout: Duration::from_secs(5),
            extra_roots_pem: Vec::new(),
            https_port: 443,
            max_spf_nodes: spf::DEFAULT_MAX_NODES,
            probe_smtp: false,
            probe_timeout: transport::DEFAULT_TIMEOUT,
            smtp_port: transport::DEFAULT_PORT,
            probe_slots: transport::ProbeSlots::default(),
        }
    }
}

/// What every check receives.
#[derive(Debug, Clone, Copy)]
pub struct AuditContext<'a> {
    pub resolver: &'a Resolver,
    pub domain: &'a DomainName,
    pub options: &'a AuditOptions,
}
