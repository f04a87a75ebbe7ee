//! A real authoritative DNS server for the tests: hickory-server on
//! 127.0.0.1 (one random port, UDP and TCP) serving fixture zone files.
//!
//! Tests point mailvet at it with `--dns 127.0.0.1:PORT` (or
//! `UpstreamChoice::Servers`), so every query crosses a real socket. The
//! server can be told to misbehave per name and type — never answer,
//! answer SERVFAIL, answer late, or answer UDP truncated — or act like a
//! validating resolver for it (AD bit set, or SERVFAIL for bogus data unless
//! the query sets CD), and it logs every query it receives so tests can
//! assert on what was asked.
//!
//! Zones are read with mailvet's own zone loader (the same one `--zone`
//! uses). A root zone is served unless a fixture provides one, so names
//! outside the fixtures get NXDOMAIN rather than REFUSED.

pub mod api;
pub mod audit_cases;
pub mod ca;
pub mod dane;
pub mod https;
pub mod inbox;
pub mod listening;
pub mod postgres;
pub mod raw;
pub mod scratch;
pub mod signed;
pub mod smtp;
pub mod store;
pub mod zip;

use async_trait::async_trait;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::Server;
use hickory_server::net::NetError;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{
    AxfrPolicy, Catalog, MessageResponse, MessageResponseBuilder, ZoneType,
};
use mailvet::dns::bridge::Bridge;
use mailvet::dns::zone::{self, Zone};
use mailvet::dns::{Dns, Resolver, Settings, UpstreamChoice};
use mailvet::message::{Clock, MessageContext};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a faulty name misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// Never answer: the client times out.
    NoAnswer,
    /// Answer SERVFAIL.
    ServFail,
    /// Answer correctly, after this long.
    Latency(Duration),
    /// Over UDP, answer with TC set and no records; TCP answers normally.
    Truncate,
    /// Answer normally with the AD bit set, as a validating resolver does
    /// for data that validated (RFC 4035 §3.2.3).
    AuthenticData,
    /// Answer SERVFAIL, as a validating resolver does for data that fails
    /// validation, unless the query sets CD: then answer normally, without
    /// AD (RFC 4035 §3.2.2).
    Bogus,
    /// Answer from the signed zones without the NSEC and NSEC3 records
    /// (and their signatures) that prove a denial or a wildcard's use.
    NoDenialProof,
}

impl FaultKind {
    /// The fault a fixture case names in its `kind` field.
    pub fn from_case_word(kind: &str) -> FaultKind {
        match kind {
            "no_answer" | "timeout" => FaultKind::NoAnswer,
            "servfail" => FaultKind::ServFail,
            "authentic_data" => FaultKind::AuthenticData,
            "bogus" => FaultKind::Bogus,
            other => panic!("unknown fault kind {other}"),
        }
    }
}

/// Which query types a fault applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultTypes {
    All,
    Only(Vec<RecordType>),
    AllExcept(Vec<RecordType>),
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub name: LowerName,
    pub types: FaultTypes,
    pub kind: FaultKind,
}

/// A query as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedQuery {
    /// Lower-case, with the final dot.
    pub name: String,
    pub rtype: RecordType,
    pub protocol: &'static str,
}

pub struct TestDns {
    pub addr: SocketAddr,
    faults: Arc<Mutex<Vec<Fault>>>,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    latency: Arc<Mutex<Duration>>,
    _server: Server<FaultyCatalog>,
}

struct FaultyCatalog {
    catalog: Catalog,
    faults: Arc<Mutex<Vec<Fault>>>,
    log: Arc<Mutex<Vec<LoggedQuery>>>,
    /// Added to every answer (benchmarks model a distant server with it).
    latency: Arc<Mutex<Duration>>,
    /// Signed zones answered instead of the catalog's.
    signed: Option<Arc<signed::SignedTree>>,
}

const ROOT_ZONE: &str = "$ORIGIN .\n$TTL 300\n. IN SOA ns.test-dns.invalid. hostmaster.test-dns.invalid. 1 3600 600 86400 300\n";

impl TestDns {
    /// Serves the given zone files (plus a root zone if none is given).
    pub async fn start(files: &[&Path]) -> TestDns {
        TestDns::start_with_files_and_texts(files, &[]).await
    }

