//! The resolver layer: the one way any check in mailvet asks the DNS.
//!
//! It decides where an answer comes from and what a failure means:
//!
//! 1. **Overlay** — `--zone` files are authoritative for the names at and
//!    below their origins ([`overlay`]); NXDOMAIN and NODATA come from the
//!    file, never from upstream.
//! 2. **Offline** — with `--offline`, names outside every zone are NXDOMAIN
//!    and nothing is sent on the network.
//! 3. **Per-request memo** — within one request (one [`Resolver`]) a
//!    question goes on the wire at most once, even when checks ask it
//!    concurrently; later askers wait for and share the first answer.
//!    Questions asked with the CD bit ([`Resolver::lookup_checking_disabled`])
//!    have a memo of their own and never enter the shared cache: their
//!    answers may hold data that failed DNSSEC validation.
//! 4. **Shared cache** — `serve` keeps a bounded, TTL-respecting cache across
//!    requests ([`cache`]). A fresh resolver ([`Dns::fresh_resolver_within`],
//!    `?fresh=true`) skips reading it, so its answers are new; they still
//!    refresh the cache.
//! 5. **Upstream** — the system's resolv.conf servers or `--dns` servers,
//!    over UDP with TCP on truncation, per-query timeout and attempts
//!    ([`upstream`]).
//!
//! Every question a request relied on is recorded in its trace ([`trace`]).
//! Every request has a deadline: once it passes, questions fail at once
//! with [`DnsError::Deadline`], so no report waits on DNS for longer.
//! Every request also has a budget of upstream questions
//! ([`QuestionBudget`], `--max-dns-questions`): answers from the overlay,
//! the memo and the shared cache are free, and once the budget is spent
//! further questions fail at once with [`DnsError::QuestionBudget`] instead
//! of going on the wire. The audits of one batch share one budget, so a
//! request's DNS cost is bounded whatever it asks for.
//! A failure — timeout, SERVFAIL, REFUSED — is an `Err`, never an empty
//! answer: callers turn it into `temperror`, never into "no record".
//!
//! DNSSEC is validated here, by mailvet itself ([`dnssec`]):
//! [`Resolver::lookup_validated`] gives an answer with its status — secure,
//! insecure, bogus or indeterminate — and the chain of DS and DNSKEY records
//! from the trust anchor it rests on; its questions go through the same
//! memo, cache, trace, deadline and budget as any other.
//!
//! mail-auth (DKIM, DMARC, ARC, iprev) reaches the same layer through
//! [`bridge`], a DNS endpoint on loopback that answers its resolver from
//! this request's [`Resolver`]; see that module for why. Answers the
//! request already has reach mail-auth without that round trip, as its
//! cache ([`answered`]).
//!
//! Why our own stub client instead of hickory-resolver for upstream
//! queries: reports need the exact response code and the AD bit of each
//! answer, one wire query per question (no hidden retries or caches), and
//! a per-request deadline across all of it; hickory-resolver folds rcodes
//! into errors and keeps its own cache. We still use hickory-proto for the
//! wire format and hickory-resolver's reading of resolv.conf.

pub mod answered;
pub mod bridge;
pub mod cache;
pub mod dnssec;
mod in_flight;
pub mod overlay;
pub mod trace;
mod upstream;
pub mod zone;

use cache::SharedCache;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use overlay::Overlay;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use trace::{DnsSummary, Source, TraceEntry};
use upstream::Upstream;

/// The longest TXT character-string the wire can carry (RFC 1035 §3.3):
/// only a `--zone` file, about to be published, can hold a longer one.
pub const MAX_CHARACTER_STRING: usize = 255;

/// How many follow-up questions a lookup asks down a CNAME chain before
/// giving up.
const MAX_CNAME_CHAIN: usize = 8;

/// The default of `--max-dns-questions`. A healthy audit sends about 40
/// upstream questions (60 with 20 DKIM selectors besides the 27 common
/// ones), plus the DS and DNSKEY questions of its DNSSEC chains (two per
/// zone cut, about 5 to 10), so one audit has ample room and a batch of 50
/// such domains (the default `--max-batch`) about fits.
pub const DEFAULT_MAX_QUESTIONS: usize = 2000;

/// Where upstream questions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamChoice {
    /// The nameservers of the system's resolv.conf.
    System,
    /// Explicit servers (`--dns`), asked in order.
    Servers(Vec<SocketAddr>),
    /// Nothing leaves the process (`--offline`).
    Offline,
}

