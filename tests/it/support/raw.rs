//! HTTP/1.1 over a bare socket, for what a well-behaved client never
//! does: announce a body and not send it, send it slowly, stop halfway,
//! send a header section over the limit. An answer is read to the end of
//! its `Content-Length`, or to the close of the connection without one.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The head of a request with a body: request line, `Host`, the content
/// type, `extra` header lines (each ending in CRLF), `Connection: close`
/// and the blank line.
pub fn head(method: &str, path: &str, content_type: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: mailvet.test\r\nContent-Type: {content_type}\r\n\
         {extra}Connection: close\r\n\r\n"
    )
}

/// A connection on which a request was (partly) sent.
pub struct Sent {
    stream: TcpStream,
}

impl Sent {
    /// Connects and sends `head` and the first bytes of the body; the
    /// connection stays open, so the server sees a client that stopped.
    pub async fn start(addr: SocketAddr, head: &str, body_start: &[u8]) -> Sent {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("send head");
        stream.write_all(body_start).await.expect("send body");
        Sent { stream }
    }

    /// Sends more of the body.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The answer (within 10 s).
    pub async fn answer(mut self) -> Answer {
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), async {
            let mut buf = [0u8; 8192];
            loop {
                if Answer::is_whole(&raw) {
                    return;
                }
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
        .expect("the server answers within 10 s");
        Answer::parse(&raw)
    }
}

/// An answer as it came over the socket.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Where the head of an answer ends, after its blank line.
fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

impl Answer {
    /// True once `raw` holds a head and all the body its `Content-Length`
    /// announces.
    fn is_whole(raw: &[u8]) -> bool {
        let Some(end) = head_end(raw) else {
            return false;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        head.lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .is_some_and(|length| raw.len() >= end + length)
    }

    fn parse(raw: &[u8]) -> Answer {
        let text = String::from_utf8_lossy(raw);
        let end = head_end(raw).unwrap_or_else(|| panic!("no whole head in {text:?}"));
        let head = std::str::from_utf8(&raw[..end - 4]).expect("an ASCII head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name"),
                HeaderValue::from_str(value.trim()).expect("a header value"),
            );
        }
        Answer {
            status,
            headers,
            body: raw[end..].to_vec(),
        }
    }

    /// A header's value; empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}
