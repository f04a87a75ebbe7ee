//! The command line: subcommands, their flags and exit codes.
//!
//! This module decides how arguments map onto the engine and how a run
//! ends ([`exit_code`]): exit 0 when no finding reaches `--fail-on`
//! (default `error`), 1 when one does (or a `check` expectation is
//! broken), 2 for bad usage or bad input (with a one-line message saying
//! what to change), 3 when nothing failed but a DNS lookup failed and left
//! a domain's checks undecided: it could not be checked, run it again. It
//! parses and renders; the work is the engine's.

use crate::dns::{self, Dns, Settings, UpstreamChoice};
use crate::domain::AuditOptions;
use crate::domain::name::DomainName;
use crate::domain::report::{self, DomainReport};
use crate::findings::FailOn;
use crate::local_file;
use crate::message::limits::{self, MessageLimits};
use crate::render::{self, Format, Suite, ZoneLocator, text::Style};
use crate::spf::{self, SpfQuery};
use clap::{Args, Parser, Subcommand};
use futures_util::stream::{self, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "mailvet",
    version,
    about = "Will this mail authenticate and reach the inbox? mailvet checks SPF, DKIM, DMARC \
             and the DNS behind them, and says exactly what to fix.",
    after_help = "Examples:\n  \
        mailvet spf --ip 192.0.2.1 --mail-from news@example.com\n  \
        mailvet spf --ip 192.0.2.1 --helo mail.example.com --zone example.com.zone --offline\n  \
        mailvet serve --listen 0.0.0.0:8080\n\n\
        Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it (or a broken \
        expectation), 2 bad usage or input, 3 could not be checked: a DNS lookup failed and \
        nothing failed among what was decided (domain, check; run it again)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API: the reports under /v1, plus /healthz, /readyz, /metrics and /openapi.yaml.
    ///
    /// Every flag can also be set by the MAILVET_* environment variable shown
    /// with it, so a container is configured by its environment. Requests to
    /// /v1 are limited per client (--rate-limit), in number at once
    /// (--max-concurrent), in time (--request-timeout) and in body size; each
    /// limit answers application/problem+json with a stable type, and 429
    /// and 503 say when to retry. With --api-key or --api-key-file every
    /// endpoint but /healthz, /readyz and /openapi.yaml needs `Authorization:
    /// Bearer KEY`. Every answer carries an x-request-id. SIGTERM lets
    /// requests in flight finish (--shutdown-timeout) before exiting.
    Serve(ServeArgs),
    /// Audit the DNS posture of sending domains.
    ///
    /// SPF (with its whole include tree and lookup budget), DMARC, DKIM keys
    /// (the selectors you give plus common ones), MX, MTA-STS (the policy is
    /// fetched over HTTPS), TLS-RPT, BIMI and DNSSEC — every problem a
    /// finding with a stable code, why it matters and the fix. Domains are
    /// audited concurrently; with --format json one domain gives an object
    /// and several give an array.
    #[command(after_help = "Examples:\n  \
        mailvet domain example.com\n  \
        mailvet domain example.com --selector s2026 --format json\n  \
        mailvet domain --file domains.txt --fail-on warning\n  \
        mailvet domain example.com --zone example.com.zone   # check a change before publishing it\n\n\
        Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 bad input, \
        3 could not be checked: a DNS lookup failed, the verdict is unknown and there is no \
        score (run it again; 1 wins when an error was found among the rest).")]
    Domain(DomainArgs),
    /// Verify messages: SPF, every DKIM signature, DMARC with alignment,
    /// ARC, iprev and the header checks, with an Authentication-Results
    /// header and the Gmail/Yahoo/Microsoft checklist.
    ///
    /// Give the envelope (--ip, --helo, --mail-from) as your server saw it;
    /// what you leave out is read from the newest Received header and
    /// Return-Path, and the report says so. Several files are verified
    /// concurrently; with --format json several give an array.
    #[command(after_help = "Examples:\n  \
        mailvet message received.eml --ip 192.0.2.1 --helo mail.example.com --mail-from bounce@example.com\n  \
        mailvet message *.eml --format json\n  \
        cat message.eml | mailvet message -\n\n\
        Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 bad input.")]
    Message(MessageArgs),
    /// Evaluate SPF (RFC 7208) for a client IP and its envelope.
    ///
    /// With --mail-from the MAIL FROM identity is checked (an empty value is
    /// the null sender, checked as postmaster@HELO); with only --helo, the
    /// HELO identity. Every DNS query goes through the same resolver layer
    /// as the other checks, so --zone files can preview an unpublished
    /// record and --trace shows each query.
    #[command(after_help = "Examples:\n  \
        mailvet spf --ip 192.0.2.1 --mail-from news@example.com\n  \
        mailvet spf --ip 2001:db8::25 --helo mail.example.com --format json --trace\n  \
        mailvet spf --ip 203.0.113.7 --mail-from news@example.com --zone example.com.zone\n\n\
        Exit codes: 0 pass or neutral (nothing at or above --fail-on), 1 fail, none or \
        permerror (errors), 2 bad usage or input. A DNS failure (temperror) is a warning.")]
    Spf(SpfArgs),
    /// The CI gate: check domains against what their owner expects.
    ///
    /// The config (TOML) lists each domain with its expectations: DKIM
    /// selectors that must hold valid keys of a minimum size, the least
    /// DMARC policy for the domain and its subdomains and a required rua,
    /// the sources SPF must authorize, its ending and a lookup margin, the
    /// MTA-STS mode, TLS-RPT and BIMI, and the senders (IP, MAIL FROM
    /// domain, DKIM domain) whose DMARC outcome is predicted. Each domain is
    /// audited as `mailvet domain` does; each expectation and each finding
    /// is a test case. With --zone, the zone files overlay live DNS, so a
    /// pull request's DNS change is checked before it is published, and the
    /// report shows what it fixes and what it breaks compared with live DNS.
    /// With GITHUB_ACTIONS=true, failures are also written as ::error and
    /// ::warning annotations (on standard error when --format is json, junit
    /// or sarif, so the report stays parseable).
    #[command(after_help = "Examples:\n  \
        mailvet check                                   # reads ./mailvet.toml\n  \
        mailvet check --config dns/mailvet.toml --fail-on warning\n  \
        mailvet check --zone zones/example.com.zone     # check a DNS change before publishing it\n  \
        mailvet check --format junit > mailvet-junit.xml\n  \
        mailvet check --format sarif > mailvet.sarif\n\n\
        A config (see the README, \"Use in CI\"):\n  \
        [[domain]]\n  \
        name = \"example.com\"\n  \
        tls_rpt = true\n  \
        [domain.dmarc]\n  \
        policy = \"reject\"\n  \
        require_rua = true\n  \
        [domain.spf]\n  \
        authorized = [\"192.0.2.25\", \"198.51.100.0/24\"]\n  \
        all = \"-all\"\n  \
        [[domain.sender]]\n  \
        name = \"newsletter ESP\"\n  \
        ip = \"198.51.100.7\"\n  \
        mail_from_domain = \"bounce.example.com\"\n  \
        dkim_domain = \"example.com\"\n\n\
        Exit codes: 0 every expectation met and nothing at or above --fail-on, 1 an \
        expectation broken or a finding at or above --fail-on, 2 bad config or input (the \
        message names the config line and field), 3 could not be checked: a DNS lookup \
        failed and nothing else failed (retry).")]
    Check(CheckArgs),
}

