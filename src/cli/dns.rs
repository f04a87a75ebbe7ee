//! The DNS flags every subcommand that queries DNS shares: which servers,
//! which `--zone` overlays, `--offline`, and the time and question budget
//! of one check.
//!
//! This module decides how those flags become the resolver layer
//! ([`DnsArgs::build`]); what a query does is the `dns` layer's.

use super::values::{number, parse_duration};
use crate::dns::{self, Dns, Settings, UpstreamChoice};
use crate::untrusted::escape_controls;
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How DNS is asked; shared by every subcommand that queries DNS.
#[derive(Debug, Clone, Args)]
pub struct DnsArgs {
    /// Nameserver to ask: IP or IP:PORT ([IPv6]:PORT), port 53 by default.
    /// Repeat for several, asked in order. Default: the servers in
    /// /etc/resolv.conf.
    #[arg(
        long,
        value_name = "IP[:PORT]",
        env = "MAILVET_DNS",
        value_delimiter = ',',
        value_parser = parse_server
    )]
    pub dns: Vec<SocketAddr>,

    /// BIND zone file to overlay on live DNS: authoritative for the names
    /// at and below its $ORIGIN (or SOA owner), so a change can be checked
    /// before it is published. Repeatable.
    #[arg(long = "zone", value_name = "FILE")]
    pub zones: Vec<PathBuf>,

    /// Send nothing to the network: names outside the --zone files are
    /// NXDOMAIN (a domain to check outside them is warned about), and an
    /// MTA-STS policy is not fetched (the check is then undecided).
    #[arg(long, conflicts_with = "dns")]
    pub offline: bool,

    /// How long one try at one server may wait (e.g. 500ms, 2s).
    #[arg(long, value_name = "DURATION", env = "MAILVET_DNS_TIMEOUT",
          default_value = "2s", value_parser = parse_duration)]
    pub dns_timeout: Duration,

    /// Rounds over the server list before a query counts as failed.
    #[arg(long, value_name = "N", env = "MAILVET_DNS_ATTEMPTS",
          default_value_t = 2, value_parser = number(1u32, 10))]
    pub dns_attempts: u32,

    /// Most time one check (or one HTTP request) may spend on DNS; after
    /// it, pending lookups fail as temporary errors.
    #[arg(long, value_name = "DURATION", env = "MAILVET_DEADLINE",
          default_value = "10s", value_parser = parse_duration)]
    pub deadline: Duration,

    /// Most questions one check (or one HTTP request, a whole batch
    /// included) may send to the DNS servers; answers from --zone files and
    /// the cache are free. Past it, lookups fail as temporary errors and
    /// the report's dns.budget_exhausted is true.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_DNS_QUESTIONS",
          default_value_t = dns::DEFAULT_MAX_QUESTIONS as u32, value_parser = number(1u32, 1_000_000))]
    pub max_dns_questions: u32,

    /// DNSSEC trust anchor: a file of DS or DNSKEY records in zone-file
    /// syntax, all at one name, replacing IANA's root anchors (KSK-2017
    /// and KSK-2024) where mailvet's own validation starts.
    #[arg(long, value_name = "FILE", env = "MAILVET_TRUST_ANCHOR")]
    pub trust_anchor: Option<PathBuf>,
}

impl DnsArgs {
    /// Builds the resolver layer, loading the zone files.
    pub fn build(&self, cache_capacity: usize) -> Result<Arc<Dns>, dns::SetupError> {
        self.build_with(self.load_zones()?, cache_capacity)
    }

