//! Hostile input against the real binary, with the bounds it must keep.
//!
//! Each case starts `mailvet serve` — the binary cargo built for these
//! tests, or the one `MAILVET_HOSTILE_BIN` names (say, a release build) —
//! on a free port of 127.0.0.1, asking only the test DNS server of
//! `support` (serving the case's zones). It then sends what an
//! attacker would and checks the bounded, documented answer. While the case
//! runs, a watcher on its own thread asks `/healthz` over a new connection
//! every [`PROBE_EVERY`] and records the slowest answer, which must come
//! within [`HEALTHZ_BOUND`]; after the case, the server's peak resident
//! memory (`VmHWM` in `/proc/PID/status`) must stay under [`RSS_BOUND_KIB`],
//! the pod's memory limit in docs/deploy.md. Every case prints what it
//! measured (`cargo test --ignore-rust-version --test it hostile:: --
//! --nocapture` shows it).
//!
//! Cases run one at a time (each waits for the one before), so the
//! timings and the memory are each case's own.
//!
//! # Adding a case
//!
//! One test function: build a [`Case`] (its zones, the flags of
//! `mailvet serve`) and run an async block against the [`Server`] it gets.
//! The block sends the hostile requests and asserts what they are
//! answered; the harness adds the `/healthz` and memory bounds.
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn a_wide_spf_tree_is_cut_at_its_node_cap() {
//!     Case::new("SPF include diamond")
//!         .zone_text(&diamond_zone(10, 6))
//!         .flags(&["--rate-limit", "0"])
//!         .run(|server| async move {
//!             let response = server.get("/v1/domains/diamond.test").await;
//!             assert_eq!(response.status(), 200);
//!             // ... the finding that names the cap, the response size ...
//!         })
//!         .await;
//! }
//! ```
//!
//! [`Server`] gives the address, reqwest helpers (`get`, `post`), raw
//! sockets for clients that stop sending ([`Server::raw`]), the problem
//! check ([`problem`]), the test DNS server (`server.dns`: faults, query
//! log) and the peak memory so far ([`Server::peak_rss_kib`]).

use crate::support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::TestDns;
use support::raw::{self, Sent};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The slowest `/healthz` answer allowed while a case runs: the liveness
/// probe's `timeoutSeconds` in docs/deploy.md, past which an orchestrator
/// counts a failure. Issue 17 asks for one second, which every case keeps
/// on an idle machine (each prints its slowest answer); the assertion
/// holds the deployment's bound, as a shared 2-core CI machine can delay
/// a probe's scheduling alone by hundreds of milliseconds. A server whose
/// work holds its runtime keeps the probe waiting for that work, seconds
/// in each case here, and still fails it.
const HEALTHZ_BOUND: Duration = Duration::from_secs(2);

/// The peak resident memory allowed: the pod limit of docs/deploy.md
/// (`limits: { memory: 256Mi }`), in KiB as `/proc` gives it.
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// How often the watcher asks `/healthz`.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// How long one `/healthz` probe may take before it counts as this long.
const PROBE_GIVE_UP: Duration = Duration::from_secs(10);

/// One case at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A hostile case: the zones the test DNS server serves and the flags
/// `mailvet serve` is started with (besides `--listen`, `--dns` and
/// `--log-format json`, which the harness sets).
pub struct Case {
    name: &'static str,
    zones: Vec<String>,
    flags: Vec<String>,
}

impl Case {
    /// A case serving `fixtures/zones/some.test.zone`, with the server's
    /// default flags.
    pub fn new(name: &'static str) -> Case {
        Case {
            name,
            zones: Vec::new(),
            flags: Vec::new(),
        }
        .zone_file("fixtures/zones/some.test.zone")
    }

    /// Serves this zone file too.
    pub fn zone_file(mut self, path: &str) -> Case {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        self.zones.push(text);
        self
    }

    /// Serves this zone (BIND syntax, with its `$ORIGIN`) too.
    pub fn zone_text(mut self, text: &str) -> Case {
        self.zones.push(text.to_string());
        self
    }

    /// Starts the server with these flags (and values) as well.
    pub fn flags(mut self, flags: &[&str]) -> Case {
        self.flags.extend(flags.iter().map(|f| f.to_string()));
        self
    }

    /// Runs `body` against a fresh server, then checks the bounds and
    /// prints the figures.
    pub async fn run<F, Fut>(self, body: F)
    where
        F: FnOnce(Arc<Server>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let _turn = ONE_AT_A_TIME.lock().await;
        let texts: Vec<&str> = self.zones.iter().map(String::as_str).collect();
        let dns = TestDns::start_with_texts(&texts).await;
        let server = Arc::new(Server::start(dns, &self.flags).await);
        let watcher = Watcher::start(server.addr);
        body(Arc::clone(&server)).await;
        let (slowest_healthz, probes) = watcher.stop();
        let peak_rss_kib = server.peak_rss_kib();
        eprintln!(
            "hostile case `{}`: slowest /healthz {} ms over {probes} probes, peak RSS {:.1} MiB",
            self.name,
            slowest_healthz.as_millis(),
            peak_rss_kib as f64 / 1024.0
        );
        assert!(probes > 0, "{}: /healthz was never asked", self.name);
        assert!(
            slowest_healthz < HEALTHZ_BOUND,
            "{}: /healthz took {slowest_healthz:?} while the case ran",
            self.name
        );
        assert!(
            peak_rss_kib < RSS_BOUND_KIB,
            "{}: peak RSS {peak_rss_kib} KiB is over {RSS_BOUND_KIB} KiB",
            self.name
        );
    }
}

/// A running `mailvet serve`, the test DNS server it asks, and a client.
pub struct Server {
    pub addr: SocketAddr,
    pub dns: TestDns,
    /// The log events (JSON) written before the server listened.
    pub startup: Vec<Value>,
    pid: u32,
    client: reqwest::Client,
    /// Killed when the server is dropped.
    _child: Child,
}

impl Server {
    pub async fn start(dns: TestDns, flags: &[String]) -> Server {
        let binary = std::env::var("MAILVET_HOSTILE_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mailvet").to_string());
        // A database of its own, never the user's data directory.
        let database = crate::support::store::scratch_url();
        let mut child = Command::new(&binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--dns", &dns.dns_arg()])
            .args(["--database", &database])
            .args(flags)
            .env("MAILVET_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let pid = child.id().expect("a running child");
        let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut startup = Vec::new();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = log.next_line().await.expect("read the log") {
                let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if event["message"] == "mailvet listening" {
                    return event["address"]
                        .as_str()
                        .and_then(|a| a.parse().ok())
                        .expect("the address listened on");
                }
                startup.push(event);
            }
            panic!("mailvet serve exited before listening");
        })
        .await
        .expect("mailvet serve listens within 30 s");
        // Keep reading the log so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
        Server {
            addr,
            dns,
            startup,
            pid,
            client: reqwest::Client::new(),
            _child: child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// A request sent over a raw socket up to `body_start`; see
    /// [`raw::Sent`].
    pub async fn raw(&self, head: &str, body_start: &[u8]) -> Sent {
        Sent::start(self.addr, head, body_start).await
    }

    /// The peak resident set size so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = format!("/proc/{}/status", self.pid);
        std::fs::read_to_string(&status)
            .unwrap_or_else(|e| panic!("{status}: {e}"))
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in {status}"))
    }
}

/// Checks a problem answer: status, content type, type; gives the body.
pub async fn problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
    let body: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["type"], format!("/problems/{kind}"), "{body}");
    assert_eq!(body["status"], status);
    body
}

