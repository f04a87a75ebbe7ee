//! The SMTP envelope flags, `--ip`, `--helo` and `--mail-from`, declared
//! once for `message` and `spf`.
//!
//! This module decides what each flag holds. The help here is the
//! `message` one, where each may be left out and is then read from the
//! headers; `spf` requires `--ip` and words the help its own way
//! ([`super::spf::SpfArgs`]).

use crate::message::envelope::Envelope;
use crate::spf;
use crate::spf::given::client_ip;
use clap::Args;
use std::net::IpAddr;

/// The envelope as the receiving server saw it.
#[derive(Debug, Clone, Args)]
pub struct EnvelopeArgs {
    /// The connecting client's IP. Without it, the newest Received header
    /// is read (and the report says so).
    #[arg(long, value_name = "IP", value_parser = client_ip)]
    pub ip: Option<IpAddr>,

    /// The HELO/EHLO name the client gave: a domain name, or an address
    /// literal such as [192.0.2.1].
    #[arg(long, value_name = "NAME", value_parser = spf::given::helo)]
    pub helo: Option<String>,

    /// The envelope sender (MAIL FROM), one address; '' is the null
    /// sender. Without it, Return-Path is read.
    #[arg(long, value_name = "ADDR", value_parser = spf::given::mail_from)]
    pub mail_from: Option<String>,
}

impl EnvelopeArgs {
    /// The envelope of a message check.
    pub fn message_envelope(&self) -> Envelope {
        Envelope {
            ip: self.ip,
            helo: self.helo.clone(),
            mail_from: self.mail_from.clone(),
        }
    }
}
