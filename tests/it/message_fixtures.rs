//! Every message-side finding code of docs/findings.md ("Message checks"),
//! each produced by a fixture message run through the full
//! message report (`mailvet::message::report::report`) against the test DNS
//! server; and a clean, aligned, DKIM-signed, one-click-unsubscribe bulk
//! message that produces no warning and no error at all.
//!
//! The world: `msg.test` (fixtures/messages/messages.zone) is the sending
//! domain, with SPF `-all`, DMARC `p=reject` with `rua`, and its sending
//! host 192.0.2.10 whose reverse DNS (fixtures/messages/reverse.zone)
//! resolves back; `esp.test` (fixtures/messages/esp.zone) is a service of
//! another organizational domain. Every fixture is the newsletter of
//! fixtures/messages/msg-test-newsletter.eml with one change. Messages are
//! signed here, with keys generated here whose records are appended to the
//! zone text, so no private key is committed and `t=`/`x=` are relative to
//! now.
//!
//! mail-auth signs `rsa-sha256` and `ed25519-sha256` only, and no public API
//! of the dependencies signs RSA with SHA-1, so the `rsa-sha1` fixture is
//! signed with [`RsaSha1Key`]: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.1) over the
//! same generated RSA key, the modular exponentiation written out below.
//! mail-auth itself verifies that signature; the report turns it into
//! `policy` (RFC 8301).

use crate::support;

use mail_auth::crypto::{Algorithm, Ed25519Key, HashAlgorithm, RsaKey, Sha1, Sha256, SigningKey};
use mail_auth::dkim::DkimSigner;
use mail_auth::headers::{HeaderWriter, Writable};
use mailvet::dns::Dns;
use mailvet::findings::requirements::Status;
use mailvet::findings::{Severity, Verdict};
use mailvet::message::Clock;
use mailvet::message::arc::ArcResult;
use mailvet::message::dkim::{DkimProblem, DkimResult};
use mailvet::message::dmarc::DmarcResult;
use mailvet::message::envelope::{Envelope, Source};
use mailvet::message::limits::MessageLimits;
use mailvet::message::report::{MessageReport, MessageRequest, report};
use rcgen::PublicKeyData;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use support::TestDns;

/// The sending host of msg.test: in its SPF record, PTR mail.msg.test.
const SENDER_IP: &str = "192.0.2.10";
const SENDER_HELO: &str = "mail.msg.test";
const BOUNCE: &str = "bounce@msg.test";

// ---------------------------------------------------------------------------
// Messages

/// A message as header fields and a body, to be changed one thing at a time.
#[derive(Clone)]
struct Message {
    headers: Vec<(String, String)>,
    body: String,
}

impl Message {
    /// The clean newsletter, unsigned.
    fn newsletter() -> Message {
        let text = std::fs::read_to_string("fixtures/messages/msg-test-newsletter.eml")
            .expect("newsletter fixture");
        let (head, body) = text.split_once("\r\n\r\n").expect("header and body");
        let headers = head
            .split("\r\n")
            .map(|line| {
                let (name, value) = line.split_once(": ").expect("one header per line");
                (name.to_string(), value.to_string())
            })
            .collect();
        Message {
            headers,
            body: body.to_string(),
        }
    }

    /// Replaces the first header of this name.
    fn set(mut self, name: &str, value: &str) -> Message {
        let header = self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .expect("header to replace");
        header.1 = value.to_string();
        self
    }

