//! Message verification throughput, and how close it comes to what the
//! cryptography allows.
//!
//! A corpus of signed messages (4 of 5 signed with RSA-2048 keys, 1 of 5
//! with Ed25519, bodies 7.5 to 30 kB with a median of 15 kB, relaxed/relaxed,
//! From oversigned) is generated and signed at start with keys generated at
//! start; the public keys, SPF, DMARC, A and PTR records are served by the
//! in-process test DNS server. Every mode runs the whole corpus once (to
//! check every verdict and warm the DNS), then verifies messages for a fixed
//! time with 64 in flight, each message its own tokio task on the
//! multi-threaded runtime (one worker per core):
//!
//! - `0` mail-auth's `verify_dkim` alone, keys held in an in-process cache
//!   (no DNS, no mailvet code): the engine's own cost;
//! - `1a` `dkim::verify` as `report::report` sets it up: a resolver, a
//!   loopback bridge and a mail-auth authenticator per message;
//! - `1b` `dkim::verify` with 64 long-lived resolver/bridge/authenticator
//!   sets, one per slot (the per-message setup taken out);
//! - `2` the full report, `report::report` (SPF, DKIM, ARC, DMARC, iprev,
//!   headers);
//! - `3` the full report through `POST /v1/messages` on the real router
//!   (`tower::ServiceExt::oneshot`), the JSON body collected.
//!
//! DNS is warm: one `Dns` with a shared cache serves all requests, and the
//! test DNS server's query log must not grow during a timed run.
//!
//! The ceiling is what the cryptography allows on this machine: one RSA-2048
//! signature verification plus SHA-256 of a 15 kB body per message, on every
//! core at once (aws-lc-rs through `hickory_proto::dnssec::crypto` and
//! mail-auth's hash, as `src/message/dkim.rs` uses them). The first message
//! issue set the target at 10,000 messages/s through the library, taking
//! that for about half the ceiling; the speed issue raised it to 15,000
//! (and 10,000 through `POST /v1/messages` in process). The tables print
//! both ratios as measured here. Then the
//! costs of the phases of one request, measured one at a time, say where the
//! time goes.
//!
//! Run: `cargo bench --ignore-rust-version --bench message_throughput`
//! (`MSGBENCH_SECS` sets the seconds of each timed run, default 4;
//! `MSGBENCH_ONLY=0,2` runs only those modes and skips the ceiling and the
//! phases, for profiling).

// The tests' support module, for its test DNS server; the tests use all of
// it, this binary only a part.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

#[path = "common/cpu_times.rs"]
mod cpu_times;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::StreamExt;
use futures_util::stream;
use hickory_proto::dnssec::crypto::{Ed25519, Rsa, RsaSigningKey};
use hickory_proto::dnssec::{Algorithm as DnssecAlgorithm, PublicKey as _, SigningKey as _};
use hickory_proto::rr::{Name, RecordType};
use http_body_util::BodyExt;
use mail_auth::crypto::{Ed25519Key, HashAlgorithm, RsaKey, Sha256, SigningKey};
use mail_auth::dkim::DkimSigner;
use mail_auth::dns::{DnsCache, NoCache, Parameters, ResolverCache, TxtRecord};
use mail_auth::headers::HeaderWriter;
use mail_auth::{DkimResult as AuthDkimResult, MessageAuthenticator};
use mailvet::dns::bridge::Bridge;
use mailvet::dns::{Dns, Resolver, Settings, UpstreamChoice};
use mailvet::http::{AppState, router};
use mailvet::message::envelope::{self, Envelope};
use mailvet::message::limits::MessageLimits;
use mailvet::message::report::{self, MessageRequest};
use mailvet::message::{Clock, MessageContext, dkim, headers};
use rcgen::PublicKeyData as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use support::TestDns;

/// Messages in the corpus (cycled through during timed runs).
const CORPUS: usize = 500;
/// Signing domains: the first `RSA_DOMAINS` sign with RSA-2048, the rest
/// with Ed25519; message `i` is signed by domain `i % DOMAINS`.
const DOMAINS: usize = 5;
const RSA_DOMAINS: usize = 4;
/// Median body size, and the body size of the ceiling.
const BODY: usize = 15_000;
/// Messages in flight.
const IN_FLIGHT: usize = 64;
/// The speed issue's target through the library (`report::report`),
/// messages/s; through `POST /v1/messages` in process it is 10,000.
const TARGET: f64 = 15_000.0;
const AUTHSERV_ID: &str = "mx.example.net";