/// How DNS is asked; shared by every subcommand that queries DNS.
#[derive(Debug, Clone, Args)]
pub struct DnsArgs {
    /// Nameserver to ask: IP or IP:PORT ([IPv6]:PORT), port 53 by default.
    /// Repeat for several, asked in order. Default: the servers in
    /// /etc/resolv.conf.
    #[arg(
        long = "dns",
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
    /// NXDOMAIN.
    #[arg(long, conflicts_with = "dns")]
    pub offline: bool,

    /// How long one try at one server may wait (e.g. 500ms, 2s).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub dns_timeout: Duration,

    /// Rounds over the server list before a query counts as failed.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub dns_attempts: u32,

    /// Most time one check (or one HTTP request) may spend on DNS; after
    /// it, pending lookups fail as temporary errors.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub deadline: Duration,

    /// Most questions one check (or one HTTP request, a whole batch
    /// included) may send to the DNS servers; answers from --zone files and
    /// the cache are free. Past it, lookups fail as temporary errors and
    /// the report's dns.budget_exhausted is true.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_DNS_QUESTIONS",
          default_value_t = dns::DEFAULT_MAX_QUESTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_dns_questions: u32,
}

/// How a report is printed and when the run fails.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// text for people; json; junit (one testsuite per domain or message,
    /// one testcase per expectation and finding); sarif (SARIF 2.1.0).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Include every DNS query in the report.
    #[arg(long)]
    pub trace: bool,

    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
}