    /// Adds a header below the others.
    fn add(mut self, name: &str, value: &str) -> Message {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Removes every header of this name.
    fn remove(mut self, name: &str) -> Message {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The same message with this body, of this Content-Type.
    fn body(self, content_type: &str, body: &str) -> Message {
        Message {
            body: body.to_string(),
            ..self.set("Content-Type", content_type)
        }
    }

    fn text(&self) -> String {
        let mut out: String = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect();
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }
}

// ---------------------------------------------------------------------------
// Keys and signing

/// The keys of one test run, generated here.
struct Keys {
    /// A 2048-bit RSA key, PKCS#8.
    rsa_pkcs8: Vec<u8>,
    /// Its SubjectPublicKeyInfo, for `p=`.
    rsa_spki: Vec<u8>,
    ed_pkcs8: Vec<u8>,
    ed_public: Vec<u8>,
    /// The RSA key again, for rsa-sha1.
    sha1: RsaSha1Key,
}

impl Keys {
    fn generate() -> Keys {
        let rsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
        let rsa_pkcs8 = rsa.serialize_der();
        let ed_pkcs8 = Ed25519Key::generate_pkcs8().expect("Ed25519 key");
        let ed_public = Ed25519Key::from_pkcs8_der(&ed_pkcs8)
            .expect("Ed25519 key")
            .public_key();
        Keys {
            sha1: RsaSha1Key::from_pkcs8(&rsa_pkcs8),
            rsa_spki: rsa.subject_public_key_info(),
            rsa_pkcs8,
            ed_pkcs8,
            ed_public,
        }
    }

    /// The key records of `domain`, as zone-file lines: selector `rsa`
    /// (rsa-sha256 and rsa-sha1) and selector `ed` (ed25519-sha256).
    fn records(&self, domain: &str) -> String {
        let rsa = support::base64(&self.rsa_spki);
        let chunks: Vec<String> = rsa
            .as_bytes()
            .chunks(200)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!(
            "rsa._domainkey.{domain}. IN TXT \"v=DKIM1; k=rsa; p=\" {}\n\
             ed._domainkey.{domain}. IN TXT \"v=DKIM1; k=ed25519; p={}\"\n",
            chunks.join(" "),
            support::base64(&self.ed_public)
        )
    }

    /// `message` with a DKIM-Signature by `spec` in front.
    fn sign(&self, spec: &Spec, message: &str) -> String {
        match spec.algorithm {
            Alg::RsaSha256 => {
                let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.rsa_pkcs8.clone()));
                let key = RsaKey::<Sha256>::from_key_der(der).expect("RSA key");
                signed(key, spec, message)
            }
            Alg::Ed25519 => {
                let key = Ed25519Key::from_pkcs8_der(&self.ed_pkcs8).expect("Ed25519 key");
                signed(key, spec, message)
            }
            Alg::RsaSha1 => signed(self.sha1.clone(), spec, message),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Alg {
    RsaSha256,
    Ed25519,
    RsaSha1,
}

/// How to sign.
struct Spec {
    domain: &'static str,
    algorithm: Alg,
    headers: &'static [&'static str],
    body_length: bool,
    expiration: Option<Duration>,
}

impl Spec {
    fn new(domain: &'static str, algorithm: Alg) -> Spec {
        Spec {
            domain,
            algorithm,
            headers: support::SIGNED_HEADERS,
            body_length: false,
            expiration: None,
        }
    }
}

fn signed<K: SigningKey>(key: K, spec: &Spec, message: &str) -> String {
    let selector = match spec.algorithm {
        Alg::Ed25519 => "ed",
        Alg::RsaSha256 | Alg::RsaSha1 => "rsa",
    };
    let mut signer = DkimSigner::from_key(key)
        .domain(spec.domain)
        .selector(selector)
        .headers(spec.headers.iter().copied());
    if spec.body_length {
        signer = signer.body_length(true);
    }
    if let Some(expiration) = spec.expiration {
        signer = signer.expiration(expiration);
    }
    let signature = signer.sign(message.as_bytes()).expect("signs");
    format!("{}{message}", signature.to_header())
}

/// An RSA private key that makes `rsa-sha1` signatures: RSASSA-PKCS1-v1_5
/// with SHA-1 (RFC 8017 §8.2.1, §9.2), `s = EM^d mod n`, by Montgomery
/// multiplication on 64-bit limbs. Only for the `dkim.sha1` fixture.
#[derive(Clone)]
struct RsaSha1Key {
    /// The modulus, little-endian limbs.
    n: Vec<u64>,
    /// The private exponent, big-endian bytes.
    d: Vec<u8>,
    /// The modulus length in bytes.
    k: usize,
}

/// DigestInfo prefix of SHA-1 (RFC 8017 §9.2, note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

impl RsaSha1Key {
    /// Reads n and d from a PKCS#8 RSA private key (RFC 5208 §5, RFC 8017
    /// appendix A.1.2).
    fn from_pkcs8(der: &[u8]) -> RsaSha1Key {
        let (_, info, _) = der_next(der);
        let (_, _version, rest) = der_next(info);
        let (_, _algorithm, rest) = der_next(rest);
        let (_, octets, _) = der_next(rest);
        let (_, key, _) = der_next(octets);
        let (_, _version, rest) = der_next(key);
        let (_, n, rest) = der_next(rest);
        let (_, _e, rest) = der_next(rest);
        let (tag, d, _) = der_next(rest);
        assert_eq!(tag, 0x02, "d is an INTEGER");
        let n = strip_zeros(n);
        RsaSha1Key {
            n: limbs(n, n.len().div_ceil(8)),
            d: strip_zeros(d).to_vec(),
            k: n.len(),
        }
    }

    /// RSASSA-PKCS1-v1_5 of a DigestInfo `t` (RFC 8017 §9.2 steps 3-5,
    /// then RSASP1): `EM = 0x00 0x01 FF… 0x00 T`, `s = EM^d mod n`.
    fn sign_digest_info(&self, t: &[u8]) -> Vec<u8> {
        let k = self.k;
        let mut em = vec![0xff; k];
        em[0] = 0x00;
        em[1] = 0x01;
        em[k - t.len() - 1] = 0x00;
        em[k - t.len()..].copy_from_slice(t);
        let m = limbs(&em, self.n.len());
        to_bytes(&mod_pow(&m, &self.d, &self.n), k)
    }
}

impl SigningKey for RsaSha1Key {
    type Hasher = Sha1;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        let mut data = Vec::new();
        input.write(&mut data);
        let digest = HashAlgorithm::Sha1.hash(data.as_slice());
        Ok(self.sign_digest_info(&[&SHA1_DIGEST_INFO[..], digest.as_ref()].concat()))
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::RsaSha1
    }
}

/// One DER element: (tag, contents, what follows).
fn der_next(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, start) = match input[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let count = usize::from(long & 0x7f);
            let len = input[2..2 + count]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + count)
        }
    };
    (tag, &input[start..start + len], &input[start + len..])
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Big-endian bytes to `count` little-endian limbs.
fn limbs(be: &[u8], count: usize) -> Vec<u64> {
    let mut out = vec![0u64; count];
    for (i, &b) in be.iter().rev().enumerate() {
        out[i / 8] |= u64::from(b) << (8 * (i % 8));
    }
    out
}

