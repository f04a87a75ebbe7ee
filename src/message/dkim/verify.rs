//! Our own DKIM verifier, for what mail-auth cannot be asked to do, and the
//! key lookup it shares with the ARC module ([`crate::message::arc`]).
//!
//! mail-auth compares `x=` with the real time and keeps its key type and
//! verify function crate-private, so a signature it refused only for its
//! expiry by the real time, and every ARC hop, are verified here from
//! scratch: body canonicalization and hash (RFC 6376 §3.4.3, §3.4.4,
//! §3.7), header selection bottom-up (§5.4.2) and canonicalization
//! (§3.4.1, §3.4.2) with the `b=` value emptied (§3.7), the key record
//! fetched through the request's resolver and read by the domain audit's
//! key reader (§3.6.2), and the signature checked with RSASSA-PKCS1-v1_5
//! (1024 to 8192 bits, as mail-auth accepts, RFC 8301 §3.2) or Ed25519 over
//! the SHA-256 of the header data (RFC 8463 §3). The primitives come from
//! hickory-proto's DNSSEC crypto (the same aws-lc-rs code mail-auth uses;
//! the feature is switched on by mail-auth's default features). The unit
//! tests check this verifier against every signature of the conformance
//! vectors.

use super::judge::{Verdict, bad_signature};
use super::{DkimProblem, DkimResult};
use crate::dns::{DnsError, Rcode, Resolver};
use crate::records::dkim_key::{
    KeyAlgorithm, KeyRecord, KeyStatus, decode_base64, read_key_record,
};
use crate::records::tag_list::Space;
use hickory_proto::dnssec::PublicKey as _;
use hickory_proto::rr::{Name, RecordType};
use mail_auth::crypto::{Algorithm, HashAlgorithm};
use mail_auth::dkim::Canonicalization;

/// The key record at a selector, as fetched through the request's resolver.
#[derive(Debug, Clone)]
pub(crate) enum KeyLookup {
    /// The record the verifier uses: the first valid key, else the first
    /// revoked one, else the first record (which is then unusable).
    Found(Box<KeyRecord>),
    /// NXDOMAIN, or no TXT record there.
    NotFound,
    /// The lookup failed: the key may well exist.
    Failed(DnsError),
    /// `s=` and `d=` do not form a DNS name.
    BadName(String),
}

impl KeyLookup {
    /// The verdict when the key could not be had.
    pub(super) fn verdict(&self, d: &str, s: &str) -> Verdict {
        let name = format!("{s}._domainkey.{d}");
        match self {
            KeyLookup::Found(_) => Verdict::pass(),
            KeyLookup::NotFound => Verdict::new(
                DkimResult::PermError,
                DkimProblem::KeyNotFound,
                format!("key not found: no key record at {name}"),
            ),
            KeyLookup::Failed(e) => Verdict::new(
                DkimResult::TempError,
                DkimProblem::DnsError,
                format!("the key at {name} could not be fetched ({e}); try again later"),
            ),
            KeyLookup::BadName(e) => Verdict::new(
                DkimResult::PermError,
                DkimProblem::KeyNotFound,
                format!("key not found: {name} is not a valid DNS name ({e})"),
            ),
        }
    }

    /// The same, for callers outside this module: a reason, or `None` for
    /// a found key.
    pub(crate) fn problem(&self, d: &str, s: &str) -> Option<String> {
        match self {
            KeyLookup::Found(_) => None,
            other => other.verdict(d, s).reason,
        }
    }
}

/// Fetches and reads the key record at `<s>._domainkey.<d>`
/// (RFC 6376 §3.6.2.1), its character-strings joined (§3.6.2.2).
pub(crate) async fn fetch_key(resolver: &Resolver, d: &str, s: &str) -> KeyLookup {
    let text = format!("{s}._domainkey.{d}.");
    let name = match Name::from_ascii(&text) {
        Ok(name) => name,
        Err(e) => return KeyLookup::BadName(e.to_string()),
    };
    let answer = match resolver.lookup(&name, RecordType::TXT).await {
        Ok(answer) => answer,
        Err(e) => return KeyLookup::Failed(e),
    };
    let records: Vec<KeyRecord> = answer
        .txt()
        .into_iter()
        .map(|strings| read_key_record(&String::from_utf8_lossy(&strings.concat())))
        .collect();
    if records.is_empty() || answer.rcode == Rcode::NXDomain {
        return KeyLookup::NotFound;
    }
    let pick = records
        .iter()
        .position(|k| k.status == KeyStatus::Valid)
        .or_else(|| records.iter().position(|k| k.status == KeyStatus::Revoked))
        .unwrap_or(0);
    match records.into_iter().nth(pick) {
        Some(record) => KeyLookup::Found(Box::new(record)),
        None => KeyLookup::NotFound,
    }
}

