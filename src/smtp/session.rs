//! One SMTP session, from the greeting to the last reply: the command
//! loop and the state of the transaction (RFC 5321 §4.1, §3.3).
//!
//! This module decides what each command is answered, in which state.
//! Commands are parsed by `smtp-proto`; the loop, the state and the
//! replies are ours. The receiver offers SIZE, 8BITMIME, PIPELINING,
//! ENHANCEDSTATUSCODES, SMTPUTF8 and (when it has TLS and the session is
//! not yet under it) STARTTLS; never AUTH, CHUNKING or VRFY. A
//! transaction needs HELO/EHLO, one MAIL FROM, exactly one RCPT TO naming
//! a live test address, a report address or the postmaster (any other is
//! `550 5.1.1`; a second recipient is `452 4.5.3`), then DATA. A message
//! to the postmaster is taken (RFC 5321 §4.5.1 requires it) and dropped:
//! nobody reads this receiver's mail. MAIL FROM takes BODY=7BIT and
//! BODY=8BITMIME; BODY=BINARYMIME, which needs CHUNKING, is `555 5.5.4`
//! (RFC 3030 §3). A declared SIZE over the limit, or too large to be a
//! number at all, is `552 5.3.4`.
//!
//! Every failure reply (4xx or 5xx) to a command counts as a bad command;
//! past `max_bad_commands` the session gets `421` and is closed. Each
//! command must arrive within `command_timeout` and the whole DATA
//! section within `data_timeout` (RFC 5321 §4.5.3.2 gives 5 and 10
//! minutes; ours are shorter), else `421 4.4.2` and close; past
//! [`MAX_COMMANDS`] commands the session gets `421` too. After
//! STARTTLS whatever the client sent past the command in the clear is
//! dropped (RFC 3207 §4.2 forbids sending it) and the session starts
//! over, HELO included (§4.2 again). A PROXY header sent here (by a peer
//! not trusted to send one) is refused with `421` and the session ends.

use super::Receiver;
use super::admission::Admitted;
use super::delivery::{self, Arrival};
use super::intake;
use super::reply::{self, Reply};
use super::tls::TlsInfo;
use super::transcript::{Side, Transcript};
use super::wire::{self, Body, Conn, Line};
use crate::store::{InboxStatus, InboxToken};
use smtp_proto::{Error as ParseError, Request};
use std::borrow::Cow;
use std::net::IpAddr;
use std::time::Instant;
use tokio::io::{AsyncWriteExt, BufReader};

/// Where a session stands.
struct Session<'r> {
    receiver: &'r Receiver,
    admitted: Admitted,
    client: IpAddr,
    connected: Instant,
    helo: Option<(String, bool)>,
    tls: Option<TlsInfo>,
    mail_from: Option<String>,
    rcpt: Option<Recipient>,
    bad_commands: u32,
    transcript: Transcript,
}

/// Most commands one session may send, good or bad: a client looping on
/// NOOP or RSET would otherwise hold its session (and one of its
/// client's slots) forever, a minute at a time.
pub const MAX_COMMANDS: u32 = 1000;

/// Whom the transaction's message is for.
#[derive(Debug, Clone, Copy)]
enum Recipient {
    /// A test address, and whether it keeps the raw message.
    Inbox(InboxToken, bool),
    /// A report address ([`super::intake`]).
    Reports,
    /// The postmaster: the message is taken and dropped.
    Postmaster,
}

/// What a command leads to beyond its reply.
enum Next {
    Reply(Reply),
    StartTls,
    Data,
}

