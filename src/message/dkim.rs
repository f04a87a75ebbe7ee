//! DKIM on a message: every `DKIM-Signature` header, in header order, with
//! the result a receiver following RFC 6376 and RFC 8301 would reach.
//!
//! Each signature gets an RFC 8601 §2.7.1 result word and, when it is not
//! `pass`, the reason in plain words:
//!
//! | result | when |
//! |---|---|
//! | `pass` | the body hash and the signature verify with the published key |
//! | `fail` | the body hash does not match (RFC 6376 §6.1.3), the signature does not verify, or the key cannot verify it (wrong type, shorter than 1024 bits, RFC 8301 §3.2) |
//! | `policy` | valid, but not acceptable: `x=` is in the past (RFC 6376 §3.5), or `a=rsa-sha1` (RFC 8301 §3.1) |
//! | `permerror` | the header does not parse or breaks a rule of RFC 6376 §3.5/§6.1.1 (`v=`, `a=` missing, From not signed, `i=` outside `d=`, `x=` not after `t=`), or the key record is missing, revoked or malformed (§6.1.2) |
//! | `temperror` | the key could not be fetched (DNS failure) |
//!
//! mail-auth's `verify_dkim` does the work; this module corrects what it
//! reports differently from the RFCs (MAIL-AUTH-NOTES §7): a body-hash
//! mismatch comes back `neutral` (here `fail`), a header that does not parse
//! yields no result at all (here `permerror`, in its place in header
//! order), `rsa-sha1` passes (here `policy`), and the structural rules in
//! the table above are not checked. Findings: `dkim.missing`, `dkim.fail`
//! (for `fail` and `permerror`), `dkim.expired` and `dkim.sha1`, and
//! `dkim.not_evaluated` when the message limits ([`super::limits`]) left
//! signatures out; the alignment, `l=` and oversigning codes belong to
//! other modules.
//!
//! # The clock
//!
//! Expiry is judged against [`MessageContext::clock`], not the real time,
//! so a message can be verified as of when it was sent. mail-auth compares
//! `x=` with the real time and has no way to pass another, so:
//!
//! - a signature whose `x=` is past at the clock is `policy` (expired),
//!   whatever mail-auth said;
//! - a signature mail-auth rejected *only* because `x=` is past the real
//!   time, which is not past at the clock, is verified here from scratch:
//!   body canonicalization and hash (RFC 6376 §3.4.3, §3.4.4, §3.7), header
//!   selection bottom-up (§5.4.2) and canonicalization (§3.4.1, §3.4.2) with
//!   the `b=` value emptied (§3.7), the key record fetched through
//!   `cx.resolver` and read by the domain audit's key reader, and the
//!   signature checked with RSASSA-PKCS1-v1_5 (1024 to 8192 bits, as
//!   mail-auth accepts) or Ed25519 over the SHA-256 of the header data
//!   (RFC 8463 §3). mail-auth keeps its key type and verify function
//!   crate-private, so the primitives come from hickory-proto's DNSSEC
//!   crypto (the same aws-lc-rs code mail-auth uses; the feature is
//!   switched on by mail-auth's default features). The unit tests check this
//!   verifier against every signature of the conformance vectors.
//!
//! The same verifier serves the ARC module ([`super::arc`]), which has the
//! same problem with the newest ARC-Message-Signature and needs to find the
//! hop that broke a chain.
//!
//! # Lifetimes
//!
//! mail-auth's outputs borrow the parsed message: `verify_dkim` takes an
//! `&'x AuthenticatedMessage<'x>` and returns `DkimOutput<'x>`, and DMARC's
//! `DmarcParameters` wants the message and those outputs with the same
//! `'x`. So [`verify_message`] takes the message the caller parsed (with
//! [`parse`], from [`wire_form`] bytes the caller keeps) and returns a
//! [`DkimVerification<'x>`] whose `outputs` can go straight to
//! `verify_dmarc`; [`verify`] is the same for callers that need only the
//! section and findings. Both judge every signature; [`verify_within`]
//! judges those a [`Budget`] keeps, as the message report does.

use super::limits::{Budget, SignatureKind, signature_kind};
use crate::dns::{DnsError, Rcode, Resolver};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::dkim_key::{
    KeyAlgorithm, KeyRecord, KeyStatus, decode_base64, read_key_record,
};
use futures_util::future::join_all;
use hickory_proto::dnssec::PublicKey as _;
use hickory_proto::rr::{Name, RecordType};
use mail_auth::crypto::{Algorithm, CryptoError, HashAlgorithm};
use mail_auth::dkim::{Canonicalization, DkimError, Signature};
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DnsError as AuthDnsError, Error as AuthError, Parameters,
};
use serde::Serialize;
use std::borrow::Cow;

use super::MessageContext;

/// The RFC 8601 §2.7.1 result of one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimResult {
    Pass,
    Fail,
    Neutral,
    Policy,
    TempError,
    PermError,
}

impl DkimResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Neutral => "neutral",
            DkimResult::Policy => "policy",
            DkimResult::TempError => "temperror",
            DkimResult::PermError => "permerror",
        }
    }
}

/// Why a signature did not pass, as a stable word for machines; the
/// `reason` beside it says the same for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DkimProblem {
    /// The body changed after signing (or `l=`/`c=` do not match it).
    BodyHashMismatch,
    /// The signature does not verify over the signed headers.
    BadSignature,
    /// No key record at `<s>._domainkey.<d>`.
    KeyNotFound,
    /// The key record has an empty `p=`.
    KeyRevoked,
    /// The key record does not parse or its key does not decode.
    KeyInvalid,
    /// The key is fine but cannot verify this signature (type, size, `h=`,
    /// `s=`).
    KeyUnusable,
    /// `i=` is not `d=` or below it (or not exactly `d=` under a `t=s` key).
    IdentityMismatch,
    /// `h=` does not list From.
    FromNotSigned,
    /// The header does not parse or lacks a required tag.
    Unparsable,
    /// `x=` is in the past.
    Expired,
    /// `a=rsa-sha1`.
    Sha1,
    /// The key lookup failed.
    DnsError,
    /// Anything else mail-auth reported.
    Other,
}

/// One `DKIM-Signature` header and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct DkimSignature {
    pub result: DkimResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<DkimProblem>,
    /// Why the result is not `pass`, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `d=`, the signing domain (SDID).
    pub domain: Option<String>,
    /// `s=`.
    pub selector: Option<String>,
    /// `a=` as written (`rsa-sha256` when mail-auth parsed it without one).
    pub algorithm: Option<String>,
    /// `c=` as `header/body`, the defaults filled in (RFC 6376 §3.5).
    pub canonicalization: Option<String>,
    /// `h=`, in order.
    pub signed_headers: Vec<String>,
    /// `i=`, the agent or user identifier (AUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// `l=`: how many body octets are signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_length: Option<u64>,
    /// `t=`, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// `x=`, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    /// Size of the published key: the RSA modulus, or 256 for Ed25519.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// The From domain this signature aligns with; filled in by the DMARC
    /// check, which knows the From domain and the alignment mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aligned_with: Option<String>,
}

