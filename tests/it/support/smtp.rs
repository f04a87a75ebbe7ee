//! Real SMTP servers for the transport probe's tests: the MX hosts of the
//! fixtures (fixtures/audit/tls.zone, and `tlsfail` in mta-sts.zone), one
//! per loopback address, all on one random port.
//!
//! Linux routes all of 127.0.0.0/8 to loopback, so each case gets its own
//! address ([`SERVERS`]) and the probe, connecting to the addresses DNS
//! gives, meets the case's server: a valid certificate from the test CA
//! (also on `::1`), no STARTTLS, a server that accepts and never answers,
//! an address nobody listens on, a self-signed certificate, a wrong name,
//! an expired and an expiring certificate, a server that says `220` to
//! STARTTLS and then speaks no TLS, two whose greeting never ends (one
//! endless line, endless continuation lines), and one that still answers
//! a TLS 1.0 or 1.1 ClientHello (rustls speaks neither, so that
//! ServerHello is made here, byte by byte, and the handshake goes no
//! further). Certificates come from `rcgen` under a throwaway CA
//! ([`TestSmtp::ca_pem`], the audit's extra trust anchor); the DANE server
//! sends the CA's certificate after its own, and every chain is kept
//! ([`TestSmtp::chain`]) so DANE tests compute TLSA records from it.

use super::ca::{self, TestCa, Validity};
use rustls::pki_types::CertificateDer;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// How a test server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// STARTTLS with a certificate from the test CA for its MX names.
    Valid,
    /// Greets and answers EHLO without STARTTLS.
    NoStarttls,
    /// Accepts the connection and never says a word.
    Silent,
    /// Nothing listens at the address: the connection is refused.
    Refused,
    /// STARTTLS with a self-signed certificate for its MX names.
    SelfSigned,
    /// STARTTLS with a certificate from the test CA for another name.
    WrongName,
    /// STARTTLS with a certificate from the test CA that expired 10 days ago.
    Expired,
    /// STARTTLS with a certificate from the test CA that expires in 5 days.
    Expiring,
    /// Says 220 to STARTTLS, then sends text instead of TLS.
    NotTls,
    /// STARTTLS with a valid certificate, and a ServerHello of TLS 1.0 or
    /// 1.1 to a ClientHello that offers only that version.
    Legacy,
    /// A greeting line that never ends.
    EndlessLine,
    /// A greeting of ever more continuation lines (`220-`).
    EndlessReply,
    /// STARTTLS with a certificate from the test CA for the DANE fixtures'
    /// MX hosts, sent with the CA's certificate (a DANE-TA anchor in the
    /// chain).
    Dane,
}

/// Every server: its address and behaviour; the MX names of its
/// certificate come from [`names`].
pub const SERVERS: &[(&str, Kind)] = &[
    ("127.0.0.20", Kind::Valid),
    ("::1", Kind::Valid),
    ("127.0.0.21", Kind::NoStarttls),
    ("127.0.0.22", Kind::Silent),
    ("127.0.0.23", Kind::Refused),
    ("127.0.0.24", Kind::SelfSigned),
    ("127.0.0.25", Kind::WrongName),
    ("127.0.0.26", Kind::Expired),
    ("127.0.0.27", Kind::Expiring),
    ("127.0.0.28", Kind::NotTls),
    ("127.0.0.29", Kind::Legacy),
    ("127.0.0.30", Kind::EndlessLine),
    ("127.0.0.31", Kind::EndlessReply),
    ("127.0.0.32", Kind::Dane),
];

/// The MX host names a kind's certificate is for.
pub fn names(kind: Kind) -> Vec<String> {
    let names: &[&str] = match kind {
        Kind::Valid => &["mail.healthy.tls.test", "mx2.healthy.tls.test"],
        Kind::SelfSigned => &[
            "mail.selfsigned.tls.test",
            "mx1.tlsfail.mta-sts.test",
            "mx1.tlstesting.mta-sts.test",
            "mx1.tlsfail.dane.test",
        ],
        Kind::WrongName => &["mail.other.example"],
        Kind::Expired => &["mail.expired.tls.test"],
        Kind::Expiring => &["mail.expiring.tls.test"],
        Kind::Legacy => &["mail.legacy.tls.test"],
        Kind::Dane => &["*.mx.dane.test", "mx1.enforced.dane.test"],
        Kind::NoStarttls
        | Kind::Silent
        | Kind::Refused
        | Kind::NotTls
        | Kind::EndlessLine
        | Kind::EndlessReply => &[],
    };
    names.iter().map(|n| n.to_string()).collect()
}

