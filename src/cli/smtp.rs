//! `mailvet serve`'s test inbox: `--inbox-domain` (its addresses, for
//! `POST /v1/inboxes`) and `--smtp` (the receiver), with the receiver's
//! limits and certificate.
//!
//! This module decides which combinations start: `--smtp` needs
//! `--inbox-domain` (the receiver accepts nothing else); `--inbox-domain`
//! alone makes addresses that another replica's receiver, sharing the
//! database, takes mail for; `--smtp-cert` and `--smtp-key` come
//! together, and without them STARTTLS uses a self-signed certificate
//! made at start. Every bad value stops startup naming its flag.

use super::UsageError;
use super::values::{
    MAX_BYTES, bytes, count, listen_address, number, parse_duration, parse_period,
};
use crate::dns::Dns;
use crate::message::limits::MessageLimits;
use crate::records::name::DomainName;
use crate::smtp::address::InboxSettings;
use crate::smtp::intake::ReportIntake;
use crate::smtp::proxy::Network;
use crate::smtp::tls::{self, Certificate};
use crate::smtp::{self, Receiver, SmtpLimits};
use crate::store::Store;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Test inbox (SMTP)")]
pub struct SmtpArgs {
    /// Receive test messages over SMTP on this address (e.g.
    /// 0.0.0.0:2525; port 25 in a deployment, by port mapping). Needs
    /// --inbox-domain. It never relays.
    #[arg(
        long = "smtp",
        value_name = "ADDR",
        env = "MAILVET_SMTP",
        requires = "inbox_domain",
        value_parser = listen_address
    )]
    pub smtp_listen: Option<SocketAddr>,

    /// The domain of the one-time test addresses t-<token>@DOMAIN; its
    /// MX must point at the --smtp receiver. Enables POST /v1/inboxes.
    #[arg(long, value_name = "DOMAIN", env = "MAILVET_INBOX_DOMAIN")]
    pub inbox_domain: Option<String>,

    #[command(flatten)]
    pub receiver: ReceiverArgs,

    /// How long a new test address waits for its message: e.g. 1h, 30m.
    #[arg(long, value_name = "DURATION", env = "MAILVET_INBOX_TTL",
          default_value = "1h", value_parser = parse_period)]
    pub inbox_ttl: Duration,

    #[command(flatten)]
    pub certificate: CertificateArgs,

    /// Trust PROXY protocol headers (v1 and v2) from peers in this
    /// network, e.g. a load balancer's 10.0.0.0/8 (repeatable;
    /// comma-separated in the environment). Such a peer must send one;
    /// the client address it names is the envelope IP and what
    /// per-client limits count. A PROXY header from any other peer is
    /// refused.
    #[arg(
        long,
        value_name = "CIDR",
        env = "MAILVET_SMTP_PROXY_FROM",
        value_delimiter = ','
    )]
    pub smtp_proxy_from: Vec<Network>,

    /// SMTP sessions at once from one client (IPv4 address, IPv6 /64);
    /// more are answered 421.
    #[arg(long, value_name = "N", env = "MAILVET_SMTP_SESSIONS_PER_CLIENT",
          default_value_t = smtp::DEFAULT_SESSIONS_PER_CLIENT, value_parser = count(100_000))]
    pub smtp_sessions_per_client: usize,

    /// SMTP sessions at once in all; more are answered 421.
    #[arg(long, value_name = "N", env = "MAILVET_SMTP_MAX_SESSIONS",
          default_value_t = smtp::DEFAULT_MAX_SESSIONS, value_parser = count(100_000))]
    pub smtp_max_sessions: usize,

    /// Messages (MAIL FROM) per minute from one client; more are
    /// answered 450, which a sender's queue retries.
    #[arg(long, value_name = "N", env = "MAILVET_SMTP_MESSAGES_PER_MINUTE",
          default_value_t = smtp::DEFAULT_MESSAGES_PER_MINUTE, value_parser = number(0u32, 1_000_000))]
    pub smtp_messages_per_minute: u32,

    /// Failure replies one session may get before it is answered 421 and
    /// closed.
    #[arg(long, value_name = "N", env = "MAILVET_SMTP_MAX_BAD_COMMANDS",
          default_value_t = smtp::DEFAULT_MAX_BAD_COMMANDS, value_parser = number(0u32, 10_000))]
    pub smtp_max_bad_commands: u32,

    /// Most time a client may take to send each command.
    #[arg(long, value_name = "DURATION", env = "MAILVET_SMTP_COMMAND_TIMEOUT",
          default_value = "60s", value_parser = parse_duration)]
    pub smtp_command_timeout: Duration,

    /// Most time a client may take to send a whole message (DATA).
    #[arg(long, value_name = "DURATION", env = "MAILVET_SMTP_DATA_TIMEOUT",
          default_value = "5m", value_parser = parse_duration)]
    pub smtp_data_timeout: Duration,

    /// Bytes of messages all SMTP sessions may hold at once; a message
    /// that would go over is answered 452 (try later). At least
    /// --max-message-size.
    #[arg(long, value_name = "BYTES", env = "MAILVET_SMTP_MEMORY",
          default_value_t = smtp::DEFAULT_MEMORY, value_parser = bytes::<usize>(1, MAX_BYTES as u64))]
    pub smtp_memory: usize,
}

