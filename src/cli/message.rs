//! `mailvet message`: the report of received messages, and the flags that
//! bound what one message may cost (shared with `serve`).
//!
//! This module decides how message files are read (`-` is standard input,
//! a directory is every message file in it, each capped at
//! `--max-message-size`) and how each is named in the output; the files
//! run as one batch ([`super::batch`]) and the report is the `message`
//! layer's.

use super::UsageError;
use super::batch::{self, BatchArgs};
use super::dns::DnsArgs;
use super::envelope::EnvelopeArgs;
use super::output::{Batch, OutputArgs};
use super::values::{MAX_BYTES, bytes, count};
use crate::local_file;
use crate::message::blocklists::Blocklists;
use crate::message::limits::{self, MessageLimits};
use crate::message::report::{MessageReport, MessageRequest, report_pooled};
use crate::render::{self, Suite, text::Style};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// How messages are received and reported.
#[derive(Debug, Clone, Args)]
pub struct MessageOptions {
    /// Largest message accepted: bytes, or a size such as 10MiB (25 MiB by
    /// default).
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_MESSAGE_SIZE", default_value_t = crate::http::DEFAULT_MESSAGE_LIMIT, value_parser = bytes::<usize>(1, MAX_BYTES as u64))]
    pub max_message_size: usize,

    /// Most header fields a message may have; one with more is refused
    /// (exit 2; over HTTP 413 `/problems/header-limit`). Gmail refuses
    /// more than 5000.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_HEADER_FIELDS",
          default_value_t = limits::DEFAULT_MAX_HEADER_FIELDS, value_parser = count(10_000_000))]
    pub max_header_fields: usize,

    /// Most bytes of header section a message may have; one with more is
    /// refused like too many fields. Gmail refuses more than 500 KB.
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_HEADER_BYTES",
          default_value_t = limits::DEFAULT_MAX_HEADER_BYTES, value_parser = bytes::<usize>(1, 1 << 30))]
    pub max_header_bytes: usize,

    /// Most DKIM signatures verified per message: the first ones in header
    /// order. The others are listed as not evaluated (`dkim.not_evaluated`),
    /// without a DNS question.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_DKIM_SIGNATURES",
          default_value_t = limits::DEFAULT_MAX_DKIM_SIGNATURES, value_parser = count(10_000))]
    pub max_dkim_signatures: usize,

    /// Most distinct body hashes (c=, a= and l= combinations of the
    /// signatures) computed per message, each a pass over the body. A
    /// signature needing another is not evaluated; an ARC chain needing
    /// another fails.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_BODY_HASHES",
          default_value_t = limits::DEFAULT_MAX_BODY_HASHES, value_parser = count(10_000))]
    pub max_body_hashes: usize,

    /// The authserv-id written in the Authentication-Results header.
    #[arg(
        long,
        value_name = "NAME",
        env = "MAILVET_AUTHSERV_ID",
        default_value = "mailvet"
    )]
    pub authserv_id: String,

    /// A DNS blocklist zone to ask about the sending IP (repeatable;
    /// `default` for the default lists, `none` for no list). `serve` asks
    /// the default lists when none is given; `mailvet message` asks only
    /// the lists given. Private, loopback and documentation addresses are
    /// never looked up.
    #[arg(
        long,
        value_name = "ZONE",
        env = "MAILVET_DNSBL",
        value_delimiter = ','
    )]
    pub dnsbl: Vec<String>,
}

impl MessageOptions {
    /// The blocklists to ask: those given, else the default lists when
    /// `by_default` (serve), else none.
    pub fn blocklists(&self, by_default: bool) -> Result<Blocklists, String> {
        match (self.dnsbl.is_empty(), by_default) {
            (true, true) => Ok(Blocklists::defaults()),
            (true, false) => Ok(Blocklists::none()),
            (false, _) => Blocklists::parse(&self.dnsbl),
        }
    }

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
    /// Message files (RFC 5322, as received), or directories of them
    /// (every *.eml file, and files that start with header fields, a From
    /// field among them); `-` reads standard input.
    #[arg(value_name = "FILE|DIR", required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub envelope: EnvelopeArgs,

    /// Treat the message as bulk mail (true) or not (false); by default
    /// decided from List-Id, List-Unsubscribe, Precedence and Feedback-ID.
    #[arg(long, value_name = "BOOL")]
    pub bulk: Option<bool>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub batch: BatchArgs,

    #[command(flatten)]
    pub message: MessageOptions,

    #[command(flatten)]
    pub dns: DnsArgs,
}

/// Messages verified at once by default, per core: enough to keep the
/// cores busy while some wait on DNS. Each message in verification holds
/// a mail-auth authenticator (`dns::bridge`), and building one reads the
/// system's CA store (~3 ms): at 32 at once that was a third of the CPU
/// of a 1,000-file batch against a local DNS server. A batch waiting on a
/// slow DNS server gains from a larger `--concurrency`.
const CONCURRENT_MESSAGES_PER_CORE: usize = 4;

