//! The client side of the SMTP dialogue up to TLS (RFC 5321 §4.2, §4.1.1.1;
//! RFC 3207 §4): read the greeting, say EHLO, see whether STARTTLS is
//! offered, ask for it, and hand the bare connection to TLS.
//!
//! Every reply is read under limits, since the server is outside: at most
//! [`MAX_LINE`] bytes per line and [`MAX_LINES`] lines per reply. A reply
//! line is `code SP text` (last) or `code - text` (more follow). Nothing
//! the server sends after the `220` to STARTTLS may be read as TLS (the
//! STARTTLS injection of RFC 3207 §5 / CVE-2011-0411): a server that sends
//! more is reported, and the connection is not used.

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest reply line read (RFC 5321 §4.5.3.1.5 allows 512 octets; some
/// servers send longer greetings).
pub const MAX_LINE: usize = 2048;

/// Most lines of one reply (an EHLO reply lists a few dozen extensions).
pub const MAX_LINES: usize = 64;

/// The name the probe gives in EHLO. It is not this host's: the probe is
/// no mail client and sends no mail, and the `.invalid` top-level domain
/// (RFC 2606) says so.
pub const EHLO_NAME: &str = "mailvet-probe.invalid";

/// One SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of each line, after the code and separator.
    pub lines: Vec<String>,
}

/// What the dialogue saw before TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Greeting {
    /// The first line of the greeting, as sent (lossy UTF-8).
    pub banner: String,
    /// The EHLO keywords offered, upper-case (`STARTTLS`, `SIZE`, …).
    pub extensions: Vec<String>,
}

impl Greeting {
    pub fn offers(&self, keyword: &str) -> bool {
        self.extensions.iter().any(|e| e == keyword)
    }
}

/// Where the dialogue stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogueError {
    #[error("the connection failed: {0}")]
    Io(String),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server sent a line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("the server sent a reply of more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("the server sent something that is not an SMTP reply: {0}")]
    Malformed(String),
    #[error("the server refused the session: {code} {text}")]
    Refused { code: u16, text: String },
    #[error("the server answered STARTTLS with {code} {text}")]
    StarttlsRefused { code: u16, text: String },
    #[error("the server sent data after its 220 to STARTTLS, before TLS began")]
    DataAfterStarttls,
}

impl From<std::io::Error> for DialogueError {
    fn from(e: std::io::Error) -> DialogueError {
        DialogueError::Io(e.to_string())
    }
}

/// One SMTP connection before TLS: the stream and what was read past the
/// last reply.
pub struct Session {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Session {
    pub fn new(stream: TcpStream) -> Session {
        Session {
            stream,
            pending: Vec::new(),
        }
    }

    /// Reads the greeting and says EHLO.
    pub async fn greet(&mut self) -> Result<Greeting, DialogueError> {
        let banner = self.reply().await?;
        if banner.code != 220 {
            return Err(refused(banner));
        }
        self.send(&format!("EHLO {EHLO_NAME}")).await?;
        let ehlo = self.reply().await?;
        if ehlo.code != 250 {
            return Err(refused(ehlo));
        }
        let extensions = ehlo
            .lines
            .iter()
            .skip(1) // the first line greets
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_ascii_uppercase)
            .collect();
        Ok(Greeting {
            banner: banner.lines.into_iter().next().unwrap_or_default(),
            extensions,
        })
    }

    /// Asks for STARTTLS; on `220` gives back the bare connection for the
    /// handshake.
    pub async fn starttls(mut self) -> Result<TcpStream, DialogueError> {
        self.send("STARTTLS").await?;
        let reply = self.reply().await?;
        if reply.code != 220 {
            return Err(DialogueError::StarttlsRefused {
                code: reply.code,
                text: reply.lines.join(" "),
            });
        }
        if !self.pending.is_empty() {
            return Err(DialogueError::DataAfterStarttls);
        }
        Ok(self.stream)
    }

    /// Says QUIT and closes, without waiting long for the answer.
    pub async fn quit(mut self) {
        let _ = self.send("QUIT").await;
        let _ = self.stream.shutdown().await;
    }

    async fn send(&mut self, command: &str) -> Result<(), DialogueError> {
        self.stream
            .write_all(format!("{command}\r\n").as_bytes())
            .await?;
        Ok(())
    }

    /// Reads one whole reply.
    async fn reply(&mut self) -> Result<Reply, DialogueError> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let (code, last, text) = parse_line(&line)?;
            if lines.len() == MAX_LINES {
                return Err(DialogueError::TooManyLines);
            }
            lines.push(text);
            if last {
                return Ok(Reply { code, lines });
            }
        }
    }

    /// Reads one line, without its CRLF (a bare LF is taken too).
    async fn line(&mut self) -> Result<String, DialogueError> {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                if end > MAX_LINE {
                    return Err(DialogueError::LineTooLong);
                }
                let rest = self.pending.split_off(end + 1);
                let mut line = std::mem::replace(&mut self.pending, rest);
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.pending.len() > MAX_LINE {
                return Err(DialogueError::LineTooLong);
            }
            let mut buf = [0u8; 1024];
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Err(DialogueError::Closed);
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

fn refused(reply: Reply) -> DialogueError {
    DialogueError::Refused {
        code: reply.code,
        text: reply.lines.join(" "),
    }
}

/// `250-SIZE 1000` → (250, false, "SIZE 1000"); `250 OK` → (250, true, "OK").
fn parse_line(line: &str) -> Result<(u16, bool, String), DialogueError> {
    let malformed = || DialogueError::Malformed(crate::untrusted::quoted(line));
    let code = line.get(..3).ok_or_else(malformed)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let code: u16 = code.parse().map_err(|_| malformed())?;
    let (last, text) = match line.as_bytes().get(3) {
        None => (true, ""),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(malformed()),
    };
    Ok((code, last, text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_parse_by_rfc_5321_section_4_2() {
        assert_eq!(
            parse_line("250-SIZE 1000").unwrap(),
            (250, false, "SIZE 1000".into())
        );
        assert_eq!(parse_line("250 OK").unwrap(), (250, true, "OK".into()));
        assert_eq!(parse_line("220").unwrap(), (220, true, String::new()));
        assert!(parse_line("HTTP/1.1 400").is_err());
        assert!(parse_line("25").is_err());
        assert!(parse_line("250xOK").is_err());
    }
}