impl OutputArgs {
    /// Prints the reports (one JSON object, or an array for several; text
    /// one after another; JUnit and SARIF one document for all) and decides
    /// the exit code: 1 when a case of a report's suite fails.
    fn emit<R: serde::Serialize>(
        &self,
        reports: &[R],
        text: impl Fn(usize, &R) -> String,
        suite: impl Fn(usize, &R) -> Suite,
    ) -> ExitCode {
        let suites: Vec<Suite> = reports
            .iter()
            .enumerate()
            .map(|(i, r)| suite(i, r))
            .collect();
        let out = match (self.format, reports) {
            (Format::Json, [one]) => render::json(one),
            (Format::Json, many) => render::json(&many),
            (Format::Text, many) => many
                .iter()
                .enumerate()
                .map(|(i, r)| text(i, r))
                .collect::<Vec<_>>()
                .join("\n"),
            (Format::Junit | Format::Sarif, _) => String::new(),
        };
        self.print(&out, &suites)
    }

    /// Writes the report in the chosen format (`text` and `json` come
    /// rendered), GitHub annotations when running there, and returns the
    /// exit code.
    fn print(&self, rendered: &str, suites: &[Suite]) -> ExitCode {
        let annotations = if render::annotations::in_github_actions() {
            render::annotations::render(suites)
        } else {
            String::new()
        };
        match self.format {
            Format::Text => print!("{rendered}{annotations}"),
            Format::Json => print!("{rendered}"),
            Format::Junit => print!("{}", render::junit::render(suites)),
            Format::Sarif => print!("{}", render::sarif::render(suites)),
        }
        // Machine-readable output stays parseable; the runner reads
        // workflow commands from standard error too.
        if self.format != Format::Text {
            eprint!("{annotations}");
        }
        exit_code(suites)
    }
}

/// Exit code 1: a finding at or above `--fail-on`, or a broken expectation.
const EXIT_FAILED: u8 = 1;
/// Exit code 3: nothing failed, but a DNS lookup failed and left checks
/// undecided; the run says nothing either way and should be repeated.
const EXIT_UNDECIDED: u8 = 3;

/// How a run ends. A failure found among what was decided is 1 whatever
/// else is undecided (running again cannot make it pass); undecided alone
/// is 3, so a pipeline can retry it and still never passes it as 0.
fn exit_code(suites: &[Suite]) -> ExitCode {
    if suites.iter().any(|s| s.has(render::Outcome::Fail)) {
        ExitCode::from(EXIT_FAILED)
    } else if suites.iter().any(|s| s.has(render::Outcome::Error)) {
        ExitCode::from(EXIT_UNDECIDED)
    } else {
        ExitCode::SUCCESS
    }
}

/// How the MTA-STS policy may be fetched.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// Allow HTTPS fetches (MTA-STS policies) to loopback, private and
    /// link-local addresses. Off by default so a domain cannot make mailvet
    /// probe your internal network; tests and private deployments need it.
    #[arg(long, env = "MAILVET_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,

    /// PEM file of extra CA certificates trusted for HTTPS fetches, besides
    /// the Mozilla roots (for a private PKI).
    #[arg(long, value_name = "FILE", env = "MAILVET_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// How long one HTTPS fetch may take.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub fetch_timeout: Duration,

    /// Most records the audit's SPF walk reads for one domain (each name
    /// once), most a/mx/exists targets it checks, and most nodes its tree
    /// shows; a tree cut short gets spf.walk_limit.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_SPF_NODES",
          default_value_t = crate::domain::spf::DEFAULT_MAX_NODES as u32,
          value_parser = clap::value_parser!(u32).range(20..=100_000))]
    pub max_spf_nodes: u32,
}

impl FetchArgs {
    /// Audit options from these flags; reads and checks the CA file.
    pub fn audit_options(&self) -> Result<AuditOptions, String> {
        let extra_roots_pem = match &self.ca_file {
            Some(path) => {
                let pem =
                    local_file::read(path, "CA file", CA_FILE_LIMIT).map_err(|e| e.to_string())?;
                crate::domain::mta_sts::parse_extra_roots(&pem)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                pem
            }
            None => Vec::new(),
        };
        Ok(AuditOptions {
            allow_private_fetch: self.allow_private_fetch,
            fetch_timeout: self.fetch_timeout,
            extra_roots_pem,
            max_spf_nodes: self.max_spf_nodes as usize,
            ..AuditOptions::default()
        })
    }
}

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

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub fetch: FetchArgs,

    #[command(flatten)]
    pub dns: DnsArgs,
}