/// Reads the message files (or every message in a directory), verifies
/// them as a batch and prints their reports.
pub async fn run(args: MessageArgs) -> Result<ExitCode, UsageError> {
    let files = message_files(&args.files)?;
    let stdin = files.iter().any(|f| f.as_os_str() == "-");
    args.output
        .refuse_unlocated_sarif(stdin.then_some(STDIN))
        .map_err(|e| format!("{e} (or give the message as a file)"))?;
    let envelope = args.envelope.message_envelope();
    let blocklists = args.message.blocklists(false)?;
    let dns = args.dns.build(batch::CACHE_ENTRIES)?;
    let trace = args.output.trace;
    let limit = args.message.max_message_size as u64;
    let fail_on = args.output.fail_on();
    let inputs: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|path| (display_name(&path), path))
        .collect();
    let mut batch = Batch::new(&args.output, inputs.len());
    let suite = |name: &str, r: &MessageReport| {
        let location = (name != STDIN).then(|| render::Location {
            file: name.to_string(),
            // Line 1: a finding does not say which header field it is
            // about.
            line: 1,
        });
        Suite::of_message(name, r, fail_on, location)
    };
    batch::run(
        inputs,
        args.batch.concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, usize::from)
                * CONCURRENT_MESSAGES_PER_CORE
        }),
        |path| {
            let dns = Arc::clone(&dns);
            let envelope = envelope.clone();
            let (bulk, authserv_id, limits, blocklists) = (
                args.bulk,
                args.message.authserv_id.clone(),
                args.message.limits(),
                blocklists.clone(),
            );
            async move {
                let raw = read_message(path, limit).await?;
                let request = MessageRequest {
                    raw,
                    envelope,
                    bulk,
                    authserv_id,
                    clock: crate::message::Clock::system(),
                    limits,
                    blocklists,
                };
                report_pooled(dns, request, trace)
                    .await
                    .map_err(|e| e.to_string())
            }
        },
        |done| batch.add(done, suite),
    )
    .await;
    let code = batch.finish(
        |name, r| render::text::message(r, name, Style::for_stdout()),
        suite,
    );
    args.dns.explain_silence(&[&dns]);
    Ok(code)
}

/// How standard input is named in reports.
const STDIN: &str = "standard input";

fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        STDIN.to_string()
    } else {
        path.display().to_string()
    }
}

/// Files up to this size are read on the task that checks them.
const READ_IN_PLACE: u64 = 128 * 1024;

/// Reads one message. A regular file of at most [`READ_IN_PLACE`] bytes
/// is read where the task runs: from the page cache that is a few
/// microseconds, while a hand-over to the blocking pool costs two thread
/// switches (a fifth of the CPU of a batch of 1,000 small messages).
/// Larger files, and standard input, which may block for as long as its
/// writer takes, are read on the blocking pool.
async fn read_message(path: PathBuf, limit: u64) -> Result<Vec<u8>, String> {
    let small = path.as_os_str() != "-"
        && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= READ_IN_PLACE);
    if small {
        return read_now(&path, limit);
    }
    tokio::task::spawn_blocking(move || read_now(&path, limit))
        .await
        .map_err(|e| format!("the read stopped: {e}"))?
}

fn read_now(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let raw = if path.as_os_str() == "-" {
        local_file::read_capped(std::io::stdin(), STDIN, "message", limit)
    } else {
        local_file::read(path, "message", limit)
    };
    // The batch names the file before its error.
    let raw = raw.map_err(|e| match e.problem {
        local_file::FileProblem::TooLarge { .. } => {
            format!("{}; --max-message-size sets the limit", e.problem)
        }
        problem => problem.to_string(),
    })?;
    if raw.is_empty() {
        return Err(
            "the message is empty; give the raw message as received, headers and body".into(),
        );
    }
    Ok(raw)
}

/// The files to verify: each argument, or for a directory every message
/// file in it (not below it), in name order: `*.eml`, and any other
/// regular file that starts like a message ([`looks_like_a_message`]).
fn message_files(arguments: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for argument in arguments {
        if argument.as_os_str() == "-" || !argument.is_dir() {
            files.push(argument.clone());
            continue;
        }
        let entries = std::fs::read_dir(argument)
            .map_err(|e| format!("{}: cannot list the directory: {e}", argument.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
                    || looks_like_a_message(path)
            })
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{}: no message files in this directory (*.eml, or files that start with \
                 header fields, a From field among them)",
                argument.display()
            ));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Whether the file starts like a message: its first line is a header
/// field (`Name: value`, RFC 5322 §2.2) and its header section holds a
/// From field, which every message has (RFC 5322 §3.6), so a directory's
/// other `name: value` files (a passwd, a config) are left alone. The
/// header section is read up to its end or [`HEADER_SCAN`] bytes, past
/// the many trace fields of a message that crossed several relays.
fn looks_like_a_message(path: &Path) -> bool {
    use std::io::{BufRead, BufReader, Read};
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = BufReader::new(file.take(HEADER_SCAN));
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        match head.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        let text = line.trim_ascii_end();
        if text.is_empty() {
            return false;
        }
        if first {
            let is_field = match text.iter().position(|&b| b == b':') {
                Some(colon) if colon > 0 => text[..colon].iter().all(|&b| (33..=126).contains(&b)),
                _ => false,
            };
            if !is_field {
                return false;
            }
            first = false;
        }
        if text.len() >= 5 && text[..5].eq_ignore_ascii_case(b"from:") {
            return true;
        }
    }
}

/// How much of a file [`looks_like_a_message`] reads for its From field.
const HEADER_SCAN: u64 = 1024 * 1024;