/// What only the `--smtp` receiver reads, so each needs `--smtp`.
#[derive(Debug, Clone, Args)]
#[group(requires = "smtp_listen")]
pub struct ReceiverArgs {
    /// The receiver's own name: in its greeting, its EHLO reply, the `by`
    /// of the Received: header it adds, and the self-signed certificate.
    /// Default: the inbox domain. Set it to the MX host's name when that
    /// differs (e.g. mx.inbox.example.com).
    #[arg(long, value_name = "NAME", env = "MAILVET_SMTP_HOSTNAME")]
    pub smtp_hostname: Option<String>,

    /// Also take mail for this address (repeatable; comma-separated in
    /// the environment) and import it as a DMARC aggregate or TLS report,
    /// as `mailvet reports import` does: point a domain's
    /// rua=mailto: (or TLS-RPT's) at it. A message that is no report is
    /// refused with 550 after its data.
    #[arg(
        long = "report-address",
        value_name = "ADDR",
        env = "MAILVET_REPORT_ADDRESS",
        value_delimiter = ',',
        value_parser = report_address
    )]
    pub report_addresses: Vec<String>,
}

/// The receiver's STARTTLS certificate: both files or neither.
#[derive(Debug, Clone, Args)]
#[group(requires_all = ["smtp_cert", "smtp_key"])]
pub struct CertificateArgs {
    /// PEM certificate chain for STARTTLS (with --smtp-key). Without it a
    /// self-signed certificate for the inbox domain is made at start.
    #[arg(long, value_name = "FILE", env = "MAILVET_SMTP_CERT")]
    pub smtp_cert: Option<PathBuf>,

    /// PEM private key of --smtp-cert.
    #[arg(long, value_name = "FILE", env = "MAILVET_SMTP_KEY")]
    pub smtp_key: Option<PathBuf>,
}

impl SmtpArgs {
    /// The inbox settings, when `--inbox-domain` is given.
    pub fn inbox(&self) -> Result<Option<InboxSettings>, UsageError> {
        let Some(domain) = &self.inbox_domain else {
            return Ok(None);
        };
        let name = DomainName::parse(domain)
            .map_err(|e| UsageError::from(format!("--inbox-domain: {e}")))?;
        Ok(Some(InboxSettings {
            domain: name.ascii,
            ttl: self.inbox_ttl,
        }))
    }

    /// The receiver, when `--smtp` is given.
    pub fn receiver(
        &self,
        dns: Arc<Dns>,
        store: Store,
        max_message_size: usize,
        message_limits: MessageLimits,
        authserv_id: &str,
        report_limits: crate::reports::Limits,
    ) -> Result<Option<(SocketAddr, Receiver)>, UsageError> {
        let Some(listen) = self.smtp_listen else {
            return Ok(None);
        };
        let inbox = self
            .inbox()?
            .ok_or_else(|| UsageError::from("--smtp needs --inbox-domain".to_string()))?;
        if self.smtp_memory < max_message_size {
            return Err(UsageError::from(format!(
                "--smtp-memory ({} bytes) is below --max-message-size ({max_message_size} \
                 bytes), so no message of the largest size could be received",
                self.smtp_memory
            )));
        }
        let hostname = match &self.receiver.smtp_hostname {
            Some(name) => {
                DomainName::parse(name)
                    .map_err(|e| UsageError::from(format!("--smtp-hostname: {e}")))?
                    .ascii
            }
            None => inbox.domain.clone(),
        };
        let files = &self.certificate;
        let certificate = match (&files.smtp_cert, &files.smtp_key) {
            (Some(chain), Some(key)) => Certificate::Files { chain, key },
            _ => Certificate::SelfSigned { host: &hostname },
        };
        let tls = tls::server_config(certificate)
            .map_err(|e| UsageError::from(format!("--smtp-cert: {e}")))?;
        let limits = SmtpLimits {
            max_message_size,
            sessions_per_client: self.smtp_sessions_per_client,
            max_sessions: self.smtp_max_sessions,
            messages_per_minute: self.smtp_messages_per_minute,
            max_bad_commands: self.smtp_max_bad_commands,
            command_timeout: self.smtp_command_timeout,
            data_timeout: self.smtp_data_timeout,
            memory: self.smtp_memory,
        };
        let mut receiver = Receiver::new(dns, store, inbox).with_limits(limits);
        receiver.message_limits = message_limits;
        receiver.authserv_id = authserv_id.to_string();
        receiver.tls = Some(tls);
        receiver.proxy_from = self.smtp_proxy_from.clone();
        receiver.hostname = hostname;
        receiver.reports = ReportIntake::new(&self.receiver.report_addresses, report_limits);
        Ok(Some((listen, receiver)))
    }
}

/// A report address as given: `local@domain`, the domain a domain name.
fn report_address(text: &str) -> Result<String, String> {
    let (local, domain) = text
        .trim()
        .rsplit_once('@')
        .ok_or_else(|| format!("`{text}` is no address: write local@domain"))?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>@\\\"(),:;[]".contains(&b));
    if !local_ok {
        return Err(format!("`{local}` is not a plain local part"));
    }
    let domain = DomainName::parse(domain).map_err(|e| e.to_string())?;
    Ok(format!("{local}@{}", domain.ascii))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::address::DEFAULT_TTL;

    #[test]
    fn the_flag_default_is_the_inbox_default() {
        assert_eq!(parse_period("1h").unwrap(), DEFAULT_TTL);
    }

    #[test]
    fn report_addresses_are_plain_addresses() {
        assert_eq!(
            report_address("dmarc@Reports.Example").unwrap(),
            "dmarc@reports.example"
        );
        for bad in [
            "dmarc",
            "@reports.example",
            "a b@x.example",
            "<a>@x.example",
            "a@",
        ] {
            assert!(report_address(bad).is_err(), "{bad}");
        }
    }
}
