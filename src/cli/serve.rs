//! `mailvet serve`: the HTTP API's flags, their environment variables and
//! defaults.
//!
//! This module decides what an operator can tune from the command line
//! (every flag that tunes the service also reads a `MAILVET_*` variable,
//! so a container is configured by its environment; `--zone`, `--offline`
//! and `--smtp-port`, which serve checks and tests, do not) and checks it
//! once at startup: the API
//! key file is read, CORS origins are validated, and the result is the
//! `http` layer's [`ServiceConfig`]. A bad value stops startup with a
//! message naming the flag; it never surfaces later as a failed request.

use super::UsageError;
use super::audit::FetchArgs;
use super::dns::DnsArgs;
use super::message::MessageOptions;
use super::reports::ReportSizeArgs;
use super::smtp::SmtpArgs;
use super::store::StoreArgs;
use super::values::{
    MAX_BYTES, bytes, count, listen_address, number, parse_base_url, parse_duration,
};
use crate::http::config::{
    ApiKey, DEFAULT_BODY_MEMORY, DEFAULT_MAX_BATCH, DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_RATE_LIMIT, ServiceConfig, cors_origin,
};
use crate::message::blocklists::Blocklists;
use crate::message::limits::MessageLimits;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        env = "MAILVET_LISTEN",
        default_value = "127.0.0.1:8080",
        value_parser = listen_address
    )]
    pub listen: SocketAddr,

    /// Entries in the shared DNS cache (TTL-respecting; 0 turns it off).
    #[arg(
        long,
        value_name = "N",
        env = "MAILVET_CACHE_ENTRIES",
        default_value_t = 10_000,
        value_parser = number(0usize, 10_000_000)
    )]
    pub cache_entries: usize,

    /// MiB of finished domain audits `GET /v1/domains/{domain}` reuses
    /// until the smallest TTL of their answers runs out (0 turns it off).
    #[arg(
        long,
        value_name = "MIB",
        env = "MAILVET_AUDIT_CACHE_MIB",
        default_value_t = 64,
        value_parser = number(0usize, 1 << 20)
    )]
    pub audit_cache_mib: usize,

    #[command(flatten)]
    pub fetch: FetchArgs,

    #[command(flatten)]
    pub message: MessageOptions,

    #[command(flatten)]
    pub dns: DnsArgs,

    #[command(flatten)]
    pub service: ServiceArgs,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub smtp: SmtpArgs,

    #[command(flatten)]
    pub reports: ReportSizeArgs,

    /// A TOML file of more sending services for the DMARC report summary,
    /// added to the built-in table.
    #[arg(long, value_name = "FILE", env = "MAILVET_SERVICES")]
    pub services: Option<PathBuf>,
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, with the request's span fields
    /// (`request_id`, method, path), for log collectors.
    Json,
}

/// Access, limits and logging of `mailvet serve`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Access, limits and logging")]
pub struct ServiceArgs {
    /// Require `Authorization: Bearer KEY` with one of these keys on every
    /// endpoint except /healthz, /readyz and /openapi.yaml (repeatable;
    /// comma-separated in the environment). At least 16 characters each.
    /// Without any key the API is open.
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "MAILVET_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<ApiKey>,

    /// Read more API keys from a file: one per line, `#` starts a comment.
    /// Read once at startup; restart to rotate keys.
    #[arg(long, value_name = "FILE", env = "MAILVET_API_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Let web pages from this origin (`https://app.example`) call the API
    /// from a browser (repeatable; comma-separated in the environment).
    /// `*` allows any origin. Without it no CORS headers are sent.
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        env = "MAILVET_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Leave the web pages (`/`, `/domains/…`, `/reports/…`) open to
    /// anyone while `/v1` needs an API key. Without it the pages follow
    /// the API: with keys configured, a browser enters one once (kept in
    /// an HttpOnly cookie).
    #[arg(long, env = "MAILVET_WEB_PUBLIC")]
    pub web_public: bool,

