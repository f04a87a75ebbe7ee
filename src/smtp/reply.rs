//! What the receiver answers: each reply a code (RFC 5321 §4.2) and, but
//! for the greeting and the EHLO answer, an enhanced status code (RFC
//! 3463, advertised as ENHANCEDSTATUSCODES, RFC 2034).
//!
//! This module decides the text of every reply, in one place, so tests
//! and clients can rely on the code and status of each situation. A reply
//! never quotes the client's input, so nothing the client sent is echoed
//! back into the session.

use std::borrow::Cow;

/// One reply: a code and one or more lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    lines: Vec<Cow<'static, str>>,
}

impl Reply {
    /// A one-line reply with an enhanced status code.
    pub fn new(code: u16, status: &str, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            code,
            lines: vec![Cow::Owned(format!("{status} {}", one_line(&text.into())))],
        }
    }

    /// A reply without an enhanced status code (the greeting, EHLO).
    pub fn plain(code: u16, lines: Vec<Cow<'static, str>>) -> Reply {
        Reply { code, lines }
    }

    /// The reply as it goes on the wire: `code-text` lines, the last
    /// `code text`, each ending in CRLF.
    pub fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let separator = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{separator}{line}\r\n", self.code).as_bytes());
        }
        out
    }

    /// The lines without their code, for the transcript.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.wire()).trim_end().to_string()
    }

    /// A transient (4xx) or permanent (5xx) failure: what counts as a bad
    /// command.
    pub fn is_failure(&self) -> bool {
        self.code >= 400
    }

    /// 421 and 221 end the session.
    pub fn closes(&self) -> bool {
        matches!(self.code, 221 | 421)
    }
}

/// Text of ours that must stay on one line.
fn one_line(text: &str) -> Cow<'_, str> {
    if text.contains(['\r', '\n']) {
        Cow::Owned(text.replace(['\r', '\n'], " "))
    } else {
        Cow::Borrowed(text)
    }
}

pub fn greeting(host: &str) -> Reply {
    Reply::plain(220, vec![format!("{host} ESMTP mailvet test inbox").into()])
}

pub fn ok() -> Reply {
    Reply::new(250, "2.0.0", "OK")
}

pub fn sender_ok() -> Reply {
    Reply::new(250, "2.1.0", "sender OK")
}

pub fn recipient_ok() -> Reply {
    Reply::new(
        250,
        "2.1.5",
        "recipient OK: a test address waiting for its message",
    )
}

pub fn report_recipient_ok() -> Reply {
    Reply::new(
        250,
        "2.1.5",
        "recipient OK: DMARC and TLS reports are imported here",
    )
}

pub fn postmaster_ok() -> Reply {
    Reply::new(
        250,
        "2.1.5",
        "recipient OK: the postmaster (a test inbox: what is sent here is not kept)",
    )
}

/// The end of DATA to the postmaster: taken, as RFC 5321 §4.5.1 requires,
/// and dropped.
pub fn postmaster_discarded() -> Reply {
    Reply::new(250, "2.0.0", "accepted for the postmaster and not kept")
}

pub fn start_data() -> Reply {
    Reply::plain(354, vec!["end data with <CR><LF>.<CR><LF>".into()])
}

pub fn start_tls() -> Reply {
    Reply::new(220, "2.0.0", "ready to start TLS")
}

pub fn bye() -> Reply {
    Reply::new(221, "2.0.0", "bye")
}

pub fn help() -> Reply {
    Reply::new(
        214,
        "2.0.0",
        "send one message to a test address made by POST /v1/inboxes",
    )
}

pub fn cannot_verify() -> Reply {
    Reply::new(252, "2.5.0", "addresses are not verified here")
}

/// RCPT TO an address that is not a live test address: never relayed.
pub fn no_such_address() -> Reply {
    Reply::new(
        550,
        "5.1.1",
        "no such test address here; this server relays nothing",
    )
}

pub fn already_received() -> Reply {
    Reply::new(
        550,
        "5.1.1",
        "this test address already received its message; make a new one",
    )
}