pub struct TestSmtp {
    pub port: u16,
    /// The test CA's certificate, PEM.
    pub ca_pem: Vec<u8>,
    /// The test CA's certificate, DER.
    pub ca_der: CertificateDer<'static>,
    /// The chain each kind presents, end-entity first.
    chains: Vec<(Kind, Vec<CertificateDer<'static>>)>,
    accepted: Arc<AtomicUsize>,
    /// Connections open now, and the most open at once, by every server.
    open: Arc<(AtomicUsize, AtomicUsize)>,
    greeting_delay: Arc<Mutex<Duration>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TestSmtp {
    pub async fn start() -> TestSmtp {
        let ca = TestCa::new("mailvet test SMTP CA");
        let (port, listeners) = bind_all().await;
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let greeting_delay = Arc::new(Mutex::new(Duration::ZERO));
        let mut chains = Vec::new();
        let tasks = listeners
            .into_iter()
            .map(|(listener, kind)| {
                let tls = leaf_for(&ca, kind).map(|leaf| {
                    chains.push((kind, leaf.chain.clone()));
                    TlsAcceptor::from(Arc::new(ca::server_config(leaf)))
                });
                let counter = Arc::clone(&accepted);
                let open = Arc::clone(&open);
                let delay = Arc::clone(&greeting_delay);
                tokio::spawn(async move {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        counter.fetch_add(1, Ordering::SeqCst);
                        let now = open.0.fetch_add(1, Ordering::SeqCst) + 1;
                        open.1.fetch_max(now, Ordering::SeqCst);
                        let (delay, tls) = (*delay.lock().unwrap(), tls.clone());
                        let open = Arc::clone(&open);
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            serve(tcp, kind, tls).await;
                            open.0.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                })
            })
            .collect();
        TestSmtp {
            port,
            ca_pem: ca.pem(),
            ca_der: ca.der(),
            chains,
            accepted,
            open,
            greeting_delay,
            tasks,
        }
    }

    /// Waits this long before each greeting, as a server across a network
    /// (or one that delays its greeting) would.
    pub fn set_greeting_delay(&self, delay: Duration) {
        *self.greeting_delay.lock().unwrap() = delay;
    }

    /// The chain the server of `kind` presents (the first such server's).
    pub fn chain(&self, kind: Kind) -> &[CertificateDer<'static>] {
        self.chains
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, chain)| chain.as_slice())
            .unwrap_or_else(|| panic!("no certificate for {kind:?}"))
    }