impl DkimSignature {
    /// True when the signature counts: it verified and is acceptable.
    pub fn passed(&self) -> bool {
        self.result == DkimResult::Pass
    }
}

/// The `dkim` section of a message report: one entry per signature, in
/// header order (an empty list for an unsigned message).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct DkimSection {
    pub signatures: Vec<DkimSignature>,
}

impl DkimSection {
    /// The `d=` domains of the signatures that passed, for DMARC alignment.
    pub fn passing_domains(&self) -> impl Iterator<Item = &str> {
        self.signatures
            .iter()
            .filter(|s| s.passed())
            .filter_map(|s| s.domain.as_deref())
    }
}

/// Everything [`verify_message`] found. `outputs[i]` belongs to
/// `section.signatures[i]`: mail-auth's output for that signature with its
/// result corrected as the section says (`fail` for a body-hash mismatch,
/// `pass` for a signature re-judged at the clock, `neutral` for `policy`,
/// which mail-auth has no word for), or a `permerror` without a signature
/// for a header mail-auth could not parse. Hand them to
/// `mail_auth::dmarc::verify::DmarcParameters` with the same message: DMARC
/// counts only `pass` outputs.
#[derive(Debug, Clone)]
pub struct DkimVerification<'x> {
    pub section: DkimSection,
    pub findings: Vec<Finding>,
    pub outputs: Vec<DkimOutput<'x>>,
}

/// The message as on the wire: bare LF line ends (a pasted message, a
/// Unix mailbox) become CRLF, which is what signers hashed (RFC 5322 §2.1,
/// RFC 6376 §3.4); a message already in CRLF form is borrowed unchanged.
pub fn wire_form(raw: &[u8]) -> Cow<'_, [u8]> {
    let is_bare = |i: usize| i == 0 || raw[i - 1] != b'\r';
    let mut line_ends = memchr::memchr_iter(b'\n', raw);
    let Some(first_bare) = line_ends.by_ref().find(|&i| is_bare(i)) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    out.extend_from_slice(&raw[..first_bare]);
    out.push(b'\r');
    let mut copied = first_bare;
    for i in line_ends.filter(|&i| is_bare(i)) {
        out.extend_from_slice(&raw[copied..i]);
        out.push(b'\r');
        copied = i;
    }
    out.extend_from_slice(&raw[copied..]);
    Cow::Owned(out)
}

/// Parses a message (in [`wire_form`]) the way both DKIM and ARC need it:
/// signatures with `l=` are verified (mail-auth's strict mode refuses them;
/// RFC 6376 §3.5 allows them, and another check reports them). `None` for
/// input without a single header line.
pub fn parse(wire: &[u8]) -> Option<AuthenticatedMessage<'_>> {
    AuthenticatedMessage::parse_with_opts(wire, None, false)
}

/// Verifies every DKIM signature of `cx.raw`.
pub async fn verify(cx: &MessageContext<'_>) -> Checked<DkimSection> {
    let wire = wire_form(cx.raw);
    let Some(message) = parse(&wire) else {
        return Checked {
            section: DkimSection::default(),
            findings: vec![missing()],
        };
    };
    let verification = verify_message(cx, &message).await;
    Checked {
        section: verification.section,
        findings: verification.findings,
    }
}

/// Verifies every DKIM signature of a message parsed with [`parse`]; only
/// the resolver, the authenticator and the clock of `cx` are used.
pub async fn verify_message<'x>(
    cx: &'x MessageContext<'_>,
    message: &'x AuthenticatedMessage<'x>,
) -> DkimVerification<'x> {
    verify_within(cx, message, &Budget::default()).await
}

/// [`verify_message`] for the signatures `budget` judges, `message` parsed
/// from the bytes the budget returned (and [`Budget::retain`]ed): the
/// others are neither looked up nor listed, and `dkim.not_evaluated` says
/// how many there were.
pub async fn verify_within<'x>(
    cx: &'x MessageContext<'_>,
    message: &'x AuthenticatedMessage<'x>,
    budget: &Budget,
) -> DkimVerification<'x> {
    let headers = signature_headers(message, budget);
    let left_out = budget.finding();
    if headers.is_empty() {
        return DkimVerification {
            section: DkimSection::default(),
            findings: vec![left_out.unwrap_or_else(missing)],
            outputs: Vec::new(),
        };
    }

    // Keys are fetched first, for the key size and for re-verification;
    // mail-auth then takes them from the request's answers (no second
    // round trip through the bridge).
    let mut key_names: Vec<(String, String)> = Vec::new();
    for header in &headers {
        if let Parsed::Ok(signature) = &header.parsed {
            let key = (signature.d.clone(), signature.s.clone());
            if !key_names.contains(&key) {
                key_names.push(key);
            }
        }
    }
    let keys = join_all(key_names.iter().map(|(d, s)| fetch_key(cx.resolver, d, s))).await;
    cx.resolver.share_answers(&cx.answered);
    let outputs = cx
        .authenticator
        .verify_dkim(Parameters::new(message).with_cache(&cx.answered))
        .await;
    let key_for = |d: &str, s: &str| {
        key_names
            .iter()
            .position(|(kd, ks)| kd == d && ks == s)
            .and_then(|i| keys.get(i))
    };

    let now = cx.clock.now();
    let body = message.raw_body();
    let mut section = DkimSection::default();
    let mut findings = Vec::new();
    let mut corrected = Vec::with_capacity(headers.len());
    for header in &headers {
        let key = match &header.parsed {
            Parsed::Ok(signature) => key_for(&signature.d, &signature.s),
            Parsed::Failed(_) => None,
        };
        let (report, output) = match &header.parsed {
            Parsed::Failed(error) => {
                let report = unparsable_report(header, error);
                let output = DkimOutput::from(mail_auth::DkimResult::PermError(error.clone()));
                (report, output)
            }
            Parsed::Ok(signature) => {
                let output = outputs
                    .iter()
                    .find(|o| o.signature().is_some_and(|s| std::ptr::eq(s, *signature)))
                    .cloned();
                let input = Judged {
                    header,
                    signature,
                    output,
                    key,
                    now,
                    headers: message.headers(),
                    body,
                };
                judge(input)
            }
        };
        if let Some(finding) = finding_for(&report, header, key) {
            findings.push(finding);
        }
        section.signatures.push(report);
        corrected.push(output);
    }
    findings.extend(left_out);
    DkimVerification {
        section,
        findings,
        outputs: corrected,
    }
}

fn missing() -> Finding {
    Finding::new(
        catalog::DKIM_MISSING,
        "the message has no DKIM-Signature header, so no domain vouches for it",
    )
}

// ---------------------------------------------------------------------------
// The signature headers, in header order

/// One `DKIM-Signature` header and what mail-auth made of it.
struct SignatureHeader<'x> {
    name: &'x [u8],
    value: &'x [u8],
    /// The tags as written, read leniently (for reporting and for the
    /// rules mail-auth does not check).
    tags: Vec<Tag>,
    parsed: Parsed<'x>,
}

enum Parsed<'x> {
    Ok(&'x Signature),
    Failed(AuthError),
}