    /// Serves zone files and zones given as text together.
    pub async fn start_with_files_and_texts(files: &[&Path], texts: &[&str]) -> TestDns {
        let zones = files
            .iter()
            .map(|f| Zone::load(f).unwrap_or_else(|e| panic!("fixture zone: {e}")))
            .chain(
                texts
                    .iter()
                    .map(|t| zone::parse(t, None).unwrap_or_else(|e| panic!("fixture zone: {e}"))),
            )
            .collect();
        TestDns::serve(zones).await
    }

    /// Serves zones given as text.
    pub async fn start_with_texts(texts: &[&str]) -> TestDns {
        TestDns::start_with_files_and_texts(&[], texts).await
    }

    /// Serves the signed zones of `tree` (and nothing else), answering
    /// like a recursive resolver that knows them all (see [`signed`]).
    pub async fn start_signed(tree: Arc<signed::SignedTree>) -> TestDns {
        TestDns::serve_with(Vec::new(), Some(tree)).await
    }

    async fn serve(zones: Vec<Zone>) -> TestDns {
        TestDns::serve_with(zones, None).await
    }

    async fn serve_with(mut zones: Vec<Zone>, signed: Option<Arc<signed::SignedTree>>) -> TestDns {
        if !zones.iter().any(|z| z.origin.is_root()) {
            zones.push(zone::parse(ROOT_ZONE, None).expect("root zone"));
        }
        let mut catalog = Catalog::new();
        for zone in zones {
            let mut sets: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
            for zr in zone.records {
                let r = zr.record;
                sets.entry(RrKey::new(LowerName::new(&r.name), r.record_type()))
                    .or_insert_with(|| RecordSet::new(r.name.clone(), r.record_type(), 1))
                    .insert(r, 1);
            }
            let handler: InMemoryZoneHandler = InMemoryZoneHandler::new(
                zone.origin.clone(),
                sets,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .unwrap_or_else(|e| panic!("zone {}: {e}", zone.origin));
            catalog.upsert(LowerName::new(&zone.origin), vec![Arc::new(handler)]);
        }
        let faults = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (udp, tcp) = bind_same_port().await;
        let addr = udp.local_addr().expect("udp addr");
        let latency = Arc::new(Mutex::new(Duration::ZERO));
        let mut server = Server::new(FaultyCatalog {
            catalog,
            faults: Arc::clone(&faults),
            log: Arc::clone(&log),
            latency: Arc::clone(&latency),
            signed,
        });
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 65535);
        TestDns {
            addr,
            latency,
            faults,
            log,
            _server: server,
        }
    }

    /// Resolver settings that ask only this server, with timeouts short
    /// enough for tests and no shared cache.
    pub fn settings(&self) -> Settings {
        Settings {
            upstream: UpstreamChoice::Servers(vec![self.addr]),
            query_timeout: Duration::from_millis(400),
            attempts: 1,
            deadline: Duration::from_secs(5),
            cache_capacity: 0,
            max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
        }
    }

    /// The resolver layer over [`TestDns::settings`], without overlays.
    pub fn layer(&self) -> Arc<Dns> {
        Dns::new(self.settings(), Vec::new()).expect("resolver layer")
    }

    /// The `--dns` argument that points at this server.
    pub fn dns_arg(&self) -> String {
        self.addr.to_string()
    }

    pub fn add_fault(&self, name: &str, types: FaultTypes, kind: FaultKind) {
        let mut name = Name::from_ascii(name).expect("fault name");
        name.set_fqdn(true);
        let name = LowerName::new(&name);
        self.faults
            .lock()
            .unwrap()
            .push(Fault { name, types, kind });
    }

    /// Delays every answer by this much.
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// Every query received so far.
    pub fn queries(&self) -> Vec<LoggedQuery> {
        self.log.lock().unwrap().clone()
    }

