//! A real HTTPS server for the tests: the MTA-STS policy hosts of the
//! fixtures (fixtures/audit/mta-sts.zone), on 127.0.0.1 at a random port.
//!
//! At start it makes a throwaway test CA (support/ca.rs) and one server
//! certificate, signed by it, for `mta-sts.<case>.mta-sts.test` of every
//! case in [`CASES`] except `badcert`, whose name the certificate
//! deliberately lacks. Tests
//! pass [`TestHttps::ca_pem`] as the audit's extra trust anchors and
//! [`TestHttps::port`] as its HTTPS port; the policy hosts resolve to
//! loopback through the test DNS server, so tests also allow private
//! fetches.
//!
//! The answer depends on the case, the first label after `mta-sts.` in the
//! Host header (so any domain `<case>.…` works): a good enforcing policy,
//! a testing one, a malformed one, a 404, a 302, a wrong content type, a
//! body over 64 KiB sent chunked, or no answer at all. The server counts
//! the TCP connections it accepts, so a test can prove none was made.

use super::ca::{TestCa, Validity, server_config};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The cases the server knows, by the label after `mta-sts.`.
pub const CASES: &[&str] = &[
    "healthy",
    "modenone",
    "multiple",
    "badid",
    "notfirst",
    "notfound",
    "redirect",
    "wrongtype",
    "toolarge",
    "badcert",
    "refused",
    "slow",
    "invalid",
    "testing",
    "uncovered",
    "tlsfail",
    "tlssilent",
    "tlstesting",
    "enforced",
];

/// The policy hosts of the DANE fixtures (fixtures/audit/dane.zone): their
/// domains are named after the case whose policy they get.
pub const DANE_POLICY_HOSTS: &[&str] = &[
    "mta-sts.tlsfail.dane.test",
    "mta-sts.uncovered.dane.test",
    "mta-sts.enforced.dane.test",
];

/// The zone the fixture domains live in.
pub const ZONE_ORIGIN: &str = "mta-sts.test";

/// How long the `slow` case waits before answering.
pub const SLOW: Duration = Duration::from_secs(30);

pub struct TestHttps {
    pub addr: SocketAddr,
    /// The test CA's certificate, PEM: the audit's `extra_roots_pem`.
    pub ca_pem: Vec<u8>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestHttps {
    pub async fn start() -> TestHttps {
        let (ca_pem, tls) = certificates();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
        let addr = listener.local_addr().expect("https addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake (the badcert case) ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service =
                        service_fn(
                            |request| async move { Ok::<_, Infallible>(respond(request).await) },
                        );
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TestHttps {
            addr,
            ca_pem,
            accepted,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TestHttps {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A test CA and a server configuration whose certificate names every
/// case's policy host but badcert's.
fn certificates() -> (Vec<u8>, rustls::ServerConfig) {
    let ca = TestCa::new("mailvet test CA");
    let names: Vec<String> = CASES
        .iter()
        .filter(|case| **case != "badcert")
        .map(|case| format!("mta-sts.{case}.{ZONE_ORIGIN}"))
        .chain(DANE_POLICY_HOSTS.iter().map(|host| host.to_string()))
        .collect();
    let leaf = ca.leaf("mailvet test policy hosts", &names, Validity::days(-1, 90));
    let mut config = server_config(leaf);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca.pem(), config)
}

/// The policy of the good cases, for the domain `domain`.
fn policy(domain: &str, mode: &str) -> String {
    format!(
        "version: STSv1\r\nmode: {mode}\r\nmx: mx1.{domain}\r\nmx: *.mx.{domain}\r\nmax_age: 604800\r\n"
    )
}

async fn respond(request: Request<Incoming>) -> Response<TestBody> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let domain = host
        .strip_prefix("mta-sts.")
        .unwrap_or_default()
        .to_string();
    let case = domain.split('.').next().unwrap_or_default();
    if request.uri().path() != "/.well-known/mta-sts.txt" {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            TestBody::full("not found\n"),
        );
    }
    match case {
        "healthy" | "badcert" | "tlsfail" | "tlssilent" | "enforced" => reply(
            StatusCode::OK,
            "text/plain",
            TestBody::full(policy(&domain, "enforce")),
        ),
        "uncovered" => reply(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            TestBody::full(format!(
                "version: STSv1\nmode: enforce\nmx: mx1.{domain}\nmax_age: 86400\n"
            )),
        ),
        "testing" | "tlstesting" => reply(
            StatusCode::OK,
            "text/plain",
            TestBody::full(policy(&domain, "testing")),
        ),
        "modenone" => reply(
            StatusCode::OK,
            "text/plain",
            TestBody::full("version: STSv1\nmode: none\nmax_age: 86400\n"),
        ),
        "invalid" => reply(
            StatusCode::OK,
            "text/plain",
            TestBody::full("version: STSv1\nmode: enforce\nmax_age: 604800\n"),
        ),
        "redirect" => {
            let mut response = reply(StatusCode::FOUND, "text/plain", TestBody::full("moved\n"));
            let location = format!("https://www.{domain}/mta-sts.txt");
            response.headers_mut().insert(
                hyper::header::LOCATION,
                location.parse().expect("location header"),
            );
            response
        }
        "wrongtype" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            TestBody::full(policy(&domain, "enforce")),
        ),
        "toolarge" => {
            // A valid policy padded past 64 KiB by an unknown field per line.
            let mut chunks = vec![Bytes::from(policy(&domain, "enforce"))];
            let line = format!("x-padding: {}\n", "a".repeat(1000));
            chunks.extend((0..70).map(|_| Bytes::from(line.clone())));
            reply(StatusCode::OK, "text/plain", TestBody::chunked(chunks))
        }
        "slow" => {
            tokio::time::sleep(SLOW).await;
            reply(
                StatusCode::OK,
                "text/plain",
                TestBody::full(policy(&domain, "enforce")),
            )
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            TestBody::full("not found\n"),
        ),
    }
}

fn reply(status: StatusCode, content_type: &str, body: TestBody) -> Response<TestBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        content_type.parse().expect("content type"),
    );
    response
}

/// A response body: whole (with a Content-Length) or in chunks of unknown
/// total length (sent with chunked transfer encoding).
pub struct TestBody {
    chunks: VecDeque<Bytes>,
    exact: Option<u64>,
}

impl TestBody {
    fn full(text: impl Into<String>) -> TestBody {
        let bytes = Bytes::from(text.into());
        TestBody {
            exact: Some(bytes.len() as u64),
            chunks: VecDeque::from([bytes]),
        }
    }

    fn chunked(chunks: Vec<Bytes>) -> TestBody {
        TestBody {
            chunks: chunks.into(),
            exact: None,
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .chunks
                .pop_front()
                .map(|c| Ok(Frame::data(c))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
