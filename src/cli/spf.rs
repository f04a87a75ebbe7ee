//! `mailvet spf`: SPF (RFC 7208) for a client IP and its envelope.
//!
//! This module decides the command's flags: `--ip` is required here, and
//! `--helo` and `--mail-from` pick the identity checked (the engine's
//! `spf` layer does the checking).

use super::UsageError;
use super::dns::DnsArgs;
use super::envelope::EnvelopeArgs;
use super::output::OutputArgs;
use crate::render::{self, Suite, text::Style};
use crate::spf::{self, SpfQuery};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(
    mut_arg("ip", |a| a.required(true).help("The connecting client's IP address (IPv4 or IPv6)")),
    mut_arg("mail_from", |a| a.help("The envelope sender (MAIL FROM). Use '' for the null sender"))
)]
pub struct SpfArgs {
    #[command(flatten)]
    pub envelope: EnvelopeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub dns: DnsArgs,
}

/// Checks the envelope's identity and prints the report.
pub async fn run(args: SpfArgs) -> Result<ExitCode, UsageError> {
    args.output.refuse_unlocated_sarif(Some("an SPF check"))?;
    let dns = args.dns.build(0)?;
    let EnvelopeArgs {
        ip,
        helo,
        mail_from,
    } = args.envelope;
    let query = SpfQuery {
        // Required above, so clap has refused a command line without it.
        ip: ip.ok_or("give --ip, the connecting client's IP address")?,
        helo,
        mail_from,
        receiver: None,
    };
    let resolver = dns.resolver();
    let report = spf::report::report(&resolver, &query, args.output.trace).await?;
    let fail_on = args.output.fail_on();
    // The input is the identity checked (`local@domain`), as a jsonl
    // line names it.
    let code = args.output.emit(
        1,
        &[(report.check.sender.clone(), report)],
        &[],
        |_, r| render::text::spf(r, Style::for_stdout()),
        |_, r| Suite::of_spf(r, fail_on),
    );
    args.dns.explain_silence(&[&dns]);
    Ok(code)
}