    /// Warns on standard error about `--zone` files that look misaimed:
    /// one holding no name at, under or above a checked domain (its
    /// records are then read only where a checked record points into it,
    /// which is seldom what was meant); and with `--offline`, each domain
    /// that no file covers, since every name there reads as NXDOMAIN and
    /// its report calls each record missing.
    pub fn warn_outside_zones<'a>(
        &self,
        zones: &[dns::zone::Zone],
        domains: impl IntoIterator<Item = &'a str>,
    ) {
        let domains: Vec<(&str, Option<hickory_proto::rr::Name>)> = domains
            .into_iter()
            .map(|d| (d, hickory_proto::rr::Name::from_ascii(d).ok()))
            .collect();
        for zone in zones {
            let related = domains.iter().any(|(_, name)| {
                name.as_ref()
                    .is_some_and(|name| zone.covers(name) || name.zone_of(&zone.origin))
            });
            if !related {
                let file = zone
                    .path
                    .as_ref()
                    .map_or_else(|| "a --zone file".into(), |p| p.display().to_string());
                super::output::stderr_line(&format!(
                    "mailvet: warning: {} (origin {}) holds no name of {}: its records are read \
                     only where a checked record points into it (an include: or MX target); \
                     check its $ORIGIN, or the domain you name",
                    escape_controls(&file),
                    escape_controls(&zone.origin.to_string()),
                    escape_controls(&checked(&domains)),
                ));
            }
        }
        if !self.offline {
            return;
        }
        for (domain, name) in &domains {
            let covered = name
                .as_ref()
                .is_some_and(|name| zones.iter().any(|zone| zone.covers(name)));
            if !covered {
                super::output::stderr_line(&format!(
                    "mailvet: warning: {} is in no --zone file, and --offline asks no DNS \
                     server: every name there is NXDOMAIN, so its records read as missing",
                    escape_controls(domain)
                ));
            }
        }
    }

    /// After a run: when questions went upstream and no server ever
    /// answered, says so on standard error and names what to check. The
    /// reports say each lookup failed and to run again, which does not
    /// help when the address is wrong.
    pub fn explain_silence(&self, resolvers: &[&Dns]) {
        let Some(failure) = resolvers.iter().find_map(|dns| dns.silent_upstream()) else {
            return;
        };
        let servers = if self.dns.is_empty() {
            "the system's DNS servers (/etc/resolv.conf); give one with --dns IP[:PORT]".to_string()
        } else {
            let given: Vec<String> = self.dns.iter().map(ToString::to_string).collect();
            format!("--dns {}", given.join(", "))
        };
        super::output::stderr_line(&format!(
            "mailvet: no DNS server answered any question (last: {}): check {servers}, \
             or check offline with --offline and --zone files",
            escape_controls(&failure.to_string())
        ));
    }

    /// Reads the --zone files.
    pub fn load_zones(&self) -> Result<Vec<dns::zone::Zone>, dns::SetupError> {
        Ok(self
            .zones
            .iter()
            .map(|p| dns::zone::Zone::load(p))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Builds the resolver layer over these zones.
    pub fn build_with(
        &self,
        zones: Vec<dns::zone::Zone>,
        cache_capacity: usize,
    ) -> Result<Arc<Dns>, dns::SetupError> {
        let upstream = if self.offline {
            UpstreamChoice::Offline
        } else if self.dns.is_empty() {
            UpstreamChoice::System
        } else {
            UpstreamChoice::Servers(self.dns.clone())
        };
        let trust_anchor = match &self.trust_anchor {
            Some(path) => dns::dnssec::anchor::TrustAnchor::load(path)?,
            None => dns::dnssec::anchor::TrustAnchor::iana_root(),
        };
        Dns::with_trust_anchor(
            Settings {
                upstream,
                query_timeout: self.dns_timeout,
                attempts: self.dns_attempts,
                deadline: self.deadline,
                cache_capacity,
                max_questions: self.max_dns_questions as usize,
            },
            zones,
            trust_anchor,
        )
    }
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`; port 53 when absent.
pub fn parse_server(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "`{s}` is not a nameserver address; write an IP such as 192.0.2.53 or 127.0.0.1:5353"
    ))
}

/// The checked domains as a warning names them: the first three, then a
/// count of the rest.
fn checked(domains: &[(&str, Option<hickory_proto::rr::Name>)]) -> String {
    let shown: Vec<&str> = domains.iter().take(3).map(|(d, _)| *d).collect();
    match domains.len() {
        0 => "the domains checked".into(),
        n if n <= 3 => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), n - 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        assert_eq!(
            parse_server("192.0.2.1").unwrap(),
            "192.0.2.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(parse_server("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_server("[::1]:54").unwrap(),
            "[::1]:54".parse().unwrap()
        );
        assert!(parse_server("dns.example").is_err());
    }
}