/// How messages are received and reported.
#[derive(Debug, Clone, Args)]
pub struct MessageOptions {
    /// Largest message accepted, in bytes (25 MiB by default).
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_MESSAGE_SIZE", default_value_t = crate::http::DEFAULT_MESSAGE_LIMIT)]
    pub max_message_size: usize,

    /// Most header fields a message may have; one with more is refused
    /// (exit 2; over HTTP 413 `/problems/header-limit`). Gmail refuses
    /// more than 5000.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_HEADER_FIELDS",
          default_value_t = limits::DEFAULT_MAX_HEADER_FIELDS,
          value_parser = crate::http::config::count(10_000_000))]
    pub max_header_fields: usize,

    /// Most bytes of header section a message may have; one with more is
    /// refused like too many fields. Gmail refuses more than 500 KB.
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_HEADER_BYTES",
          default_value_t = limits::DEFAULT_MAX_HEADER_BYTES,
          value_parser = crate::http::config::count(1 << 30))]
    pub max_header_bytes: usize,

    /// Most DKIM signatures verified per message: the first ones in header
    /// order. The others are listed as not evaluated (`dkim.not_evaluated`),
    /// without a DNS question.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_DKIM_SIGNATURES",
          default_value_t = limits::DEFAULT_MAX_DKIM_SIGNATURES,
          value_parser = crate::http::config::count(10_000))]
    pub max_dkim_signatures: usize,

    /// Most distinct body hashes (c=, a= and l= combinations of the
    /// signatures) computed per message, each a pass over the body. A
    /// signature needing another is not evaluated; an ARC chain needing
    /// another fails.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_BODY_HASHES",
          default_value_t = limits::DEFAULT_MAX_BODY_HASHES,
          value_parser = crate::http::config::count(10_000))]
    pub max_body_hashes: usize,

    /// The authserv-id written in the Authentication-Results header.
    #[arg(
        long,
        value_name = "NAME",
        env = "MAILVET_AUTHSERV_ID",
        default_value = "mailvet"
    )]
    pub authserv_id: String,
}

impl MessageOptions {
    /// What one message may cost.
    pub fn limits(&self) -> MessageLimits {
        MessageLimits {
            header_fields: self.max_header_fields,
            header_bytes: self.max_header_bytes,
            dkim_signatures: self.max_dkim_signatures,
            body_hashes: self.max_body_hashes,
        }
    }
}

#[derive(Debug, Args)]
pub struct MessageArgs {
    /// Message files (RFC 5322, as received); `-` reads standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The connecting client's IP. Without it, the newest Received header
    /// is read (and the report says so).
    #[arg(long, value_name = "IP")]
    pub ip: Option<IpAddr>,

    /// The HELO/EHLO name the client gave.
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,

    /// The envelope sender (MAIL FROM); '' is the null sender. Without it,
    /// Return-Path is read.
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,

    /// Treat the message as bulk mail (true) or not (false); by default
    /// decided from List-Id, List-Unsubscribe, Precedence and Feedback-ID.
    #[arg(long, value_name = "BOOL")]
    pub bulk: Option<bool>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub message: MessageOptions,

    #[command(flatten)]
    pub dns: DnsArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        env = "MAILVET_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Entries in the shared DNS cache (TTL-respecting; 0 turns it off).
    #[arg(
        long,
        value_name = "N",
        env = "MAILVET_CACHE_ENTRIES",
        default_value_t = 10_000
    )]
    pub cache_entries: usize,

    #[command(flatten)]
    pub fetch: FetchArgs,

    #[command(flatten)]
    pub message: MessageOptions,

    #[command(flatten)]
    pub dns: DnsArgs,

    #[command(flatten)]
    pub service: crate::http::config::ServiceArgs,
}

#[derive(Debug, Args)]
pub struct SpfArgs {
    /// The connecting client's IP address (IPv4 or IPv6).
    #[arg(long, value_name = "IP")]
    pub ip: IpAddr,

    /// The HELO/EHLO name the client gave.
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,

    /// The envelope sender (MAIL FROM). Use '' for the null sender.
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub dns: DnsArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config: the domains to check and what is expected of each
    /// (TOML; see fixtures/check/mailvet.example.toml).
    #[arg(long, value_name = "FILE", default_value = "mailvet.toml")]
    pub config: PathBuf,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub fetch: FetchArgs,

