//! The test inbox's SMTP receiver (`mailvet serve --smtp ADDR`): it takes
//! one message for each live one-time address `t-<token>@<inbox-domain>`,
//! reports on it with the envelope it really arrived with, and saves the
//! report through the token's claim in the store.
//!
//! It never relays: no code path here sends mail anywhere, and RCPT TO
//! accepts only live test addresses and the report addresses
//! (`--report-address`, whose mail is imported as DMARC and TLS reports). An inbound server on the internet
//! is attacked, so every session is bounded: per-client and total session
//! counts and messages per minute ([`admission`]), the length of a
//! command line, the message size and the memory all sessions' messages
//! hold ([`wire`]), timeouts and a cap on bad commands ([`session`]).
//! The report runs where the HTTP API's does (off the async runtime when
//! heavy, `report_pooled`).
//!
//! # Layout
//!
//! - [`address`] — the one-time address form and the inbox settings.
//! - [`admission`] — per-client limits on sessions and messages.
//! - [`wire`] — reading command lines and DATA under their caps.
//! - [`session`] — the command loop and the transaction's state.
//! - [`reply`] — every reply the receiver sends.
//! - [`delivery`] — the `Received:` header, the report and the claim.
//! - [`intake`] — report addresses: DMARC and TLS reports mailed in.
//! - [`tls`] — STARTTLS: the certificate and what a session negotiated.
//! - [`proxy`] — PROXY protocol headers from trusted balancers.
//! - [`transcript`] — the commands and replies a report carries.

pub mod address;
pub mod admission;
pub mod delivery;
pub mod intake;
pub mod proxy;
pub mod reply;
pub mod session;
pub mod tls;
pub mod transcript;
pub mod wire;

use crate::dns::Dns;
use crate::message::blocklists::Blocklists;
use crate::message::limits::MessageLimits;
use crate::store::Store;
use address::InboxSettings;
use admission::{Admission, AdmissionLimits, Refused};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wire::Conn;

/// The receiver's limits (`mailvet serve --smtp-…` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpLimits {
    /// Advertised as SIZE and enforced: `552` beyond it.
    pub max_message_size: usize,
    /// Sessions at once from one client; `421` beyond.
    pub sessions_per_client: usize,
    /// Sessions at once in all; `421` beyond.
    pub max_sessions: usize,
    /// Transactions (MAIL FROM) per client and minute; `450` beyond.
    pub messages_per_minute: u32,
    /// Failure replies a session may get; then `421` and close.
    pub max_bad_commands: u32,
    /// Most time to wait for each command line.
    pub command_timeout: Duration,
    /// Most time for the whole DATA section.
    pub data_timeout: Duration,
    /// Bytes of message data all sessions may hold at once.
    pub memory: usize,
}

pub const DEFAULT_SESSIONS_PER_CLIENT: usize = 50;
pub const DEFAULT_MAX_SESSIONS: usize = 1000;
pub const DEFAULT_MESSAGES_PER_MINUTE: u32 = 60;
pub const DEFAULT_MAX_BAD_COMMANDS: u32 = 20;
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_DATA_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_MEMORY: usize = 256 * 1024 * 1024;

impl Default for SmtpLimits {
    fn default() -> SmtpLimits {
        SmtpLimits {
            max_message_size: 25 * 1024 * 1024,
            sessions_per_client: DEFAULT_SESSIONS_PER_CLIENT,
            max_sessions: DEFAULT_MAX_SESSIONS,
            messages_per_minute: DEFAULT_MESSAGES_PER_MINUTE,
            max_bad_commands: DEFAULT_MAX_BAD_COMMANDS,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            data_timeout: DEFAULT_DATA_TIMEOUT,
            memory: DEFAULT_MEMORY,
        }
    }
}

