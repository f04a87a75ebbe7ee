//! The command line: subcommands, their flags and exit codes.
//!
//! This module decides how arguments map onto the engine and how a run
//! ends: exit 0 when no finding reaches `--fail-on` (default `error`), 1
//! when one does (or a `check` expectation is broken), 2 for bad usage or
//! bad input (a [`UsageError`], printed here and only here, with a
//! one-line message saying what to change), 3 when nothing failed but a
//! DNS lookup failed and left checks undecided: it could not be
//! checked, run it again ([`output`] decides 0, 1 and 3). It parses and
//! renders; the work is the engine's.
//!
//! Each subcommand is one module with its flags and its run: [`serve`],
//! [`domain`], [`message`], [`spf`], [`check`] and [`reports`]. The flag groups several
//! of them share are [`dns::DnsArgs`], [`output::OutputArgs`],
//! [`audit::FetchArgs`] (with the other two, [`audit::AuditArgs`]),
//! [`envelope::EnvelopeArgs`] and [`message::MessageOptions`]; clap is
//! used nowhere else in the crate.

pub mod audit;
pub mod batch;
pub mod check;
pub mod dns;
pub mod domain;
pub mod envelope;
pub mod message;
pub mod output;
pub mod reports;
pub mod serve;
pub mod smtp;
pub mod spf;
pub mod store;
pub mod values;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
        nothing failed among what was decided (domain, check, message; run it again)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line of this process. Help, the version and a command
    /// line clap refuses are printed here, and the process exits (2 when
    /// refused). A value refused that came from a `MAILVET_*` variable, not
    /// from its flag, is said to come from the variable.
    pub fn from_env() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Cli::try_parse_from(&args).unwrap_or_else(|error| blame_the_variable(error, &args).exit())
    }

    /// How log lines are written: only the server logs enough to want
    /// JSON; the other commands talk to a person on a terminal.
    pub fn log_format(&self) -> serve::LogFormat {
        match &self.command {
            Command::Serve(args) => args.service.log_format,
            _ => serve::LogFormat::Text,
        }
    }
}

/// `error` naming the environment variable its value came from, when the
/// refused value is a flag's that the command line does not hold but
/// the variable does.
fn blame_the_variable(mut error: clap::Error, args: &[std::ffi::OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        error.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return error;
    }
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    let Some(long) = shown
        .split_whitespace()
        .next()
        .and_then(|f| f.strip_prefix("--"))
    else {
        return error;
    };
    let given = args.iter().filter_map(|a| a.to_str()).any(|a| {
        a.strip_prefix("--")
            .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
    });
    if let Some(env) = variable_of(&<Cli as clap::CommandFactory>::command(), long)
        && !given
        && std::env::var_os(&env).is_some()
    {
        let blamed = format!("{env} (the environment variable of {shown})");
        error.insert(ContextKind::InvalidArg, ContextValue::String(blamed));
    }
    error
}

/// The environment variable of the flag `--long`, in `command` or any
/// subcommand below it.
fn variable_of(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .and_then(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| variable_of(sub, long))
        })
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: the web pages at /, the HTTP API under /v1, and with --smtp the test inbox.
    ///
    /// Open http://ADDR/ (the --listen address) in a browser for the pages:
    /// a domain's audit, a pasted message's report, a test address to send
    /// a real campaign to, and the DMARC and TLS reports read for you. The
    /// API answers under /v1, plus /healthz, /readyz, /metrics and
    /// /openapi.yaml. What is saved (reports, test addresses, imported
    /// reports) is kept in --database, a SQLite file by default. Every flag
    /// can also be set by the MAILVET_* environment variable shown with
    /// it, so a container is configured by its environment. Requests to
    /// /v1 are limited per client (--rate-limit), in number at once
    /// (--max-concurrent), in time (--request-timeout) and in body size; each
    /// limit answers application/problem+json with a stable type, and 429
    /// and 503 say when to retry. With --api-key or --api-key-file every
    /// endpoint but /healthz, /readyz and /openapi.yaml needs `Authorization:
    /// Bearer KEY`. Every answer carries an x-request-id. SIGTERM lets
    /// requests in flight finish (--shutdown-timeout) before exiting.
    #[command(after_help = "Examples:\n  \
        mailvet serve                                   # pages and API on http://127.0.0.1:8080/\n  \
        mailvet serve --listen 0.0.0.0:8080 --api-key-file keys.txt --web-public   # /v1 needs a key\n  \
        mailvet serve --smtp 0.0.0.0:2525 --inbox-domain inbox.example.com   # test addresses\n  \
        mailvet serve --database postgres://mailvet:PASSWORD@db/mailvet   # replicas share a store")]
    Serve(Box<serve::ServeArgs>),
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
        score (run it again; 1 wins when a finding at or above --fail-on was found among the \
        rest).")]
    Domain(domain::DomainArgs),
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
        Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 bad input, \
        3 could not be checked: a DNS lookup failed and left SPF, DKIM, DMARC or iprev \
        undecided (run it again; 1 wins when a finding at or above --fail-on was found among \
        the rest).")]
    Message(message::MessageArgs),
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
        permerror (errors), 2 bad usage or input, 3 a DNS failure left the result at \
        temperror (undecided: run it again).")]
    Spf(spf::SpfArgs),
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
    /// With GITHUB_ACTIONS=true, failures and error findings are also
    /// written as ::error annotations and other warnings as ::warning,
    /// whatever --fail-on says (on standard error when --format is json,
    /// jsonl, junit or sarif, so the report stays parseable), and text from
    /// records or files that the runner would read as a workflow command
    /// (`::` starting a line, `##[`) is broken.
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
    Check(check::CheckArgs),
    /// DMARC aggregate and SMTP TLS reports: import them into the store,
    /// and read what they say about a domain.
    ///
    /// Both subcommands use the store `serve` uses (--database, else the
    /// SQLite file in --data-dir), so reports imported here are summed up
    /// by `GET /v1/reports/dmarc/{domain}` too.
    Reports(reports::ReportsArgs),
}