/// Runs a session on `conn` until it ends. The client's greeting has not
/// been sent yet.
pub async fn run(receiver: &Receiver, admitted: Admitted, client: IpAddr, conn: Conn) {
    let mut session = Session {
        receiver,
        admitted,
        client,
        connected: Instant::now(),
        helo: None,
        tls: None,
        mail_from: None,
        rcpt: None,
        bad_commands: 0,
        transcript: Transcript::default(),
    };
    let mut commands = 0u32;
    let mut conn = conn;
    let greeting = reply::greeting(&receiver.hostname);
    if session.send(&mut conn, &greeting).await.is_err() {
        return;
    }
    loop {
        let read = tokio::time::timeout(
            receiver.limits.command_timeout,
            wire::command_line(&mut conn),
        )
        .await;
        let next = match read {
            Err(_) => {
                let _ = session.send(&mut conn, &reply::timeout()).await;
                return;
            }
            Ok(Err(wire::Closed)) => return,
            Ok(Ok(Line::TooLong)) => {
                session.transcript.push(Side::Client, "<line too long>");
                Next::Reply(reply::line_too_long())
            }
            Ok(Ok(Line::Complete(line))) => {
                session
                    .transcript
                    .push(Side::Client, &String::from_utf8_lossy(&line));
                session.command(&line).await
            }
        };
        let answer = match next {
            Next::Reply(answer) => answer,
            Next::StartTls => match session.start_tls(conn).await {
                Some(secured) => {
                    conn = secured;
                    continue;
                }
                None => return,
            },
            Next::Data => {
                let answer = session.data(&mut conn).await;
                session.mail_from = None;
                session.rcpt = None;
                answer
            }
        };
        commands += 1;
        let answer = if commands > MAX_COMMANDS {
            reply::too_many_commands()
        } else if answer.is_failure() && !answer.closes() {
            session.bad_commands += 1;
            if session.bad_commands > receiver.limits.max_bad_commands {
                reply::too_many_errors()
            } else {
                answer
            }
        } else {
            answer
        };
        if session.send(&mut conn, &answer).await.is_err() || answer.closes() {
            return;
        }
    }
}