/// Every `DKIM-Signature` header the budget judges, in message order,
/// matched with mail-auth's parse of it (its list of parsed signatures
/// skips those that failed, which appear only among its errors).
fn signature_headers<'x>(
    message: &'x AuthenticatedMessage<'x>,
    budget: &Budget,
) -> Vec<SignatureHeader<'x>> {
    let base = message.raw_message().as_ptr() as usize;
    let mut out = Vec::new();
    for &(name, value) in message.headers() {
        if signature_kind(name) != Some(SignatureKind::Dkim)
            || !budget.judges((value.as_ptr() as usize).wrapping_sub(base))
        {
            continue;
        }
        let parsed = if let Some(h) = message
            .dkim_signatures()
            .iter()
            .find(|h| std::ptr::eq(h.value, value))
        {
            Parsed::Ok(&h.header)
        } else {
            let error = message
                .errors()
                .iter()
                .find(|h| std::ptr::eq(h.value, value))
                .map_or(AuthError::Parse, |h| h.header.clone());
            Parsed::Failed(error)
        };
        out.push(SignatureHeader {
            name,
            value,
            tags: read_tag_list(value).0,
            parsed,
        });
    }
    out
}

fn tag<'t>(tags: &'t [Tag], name: &str) -> Option<&'t str> {
    tags.iter()
        .find(|t| t.name == name)
        .map(|t| t.value.as_str())
}

/// The report of a header mail-auth could not parse, from its tags as
/// written.
fn unparsable_report(header: &SignatureHeader<'_>, error: &AuthError) -> DkimSignature {
    let tags = &header.tags;
    let number = |name: &str| tag(tags, name).and_then(|v| v.parse::<u64>().ok());
    let reason = match error {
        AuthError::MissingParameters => {
            let missing: Vec<String> = ["d", "s", "b", "bh", "h"]
                .iter()
                .filter(|n| tag(tags, n).is_none_or(|v| v.trim().is_empty()))
                .map(|n| format!("{n}="))
                .collect();
            format!(
                "unparsable: the required tag(s) {} are missing or empty (RFC 6376 §3.5)",
                missing.join(", ")
            )
        }
        AuthError::Base64 => "unparsable: b= or bh= is not valid base64".to_string(),
        AuthError::Parse => "unparsable: the header does not parse (i= is not valid?)".to_string(),
        AuthError::Dkim(DkimError::UnsupportedVersion) => format!(
            "unparsable: v={} (only v=1 is defined, RFC 6376 §3.5)",
            tag(tags, "v").unwrap_or_default()
        ),
        AuthError::Dkim(DkimError::UnsupportedAlgorithm) => format!(
            "unparsable: a={} is not a DKIM algorithm (rsa-sha256 or ed25519-sha256)",
            tag(tags, "a").unwrap_or_default()
        ),
        AuthError::Dkim(DkimError::UnsupportedCanonicalization) => format!(
            "unparsable: c={} is not simple or relaxed (RFC 6376 §3.4)",
            tag(tags, "c").unwrap_or_default()
        ),
        other => format!("unparsable: {other}"),
    };
    DkimSignature {
        result: DkimResult::PermError,
        problem: Some(DkimProblem::Unparsable),
        reason: Some(reason),
        domain: tag(tags, "d").map(|d| d.to_ascii_lowercase()),
        selector: tag(tags, "s").map(str::to_string),
        algorithm: tag(tags, "a").map(str::to_string),
        canonicalization: tag(tags, "c").map(str::to_string),
        signed_headers: tag(tags, "h")
            .map(|h| {
                h.split(':')
                    .map(|n| n.trim_matches(is_fws).to_string())
                    .collect()
            })
            .unwrap_or_default(),
        identity: tag(tags, "i").map(str::to_string),
        body_length: number("l"),
        timestamp: number("t"),
        expiration: number("x"),
        key_bits: None,
        aligned_with: None,
    }
}

// ---------------------------------------------------------------------------
// Judging one parsed signature

struct Judged<'a, 'x> {
    header: &'a SignatureHeader<'x>,
    signature: &'x Signature,
    output: Option<DkimOutput<'x>>,
    key: Option<&'a KeyLookup>,
    now: u64,
    headers: &'a [(&'x [u8], &'x [u8])],
    body: &'a [u8],
}

/// A verdict and the mail-auth output that says the same.
struct Verdict {
    result: DkimResult,
    problem: Option<DkimProblem>,
    reason: Option<String>,
    output: mail_auth::DkimResult,
}

impl Verdict {
    fn pass() -> Verdict {
        Verdict {
            result: DkimResult::Pass,
            problem: None,
            reason: None,
            output: mail_auth::DkimResult::Pass,
        }
    }

    fn new(result: DkimResult, problem: DkimProblem, reason: String) -> Verdict {
        let error = match problem {
            DkimProblem::BodyHashMismatch => AuthError::Dkim(DkimError::BodyHashMismatch),
            DkimProblem::Expired => AuthError::Dkim(DkimError::SignatureExpired),
            DkimProblem::Sha1 => AuthError::Dkim(DkimError::UnsupportedAlgorithm),
            DkimProblem::KeyRevoked => AuthError::Dkim(DkimError::PublicKeyRevoked),
            DkimProblem::IdentityMismatch => AuthError::Dkim(DkimError::AuidMismatch),
            DkimProblem::BadSignature => AuthError::Crypto(CryptoError::FailedVerification),
            DkimProblem::KeyUnusable => AuthError::Crypto(CryptoError::IncompatibleAlgorithms),
            DkimProblem::KeyNotFound => AuthError::Dns(AuthDnsError::RecordNotFound(
                hickory_proto::op::ResponseCode::NXDomain,
            )),
            DkimProblem::KeyInvalid => AuthError::Dns(AuthDnsError::InvalidRecordType),
            DkimProblem::DnsError => AuthError::Dns(AuthDnsError::Resolver(reason.clone())),
            DkimProblem::FromNotSigned | DkimProblem::Unparsable | DkimProblem::Other => {
                AuthError::MissingParameters
            }
        };
        // mail-auth has no `policy`; `neutral` keeps DMARC from counting it.
        let output = match result {
            DkimResult::Pass => mail_auth::DkimResult::Pass,
            DkimResult::Fail => mail_auth::DkimResult::Fail(error),
            DkimResult::Neutral | DkimResult::Policy => mail_auth::DkimResult::Neutral(error),
            DkimResult::TempError => mail_auth::DkimResult::TempError(error),
            DkimResult::PermError => mail_auth::DkimResult::PermError(error),
        };
        Verdict {
            result,
            problem: Some(problem),
            reason: Some(reason),
            output,
        }
    }
}

