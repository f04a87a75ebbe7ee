//! The stub client that asks upstream servers: RFC 1035 §4.2 over UDP, with
//! the query repeated over TCP when the answer comes back truncated (TC).
//!
//! It decides which server is asked when, how long each try may wait, and
//! which failures move on to the next server. Each query goes out from a
//! fresh UDP socket (random source port) with a random ID, asks for
//! recursion and for the AD bit (RFC 6840 §5.7) so the report can say
//! whether a validating resolver vouched for the answer, and advertises an
//! EDNS buffer of 1232 octets (the DNS flag day 2020 value) with the DO bit
//! (RFC 3225), so answers bring their RRSIGs and NSEC/NSEC3 proofs for
//! mailvet's own validation. On request a
//! query also carries the CD bit (RFC 4035 §3.2.2), so a validating
//! resolver hands over data that failed validation instead of SERVFAIL:
//! that is how the DNSSEC check tells "bogus" from "broken".
//!
//! A failure (timeout, SERVFAIL, REFUSED, network error) moves on to the
//! next server and the next attempt; NXDOMAIN and NOERROR end the search.
//! Every wait is capped by the request's deadline.

use super::DnsError;
use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

/// The EDNS UDP payload size we advertise.
const EDNS_PAYLOAD: u16 = 1232;

/// How the upstream is asked.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub servers: Vec<SocketAddr>,
    pub query_timeout: Duration,
    pub attempts: u32,
    pub reach: Arc<Reach>,
}

/// Whether the servers have ever answered, across every request: when
/// none has and questions failed, the servers (or the path to them) are
/// what failed, not the names asked about.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    answered: AtomicBool,
    /// The last failure to get a reply (a timeout, a network error).
    failure: Mutex<Option<DnsError>>,
}

impl Reach {
    /// The last failure, when questions failed and no server ever
    /// answered one.
    pub fn silent(&self) -> Option<DnsError> {
        if self.answered.load(Ordering::Relaxed) {
            return None;
        }
        self.failure.lock().ok()?.clone()
    }

    fn failed(&self, e: &DnsError) {
        if let Ok(mut failure) = self.failure.lock() {
            *failure = Some(e.clone());
        }
    }
}

/// A response and the server that gave it.
pub(crate) struct Reply {
    pub message: Message,
    pub server: SocketAddr,
}

impl Upstream {
    /// Asks the servers in turn until one gives NOERROR or NXDOMAIN; with
    /// `checking_disabled` the queries carry the CD bit.
    pub async fn exchange(
        &self,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
        deadline: Instant,
    ) -> Result<Reply, DnsError> {
        let mut last = DnsError::Timeout;
        for _ in 0..self.attempts.max(1) {
            for &server in &self.servers {
                if Instant::now() >= deadline {
                    return Err(DnsError::Deadline);
                }
                let try_until = deadline.min(Instant::now() + self.query_timeout);
                match self
                    .ask(server, name, rtype, checking_disabled, try_until)
                    .await
                {
                    Ok(message) => {
                        self.reach.answered.store(true, Ordering::Relaxed);
                        match message.metadata.response_code {
                            ResponseCode::NoError | ResponseCode::NXDomain => {
                                return Ok(Reply { message, server });
                            }
                            ResponseCode::ServFail => last = DnsError::ServFail,
                            ResponseCode::Refused => last = DnsError::Refused,
                            other => last = DnsError::Rcode(other.to_string()),
                        }
                    }
                    Err(DnsError::Timeout) if Instant::now() >= deadline => {
                        return Err(DnsError::Deadline);
                    }
                    Err(e) => {
                        self.reach.failed(&e);
                        last = e;
                    }
                }
            }
        }
        Err(last)
    }

    async fn ask(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
        until: Instant,
    ) -> Result<Message, DnsError> {
        let query = build_query(name, rtype, checking_disabled);
        let bytes = query
            .to_vec()
            .map_err(|e| DnsError::Network(format!("cannot encode query: {e}")))?;
        let reply = timeout_at(until, udp_exchange(server, &bytes, &query))
            .await
            .map_err(|_| DnsError::Timeout)??;
        if !reply.metadata.truncation {
            return Ok(reply);
        }
        timeout_at(until, tcp_exchange(server, &bytes, &query))
            .await
            .map_err(|_| DnsError::Timeout)?
    }
}

fn build_query(name: &Name, rtype: RecordType, checking_disabled: bool) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.metadata.authentic_data = true;
    message.metadata.checking_disabled = checking_disabled;
    message.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    message
}

/// A response answers our query when its ID and question match (RFC 5452 §9.1).
fn answers(reply: &Message, query: &Message) -> bool {
    reply.metadata.id == query.metadata.id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == 1
        && query.queries.first().is_some_and(|q| {
            let r = &reply.queries[0];
            r.query_type() == q.query_type() && r.name().eq_ignore_root_case(q.name())
        })
}

async fn udp_exchange(
    server: SocketAddr,
    bytes: &[u8],
    query: &Message,
) -> Result<Message, DnsError> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let net = |e: std::io::Error| DnsError::Network(format!("{server}: {e}"));
    let socket = UdpSocket::bind(local).await.map_err(net)?;
    socket.connect(server).await.map_err(net)?;
    socket.send(bytes).await.map_err(net)?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = socket.recv(&mut buf).await.map_err(net)?;
        // Garbage or a stray answer is ignored; the timeout still bounds us.
        if let Ok(reply) = Message::from_vec(&buf[..n])
            && answers(&reply, query)
        {
            return Ok(reply);
        }
    }
}

async fn tcp_exchange(
    server: SocketAddr,
    bytes: &[u8],
    query: &Message,
) -> Result<Message, DnsError> {
    let net = |e: std::io::Error| DnsError::Network(format!("{server} (TCP): {e}"));
    let mut stream = TcpStream::connect(server).await.map_err(net)?;
    let len = u16::try_from(bytes.len())
        .map_err(|_| DnsError::Network("query too long for TCP".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(net)?;
    loop {
        let len = stream.read_u16().await.map_err(net)?;
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await.map_err(net)?;
        let reply = Message::from_vec(&buf)
            .map_err(|e| DnsError::Malformed(format!("{server} (TCP): {e}")))?;
        if answers(&reply, query) {
            return Ok(reply);
        }
    }
}
