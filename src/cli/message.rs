//! `mailvet message`: the report of received messages, and the flags that
//! bound what one message may cost (shared with `serve`).
//!
//! This module decides how message files are read (`-` is standard input,
//! each capped at `--max-message-size`), how many are verified at once,
//! and how each is named in the output; the report is the `message`
//! layer's.

use super::UsageError;
use super::dns::DnsArgs;
use super::envelope::EnvelopeArgs;
use super::output::OutputArgs;
use super::values::count;
use crate::local_file;
use crate::message::limits::{self, MessageLimits};
use crate::message::report::{MessageRequest, report_pooled};
use crate::render::{self, Suite, text::Style};
use clap::Args;
use futures_util::stream::{self, StreamExt};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
          value_parser = count(10_000_000))]
    pub max_header_fields: usize,

    /// Most bytes of header section a message may have; one with more is
    /// refused like too many fields. Gmail refuses more than 500 KB.
    #[arg(long, value_name = "BYTES", env = "MAILVET_MAX_HEADER_BYTES",
          default_value_t = limits::DEFAULT_MAX_HEADER_BYTES,
          value_parser = count(1 << 30))]
    pub max_header_bytes: usize,

    /// Most DKIM signatures verified per message: the first ones in header
    /// order. The others are listed as not evaluated (`dkim.not_evaluated`),
    /// without a DNS question.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_DKIM_SIGNATURES",
          default_value_t = limits::DEFAULT_MAX_DKIM_SIGNATURES,
          value_parser = count(10_000))]
    pub max_dkim_signatures: usize,

    /// Most distinct body hashes (c=, a= and l= combinations of the
    /// signatures) computed per message, each a pass over the body. A
    /// signature needing another is not evaluated; an ARC chain needing
    /// another fails.
    #[arg(long, value_name = "N", env = "MAILVET_MAX_BODY_HASHES",
          default_value_t = limits::DEFAULT_MAX_BODY_HASHES,
          value_parser = count(10_000))]
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

    #[command(flatten)]
    pub envelope: EnvelopeArgs,

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

/// Verifies at most this many messages at once.
const CONCURRENT_MESSAGES: usize = 8;

/// Reads the message files, verifies them and prints their reports.
pub async fn run(args: MessageArgs) -> Result<ExitCode, UsageError> {
    let limit = args.message.max_message_size as u64;
    let raws = args
        .files
        .iter()
        .map(|path| {
            let raw = if path.as_os_str() == "-" {
                local_file::read_capped(std::io::stdin(), "standard input", "message", limit)
            } else {
                local_file::read(path, "message", limit)
            };
            raw.map_err(|e| match e {
                local_file::FileError::TooLarge { .. } => {
                    format!("{e}; --max-message-size sets the limit")
                }
                e => e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = args.envelope.message_envelope()?;
    let dns = args.dns.build(0)?;
    let trace = args.output.trace;
    let results: Vec<_> = stream::iter(raws)
        .map(|raw| {
            let request = MessageRequest {
                raw,
                envelope: envelope.clone(),
                bulk: args.bulk,
                authserv_id: args.message.authserv_id.clone(),
                clock: crate::message::Clock::system(),
                limits: args.message.limits(),
            };
            report_pooled(Arc::clone(&dns), request, trace)
        })
        .buffered(CONCURRENT_MESSAGES)
        .collect()
        .await;
    let reports = results
        .into_iter()
        .zip(&args.files)
        .map(|(r, path)| r.map_err(|e| format!("{}: {e}", path.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let fail_on = args.output.fail_on();
    Ok(args.output.emit(
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
            Suite::of_findings(name, &r.findings, fail_on, |_| location.clone())
        },
    ))
}