/// The allocator the `mailvet` binary links (src/main.rs), so the library
/// is measured as the application runs it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let seconds = std::env::var("MSGBENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(4.0);
    let only: Option<Vec<String>> = std::env::var("MSGBENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|m| m.trim().to_string()).collect());
    let started = Instant::now();
    let senders: Vec<Sender> = (0..DOMAINS).map(Sender::new).collect();
    let corpus = Arc::new(build_corpus(&senders));
    println!(
        "corpus: {} messages ({} RSA-2048, {} Ed25519), {:.1} kB median, {:.1} kB mean; \
         keys generated and corpus signed in {:.1} s",
        corpus.len(),
        corpus.iter().filter(|m| m.rsa).count(),
        corpus.iter().filter(|m| !m.rsa).count(),
        median(corpus.iter().map(|m| m.raw.len() as f64).collect()) / 1000.0,
        corpus.iter().map(|m| m.raw.len()).sum::<usize>() as f64 / corpus.len() as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ceiling = only
        .is_none()
        .then(|| Ceiling::measure(&senders[0], cores, seconds.min(4.0) / 2.0));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(
        senders,
        corpus,
        ceiling,
        cores,
        Duration::from_secs_f64(seconds),
        only,
    ));
    println!("\ntotal: {:.1} s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------
// Keys, zones and the corpus

/// A signing domain with its key, its zone and its mail server's address.
struct Sender {
    domain: String,
    selector: String,
    ip: Ipv4Addr,
    key: SenderKey,
    zone: String,
}

enum SenderKey {
    /// PKCS#8 DER.
    Rsa(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl Sender {
    fn new(n: usize) -> Sender {
        let domain = format!("sender{n}.test");
        let selector = format!("sel{n}");
        let ip = Ipv4Addr::new(192, 0, 2, 10 + n as u8);
        let (key, record) = if n < RSA_DOMAINS {
            let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
            let public = support::base64(&pair.subject_public_key_info());
            (
                SenderKey::Rsa(pair.serialize_der()),
                format!("v=DKIM1; k=rsa; p={public}"),
            )
        } else {
            let pkcs8 = Ed25519Key::generate_pkcs8().expect("Ed25519 key");
            let public = support::base64(
                &Ed25519Key::from_pkcs8_der(&pkcs8)
                    .expect("Ed25519 key")
                    .public_key(),
            );
            (
                SenderKey::Ed25519(pkcs8),
                format!("v=DKIM1; k=ed25519; p={public}"),
            )
        };
        // TXT character-strings are at most 255 octets.
        let strings: Vec<String> = record
            .as_bytes()
            .chunks(200)
            .map(|c| format!("\"{}\"", std::str::from_utf8(c).expect("ASCII")))
            .collect();
        let zone = format!(
            "$ORIGIN {domain}.\n$TTL 3600\n\
             @ IN SOA ns hostmaster 1 3600 600 86400 3600\n\
             @ IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
             _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{domain}\"\n\
             mail IN A {ip}\n\
             mail IN TXT \"v=spf1 a -all\"\n\
             {selector}._domainkey IN TXT ( {} )\n",
            strings.join(" ")
        );
        Sender {
            domain,
            selector,
            ip,
            key,
            zone,
        }
    }

    fn rsa_key(&self) -> RsaKey<Sha256> {
        match &self.key {
            SenderKey::Rsa(der) => RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(
                PrivatePkcs8KeyDer::from(der.as_slice()),
            ))
            .expect("RSA key"),
            SenderKey::Ed25519(_) => panic!("not an RSA sender"),
        }
    }

    fn ed25519_key(&self) -> Ed25519Key {
        match &self.key {
            SenderKey::Ed25519(der) => Ed25519Key::from_pkcs8_der(der).expect("Ed25519 key"),
            SenderKey::Rsa(_) => panic!("not an Ed25519 sender"),
        }
    }
}

fn reverse_zone(senders: &[Sender]) -> String {
    let mut zone = "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 3600\n\
                    @ IN SOA ns.sender0.test. hostmaster.sender0.test. 1 3600 600 86400 3600\n"
        .to_string();
    for s in senders {
        zone.push_str(&format!("{} IN PTR mail.{}.\n", s.ip.octets()[3], s.domain));
    }
    zone
}

/// One message of the corpus, ready for each way in.
struct Message {
    raw: Arc<[u8]>,
    rsa: bool,
    /// For the library.
    request: MessageRequest,
    /// For `POST /v1/messages`.
    uri: String,
}

fn build_corpus(senders: &[Sender]) -> Vec<Message> {
    // The fixtures' signed fields without the list headers, which the
    // generated messages do not carry.
    let headers = &support::SIGNED_HEADERS[..8];
    let rsa: Vec<_> = senders
        .iter()
        .filter(|s| matches!(s.key, SenderKey::Rsa(_)))
        .map(|s| {
            DkimSigner::from_key(s.rsa_key())
                .domain(&s.domain)
                .selector(&s.selector)
                .headers(headers.iter().copied())
        })
        .collect();
    let ed: Vec<_> = senders
        .iter()
        .filter(|s| matches!(s.key, SenderKey::Ed25519(_)))
        .map(|s| {
            DkimSigner::from_key(s.ed25519_key())
                .domain(&s.domain)
                .selector(&s.selector)
                .headers(headers.iter().copied())
        })
        .collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..CORPUS)
        .map(|i| {
            let n = i % DOMAINS;
            let s = &senders[n];
            // 7.5 kB to 30 kB in nine steps, median 15 kB.
            let size = (BODY as f64 * 2f64.powf(((i % 9) as f64 - 4.0) / 4.0)) as usize;
            let message = format!(
                "From: Alice Example <alice@{d}>\r\n\
                 To: Bob Example <bob@example.net>\r\n\
                 Subject: Quarterly report {i}\r\n\
                 Date: Tue, 02 Jun 2026 10:{:02}:00 +0000\r\n\
                 Message-ID: <{i}.{seed:x}@{d}>\r\n\
                 MIME-Version: 1.0\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\
                 \r\n{}",
                i % 60,
                body_text(&mut seed, size),
                d = s.domain
            );
            let signature = if n < RSA_DOMAINS {
                rsa[n].sign(message.as_bytes()).expect("signs")
            } else {
                ed[n - RSA_DOMAINS].sign(message.as_bytes()).expect("signs")
            };
            let raw = format!(
                "Received: from mail.{d} (mail.{d} [{ip}])\r\n\tby {AUTHSERV_ID} with ESMTPS \
                 id {i:08x}; Tue, 02 Jun 2026 10:{:02}:01 +0000\r\n{}{message}",
                i % 60,
                signature.to_header(),
                d = s.domain,
                ip = s.ip,
            );
            let envelope = Envelope {
                ip: Some(IpAddr::V4(s.ip)),
                helo: Some(format!("mail.{}", s.domain)),
                mail_from: Some(format!("bounces+{i}@{}", s.domain)),
            };
            let uri = format!(
                "/v1/messages?ip={}&helo=mail.{d}&mail_from=bounces%2B{i}%40{d}",
                s.ip,
                d = s.domain
            );
            Message {
                raw: raw.as_bytes().into(),
                rsa: n < RSA_DOMAINS,
                request: MessageRequest {
                    raw: raw.into_bytes(),
                    envelope,
                    bulk: None,
                    authserv_id: AUTHSERV_ID.into(),
                    clock: Clock::system(),
                    limits: MessageLimits::default(),
                    blocklists: mailvet::message::blocklists::Blocklists::none(),
                },
                uri,
            }
        })
        .collect()
}

/// Text of about `size` bytes in lines of at most 76, CRLF-terminated.
fn body_text(seed: &mut u64, size: usize) -> String {
    const WORDS: &[&str] = &[
        "the",
        "revenue",
        "of",
        "quarter",
        "grew",
        "by",
        "percent",
        "while",
        "costs",
        "fell",
        "and",
        "our",
        "team",
        "shipped",
        "new",
        "features",
        "to",
        "customers",
        "in",
        "every",
        "region",
        "see",
        "attached",
        "figures",
        "for",
        "details",
        "thanks",
        "regards",
    ];
    let mut out = String::with_capacity(size + 80);
    let mut line = String::new();
    while out.len() + line.len() < size {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let word = WORDS[(*seed % WORDS.len() as u64) as usize];
        if line.len() + word.len() + 1 > 76 {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out
}

// ---------------------------------------------------------------------------
// The crypto ceiling

struct Ceiling {
    cores: usize,
    rsa: Rate,
    ed25519: Rate,
    sha: Rate,
    rsa_and_sha: Rate,
    ed25519_and_sha: Rate,
}

/// Operations per second on one thread, and on every core at once.
#[derive(Clone, Copy)]
struct Rate {
    one: f64,
    all: f64,
}

impl Ceiling {
    fn measure(rsa_sender: &Sender, cores: usize, seconds: f64) -> Ceiling {
        let SenderKey::Rsa(der) = &rsa_sender.key else {
            panic!("sender 0 signs with RSA")
        };
        // A typical relaxed header hash input: the signed headers and the
        // DKIM-Signature header without b=.
        let data: Vec<u8> = (0..600u32).map(|i| b'a' + (i % 26) as u8).collect();
        let rsa_signature = rsa_sender.rsa_key().sign(&data[..]).expect("RSA signs");
        let rsa_public = RsaSigningKey::from_pkcs8(
            &PrivatePkcs8KeyDer::from(der.as_slice()),
            DnssecAlgorithm::RSASHA256,
        )
        .expect("RSA key")
        .to_public_key()
        .expect("public key");
        let rsa_public = rsa_public.public_bytes().to_vec();
        let ed_key =
            Ed25519Key::from_pkcs8_der(&Ed25519Key::generate_pkcs8().expect("Ed25519 key"))
                .expect("Ed25519 key");
        // mail-auth signs the SHA-256 of its input, as RFC 8463 §3 says.
        let ed_signature = ed_key.sign(&data[..]).expect("Ed25519 signs");
        let ed_public = ed_key.public_key();
        let body = body_text(&mut 7, BODY);
        let body = &body.as_bytes()[..BODY];

        let rsa_verify = || {
            let key = Rsa::from_public_bytes(&rsa_public, DnssecAlgorithm::RSASHA256).expect("key");
            key.verify(&data, &rsa_signature).expect("RSA verifies");
        };
        let ed_verify = || {
            let key = Ed25519::from_public_bytes(ed_public.as_slice().into()).expect("key");
            let digest = HashAlgorithm::Sha256.hash(&data[..]);
            key.verify(digest.as_ref(), &ed_signature)
                .expect("Ed25519 verifies");
        };
        let sha = || {
            std::hint::black_box(HashAlgorithm::Sha256.hash(std::hint::black_box(body)));
        };
        let time = Duration::from_secs_f64(seconds / 2.0);
        Ceiling {
            cores,
            rsa: Rate::measure(cores, time, rsa_verify),
            ed25519: Rate::measure(cores, time, ed_verify),
            sha: Rate::measure(cores, time, sha),
            rsa_and_sha: Rate::measure(cores, time, || {
                rsa_verify();
                sha();
            }),
            ed25519_and_sha: Rate::measure(cores, time, || {
                ed_verify();
                sha();
            }),
        }
    }

    /// Messages/s the crypto allows for the corpus mix.
    fn for_mix(&self, rsa_share: f64) -> f64 {
        1.0 / (rsa_share / self.rsa_and_sha.all + (1.0 - rsa_share) / self.ed25519_and_sha.all)
    }

    fn print(&self, rsa_share: f64) {
        println!(
            "\ncrypto ceiling (aws-lc-rs; one thread, then all {} cores at once)",
            self.cores
        );
        println!(
            "{:<50} {:>12} {:>12}",
            "operation", "1 thread/s", "all cores/s"
        );
        let row = |name: &str, r: Rate| println!("{name:<50} {:>12.0} {:>12.0}", r.one, r.all);
        row("RSA-2048 verify (PKCS#1 v1.5, SHA-256)", self.rsa);
        row("Ed25519 verify (of a SHA-256)", self.ed25519);
        row(&format!("SHA-256 of {BODY} bytes"), self.sha);
        row(
            &format!("RSA-2048 verify + SHA-256 of {BODY} B  (ceiling)"),
            self.rsa_and_sha,
        );
        row(
            &format!("Ed25519 verify + SHA-256 of {BODY} B"),
            self.ed25519_and_sha,
        );
        println!(
            "{:<50} {:>12} {:>12.0}",
            format!(
                "corpus mix ({:.0}% RSA) ceiling",
                (rsa_share * 100.0).round()
            ),
            "",
            self.for_mix(rsa_share)
        );
        println!(
            "target {TARGET:.0} msgs/s = {:.0}% of the RSA ceiling ({:.0} msgs/s)",
            100.0 * TARGET / self.rsa_and_sha.all,
            self.rsa_and_sha.all
        );
    }
}

impl Rate {
    fn measure(cores: usize, time: Duration, op: impl Fn() + Sync) -> Rate {
        let run = |threads: usize| -> f64 {
            let counts: Vec<(u64, Duration)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        s.spawn(|| {
                            for _ in 0..8 {
                                op(); // warm-up
                            }
                            let start = Instant::now();
                            let mut n = 0u64;
                            while start.elapsed() < time {
                                for _ in 0..8 {
                                    op();
                                }
                                n += 8;
                            }
                            (n, start.elapsed())
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("thread"))
                    .collect()
            });
            counts
                .iter()
                .map(|(n, d)| *n as f64 / d.as_secs_f64())
                .sum()
        };
        Rate {
            one: run(1),
            all: run(cores),
        }
    }
}

// ---------------------------------------------------------------------------
// Timed runs

struct Outcome {
    mode: &'static str,
    what: &'static str,
    messages: usize,
    failures: usize,
    seconds: f64,
    cpu_user: f64,
    cpu_sys: f64,
    upstream_queries: usize,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

/// Runs `verify(i)` for message indices, each a task, `IN_FLIGHT` at once:
/// the whole corpus once (every verdict must be right; this also warms the
/// DNS), then cycling through it until `time` has passed.
async fn timed<F, Fut>(
    mode: &'static str,
    what: &'static str,
    server: &TestDns,
    corpus_len: usize,
    time: Duration,
    verify: F,
) -> Outcome
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let verify = Arc::new(verify);
    let (_, wrong) = drive(0..corpus_len, Arc::clone(&verify)).await;
    assert_eq!(wrong, 0, "mode {mode}: {wrong} messages did not verify");

    let asked_before = server.queries().len();
    let (user0, sys0) = cpu_times::cpu_times();
    let start = Instant::now();
    let deadline = start + time;
    let indices = (0..)
        .map(move |i| i % corpus_len)
        .take_while(move |_| Instant::now() < deadline);
    let (messages, failures) = drive(indices, verify).await;
    let seconds = start.elapsed().as_secs_f64();
    let (user1, sys1) = cpu_times::cpu_times();
    let outcome = Outcome {
        mode,
        what,
        messages,
        failures,
        seconds,
        cpu_user: user1 - user0,
        cpu_sys: sys1 - sys0,
        upstream_queries: server.queries().len() - asked_before,
    };
    eprintln!(
        "  mode {mode}: {:.0} msgs/s ({} in {:.2} s)",
        outcome.rate(),
        messages,
        seconds
    );
    outcome
}

/// Verifies the messages at `indices`, `IN_FLIGHT` at once, each a task:
/// how many were verified and how many of them failed. Driven by a task
/// on a worker thread, as a server's connections and the CLI's batch are:
/// driven from the thread blocked on the runtime, every finished message
/// would wake that thread through a futex.
async fn drive<F, Fut>(
    indices: impl Iterator<Item = usize> + Send + 'static,
    verify: Arc<F>,
) -> (usize, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    tokio::spawn(async move {
        let mut results = stream::iter(indices)
            .map(move |i| tokio::spawn(verify(i)))
            .buffer_unordered(IN_FLIGHT);
        let (mut messages, mut failures) = (0, 0);
        while let Some(verified) = results.next().await {
            messages += 1;
            if !verified.expect("task") {
                failures += 1;
            }
        }
        (messages, failures)
    })
    .await
    .expect("the bench's driving task")
}

/// mail-auth's TXT cache, filled by its own lookups; no other record type
/// is cached.
#[derive(Default)]
struct KeyCache {
    txt: MapCache,
}

#[derive(Default)]
struct MapCache(RwLock<HashMap<Box<str>, TxtRecord>>);

impl ResolverCache<Box<str>, TxtRecord> for MapCache {
    fn get<Q>(&self, name: &Q) -> Option<TxtRecord>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.read().expect("lock").get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<TxtRecord>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.write().expect("lock").remove(name)
    }

    fn insert(&self, key: Box<str>, value: TxtRecord, _: std::time::Instant) {
        self.0.write().expect("lock").insert(key, value);
    }
}

impl DnsCache for KeyCache {
    type Txt = MapCache;
    type Mx = NoCache;
    type Ipv4 = NoCache;
    type Ipv6 = NoCache;
    type Ptr = NoCache;

    fn txt(&self) -> Option<&MapCache> {
        Some(&self.txt)
    }

    fn mx(&self) -> Option<&NoCache> {
        None
    }

    fn ipv4(&self) -> Option<&NoCache> {
        None
    }

    fn ipv6(&self) -> Option<&NoCache> {
        None
    }

    fn ptr(&self) -> Option<&NoCache> {
        None
    }
}

/// A resolver, a loopback bridge answering from it, and a mail-auth
/// authenticator that asks the bridge: what `report::report` sets up for
/// every message.
struct Session {
    resolver: Resolver,
    authenticator: MessageAuthenticator,
    _bridge: Bridge,
}

impl Session {
    async fn start(dns: &Arc<Dns>) -> Session {
        let resolver = dns.resolver();
        let bridge = Bridge::start(resolver.clone()).await.expect("bridge");
        let authenticator = bridge.authenticator(dns.deadline()).expect("authenticator");
        Session {
            resolver,
            authenticator,
            _bridge: bridge,
        }
    }

    fn context<'a>(&'a self, raw: &'a [u8]) -> MessageContext<'a> {
        MessageContext {
            resolver: &self.resolver,
            answered: mailvet::dns::answered::Answered::default(),
            authenticator: &self.authenticator,
            raw,
            clock: Clock::system(),
        }
    }
}

fn dkim_passed(section: &dkim::DkimSection) -> bool {
    !section.signatures.is_empty() && section.signatures.iter().all(|s| s.passed())
}

fn report_passed(r: &report::MessageReport) -> bool {
    dkim_passed(&r.dkim)
        && r.spf.result == "pass"
        && r.dmarc.result.as_str() == "pass"
        && r.iprev.as_ref().is_some_and(|i| i.result == "pass")
}

fn settings(server: &TestDns, deadline: Duration) -> Settings {
    Settings {
        upstream: UpstreamChoice::Servers(vec![server.addr]),
        query_timeout: Duration::from_secs(2),
        attempts: 1,
        deadline,
        cache_capacity: 10_000,
        max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
    }
}

async fn run(
    senders: Vec<Sender>,
    corpus: Arc<Vec<Message>>,
    ceiling: Option<Ceiling>,
    cores: usize,
    time: Duration,
    only: Option<Vec<String>>,
) {
    let mut zones: Vec<String> = senders.iter().map(|s| s.zone.clone()).collect();
    zones.push(reverse_zone(&senders));
    let zone_refs: Vec<&str> = zones.iter().map(String::as_str).collect();
    let server = TestDns::start_with_texts(&zone_refs).await;
    // What `mailvet serve` builds: one layer with a shared cache, the
    // default 10 s DNS deadline per request.
    let dns =
        Dns::new(settings(&server, Duration::from_secs(10)), Vec::new()).expect("resolver layer");
    let n = corpus.len();
    let wanted = |mode: &str| only.as_ref().is_none_or(|o| o.iter().any(|m| m == mode));
    let mut outcomes = Vec::new();

    if wanted("0") {
        let session = Arc::new(Session::start(&dns).await);
        let cache = Arc::new(KeyCache::default());
        let corpus = Arc::clone(&corpus);
        outcomes.push(
            timed(
                "0",
                "mail-auth verify_dkim, keys cached in-process",
                &server,
                n,
                time,
                move |i| {
                    let (session, cache, corpus) = (
                        Arc::clone(&session),
                        Arc::clone(&cache),
                        Arc::clone(&corpus),
                    );
                    async move {
                        let wire = dkim::wire_form(&corpus[i].raw);
                        let Some(message) = dkim::parse(&wire) else {
                            return false;
                        };
                        let outputs = session
                            .authenticator
                            .verify_dkim(Parameters::new(&message).with_cache(&*cache))
                            .await;
                        !outputs.is_empty()
                            && outputs.iter().all(|o| *o.result() == AuthDkimResult::Pass)
                    }
                },
            )
            .await,
        );
    }

    if wanted("1a") {
        let (dns, corpus) = (Arc::clone(&dns), Arc::clone(&corpus));
        outcomes.push(
            timed(
                "1a",
                "dkim::verify, per-message resolver + bridge",
                &server,
                n,
                time,
                move |i| {
                    let (dns, corpus) = (Arc::clone(&dns), Arc::clone(&corpus));
                    async move {
                        let session = Session::start(&dns).await;
                        let checked = dkim::verify(&session.context(&corpus[i].raw)).await;
                        dkim_passed(&checked.section)
                    }
                },
            )
            .await,
        );
    }

    if wanted("1b") {
        // Long-lived sessions: a deadline that outlasts the run.
        let dns = Dns::new(settings(&server, Duration::from_secs(3600)), Vec::new())
            .expect("resolver layer");
        let mut sessions = Vec::with_capacity(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            sessions.push(Session::start(&dns).await);
        }
        let (sessions, corpus) = (Arc::new(sessions), Arc::clone(&corpus));
        outcomes.push(
            timed(
                "1b",
                "dkim::verify, 64 long-lived resolvers + bridges",
                &server,
                n,
                time,
                move |i| {
                    let (sessions, corpus) = (Arc::clone(&sessions), Arc::clone(&corpus));
                    async move {
                        let session = &sessions[i % IN_FLIGHT];
                        let checked = dkim::verify(&session.context(&corpus[i].raw)).await;
                        dkim_passed(&checked.section)
                    }
                },
            )
            .await,
        );
    }

    if wanted("2") {
        let (dns, corpus) = (Arc::clone(&dns), Arc::clone(&corpus));
        outcomes.push(
            timed(
                "2",
                "full report, report::report",
                &server,
                n,
                time,
                move |i| {
                    let (dns, corpus) = (Arc::clone(&dns), Arc::clone(&corpus));
                    async move {
                        match report::report(&dns, &corpus[i].request, false).await {
                            Ok(r) => report_passed(&r),
                            Err(_) => false,
                        }
                    }
                },
            )
            .await,
        );
    }

    if wanted("3") {
        let state = AppState {
            authserv_id: AUTHSERV_ID.into(),
            ..AppState::new(Arc::clone(&dns), scratch_store().await)
        };
        let app = router(state);
        // Every verdict checked once in the response JSON.
        for m in corpus.iter() {
            let (status, body) = post(&app, m).await;
            let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(status, StatusCode::OK, "{json}");
            assert!(
                json["dkim"][0]["result"] == "pass"
                    && json["spf"]["result"] == "pass"
                    && json["dmarc"]["result"] == "pass"
                    && json["iprev"]["result"] == "pass",
                "{json}"
            );
        }
        let corpus = Arc::clone(&corpus);
        outcomes.push(
            timed(
                "3",
                "full report, POST /v1/messages (router)",
                &server,
                n,
                time,
                move |i| {
                    let (app, corpus) = (app.clone(), Arc::clone(&corpus));
                    async move {
                        let (status, body) = post(&app, &corpus[i]).await;
                        status == StatusCode::OK && !body.is_empty()
                    }
                },
            )
            .await,
        );
    }

    let rsa_share = corpus.iter().filter(|m| m.rsa).count() as f64 / n as f64;
    if let Some(c) = &ceiling {
        c.print(rsa_share);
    }
    println!(
        "\nthroughput, {} messages in flight, warm DNS, {} cores, {:.0} s per mode",
        IN_FLIGHT,
        cores,
        time.as_secs_f64()
    );
    println!(
        "{:<3} {:<48} {:>7} {:>6} {:>8} {:>10} {:>9} {:>8} {:>8}",
        "", "path", "msgs", "fail", "msgs/s", "CPU µs/msg", "sys share", "target", "ceiling"
    );
    for o in &outcomes {
        let cpu = o.cpu_user + o.cpu_sys;
        let ratio = ceiling.as_ref().map_or("-".to_string(), |c| {
            format!("{:.1}%", 100.0 * o.rate() / c.rsa_and_sha.all)
        });
        println!(
            "{:<3} {:<48} {:>7} {:>6} {:>8.0} {:>10.0} {:>8.0}% {:>7.1}% {:>8}",
            o.mode,
            o.what,
            o.messages,
            o.failures,
            o.rate(),
            1e6 * cpu / o.messages as f64,
            if cpu > 0.0 {
                100.0 * o.cpu_sys / cpu
            } else {
                0.0
            },
            100.0 * o.rate() / TARGET,
            ratio
        );
        assert_eq!(
            o.upstream_queries, 0,
            "mode {}: DNS was not warm ({} queries reached the server)",
            o.mode, o.upstream_queries
        );
    }
    if let Some(c) = &ceiling {
        println!(
            "(target: {TARGET:.0} msgs/s through the library; ceiling: RSA-2048 verify + SHA-256 \
             of {BODY} B on all cores = {:.0} msgs/s; corpus-mix ceiling {:.0} msgs/s; \
             no timed run sent a query to the DNS server)",
            c.rsa_and_sha.all,
            c.for_mix(rsa_share)
        );
        if let Some(library) = outcomes.iter().find(|o| o.mode == "2") {
            println!(
                "full report through the library: {:.0} msgs/s = {:.1}% of the target, \
                 {:.2}% of the ceiling (1/{:.0})",
                library.rate(),
                100.0 * library.rate() / TARGET,
                100.0 * library.rate() / c.rsa_and_sha.all,
                c.rsa_and_sha.all / library.rate()
            );
        }
    }
    if only.is_none() {
        phases(&server, &senders, &corpus).await;
    }
}

async fn post(app: &axum::Router, m: &Message) -> (StatusCode, axum::body::Bytes) {
    use tower::ServiceExt;
    let request = Request::post(m.uri.as_str())
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(Body::from(axum::body::Bytes::copy_from_slice(&m.raw)))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, body)
}

// ---------------------------------------------------------------------------
// Where the time goes: the phases of one request, one at a time

/// Mean microseconds of `op` over `rounds` calls, one at a time.
async fn mean_us<F, Fut, T>(rounds: usize, mut op: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T>,
{
    for i in 0..rounds.min(20) {
        std::hint::black_box(op(i).await);
    }
    let start = Instant::now();
    for i in 0..rounds {
        std::hint::black_box(op(i).await);
    }
    start.elapsed().as_secs_f64() * 1e6 / rounds as f64
}

async fn phases(server: &TestDns, senders: &[Sender], corpus: &[Message]) {
    let dns =
        Dns::new(settings(server, Duration::from_secs(3600)), Vec::new()).expect("resolver layer");
    let n = corpus.len();
    let mut rows: Vec<(String, f64)> = Vec::new();

    // Warm the shared cache of this layer, and count the questions of one
    // full report.
    let mut questions = 0;
    for m in corpus {
        let r = report::report(&dns, &m.request, false)
            .await
            .expect("report");
        assert!(report_passed(&r));
        questions += r.dns.queries;
    }
    let questions = questions as f64 / n as f64;

    rows.push((
        "full report::report, one message at a time".into(),
        mean_us(300, |i| {
            let dns = &dns;
            async move { report::report(dns, &corpus[i % n].request, false).await }
        })
        .await,
    ));
    rows.push((
        "dkim::verify with a fresh resolver + bridge".into(),
        mean_us(300, |i| {
            let dns = &dns;
            async move {
                let session = Session::start(dns).await;
                dkim::verify(&session.context(&corpus[i % n].raw))
                    .await
                    .section
            }
        })
        .await,
    ));
    rows.push((
        "  Bridge::start + drop (2 sockets, 2 tasks)".into(),
        mean_us(300, |_| {
            let dns = &dns;
            async move { Bridge::start(dns.resolver()).await.is_ok() }
        })
        .await,
    ));
    let bridge = Bridge::start(dns.resolver()).await.expect("bridge");
    rows.push((
        "  Bridge::authenticator (mail-auth MessageAuthenticator::new)".into(),
        mean_us(300, |_| {
            let (bridge, wait) = (&bridge, dns.deadline());
            async move { bridge.authenticator(wait).is_ok() }
        })
        .await,
    ));
    let session = Session::start(&dns).await;
    let key_name = format!("{}._domainkey.{}.", senders[0].selector, senders[0].domain);
    rows.push((
        "  one mail-auth TXT lookup through the bridge".into(),
        mean_us(1000, |_| {
            let (session, key_name) = (&session, key_name.as_str());
            async move {
                session
                    .authenticator
                    .txt_raw_lookup(key_name)
                    .await
                    .expect("key")
                    .len()
            }
        })
        .await,
    ));
    let name = Name::from_ascii(&key_name).expect("name");
    rows.push((
        "  one shared-cache lookup, fresh resolver".into(),
        mean_us(5000, |_| {
            let (dns, name) = (&dns, &name);
            async move {
                dns.resolver()
                    .lookup(name, RecordType::TXT)
                    .await
                    .map(|a| a.records.len())
            }
        })
        .await,
    ));
    rows.push((
        "  mail-auth parse (wire_form + AuthenticatedMessage)".into(),
        mean_us(n, |i| async move {
            let wire = dkim::wire_form(&corpus[i].raw);
            dkim::parse(&wire).map(|m| m.raw_body().len())
        })
        .await,
    ));
    rows.push((
        "  mailvet headers::check + envelope::infer (one mail-parser parse)".into(),
        mean_us(n, |i| async move {
            let m = &corpus[i];
            let parsed = headers::parse(&m.raw);
            let fields = headers::fields(&parsed);
            let checked = headers::check_fields(&fields, None);
            let inferred = envelope::infer(&fields, m.request.envelope.clone());
            (checked.findings.len(), inferred.findings.len())
        })
        .await,
    ));
    let cache = KeyCache::default();
    rows.push((
        "  mail-auth verify_dkim, keys cached (no DNS)".into(),
        mean_us(n, |i| {
            let (session, cache) = (&session, &cache);
            async move {
                let wire = dkim::wire_form(&corpus[i].raw);
                let message = dkim::parse(&wire).expect("parses");
                session
                    .authenticator
                    .verify_dkim(Parameters::new(&message).with_cache(cache))
                    .await
                    .len()
            }
        })
        .await,
    ));
    let sample = report::report(&dns, &corpus[0].request, false)
        .await
        .expect("report");
    rows.push((
        "  serde_json::to_vec of the report".into(),
        mean_us(2000, |_| {
            let sample = &sample;
            async move { serde_json::to_vec(sample).expect("JSON").len() }
        })
        .await,
    ));

    println!(
        "\nwhere the time goes: one request at a time, mean µs (questions per report: \
         {questions:.1})"
    );
    for (name, us) in rows {
        println!("{name:<62} {us:>9.1}");
    }
    let traced = report::report(&dns, &corpus[0].request, true)
        .await
        .expect("report");
    let questions: Vec<String> = traced
        .dns
        .trace
        .unwrap_or_default()
        .iter()
        .map(|t| format!("{} {}", t.name.trim_end_matches('.'), t.rtype))
        .collect();
    println!(
        "questions of one report, in order (a question asked twice was asked by mail-auth \
         through the bridge and by mailvet):\n  {}",
        questions.join(", ")
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A SQLite store for the service under test (this bench saves nothing),
/// in cargo's scratch directory for benches.
async fn scratch_store() -> mailvet::store::Store {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-store");
    mailvet::store::Store::open(&mailvet::store::Store::default_url(&dir))
        .await
        .expect("a scratch store")
}
