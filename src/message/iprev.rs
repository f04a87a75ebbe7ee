//! iprev (RFC 8601 §3): does the sending IP's PTR name resolve back to it?
//!
//! This module decides the `iprev` result and the `iprev.fail` finding.
//! mail-auth judges, from the lookups (PTR, then A/AAAA of the PTR names)
//! this module asks first through the request's resolver layer. Gmail and Yahoo require valid
//! forward and reverse DNS for sending IPs ("FCrDNS"); a missing PTR or a
//! PTR name that does not resolve back is `iprev.fail`. A DNS failure is
//! `temperror`, not a failure of the sender.

use crate::dns::Resolver;
use crate::dns::answered::Answered;
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use hickory_proto::rr::RecordType;
use mail_auth::{IprevResult, MessageAuthenticator, Parameters};
use serde::Serialize;
use std::net::IpAddr;

/// The iprev section of a message report.
#[derive(Debug, Clone, Serialize)]
pub struct IprevSection {
    pub ip: IpAddr,
    /// `pass`, `fail`, `temperror` or `permerror` (RFC 8601 §2.7.3).
    pub result: String,
    /// The PTR names found, lower-case.
    pub ptr: Vec<String>,
    /// Why, in plain words, when not `pass`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `authenticator` must come from a bridge over `resolver`; `answered` is
/// the request's (see [`Resolver::share_answers`]).
pub async fn verify(
    resolver: &Resolver,
    authenticator: &MessageAuthenticator,
    answered: &Answered,
    ip: IpAddr,
) -> Checked<IprevSection> {
    ask_first(resolver, ip).await;
    resolver.share_answers(answered);
    let output = authenticator
        .verify_iprev(Parameters::new(ip).with_cache(answered))
        .await;
    let ptr: Vec<String> = output
        .ptr
        .as_deref()
        .map(|names| {
            names
                .iter()
                .map(|n| n.trim_end_matches('.').to_string())
                .collect()
        })
        .unwrap_or_default();
    let (result, reason) = match &output.result {
        IprevResult::Pass => ("pass", None),
        IprevResult::Fail(_) => (
            "fail",
            Some(format!(
                "none of the PTR names of {ip} ({}) has an address record pointing back to it",
                ptr.join(", ")
            )),
        ),
        IprevResult::PermError(_) => (
            "permerror",
            Some(format!(
                "{ip} has no PTR record, or its PTR name has no address"
            )),
        ),
        IprevResult::TempError(e) => ("temperror", Some(format!("a DNS lookup failed: {e}"))),
        IprevResult::None => ("none", None),
    };
    let findings = match result {
        "fail" | "permerror" => vec![
            Finding::new(
                catalog::IPREV_FAIL,
                reason
                    .clone()
                    .unwrap_or_else(|| format!("{ip} has no valid reverse DNS")),
            )
            .with_fix(format!(
                "Ask the owner of {ip} (your hosting or email provider) to set its PTR record \
                 to a name that has an A or AAAA record pointing back to {ip}, ideally a name \
                 under your sending domain."
            ))
            .with_evidence(ptr.iter().map(|p| format!("PTR {p}"))),
        ],
        _ => Vec::new(),
    };
    Checked {
        section: IprevSection {
            ip,
            result: result.to_string(),
            ptr,
            reason,
        },
        findings,
    }
}

/// Asks what mail-auth's iprev will ask (RFC 8601 §3: the PTR names, at
/// most two of them, then their addresses of the client's family), so that
/// the answers reach it through [`Resolver::share_answers`].
async fn ask_first(resolver: &Resolver, ip: IpAddr) {
    let Ok(answer) = resolver.reverse(ip).await else {
        return;
    };
    let family = match ip {
        IpAddr::V4(_) => RecordType::A,
        IpAddr::V6(_) => RecordType::AAAA,
    };
    let names = answer.ptr();
    futures_util::future::join_all(
        names
            .iter()
            .filter(|n| !n.is_root())
            .take(2)
            .map(|name| resolver.lookup(name, family)),
    )
    .await;
}