/// Everything a receiver needs, shared by its sessions.
pub struct Receiver {
    pub dns: Arc<Dns>,
    pub store: Store,
    pub inbox: InboxSettings,
    /// The name in the greeting and the `Received:` header's `by`.
    pub hostname: String,
    pub limits: SmtpLimits,
    pub message_limits: MessageLimits,
    /// The DNS blocklists the sending IP is asked on (`--dnsbl`).
    pub blocklists: Blocklists,
    /// The authserv-id of the report's Authentication-Results header.
    pub authserv_id: String,
    /// STARTTLS is offered when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Peers that must open with a PROXY header (`--smtp-proxy-from`).
    pub proxy_from: Vec<proxy::Network>,
    /// The report addresses (`--report-address`); none by default.
    pub reports: intake::ReportIntake,
    admission: Arc<Admission>,
    memory: Arc<Semaphore>,
}

impl Receiver {
    /// A receiver for `inbox` with the default limits and no TLS; the
    /// host name is the inbox domain.
    pub fn new(dns: Arc<Dns>, store: Store, inbox: InboxSettings) -> Receiver {
        Receiver {
            dns,
            store,
            hostname: inbox.domain.clone(),
            inbox,
            limits: SmtpLimits::default(),
            message_limits: MessageLimits::default(),
            blocklists: Blocklists::none(),
            authserv_id: "mailvet".into(),
            tls: None,
            proxy_from: Vec::new(),
            reports: intake::ReportIntake::default(),
            admission: Admission::new(admission_limits(&SmtpLimits::default())),
            memory: wire::memory_budget(DEFAULT_MEMORY),
        }
    }

    /// The same receiver under other limits.
    pub fn with_limits(mut self, limits: SmtpLimits) -> Receiver {
        self.admission = Admission::new(admission_limits(&limits));
        self.memory = wire::memory_budget(limits.memory);
        self.limits = limits;
        self
    }
}

fn admission_limits(limits: &SmtpLimits) -> AdmissionLimits {
    AdmissionLimits {
        sessions_per_client: limits.sessions_per_client,
        max_sessions: limits.max_sessions,
        messages_per_minute: limits.messages_per_minute,
    }
}

/// Pause after a failed accept, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long sessions in flight may go on after shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Receives on `listener` until `shutdown` completes; sessions still
/// open [`SHUTDOWN_GRACE`] later are dropped.
pub async fn serve_on(
    listener: TcpListener,
    receiver: Arc<Receiver>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while sessions.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => {
                    tracing::warn!(error = %e, "smtp: cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let receiver = Arc::clone(&receiver);
        sessions.spawn(async move { connection(&receiver, stream, peer).await });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        while sessions.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!(
            sessions = sessions.len(),
            "smtp: sessions still open after the grace period; closing them"
        );
        sessions.abort_all();
    }
    Ok(())
}

/// One connection: the PROXY header from a trusted balancer, admission,
/// then the session.
async fn connection(receiver: &Receiver, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut conn: Conn = BufReader::new(Box::new(stream));
    let mut client = peer.ip();
    if receiver
        .proxy_from
        .iter()
        .any(|net| net.contains(peer.ip()))
    {
        let header = tokio::time::timeout(
            receiver.limits.command_timeout,
            proxy::read_header(&mut conn),
        )
        .await;
        match header {
            Ok(Ok(named)) => client = named.unwrap_or(client),
            Ok(Err(error)) => {
                tracing::warn!(%peer, %error, "smtp: refused a trusted peer's connection");
                refuse(&mut conn, &reply::proxy_refused()).await;
                return;
            }
            Err(_) => {
                refuse(&mut conn, &reply::timeout()).await;
                return;
            }
        }
    }
    let admitted = match receiver.admission.enter(client) {
        Ok(admitted) => admitted,
        Err(refused) => {
            let answer = match refused {
                Refused::ClientSessions => reply::too_many_sessions(),
                Refused::Busy => reply::busy(),
            };
            refuse(&mut conn, &answer).await;
            return;
        }
    };
    session::run(receiver, admitted, client, conn).await;
}

/// Answers a connection that gets no session.
async fn refuse(conn: &mut Conn, answer: &reply::Reply) {
    let stream = conn.get_mut();
    let _ = stream.write_all(&answer.wire()).await;
    let _ = stream.flush().await;
}