/// Why our own check of a signature failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Broken {
    KeyRevoked,
    KeyInvalid(String),
    KeyUnusable(String),
    Signature,
}

impl Broken {
    pub(super) fn verdict(&self, d: &str, s: &str) -> Verdict {
        let name = format!("{s}._domainkey.{d}");
        match self {
            Broken::KeyRevoked => Verdict::new(
                DkimResult::PermError,
                DkimProblem::KeyRevoked,
                format!("key revoked: the record at {name} has an empty p="),
            ),
            Broken::KeyInvalid(why) => Verdict::new(
                DkimResult::PermError,
                DkimProblem::KeyInvalid,
                format!("the key record at {name} is unusable: {why}"),
            ),
            Broken::KeyUnusable(why) => {
                Verdict::new(DkimResult::Fail, DkimProblem::KeyUnusable, why.clone())
            }
            Broken::Signature => bad_signature(),
        }
    }

    /// In plain words, for the ARC module.
    pub(crate) fn describe(&self, d: &str, s: &str) -> String {
        self.verdict(d, s).reason.unwrap_or_default()
    }
}

/// Why a valid key cannot verify a signature of this algorithm
/// (RFC 6376 §3.6.1 `k=`, `h=`, `s=`; RFC 8301 §3.2; RFC 8463 §4).
pub(super) fn key_unusable(key: &KeyRecord, algorithm: Algorithm) -> Option<String> {
    let wanted = match algorithm {
        Algorithm::RsaSha1 | Algorithm::RsaSha256 => KeyAlgorithm::Rsa,
        Algorithm::Ed25519Sha256 => KeyAlgorithm::Ed25519,
        _ => return Some(format!("a={} is not a DKIM algorithm", algorithm.name())),
    };
    if key.algorithm != Some(wanted) {
        return Some(format!(
            "the key is not of the type a={} needs (k={})",
            algorithm.name(),
            key.tags
                .as_ref()
                .and_then(|t| t.k.clone())
                .unwrap_or_else(|| "rsa".into())
        ));
    }
    if let Some(bits) = key.bits.filter(|_| wanted == KeyAlgorithm::Rsa)
        && !(1024..=8192).contains(&bits)
    {
        return Some(format!(
            "the RSA key is {bits} bits; receivers accept 1024 to 8192 bits (RFC 8301 §3.2)"
        ));
    }
    let tags = key.tags.as_ref()?;
    let listed = |value: &Option<String>| -> Vec<String> {
        value
            .as_deref()
            .unwrap_or_default()
            .split(':')
            .map(|v| Space::Fws.trim(v).to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let hash = HashAlgorithm::from(algorithm).name();
    let hashes = listed(&tags.h);
    if !hashes.is_empty() && !hashes.iter().any(|h| h == hash) {
        return Some(format!(
            "the key allows only h={} and the signature uses {hash}",
            hashes.join(":")
        ));
    }
    let services = listed(&tags.s);
    if !services.is_empty() && !services.iter().any(|s| s == "*" || s == "email") {
        return Some("the key's s= does not allow email (RFC 6376 §3.6.1)".into());
    }
    None
}

/// Checks `signature` (the decoded `b=`) over `data` (the header hash
/// input) with a key record.
pub(crate) fn verify_with_key(
    key: &KeyRecord,
    algorithm: Algorithm,
    data: &[u8],
    signature: &[u8],
) -> Result<(), Broken> {
    match key.status {
        KeyStatus::Revoked => return Err(Broken::KeyRevoked),
        KeyStatus::Invalid => {
            return Err(Broken::KeyInvalid(
                key.problem.clone().unwrap_or_else(|| "malformed".into()),
            ));
        }
        KeyStatus::Valid => {}
    }
    if let Some(problem) = key_unusable(key, algorithm) {
        return Err(Broken::KeyUnusable(problem));
    }
    let bytes = key
        .tags
        .as_ref()
        .and_then(|t| t.p.as_deref())
        .and_then(|p| decode_base64(p).ok())
        .ok_or_else(|| Broken::KeyInvalid("p= does not decode".into()))?;
    match algorithm {
        Algorithm::Ed25519Sha256 => {
            // RFC 8463 §3: Ed25519 signs the SHA-256 of the header data.
            let digest = HashAlgorithm::Sha256.hash(data);
            let key = hickory_proto::dnssec::crypto::Ed25519::from_public_bytes(bytes.into())
                .map_err(|e| Broken::KeyInvalid(e.to_string()))?;
            key.verify(digest.as_ref(), signature)
                .map_err(|_| Broken::Signature)
        }
        Algorithm::RsaSha256 | Algorithm::RsaSha1 => {
            let encoded = rsa_dnskey_form(&bytes)
                .ok_or_else(|| Broken::KeyInvalid("p= is not an RSA public key".into()))?;
            #[allow(deprecated)] // RSASHA1 is deprecated for DNSSEC, and rsa-sha1 for DKIM too
            let dnssec_algorithm = if algorithm == Algorithm::RsaSha1 {
                hickory_proto::dnssec::Algorithm::RSASHA1
            } else {
                hickory_proto::dnssec::Algorithm::RSASHA256
            };
            let key =
                hickory_proto::dnssec::crypto::Rsa::from_public_bytes(&encoded, dnssec_algorithm)
                    .map_err(|e| Broken::KeyInvalid(e.to_string()))?;
            key.verify(data, signature).map_err(|_| Broken::Signature)
        }
        other => Err(Broken::KeyUnusable(format!(
            "a={} is not a DKIM algorithm",
            other.name()
        ))),
    }
}

/// An RSA key (SubjectPublicKeyInfo or bare RSAPublicKey, RFC 8017 §A.1.1)
/// in the RFC 3110 §2 layout the DNSSEC primitives take: exponent length,
/// exponent, modulus, each integer without leading zeros. The domain
/// audit's key reader has already checked the DER; this only takes it
/// apart.
pub(super) fn rsa_dnskey_form(der: &[u8]) -> Option<Vec<u8>> {
    let (outer, _) = der_element(der, 0x30)?;
    let rsa = if outer.first() == Some(&0x02) {
        outer
    } else {
        let (_, rest) = der_element(outer, 0x30)?;
        let (bits, _) = der_element(rest, 0x03)?;
        let (_, key) = bits.split_first()?;
        der_element(key, 0x30)?.0
    };
    let (n, rest) = der_element(rsa, 0x02)?;
    let (e, _) = der_element(rest, 0x02)?;
    let strip = |i: &[u8]| -> Vec<u8> { i.iter().copied().skip_while(|&b| b == 0).collect() };
    let (n, e) = (strip(n), strip(e));
    let mut out = Vec::with_capacity(n.len() + e.len() + 3);
    match u8::try_from(e.len()) {
        Ok(len) if len > 0 => out.push(len),
        _ => {
            out.push(0);
            out.extend_from_slice(&u16::try_from(e.len()).ok()?.to_be_bytes());
        }
    }
    out.extend_from_slice(&e);
    out.extend_from_slice(&n);
    Some(out)
}

/// The contents of the DER element at the front of `input`, which must
/// carry `tag`, and what follows it (X.690 §8.1).
pub(super) fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (octets, rest) = rest.split_at_checked(count)?;
        (
            octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b)),
            rest,
        )
    };
    rest.split_at_checked(len)
}