impl Session<'_> {
    async fn send(&mut self, conn: &mut Conn, answer: &Reply) -> std::io::Result<()> {
        // Each line of a multi-line reply (EHLO's) on a line of its own.
        for line in answer.text().lines() {
            self.transcript.push(Side::Server, line);
        }
        let stream = conn.get_mut();
        stream.write_all(&answer.wire()).await?;
        stream.flush().await
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt = None;
    }

    async fn command(&mut self, line: &[u8]) -> Next {
        if line.starts_with(b"PROXY ") {
            // Only a trusted peer's header, read before the greeting,
            // may name the client. (A version 2 header ends in QUIT, and
            // is answered as such.)
            return Next::Reply(reply::proxy_refused());
        }
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request,
            // smtp-proto refuses some numbers too large for a `usize` as
            // a syntax error: they declare more than any limit.
            Err(_) if is_mail(line) && declared_size(line) == Some(usize::MAX) => {
                return Next::Reply(reply::too_large(self.receiver.limits.max_message_size));
            }
            Err(error) => return Next::Reply(parse_error(&error)),
        };
        Next::Reply(match request {
            Request::Ehlo { host } => self.hello(host, true),
            Request::Helo { host } => self.hello(host, false),
            Request::Mail { from } => self.mail(from, line),
            Request::Rcpt { to } => {
                // smtp-proto reads `<postmaster>` (RFC 5321 §4.1.1.3's
                // one address without a domain) as the empty path, as it
                // reads `<>`: the path as written tells them apart.
                let address = match to.address.as_ref() {
                    "" => written_path(line).unwrap_or(""),
                    address => address,
                };
                self.rcpt(address).await
            }
            Request::Data => {
                if self.rcpt.is_some() {
                    return Next::Data;
                }
                reply::out_of_sequence("need MAIL FROM and RCPT TO first")
            }
            Request::StartTls => {
                if self.receiver.tls.is_none() || self.tls.is_some() {
                    reply::not_implemented()
                } else if has_parameters(line) {
                    // RFC 3207 §4: "501 Syntax error (no parameters allowed)".
                    reply::syntax("STARTTLS (no parameters allowed)")
                } else if self.mail_from.is_some() {
                    reply::out_of_sequence("STARTTLS is not allowed in a transaction")
                } else {
                    return Next::StartTls;
                }
            }
            Request::Rset => {
                self.reset();
                reply::ok()
            }
            Request::Noop { .. } => reply::ok(),
            Request::Quit => reply::bye(),
            Request::Vrfy { .. } => reply::cannot_verify(),
            Request::Help { .. } => reply::help(),
            Request::Lhlo { .. }
            | Request::Auth { .. }
            | Request::Bdat { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => reply::not_implemented(),
        })
    }

    fn hello(&mut self, host: Cow<'_, str>, esmtp: bool) -> Reply {
        self.reset();
        self.helo = Some((host.into_owned(), esmtp));
        let name = self.receiver.hostname.clone();
        if !esmtp {
            return Reply::plain(250, vec![name.into()]);
        }
        let mut lines: Vec<Cow<'static, str>> = vec![
            name.into(),
            format!("SIZE {}", self.receiver.limits.max_message_size).into(),
            "8BITMIME".into(),
            "PIPELINING".into(),
            "ENHANCEDSTATUSCODES".into(),
            "SMTPUTF8".into(),
        ];
        if self.receiver.tls.is_some() && self.tls.is_none() {
            lines.push("STARTTLS".into());
        }
        Reply::plain(250, lines)
    }

    /// MAIL FROM, read from the command `line`.
    fn mail(&mut self, from: smtp_proto::MailFrom<Cow<'_, str>>, line: &[u8]) -> Reply {
        if self.helo.is_none() {
            return reply::out_of_sequence("send HELO or EHLO first");
        }
        if self.mail_from.is_some() {
            return reply::out_of_sequence("a transaction is already open");
        }
        if from.flags & smtp_proto::MAIL_BODY_BINARYMIME != 0 {
            return reply::binarymime_refused();
        }
        let limit = self.receiver.limits.max_message_size;
        if from.size.max(declared_size(line).unwrap_or(0)) > limit {
            return reply::too_large(limit);
        }
        if !self.admitted.take_message() {
            return reply::too_many_messages();
        }
        // smtp-proto takes the quotes and backslashes out of a quoted
        // local part (`"john doe"@x` becomes `john doe@x`, another
        // mailbox); the address is kept as written (RFC 5321 §4.1.2).
        let address = match written_path(line) {
            Some(written) if written.contains('"') => written.to_string(),
            _ => from.address.into_owned(),
        };
        self.mail_from = Some(address);
        reply::sender_ok()
    }

    async fn rcpt(&mut self, address: &str) -> Reply {
        if self.mail_from.is_none() {
            return reply::out_of_sequence("need MAIL FROM first");
        }
        if self.rcpt.is_some() {
            return reply::one_recipient();
        }
        if self.receiver.reports.accepts(address) {
            self.rcpt = Some(Recipient::Reports);
            return reply::report_recipient_ok();
        }
        let reports = &self.receiver.reports;
        if self
            .receiver
            .inbox
            .is_postmaster(address, |d| reports.serves(d))
        {
            self.rcpt = Some(Recipient::Postmaster);
            return reply::postmaster_ok();
        }
        let Some(token) = self.receiver.inbox.token_of(address) else {
            return reply::no_such_address();
        };
        match self.receiver.store.inbox(&token).await {
            Ok(Some(inbox)) => match inbox.status {
                InboxStatus::Waiting => {
                    self.rcpt = Some(Recipient::Inbox(token, inbox.keep_raw));
                    reply::recipient_ok()
                }
                InboxStatus::Received { .. } => reply::already_received(),
                InboxStatus::Expired => reply::expired(),
            },
            Ok(None) => reply::no_such_address(),
            Err(error) => {
                tracing::error!(%error, "smtp: store");
                reply::try_later()
            }
        }
    }

    async fn start_tls(&mut self, mut conn: Conn) -> Option<Conn> {
        let config = self.receiver.tls.clone()?;
        self.send(&mut conn, &reply::start_tls()).await.ok()?;
        // Bytes the client pipelined after STARTTLS are dropped with the
        // buffer: they were sent in the clear.
        let stream = conn.into_inner();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let accepted = tokio::time::timeout(
            self.receiver.limits.command_timeout,
            acceptor.accept(stream),
        )
        .await;
        let tls = match accepted {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(client = %self.client, %error, "smtp: TLS handshake failed");
                return None;
            }
            Err(_) => return None,
        };
        self.tls = Some(TlsInfo::of(tls.get_ref().1));
        self.helo = None;
        self.reset();
        Some(BufReader::new(Box::new(tls)))
    }

    async fn data(&mut self, conn: &mut Conn) -> Reply {
        let limits = &self.receiver.limits;
        if self.send(conn, &reply::start_data()).await.is_err() {
            return reply::try_later();
        }
        let body = tokio::time::timeout(
            limits.data_timeout,
            wire::data(conn, limits.max_message_size, &self.receiver.memory),
        )
        .await;
        let (message, _held) = match body {
            Err(_) => return reply::timeout(),
            Ok(Err(wire::Closed)) => return reply::timeout(),
            Ok(Ok(Body::TooLarge)) => return reply::too_large(limits.max_message_size),
            Ok(Ok(Body::NoRoom)) => return reply::no_room(),
            Ok(Ok(Body::Message(message, held))) => (message, held),
        };
        let (Some((helo, esmtp)), Some(mail_from), Some(recipient)) =
            (self.helo.clone(), self.mail_from.clone(), self.rcpt)
        else {
            return reply::out_of_sequence("need MAIL FROM and RCPT TO first");
        };
        self.transcript.push(Side::Client, ".");
        let (token, keep_raw) = match recipient {
            Recipient::Inbox(token, keep_raw) => (token, keep_raw),
            Recipient::Reports => {
                let reports = &self.receiver.reports;
                return intake::import(&self.receiver.store, &reports.limits, message).await;
            }
            Recipient::Postmaster => return reply::postmaster_discarded(),
        };
        let arrival = Arrival {
            client: self.client,
            helo,
            esmtp,
            mail_from,
            token,
            keep_raw,
            tls: self.tls.clone(),
            transcript: self.transcript.clone(),
            connected: self.connected,
            message,
        };
        delivery::deliver(self.receiver, arrival).await
    }
}