/// Settings of the resolver layer, from flags or the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub upstream: UpstreamChoice,
    /// How long one try at one server may wait.
    pub query_timeout: Duration,
    /// How many rounds over the server list before giving up.
    pub attempts: u32,
    /// How long one request may spend on DNS in total.
    pub deadline: Duration,
    /// Entries of the shared cache; 0 disables it (one-shot CLI runs).
    pub cache_capacity: usize,
    /// Most upstream questions one request may send (`--max-dns-questions`).
    pub max_questions: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            upstream: UpstreamChoice::System,
            query_timeout: Duration::from_secs(2),
            attempts: 2,
            deadline: Duration::from_secs(10),
            cache_capacity: 0,
            max_questions: DEFAULT_MAX_QUESTIONS,
        }
    }
}

/// Why the resolver layer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read the system's DNS configuration ({0}); pass --dns IP[:PORT] or --offline")]
    SystemConf(String),
    #[error(
        "the system's DNS configuration lists no nameserver; pass --dns IP[:PORT] or --offline"
    )]
    NoServers,
    #[error(transparent)]
    Zone(#[from] zone::ZoneError),
    #[error(transparent)]
    TrustAnchor(#[from] dnssec::anchor::AnchorError),
}

/// The most octets of a label (RFC 1035 §2.3.4).
pub const MAX_LABEL: usize = 63;

/// The most characters of a name written as text without its final dot:
/// 255 octets on the wire (RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 253;

/// A DNS failure: the answer is unknown, which is not the same as "no
/// record" (RFC 7208 §2.6.6 temperror, RFC 8601 temperror).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("no answer before the query timeout")]
    Timeout,
    #[error("the server answered SERVFAIL")]
    ServFail,
    #[error("the server answered REFUSED")]
    Refused,
    #[error("the server answered {0}")]
    Rcode(String),
    #[error("the request's DNS deadline passed")]
    Deadline,
    #[error("network error: {0}")]
    Network(String),
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The CNAMEs of an answer loop or chain too far to follow.
    #[error("{0}")]
    CnameChain(String),
    /// Not asked: the request had sent as many upstream questions as it
    /// may.
    #[error(
        "not asked: the request used up its budget of {0} upstream DNS questions \
         (--max-dns-questions)"
    )]
    QuestionBudget(usize),
}

impl DnsError {
    /// The word used in traces.
    pub fn rcode_word(&self) -> String {
        match self {
            DnsError::Timeout => "TIMEOUT".into(),
            DnsError::ServFail => "SERVFAIL".into(),
            DnsError::Refused => "REFUSED".into(),
            DnsError::Rcode(r) => r.to_uppercase(),
            DnsError::Deadline => "DEADLINE".into(),
            DnsError::Network(_) => "NETWORK-ERROR".into(),
            DnsError::Malformed(_) => "FORMERR".into(),
            DnsError::CnameChain(_) => "CNAME-CHAIN".into(),
            DnsError::QuestionBudget(_) => "BUDGET".into(),
        }
    }
}

/// The two response codes that are answers (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    NXDomain,
}

/// A DNS answer: records (possibly none) or "no such name".
#[derive(Debug, Clone)]
pub struct Answer {
    pub rcode: Rcode,
    /// The answer section: records of the asked type and any CNAMEs.
    pub records: Vec<Record>,
    /// The authority section's DNSSEC material — SOA, NSEC, NSEC3 and
    /// their RRSIGs — for authenticated denial ([`dnssec`]).
    pub authority: Vec<Record>,
    /// The AD bit: a validating resolver vouched for the data (RFC 4035 §3.2.3).
    pub authenticated: bool,
    /// Seconds the answer may be reused.
    pub ttl: u32,
}

impl Answer {
    /// "No such name" given without a question: for a name longer than
    /// the DNS holds, which cannot exist.
    fn no_such_name() -> Answer {
        Answer {
            rcode: Rcode::NXDomain,
            records: Vec::new(),
            authority: Vec::new(),
            authenticated: false,
            ttl: 0,
        }
    }

    /// Record data of the given type, CNAMEs skipped.
    pub fn data(&self, rtype: RecordType) -> impl Iterator<Item = &RData> {
        self.records
            .iter()
            .filter(move |r| r.record_type() == rtype)
            .map(|r| &r.data)
    }