/// The body hash of RFC 6376 §3.7: the body canonicalized (§3.4.3 simple,
/// §3.4.4 relaxed), cut to `l` octets when `l` is not 0, hashed.
pub(crate) fn body_hash(
    body: &[u8],
    canonicalization: Canonicalization,
    l: u64,
    hash: HashAlgorithm,
) -> Vec<u8> {
    let mut canonical = canonical_body(body, canonicalization);
    if l != 0 {
        canonical.truncate(usize::try_from(l).unwrap_or(usize::MAX));
    }
    hash.hash(canonical.as_slice()).as_ref().to_vec()
}

pub(super) fn canonical_body(body: &[u8], canonicalization: Canonicalization) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len() + 2);
    match canonicalization {
        Canonicalization::Simple => out.extend_from_slice(body),
        Canonicalization::Relaxed => {
            for line in body.split_inclusive(|&b| b == b'\n') {
                let (content, ending) = match line.strip_suffix(b"\r\n") {
                    Some(content) => (content, &b"\r\n"[..]),
                    None => (line, &b""[..]),
                };
                // Runs of WSP become one SP; WSP at the end of a line goes.
                let mut pending_space = false;
                for &b in content {
                    if Space::Wsp.contains(char::from(b)) {
                        pending_space = true;
                    } else {
                        if pending_space {
                            out.push(b' ');
                            pending_space = false;
                        }
                        out.push(b);
                    }
                }
                out.extend_from_slice(ending);
            }
        }
    }
    // Empty lines at the end go; a body that does not end in CRLF gets one.
    while out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
    match canonicalization {
        Canonicalization::Simple => out.extend_from_slice(b"\r\n"),
        Canonicalization::Relaxed if !out.is_empty() => out.extend_from_slice(b"\r\n"),
        Canonicalization::Relaxed => {}
    }
    out
}