    /// The most connections open at once so far, by every server.
    pub fn most_open(&self) -> usize {
        self.open.1.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far, by every server.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// The options of an audit that probes these servers, with policies from
/// `https`: their ports and CAs, private addresses allowed, each address
/// given `probe_timeout`.
pub fn probe_options(
    https: &super::https::TestHttps,
    smtp: &TestSmtp,
    probe_timeout: Duration,
) -> mailvet::domain::AuditOptions {
    mailvet::domain::AuditOptions {
        allow_private_fetch: true,
        extra_roots_pem: [https.ca_pem.as_slice(), &smtp.ca_pem].concat(),
        https_port: https.port(),
        fetch_timeout: Duration::from_secs(3),
        probe_smtp: true,
        probe_timeout,
        smtp_port: smtp.port,
        ..mailvet::domain::AuditOptions::default()
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One listener per server that listens, all on one port: the first
/// address picks a free port, the others take the same one (tried again
/// with another port when one of them has it taken).
async fn bind_all() -> (u16, Vec<(TcpListener, Kind)>) {
    let listening: Vec<(IpAddr, Kind)> = SERVERS
        .iter()
        .filter(|(_, kind)| *kind != Kind::Refused)
        .map(|(ip, kind)| (ip.parse().expect("server address"), *kind))
        .collect();
    'attempt: for _ in 0..20 {
        let mut listeners = Vec::new();
        let mut port = 0;
        for (ip, kind) in &listening {
            match TcpListener::bind(SocketAddr::new(*ip, port)).await {
                Ok(listener) => {
                    port = listener.local_addr().expect("smtp addr").port();
                    listeners.push((listener, *kind));
                }
                Err(_) => continue 'attempt,
            }
        }
        return (port, listeners);
    }
    panic!("no port free on every test SMTP address");
}

fn leaf_for(ca: &TestCa, kind: Kind) -> Option<ca::Leaf> {
    let leaf = match kind {
        Kind::Valid | Kind::WrongName | Kind::Legacy => {
            ca.leaf("mailvet test MX", &names(kind), Validity::days(-1, 90))
        }
        Kind::Expired => ca.leaf("mailvet test MX", &names(kind), Validity::days(-100, -10)),
        Kind::Expiring => ca.leaf("mailvet test MX", &names(kind), Validity::days(-80, 5)),
        Kind::SelfSigned => ca::self_signed("mailvet self-signed MX", &names(kind)),
        Kind::Dane => {
            let mut leaf = ca.leaf("mailvet DANE MX", &names(kind), Validity::days(-1, 90));
            leaf.chain.push(ca.der());
            leaf
        }
        Kind::NoStarttls
        | Kind::Silent
        | Kind::Refused
        | Kind::NotTls
        | Kind::EndlessLine
        | Kind::EndlessReply => return None,
    };
    Some(leaf)
}

/// One session: greeting, EHLO, STARTTLS and, over TLS, QUIT.
async fn serve(tcp: TcpStream, kind: Kind, tls: Option<TlsAcceptor>) {
    if kind == Kind::Silent {
        // Hold the connection open, saying nothing, until the client goes.
        let mut tcp = tcp;
        let _ = tokio::io::copy(&mut tcp, &mut tokio::io::sink()).await;
        return;
    }
    if let Some(unit) = match kind {
        Kind::EndlessLine => Some(&b"220 xxxxxxxxxxxxxxxx"[..]),
        Kind::EndlessReply => Some(&b"220-more to come\r\n"[..]),
        _ => None,
    } {
        // Until the client stops reading and goes.
        let mut tcp = tcp;
        while tcp.write_all(unit).await.is_ok() {}
        return;
    }
    let offers_tls = kind != Kind::NoStarttls;
    let mut io = BufReader::new(tcp);
    if dialogue(&mut io, offers_tls, "test MX").await != Some(Command::Starttls) {
        return;
    }
    let mut tcp = io.into_inner();
    if kind == Kind::NotTls {
        let _ = tcp.write_all(b"220 go ahead\r\nthis is not TLS\r\n").await;
        return;
    }
    let _ = tcp.write_all(b"220 go ahead\r\n").await;
    let Some(acceptor) = tls else {
        return;
    };
    let Ok(hello) = first_record(&mut tcp).await else {
        return;
    };
    if kind == Kind::Legacy
        && let Some(version) = legacy_version(&hello)
    {
        let _ = tcp.write_all(&server_hello(version)).await;
        return;
    }
    let replayed = Replayed {
        prefix: hello,
        read: 0,
        inner: tcp,
    };
    let Ok(tls) = acceptor.accept(replayed).await else {
        return;
    };
    let mut io = BufReader::new(tls);
    let _ = dialogue_after_tls(&mut io).await;
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Starttls,
    Quit,
}

/// Greets and answers commands until STARTTLS or QUIT (or the end).
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    offers_tls: bool,
    name: &str,
) -> Option<Command> {
    io.get_mut()
        .write_all(format!("220 {name} ESMTP ready\r\n").as_bytes())
        .await
        .ok()?;
    let mut line = String::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let verb = line
            .trim()
            .split(' ')
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" if offers_tls => {
                "250-test MX\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            }
            "EHLO" => "250-test MX\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
            "STARTTLS" if offers_tls => return Some(Command::Starttls),
            "QUIT" => {
                let _ = io.get_mut().write_all(b"221 bye\r\n").await;
                return Some(Command::Quit);
            }
            _ => "502 not implemented\r\n",
        };
        io.get_mut().write_all(reply.as_bytes()).await.ok()?;
    }
}

/// After the handshake, answers QUIT.
async fn dialogue_after_tls<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
) -> Option<()> {
    let mut line = String::new();
    io.read_line(&mut line).await.ok()?;
    io.get_mut().write_all(b"221 bye\r\n").await.ok()
}

/// The client's first TLS record, whole.
async fn first_record(tcp: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut record = vec![0u8; 5];
    tcp.read_exact(&mut record).await?;
    let len = u16::from_be_bytes([record[3], record[4]]) as usize;
    record.resize(5 + len, 0);
    tcp.read_exact(&mut record[5..]).await?;
    Ok(record)
}

/// The `client_version` of a ClientHello record, when it is TLS 1.0 or
/// 1.1 (a current client says TLS 1.2 there and offers 1.3 in an
/// extension).
fn legacy_version(record: &[u8]) -> Option<[u8; 2]> {
    match record {
        [22, _, _, _, _, 1, _, _, _, 3, minor @ (1 | 2), ..] => Some([3, *minor]),
        _ => None,
    }
}

/// A ServerHello record of `version` choosing TLS_RSA_WITH_AES_128_CBC_SHA.
fn server_hello(version: [u8; 2]) -> Vec<u8> {
    let mut hello = version.to_vec();
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // no session id
    hello.extend_from_slice(&[0x00, 0x2f, 0]); // cipher suite, no compression
    let mut handshake = vec![2, 0, 0, hello.len() as u8];
    handshake.extend_from_slice(&hello);
    let mut record = vec![22, version[0], version[1], 0, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    record
}

/// A connection whose first bytes, already read, are given again.
struct Replayed {
    prefix: Vec<u8>,
    read: usize,
    inner: TcpStream,
}

impl AsyncRead for Replayed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.read < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.read);
            buf.put_slice(&this.prefix[this.read..this.read + n]);
            this.read += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