/// Little-endian limbs to `len` big-endian bytes.
fn to_bytes(x: &[u64], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = (x[i / 8] >> (8 * (i % 8))) as u8;
    }
    out
}

fn less_than(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a -= b`, wrapping.
fn subtract(a: &mut [u64], b: &[u64]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
}

/// Montgomery product `a·b·R⁻¹ mod n`, R = 2^(64·limbs) (CIOS method).
fn mont_mul(a: &[u64], b: &[u64], n: &[u64], n0: u64) -> Vec<u64> {
    let s = n.len();
    let mut t = vec![0u64; s + 2];
    for &bi in b {
        let mut carry = 0u128;
        for (tj, &aj) in t.iter_mut().zip(a) {
            let v = u128::from(*tj) + u128::from(aj) * u128::from(bi) + carry;
            *tj = v as u64;
            carry = v >> 64;
        }
        let v = u128::from(t[s]) + carry;
        t[s] = v as u64;
        t[s + 1] = (v >> 64) as u64;
        let m = t[0].wrapping_mul(n0);
        let mut carry = (u128::from(t[0]) + u128::from(m) * u128::from(n[0])) >> 64;
        for j in 1..s {
            let v = u128::from(t[j]) + u128::from(m) * u128::from(n[j]) + carry;
            t[j - 1] = v as u64;
            carry = v >> 64;
        }
        let v = u128::from(t[s]) + carry;
        t[s - 1] = v as u64;
        t[s] = t[s + 1] + (v >> 64) as u64;
        t[s + 1] = 0;
    }
    let mut out = t[..s].to_vec();
    if t[s] != 0 || !less_than(&out, n) {
        subtract(&mut out, n);
    }
    out
}

/// `base^exp mod n` for an odd modulus; `exp` big-endian bytes.
fn mod_pow(base: &[u64], exp: &[u8], n: &[u64]) -> Vec<u64> {
    let s = n.len();
    // -n⁻¹ mod 2^64 by Newton's iteration (n odd: n·n ≡ 1 mod 8).
    let mut inverse = n[0];
    for _ in 0..5 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inverse)));
    }
    let n0 = inverse.wrapping_neg();
    // R² mod n, by doubling 1 2·64·s times.
    let mut r2 = vec![0u64; s];
    r2[0] = 1;
    for _ in 0..128 * s {
        let carry = r2[s - 1] >> 63 == 1;
        for i in (1..s).rev() {
            r2[i] = (r2[i] << 1) | (r2[i - 1] >> 63);
        }
        r2[0] <<= 1;
        if carry || !less_than(&r2, n) {
            subtract(&mut r2, n);
        }
    }
    let mut one = vec![0u64; s];
    one[0] = 1;
    let base = mont_mul(base, &r2, n, n0);
    let mut x = mont_mul(&one, &r2, n, n0);
    for byte in exp {
        for bit in (0..8).rev() {
            x = mont_mul(&x, &x, n, n0);
            if (byte >> bit) & 1 == 1 {
                x = mont_mul(&x, &base, n, n0);
            }
        }
    }
    mont_mul(&x, &one, n, n0)
}

// ---------------------------------------------------------------------------
// The world and the report

struct World {
    _server: TestDns,
    dns: Arc<Dns>,
    keys: Keys,
}

async fn world() -> World {
    let keys = Keys::generate();
    let read = |name: &str| {
        std::fs::read_to_string(format!("fixtures/messages/{name}"))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let msg = read("messages.zone") + &keys.records("msg.test");
    let esp = read("esp.zone") + &keys.records("esp.test");
    let reverse = read("reverse.zone");
    let server = TestDns::start_with_texts(&[&msg, &esp, &reverse]).await;
    World {
        dns: server.layer(),
        _server: server,
        keys,
    }
}

fn envelope(ip: &str, helo: &str, mail_from: &str) -> Envelope {
    Envelope {
        ip: Some(ip.parse::<IpAddr>().expect("IP")),
        helo: Some(helo.to_string()),
        mail_from: Some(mail_from.to_string()),
    }
}

/// The clean sender's envelope.
fn from_sender() -> Envelope {
    envelope(SENDER_IP, SENDER_HELO, BOUNCE)
}

impl World {
    /// The clean newsletter, signed by msg.test.
    fn clean(&self) -> String {
        self.keys.sign(
            &Spec::new("msg.test", Alg::RsaSha256),
            &Message::newsletter().text(),
        )
    }

    /// `raw` with the ARC set a forwarder of msg.test adds (i=1, cv=none),
    /// its AAR naming `mx.forwarder.msg.test`.
    fn seal(&self, raw: &str) -> String {
        let message = mail_auth::AuthenticatedMessage::parse(raw.as_bytes()).expect("parses");
        let results = mail_auth::AuthenticationResults::new("mx.forwarder.msg.test");
        let key = Ed25519Key::from_pkcs8_der(&self.keys.ed_pkcs8).expect("Ed25519 key");
        let set = mail_auth::arc::ArcSealer::from_key(key)
            .domain("msg.test")
            .selector("ed")
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .seal(&message, &results, &mail_auth::ArcOutput::default())
            .expect("seals");
        format!("{}{raw}", set.to_header())
    }

    async fn report(&self, raw: &str, envelope: Envelope, clock: Clock) -> MessageReport {
        let request = MessageRequest {
            raw: raw.as_bytes().to_vec(),
            envelope,
            bulk: None,
            authserv_id: "mx.receiver.test".into(),
            clock,
            limits: MessageLimits::default(),
            blocklists: mailvet::message::blocklists::Blocklists::none(),
        };
        report(&self.dns, &request, false)
            .await
            .expect("message report")
    }
}

fn codes(report: &MessageReport) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code).collect()
}

/// The codes of warning or error severity, sorted.
fn serious(report: &MessageReport) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| f.code)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

fn finding<'r>(report: &'r MessageReport, code: &str) -> &'r mailvet::findings::Finding {
    report
        .findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(report)))
}

/// One fixture: a message, how it arrived, the code it is there for, and
/// every finding the report must carry, of any severity (the one change
/// and what it implies, nothing else).
struct Case {
    fixture: &'static str,
    code: &'static str,
    raw: String,
    envelope: Envelope,
    clock: Clock,
    findings: &'static [&'static str],
    /// Further assertions on the report.
    check: fn(&MessageReport),
}

fn no_check(_: &MessageReport) {}

fn cases(w: &World) -> Vec<Case> {
    let keys = &w.keys;
    let newsletter = Message::newsletter();
    let msg_rsa = Spec::new("msg.test", Alg::RsaSha256);
    let clean = w.clean();
    // The newsletter with another body, signed as msg.test signs it.
    let with_body = |content_type: &str, body: &str| {
        keys.sign(
            &msg_rsa,
            &newsletter.clone().body(content_type, body).text(),
        )
    };
    let case = |fixture: &'static str,
                code: &'static str,
                raw: String,
                envelope: Envelope,
                findings: &'static [&'static str]| Case {
        fixture,
        code,
        raw,
        envelope,
        clock: Clock::system(),
        findings,
        check: no_check,
    };

    vec![
        case(
            "spf-fail: the newsletter from 192.0.2.20, not in msg.test's SPF (-all)",
            "spf.fail",
            clean.clone(),
            envelope("192.0.2.20", "out.msg.test", BOUNCE),
            &["spf.fail"],
        ),
        case(
            "spf-softfail: MAIL FROM soft.msg.test (~all) from 192.0.2.20",
            "spf.softfail",
            clean.clone(),
            envelope("192.0.2.20", "out.msg.test", "bounce@soft.msg.test"),
            &["spf.softfail"],
        ),
        Case {
            check: |r| assert!(r.dkim.signatures.is_empty()),
            ..case(
                "dkim-missing: the newsletter unsigned",
                "dkim.missing",
                newsletter.text(),
                from_sender(),
                &["dkim.missing"],
            )
        },
        Case {
            check: |r| {
                let s = &r.dkim.signatures[0];
                assert_eq!(s.result, DkimResult::Fail);
                assert_eq!(s.problem, Some(DkimProblem::BodyHashMismatch));
                let detail = &finding(r, "dkim.fail").detail;
                assert!(detail.contains("body hash"), "{detail}");
                // SPF still passes aligned, so DMARC passes.
                assert_eq!(r.dmarc.result, DmarcResult::Pass);
            },
            ..case(
                "dkim-fail: the signed newsletter with its body changed after signing",
                "dkim.fail",
                clean.replace("July offers are online", "July offers are 90% off"),
                from_sender(),
                &["dkim.fail"],
            )
        },
        Case {
            check: |r| {
                let s = &r.dkim.signatures[0];
                assert_eq!(s.result, DkimResult::Pass, "{:?}", s.reason);
                assert!(s.body_length.is_some());
            },
            ..case(
                "dkim-body-length: signed with l=, then a line appended (still passes)",
                "dkim.body_length_tag",
                keys.sign(
                    &Spec {
                        body_length: true,
                        ..Spec::new("msg.test", Alg::RsaSha256)
                    },
                    &newsletter.text(),
                ) + "Appended after signing: https://phish.example/\r\n",
                from_sender(),
                // The appended link goes outside msg.test.
                &["dkim.body_length_tag", "content.link_not_aligned"],
            )
        },
        Case {
            // Signed with x= an hour after now, judged two days later.
            clock: Clock::at(Clock::system().now() + 2 * 86_400),
            check: |r| {
                let s = &r.dkim.signatures[0];
                assert_eq!(s.result, DkimResult::Policy);
                assert_eq!(s.problem, Some(DkimProblem::Expired));
            },
            ..case(
                "dkim-expired: signed with x= one hour ahead, checked two days later",
                "dkim.expired",
                keys.sign(
                    &Spec {
                        expiration: Some(Duration::from_secs(3600)),
                        ..Spec::new("msg.test", Alg::Ed25519)
                    },
                    &newsletter.text(),
                ),
                from_sender(),
                &["dkim.expired"],
            )
        },
        Case {
            check: |r| {
                let s = &r.dkim.signatures[0];
                assert_eq!(s.algorithm.as_deref(), Some("rsa-sha1"));
                // policy, not fail: the signature verifies (RFC 8301).
                assert_eq!(s.result, DkimResult::Policy, "{:?}", s.reason);
                assert_eq!(s.problem, Some(DkimProblem::Sha1));
            },
            ..case(
                "dkim-sha1: signed with rsa-sha1 by msg.test",
                "dkim.sha1",
                keys.sign(&Spec::new("msg.test", Alg::RsaSha1), &newsletter.text()),
                from_sender(),
                &["dkim.sha1"],
            )
        },
        Case {
            check: |r| {
                assert_eq!(r.dkim.signatures[0].result, DkimResult::Pass);
                assert_eq!(r.dmarc.result, DmarcResult::Pass, "aligned SPF passes");
            },
            ..case(
                "dkim-not-aligned: signed only by esp.test, sent by msg.test's host",
                "dkim.not_aligned",
                keys.sign(&Spec::new("esp.test", Alg::Ed25519), &newsletter.text()),
                from_sender(),
                &["dkim.not_aligned"],
            )
        },
        Case {
            check: |r| assert_eq!(r.dkim.signatures[0].result, DkimResult::Pass),
            ..case(
                "dkim-from-once: signed by msg.test with From once in h=",
                "dkim.from_not_oversigned",
                keys.sign(
                    &Spec {
                        headers: &["From", "To", "Subject", "Date", "Message-ID"],
                        ..Spec::new("msg.test", Alg::RsaSha256)
                    },
                    &newsletter.text(),
                ),
                from_sender(),
                &["dkim.from_not_oversigned"],
            )
        },
        Case {
            check: |r| {
                // The first 20 in header order are judged; they pass.
                assert_eq!(r.dkim.signatures.len(), 20);
                assert!(r.dkim.signatures.iter().all(|s| s.passed()));
                let left_out = r.not_evaluated.as_ref().expect("not_evaluated");
                assert_eq!(left_out.dkim_signatures, 1);
                assert_eq!(left_out.dkim[0].position, 21);
                assert_eq!(left_out.dkim[0].domain.as_deref(), Some("msg.test"));
                assert_eq!(r.dmarc.result, DmarcResult::Pass);
                let detail = &finding(r, "dkim.not_evaluated").detail;
                assert!(detail.contains("max-dkim-signatures"), "{detail}");
            },
            ..case(
                "dkim-not-evaluated: the clean newsletter's signature 21 times",
                "dkim.not_evaluated",
                {
                    let signature = &clean[..clean.len() - newsletter.text().len()];
                    signature.repeat(21) + &newsletter.text()
                },
                from_sender(),
                &["dkim.not_evaluated"],
            )
        },
        Case {
            check: |r| {
                assert_eq!(r.spf.result, "pass");
                assert_eq!(r.dkim.signatures[0].result, DkimResult::Pass);
                assert_eq!(r.dmarc.result, DmarcResult::Fail);
                let detail = &finding(r, "dmarc.fail").detail;
                assert!(detail.contains("p=reject"), "{detail}");
            },
            ..case(
                "dmarc-fail: signed by esp.test, MAIL FROM esp.test from its host",
                "dmarc.fail",
                keys.sign(&Spec::new("esp.test", Alg::Ed25519), &newsletter.text()),
                envelope("192.0.2.30", "smtp.esp.test", "bounce@esp.test"),
                &["dkim.not_aligned", "dmarc.fail"],
            )
        },
        Case {
            check: |r| {
                let iprev = r.iprev.as_ref().expect("iprev");
                assert!(iprev.ptr.is_empty(), "{:?}", iprev.ptr);
            },
            ..case(
                "iprev-no-ptr: the newsletter from 192.0.2.11 (in SPF, no PTR)",
                "iprev.fail",
                clean.clone(),
                envelope("192.0.2.11", SENDER_HELO, BOUNCE),
                &["iprev.fail"],
            )
        },
        Case {
            check: |r| {
                let iprev = r.iprev.as_ref().expect("iprev");
                assert_eq!(iprev.result, "fail");
                assert_eq!(iprev.ptr, ["stale.msg.test"]);
            },
            ..case(
                "iprev-not-confirmed: from 192.0.2.12, whose PTR name has another address",
                "iprev.fail",
                clean.clone(),
                envelope("192.0.2.12", SENDER_HELO, BOUNCE),
                &["iprev.fail"],
            )
        },
        Case {
            check: |r| {
                assert_eq!(r.arc.result, ArcResult::Fail);
                assert_eq!(r.arc.failed_hop, Some(1));
                assert_eq!(r.dkim.signatures[0].result, DkimResult::Pass);
            },
            ..case(
                "arc-fail: sealed by msg.test's forwarder, then its ARC-Authentication-Results changed",
                "arc.fail",
                {
                    let sealed = w.seal(&clean);
                    assert!(sealed.contains("mx.forwarder.msg.test"));
                    sealed.replace("mx.forwarder.msg.test", "mx.forged.example")
                },
                from_sender(),
                &["arc.fail"],
            )
        },
        Case {
            check: |r| assert_eq!(r.headers.from_headers, 2),
            ..case(
                "multiple-from: a second From header, both signed",
                "msg.multiple_from",
                keys.sign(
                    &msg_rsa,
                    &newsletter
                        .clone()
                        .add("From", "Msg Support <support@msg.test>")
                        .text(),
                ),
                from_sender(),
                &["msg.multiple_from"],
            )
        },
        Case {
            check: |r| assert_eq!(r.headers.from_headers, 1),
            ..case(
                "multiple-from-addresses: one From header with two addresses",
                "msg.multiple_from",
                keys.sign(
                    &msg_rsa,
                    &newsletter
                        .clone()
                        .set(
                            "From",
                            "Msg News <news@msg.test>, Msg Support <support@msg.test>",
                        )
                        .text(),
                ),
                from_sender(),
                &["msg.multiple_from"],
            )
        },
        case(
            "missing-message-id: no Message-ID header",
            "msg.missing_header",
            keys.sign(&msg_rsa, &newsletter.clone().remove("Message-ID").text()),
            from_sender(),
            &["msg.missing_header"],
        ),
        case(
            "missing-date: no Date header",
            "msg.missing_header",
            keys.sign(&msg_rsa, &newsletter.clone().remove("Date").text()),
            from_sender(),
            &["msg.missing_header"],
        ),
        case(
            "no-list-unsubscribe: a newsletter (List-Id) without List-Unsubscribe",
            "bulk.no_list_unsubscribe",
            keys.sign(
                &msg_rsa,
                &newsletter
                    .clone()
                    .remove("List-Unsubscribe")
                    .remove("List-Unsubscribe-Post")
                    .text(),
            ),
            from_sender(),
            &["bulk.no_list_unsubscribe"],
        ),
        case(
            "no-one-click: List-Unsubscribe without List-Unsubscribe-Post",
            "bulk.no_one_click",
            keys.sign(
                &msg_rsa,
                &newsletter.clone().remove("List-Unsubscribe-Post").text(),
            ),
            from_sender(),
            &["bulk.no_one_click"],
        ),
        case(
            "no-one-click-mailto: List-Unsubscribe-Post but only a mailto URI",
            "bulk.no_one_click",
            keys.sign(
                &msg_rsa,
                &newsletter
                    .clone()
                    .set("List-Unsubscribe", "<mailto:unsub+5f2c9e1ab7@msg.test>")
                    .text(),
            ),
            from_sender(),
            &["bulk.no_one_click"],
        ),
        Case {
            check: |r| {
                assert_eq!(r.envelope.ip.source, Source::Received);
                assert_eq!(r.envelope.ip.value, SENDER_IP.parse().ok());
                assert_eq!(r.envelope.helo.value.as_deref(), Some(SENDER_HELO));
                assert_eq!(r.envelope.mail_from.source, Source::ReturnPath);
                assert_eq!(r.envelope.mail_from.value.as_deref(), Some(BOUNCE));
                assert_eq!(r.spf.result, "pass");
                assert_eq!(r.dmarc.result, DmarcResult::Pass);
            },
            ..case(
                "envelope-inferred: no envelope given; Return-Path and Received added on delivery",
                "envelope.inferred",
                format!(
                    "Return-Path: <{BOUNCE}>\r\n\
                     Received: from {SENDER_HELO} ({SENDER_HELO} [{SENDER_IP}])\r\n\
                     \tby mx.receiver.test (Postfix) with ESMTPS id 4Xb2Qk1vZ3z9t\r\n\
                     \tfor <ann@example.net>; Tue,  1 Jul 2025 10:00:02 +0000 (UTC)\r\n{clean}"
                ),
                Envelope::default(),
                &["envelope.inferred"],
            )
        },
        case(
            "html-only: the newsletter as text/html alone",
            "content.no_text_part",
            with_body("text/html; charset=utf-8", HTML_NEWSLETTER),
            from_sender(),
            &["content.no_text_part"],
        ),
        case(
            "image-only: an HTML alternative of two pictures and one word",
            "content.image_only",
            with_body(
                "multipart/alternative; boundary=alt",
                &alternative(
                    "<a href=\"https://msg.test/offers\"><img src=\"https://msg.test/1.png\">\
                             <img src=\"https://msg.test/2.png\"></a><p>Sale!</p>",
                ),
            ),
            from_sender(),
            &["content.image_only"],
        ),
        case(
            "link-not-aligned: the offers link through a provider's tracking domain",
            "content.link_not_aligned",
            with_body(
                "text/plain; charset=utf-8",
                &newsletter
                    .body
                    .replace("https://msg.test/offers", "https://trk.esp.test/c/9e41"),
            ),
            from_sender(),
            &["content.link_not_aligned"],
        ),
        case(
            "url-shortener: the offers link through bit.ly",
            "content.url_shortener",
            with_body(
                "text/plain; charset=utf-8",
                &newsletter
                    .body
                    .replace("https://msg.test/offers", "https://bit.ly/3msg"),
            ),
            from_sender(),
            &["content.url_shortener"],
        ),
        case(
            "html-clipped: an HTML alternative of 110 KB",
            "content.html_clipped",
            with_body(
                "multipart/alternative; boundary=alt",
                &alternative(&"<p>Our July offers, one by one.</p>\r\n".repeat(3_000)),
            ),
            from_sender(),
            &["content.html_clipped"],
        ),
        case(
            "too-large: 11 MB of text",
            "content.too_large",
            with_body(
                "text/plain; charset=utf-8",
                &(newsletter.body.clone()
                    + &"All our July offers, listed one per line.\r\n".repeat(260_000)),
            ),
            from_sender(),
            &["content.too_large"],
        ),
    ]
}

/// The newsletter's text as HTML.
const HTML_NEWSLETTER: &str = "<p>Hello Ann,</p><p>Our July offers are online at \
    <a href=\"https://msg.test/offers\">msg.test/offers</a>.</p><p>You receive this because \
    you subscribed to Msg News. <a href=\"https://msg.test/unsub/5f2c9e1ab7\">Unsubscribe</a>.</p>\r\n";

/// A multipart/alternative body (boundary `alt`) of the newsletter's text
/// and this HTML.
fn alternative(html: &str) -> String {
    let text = Message::newsletter().body;
    format!(
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--alt\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n"
    )
}

/// Message codes whose fixtures live in another module, with why: a DNS
/// blocklist is asked only about a global address, and this module's
/// sender is a documentation address (message_blocklists has the lists).
const ELSEWHERE: &[&str] = &["dnsbl.listed", "dnsbl.unchecked"];

// ---------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_side_code_comes_from_a_fixture() {
    let w = world().await;
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let cases = cases(&w);
    for case in &cases {
        let report = w.report(&case.raw, case.envelope.clone(), case.clock).await;
        let all = codes(&report);
        eprintln!("{}: {all:?}", case.fixture);
        if !all.contains(&case.code) {
            failures.push(format!("{}: no {} in {all:?}", case.fixture, case.code));
            continue;
        }
        covered.insert(case.code);
        let mut got = all.clone();
        got.sort_unstable();
        let mut want: Vec<&str> = case.findings.to_vec();
        want.sort_unstable();
        if got != want {
            failures.push(format!("{}: findings {got:?}, want {want:?}", case.fixture));
            continue;
        }
        (case.check)(&report);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<&str> = mailvet::findings::catalog::MESSAGE_CODES
        .iter()
        .map(|c| c.code)
        .filter(|c| !covered.contains(c) && !ELSEWHERE.contains(c))
        .collect();
    assert!(missing.is_empty(), "no fixture produces {missing:?}");
    assert_eq!(
        covered.len() + ELSEWHERE.len(),
        mailvet::findings::catalog::MESSAGE_CODES.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_aligned_bulk_message_has_no_warning_or_error() {
    let w = world().await;
    let raw = w.clean();
    let report = w.report(&raw, from_sender(), Clock::system()).await;

    assert!(
        serious(&report).is_empty(),
        "warnings or errors on the clean message: {:#?}",
        report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect::<Vec<_>>()
    );
    assert!(codes(&report).is_empty(), "{:?}", codes(&report));

    assert_eq!(report.spf.result, "pass");
    assert!(!report.dkim.signatures.is_empty());
    for s in &report.dkim.signatures {
        assert_eq!(s.result, DkimResult::Pass, "{:?}", s.reason);
        assert_eq!(s.domain.as_deref(), Some("msg.test"));
        assert_eq!(
            s.signed_headers
                .iter()
                .filter(|h| h.eq_ignore_ascii_case("from"))
                .count(),
            2,
            "From oversigned: {:?}",
            s.signed_headers
        );
        assert_eq!(s.key_bits, Some(2048));
        assert_eq!(
            s.aligned_with.as_deref(),
            Some("msg.test"),
            "aligns with From"
        );
    }
    assert_eq!(report.dmarc.result, DmarcResult::Pass);
    assert_eq!(report.arc.result, ArcResult::None);
    let iprev = report.iprev.as_ref().expect("iprev");
    assert_eq!(iprev.result, "pass");
    assert_eq!(iprev.ptr, ["mail.msg.test"]);
    assert!(report.headers.bulk.applies && report.headers.one_click);

    let status = |id: &str| {
        report
            .requirements
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no requirement {id}"))
            .status
    };
    for id in [
        "gmail.bulk.one_click_unsubscribe",
        "gmail.bulk.alignment",
        "gmail.all.ptr",
        "yahoo.bulk.dmarc_pass",
    ] {
        assert_eq!(status(id), Status::Met, "{id}");
    }
    let unmet: Vec<_> = report
        .requirements
        .iter()
        .filter(|r| r.status != Status::Met)
        .map(|r| (r.id, r.status, r.note.as_str()))
        .collect();
    assert!(unmet.is_empty(), "{unmet:?}");
    let ar = &report.authentication_results;
    for word in ["spf=pass", "dkim=pass", "dmarc=pass", "iprev=pass"] {
        assert!(ar.contains(word), "{ar}");
    }
}

/// The counterparts of two fixtures, to show the fixture's change is what
/// the code rests on: an intact ARC chain passes, and the Ed25519 key
/// signs a passing clean message (so `dkim.expired` is the clock alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unchanged_counterparts_pass() {
    let w = world().await;
    let clean = w.clean();
    let sealed = w.seal(&clean);
    let report = w.report(&sealed, from_sender(), Clock::system()).await;
    assert_eq!(
        report.arc.result,
        ArcResult::Pass,
        "{:?}",
        report.arc.reason
    );
    assert!(serious(&report).is_empty(), "{:?}", codes(&report));

    let ed = w.keys.sign(
        &Spec {
            expiration: Some(Duration::from_secs(3600)),
            ..Spec::new("msg.test", Alg::Ed25519)
        },
        &Message::newsletter().text(),
    );
    let report = w.report(&ed, from_sender(), Clock::system()).await;
    assert_eq!(report.dkim.signatures[0].result, DkimResult::Pass);
    assert!(codes(&report).is_empty(), "{:?}", codes(&report));
}

/// An .eml an editor saved with a UTF-8 byte-order mark in front is the
/// same message: its DKIM-Signature, the first field, is still read and
/// passes, and the report is the one of the message without the mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_in_front_does_not_hide_the_first_field() {
    let w = world().await;
    let clean = w.clean();
    assert!(
        clean.starts_with("DKIM-Signature:"),
        "the signature stands first"
    );
    let plain = w.report(&clean, from_sender(), Clock::system()).await;
    let marked = w
        .report(&format!("\u{feff}{clean}"), from_sender(), Clock::system())
        .await;
    assert_eq!(marked.dkim.signatures.len(), 1);
    assert_eq!(marked.dkim.signatures[0].result, DkimResult::Pass);
    assert_eq!(codes(&marked), codes(&plain));
    assert_eq!(marked.authentication_results, plain.authentication_results);
}

/// The report's one sentence says what receivers do, from DMARC: a
/// message passing through SPF alone with a broken signature is delivered
/// and one forward from failing (not "FAIL"); the same message from a host
/// outside SPF is rejected under msg.test's `p=reject`, and without an
/// envelope only unless SPF passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_says_what_receivers_do() {
    let w = world().await;
    let clean = w.clean();
    let both = w.report(&clean, from_sender(), Clock::system()).await;
    assert_eq!(
        both.summary,
        "Receivers will accept this message: it passes DMARC for msg.test through both SPF \
         and DKIM."
    );

    let broken = clean.replacen("\r\n\r\n", "\r\n\r\nAltered in transit. ", 1);
    let report = w.report(&broken, from_sender(), Clock::system()).await;
    assert_eq!(report.dkim.signatures[0].result, DkimResult::Fail);
    assert_eq!(report.dmarc.result, DmarcResult::Pass);
    assert_eq!(
        report.summary,
        "Receivers will accept this message: it passes DMARC for msg.test through SPF alone, \
         but its DKIM signature is broken, so it is one forward away from failing DMARC."
    );

    let elsewhere = envelope("198.51.100.7", "relay.example", BOUNCE);
    let report = w.report(&broken, elsewhere.clone(), Clock::system()).await;
    assert_eq!(report.dmarc.result, DmarcResult::Fail);
    assert_eq!(
        report.summary,
        "Receivers will reject this message: it fails DMARC for msg.test, whose policy is \
         p=reject."
    );

    // With no envelope SPF is not checked: DMARC failed on DKIM alone, and
    // the sentence does not state the outcome as certain.
    let unchecked = Envelope {
        ip: None,
        helo: None,
        mail_from: None,
    };
    let report = w.report(&broken, unchecked, Clock::system()).await;
    assert_eq!(report.dmarc.result, DmarcResult::Fail);
    assert_eq!(
        report.summary,
        "Unless SPF passes aligned with msg.test for the envelope it is sent with, receivers \
         will reject this message (p=reject): DKIM alone does not pass DMARC, and SPF was not \
         checked (give the client IP and MAIL FROM to check it)."
    );

    // Forwarded with its signature intact: DKIM carries DMARC. SPF fails
    // for the forwarder's IP, an error that heads the report "FAIL", and
    // the sentence names it rather than contradict the heading.
    let forwarded = w.report(&clean, elsewhere, Clock::system()).await;
    assert_eq!(forwarded.verdict, Verdict::Fail);
    assert_eq!(
        forwarded.summary,
        "This message passes DMARC for msg.test through DKIM, which survives forwarding. It \
         may still be refused or put in spam, though: SPF fails for the envelope sender."
    );
}

/// The hand-written RSASSA-PKCS1-v1_5 of [`RsaSha1Key`] is checked against
/// aws-lc-rs (through mail-auth's `rsa-sha256` signer): the scheme is
/// deterministic, so with the SHA-256 DigestInfo both must give the same
/// bytes. Only the DigestInfo differs for SHA-1.
#[test]
fn the_rsa_sha1_signer_is_pkcs1_v1_5() {
    const SHA256_DIGEST_INFO: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let keys = Keys::generate();
    let data: &[u8] = b"from:Msg News <news@msg.test>\r\ndkim-signature:v=1; b=";
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(keys.rsa_pkcs8.clone()));
    let aws_lc = RsaKey::<Sha256>::from_key_der(der)
        .expect("RSA key")
        .sign(data)
        .expect("signs");
    let digest = HashAlgorithm::Sha256.hash(data);
    let ours = keys
        .sha1
        .sign_digest_info(&[&SHA256_DIGEST_INFO[..], digest.as_ref()].concat());
    assert_eq!(ours.len(), 256);
    assert_eq!(ours, aws_lc);
    // And the SHA-1 signature is another one, of the same length.
    let sha1 = keys.sha1.sign(data).expect("signs");
    assert_eq!(sha1.len(), 256);
    assert_ne!(sha1, aws_lc);
}