    /// True when the name exists but holds nothing of the type, or does not
    /// exist: a "void" answer in RFC 7208 §4.6.4 terms.
    pub fn is_empty_of(&self, rtype: RecordType) -> bool {
        self.data(rtype).next().is_none()
    }

    /// Each TXT record as its list of character-strings.
    pub fn txt(&self) -> Vec<Vec<&[u8]>> {
        self.data(RecordType::TXT)
            .filter_map(|d| match d {
                RData::TXT(t) => Some(t.txt_data.iter().map(|s| &s[..]).collect()),
                _ => None,
            })
            .collect()
    }

    pub fn ipv4(&self) -> Vec<Ipv4Addr> {
        self.data(RecordType::A)
            .filter_map(|d| match d {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect()
    }

    pub fn ipv6(&self) -> Vec<Ipv6Addr> {
        self.data(RecordType::AAAA)
            .filter_map(|d| match d {
                RData::AAAA(a) => Some(a.0),
                _ => None,
            })
            .collect()
    }

    /// MX records as (preference, exchange).
    pub fn mx(&self) -> Vec<(u16, Name)> {
        self.data(RecordType::MX)
            .filter_map(|d| match d {
                RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn ptr(&self) -> Vec<Name> {
        self.data(RecordType::PTR)
            .filter_map(|d| match d {
                RData::PTR(p) => Some(p.0.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The outcome of one question.
pub type Outcome = Result<Answer, DnsError>;

/// How many upstream questions a request may still send. Clones share the
/// count, so the resolvers of one batch draw on one budget.
#[derive(Debug, Clone)]
pub struct QuestionBudget {
    limit: usize,
    used: Arc<AtomicUsize>,
}

impl QuestionBudget {
    pub fn new(limit: usize) -> QuestionBudget {
        QuestionBudget {
            limit,
            used: Arc::default(),
        }
    }

    /// Takes one question from the budget; false when it is spent.
    fn take(&self) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < self.limit).then_some(used + 1)
            })
            .is_ok()
    }

    /// Questions taken so far.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// The long-lived part of the resolver layer: settings, overlay, shared
/// cache. Build once per process; take a [`Resolver`] per request.
pub struct Dns {
    upstream: Option<Upstream>,
    overlay: Overlay,
    cache: Option<SharedCache>,
    /// Questions asked upstream right now, joined by other requests (only
    /// with a cache: without one every request asks for itself).
    in_flight: in_flight::InFlight,
    deadline: Duration,
    max_questions: usize,
    /// Loopback endpoints that route mail-auth's lookups, reused.
    bridges: bridge::BridgePool,
    /// TXT records as mail-auth parsed them, across requests.
    parsed_records: Arc<answered::ParsedRecords>,
    /// Where DNSSEC chains of trust start.
    trust_anchor: dnssec::anchor::TrustAnchor,
    /// Zones validated, across requests (only with a shared cache).
    zone_cache: Option<dnssec::ZoneCache>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("upstream", &self.upstream)
            .field("overlay", &self.overlay)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Dns {
    /// Sets up the layer; reads resolv.conf when asked to and loads zones.
    /// DNSSEC chains start from IANA's root anchors.
    pub fn new(settings: Settings, zones: Vec<zone::Zone>) -> Result<Arc<Dns>, SetupError> {
        Dns::with_trust_anchor(settings, zones, dnssec::anchor::TrustAnchor::iana_root())
    }

    /// The same, with DNSSEC chains starting from `trust_anchor`
    /// (`--trust-anchor`).
    pub fn with_trust_anchor(
        settings: Settings,
        zones: Vec<zone::Zone>,
        trust_anchor: dnssec::anchor::TrustAnchor,
    ) -> Result<Arc<Dns>, SetupError> {
        let servers = match settings.upstream {
            UpstreamChoice::Offline => None,
            UpstreamChoice::Servers(s) => Some(s),
            UpstreamChoice::System => Some(system_servers()?),
        };
        Ok(Arc::new(Dns {
            upstream: servers.map(|servers| Upstream {
                servers,
                query_timeout: settings.query_timeout,
                attempts: settings.attempts,
                reach: Arc::default(),
            }),
            overlay: Overlay::new(zones)?,
            cache: (settings.cache_capacity > 0).then(|| SharedCache::new(settings.cache_capacity)),
            in_flight: in_flight::InFlight::default(),
            deadline: settings.deadline,
            max_questions: settings.max_questions,
            bridges: bridge::BridgePool::new(settings.deadline),
            parsed_records: Arc::default(),
            trust_anchor,
            zone_cache: (settings.cache_capacity > 0)
                .then(|| dnssec::ZoneCache::new(settings.cache_capacity)),
        }))
    }

    /// A fresh per-request handle with its own trace, memo, deadline and
    /// question budget.
    pub fn resolver(self: &Arc<Self>) -> Resolver {
        self.resolver_within(&self.question_budget())
    }

    /// A fresh budget of `--max-dns-questions`, for resolvers to share
    /// ([`Dns::resolver_within`]).
    pub fn question_budget(&self) -> QuestionBudget {
        QuestionBudget::new(self.max_questions)
    }

    /// A fresh per-request handle with its own trace, memo and deadline,
    /// drawing its upstream questions from `budget` (shared with every
    /// other resolver given the same budget).
    pub fn resolver_within(self: &Arc<Self>, budget: &QuestionBudget) -> Resolver {
        self.session(budget, false)
    }

    /// [`Dns::resolver_within`], but every question not in the overlay
    /// goes upstream (or joins the same question in flight), none is
    /// answered from the shared cache: what a caller asking for a fresh
    /// report is owed.
    pub fn fresh_resolver_within(self: &Arc<Self>, budget: &QuestionBudget) -> Resolver {
        self.session(budget, true)
    }

    fn session(self: &Arc<Self>, budget: &QuestionBudget, fresh: bool) -> Resolver {
        Resolver {
            session: Arc::new(Session {
                dns: Arc::clone(self),
                budget: budget.clone(),
                fresh,
                deadline: Instant::now() + self.deadline,
                memo: Mutex::new(HashMap::new()),
                memo_checking_disabled: Mutex::new(HashMap::new()),
                zones: Mutex::new(HashMap::new()),
                trace: Mutex::new(Vec::with_capacity(32)),
            }),
        }
    }

    /// The shared cache, when `serve` keeps one.
    pub fn shared_cache(&self) -> Option<&SharedCache> {
        self.cache.as_ref()
    }

    /// How long one request may spend on DNS.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The upstream servers, empty when offline.
    pub fn servers(&self) -> &[SocketAddr] {
        self.upstream.as_ref().map_or(&[], |u| &u.servers)
    }

    /// When questions went upstream and no server ever answered one (a
    /// wrong address or port, no network): the last failure. Every
    /// "lookup failed" of the reports then has this one cause.
    pub fn silent_upstream(&self) -> Option<DnsError> {
        self.upstream.as_ref()?.reach.silent()
    }
}

fn system_servers() -> Result<Vec<SocketAddr>, SetupError> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| SetupError::SystemConf(e.to_string()))?;
    let mut servers: Vec<SocketAddr> = Vec::new();
    for ns in config.name_servers() {
        let port = ns.connections.first().map_or(53, |c| c.port);
        let addr = SocketAddr::new(ns.ip, port);
        if !servers.contains(&addr) {
            servers.push(addr);
        }
    }
    if servers.is_empty() {
        return Err(SetupError::NoServers);
    }
    Ok(servers)
}

type Question = (LowerName, RecordType);

#[derive(Debug)]
struct Session {
    dns: Arc<Dns>,
    budget: QuestionBudget,
    /// Answers from the shared cache are not taken.
    fresh: bool,
    deadline: Instant,
    memo: Mutex<HashMap<Question, Arc<OnceCell<Outcome>>>>,
    /// The same for questions asked with the CD bit.
    memo_checking_disabled: Mutex<HashMap<Question, Arc<OnceCell<Outcome>>>>,
    /// What the DNSSEC walk learned per name ([`dnssec`]).
    zones: Mutex<HashMap<LowerName, Arc<OnceCell<dnssec::Walked>>>>,
    trace: Mutex<Vec<Asked>>,
}

/// One question of a request's trace, as asked.
#[derive(Debug)]
struct Asked {
    name: Name,
    rtype: RecordType,
    /// The memo cell holding the answer (always set once recorded).
    answer: Arc<OnceCell<Outcome>>,
    ms: f64,
    source: Source,
    server: Option<SocketAddr>,
}

impl Asked {
    /// The response code word: `NOERROR`, `NXDOMAIN`, or the failure's.
    fn rcode(&self) -> String {
        match self.answer.get() {
            Some(Ok(a)) => match a.rcode {
                Rcode::NoError => "NOERROR".to_string(),
                Rcode::NXDomain => "NXDOMAIN".to_string(),
            },
            Some(Err(e)) => e.rcode_word(),
            None => "PENDING".to_string(),
        }
    }

    fn entry(&self) -> TraceEntry {
        let answers = match self.answer.get() {
            Some(Ok(a)) => a.records.iter().map(trace::present).collect(),
            _ => Vec::new(),
        };
        TraceEntry {
            name: self.name.to_ascii(),
            rtype: trace::type_name(self.rtype),
            rcode: self.rcode(),
            answers,
            ms: self.ms,
            source: self.source,
            server: self.server.map(|s| s.to_string()),
        }
    }
}

/// The per-request resolver handle. Cheap to clone; clones share the
/// request's memo, trace and deadline, so concurrent checks of one request
/// see one consistent DNS.
#[derive(Debug, Clone)]
pub struct Resolver {
    session: Arc<Session>,
}

impl Resolver {
    /// [`Resolver::lookup`] of a name written as text (its final dot
    /// optional). A name longer than the DNS holds (RFC 1035 §2.3.4: 63
    /// octets a label, 255 in all, as `_mta-sts.` below a domain near the
    /// limit makes) cannot exist, so nothing is published there: it is
    /// answered NXDOMAIN without a question, not as a lookup that failed.
    pub async fn lookup_text(&self, text: &str, rtype: RecordType) -> Outcome {
        let bare = text.strip_suffix('.').unwrap_or(text);
        let too_long =
            bare.len() > MAX_NAME || bare.split('.').any(|label| label.len() > MAX_LABEL);
        if too_long {
            return Ok(Answer::no_such_name());
        }
        match Name::from_ascii(format!("{bare}.")) {
            Ok(name) => self.lookup(&name, rtype).await,
            Err(e) => Err(DnsError::Malformed(format!("{bare} cannot be asked: {e}"))),
        }
    }

    /// Asks one question, following CNAMEs (the answer then holds the chain
    /// and the final records).
    pub async fn lookup(&self, name: &Name, rtype: RecordType) -> Outcome {
        let mut answer = self.lookup_once(name, rtype, false).await?;
        let mut hops = 0;
        while let Some(target) = next_hop(&answer, name, rtype, hops)? {
            hops += 1;
            let next = self.lookup_once(&target, rtype, false).await?;
            extend_chain(&mut answer, next);
        }
        Ok(answer)
    }

    /// A mail-auth authenticator whose lookups go through this request's
    /// resolver (see [`bridge`]), for as long as the lease lives.
    pub async fn mail_auth(&self) -> Result<bridge::Lease<'_>, bridge::BridgeError> {
        self.session.dns.bridges.lease(self.clone()).await
    }

    /// Adds to `answered`, mail-auth's cache for this request (see
    /// [`answered`]), the answers this request has gained since it was made
    /// or last given them.
    pub fn share_answers(&self, answered: &answered::Answered) {
        let fresh: Vec<Question> = {
            let memo = self.session.memo.lock().unwrap_or_else(|p| p.into_inner());
            memo.iter()
                .filter(|(key, cell)| cell.initialized() && !answered.has_seen(key))
                .map(|(key, _)| key.clone())
                .collect()
        };
        for key in fresh {
            let name = Name::from(&key.0);
            if !answered::Answered::has_place_for(&name, key.1) {
                answered.see(key);
            } else if let Some(outcome) = self.known_outcome(&name, key.1) {
                answered.add(&name, key.1, outcome, &self.session.dns.parsed_records);
                answered.see(key);
            }
        }
    }

    /// The outcome of a question this request has already answered, CNAMEs
    /// followed as [`Resolver::lookup`] follows them; `None` if any step of
    /// it has not been asked yet.
    fn known_outcome(&self, name: &Name, rtype: RecordType) -> Option<Outcome> {
        let memo = self.session.memo.lock().unwrap_or_else(|p| p.into_inner());
        let known = |name: &Name| -> Option<Outcome> {
            memo.get(&(LowerName::new(name), rtype))?.get().cloned()
        };
        let mut answer = match known(name)? {
            Ok(answer) => answer,
            Err(e) => return Some(Err(e)),
        };
        let mut hops = 0;
        loop {
            let target = match next_hop(&answer, name, rtype, hops) {
                Ok(Some(target)) => target,
                Ok(None) => break,
                Err(e) => return Some(Err(e)),
            };
            hops += 1;
            match known(&target)? {
                Ok(next) => extend_chain(&mut answer, next),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(answer))
    }

    /// PTR lookup for an address (RFC 1035 §3.5, RFC 3596 §2.5).
    pub async fn reverse(&self, ip: IpAddr) -> Outcome {
        self.lookup(&reverse_name(ip), RecordType::PTR).await
    }

    /// Asks one question with the CD (checking disabled) bit set, RFC 4035
    /// §3.2.2: a validating resolver then hands over data that failed
    /// validation instead of answering SERVFAIL, which tells a bogus zone
    /// from a broken one. CNAMEs are not followed. Recorded in the trace like
    /// any question; memoized apart from [`Resolver::lookup`].
    pub async fn lookup_checking_disabled(&self, name: &Name, rtype: RecordType) -> Outcome {
        self.lookup_once(name, rtype, true).await
    }

    /// True when answers for `name` come from the overlay, not from a
    /// resolver: a `--zone` file covers the name, or the layer is
    /// `--offline`. Such answers never carry the AD bit, so they cannot say
    /// whether the name's zone is signed.
    pub fn is_overlaid(&self, name: &Name) -> bool {
        let dns = &self.session.dns;
        let mut name = name.clone();
        name.set_fqdn(true);
        dns.upstream.is_none() || dns.overlay.lookup(&name, RecordType::SOA).is_some()
    }

    async fn lookup_once(
        &self,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
    ) -> Outcome {
        let mut name = name.clone();
        name.set_fqdn(true);
        let key = (LowerName::new(&name), rtype);
        let memo = if checking_disabled {
            &self.session.memo_checking_disabled
        } else {
            &self.session.memo
        };
        let cell = {
            let mut memo = memo.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(memo.entry(key.clone()).or_default())
        };
        let started = Instant::now();
        // Who answered: the memo unless this call is the one that asked.
        let mut provenance = (Source::Cache, None);
        let outcome = cell
            .get_or_init(|| async {
                let (outcome, source, server) = self.resolve(&name, rtype, checking_disabled).await;
                provenance = (source, server);
                outcome
            })
            .await
            .clone();
        let (source, server) = provenance;
        self.record(name, rtype, cell, started, source, server);
        outcome
    }

    /// Asks the overlay, then the shared cache, then upstream; says which
    /// answered.
    async fn resolve(
        &self,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
    ) -> (Outcome, Source, Option<SocketAddr>) {
        let dns = &self.session.dns;
        if let Some(answer) = dns.overlay.lookup(name, rtype) {
            return (Ok(answer), Source::Overlay, None);
        }
        let Some(upstream) = &dns.upstream else {
            let nxdomain = Answer {
                rcode: Rcode::NXDomain,
                records: Vec::new(),
                authority: Vec::new(),
                authenticated: false,
                ttl: 0,
            };
            return (Ok(nxdomain), Source::Overlay, None);
        };
        let key = (LowerName::new(name), rtype);
        // CD answers may be bogus data: they neither come from nor go to the
        // cache that other requests' ordinary lookups share.
        let cache = dns.cache.as_ref().filter(|_| !checking_disabled);
        let Some(cache) = cache else {
            return self.ask(upstream, name, rtype, checking_disabled).await;
        };
        if !self.session.fresh
            && let Some(answer) = cache.get(&key)
        {
            return (Ok(answer), Source::Cache, None);
        }
        let flight = dns.in_flight.board(&key);
        let mut asked = None;
        let landed = flight
            .cell
            .get_or_init(|| async {
                let (outcome, source, server) = self.ask(upstream, name, rtype, false).await;
                if let Ok(answer) = &outcome {
                    cache.insert(key.clone(), answer.clone());
                }
                // Only what upstream said is shared: a question this
                // request could not send (budget, deadline), or whose
                // answer its own deadline cut short, others may still ask.
                let shared =
                    source == Source::Upstream && !matches!(outcome, Err(DnsError::Deadline));
                let landed = shared.then(|| (outcome.clone(), server));
                asked = Some((outcome, source, server));
                landed
            })
            .await
            .clone();
        drop(flight);
        match (landed, asked) {
            (_, Some(own)) => own,
            // Another request asked: its answer, as from the cache.
            (Some((outcome, _)), None) => (outcome, Source::Cache, None),
            // The one that boarded first could not send it: ask on this
            // request's own budget and deadline.
            (None, None) => self.ask(upstream, name, rtype, false).await,
        }
    }

    /// Asks upstream, on this request's question budget, unless its
    /// deadline has passed: a question too late is neither sent nor
    /// counted.
    async fn ask(
        &self,
        upstream: &Upstream,
        name: &Name,
        rtype: RecordType,
        checking_disabled: bool,
    ) -> (Outcome, Source, Option<SocketAddr>) {
        if Instant::now() >= self.session.deadline {
            return (Err(DnsError::Deadline), Source::Late, None);
        }
        let budget = &self.session.budget;
        if !budget.take() {
            return (
                Err(DnsError::QuestionBudget(budget.limit())),
                Source::NotSent,
                None,
            );
        }
        match upstream
            .exchange(name, rtype, checking_disabled, self.session.deadline)
            .await
        {
            Ok(reply) => (
                Ok(answer_from(reply.message)),
                Source::Upstream,
                Some(reply.server),
            ),
            Err(e) => (Err(e), Source::Upstream, None),
        }
    }

    /// Notes a question in the trace; it is put in words only when the
    /// trace is read ([`Asked::entry`]).
    fn record(
        &self,
        name: Name,
        rtype: RecordType,
        answer: Arc<OnceCell<Outcome>>,
        started: Instant,
        source: Source,
        server: Option<SocketAddr>,
    ) {
        let asked = Asked {
            name,
            rtype,
            answer,
            ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
            source,
            server,
        };
        self.session
            .trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(asked);
    }

    /// The trace so far.
    pub fn trace(&self) -> Vec<TraceEntry> {
        self.session
            .trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(Asked::entry)
            .collect()
    }

    /// How long what this request learned stays true: the smallest TTL
    /// left among its answers (a CNAME chain counts every link; a
    /// negative answer its SOA minimum). `None` when any question failed,
    /// went unasked or is still out: a report resting on a failure is not
    /// to be reused.
    pub fn answers_live_for(&self) -> Option<Duration> {
        let trace = self.session.trace.lock().unwrap_or_else(|p| p.into_inner());
        let mut smallest = u32::MAX;
        for asked in trace.iter() {
            match asked.answer.get() {
                Some(Ok(answer)) => smallest = smallest.min(answer.ttl),
                _ => return None,
            }
        }
        Some(Duration::from_secs(
            u64::from(smallest).min(cache::MAX_TTL.as_secs()),
        ))
    }

    /// The `dns` section of a report: the count always, entries on request.
    pub fn summary(&self, with_trace: bool) -> DnsSummary {
        let outcomes: Vec<(Source, String)> = self
            .session
            .trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|asked| (asked.source, asked.rcode()))
            .collect();
        DnsSummary {
            queries: outcomes.len(),
            upstream_queries: outcomes
                .iter()
                .filter(|(source, _)| *source == Source::Upstream)
                .count(),
            budget_exhausted: outcomes
                .iter()
                .any(|(source, _)| *source == Source::NotSent),
            deadline_passed: outcomes.iter().any(|(source, _)| *source == Source::Late),
            trace: with_trace.then(|| self.trace()),
            outcomes,
        }
    }
}

/// The CNAME to follow after `hops` follow-up questions, when `answer` to
/// `name` holds nothing of `rtype`: the end of the chain of its CNAMEs,
/// walked from `name` whatever order they came in. `Ok(None)` when `name`
/// has no CNAME or the chain ends at records (what is there is the
/// answer); an error when the chain loops or needs more than
/// [`MAX_CNAME_CHAIN`] questions more — a resolver answers SERVFAIL there,
/// so the lookup failed and the name's records are unknown, not missing.
fn next_hop(
    answer: &Answer,
    name: &Name,
    rtype: RecordType,
    hops: usize,
) -> Result<Option<Name>, DnsError> {
    if rtype == RecordType::CNAME || !answer.is_empty_of(rtype) {
        return Ok(None);
    }
    let targets: HashMap<LowerName, &Name> = answer
        .records
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some((LowerName::new(&r.name), &c.0)),
            _ => None,
        })
        .collect();
    let mut end = LowerName::new(name);
    let mut walked = HashSet::new();
    while let Some(&target) = targets.get(&end) {
        if !walked.insert(end) {
            return Err(DnsError::CnameChain(format!(
                "the CNAME chain of {} loops",
                name.to_ascii()
            )));
        }
        end = LowerName::new(target);
    }
    if walked.is_empty() {
        return Ok(None);
    }
    if hops >= MAX_CNAME_CHAIN {
        return Err(DnsError::CnameChain(format!(
            "the CNAME chain of {} needs more than {MAX_CNAME_CHAIN} questions to follow",
            name.to_ascii()
        )));
    }
    Ok(Some(Name::from(&end)))
}

/// Appends the answer for a CNAME's target to the answer that led there.
fn extend_chain(answer: &mut Answer, next: Answer) {
    answer.rcode = next.rcode;
    answer.ttl = answer.ttl.min(next.ttl);
    answer.authenticated &= next.authenticated;
    answer.records.extend(next.records);
    answer.authority = next.authority;
}

fn answer_from(message: hickory_proto::op::Message) -> Answer {
    let rcode = if message.metadata.response_code == ResponseCode::NXDomain {
        Rcode::NXDomain
    } else {
        Rcode::NoError
    };
    let ttl = if message.answers.is_empty() {
        message
            .authorities
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(0)
    } else {
        message.answers.iter().map(|r| r.ttl).min().unwrap_or(0)
    };
    let authority = message
        .authorities
        .into_iter()
        .filter(|r| {
            matches!(
                r.record_type(),
                RecordType::SOA | RecordType::NSEC | RecordType::NSEC3 | RecordType::RRSIG
            )
        })
        .collect();
    Answer {
        rcode,
        authenticated: message.metadata.authentic_data,
        records: message.answers,
        authority,
        ttl,
    }
}

/// The in-addr.arpa / ip6.arpa name of an address.
pub fn reverse_name(ip: IpAddr) -> Name {
    let suffix = match ip {
        IpAddr::V4(_) => "in-addr.arpa.",
        IpAddr::V6(_) => "ip6.arpa.",
    };
    Name::from_ascii(format!("{}.{suffix}", reversed(ip))).unwrap_or_else(|_| Name::root())
}

/// An address as the labels that name it under a reverse zone (RFC 1035
/// §3.5, RFC 3596 §2.5) or a DNS blocklist (RFC 5782 §2.1, §2.4): the
/// IPv4 octets or the IPv6 nibbles, last first, without a final dot.
pub fn reversed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(63);
            for byte in v6.octets().iter().rev() {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(&format!("{:x}.{:x}", byte & 0xf, byte >> 4));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::CNAME;

    fn cnames(links: &[(&str, &str)]) -> Answer {
        Answer {
            rcode: Rcode::NoError,
            records: links
                .iter()
                .map(|(owner, target)| {
                    let target = Name::from_ascii(target).unwrap();
                    Record::from_rdata(
                        Name::from_ascii(owner).unwrap(),
                        300,
                        RData::CNAME(CNAME(target)),
                    )
                })
                .collect(),
            authority: Vec::new(),
            authenticated: false,
            ttl: 300,
        }
    }

    /// RFC 2181 orders no RRsets in a section: the chain is walked from
    /// the name asked, so CNAMEs out of order are no loop.
    #[test]
    fn a_chain_is_walked_from_the_name_asked_in_any_order() {
        let name = Name::from_ascii("a.test.").unwrap();
        let out_of_order = cnames(&[("b.test.", "c.other."), ("a.test.", "b.test.")]);
        let next = next_hop(&out_of_order, &name, RecordType::TXT, 0).unwrap();
        assert_eq!(next, Some(Name::from_ascii("c.other.").unwrap()));

        let looped = cnames(&[("b.test.", "a.test."), ("a.test.", "b.test.")]);
        assert!(matches!(
            next_hop(&looped, &name, RecordType::TXT, 0),
            Err(DnsError::CnameChain(_))
        ));
        assert!(matches!(
            next_hop(&out_of_order, &name, RecordType::TXT, MAX_CNAME_CHAIN),
            Err(DnsError::CnameChain(_))
        ));
        assert_eq!(
            next_hop(&cnames(&[]), &name, RecordType::TXT, 0).unwrap(),
            None
        );
    }
}