/// Bad usage or bad input: the run stops with exit 2 and this one-line
/// message saying what to change.
///
/// Every error a subcommand meets before or instead of a report (a flag
/// the engine refuses, a file it cannot read, a server it cannot start)
/// converts into one with `?`; [`run`] prints it. It has no `Display` of
/// its own so that any error that has one converts.
#[derive(Debug)]
pub struct UsageError(String);

impl<E: std::fmt::Display> From<E> for UsageError {
    fn from(error: E) -> UsageError {
        UsageError(error.to_string())
    }
}

impl UsageError {
    /// Says what is wrong with the input and exits 2. The message may
    /// quote input, so its control characters are shown escaped.
    fn report(self) -> ExitCode {
        output::stderr_line(&format!(
            "mailvet: {}",
            crate::untrusted::escape_controls(&self.0)
        ));
        ExitCode::from(2)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let code = execute(cli).unwrap_or_else(UsageError::report);
    match output::unwritten() {
        Some(why) => UsageError(format!("cannot write to standard output: {why}")).report(),
        None => code,
    }
}

/// Runs one subcommand on a fresh async runtime. `reports` does one
/// thing at a time (its parsing runs on a blocking thread all the same),
/// so it runs on the calling thread alone: worker threads would only add
/// their stacks and allocator heaps to its peak memory.
fn execute(cli: Cli) -> Result<ExitCode, UsageError> {
    let mut builder = match cli.command {
        Command::Reports(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Spf(args) => spf::run(args).await,
            Command::Domain(args) => domain::run(args).await,
            Command::Message(args) => on_worker(message::run(args)).await,
            Command::Check(args) => on_worker(check::run(args)).await,
            Command::Reports(args) => reports::run(args).await,
        }
    })
}

/// Runs a batch command on one of the runtime's worker threads. The
/// thread that blocks on the runtime is not one of them: a batch driven
/// from it is woken through a futex each time an input's task finishes,
/// and on a machine with as many workers as cores it competes with them
/// for a core (`benches/speed.sh cli`, 1,000 files on 2 cores: about
/// 4,800 messages/s driven from the blocked thread, 8,300 from a worker).
/// `domain` stays where it is: rustc cannot prove its future `Send`
/// (through sqlx's `Acquire` and the batch's borrowing closures), and its
/// batches wait on DNS rather than on the cores.
async fn on_worker<F>(command: F) -> Result<ExitCode, UsageError>
where
    F: Future<Output = Result<ExitCode, UsageError>> + Send + 'static,
{
    tokio::spawn(command)
        .await
        .unwrap_or_else(|e| Err(UsageError::from(format!("the command stopped: {e}"))))
}

#[cfg(test)]
mod tests {
    /// clap checks the flags of every subcommand (unique names, the
    /// flags a `requires` names exist) only when a command line is
    /// parsed in a debug build; this does it for all of them at once.
    #[test]
    fn every_subcommand_s_flags_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
