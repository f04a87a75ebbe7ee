//! The DNS server and message for `scripts/load.sh`.
//!
//! Starts the in-process test DNS server (tests/it/support) on 127.0.0.1 with
//! a random port, serving the fixture zones the load test asks about:
//! `healthy.test` (fixtures/audit/healthy.zone) for `GET /v1/domains/...`
//! and `msg.test`, `esp.test` and the reverse zone (fixtures/messages) for
//! `POST /v1/messages`. An RSA-2048 key is generated at start; its public
//! key is served at `rsa._domainkey.msg.test` and the fixture newsletter
//! (fixtures/messages/msg-test-newsletter.eml) is signed with it, so every
//! posted message has SPF, DKIM, DMARC and iprev all passing — the full
//! cost of a real verification, RSA included.
//!
//! Usage: `cargo run --release --ignore-rust-version --example load_dns -- OUT_DIR`
//!
//! Writes `OUT_DIR/message.eml` (the signed message), then prints
//! `dns 127.0.0.1:PORT` on stdout and serves until SIGINT or SIGTERM.

// The tests' support module, for its test DNS server; the tests use all of
// it, this binary only a part.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

use mail_auth::crypto::{RsaKey, Sha256};
use mail_auth::dkim::DkimSigner;
use mail_auth::headers::HeaderWriter;
use rcgen::PublicKeyData;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::Write;
use std::path::PathBuf;
use support::TestDns;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/load"));
    std::fs::create_dir_all(&out).expect("create the output directory");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("read {p}: {e}"));

    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let public = support::base64(&pair.subject_public_key_info());
    let chunks: Vec<String> = public
        .as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let msg_zone = format!(
        "{}\nrsa._domainkey.msg.test. IN TXT \"v=DKIM1; k=rsa; p=\" {}\n",
        read("fixtures/messages/messages.zone"),
        chunks.join(" ")
    );

    // SMTP carries CRLF: every line ends in one, whatever the fixture's
    // endings (a CRLF fixture turned into CR CR LF by a plain LF to CRLF
    // replacement, and mailauth then saw no header field at all).
    let message = read("fixtures/messages/msg-test-newsletter.eml")
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pair.serialize_der()));
    let key = RsaKey::<Sha256>::from_key_der(der).expect("RSA key");
    let signature = DkimSigner::from_key(key)
        .domain("msg.test")
        .selector("rsa")
        .headers(support::SIGNED_HEADERS.iter().copied())
        .sign(message.as_bytes())
        .expect("signs");
    let signed = format!("{}{message}", signature.to_header());
    std::fs::write(out.join("message.eml"), signed).expect("write message.eml");

    let zones = [
        read("fixtures/audit/healthy.zone"),
        msg_zone,
        read("fixtures/messages/esp.zone"),
        read("fixtures/messages/reverse.zone"),
    ];
    let texts: Vec<&str> = zones.iter().map(String::as_str).collect();
    let server = TestDns::start_with_texts(&texts).await;

    let mut stdout = std::io::stdout();
    writeln!(stdout, "dns {}", server.dns_arg()).expect("stdout");
    stdout.flush().expect("stdout");

    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("load_dns: {} queries answered", server.queries().len());
}