    #[command(flatten)]
    pub dns: DnsArgs,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Spf(args) => spf_command(args).await,
            Command::Domain(args) => domain_command(args).await,
            Command::Message(args) => message_command(args).await,
            Command::Check(args) => check_command(args).await,
        }
    })
}

/// Says what is wrong with the input and exits 2. The message may quote
/// input, so its control characters are shown escaped.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("mailvet: {}", crate::untrusted::escape_controls(message));
    ExitCode::from(2)
}

impl DnsArgs {
    /// Builds the resolver layer, loading the zone files.
    pub fn build(&self, cache_capacity: usize) -> Result<Arc<Dns>, dns::SetupError> {
        self.build_with(self.load_zones()?, cache_capacity)
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
        Dns::new(
            Settings {
                upstream,
                query_timeout: self.dns_timeout,
                attempts: self.dns_attempts,
                deadline: self.deadline,
                cache_capacity,
                max_questions: self.max_dns_questions as usize,
            },
            zones,
        )
    }
}

async fn spf_command(args: SpfArgs) -> ExitCode {
    let dns = match args.dns.build(0) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.to_string()),
    };
    let query = SpfQuery {
        ip: args.ip,
        helo: args.helo,
        mail_from: args.mail_from,
        receiver: None,
    };
    let resolver = dns.resolver();
    let report = match spf::report::report(&resolver, &query, args.output.trace).await {
        Ok(r) => r,
        Err(e) => return usage_error(&e.to_string()),
    };
    args.output.emit(
        &[report],
        |_, r| render::text::spf(r, Style::for_stdout()),
        |_, r| Suite::of_findings(&r.check.sender, &r.findings, args.output.fail_on, |_| None),
    )
}

/// The largest `--file` domain list read (1 MiB: tens of thousands of domains).
const DOMAIN_LIST_LIMIT: u64 = 1024 * 1024;

/// The largest `--ca-file` read (1 MiB of PEM certificates).
const CA_FILE_LIMIT: u64 = 1024 * 1024;

/// Audits at most this many domains at once.
const CONCURRENT_AUDITS: usize = 8;

async fn domain_command(args: DomainArgs) -> ExitCode {
    let mut domains = Vec::new();
    for input in &args.domains {
        match DomainName::parse(input) {
            Ok(d) => domains.push(d),
            Err(e) => return usage_error(&e.to_string()),
        }
    }
    if let Some(path) = &args.file {
        match domain_list(path) {
            Ok(listed) => domains.extend(listed),
            Err(e) => return usage_error(&e),
        }
    }
    if domains.is_empty() {
        return usage_error("give at least one domain, or --file with one domain per line");
    }
    let mut options = match args.fetch.audit_options() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    for s in &args.selectors {
        if !crate::domain::name::is_dkim_selector(s) {
            return usage_error(&format!("`{s}` is not a DKIM selector"));
        }
    }
    options.selectors = args.selectors.clone();
    let zones = match args.dns.load_zones() {
        Ok(z) => z,
        Err(e) => return usage_error(&e.to_string()),
    };
    let dns = match args.dns.build_with(zones.clone(), 0) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.to_string()),
    };
    let reports: Vec<DomainReport> = stream::iter(domains)
        .map(|domain| {
            let (dns, options) = (Arc::clone(&dns), options.clone());
            async move {
                let resolver = dns.resolver();
                report::audit(&resolver, &domain, &options, args.output.trace).await
            }
        })
        .buffered(CONCURRENT_AUDITS)
        .collect()
        .await;
    let locator = ZoneLocator::new(&zones);
    args.output.emit(
        &reports,
        |_, r| render::text::domain(r, Style::for_stdout()),
        |_, r| Suite::of_domain(r, args.output.fail_on, |f| locator.locate(f)),
    )
}

/// The domains of a `--file` list: one per line, `#` starts a comment. A
/// line that is no domain is quoted only as an excerpt: the file may be
/// anything.
fn domain_list(path: &Path) -> Result<Vec<DomainName>, String> {
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
        domains.push(domain);
    }
    Ok(domains)
}