/// Asks `/healthz` on its own thread and runtime, so the case's own work
/// in the test process does not delay the probes. One probe is answered
/// before the case starts and one is sent after it ends, so even a short
/// case is watched.
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(Duration, usize)>,
}

impl Watcher {
    fn start(addr: SocketAddr) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let (first, first_done) = std::sync::mpsc::channel();
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("watcher runtime");
                runtime.block_on(watch(addr, &stop, first))
            }
        });
        first_done.recv().expect("the first probe");
        Watcher { stop, thread }
    }

    /// The slowest answer and the number of probes.
    fn stop(self) -> (Duration, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the watcher")
    }
}

async fn watch(
    addr: SocketAddr,
    stop: &AtomicBool,
    first: std::sync::mpsc::Sender<()>,
) -> (Duration, usize) {
    // A new connection per probe, as an orchestrator's probe makes.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let url = format!("http://{addr}/healthz");
    let (mut slowest, mut probes) = (Duration::ZERO, 0);
    loop {
        // Read before the probe: the probe after the stop is the last.
        let stopping = stop.load(Ordering::Relaxed);
        let started = Instant::now();
        let answered = tokio::time::timeout(PROBE_GIVE_UP, async {
            let response = client.get(&url).send().await.ok()?;
            (response.status() == StatusCode::OK).then_some(())?;
            response.bytes().await.ok()
        })
        .await;
        let took = match answered {
            Ok(Some(_)) => started.elapsed(),
            // No answer, or not a healthy one: as bad as the longest wait.
            _ => PROBE_GIVE_UP,
        };
        slowest = slowest.max(took);
        probes += 1;
        if probes == 1 {
            let _ = first.send(());
        }
        if stopping {
            return (slowest, probes);
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

// ---------------------------------------------------------------------------
// Issue 17, case 6: slow and huge bodies
// ---------------------------------------------------------------------------

fn message(size: usize) -> Vec<u8> {
    let mut raw = b"From: News <news@some.test>\r\nTo: a@example.test\r\nSubject: hostile\r\n\
Date: Mon, 1 Jun 2026 10:00:00 +0000\r\nMessage-ID: <h@some.test>\r\n\r\n"
        .to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    while raw.len() + line.len() <= size {
        raw.extend_from_slice(line);
    }
    raw.resize(size, b'.');
    raw
}

/// The head of a `POST /v1/messages` announcing `length` bytes of body.
fn upload_head(length: u64) -> String {
    raw::head(
        "POST",
        "/v1/messages",
        "message/rfc822",
        &format!("Content-Length: {length}\r\n"),
    )
}

/// 64 uploads that stop after their first bytes (within the default rate
/// of 120 a minute) hold no concurrency slot: every other request is
/// served while they wait, and each is answered 408 once the body read
/// timeout has passed. The timeout is long enough (6 s; the others take
/// well under a second on an idle machine) that a loaded one still
/// serves the others before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_slow_uploads_lock_nobody_out() {
    const BODY_READ_TIMEOUT: Duration = Duration::from_secs(6);
    Case::new("64 slow POSTs")
        .flags(&["--body-read-timeout", "6s"])
        .run(|server| async move {
            let head = upload_head(100_000);
            let mut slow = Vec::new();
            for _ in 0..64 {
                slow.push(server.raw(&head, b"From: a@some.test\r\n").await);
            }
            let started = Instant::now();
            for _ in 0..3 {
                assert_eq!(server.get("/v1/findings").await.status(), 200);
                let spf = json!({"ip": "192.0.2.1", "mail_from": "a@some.test"});
                let spf = server
                    .post("/v1/spf", "application/json", spf.to_string())
                    .await;
                assert_eq!(spf.status(), 200);
                assert_eq!(server.get("/v1/domains/some.test").await.status(), 200);
            }
            // The others were served while all 64 still waited.
            assert!(started.elapsed() < BODY_READ_TIMEOUT);
            for upload in slow {
                let answer = upload.answer().await;
                assert_eq!(answer.status, 408);
                assert_eq!(answer.json()["type"], "/problems/body-timeout");
            }
            // Answered once the timeout passed, not held on: the 64 408s
            // within a few seconds of it.
            assert!(started.elapsed() < BODY_READ_TIMEOUT + Duration::from_secs(4));
        })
        .await;
}

/// The key form's POST is read within the body read timeout too: a body
/// that never comes is answered 408, where it held its connection open
/// for as long as the client liked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_body_that_never_comes_is_408() {
    Case::new("slow login")
        .flags(&["--body-read-timeout", "2s"])
        .run(|server| async move {
            let head = raw::head(
                "POST",
                "/login",
                "application/x-www-form-urlencoded",
                "Content-Length: 1000\r\n",
            );
            let started = Instant::now();
            let answer = server.raw(&head, b"key=").await.answer().await;
            assert_eq!(answer.status, 408);
            assert!(started.elapsed() < Duration::from_secs(10));
        })
        .await;
}

/// A terabyte announced is refused at once, before the body is read: the
/// answer comes though not a byte of the body was sent, and the server
/// then closes the connection. A server that waited for the body would
/// answer only at the body read timeout (30 s by default), so a bound of
/// a few seconds tells the two apart on a loaded machine too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terabyte_content_length_is_refused_unread() {
    Case::new("1 TB Content-Length")
        .run(|server| async move {
            let head = upload_head(1_000_000_000_000);
            let started = Instant::now();
            let answer = server.raw(&head, b"").await.answer().await;
            let elapsed = started.elapsed();
            assert_eq!(answer.status, 413);
            assert_eq!(answer.header("connection"), "close");
            let body = answer.json();
            assert_eq!(body["type"], "/problems/body-too-large");
            assert!(body["detail"].as_str().unwrap().contains("26214400"));
            assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        })
        .await;
}

