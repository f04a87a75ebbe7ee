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
//! reports differently from the RFCs (as of mail-auth 0.15): a body-hash
//! mismatch comes back `neutral` (here `fail`), a header that does not parse
//! yields no result at all (here `permerror`, in its place in header
//! order), `rsa-sha1` passes (here `policy`), and the structural rules in
//! the table above are not checked. Findings: `dkim.missing`, `dkim.fail`
//! (for `fail` and `permerror`), `dkim.expired` and `dkim.sha1`, and
//! `dkim.not_evaluated` when the message limits ([`super::limits`]) left
//! signatures out; and, apart from the verdicts, `dkim.body_length_tag`
//! and `dkim.from_not_oversigned` on the signatures' options
//! ([`options`]). The alignment codes belong to DMARC.
//!
//! Each `DKIM-Signature` is read once by our tag-list tokenizer
//! ([`signatures`]), for the report's tags as written, the rules mail-auth
//! does not check and the options; mail-auth parses it for itself to
//! verify it, and what our report takes from that parse are its outputs
//! (and the values it verified with).
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
//!   time, which is not past at the clock, is verified from scratch by our
//!   own verifier ([`verify`]), which the ARC module ([`super::arc`]) shares:
//!   it has the same problem with the newest ARC-Message-Signature and
//!   needs to find the hop that broke a chain.
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
//!
//! # Layout
//!
//! - [`signatures`]: the `DKIM-Signature` headers in header order, matched
//!   with mail-auth's parse, and the report of one mail-auth could not parse;
//! - [`judge`]: the verdict on one parsed signature;
//! - [`findings`]: the finding a verdict gives;
//! - [`options`]: the findings on a signature's `l=` and `h=`;
//! - [`verify`]: our own verifier and key lookup, shared with ARC.

mod findings;
mod judge;
mod options;
mod signatures;
#[cfg(test)]
mod tests;
pub(crate) mod verify;

pub(crate) use signatures::WrittenTags;

use super::MessageContext;
use super::limits::Budget;
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use findings::finding_for;
use futures_util::future::join_all;
use judge::{Judged, judge};
use mail_auth::{AuthenticatedMessage, DkimOutput, Parameters};
use serde::Serialize;
use signatures::{Parsed, signature_headers, unparsable_report};
use std::borrow::Cow;
use verify::fetch_key;

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
    /// The findings on the signatures' options (`l=`, From oversigned),
    /// whatever their verdicts ([`options`]); the message report lists
    /// them before `findings`.
    pub options: Vec<Finding>,
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
            options: Vec::new(),
            outputs: Vec::new(),
        };
    }
    let options = headers
        .iter()
        .flat_map(|header| options::findings(&header.tags))
        .collect();

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
        options,
        outputs: corrected,
    }
}

fn missing() -> Finding {
    Finding::new(
        catalog::DKIM_MISSING,
        "the message has no DKIM-Signature header, so no domain vouches for it",
    )
}
