//! A message's arrival at a test address: the `Received:` header, the
//! report with the real envelope, and the one-time claim that saves it.
//!
//! This module decides what the report says beyond the message report:
//! the `smtp` section with what only a receiver sees (the client's
//! address, its HELO/EHLO name, the MAIL FROM and RCPT TO, whether
//! STARTTLS was used with its version and cipher, the size of the
//! message, the time from connect to the report being ready, and the
//! transcript without the message). A `Received:` header is prepended as
//! RFC 5321 §4.4 says (with the `with` keywords of RFC 3848), and the
//! report is made on the message as it would be delivered, so the
//! report's verdicts are those a receiver reaches with this envelope.
//!
//! The report is saved only through the token's claim: a second message,
//! an expired token or a lost race saves nothing and is refused with
//! `550 5.1.1`. The raw message is dropped once the report is made,
//! unless the address was made with `keep_raw`: then it is saved as
//! delivered (with the `Received:` header) beside the report.

use super::Receiver;
use super::reply::{self, Reply};
use super::tls::TlsInfo;
use super::transcript::Transcript;
use crate::message::Clock;
use crate::message::envelope::Envelope;
use crate::message::report::{self, MessageRequest, ReportError};
use crate::store::{Claim, InboxToken};
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// A message as it arrived.
#[derive(Debug)]
pub struct Arrival {
    pub client: IpAddr,
    pub helo: String,
    /// EHLO rather than HELO.
    pub esmtp: bool,
    /// `""` for the null reverse-path.
    pub mail_from: String,
    pub token: InboxToken,
    /// Keep the message (as delivered, `Received:` first) beside its
    /// report.
    pub keep_raw: bool,
    pub tls: Option<TlsInfo>,
    pub transcript: Transcript,
    pub connected: Instant,
    pub message: Vec<u8>,
}

/// What only the receiver saw: the report's `smtp` section.
#[derive(Debug, Serialize)]
pub struct SmtpSection {
    pub client_ip: IpAddr,
    pub helo: String,
    pub esmtp: bool,
    pub mail_from: String,
    pub rcpt_to: String,
    pub starttls: bool,
    pub tls: Option<TlsInfo>,
    /// Bytes of the message as the client sent it (unstuffed, before the
    /// `Received:` header).
    pub size: usize,
    /// From connect to the report being ready, just before the final
    /// reply.
    pub elapsed_ms: u64,
    /// The header prepended.
    pub received: String,
    pub transcript: Transcript,
}

/// Reports on the message and saves the report through the token's
/// claim; the reply says how that went.
pub async fn deliver(receiver: &Receiver, arrival: Arrival) -> Reply {
    let rcpt_to = receiver.inbox.address(&arrival.token);
    let received = received_header(&receiver.hostname, &arrival, &rcpt_to);
    let size = arrival.message.len();
    let mut raw = Vec::with_capacity(received.len() + size);
    raw.extend_from_slice(received.as_bytes());
    raw.extend_from_slice(&arrival.message);
    drop(arrival.message);
    let kept = arrival.keep_raw.then(|| raw.clone());
    let request = MessageRequest {
        raw,
        envelope: Envelope {
            ip: Some(arrival.client),
            helo: Some(arrival.helo.clone()),
            mail_from: Some(arrival.mail_from.clone()),
        },
        bulk: None,
        authserv_id: receiver.authserv_id.clone(),
        clock: Clock::system(),
        limits: receiver.message_limits,
        blocklists: receiver.blocklists.clone(),
    };
    let report = match report::report_pooled(Arc::clone(&receiver.dns), request, false).await {
        Ok(report) => report,
        Err(ReportError::Limit(limit)) => return reply::header_limit(&limit.to_string()),
        Err(error) => {
            tracing::warn!(%error, "smtp: no report");
            return reply::try_later();
        }
    };
    let section = SmtpSection {
        client_ip: arrival.client,
        helo: arrival.helo,
        esmtp: arrival.esmtp,
        mail_from: arrival.mail_from,
        rcpt_to,
        starttls: arrival.tls.is_some(),
        tls: arrival.tls,
        size,
        elapsed_ms: u64::try_from(arrival.connected.elapsed().as_millis()).unwrap_or(u64::MAX),
        received,
        transcript: arrival.transcript,
    };
    let value = match (
        serde_json::to_value(&report),
        serde_json::to_value(&section),
    ) {
        (Ok(serde_json::Value::Object(mut report)), Ok(section)) => {
            report.insert("smtp".into(), section);
            serde_json::Value::Object(report)
        }
        _ => return reply::try_later(),
    };
    match receiver
        .store
        .claim_inbox(&arrival.token, &value, kept.as_deref())
        .await
    {
        Ok(Claim::Accepted(saved)) => Reply::new(
            250,
            "2.0.0",
            format!("message received; its report is {}", saved.id),
        ),
        Ok(Claim::AlreadyReceived) => reply::already_received(),
        Ok(Claim::Expired) => reply::expired(),
        Ok(Claim::Unknown) => reply::no_such_address(),
        Err(error) => {
            tracing::error!(%error, "smtp: store");
            reply::try_later()
        }
    }
}

/// The trace header of RFC 5321 §4.4: `from` the HELO name and the
/// client's address literal, `by` this host, `with` SMTP, ESMTP or ESMTPS
/// (RFC 3848), `for` the recipient, and the date.
fn received_header(host: &str, arrival: &Arrival, rcpt_to: &str) -> String {
    let literal = match arrival.client {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    };
    let protocol = match (arrival.esmtp, arrival.tls.is_some()) {
        (false, _) => "SMTP",
        (true, false) => "ESMTP",
        (true, true) => "ESMTPS",
    };
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    format!(
        "Received: from {} ({literal})\r\n\tby {host} with {protocol}\r\n\tfor <{rcpt_to}>; {date}\r\n",
        header_safe(&arrival.helo)
    )
}

/// A client's HELO name as header text: visible ASCII only, at most 255
/// characters, so it can neither fold nor end the header.
fn header_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .take(255)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if safe.is_empty() {
        "unknown".into()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(helo: &str, client: &str, esmtp: bool, tls: bool) -> Arrival {
        Arrival {
            client: client.parse().unwrap(),
            helo: helo.into(),
            esmtp,
            mail_from: "bounce@msg.test".into(),
            token: InboxToken::generate().unwrap(),
            keep_raw: false,
            tls: tls.then(|| TlsInfo {
                version: "TLSv1_3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
            }),
            transcript: Transcript::default(),
            connected: Instant::now(),
            message: Vec::new(),
        }
    }

    #[test]
    fn received_names_the_client_the_protocol_and_the_recipient() {
        let header = received_header(
            "inbox.example",
            &arrival("mail.msg.test", "192.0.2.10", true, true),
            "t-x@inbox.example",
        );
        assert!(
            header.starts_with(
                "Received: from mail.msg.test ([192.0.2.10])\r\n\tby inbox.example with ESMTPS\r\n\tfor <t-x@inbox.example>; "
            ),
            "{header}"
        );
        assert!(header.ends_with(" +0000\r\n"), "{header}");
        let header = received_header("h", &arrival("a b\u{7f}", "2001:db8::1", false, false), "r");
        assert!(
            header.starts_with("Received: from a?b? ([IPv6:2001:db8::1])\r\n\tby h with SMTP\r\n")
        );
    }
}