    /// Where reporting mail servers reach this server: https:// and
    /// its public host name, with a port if not 443 (no path), e.g.
    /// https://mailvet.example.com. The domains' TLS reporting URLs
    /// (`POST /v1/reports/tls/endpoints`, the reports pages) name it;
    /// without it they name the `Host` each request came with, so a
    /// proxy in front must pass the public one on.
    #[arg(long, value_name = "URL", env = "MAILVET_BASE_URL", value_parser = parse_base_url)]
    pub base_url: Option<String>,

    /// Let requests ask for the SMTP probe (`GET /v1/domains/{d}?probe=smtp`,
    /// the pages' "Test TLS" checkbox). Each such request opens connections
    /// to port 25 of every MX address of a domain anyone names, from this
    /// server's address; without the flag those requests get 403
    /// `/problems/probe-disabled`.
    #[arg(long, env = "MAILVET_ALLOW_PROBE")]
    pub allow_probe: bool,

    /// Most /v1 requests answered at once; more get 503 with Retry-After.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_CONCURRENT",
          default_value_t = DEFAULT_MAX_CONCURRENT, value_parser = count(100_000))]
    pub max_concurrent: usize,

    /// Requests per minute one client (IP address; an IPv6 /64) may send to
    /// /v1, in bursts of up to the same number; more get 429 with
    /// Retry-After. 0 turns the limit off (do that behind a proxy that
    /// limits, since every client then shares the proxy's address).
    #[arg(long, value_name = "PER_MINUTE", env = "MAILVET_RATE_LIMIT",
          default_value_t = DEFAULT_RATE_LIMIT, value_parser = number(0u32, 1_000_000))]
    pub rate_limit: u32,

    /// Most time one /v1 request may take, DNS and HTTPS fetches included;
    /// after it the answer is 504 `/problems/timeout`. Keep it above
    /// --deadline so DNS failures are reported rather than cut off.
    #[arg(long, value_name = "DURATION", env = "MAILVET_REQUEST_TIMEOUT",
          default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// How long a client may take to send a request's headers before the
    /// connection is closed (against slow clients holding connections).
    #[arg(long, value_name = "DURATION", env = "MAILVET_HEADER_READ_TIMEOUT",
          default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Most domains one `POST /v1/domains` may ask for; more get 413
    /// `/problems/too-many-domains`.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_BATCH",
          default_value_t = DEFAULT_MAX_BATCH, value_parser = count(1000))]
    pub max_batch: usize,

    /// How long a client may take to send a /v1 request's body, from its
    /// headers to its last byte; after it the answer is 408
    /// `/problems/body-timeout`. A 25 MiB message needs an upload of about
    /// 7 Mbit/s to make the default.
    #[arg(long, value_name = "DURATION", env = "MAILVET_BODY_READ_TIMEOUT",
          default_value = "30s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,

    /// Most bytes of /v1 request bodies the server holds at once, being
    /// read or being answered; a body that would go over it is answered
    /// 503 `/problems/overloaded` with Retry-After. At least
    /// --max-message-size.
    #[arg(long, value_name = "BYTES", env = "MAILVET_BODY_MEMORY",
          default_value_t = DEFAULT_BODY_MEMORY, value_parser = bytes::<usize>(1, MAX_BYTES as u64))]
    pub body_memory: usize,

    /// Largest /v1 answer, in bytes of JSON; a bigger report is answered
    /// 422 `/problems/response-too-large` instead of sent.
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_RESPONSE_SIZE",
          default_value_t = DEFAULT_MAX_RESPONSE_SIZE, value_parser = bytes::<usize>(1, MAX_BYTES as u64))]
    pub max_response_size: usize,

    /// On SIGTERM or Ctrl-C, how long to let in-flight requests finish
    /// before exiting anyway.
    #[arg(long, value_name = "DURATION", env = "MAILVET_SHUTDOWN_TIMEOUT",
          default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Log lines as text or as JSON objects (to standard error; the level
    /// comes from MAILVET_LOG, e.g. `info` or `mailvet=debug`).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        env = "MAILVET_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// The largest `--api-key-file` read (1 MiB).
const API_KEY_FILE_LIMIT: u64 = 1024 * 1024;

impl ServiceArgs {
    /// Checks the flags and reads the key file; a posted message may cost
    /// up to `message_limits`.
    pub fn config(&self, message_limits: MessageLimits) -> Result<ServiceConfig, String> {
        let mut api_keys = self.api_keys.clone();
        if let Some(path) = &self.api_key_file {
            api_keys.extend(key_file(path)?);
            if api_keys.is_empty() {
                return Err(format!(
                    "{}: the API key file holds no key; add one per line or drop --api-key-file",
                    path.display()
                ));
            }
        }
        let cors_origins = self
            .cors_origins
            .iter()
            .map(|origin| cors_origin(origin))
            .collect::<Result<_, _>>()?;
        Ok(ServiceConfig {
            api_keys,
            cors_origins,
            web_public: self.web_public,
            base_url: self.base_url.clone(),
            allow_probe: self.allow_probe,
            max_concurrent: self.max_concurrent,
            rate_limit: self.rate_limit,
            request_timeout: self.request_timeout,
            header_read_timeout: self.header_read_timeout,
            max_batch: self.max_batch,
            shutdown_timeout: self.shutdown_timeout,
            body_read_timeout: self.body_read_timeout,
            body_memory: self.body_memory,
            max_response_size: self.max_response_size,
            message_limits,
            // The message flags' (`--dnsbl`), set by `run`.
            blocklists: Blocklists::none(),
        })
    }
}

/// The keys of an `--api-key-file`: one per line, `#` starts a comment.
/// Read like every local file: a regular file, under a cap.
fn key_file(path: &Path) -> Result<Vec<ApiKey>, String> {
    let text = crate::local_file::read_text(path, "API key file", API_KEY_FILE_LIMIT)
        .map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        keys.push(
            line.parse()
                .map_err(|e| format!("{} line {}: {e}", path.display(), number + 1))?,
        );
    }
    Ok(keys)
}