/// Whether a command line holds more than its verb: anything but white
/// space after the first word.
fn has_parameters(line: &[u8]) -> bool {
    line.iter()
        .skip_while(|b| !b.is_ascii_whitespace())
        .any(|b| !b.is_ascii_whitespace())
}

/// Where the path of a MAIL or RCPT command is written: the indices of
/// its `<` and `>` (a `>` inside a quoted string does not end it).
fn path_span(line: &[u8]) -> Option<(usize, usize)> {
    let open = line.iter().position(|&b| b == b'<')?;
    let (mut quoted, mut escaped) = (false, false);
    let close = open
        + 1
        + line[open + 1..].iter().position(|&b| {
            let ends = b == b'>' && !quoted;
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ => {}
            }
            ends
        })?;
    Some((open, close))
}

/// The path of a MAIL or RCPT command as written between `<` and `>`,
/// without a source route (`@a,@b:`), which RFC 5321 §4.1.2 keeps in the
/// grammar only to be ignored. `None` when there is none, or it is not
/// UTF-8.
fn written_path(line: &[u8]) -> Option<&str> {
    let (open, close) = path_span(line)?;
    let path = std::str::from_utf8(&line[open + 1..close]).ok()?;
    Some(match path.strip_prefix('@') {
        Some(routed) => routed.split_once(':')?.1,
        None => path,
    })
}

/// Whether `line` is a MAIL command.
fn is_mail(line: &[u8]) -> bool {
    line.get(..5)
        .is_some_and(|verb| verb.eq_ignore_ascii_case(b"MAIL "))
}

/// The SIZE a MAIL command declares (RFC 1870), read from its parameters
/// after the reverse-path; a number too large for a `usize` is
/// `usize::MAX`, over any limit. (`smtp-proto` wraps such a number
/// around to a small one, or refuses it as a syntax error.) `None` when
/// no SIZE is declared, or it is not a number.
fn declared_size(line: &[u8]) -> Option<usize> {
    let (_, close) = path_span(line)?;
    let parameters = std::str::from_utf8(&line[close + 1..]).ok()?;
    let value = parameters.split_ascii_whitespace().find_map(|parameter| {
        let (keyword, value) = parameter.split_once('=')?;
        keyword.eq_ignore_ascii_case("SIZE").then_some(value)
    })?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse().unwrap_or(usize::MAX))
}

/// The reply to a line `smtp-proto` could not parse.
fn parse_error(error: &ParseError) -> Reply {
    match error {
        ParseError::UnknownCommand | ParseError::NeedsMoreData { .. } => reply::unknown_command(),
        ParseError::InvalidSenderAddress => reply::bad_sender(),
        ParseError::InvalidRecipientAddress => reply::bad_recipient(),
        ParseError::SyntaxError { syntax } => reply::syntax(syntax),
        ParseError::InvalidParameter { param } => reply::syntax(param),
        ParseError::UnsupportedParameter { .. } => reply::unsupported_parameter(),
        ParseError::ResponseTooLong => reply::line_too_long(),
        ParseError::InvalidResponse { .. } => reply::unknown_command(),
    }
}
