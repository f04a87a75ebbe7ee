//! The SMTP envelope flags, `--ip`, `--helo` and `--mail-from`, declared
//! once for `message` and `spf`.
//!
//! This module decides what each flag holds. The help here is the
//! `message` one, where each may be left out and is then read from the
//! headers; `spf` requires `--ip` and words the help its own way
//! ([`super::spf::SpfArgs`]).

use crate::message::envelope::Envelope;
use clap::Args;
use std::net::IpAddr;

/// The envelope as the receiving server saw it.
#[derive(Debug, Clone, Args)]
pub struct EnvelopeArgs {
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
}

impl EnvelopeArgs {
    /// The envelope of a message check, refusing a HELO name or sender
    /// with a control character.
    pub fn message_envelope(&self) -> Result<Envelope, String> {
        for (field, value) in [("--helo", &self.helo), ("--mail-from", &self.mail_from)] {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().any(char::is_control))
            {
                return Err(format!("{field} contains a control character"));
            }
        }
        Ok(Envelope {
            ip: self.ip,
            helo: self.helo.clone(),
            mail_from: self.mail_from.clone(),
        })
    }
}