/// A body trickling in (1 KiB every 500 ms for 3.5 s, then nothing) is
/// answered 408 when the body read timeout (4 s) passes, counted from the
/// head: a timeout that each trickled KiB put off would answer 4 s after
/// the last one, at 7.5 s, and one never enforced not at all. Between
/// the two lies room for a loaded machine's delays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_is_408_at_the_timeout() {
    Case::new("slow body")
        .flags(&["--body-read-timeout", "4s"])
        .run(|server| async move {
            let head = upload_head(100_000);
            let started = Instant::now();
            let mut upload = server.raw(&head, &message(1024)).await;
            for _ in 0..7 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                // A late machine may find the server already answered.
                if upload.send(&[b'x'; 1024]).await.is_err() {
                    break;
                }
            }
            let answer = upload.answer().await;
            let elapsed = started.elapsed();
            assert_eq!(answer.status, 408);
            assert_eq!(answer.header("connection"), "close");
            assert_eq!(answer.json()["type"], "/problems/body-timeout");
            assert!(
                elapsed >= Duration::from_secs(4) && elapsed < Duration::from_secs(6),
                "{elapsed:?}"
            );
        })
        .await;
}

/// What the router refuses before any handler runs is a problem too; only
/// what hyper cannot parse is a bare status (documented in openapi.yaml).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_is_not_utf8_is_a_problem() {
    Case::new("invalid UTF-8 path")
        .run(|server| async move {
            for path in ["/v1/domains/%FF.test", "/v1/domains/%C3%28.test"] {
                let body = problem(server.get(path).await, 400, "invalid-request").await;
                assert!(body["detail"].as_str().unwrap().contains("UTF-8"), "{body}");
            }
            let wrong_method = server.post("/v1/findings", "application/json", "{}").await;
            problem(wrong_method, 405, "method-not-allowed").await;
            problem(server.get("/v1/nothing/%FF").await, 404, "not-found").await;
            let big = format!("X-Big: {}\r\n", "a".repeat(70 * 1024));
            let answer = server
                .raw(&raw::head("GET", "/healthz", "text/plain", &big), b"")
                .await
                .answer()
                .await;
            assert_eq!(answer.status, 431);
            assert!(answer.body.is_empty());
        })
        .await;
}

