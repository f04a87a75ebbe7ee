//! What one hostile message costs: CPU, peak memory, response size, DNS
//! questions, memory left after the request, and how late `/healthz`
//! answers while it runs.
//!
//! Each case is one `POST /v1/messages` on the real router (in-process,
//! default limits, the mimalloc allocator the binary links), with the
//! in-process test DNS server (tests/it/support) serving fixtures/messages
//! plus an RSA-8192 key at `big._domainkey.msg.test`. The message is
//! generated in memory; nothing is written but the key (made once with
//! `openssl genpkey`, kept under target/message_cost/).
//!
//! Cases (the shapes of issue 17's cases 2-4):
//!
//! - `flood-24m`: 24 MB of `X:v` header lines;
//! - `flood-600k`: 600,000 `X:v` header lines (2.4 MB);
//! - `l-2000`: 2,000 DKIM-Signatures with distinct `l=` over a 20 MB body,
//!   `l=` 10 kB, 20 kB, ... 20 MB;
//! - `l-2000-desc`: the same with `l=` 20 MB, 20 MB - 1 kB, ... (the first
//!   ones each nearly the whole body: the worst case under a cap);
//! - `sig-15000`: 15,000 copies of one valid RSA-8192 signature;
//! - `sel-5000`: 5,000 signatures, each with its own `s=`;
//! - `clean`: the fixture newsletter signed once (a real message);
//! - `big-24m`: the same with a 24 MB body (a real, large message).
//!
//! `raised` lifts the message size limit to 64 MiB and the header limits
//! out of the way (1,000,000 fields, 64 MiB), so that `sig-15000` and
//! `sel-5000` reach the signature limits instead of the header limits.
//!
//! Run one case per process, so the peak is the case's own:
//!
//! ```sh
//! for c in clean big-24m flood-600k flood-24m l-2000 l-2000-desc sig-15000 sel-5000; do
//!   cargo run --release --ignore-rust-version --example message_cost -- $c
//! done
//! ```
//!
//! `message_cost CASE x2` sends two copies at once (both workers busy, as
//! in issue 17's `/healthz` measurement). The line printed per case: wall and CPU seconds (user + system, the
//! whole process, so the test DNS server too), RSS before the request and
//! its peak during it (VmHWM, reset just before), RSS right after and one
//! second later, the status and the response's bytes, the questions the DNS
//! server received, and the slowest of the `/healthz` calls made every
//! 50 ms while the request ran.

// The tests' support module, for its test DNS server; the tests use all of
// it, this binary only a part.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

#[path = "../benches/common/cpu_times.rs"]
mod cpu_times;

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use mail_auth::crypto::{Algorithm, Sha256, SigningKey};
use mail_auth::dkim::DkimSigner;
use mail_auth::headers::{HeaderWriter, Writable};
use mailvet::http::{AppState, router};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::TestDns;
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let case = args.first().cloned().unwrap_or_else(|| "clean".into());
    let copies = if args.iter().any(|a| a == "x2") { 2 } else { 1 };
    let raised = args.iter().any(|a| a == "raised");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(&case, copies, raised));
}

