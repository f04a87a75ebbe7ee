//! A test inbox for the SMTP tests: the receiver (`mailvet::smtp::serve_on`)
//! on a random port of 127.0.0.1 beside the HTTP router on the same
//! store, both asking the test DNS server; and a plain SMTP client over a
//! real socket (STARTTLS included) that reads each reply whole.

use mailvet::http::{AppState, router};
use mailvet::smtp::address::{DEFAULT_TTL, InboxSettings};
use mailvet::smtp::wire::Io;
use mailvet::smtp::{Receiver, SmtpLimits};
use mailvet::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

/// The domain of the test addresses.
pub const INBOX_DOMAIN: &str = "inbox.test";

pub fn settings() -> InboxSettings {
    InboxSettings {
        domain: INBOX_DOMAIN.into(),
        ttl: DEFAULT_TTL,
    }
}

/// A receiver and the API on one store.
pub struct TestInbox {
    pub smtp: SocketAddr,
    pub api: axum::Router,
    _stop: oneshot::Sender<()>,
}

impl TestInbox {
    pub async fn start(dns: &super::TestDns, store: Store, limits: SmtpLimits) -> TestInbox {
        TestInbox::start_with(dns, store, |receiver| receiver.with_limits(limits)).await
    }

    /// With the receiver set up by `adjust` (TLS, say).
    pub async fn start_with(
        dns: &super::TestDns,
        store: Store,
        adjust: impl FnOnce(Receiver) -> Receiver,
    ) -> TestInbox {
        let receiver = adjust(Receiver::new(dns.layer(), store.clone(), settings()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(mailvet::smtp::serve_on(
            listener,
            Arc::new(receiver),
            async {
                let _ = stopped.await;
            },
        ));
        let state = AppState {
            inbox: Some(settings()),
            ..AppState::new(dns.layer(), store)
        };
        TestInbox {
            smtp,
            api: router(state),
            _stop: stop,
        }
    }

    /// A new test address through `POST /v1/inboxes`: (token, address).
    pub async fn new_address(&self) -> (String, String) {
        self.new_address_with("").await
    }

    /// The same with a query string (`?keep_raw=true`).
    pub async fn new_address_with(&self, query: &str) -> (String, String) {
        let request = axum::http::Request::post(format!("/v1/inboxes{query}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, _, body) = super::api::call(self.api.clone(), request).await;
        assert_eq!(status, 201, "{body}");
        (
            body["token"].as_str().unwrap().to_string(),
            body["address"].as_str().unwrap().to_string(),
        )
    }

    /// `GET /v1/inboxes/{token}`.
    pub async fn inbox(&self, token: &str) -> serde_json::Value {
        let request = axum::http::Request::get(format!("/v1/inboxes/{token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, _, body) = super::api::call(self.api.clone(), request).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn connect(&self) -> (SmtpClient, Reply) {
        SmtpClient::connect(self.smtp).await
    }
}

/// A reply as read: its code and its lines, codes included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    /// The code and enhanced status, `"550 5.1.1"`.
    pub fn status(&self) -> &str {
        self.text.get(..9).unwrap_or(&self.text)
    }
}

/// An SMTP client on a real socket.
pub struct SmtpClient {
    conn: BufReader<Box<dyn Io>>,
}

impl SmtpClient {
    pub async fn connect(addr: SocketAddr) -> (SmtpClient, Reply) {
        SmtpClient::connect_with(addr, b"").await
    }

    /// Connects and sends `first` (a PROXY header) before the greeting.
    pub async fn connect_with(addr: SocketAddr, first: &[u8]) -> (SmtpClient, Reply) {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut client = SmtpClient {
            conn: BufReader::new(Box::new(stream)),
        };
        if !first.is_empty() {
            client.write(first).await;
        }
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// Reads one reply; a closed connection reads as code 0.
    pub async fn reply(&mut self) -> Reply {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            match self.conn.read_line(&mut line).await {
                Ok(0) | Err(_) => {
                    return Reply { code: 0, text };
                }
                Ok(_) => {}
            }
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                return Reply {
                    code,
                    text: text.trim_end().to_string(),
                };
            }
        }
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        let stream = self.conn.get_mut();
        stream.write_all(bytes).await.unwrap();
        stream.flush().await.unwrap();
    }

    /// Sends a command line and reads its reply.
    pub async fn command(&mut self, line: &str) -> Reply {
        self.write(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// DATA, the message dot-stuffed, and the final reply.
    pub async fn data(&mut self, message: &[u8]) -> Reply {
        let go = self.command("DATA").await;
        assert_eq!(go.code, 354, "{go:?}");
        let mut stuffed = Vec::with_capacity(message.len() + 16);
        for line in message.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                stuffed.push(b'.');
            }
            stuffed.extend_from_slice(line);
        }
        if !stuffed.ends_with(b"\r\n") {
            stuffed.extend_from_slice(b"\r\n");
        }
        stuffed.extend_from_slice(b".\r\n");
        self.write(&stuffed).await;
        self.reply().await
    }

    /// STARTTLS, then the handshake trusting `roots`.
    pub async fn start_tls(self, roots: rustls::RootCertStore, name: &str) -> SmtpClient {
        let mut client = self;
        let go = client.command("STARTTLS").await;
        assert_eq!(go.status(), "220 2.0.0", "{go:?}");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let server_name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
        let tls = connector
            .connect(server_name, client.conn.into_inner())
            .await
            .expect("TLS handshake");
        SmtpClient {
            conn: BufReader::new(Box::new(tls)),
        }
    }
}