fn judge<'x>(input: Judged<'_, 'x>) -> (DkimSignature, DkimOutput<'x>) {
    let signature = input.signature;
    let tags = &input.header.tags;
    let key_record = match input.key {
        Some(KeyLookup::Found(record)) => Some(record),
        _ => None,
    };
    let mut report = DkimSignature {
        result: DkimResult::Pass,
        problem: None,
        reason: None,
        domain: Some(signature.d.to_ascii_lowercase()),
        selector: Some(signature.s.clone()),
        algorithm: Some(
            tag(tags, "a").map_or_else(|| signature.a.name().to_string(), str::to_string),
        ),
        canonicalization: Some(format!(
            "{}/{}",
            canonicalization_name(signature.ch),
            canonicalization_name(signature.cb)
        )),
        signed_headers: signature.h.clone(),
        identity: (!signature.i.is_empty()).then(|| signature.i.clone()),
        body_length: tag(tags, "l").map(|_| signature.l),
        timestamp: tag(tags, "t").map(|_| signature.t),
        expiration: tag(tags, "x").map(|_| signature.x),
        key_bits: key_record.and_then(|k| k.bits),
        aligned_with: None,
    };

    let verdict = match structural_problem(signature, tags) {
        Some(verdict) => verdict,
        None if signature.x != 0 && input.now > signature.x => Verdict::new(
            DkimResult::Policy,
            DkimProblem::Expired,
            format!(
                "expired: x= is {}, {} before the time of the check ({})",
                format_time(signature.x),
                format_duration(input.now - signature.x),
                format_time(input.now)
            ),
        ),
        None => {
            let mut verdict = match input.output.as_ref().map(DkimOutput::result) {
                // mail-auth's clock says expired, ours does not: judge it here.
                Some(mail_auth::DkimResult::Neutral(AuthError::Dkim(
                    DkimError::SignatureExpired,
                ))) => reverify(&input),
                Some(result) => from_mail_auth(result, signature, input.key),
                None => Verdict::new(
                    DkimResult::Neutral,
                    DkimProblem::Other,
                    "mail-auth returned no result for this signature".into(),
                ),
            };
            if verdict.result == DkimResult::Pass && signature.a == Algorithm::RsaSha1 {
                verdict = Verdict::new(
                    DkimResult::Policy,
                    DkimProblem::Sha1,
                    "rsa-sha1: the signature verifies, but RFC 8301 §3.1 forbids treating \
                     rsa-sha1 signatures as valid"
                        .into(),
                );
            } else if verdict.result == DkimResult::Fail
                && signature.a == Algorithm::RsaSha1
                && let Some(reason) = verdict.reason.as_mut()
            {
                reason.push_str(" (it also uses rsa-sha1, which receivers reject)");
            }
            verdict
        }
    };

    report.result = verdict.result;
    report.problem = verdict.problem;
    report.reason = verdict.reason;
    // Keep mail-auth's own output where it agrees: it carries the report
    // address and ATPS flag.
    let output = match input.output {
        Some(original) if *original.result() == verdict.output => original,
        _ => DkimOutput::from(verdict.output).with_signature(signature),
    };
    (report, output)
}

fn canonicalization_name(c: Canonicalization) -> &'static str {
    match c {
        Canonicalization::Relaxed => "relaxed",
        Canonicalization::Simple => "simple",
    }
}

/// The rules of RFC 6376 §3.5 and §6.1.1 mail-auth does not check.
fn structural_problem(signature: &Signature, tags: &[Tag]) -> Option<Verdict> {
    let perm = |problem, reason: &str| {
        Some(Verdict::new(
            DkimResult::PermError,
            problem,
            reason.to_string(),
        ))
    };
    if tag(tags, "v").is_none() {
        return perm(
            DkimProblem::Unparsable,
            "unparsable: v= is missing (RFC 6376 §3.5 requires v=1)",
        );
    }
    if tag(tags, "a").is_none() {
        return perm(
            DkimProblem::Unparsable,
            "unparsable: a= is missing (RFC 6376 §3.5 requires it)",
        );
    }
    if !signature.h.iter().any(|h| h.eq_ignore_ascii_case("from")) {
        return perm(
            DkimProblem::FromNotSigned,
            "the From header is not listed in h=, so the signature does not cover the \
             author (RFC 6376 §5.4, §6.1.1)",
        );
    }
    if signature.x != 0 && signature.t != 0 && signature.x <= signature.t {
        return perm(
            DkimProblem::Unparsable,
            "unparsable: x= is not later than t= (RFC 6376 §3.5)",
        );
    }
    if !signature.i.is_empty() && !identity_within(&signature.i, &signature.d) {
        return Some(Verdict::new(
            DkimResult::PermError,
            DkimProblem::IdentityMismatch,
            format!(
                "i={} is not in d={} nor a subdomain of it (RFC 6376 §6.1.1)",
                signature.i, signature.d
            ),
        ));
    }
    None
}

/// Whether the domain of an AUID is the SDID or below it.
fn identity_within(auid: &str, sdid: &str) -> bool {
    let domain = auid.rsplit_once('@').map_or(auid, |(_, d)| d);
    let (domain, sdid) = (domain.to_ascii_lowercase(), sdid.to_ascii_lowercase());
    domain == sdid || domain.ends_with(&format!(".{sdid}"))
}

/// mail-auth's result, in our words.
fn from_mail_auth(
    result: &mail_auth::DkimResult,
    signature: &Signature,
    key: Option<&KeyLookup>,
) -> Verdict {
    use mail_auth::DkimResult as R;
    let key_record = match key {
        Some(KeyLookup::Found(record)) => Some(record),
        _ => None,
    };
    let key_name = format!("{}._domainkey.{}", signature.s, signature.d);
    match result {
        R::Pass => Verdict::pass(),
        R::Neutral(AuthError::Dkim(DkimError::BodyHashMismatch)) => body_hash_mismatch(signature),
        R::Fail(AuthError::Dkim(DkimError::AuidMismatch)) => Verdict::new(
            DkimResult::Fail,
            DkimProblem::IdentityMismatch,
            format!(
                "the key at {key_name} has t=s, which requires the domain of i={} to be \
                 exactly d={}",
                signature.i, signature.d
            ),
        ),
        R::Fail(AuthError::Crypto(CryptoError::IncompatibleAlgorithms)) => Verdict::new(
            DkimResult::Fail,
            DkimProblem::KeyUnusable,
            format!(
                "the key at {key_name} is not of the type a={} needs",
                signature.a.name()
            ),
        ),
        R::Fail(AuthError::Crypto(CryptoError::MalformedPublicKey)) => Verdict::new(
            DkimResult::PermError,
            DkimProblem::KeyInvalid,
            format!("the key at {key_name} is malformed"),
        ),
        R::Fail(_) => {
            // aws-lc refuses RSA keys outside 1024..=8192 bits as a failed
            // verification; say so rather than "bad signature".
            if let Some(problem) = key_record.and_then(|k| key_unusable(k, signature.a)) {
                Verdict::new(DkimResult::Fail, DkimProblem::KeyUnusable, problem)
            } else {
                bad_signature()
            }
        }
        R::PermError(AuthError::Dns(AuthDnsError::RecordNotFound(_))) => Verdict::new(
            DkimResult::PermError,
            DkimProblem::KeyNotFound,
            format!("key not found: no key record at {key_name}"),
        ),
        R::PermError(AuthError::Dkim(DkimError::PublicKeyRevoked)) => Verdict::new(
            DkimResult::PermError,
            DkimProblem::KeyRevoked,
            format!("key revoked: the record at {key_name} has an empty p="),
        ),
        R::PermError(error) => {
            let detail = key_record
                .and_then(|k| k.problem.clone())
                .unwrap_or_else(|| error.to_string());
            Verdict::new(
                DkimResult::PermError,
                DkimProblem::KeyInvalid,
                format!("the key record at {key_name} is unusable: {detail}"),
            )
        }
        R::TempError(error) => Verdict::new(
            DkimResult::TempError,
            DkimProblem::DnsError,
            format!("the key at {key_name} could not be fetched ({error}); try again later"),
        ),
        R::Neutral(error) => {
            Verdict::new(DkimResult::Neutral, DkimProblem::Other, error.to_string())
        }
        R::None => Verdict::new(
            DkimResult::Neutral,
            DkimProblem::Other,
            "mail-auth returned no result for this signature".into(),
        ),
    }
}

