//! The bridge that puts mail-auth's DNS lookups through our resolver layer.
//!
//! mail-auth (DKIM, DMARC, ARC, iprev) resolves through its own
//! hickory `TokioResolver` and offers no way to plug in another transport.
//! So each request that needs it gets a small DNS endpoint on 127.0.0.1
//! (UDP and TCP, ephemeral ports) whose answers come from that request's
//! [`Resolver`]; the `MessageAuthenticator` handed out points there, with
//! its own cache off. Every mail-auth question then gets exactly what our
//! own checks get: the zone overlay (NXDOMAIN and NODATA included),
//! `--offline`, the per-request memo and shared cache, the trace, and the
//! deadline.
//!
//! Why not only pre-fill mail-auth's `DnsCache`: the cache stores *parsed*
//! TXT records, so an answer can be placed only where the name says which
//! type a verifier will ask for, and a question nobody asked before
//! mail-auth would have no answer. The endpoint works at the record level,
//! like a real server, and costs one loopback round trip per question; the
//! checks still hand mail-auth what they already asked through
//! [`super::answered`], which saves that round trip for the common
//! questions (DKIM keys, DMARC records, iprev).
//!
//! A failed lookup (timeout, SERVFAIL, deadline) is answered SERVFAIL at
//! once, which mail-auth reports as temperror; it never waits a second time.
//!
//! Building a mail-auth authenticator is expensive (hickory's resolver
//! builder loads the system's CA certificates), so `serve` keeps a
//! [`BridgePool`]: endpoints with their authenticators live across
//! requests, and a request leases one, which answers from that request's
//! resolver until the lease is dropped.

use super::{Rcode, Resolver};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use mail_auth::MessageAuthenticator;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// Largest UDP answer the bridge sends; longer ones are truncated so the
/// client asks again over TCP (RFC 7766).
const UDP_LIMIT: usize = 1232;

/// The resolver a bridge answers from: the leasing request's, or none
/// between leases (queries then get SERVFAIL).
type Slot = Arc<RwLock<Option<Resolver>>>;

/// A running endpoint; dropping it stops it.
pub struct Bridge {
    udp: SocketAddr,
    tcp: SocketAddr,
    slot: Slot,
    tasks: JoinSet<()>,
}

/// Why the bridge could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the loopback DNS endpoint for mail-auth: {0}")]
pub struct BridgeError(String);

impl Bridge {
    /// Starts an endpoint answering from `resolver`.
    pub async fn start(resolver: Resolver) -> Result<Bridge, BridgeError> {
        Bridge::bind(Arc::new(RwLock::new(Some(resolver)))).await
    }

    async fn bind(slot: Slot) -> Result<Bridge, BridgeError> {
        let err = |e: std::io::Error| BridgeError(e.to_string());
        let udp = UdpSocket::bind("127.0.0.1:0").await.map_err(err)?;
        let tcp = TcpListener::bind("127.0.0.1:0").await.map_err(err)?;
        let (udp_addr, tcp_addr) = (
            udp.local_addr().map_err(err)?,
            tcp.local_addr().map_err(err)?,
        );
        let mut tasks = JoinSet::new();
        tasks.spawn(serve_udp(udp, Arc::clone(&slot)));
        tasks.spawn(serve_tcp(tcp, Arc::clone(&slot)));
        Ok(Bridge {
            udp: udp_addr,
            tcp: tcp_addr,
            slot,
            tasks,
        })
    }