/// A report over `--max-response-size` is a problem naming the limit, not
/// megabytes on the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_report_is_a_problem() {
    Case::new("oversized response")
        .flags(&["--max-response-size", "100000", "--rate-limit", "0"])
        .run(|server| async move {
            // Fifty distinct names (a name given again is answered once).
            let domains: Vec<String> = (0..50).map(|i| format!("n{i}.some.test")).collect();
            let batch = json!({ "domains": domains });
            let response = server
                .post(
                    "/v1/domains?trace=true",
                    "application/json",
                    batch.to_string(),
                )
                .await;
            let body = problem(response, 422, "response-too-large").await;
            assert!(
                body["detail"].as_str().unwrap().contains("100000"),
                "{body}"
            );
            // The same batch without the trace fits.
            let one = server.get("/v1/domains/some.test").await;
            assert_eq!(one.status(), 200);
        })
        .await;
}

/// Several 25 MiB messages at once: bodies beyond the 64 MiB budget are
/// answered 503 at once, the others are verified, and the server stays
/// inside its memory limit. The `/healthz` bound here rests on message
/// verification running off the async runtime: a heavy message is
/// verified on the blocking pool, so the runtime threads stay free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_largest_messages_stay_within_the_budget() {
    Case::new("concurrent 25 MiB messages")
        .run(|server| async move {
            let raw = message(25 * 1024 * 1024);
            let uploads: Vec<_> = (0..4)
                .map(|_| {
                    let server = Arc::clone(&server);
                    let raw = raw.clone();
                    tokio::spawn(async move {
                        let response = server
                            .post("/v1/messages?ip=192.0.2.25", "message/rfc822", raw)
                            .await;
                        let status = response.status().as_u16();
                        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap())
                            .expect("a JSON answer");
                        (status, body)
                    })
                })
                .collect();
            let (mut verified, mut turned_away) = (0, 0);
            for upload in uploads {
                let (status, body) = upload.await.unwrap();
                match status {
                    200 => verified += 1,
                    503 => {
                        assert_eq!(body["type"], "/problems/overloaded", "{body}");
                        turned_away += 1;
                    }
                    other => panic!("{other}: {body}"),
                }
            }
            eprintln!("4 × 25 MiB at once: {verified} verified, {turned_away} turned away (503)");
            assert!(verified >= 1, "at least one message fits the budget");
            let after = server
                .post("/v1/messages", "message/rfc822", message(2000))
                .await;
            assert_eq!(after.status(), 200, "the budget is given back");
        })
        .await;
}