/// Builds the resolver, the audit options and the service config from the
/// flags, then serves until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> Result<ExitCode, UsageError> {
    let dns = args.dns.build(args.cache_entries)?;
    if args.dns.offline && args.service.allow_probe {
        return Err(UsageError::from(
            "--allow-probe lets requests connect to MX hosts, and --offline sends nothing to \
             the network: give one of them"
                .to_string(),
        ));
    }
    let audit = args.fetch.audit_options(args.dns.offline)?;
    let blocklists = args.message.blocklists(true)?;
    let service = ServiceConfig {
        blocklists: blocklists.clone(),
        ..args.service.config(args.message.limits())?
    };
    if let Some(host) = service
        .base_url
        .as_deref()
        .and_then(crate::reports::rua::unreachable_host)
    {
        tracing::warn!(
            host,
            "--base-url names an address or a local name, which mail servers on the internet \
             cannot post TLS reports to over HTTPS; give it the server's public name, the one \
             its certificate is for"
        );
    }
    let mut services = crate::reports::services::Services::built_in();
    if let Some(path) = &args.services {
        services
            .extend_from_file(path)
            .map_err(|e| format!("--services: {e}"))?;
    }
    let store = args.store.open().await?;
    tracing::info!(database = %crate::store::redact(&args.store.url()), "store open");
    let receiver = args
        .smtp
        .receiver(
            Arc::clone(&dns),
            store.clone(),
            args.message.max_message_size,
            args.message.limits(),
            &args.message.authserv_id,
            args.reports.limits(),
        )?
        .map(|(listen, mut receiver)| {
            receiver.blocklists = blocklists;
            (listen, receiver)
        });
    let state = crate::http::AppState {
        audit,
        message_limit: args.message.max_message_size,
        authserv_id: args.message.authserv_id.clone(),
        service,
        inbox: args.smtp.inbox()?,
        report_limits: args.reports.limits(),
        services: std::sync::Arc::new(services),
        audits: std::sync::Arc::new(crate::http::audit_cache::AuditCache::new(
            args.audit_cache_mib.saturating_mul(1024 * 1024),
        )),
        ..crate::http::AppState::new(dns, store.clone())
    };
    let receiving = match receiver {
        Some((listen, receiver)) => Some(receive(listen, receiver).await?),
        None => None,
    };
    let sweeper = store.spawn_sweeper(crate::store::sweeper::DEFAULT_INTERVAL);
    let served = crate::http::serve(args.listen, state).await;
    if let Some((stop, receiver)) = receiving {
        // The HTTP API has drained; the receiver stops after it, so a
        // page still polling sees the message that was arriving.
        let _ = stop.send(());
        let _ = receiver.await;
    }
    sweeper.abort();
    store.close().await;
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the SMTP receiver on `listen`; it runs until told to stop.
async fn receive(
    listen: SocketAddr,
    receiver: crate::smtp::Receiver,
) -> Result<(oneshot::Sender<()>, JoinHandle<std::io::Result<()>>), UsageError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| UsageError::from(format!("--smtp: cannot listen on {listen}: {e}")))?;
    let bound = listener.local_addr().map_err(UsageError::from)?;
    tracing::info!(address = %bound, inbox = %receiver.inbox.domain, "smtp receiver listening");
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(crate::smtp::serve_on(listener, Arc::new(receiver), async {
        let _ = stopped.await;
    }));
    Ok((stop, running))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        service: ServiceArgs,
    }

    fn parse(args: &[&str]) -> Result<ServiceConfig, String> {
        let command = Command::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        command.service.config(MessageLimits::default())
    }

    #[test]
    fn the_flag_defaults_are_the_config_defaults() {
        assert_eq!(parse(&[]).unwrap(), ServiceConfig::default());
    }

    #[test]
    fn the_probe_is_refused_unless_allowed() {
        assert!(!parse(&[]).unwrap().allow_probe);
        assert!(parse(&["--allow-probe"]).unwrap().allow_probe);
    }

    #[test]
    fn pages_follow_the_api_unless_web_public() {
        assert!(!parse(&[]).unwrap().web_public);
        assert!(parse(&["--web-public"]).unwrap().web_public);
    }

    #[test]
    fn keys_must_be_long_and_are_never_printed() {
        assert!(parse(&["--api-key", "short"]).unwrap_err().contains("16"));
        let config = parse(&["--api-key", "0123456789abcdef0123"]).unwrap();
        assert_eq!(config.api_keys.len(), 1);
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn key_files_hold_one_key_a_line() {
        let dir = std::env::temp_dir().join(format!("mailvet-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys");
        std::fs::write(
            &file,
            "# rotated 2026-01\nfirst-key-0123456789\n\nsecond-key-0123456789 # ci\n",
        )
        .unwrap();
        let config = parse(&["--api-key-file", file.to_str().unwrap()]).unwrap();
        assert_eq!(config.api_keys.len(), 2);
        std::fs::write(&file, "# nothing yet\n").unwrap();
        assert!(parse(&["--api-key-file", file.to_str().unwrap()]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cors_origins_are_origins() {
        let config =
            parse(&["--cors-origin", "https://app.example,http://localhost:3000"]).unwrap();
        assert_eq!(config.cors_origins.len(), 2);
        assert!(parse(&["--cors-origin", "*"]).is_ok());
        for bad in ["app.example", "https://app.example/", "ftp://x.example"] {
            assert!(parse(&["--cors-origin", bad]).is_err(), "{bad}");
        }
    }
}