fn body_hash_mismatch(signature: &Signature) -> Verdict {
    let why = if signature.l != 0 {
        "the signed part of the body (l=) changed after signing"
    } else {
        "the body changed after signing"
    };
    Verdict::new(
        DkimResult::Fail,
        DkimProblem::BodyHashMismatch,
        format!("body hash mismatch: {why} (RFC 6376 §6.1.3)"),
    )
}

fn bad_signature() -> Verdict {
    Verdict::new(
        DkimResult::Fail,
        DkimProblem::BadSignature,
        "bad signature: it does not verify over the signed headers with the published \
         key (a signed header changed, or the key is not the signer's)"
            .into(),
    )
}

/// Verifies a signature here, for when mail-auth refused it only for its
/// expiry by the real time (see the module doc).
fn reverify(input: &Judged<'_, '_>) -> Verdict {
    let signature = input.signature;
    let hash = HashAlgorithm::from(signature.a);
    if body_hash(input.body, signature.cb, signature.l, hash) != signature.bh {
        return body_hash_mismatch(signature);
    }
    let key = match input.key {
        Some(KeyLookup::Found(key)) => key,
        Some(other) => return other.verdict(&signature.d, &signature.s),
        None => {
            return Verdict::new(
                DkimResult::PermError,
                DkimProblem::KeyNotFound,
                "key not found".into(),
            );
        }
    };
    if !signature.i.is_empty()
        && key_flag(key, "s")
        && !signature
            .i
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&signature.d))
    {
        return from_mail_auth(
            &mail_auth::DkimResult::Fail(AuthError::Dkim(DkimError::AuidMismatch)),
            signature,
            input.key,
        );
    }
    let data = header_hash_input(
        input.headers,
        &signature.h,
        input.header.name,
        input.header.value,
        signature.ch,
    );
    match verify_with_key(key, signature.a, &data, &signature.b) {
        Ok(()) => Verdict::pass(),
        Err(broken) => broken.verdict(&signature.d, &signature.s),
    }
}

/// Whether the key's `t=` lists a flag.
fn key_flag(key: &KeyRecord, flag: &str) -> bool {
    key.tags
        .as_ref()
        .and_then(|t| t.t.as_deref())
        .is_some_and(|t| t.split(':').any(|f| f.trim_matches(is_fws) == flag))
}

// ---------------------------------------------------------------------------
// Findings

fn finding_for(
    report: &DkimSignature,
    header: &SignatureHeader<'_>,
    key: Option<&KeyLookup>,
) -> Option<Finding> {
    if !matches!(
        report.result,
        DkimResult::Policy | DkimResult::Fail | DkimResult::PermError
    ) {
        return None;
    }
    let who = format!(
        "the DKIM-Signature of d={} (s={})",
        report.domain.as_deref().unwrap_or("?"),
        report.selector.as_deref().unwrap_or("?")
    );
    let reason = report.reason.clone().unwrap_or_default();
    let key_name = match (&report.domain, &report.selector) {
        (Some(d), Some(s)) => format!("{s}._domainkey.{d}"),
        _ => "<selector>._domainkey.<domain>".into(),
    };
    let mut evidence = vec![display_header(header.name, header.value)];
    evidence.extend(key.map(|k| match k {
        KeyLookup::Found(record) => format!("{key_name} TXT \"{}\"", record.record),
        KeyLookup::NotFound => format!("{key_name} TXT: no record"),
        KeyLookup::Failed(e) => format!("{key_name} TXT: {}", e.rcode_word()),
        KeyLookup::BadName(e) => format!("{key_name}: not a DNS name ({e})"),
    }));
    let finding = match (report.result, report.problem) {
        (DkimResult::Policy, Some(DkimProblem::Expired)) => Finding::new(
            catalog::DKIM_EXPIRED,
            format!("{who} has expired: {reason}"),
        ),
        (DkimResult::Policy, Some(DkimProblem::Sha1)) => Finding::new(
            catalog::DKIM_SHA1,
            format!("{who} uses a=rsa-sha1, so it is reported as policy, not pass"),
        ),
        (DkimResult::Fail | DkimResult::PermError, problem) => {
            let finding = Finding::new(
                catalog::DKIM_FAIL,
                format!("{who} does not verify: {reason}"),
            );
            match problem.and_then(|p| fail_fix(p, &key_name)) {
                Some(fix) => finding.with_fix(fix),
                None => finding,
            }
        }
        _ => return None,
    };
    Some(finding.with_evidence(evidence))
}

/// A fix for the failures where the generic one says too little.
fn fail_fix(problem: DkimProblem, key_name: &str) -> Option<String> {
    match problem {
        DkimProblem::KeyNotFound => Some(format!(
            "Publish the public key the service signs with at {key_name}: \
             {key_name}. IN TXT \"v=DKIM1; k=rsa; p=<public key>\", or make the \
             service sign with a selector whose key is published."
        )),
        DkimProblem::KeyRevoked => Some(format!(
            "The key at {key_name} was withdrawn (empty p=) but a service still signs with \
             it: publish its current key there, or move the service to a selector with a key."
        )),
        DkimProblem::KeyInvalid | DkimProblem::KeyUnusable => Some(format!(
            "Publish the service's public key again at {key_name}, complete and of the type \
             the signature uses (an RSA key of 2048 bits, or an Ed25519 key with \
             k=ed25519): {key_name}. IN TXT \"v=DKIM1; k=rsa; p=<public key>\""
        )),
        DkimProblem::Unparsable | DkimProblem::FromNotSigned | DkimProblem::IdentityMismatch => {
            Some(
                "The signing software writes a DKIM-Signature that breaks RFC 6376 §3.5; \
                 update or reconfigure it (v=1, a=rsa-sha256, d=, s=, h= including from, \
                 bh=, b=, and i= within d=)."
                    .into(),
            )
        }
        _ => None,
    }
}