/// The memory bound is the pod limit the deployment documents.
#[test]
fn the_memory_bound_is_the_documented_pod_limit() {
    let deploy = std::fs::read_to_string(Path::new("docs/deploy.md")).unwrap();
    let limit = deploy
        .split("limits: { memory: ")
        .nth(1)
        .and_then(|rest| rest.split("Mi").next())
        .and_then(|mib| mib.parse::<u64>().ok())
        .expect("docs/deploy.md gives the pod a memory limit in Mi");
    assert_eq!(RSS_BOUND_KIB, limit * 1024);
}

// ---------------------------------------------------------------------------
// Issue 17, cases 1, 5, 7 and 8: the DNS cost of one request
// ---------------------------------------------------------------------------

/// An SPF include "diamond": `width` includes per level, `depth` levels,
/// every record of a level including every record of the next (so the
/// paths multiply while the records do not).
/// A TXT record's data: `text` in quoted character-strings of at most 255
/// bytes (RFC 1035 §3.3).
fn txt(text: &str) -> String {
    let strings: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    strings.join(" ")
}

fn diamond_zone(width: usize, depth: usize) -> String {
    let mut zone = String::from(
        "$ORIGIN diamond.hostile.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n",
    );
    let includes = |level: usize| -> String {
        (0..width)
            .map(|i| format!("include:l{level}-{i}.diamond.hostile.test"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    zone.push_str(&format!(
        "@ IN TXT {}\n",
        txt(&format!("v=spf1 {} -all", includes(1)))
    ));
    for level in 1..=depth {
        for i in 0..width {
            let record = if level == depth {
                "v=spf1 ip4:192.0.2.1 -all".to_string()
            } else {
                format!("v=spf1 {} -all", includes(level + 1))
            };
            zone.push_str(&format!("l{level}-{i} IN TXT {}\n", txt(&record)));
        }
    }
    zone
}

/// An SPF tree of distinct names: 10 includes, each of 10, each of 10
/// (1,110 includes in all, none repeated).
fn wide_tree_zone() -> String {
    let mut zone = String::from(
        "$ORIGIN wide.hostile.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n",
    );
    let includes = |prefix: &str| -> String {
        (0..10)
            .map(|i| format!("include:{prefix}{i}.wide.hostile.test"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    zone.push_str(&format!(
        "@ IN TXT {}\n",
        txt(&format!("v=spf1 {} -all", includes("a")))
    ));
    for a in 0..10 {
        let record = format!("v=spf1 {} -all", includes(&format!("b{a}-")));
        zone.push_str(&format!("a{a} IN TXT {}\n", txt(&record)));
        for b in 0..10 {
            let name = format!("b{a}-{b}");
            let record = format!("v=spf1 {} -all", includes(&format!("c{a}-{b}-")));
            zone.push_str(&format!("{name} IN TXT {}\n", txt(&record)));
            for c in 0..10 {
                zone.push_str(&format!(
                    "c{a}-{b}-{c} IN TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
                ));
            }
        }
    }
    zone
}

async fn json_of<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("a JSON answer")
}

/// Case 1: a 10 × 6 diamond (61 records, over a million paths) was walked
/// path by path: 8.96 s of CPU, 833 MB and a 212 MB answer from one GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spf_include_diamond_is_read_once_per_name() {
    Case::new("SPF include diamond 10 × 6")
        .zone_text(&diamond_zone(10, 6))
        .run(|server| async move {
            let response = server.get("/v1/domains/diamond.hostile.test").await;
            assert_eq!(response.status(), 200);
            let bytes = response.bytes().await.unwrap();
            assert!(bytes.len() < 200_000, "a {} byte answer", bytes.len());
            let report: Value = serde_json::from_slice(&bytes).unwrap();
            let codes = crate::support::api::finding_codes(&report);
            assert!(
                codes.iter().any(|c| c == "spf.too_many_lookups"),
                "{codes:?}"
            );
            // Each of the 61 records asked once (the TXT of the domain
            // itself is shared with the DKIM probe, so once as well).
            for name in ["diamond.hostile.test", "l3-7.diamond.hostile.test"] {
                assert_eq!(
                    server.dns.count(name, hickory_proto::rr::RecordType::TXT),
                    1,
                    "{name}"
                );
            }
            eprintln!("diamond 10 × 6: a {} byte answer", bytes.len());
        })
        .await;
}

/// Case 5: an SPF tree of 1,110 distinct includes sent 1,145 questions,
/// and a batch of 50 nonexistent domains × 20 selectors 2,635; now the
/// walk stops at its node cap, the batch shares one question budget and
/// probes no selector of a domain that does not exist, and `/readyz` asks
/// at most once a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dns_questions_of_one_request_are_bounded() {
    Case::new("DNS questions of one request")
        .zone_text(&wide_tree_zone())
        .run(|server| async move {
            let response = server.get("/v1/domains/wide.hostile.test").await;
            assert_eq!(response.status(), 200);
            let report: Value = json_of(response).await;
            let codes = crate::support::api::finding_codes(&report);
            assert!(codes.iter().any(|c| c == "spf.walk_limit"), "{codes:?}");
            let asked = server.dns.queries().len();
            // The 200 records of the node cap, the a/mx/exists targets it
            // checks (none here), and the other checks' ~40 questions.
            assert!(asked <= 260, "{asked} questions for one audit");
            eprintln!("1,110-include tree: {asked} questions");

            server.dns.clear_log();
            let domains: Vec<String> = (0..50).map(|i| format!("nx{i}.hostile.test")).collect();
            let selectors: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
            let body = json!({"domains": domains, "selectors": selectors}).to_string();
            let response = server.post("/v1/domains", "application/json", body).await;
            assert_eq!(response.status(), 200);
            let reports: Vec<Value> = json_of(response).await;
            assert_eq!(reports.len(), 50);
            let asked = server.dns.queries();
            assert!(
                !asked.iter().any(|q| q.name.contains("_domainkey")),
                "a selector of a domain that does not exist was asked"
            );
            assert!(
                asked.len() <= 700,
                "{} questions for the batch",
                asked.len()
            );
            eprintln!(
                "50 nonexistent domains × 20 selectors: {} questions",
                asked.len()
            );

            server.dns.clear_log();
            for _ in 0..500 {
                let response = server.get("/readyz").await;
                assert_eq!(response.status(), 200);
            }
            let probes = server.dns.queries().len();
            assert!(probes <= 10, "500 /readyz calls asked {probes} questions");
            eprintln!("500 /readyz: {probes} questions");
        })
        .await;
}

/// Case 7: with resolvers that never answer, a batch answered 504 after
/// the request timeout and every finished audit was lost; now it answers
/// in time with what it finished and the rest marked timed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_keeps_its_finished_audits_past_its_deadline() {
    Case::new("batch deadline with a silent resolver")
        .zone_file("fixtures/audit/healthy.zone")
        .flags(&[
            "--request-timeout",
            "3s",
            "--deadline",
            "20s",
            "--dns-timeout",
            "10s",
        ])
        .run(|server| async move {
            let silent: Vec<String> = (0..5).map(|i| format!("silent{i}.hostile.test")).collect();
            for name in &silent {
                server
                    .dns
                    .add_fault(name, support::FaultTypes::All, support::FaultKind::NoAnswer);
            }
            let mut domains = vec!["healthy.test".to_string()];
            domains.extend(silent.iter().cloned());
            let response = server
                .post(
                    "/v1/domains",
                    "application/json",
                    json!({"domains": domains}).to_string(),
                )
                .await;
            // In time: past the 3 s request timeout the server answers 504,
            // so the 200 is the proof, which a loaded machine's delays in
            // this client cannot blur as a stopwatch around the call could.
            assert_eq!(response.status(), 200);
            let reports: Vec<Value> = json_of(response).await;
            assert_eq!(reports[0]["domain"], "healthy.test");
            assert!(reports[0]["verdict"].is_string(), "{}", reports[0]);
            for report in &reports[1..] {
                assert_eq!(report["timed_out"], true, "{report}");
            }
        })
        .await;
}

/// Case 8: MTA-STS policy hosts at addresses the fetch guard missed
/// (IPv4-compatible, NAT64, 6to4, site-local, benchmarking, IETF protocol
/// assignments, reserved) are refused without a connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_hosts_at_special_addresses_are_refused() {
    const HOSTS: &[(&str, &str)] = &[
        ("compatible", "::7f00:1"),
        ("nat64", "64:ff9b::7f00:1"),
        ("sixtofour", "2002:7f00:1::"),
        ("site-local", "fec0::1"),
        ("benchmark", "198.18.0.1"),
        ("ietf", "192.0.0.1"),
        ("reserved", "240.0.0.1"),
    ];
    let mut zone = String::from(
        "$ORIGIN ssrf.hostile.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n",
    );
    for (label, address) in HOSTS {
        let rtype = if address.contains(':') { "AAAA" } else { "A" };
        zone.push_str(&format!(
            "_mta-sts.{label} IN TXT \"v=STSv1; id=1\"\nmta-sts.{label} IN {rtype} {address}\n"
        ));
    }
    Case::new("MTA-STS policy hosts at special addresses")
        .zone_text(&zone)
        .run(|server| async move {
            for (label, address) in HOSTS {
                let domain = format!("{label}.ssrf.hostile.test");
                let response = server.get(&format!("/v1/domains/{domain}")).await;
                assert_eq!(response.status(), 200);
                let report: Value = json_of(response).await;
                let refused = &report["mta_sts"]["policy"]["refused_addresses"];
                let ip: std::net::IpAddr = address.parse().unwrap();
                assert_eq!(refused, &json!([ip.to_string()]), "{domain}");
                assert!(
                    crate::support::api::finding_codes(&report)
                        .iter()
                        .any(|c| c == "mta_sts.policy_unreachable")
                );
            }
        })
        .await;
}

// ---------------------------------------------------------------------------
// Issue 17, cases 2 to 4: the cost of one message
// ---------------------------------------------------------------------------

/// A DKIM-Signature field for `hostile.test` with these extra tags; the
/// signature does not verify, which costs a verifier as much as one that
/// does.
fn signature(selector: &str, extra: &str) -> String {
    format!(
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=hostile.test; s={selector};{extra}\r\n \
         h=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n \
         b=dGhpcyBpcyBub3QgYSBzaWduYXR1cmUgYnV0IGl0IGlzIGJhc2U2NA==\r\n"
    )
}

/// A message from hostile.test with these header fields first and a body
/// of `body` bytes.
fn hostile_message(fields: &str, body: usize) -> Vec<u8> {
    let mut raw = fields.as_bytes().to_vec();
    raw.extend_from_slice(
        b"From: News <news@hostile.test>\r\nTo: a@example.test\r\nSubject: hostile\r\n\
Date: Mon, 1 Jun 2026 10:00:00 +0000\r\nMessage-ID: <h@hostile.test>\r\n\r\n",
    );
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    let end = raw.len() + body;
    while raw.len() + line.len() <= end {
        raw.extend_from_slice(line);
    }
    raw
}

const MESSAGE_PATH: &str =
    "/v1/messages?ip=192.0.2.25&helo=mail.hostile.test&mail_from=n%40hostile.test";

/// Case 2: 24 MB of `X:v` header lines took 3.8 s of CPU and 1.12 GB, and
/// the memory stayed taken; now the header section is measured before any
/// parser runs and refused naming the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_flood_is_refused_before_it_is_parsed() {
    Case::new("header flood of 24 MB")
        .zone_file("fixtures/hostile/hostile.zone")
        .run(|server| async move {
            let flood = "X:v\r\n".repeat(24 * 1024 * 1024 / 5);
            let response = server
                .post(MESSAGE_PATH, "message/rfc822", hostile_message(&flood, 100))
                .await;
            let body = problem(response, 413, "header-limit").await;
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("max-header-fields"), "{detail}");
            // 600,000 short fields under the byte limit: refused by count.
            let fields = "X:v\r\n".repeat(600_000);
            let response = server
                .post(
                    MESSAGE_PATH,
                    "message/rfc822",
                    hostile_message(&fields, 100),
                )
                .await;
            problem(response, 413, "header-limit").await;
        })
        .await;
}