/// Checks the config's domains, with the --zone files and, to show what
/// they change, against live DNS alone.
async fn check_command(args: CheckArgs) -> ExitCode {
    let config = match crate::check::config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return usage_error(&e.to_string()),
    };
    let options = match args.fetch.audit_options() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let zones = match args.dns.load_zones() {
        Ok(z) => z,
        Err(e) => return usage_error(&e.to_string()),
    };
    let compare_live = !zones.is_empty() && !args.dns.offline;
    let (planned_dns, live_dns) = match (
        args.dns.build_with(zones.clone(), 0),
        args.dns.build_with(Vec::new(), 0),
    ) {
        (Ok(p), Ok(l)) => (p, l),
        (Err(e), _) | (_, Err(e)) => return usage_error(&e.to_string()),
    };
    let trace = args.output.trace;
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
    let fail_on = args.output.fail_on;
    let report = crate::check::CheckReport::new(&config, fail_on, planned, live.as_deref());
    let suites = render::check::suites(&report, fail_on, ZoneLocator::new(&zones));
    let rendered = match args.output.format {
        Format::Text => render::check::render(&report, fail_on, Style::for_stdout()),
        Format::Json => render::json(&report),
        Format::Junit | Format::Sarif => String::new(),
    };
    args.output.print(&rendered, &suites)
}

/// Verifies at most this many messages at once.
const CONCURRENT_MESSAGES: usize = 8;

async fn message_command(args: MessageArgs) -> ExitCode {
    let mut raws = Vec::new();
    for path in &args.files {
        let limit = args.message.max_message_size as u64;
        let raw = if path.as_os_str() == "-" {
            local_file::read_capped(std::io::stdin(), "standard input", "message", limit)
        } else {
            local_file::read(path, "message", limit)
        };
        match raw {
            Ok(raw) => raws.push(raw),
            Err(e @ local_file::FileError::TooLarge { .. }) => {
                return usage_error(&format!("{e}; --max-message-size sets the limit"));
            }
            Err(e) => return usage_error(&e.to_string()),
        }
    }
    for (field, value) in [("--helo", &args.helo), ("--mail-from", &args.mail_from)] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return usage_error(&format!("{field} contains a control character"));
        }
    }
    let dns = match args.dns.build(0) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.to_string()),
    };
    let envelope = crate::message::envelope::Envelope {
        ip: args.ip,
        helo: args.helo.clone(),
        mail_from: args.mail_from.clone(),
    };
    let results: Vec<_> = stream::iter(raws)
        .map(|raw| {
            let request = crate::message::report::MessageRequest {
                raw,
                envelope: envelope.clone(),
                bulk: args.bulk,
                authserv_id: args.message.authserv_id.clone(),
                clock: crate::message::Clock::system(),
                limits: args.message.limits(),
            };
            crate::message::report::report_pooled(Arc::clone(&dns), request, args.output.trace)
        })
        .buffered(CONCURRENT_MESSAGES)
        .collect()
        .await;
    let mut reports = Vec::new();
    for (r, path) in results.into_iter().zip(&args.files) {
        match r {
            Ok(report) => reports.push(report),
            Err(e) => return usage_error(&format!("{}: {e}", path.display())),
        }
    }
    args.output.emit(
        &reports,
        |i, r| {
            let name = args
                .files
                .get(i)
                .map_or_else(String::new, |f| f.display().to_string());
            render::text::message(r, &name, Style::for_stdout())
        },
        |i, r| {
            let file = args.files.get(i).filter(|f| f.as_os_str() != "-");
            let name = file.map_or_else(|| "standard input".into(), |f| f.display().to_string());
            let location = file.map(|f| render::Location {
                file: f.display().to_string(),
                line: None,
            });
            Suite::of_findings(name, &r.findings, args.output.fail_on, |_| location.clone())
        },
    )
}

async fn serve(args: ServeArgs) -> ExitCode {
    let dns = match args.dns.build(args.cache_entries) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.to_string()),
    };
    let audit = match args.fetch.audit_options() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let service = match args.service.config() {
        Ok(c) => crate::http::config::ServiceConfig {
            message_limits: args.message.limits(),
            ..c
        },
        Err(e) => return usage_error(&e),
    };
    let state = crate::http::AppState {
        audit,
        message_limit: args.message.max_message_size,
        authserv_id: args.message.authserv_id.clone(),
        service,
        ..crate::http::AppState::new(dns)
    };
    match crate::http::serve(args.listen, state).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(&e.to_string()),
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

/// `500ms`, `2s`, `1m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. 500ms, 2s or 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("`{s}`: unit must be ms, s or m")),
    };
    if !(0.001..=3600.0).contains(&seconds) {
        return Err(format!("`{s}` is out of range (1ms to 60m)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_durations() {
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
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
