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
//! builder reads the system's CA certificates, about 3 ms of CPU), so a
//! [`Dns`](super::Dns) keeps a [`BridgePool`]: endpoints with their
//! authenticators live across requests, and a request leases one, which
//! answers from that request's resolver until the lease is dropped. The
//! pool grows only when a lease has waited [`GROW_AFTER`] for an endpoint
//! to come back: reports whose answers are cached hold one for a fraction
//! of a millisecond, so a batch of a thousand messages, eight at once on
//! two cores, is served by two or three endpoints instead of eight, while
//! reports waiting on slow DNS still get one each after that short wait.

use super::{Rcode, Resolver};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use mail_auth::MessageAuthenticator;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Notify;
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

/// How long a lease waits for a pooled endpoint to come back before it
/// builds another (a build costs more CPU than this wait costs time).
pub const GROW_AFTER: Duration = Duration::from_millis(5);

/// Endpoints with their authenticators, kept across requests.
pub struct BridgePool {
    wait: Duration,
    free: Mutex<Vec<Pooled>>,
    /// Told each time a lease gives its endpoint back.
    returned: Notify,
    /// Endpoints that exist, leased or free.
    endpoints: AtomicUsize,
    /// Endpoints being built now: at most one per core at a time.
    building: AtomicUsize,
    cores: usize,
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
            returned: Notify::new(),
            endpoints: AtomicUsize::new(0),
            building: AtomicUsize::new(0),
            cores: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        }
    }

    /// An endpoint answering from `resolver`: a free one, one given back
    /// within [`GROW_AFTER`], or a new one (at once when the pool has
    /// none).
    pub async fn lease(&self, resolver: Resolver) -> Result<Lease<'_>, BridgeError> {
        let mut waited = false;
        let pooled = loop {
            // Registered before the free list is read, so an endpoint
            // given back in between still wakes this lease.
            let returned = self.returned.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            if let Some(pooled) = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                break pooled;
            }
            let may_grow = waited || self.endpoints.load(Ordering::Acquire) == 0;
            if may_grow && let Some(_slot) = self.build_slot() {
                break self.build().await?;
            }
            waited = tokio::time::timeout(GROW_AFTER, returned).await.is_err();
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

    /// One of the per-core build slots, if one is free; given back when
    /// dropped, also when the lease building is dropped mid-build (its
    /// request timed out), so a slot is never lost.
    fn build_slot(&self) -> Option<BuildSlot<'_>> {
        self.building
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cores).then_some(n + 1)
            })
            .ok()
            .map(|_| BuildSlot(&self.building))
    }

    async fn build(&self) -> Result<Pooled, BridgeError> {
        let bridge = Bridge::bind(Arc::new(RwLock::new(None))).await?;
        let authenticator = bridge.authenticator(self.wait)?;
        self.endpoints.fetch_add(1, Ordering::AcqRel);
        Ok(Pooled {
            bridge,
            authenticator,
        })
    }
}

/// A claimed build slot of a [`BridgePool`].
struct BuildSlot<'p>(&'p AtomicUsize);

impl Drop for BuildSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
            self.pool.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Dns, Settings, UpstreamChoice};

    fn offline() -> Arc<Dns> {
        let settings = Settings {
            upstream: UpstreamChoice::Offline,
            ..Settings::default()
        };
        Dns::new(settings, Vec::new()).expect("an offline layer")
    }

    #[tokio::test]
    async fn an_endpoint_given_back_is_leased_again_before_another_is_built() {
        let dns = offline();
        let pool = BridgePool::new(Duration::from_secs(1));
        for _ in 0..10 {
            drop(pool.lease(dns.resolver()).await.expect("a lease"));
        }
        assert_eq!(pool.endpoints.load(Ordering::Acquire), 1);
    }

    #[tokio::test]
    async fn leases_held_at_once_each_get_an_endpoint_after_the_wait() {
        let dns = offline();
        let pool = BridgePool::new(Duration::from_secs(1));
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.lease(dns.resolver()).await.expect("a lease"));
        }
        assert_eq!(pool.endpoints.load(Ordering::Acquire), 3);
        assert_eq!(pool.building.load(Ordering::Acquire), 0);
        drop(held);
        assert_eq!(pool.free.lock().expect("the free list").len(), 3);
    }

    #[tokio::test]
    async fn a_waiting_lease_takes_the_endpoint_given_back() {
        let dns = offline();
        let pool = Arc::new(BridgePool::new(Duration::from_secs(1)));
        let first = pool.lease(dns.resolver()).await.expect("a lease");
        // One thread: the waiting lease starts its wait at `yield_now`,
        // and the endpoint is given back before this task yields again,
        // long before GROW_AFTER could run out.
        let waiting = {
            let (pool, resolver) = (Arc::clone(&pool), dns.resolver());
            tokio::spawn(async move {
                pool.lease(resolver).await.map(drop).expect("a lease");
            })
        };
        tokio::task::yield_now().await;
        drop(first);
        waiting.await.expect("the waiting lease");
        assert_eq!(pool.endpoints.load(Ordering::Acquire), 1);
    }
}