async fn run(case: &str, copies: usize, raised: bool) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (private, public) = key_8192(&root.join("target/message_cost"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).expect("fixture");
    let chunks: Vec<String> = support::base64(&public)
        .as_bytes()
        .chunks(250)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let zone = format!(
        "{}\nbig._domainkey.msg.test. IN TXT \"v=DKIM1; k=rsa; p=\" {}\n",
        read("fixtures/messages/messages.zone"),
        chunks.join(" ")
    );
    let texts = [
        zone.as_str(),
        &read("fixtures/messages/esp.zone"),
        &read("fixtures/messages/reverse.zone"),
    ];
    let dns = TestDns::start_with_texts(&texts).await;
    // The service needs a store; this example saves nothing in it.
    let scratch = std::env::temp_dir().join(format!("mailvet-message-cost-{}", std::process::id()));
    let store = mailvet::store::Store::open(&mailvet::store::Store::default_url(&scratch))
        .await
        .expect("a scratch store");
    let mut state = AppState::new(dns.layer(), store);
    if raised {
        state.message_limit = 64 << 20;
        state.service.message_limits.header_fields = 1_000_000;
        state.service.message_limits.header_bytes = 64 << 20;
    }
    let app = router(state);

    let newsletter = read("fixtures/messages/msg-test-newsletter.eml").replace('\n', "\r\n");
    let sign = |message: &str| {
        DkimSigner::from_key(OpensslRsa(private.clone()))
            .domain("msg.test")
            .selector("big")
            .headers(support::SIGNED_HEADERS.iter().copied())
            .sign(message.as_bytes())
            .expect("signs")
            .to_header()
    };
    let message: Vec<u8> = match case {
        "clean" => format!("{}{newsletter}", sign(&newsletter)).into_bytes(),
        "flood-24m" => flood(24_000_000 / 4),
        "flood-600k" => flood(600_000),
        "l-2000" => lengths((1..=2000).map(|i| i * 10_000)),
        "l-2000-desc" => lengths((0..2000).map(|i| BODY as u64 - i * 1000)),
        "big-24m" => {
            let text = newsletter.clone() + &body(24_000_000);
            format!("{}{text}", sign(&text)).into_bytes()
        }
        "sig-15000" => {
            let header = sign(&newsletter);
            format!("{}{newsletter}", header.repeat(15_000)).into_bytes()
        }
        "sel-5000" => {
            let header = sign(&newsletter);
            let mut m = String::new();
            for i in 0..5000 {
                m.push_str(&header.replacen("s=big;", &format!("s=sel{i};"), 1));
            }
            m.push_str(&newsletter);
            m.into_bytes()
        }
        other => panic!("unknown case {other}"),
    };
    let size = message.len();
    dns.clear_log();

    let rss_before = status_kb("VmRSS");
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let uri = "/v1/messages?ip=192.0.2.10&helo=mail.msg.test&mail_from=bounce%40msg.test";
    let message = axum::body::Bytes::from(message);
    let mut heavy: Vec<_> = (0..copies)
        .map(|_| {
            let request = Request::post(uri)
                .header(header::CONTENT_TYPE, "message/rfc822")
                .body(Body::from(message.clone()))
                .expect("request");
            tokio::spawn(app.clone().oneshot(request))
        })
        .collect();
    drop(message);
    let mut slowest_health = Duration::ZERO;
    while !heavy.iter().all(|h| h.is_finished()) {
        let asked = Instant::now();
        let health = Request::get("/healthz")
            .body(Body::empty())
            .expect("request");
        // Spawned, so it runs on a worker like any request (the main
        // future of block_on runs on this thread, not on a worker).
        let asking = tokio::spawn(app.clone().oneshot(health));
        let answered = tokio::time::timeout(Duration::from_secs(120), asking)
            .await
            .is_ok();
        slowest_health = slowest_health.max(asked.elapsed());
        if !answered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = heavy.remove(0);
    for other in heavy {
        other.await.expect("task").expect("router answers");
    }
    let response = first.await.expect("task").expect("router answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let peak = status_kb("VmHWM");
    let bytes = body.len();
    let json = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
    let detail = match json.get("detail").and_then(|d| d.as_str()) {
        Some(problem) => problem.to_string(),
        None => {
            let results: Vec<&str> = json["dkim"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s["result"].as_str()).collect())
                .unwrap_or_default();
            let passed = results.iter().filter(|r| **r == "pass").count();
            format!(
                "verdict {}, DKIM {} judged ({passed} pass), {} not evaluated",
                json["verdict"].as_str().unwrap_or("?"),
                results.len(),
                json["not_evaluated"]["dkim_signatures"]
                    .as_u64()
                    .unwrap_or(0)
            )
        }
    };
    drop(body);
    let rss_after = status_kb("VmRSS");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_later = status_kb("VmRSS");
    println!(
        "{case} x{copies}{}: message {:.1} MB | wall {wall:.2} s | CPU {cpu:.2} s | RSS before {} MB, \
         peak {} MB, after {} MB, after 1 s {} MB | status {} | response {bytes} bytes | \
         DNS questions {} | slowest /healthz {} ms{}",
        if raised { " raised" } else { "" },
        size as f64 / 1e6,
        rss_before / 1024,
        peak / 1024,
        rss_after / 1024,
        rss_later / 1024,
        status.as_u16(),
        dns.queries().len(),
        slowest_health.as_millis(),
        if detail.is_empty() {
            String::new()
        } else {
            format!(" | {detail}")
        }
    );
}

/// The body of the `l=` cases, in bytes.
const BODY: usize = 20_000_000;

/// Text lines of about `size` bytes (CR LF).
fn body(size: usize) -> String {
    "a line of body text, long enough to hash, and then some.\r\n".repeat(size / 58)
}

/// 2,000 DKIM-Signatures, one per `l=` given, over a 20 MB body: each
/// distinct `l=` is one more body hash to compute.
fn lengths(l: impl Iterator<Item = u64>) -> Vec<u8> {
    let mut m = String::from("From: news@msg.test\r\n");
    for l in l {
        m.push_str(&format!(
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=msg.test; s=big; \
             h=from; l={l}; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n"
        ));
    }
    m.push_str("\r\n");
    m.push_str(&body(BODY));
    m.into_bytes()
}

/// A minimal message with `lines` extra `X:v` header lines (LF, as pasted).
fn flood(lines: usize) -> Vec<u8> {
    let mut m = b"From: news@msg.test\nTo: a@example.test\nSubject: flood\n".to_vec();
    for _ in 0..lines {
        m.extend_from_slice(b"X:v\n");
    }
    m.extend_from_slice(b"\nbody\n");
    m
}

/// An RSA key that signs through `openssl` (aws-lc signs with keys up to
/// 4096 bits; verifying an 8192-bit one is what the case needs).
struct OpensslRsa(PathBuf);

impl SigningKey for OpensslRsa {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        let mut data = Vec::new();
        input.write(&mut data);
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-keyform", "DER", "-sign"])
            .arg(&self.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("openssl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&data)
            .expect("write");
        Ok(child.wait_with_output().expect("openssl").stdout)
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::RsaSha256
    }
}

/// An RSA-8192 key: the path of its PKCS#8 private key and its
/// SubjectPublicKeyInfo, both DER.
fn key_8192(dir: &Path) -> (PathBuf, Vec<u8>) {
    std::fs::create_dir_all(dir).expect("key directory");
    let private = dir.join("rsa8192.der");
    let public = dir.join("rsa8192.pub.der");
    if !private.exists() {
        let ok = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:8192",
            ])
            .args(["-outform", "DER", "-out"])
            .arg(&private)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "openssl genpkey failed");
    }
    if !public.exists() {
        let ok = Command::new("openssl")
            .args([
                "pkey", "-inform", "DER", "-pubout", "-outform", "DER", "-in",
            ])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "openssl pkey failed");
    }
    (private, std::fs::read(public).expect("key"))
}

/// User + system CPU of the process, in seconds.
fn cpu_seconds() -> f64 {
    let (user, system) = cpu_times::cpu_times();
    user + system
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .trim()
                .strip_suffix("kB")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}