    /// How many times this name and type were asked.
    pub fn count(&self, name: &str, rtype: RecordType) -> usize {
        let name = name.trim_end_matches('.').to_ascii_lowercase() + ".";
        self.queries()
            .iter()
            .filter(|q| q.name == name && q.rtype == rtype)
            .count()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// A resolver layer whose only server is a bound UDP socket that never
/// answers, so every query times out (300 ms, one attempt, 1 s in all).
/// Keep the socket as long as the layer is used: once it is closed,
/// queries are refused at once instead.
pub async fn silent_layer(cache_capacity: usize) -> (tokio::net::UdpSocket, Arc<Dns>) {
    let (silent, settings) = silent_settings().await;
    let layer = Dns::new(
        Settings {
            cache_capacity,
            ..settings
        },
        Vec::new(),
    )
    .unwrap();
    (silent, layer)
}

/// The settings of [`silent_layer`] (no cache), to change before use.
pub async fn silent_settings() -> (tokio::net::UdpSocket, Settings) {
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let settings = Settings {
        upstream: UpstreamChoice::Servers(vec![silent.local_addr().unwrap()]),
        query_timeout: Duration::from_millis(300),
        attempts: 1,
        deadline: Duration::from_secs(1),
        cache_capacity: 0,
        max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
    };
    (silent, settings)
}

/// UDP and TCP on one port, as a real server (and `--dns IP:PORT`) expects.
async fn bind_same_port() -> (tokio::net::UdpSocket, tokio::net::TcpListener) {
    for _ in 0..50 {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind udp");
        let addr = udp.local_addr().expect("udp addr");
        if let Ok(tcp) = tokio::net::TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

impl FaultyCatalog {
    fn fault_for(&self, name: &LowerName, rtype: RecordType) -> Option<FaultKind> {
        self.faults
            .lock()
            .unwrap()
            .iter()
            .find(|f| {
                &f.name == name
                    && match &f.types {
                        FaultTypes::All => true,
                        FaultTypes::Only(t) => t.contains(&rtype),
                        FaultTypes::AllExcept(t) => !t.contains(&rtype),
                    }
            })
            .map(|f| f.kind)
    }
}

#[async_trait]
impl RequestHandler for FaultyCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let Ok(info) = request.request_info() else {
            return self
                .catalog
                .handle_request::<R, T>(request, response_handle)
                .await;
        };
        let name: LowerName = info.query.name().clone();
        let rtype = info.query.query_type();
        let protocol = match info.protocol {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            _ => "other",
        };
        self.log.lock().unwrap().push(LoggedQuery {
            name: name.to_string().to_ascii_lowercase(),
            rtype,
            protocol,
        });
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let header = |code: ResponseCode| {
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.response_code = code;
            ResponseInfo::from(Header {
                metadata,
                counts: HeaderCounts::default(),
            })
        };
        match self.fault_for(&name, rtype) {
            Some(FaultKind::NoAnswer) => header(ResponseCode::ServFail),
            Some(FaultKind::ServFail) => {
                let response = MessageResponseBuilder::from_message_request(request)
                    .error_msg(&request.metadata, ResponseCode::ServFail);
                response_handle
                    .send_response(response)
                    .await
                    .unwrap_or_else(|_| header(ResponseCode::ServFail))
            }
            Some(FaultKind::Truncate) if protocol == "udp" => {
                let mut response = MessageResponseBuilder::from_message_request(request)
                    .error_msg(&request.metadata, ResponseCode::NoError);
                response.metadata_mut().truncation = true;
                response_handle
                    .send_response(response)
                    .await
                    .unwrap_or_else(|_| header(ResponseCode::ServFail))
            }
            Some(FaultKind::AuthenticData) => {
                self.answer::<_, T>(request, AuthenticResponse(response_handle), true)
                    .await
            }
            Some(FaultKind::NoDenialProof) => {
                self.answer::<R, T>(request, response_handle, false).await
            }
            Some(FaultKind::Bogus) if !request.metadata.checking_disabled => {
                let response = MessageResponseBuilder::from_message_request(request)
                    .error_msg(&request.metadata, ResponseCode::ServFail);
                response_handle
                    .send_response(response)
                    .await
                    .unwrap_or_else(|_| header(ResponseCode::ServFail))
            }
            Some(FaultKind::Latency(delay)) => {
                tokio::time::sleep(delay).await;
                self.answer::<R, T>(request, response_handle, true).await
            }
            _ => self.answer::<R, T>(request, response_handle, true).await,
        }
    }
}

impl FaultyCatalog {
    /// The answer of the signed zones (with their NSEC and NSEC3 proofs,
    /// or without them), or else of the catalog.
    async fn answer<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
        with_proofs: bool,
    ) -> ResponseInfo {
        let (Some(tree), Ok(info)) = (&self.signed, request.request_info()) else {
            return self
                .catalog
                .handle_request::<R, T>(request, response_handle)
                .await;
        };
        let qname = Name::from(info.query.name().clone());
        let (nxdomain, answers, mut authority) = tree.respond(&qname, info.query.query_type());
        if !with_proofs {
            authority.retain(|r| {
                let covered = match &r.data {
                    RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().type_covered,
                    _ => r.record_type(),
                };
                !matches!(covered, RecordType::NSEC | RecordType::NSEC3)
            });
        }
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.response_code = if nxdomain {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        metadata.recursion_available = true;
        let response = MessageResponseBuilder::from_message_request(request).build(
            metadata,
            answers.iter(),
            authority.iter(),
            std::iter::empty(),
            std::iter::empty(),
        );
        let fallback = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        response_handle
            .send_response(response)
            .await
            .unwrap_or(fallback)
    }
}

/// Sends the catalog's response with the AD bit set, as a validating
/// resolver would for data that validated.
#[derive(Clone)]
struct AuthenticResponse<R>(R);

#[async_trait]
impl<R: ResponseHandler> ResponseHandler for AuthenticResponse<R> {
    async fn send_response<'a>(
        &mut self,
        mut response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        response.metadata_mut().authentic_data = true;
        self.0.send_response(response).await
    }
}

/// Now, in seconds since the epoch: when a report prepared in a test is
/// received.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Reads a JSON fixture.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// A conformance suite's allowlist: case name → the reason, which must
/// name the RFC section that justifies the deviation. Lines starting with
/// `#` are comments.
pub fn allowlist(path: &str) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, why) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            assert!(
                why.contains('§'),
                "allowlist entry {name} must name the RFC section that justifies it"
            );
            (name.to_string(), why.trim().to_string())
        })
        .collect()
}