    /// A mail-auth authenticator whose every lookup goes through this
    /// bridge. `wait` bounds how long it waits for one answer; the bridge
    /// always answers before the request's deadline, so pass that.
    pub fn authenticator(&self, wait: Duration) -> Result<MessageAuthenticator, BridgeError> {
        let mut udp = ConnectionConfig::udp();
        udp.port = self.udp.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = self.tcp.port();
        let server = NameServerConfig::new(self.udp.ip(), true, vec![udp, tcp]);
        let mut opts = ResolverOpts::default();
        opts.timeout = wait.max(Duration::from_millis(100));
        opts.attempts = 1;
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.try_tcp_on_error = true;
        opts.ndots = 0;
        MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), opts)
            .map_err(|e| BridgeError(e.to_string()))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn serve_udp(socket: UdpSocket, resolver: Slot) {
    let socket = std::sync::Arc::new(socket);
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(query) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let (socket, resolver) = (Arc::clone(&socket), Arc::clone(&resolver));
        tokio::spawn(async move {
            let reply = respond(&query, &resolver).await;
            let mut bytes = reply.to_vec().unwrap_or_default();
            if bytes.len() > UDP_LIMIT {
                bytes = reply.truncate().to_vec().unwrap_or_default();
            }
            // A lost reply is the client's timeout to handle.
            let _ = socket.send_to(&bytes, peer).await;
        });
    }
}

async fn serve_tcp(listener: TcpListener, resolver: Slot) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_tcp_connection(stream, Arc::clone(&resolver)));
    }
}

async fn serve_tcp_connection(mut stream: TcpStream, resolver: Slot) {
    while let Ok(len) = stream.read_u16().await {
        let mut buf = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Ok(query) = Message::from_vec(&buf) else {
            return;
        };
        let bytes = respond(&query, &resolver)
            .await
            .to_vec()
            .unwrap_or_default();
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// The answer to one query, from the leasing request's resolver.
async fn respond(query: &Message, slot: &Slot) -> Message {
    let resolver = slot.read().unwrap_or_else(|p| p.into_inner()).clone();
    let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_queries(query.queries.iter().cloned());
    let Some(q) = query.queries.first().filter(|_| query.queries.len() == 1) else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply;
    };
    let Some(resolver) = resolver else {
        reply.metadata.response_code = ResponseCode::ServFail;
        return reply;
    };
    match resolver.lookup(q.name(), q.query_type()).await {
        Ok(answer) => {
            reply.metadata.response_code = match answer.rcode {
                Rcode::NoError => ResponseCode::NoError,
                Rcode::NXDomain => ResponseCode::NXDomain,
            };
            reply.metadata.authentic_data = answer.authenticated;
            reply.add_answers(answer.records);
        }
        Err(_) => reply.metadata.response_code = ResponseCode::ServFail,
    }
    reply
}

/// Endpoints with their authenticators, kept across requests.
pub struct BridgePool {
    wait: Duration,
    free: Mutex<Vec<Pooled>>,
}

struct Pooled {
    bridge: Bridge,
    authenticator: MessageAuthenticator,
}

/// A leased endpoint: its authenticator's lookups go through the leasing
/// request's resolver. Dropping it returns the endpoint to the pool.
pub struct Lease<'p> {
    pool: &'p BridgePool,
    pooled: Option<Pooled>,
    /// The pooled authenticator (clones share its resolver).
    pub authenticator: MessageAuthenticator,
}

impl BridgePool {
    /// `wait` bounds one mail-auth lookup: the request deadline.
    pub fn new(wait: Duration) -> BridgePool {
        BridgePool {
            wait,
            free: Mutex::new(Vec::new()),
        }
    }

    /// An endpoint answering from `resolver`, reused or started.
    pub async fn lease(&self, resolver: Resolver) -> Result<Lease<'_>, BridgeError> {
        let reused = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let pooled = match reused {
            Some(p) => p,
            None => {
                let bridge = Bridge::bind(Arc::new(RwLock::new(None))).await?;
                let authenticator = bridge.authenticator(self.wait)?;
                Pooled {
                    bridge,
                    authenticator,
                }
            }
        };
        *pooled
            .bridge
            .slot
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(resolver);
        Ok(Lease {
            pool: self,
            authenticator: pooled.authenticator.clone(),
            pooled: Some(pooled),
        })
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(pooled) = self.pooled.take() {
            *pooled
                .bridge
                .slot
                .write()
                .unwrap_or_else(|p| p.into_inner()) = None;
            self.pool
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(pooled);
        }
    }
}