/// Case 3: 2,000 signatures with distinct `l=` over a 20 MB body cost
/// about 24 s of CPU on the async runtime; now at most four body hashes
/// are computed, off the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_length_floods_cost_a_few_body_hashes() {
    Case::new("2,000 l= values over a 20 MB body")
        .zone_file("fixtures/hostile/hostile.zone")
        .flags(&["--request-timeout", "60s"])
        .run(|server| async move {
            let fields: String = (0..2000)
                .map(|i| signature("k", &format!(" l={};", 1000 + i * 7919)))
                .collect();
            let response = server
                .post(
                    MESSAGE_PATH,
                    "message/rfc822",
                    hostile_message(&fields, 20 * 1024 * 1024),
                )
                .await;
            assert_eq!(response.status(), 200);
            let report: Value = json_of(response).await;
            let codes = crate::support::api::finding_codes(&report);
            assert!(codes.iter().any(|c| c == "dkim.not_evaluated"), "{codes:?}");
            let judged = report["dkim"].as_array().map_or(0, Vec::len);
            assert!(judged <= 20, "{judged} signatures judged");
        })
        .await;
}

/// Case 4: 15,000 signatures with an 8192-bit key took 4.1 s of CPU,
/// 340 MB and a 61.7 MB answer, and 5,000 distinct selectors sent 5,000
/// questions; now the header section's size refuses the first by default,
/// and with the header limits raised 20 are judged, the rest listed as not
/// evaluated without a question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_floods_are_judged_twenty_at_most() {
    Case::new("15,000 signatures, and 5,000 selectors")
        .zone_file("fixtures/hostile/hostile.zone")
        .flags(&[
            "--max-header-fields",
            "50000",
            "--max-header-bytes",
            "16777216",
            "--request-timeout",
            "60s",
        ])
        .run(|server| async move {
            let fields: String = (0..15_000).map(|_| signature("big", "")).collect();
            let response = server
                .post(
                    MESSAGE_PATH,
                    "message/rfc822",
                    hostile_message(&fields, 2000),
                )
                .await;
            assert_eq!(response.status(), 200);
            let bytes = response.bytes().await.unwrap();
            assert!(bytes.len() < 1_000_000, "a {} byte answer", bytes.len());
            let report: Value = serde_json::from_slice(&bytes).unwrap();
            assert!(
                crate::support::api::finding_codes(&report)
                    .iter()
                    .any(|c| c == "dkim.not_evaluated")
            );
            assert!(report["dkim"].as_array().map_or(0, Vec::len) <= 20);
            // A key question over UDP (the 8192-bit key's answer is then
            // asked again over TCP, as truncated answers are).
            let key =
                |q: &&support::LoggedQuery| q.name.contains("_domainkey") && q.protocol == "udp";
            let asked: Vec<_> = server
                .dns
                .queries()
                .into_iter()
                .filter(|q| key(&q))
                .collect();
            assert!(asked.len() <= 1, "{asked:?}");

            server.dns.clear_log();
            let fields: String = (0..5000).map(|i| signature(&format!("s{i}"), "")).collect();
            let response = server
                .post(
                    MESSAGE_PATH,
                    "message/rfc822",
                    hostile_message(&fields, 2000),
                )
                .await;
            assert_eq!(response.status(), 200);
            let asked = server.dns.queries().iter().filter(key).count();
            assert!(asked <= 20, "{asked} key questions for 5,000 selectors");
        })
        .await;
}