/// The header hash input of RFC 6376 §3.7: the headers `h=` names, each
/// taken from the bottom up (§5.4.2; a name with no instance left adds
/// nothing), then the signature header itself with its `b=` value emptied
/// and without its final CRLF, all canonicalized (§3.4.1, §3.4.2).
/// `headers` are the message's, in order, as (name, value with its line
/// end).
pub(crate) fn header_hash_input(
    headers: &[(&[u8], &[u8])],
    signed: &[String],
    signature_name: &[u8],
    signature_value: &[u8],
    canonicalization: Canonicalization,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut used = vec![false; headers.len()];
    for wanted in signed {
        let wanted = Space::Fws.trim(wanted).as_bytes();
        let found = headers
            .iter()
            .enumerate()
            .rev()
            .find(|(i, (name, _))| {
                !used.get(*i).copied().unwrap_or(true)
                    && trim_bytes(name, Space::Wsp).eq_ignore_ascii_case(wanted)
            })
            .map(|(i, header)| (i, *header));
        if let Some((i, (name, value))) = found {
            if let Some(slot) = used.get_mut(i) {
                *slot = true;
            }
            canonical_header(name, value, canonicalization, &mut out);
        }
    }
    let stripped = strip_b_value(signature_value);
    let mut last = Vec::new();
    canonical_header(signature_name, &stripped, canonicalization, &mut last);
    if last.ends_with(b"\r\n") {
        last.truncate(last.len() - 2);
    }
    out.extend_from_slice(&last);
    out
}

/// One header canonicalized, with a CRLF at its end.
pub(crate) fn canonical_header(
    name: &[u8],
    value: &[u8],
    canonicalization: Canonicalization,
    out: &mut Vec<u8>,
) {
    match canonicalization {
        Canonicalization::Simple => {
            out.extend_from_slice(name);
            out.push(b':');
            out.extend_from_slice(value);
            if !value.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
        Canonicalization::Relaxed => {
            out.extend(
                trim_bytes(name, Space::Wsp)
                    .iter()
                    .map(u8::to_ascii_lowercase),
            );
            out.push(b':');
            // Unfold, make runs of WSP one SP, drop WSP at both ends.
            let mut pending_space = false;
            let mut started = false;
            for &b in value {
                if b == b'\r' || b == b'\n' {
                    continue;
                }
                if Space::Wsp.contains(char::from(b)) {
                    pending_space = started;
                } else {
                    if pending_space {
                        out.push(b' ');
                        pending_space = false;
                    }
                    out.push(b);
                    started = true;
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A signature header value with the value of its `b=` tag deleted,
/// whitespace around it included (RFC 6376 §3.7); everything else stays
/// byte for byte.
pub(crate) fn strip_b_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for (index, spec) in value.split(|&b| b == b';').enumerate() {
        if index > 0 {
            out.push(b';');
        }
        match spec.iter().position(|&b| b == b'=') {
            Some(eq)
                if spec
                    .get(..eq)
                    .is_some_and(|n| trim_bytes(n, Space::Fws) == b"b") =>
            {
                out.extend_from_slice(spec.get(..=eq).unwrap_or_default());
            }
            _ => out.extend_from_slice(spec),
        }
    }
    out
}

/// `bytes` without the white space of `space` at either end.
pub(crate) fn trim_bytes(bytes: &[u8], space: Space) -> &[u8] {
    let blank = |b: &u8| space.contains(char::from(*b));
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}