pub fn expired() -> Reply {
    Reply::new(
        550,
        "5.1.1",
        "this test address has expired; make a new one",
    )
}

pub fn one_recipient() -> Reply {
    Reply::new(452, "4.5.3", "one recipient per message")
}

pub fn too_large(limit: usize) -> Reply {
    Reply::new(
        552,
        "5.3.4",
        format!("message size exceeds the limit of {limit} bytes"),
    )
}

/// The message is over a header limit of the report (too many fields,
/// too large a header section, …).
pub fn header_limit(reason: &str) -> Reply {
    Reply::new(552, "5.3.4", reason.to_string())
}

/// Every session's messages together would exceed the memory budget.
pub fn no_room() -> Reply {
    Reply::new(
        452,
        "4.3.1",
        "too many messages being received; try again later",
    )
}

pub fn try_later() -> Reply {
    Reply::new(451, "4.3.0", "temporary failure; try again later")
}

pub fn too_many_sessions() -> Reply {
    Reply::new(
        421,
        "4.7.0",
        "too many connections from your address; try again later",
    )
}

pub fn busy() -> Reply {
    Reply::new(421, "4.3.2", "too busy; try again later")
}

pub fn too_many_messages() -> Reply {
    Reply::new(
        450,
        "4.7.1",
        "too many messages from your address this minute; try again later",
    )
}

pub fn too_many_errors() -> Reply {
    Reply::new(421, "4.7.0", "too many errors; closing the connection")
}

pub fn too_many_commands() -> Reply {
    Reply::new(
        421,
        "4.7.0",
        "too many commands in one session; closing the connection",
    )
}

pub fn timeout() -> Reply {
    Reply::new(421, "4.4.2", "timeout; closing the connection")
}

pub fn shutting_down() -> Reply {
    Reply::new(421, "4.3.2", "shutting down; try again later")
}

/// A PROXY header where none is taken, or a bad one from a trusted peer.
pub fn proxy_refused() -> Reply {
    Reply::new(
        421,
        "4.7.0",
        "PROXY protocol header refused; closing the connection",
    )
}

pub fn line_too_long() -> Reply {
    Reply::new(500, "5.5.6", "line too long")
}

pub fn unknown_command() -> Reply {
    Reply::new(500, "5.5.2", "command not recognized")
}

pub fn syntax(what: &'static str) -> Reply {
    Reply::new(501, "5.5.4", format!("syntax error in {what}"))
}

pub fn bad_sender() -> Reply {
    Reply::new(501, "5.1.7", "bad sender address syntax")
}

pub fn bad_recipient() -> Reply {
    Reply::new(501, "5.1.3", "bad recipient address syntax")
}

/// MAIL FROM with BODY=BINARYMIME, which needs CHUNKING (RFC 3030 §3),
/// not offered here.
pub fn binarymime_refused() -> Reply {
    Reply::new(
        555,
        "5.5.4",
        "BODY=BINARYMIME is not supported; send BODY=7BIT or BODY=8BITMIME",
    )
}

pub fn unsupported_parameter() -> Reply {
    Reply::new(555, "5.5.4", "parameter not recognized or not implemented")
}

pub fn not_implemented() -> Reply {
    Reply::new(502, "5.5.1", "command not implemented")
}

pub fn out_of_sequence(what: &'static str) -> Reply {
    Reply::new(503, "5.5.1", what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_continue_with_a_hyphen() {
        let reply = Reply::plain(250, vec!["inbox.example".into(), "SIZE 10".into()]);
        assert_eq!(reply.wire(), b"250-inbox.example\r\n250 SIZE 10\r\n");
        assert_eq!(no_such_address().wire()[..10], *b"550 5.1.1 ");
    }

    #[test]
    fn our_text_stays_on_one_line() {
        let reply = header_limit("too many\r\nfields");
        assert_eq!(reply.wire(), b"552 5.3.4 too many  fields\r\n");
    }
}