/// A header for evidence: unfolded, the long `b=` shortened.
fn display_header(name: &[u8], value: &[u8]) -> String {
    let value = String::from_utf8_lossy(value);
    let unfolded: String = value
        .split(['\r', '\n'])
        .map(|part| part.trim_matches(is_fws))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let shortened: Vec<String> = unfolded
        .split(';')
        .map(|spec| match spec.split_once('=') {
            Some((n, v)) if n.trim() == "b" && v.trim().chars().count() > 16 => {
                let head: String = v.trim().chars().take(12).collect();
                format!("{n}={head}…")
            }
            _ => spec.to_string(),
        })
        .collect();
    format!(
        "{}: {}",
        String::from_utf8_lossy(trim_wsp(name)),
        shortened.join(";").trim()
    )
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic
/// Gregorian calendar, days to civil date after the well-known era method).
fn format_time(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

fn format_duration(seconds: u64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    if days > 0 {
        format!("{days} day(s) {hours} hour(s)")
    } else if hours > 0 {
        format!("{hours} hour(s) {minutes} minute(s)")
    } else {
        format!("{} minute(s) {} second(s)", minutes, seconds % 60)
    }
}

// ---------------------------------------------------------------------------
// Tag-lists (RFC 6376 §3.2), shared with the ARC module

/// One `name=value` of a tag-list, FWS around both removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub name: String,
    pub value: String,
}

/// Reads a tag-list: the tags that could be read, and the first way the
/// list breaks the grammar of RFC 6376 §3.2, if it does (an empty
/// tag-spec such as `;;`, a spec without `=`, a tag name that is not
/// `ALPHA *(ALPHA / DIGIT / "_")`, a tag named twice). One `;` after the
/// last tag is allowed. Tag names are case-sensitive.
pub(crate) fn read_tag_list(value: &[u8]) -> (Vec<Tag>, Option<String>) {
    let text = String::from_utf8_lossy(value);
    let mut body = text.trim_matches(is_fws);
    if let Some(stripped) = body.strip_suffix(';') {
        body = stripped;
    }
    let mut tags: Vec<Tag> = Vec::new();
    let mut error = None;
    if body.trim_matches(is_fws).is_empty() {
        return (tags, Some("the tag-list is empty".into()));
    }
    for spec in body.split(';') {
        let spec = spec.trim_matches(is_fws);
        let problem = if spec.is_empty() {
            Some("an empty tag-spec (`;;`)".to_string())
        } else if let Some((name, value)) = spec.split_once('=') {
            let name = name.trim_matches(is_fws);
            let mut chars = name.chars();
            let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if name.is_empty() {
                Some(format!("`{spec}` has no tag name"))
            } else if !well_formed {
                Some(format!("`{name}` is not a tag name"))
            } else if tags.iter().any(|t| t.name == name) {
                Some(format!("the tag {name}= appears twice"))
            } else {
                tags.push(Tag {
                    name: name.to_string(),
                    value: value.trim_matches(is_fws).to_string(),
                });
                None
            }
        } else {
            Some(format!("`{spec}` is not a tag=value pair"))
        };
        if error.is_none() {
            error = problem;
        }
    }
    (tags, error)
}

/// WSP and the CR LF of FWS (RFC 6376 §2.8).
pub(crate) fn is_fws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_wsp(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_wsp(b))
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Our own verifier (see the module doc for when it runs), shared with ARC

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
    fn verdict(&self, d: &str, s: &str) -> Verdict {
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
    fn verdict(&self, d: &str, s: &str) -> Verdict {
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
fn key_unusable(key: &KeyRecord, algorithm: Algorithm) -> Option<String> {
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
            .map(|v| v.trim_matches(is_fws).to_ascii_lowercase())
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
fn rsa_dnskey_form(der: &[u8]) -> Option<Vec<u8>> {
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
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
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

fn canonical_body(body: &[u8], canonicalization: Canonicalization) -> Vec<u8> {
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
                    if is_wsp(b) {
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
        let wanted = wanted.trim_matches(is_fws).as_bytes();
        let found = headers
            .iter()
            .enumerate()
            .rev()
            .find(|(i, (name, _))| {
                !used.get(*i).copied().unwrap_or(true)
                    && trim_wsp(name).eq_ignore_ascii_case(wanted)
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
            out.extend(trim_wsp(name).iter().map(u8::to_ascii_lowercase));
            out.push(b':');
            // Unfold, make runs of WSP one SP, drop WSP at both ends.
            let mut pending_space = false;
            let mut started = false;
            for &b in value {
                if b == b'\r' || b == b'\n' {
                    continue;
                }
                if is_wsp(b) {
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
            Some(eq) if spec.get(..eq).is_some_and(|n| trim_fws_bytes(n) == b"b") => {
                out.extend_from_slice(spec.get(..=eq).unwrap_or_default());
            }
            _ => out.extend_from_slice(spec),
        }
    }
    out
}

fn trim_fws_bytes(bytes: &[u8]) -> &[u8] {
    let fws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = bytes.iter().position(|b| !fws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !fws(b)).map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn vectors_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/dkim/vectors")
    }

    #[test]
    fn wire_form_turns_bare_lf_into_crlf_and_borrows_crlf_input() {
        assert_eq!(
            &*wire_form(b"a: b\nc: d\r\n\nbody\n"),
            b"a: b\r\nc: d\r\n\r\nbody\r\n"
        );
        assert!(matches!(wire_form(b"a: b\r\n\r\nx\r\n"), Cow::Borrowed(_)));
        assert!(matches!(wire_form(b""), Cow::Borrowed(_)));
    }

    #[test]
    fn body_canonicalization_follows_rfc6376_section_3_4_5() {
        // The example of RFC 6376 §3.4.5.
        let body = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(
            canonical_body(body, Canonicalization::Relaxed),
            b" C\r\nD E\r\n"
        );
        assert_eq!(
            canonical_body(body, Canonicalization::Simple),
            b" C \r\nD \t E\r\n"
        );
        // Empty bodies: CRLF under simple, nothing under relaxed (§3.4.3, §3.4.4).
        assert_eq!(canonical_body(b"", Canonicalization::Simple), b"\r\n");
        assert_eq!(
            canonical_body(b"\r\n\r\n", Canonicalization::Simple),
            b"\r\n"
        );
        assert_eq!(canonical_body(b"", Canonicalization::Relaxed), b"");
        assert_eq!(canonical_body(b"x", Canonicalization::Relaxed), b"x\r\n");
        assert_eq!(canonical_body(b"x", Canonicalization::Simple), b"x\r\n");
    }

    #[test]
    fn header_canonicalization_follows_rfc6376_section_3_4_5() {
        let mut out = Vec::new();
        canonical_header(b"A", b" X\r\n", Canonicalization::Relaxed, &mut out);
        canonical_header(
            b"B ",
            b" Y\t\r\n\tZ  \r\n",
            Canonicalization::Relaxed,
            &mut out,
        );
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n");
        let mut out = Vec::new();
        canonical_header(
            b"B ",
            b" Y\t\r\n\tZ  \r\n",
            Canonicalization::Simple,
            &mut out,
        );
        assert_eq!(out, b"B : Y\t\r\n\tZ  \r\n");
    }

    #[test]
    fn only_the_b_value_is_stripped() {
        assert_eq!(
            strip_b_value(b" v=1; bh=abc; b=dGVz\r\n dA==; d=x\r\n"),
            b" v=1; bh=abc; b=; d=x\r\n"
        );
        assert_eq!(strip_b_value(b"a=1; b = xyz\r\n"), b"a=1; b =");
    }

    #[test]
    fn tag_lists_are_read_by_the_rfc6376_grammar() {
        let (tags, error) = read_tag_list(b" a=1; b = two words ;\r\n");
        assert_eq!(error, None);
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[1].value, "two words");
        assert!(read_tag_list(b"a=1;; b=2").1.is_some());
        assert!(read_tag_list(b"a=1; a=2").1.is_some());
        assert!(read_tag_list(b"a=1; _=2").1.is_some());
        assert!(read_tag_list(b"a=1; b").1.is_some());
        // Names are case-sensitive: S= is another tag than s=.
        let (tags, error) = read_tag_list(b"s=1; S=2");
        assert_eq!((tags.len(), error), (2, None));
    }

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_667_843_664), "2022-11-07 17:54:24 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_duration(90_061), "1 day(s) 1 hour(s)");
        assert_eq!(format_duration(59), "0 minute(s) 59 second(s)");
    }

    #[test]
    fn display_header_unfolds_and_shortens_b() {
        let shown = display_header(
            b"DKIM-Signature",
            b" v=1; d=example.com;\r\n b=AAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
        );
        assert_eq!(shown, "DKIM-Signature: v=1; d=example.com; b=AAAAAAAAAAAA…");
    }

    /// The key records of a vector, by owner name (lower case, no dot).
    fn vector_keys(dir: &std::path::Path) -> Vec<(String, KeyRecord)> {
        let text = std::fs::read_to_string(dir.join("dns.json")).unwrap();
        let dns: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut out = Vec::new();
        for (name, types) in dns.as_object().unwrap() {
            for record in types["TXT"].as_array().into_iter().flatten() {
                let strings: Vec<&str> = record
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                out.push((
                    name.trim_end_matches('.').to_ascii_lowercase(),
                    read_key_record(&strings.concat()),
                ));
            }
        }
        out
    }

    /// Our own verifier, offline, on every signature of every vector: it
    /// must agree with each vector's expected result (all pass but the
    /// RFC 6376 example as printed, whose body hash does not match).
    #[test]
    fn own_verifier_agrees_with_every_conformance_vector() {
        let mut checked = 0;
        for entry in std::fs::read_dir(vectors_dir()).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let raw = std::fs::read(dir.join("message.eml")).unwrap();
            let expected: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                    .unwrap();
            let keys = vector_keys(&dir);
            let wire = wire_form(&raw);
            let message = parse(&wire).unwrap();
            let signatures = message.dkim_signatures();
            let wanted = expected["signatures"].as_array().unwrap();
            assert_eq!(signatures.len(), wanted.len(), "{}", dir.display());
            for (header, want) in signatures.iter().zip(wanted) {
                let s = &header.header;
                let owner = format!("{}._domainkey.{}", s.s, s.d).to_ascii_lowercase();
                let key = &keys.iter().find(|(n, _)| *n == owner).unwrap().1;
                let body_ok =
                    body_hash(message.raw_body(), s.cb, s.l, HashAlgorithm::from(s.a)) == s.bh;
                let data =
                    header_hash_input(message.headers(), &s.h, header.name, header.value, s.ch);
                let sig_ok = verify_with_key(key, s.a, &data, &s.b).is_ok();
                let ours = if body_ok && sig_ok { "pass" } else { "fail" };
                assert_eq!(
                    ours,
                    want["expected"].as_str().unwrap(),
                    "{} signature {} (body {body_ok}, signature {sig_ok})",
                    dir.display(),
                    want["index"]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 18);
    }

    #[test]
    fn a_tampered_signature_or_wrong_key_is_refused() {
        let dir = vectors_dir().join("rfc8463-appendix-a");
        let raw = std::fs::read(dir.join("message.eml")).unwrap();
        let keys = vector_keys(&dir);
        let wire = wire_form(&raw);
        let message = parse(&wire).unwrap();
        for header in message.dkim_signatures() {
            let s = &header.header;
            let owner = format!("{}._domainkey.{}", s.s, s.d);
            let key = &keys.iter().find(|(n, _)| *n == owner).unwrap().1;
            let other = &keys.iter().find(|(n, _)| *n != owner).unwrap().1;
            let data = header_hash_input(message.headers(), &s.h, header.name, header.value, s.ch);
            assert_eq!(verify_with_key(key, s.a, &data, &s.b), Ok(()));
            let mut tampered = data.clone();
            tampered.push(b'x');
            assert_eq!(
                verify_with_key(key, s.a, &tampered, &s.b),
                Err(Broken::Signature)
            );
            assert!(matches!(
                verify_with_key(other, s.a, &data, &s.b),
                Err(Broken::KeyUnusable(_))
            ));
        }
    }

    #[test]
    fn rsa_keys_are_taken_apart_in_both_layouts() {
        // The same 1024-bit key as SubjectPublicKeyInfo and as RSAPublicKey.
        let spki = decode_base64(
            "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
        )
        .unwrap();
        let form = rsa_dnskey_form(&spki).unwrap();
        assert_eq!(&form[..4], &[3, 1, 0, 1]);
        assert_eq!(form.len(), 4 + 128);
        assert_eq!(rsa_dnskey_form(b"\x30\x03\x02\x01"), None);
        assert_eq!(rsa_dnskey_form(b""), None);
    }

    fn signature(a: Algorithm) -> Signature {
        Signature {
            v: 1,
            a,
            d: "example.com".into(),
            s: "sel".into(),
            h: vec!["from".into(), "subject".into()],
            b: vec![1],
            bh: vec![2],
            ..Signature::default()
        }
    }

    fn header(tags: &[u8]) -> SignatureHeader<'_> {
        SignatureHeader {
            name: b"DKIM-Signature",
            value: tags,
            tags: read_tag_list(tags).0,
            parsed: Parsed::Failed(AuthError::Parse),
        }
    }

    fn judged(
        signature: &Signature,
        tags: &[u8],
        result: mail_auth::DkimResult,
        now: u64,
    ) -> (DkimSignature, mail_auth::DkimResult, Option<Finding>) {
        let header = header(tags);
        let output = DkimOutput::from(result).with_signature(signature);
        let (report, output) = judge(Judged {
            header: &header,
            signature,
            output: Some(output),
            key: None,
            now,
            headers: &[],
            body: b"",
        });
        let finding = finding_for(&report, &header, None);
        (report, output.result().clone(), finding)
    }

    const TAGS: &[u8] =
        b" v=1; a=rsa-sha256; d=example.com; s=sel; h=from:subject; bh=Ag==; b=AQ==\r\n";

    #[test]
    fn rsa_sha1_that_verifies_is_policy_and_does_not_count() {
        let sha1 = signature(Algorithm::RsaSha1);
        let (report, output, finding) = judged(&sha1, TAGS, mail_auth::DkimResult::Pass, 1_000);
        assert_eq!(report.result, DkimResult::Policy);
        assert_eq!(report.problem, Some(DkimProblem::Sha1));
        assert!(matches!(output, mail_auth::DkimResult::Neutral(_)));
        assert_eq!(finding.map(|f| f.code), Some("dkim.sha1"));

        // One that does not verify is a failure, and says it is rsa-sha1.
        let failed =
            mail_auth::DkimResult::Fail(AuthError::Crypto(CryptoError::FailedVerification));
        let (report, _, finding) = judged(&sha1, TAGS, failed, 1_000);
        assert_eq!(report.result, DkimResult::Fail);
        assert!(report.reason.unwrap().contains("rsa-sha1"));
        assert_eq!(finding.map(|f| f.code), Some("dkim.fail"));
    }

    #[test]
    fn mail_auth_results_become_rfc8601_words() {
        let sha256 = signature(Algorithm::RsaSha256);
        let cases = [
            (mail_auth::DkimResult::Pass, DkimResult::Pass, None, None),
            (
                mail_auth::DkimResult::Neutral(AuthError::Dkim(DkimError::BodyHashMismatch)),
                DkimResult::Fail,
                Some(DkimProblem::BodyHashMismatch),
                Some("dkim.fail"),
            ),
            (
                mail_auth::DkimResult::Fail(AuthError::Crypto(CryptoError::FailedVerification)),
                DkimResult::Fail,
                Some(DkimProblem::BadSignature),
                Some("dkim.fail"),
            ),
            (
                mail_auth::DkimResult::PermError(AuthError::Dns(AuthDnsError::RecordNotFound(
                    hickory_proto::op::ResponseCode::NXDomain,
                ))),
                DkimResult::PermError,
                Some(DkimProblem::KeyNotFound),
                Some("dkim.fail"),
            ),
            (
                mail_auth::DkimResult::PermError(AuthError::Dkim(DkimError::PublicKeyRevoked)),
                DkimResult::PermError,
                Some(DkimProblem::KeyRevoked),
                Some("dkim.fail"),
            ),
            (
                mail_auth::DkimResult::Fail(AuthError::Dkim(DkimError::AuidMismatch)),
                DkimResult::Fail,
                Some(DkimProblem::IdentityMismatch),
                Some("dkim.fail"),
            ),
            (
                mail_auth::DkimResult::TempError(AuthError::Dns(AuthDnsError::Resolver(
                    "timeout".into(),
                ))),
                DkimResult::TempError,
                Some(DkimProblem::DnsError),
                None,
            ),
        ];
        for (from, result, problem, code) in cases {
            let (report, output, finding) = judged(&sha256, TAGS, from.clone(), 1_000);
            assert_eq!(
                (report.result, report.problem),
                (result, problem),
                "{from:?}"
            );
            assert_eq!(finding.map(|f| f.code), code, "{from:?}");
            // The output for DMARC passes exactly when the section does.
            assert_eq!(
                output == mail_auth::DkimResult::Pass,
                result == DkimResult::Pass,
                "{from:?}"
            );
        }
    }

    #[test]
    fn expiry_is_judged_at_the_clock_whatever_mail_auth_said() {
        let mut expiring = signature(Algorithm::RsaSha256);
        expiring.t = 100;
        expiring.x = 200;
        let (report, output, finding) = judged(&expiring, TAGS, mail_auth::DkimResult::Pass, 201);
        assert_eq!(report.result, DkimResult::Policy);
        assert_eq!(report.problem, Some(DkimProblem::Expired));
        assert!(report.reason.unwrap().contains("1970-01-01 00:03:20 UTC"));
        assert!(matches!(output, mail_auth::DkimResult::Neutral(_)));
        assert_eq!(finding.map(|f| f.code), Some("dkim.expired"));
        let (report, _, _) = judged(&expiring, TAGS, mail_auth::DkimResult::Pass, 200);
        assert_eq!(report.result, DkimResult::Pass);
    }

    #[test]
    fn rules_mail_auth_skips_are_permerror() {
        let good = signature(Algorithm::RsaSha256);
        let pass = mail_auth::DkimResult::Pass;
        // v= and a= are required (RFC 6376 §3.5).
        let (report, ..) = judged(&good, b" a=rsa-sha256; d=example.com", pass.clone(), 1);
        assert_eq!(report.problem, Some(DkimProblem::Unparsable));
        let (report, ..) = judged(&good, b" v=1; d=example.com", pass.clone(), 1);
        assert_eq!(report.problem, Some(DkimProblem::Unparsable));
        // From must be signed (§6.1.1).
        let mut unsigned_from = good.clone();
        unsigned_from.h = vec!["subject".into()];
        let (report, ..) = judged(&unsigned_from, TAGS, pass.clone(), 1);
        assert_eq!(
            (report.result, report.problem),
            (DkimResult::PermError, Some(DkimProblem::FromNotSigned))
        );
        // x= must be after t= (§3.5).
        let mut backwards = good.clone();
        backwards.t = 300;
        backwards.x = 200;
        let (report, ..) = judged(&backwards, TAGS, pass.clone(), 1);
        assert_eq!(report.problem, Some(DkimProblem::Unparsable));
        // i= must be d= or below it (§6.1.1).
        let mut elsewhere = good.clone();
        elsewhere.i = "joe@example.org".into();
        let (report, ..) = judged(&elsewhere, TAGS, pass.clone(), 1);
        assert_eq!(report.problem, Some(DkimProblem::IdentityMismatch));
        let mut below = good;
        below.i = "joe@mail.example.com".into();
        let (report, ..) = judged(&below, TAGS, pass, 1);
        assert_eq!(report.result, DkimResult::Pass);
    }

    /// The report's fields come from the signature, and the JSON carries
    /// the contract's names.
    #[test]
    fn the_report_describes_the_signature() {
        let mut s = signature(Algorithm::Ed25519Sha256);
        s.ch = Canonicalization::Relaxed;
        s.cb = Canonicalization::Simple;
        s.l = 10;
        s.t = 5;
        let tags = b" v=1; a=ed25519-sha256; c=relaxed; d=Example.com; s=sel; h=from:subject; l=10; t=5; bh=Ag==; b=AQ==";
        let (report, ..) = judged(&s, tags, mail_auth::DkimResult::Pass, 1);
        assert_eq!(report.domain.as_deref(), Some("example.com"));
        assert_eq!(report.algorithm.as_deref(), Some("ed25519-sha256"));
        assert_eq!(report.canonicalization.as_deref(), Some("relaxed/simple"));
        assert_eq!(report.signed_headers, ["from", "subject"]);
        assert_eq!(
            (report.body_length, report.timestamp, report.expiration),
            (Some(10), Some(5), None)
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["result"], "pass");
        assert!(json.get("aligned_with").is_none());
    }

    #[allow(dead_code)]
    fn futures_are_send(cx: &MessageContext<'_>) {
        fn send<T: Send>(_: T) {}
        send(verify(cx));
        send(super::super::arc::verify(cx));
    }

    #[test]
    fn identity_must_be_the_signing_domain_or_below() {
        assert!(identity_within("@example.com", "example.com"));
        assert!(identity_within("joe@mail.Example.com", "example.com"));
        assert!(!identity_within("joe@badexample.com", "example.com"));
        assert!(!identity_within("joe@example.org", "example.com"));
    }
}