/// One request's resolver and a mail-auth authenticator whose lookups go
/// through it (via the loopback bridge), asking only the test server.
pub struct MailAuthSession {
    pub resolver: Resolver,
    pub authenticator: mail_auth::MessageAuthenticator,
    _bridge: Bridge,
}

impl TestDns {
    pub async fn mail_auth_session(&self) -> MailAuthSession {
        let resolver = self.layer().resolver();
        let bridge = Bridge::start(resolver.clone()).await.expect("bridge");
        let authenticator = bridge
            .authenticator(Duration::from_secs(2))
            .expect("authenticator");
        MailAuthSession {
            resolver,
            authenticator,
            _bridge: bridge,
        }
    }
}

impl MailAuthSession {
    pub fn context<'a>(&'a self, raw: &'a [u8], clock: Clock) -> MessageContext<'a> {
        MessageContext {
            resolver: &self.resolver,
            answered: mailvet::dns::answered::Answered::default(),
            authenticator: &self.authenticator,
            raw,
            clock,
        }
    }
}

/// The inputs of one domain check with default options, as the audit
/// would give them: `run.cx()` is the `AuditContext` to pass to a check.
pub struct AuditRun {
    pub resolver: Resolver,
    pub domain: mailvet::records::name::DomainName,
    pub options: mailvet::domain::AuditOptions,
}

impl AuditRun {
    pub fn new(resolver: Resolver, domain: &str) -> AuditRun {
        AuditRun {
            resolver,
            domain: mailvet::records::name::DomainName::parse(domain).expect("fixture domain"),
            options: mailvet::domain::AuditOptions::default(),
        }
    }

    pub fn cx(&self) -> mailvet::domain::AuditContext<'_> {
        mailvet::domain::AuditContext {
            resolver: &self.resolver,
            domain: &self.domain,
            options: &self.options,
        }
    }
}

/// The header fields the clean fixture messages sign: From twice
/// (oversigned, RFC 6376 §8.15), and the unsubscribe headers the bulk rules
/// rest on.
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
];

/// Base64 (RFC 4648 §4, padded), for publishing generated keys in zones.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
