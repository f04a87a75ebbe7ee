//! The verdict on one `DKIM-Signature` mail-auth parsed: the rules of RFC
//! 6376 §3.5 and §6.1.1 it does not check (`v=`, `a=`, From in `h=`, `x=`
//! after `t=`, `i=` within `d=`), expiry at the request's clock (§3.5),
//! `rsa-sha1` as `policy` (RFC 8301 §3.1), and mail-auth's result put in
//! RFC 8601 §2.7.1 words, with the mail-auth output that says the same for
//! DMARC.

use super::findings::{format_duration, format_time};
use super::signatures::{SignatureHeader, WrittenTags};
use super::verify::{KeyLookup, body_hash, header_hash_input, key_unusable, verify_with_key};
use super::{DkimProblem, DkimResult, DkimSignature};
use crate::records::dkim_key::KeyRecord;
use crate::records::tag_list::Space;
use mail_auth::crypto::{Algorithm, CryptoError, HashAlgorithm};
use mail_auth::dkim::{Canonicalization, DkimError, Signature};
use mail_auth::{DkimOutput, DnsError as AuthDnsError, Error as AuthError};

pub(super) struct Judged<'a, 'x> {
    pub(super) header: &'a SignatureHeader<'x>,
    pub(super) signature: &'x Signature,
    pub(super) output: Option<DkimOutput<'x>>,
    pub(super) key: Option<&'a KeyLookup>,
    pub(super) now: u64,
    pub(super) headers: &'a [(&'x [u8], &'x [u8])],
    pub(super) body: &'a [u8],
}

/// A verdict and the mail-auth output that says the same.
pub(super) struct Verdict {
    pub(super) result: DkimResult,
    pub(super) problem: Option<DkimProblem>,
    pub(super) reason: Option<String>,
    pub(super) output: mail_auth::DkimResult,
}

impl Verdict {
    pub(super) fn pass() -> Verdict {
        Verdict {
            result: DkimResult::Pass,
            problem: None,
            reason: None,
            output: mail_auth::DkimResult::Pass,
        }
    }

    pub(super) fn new(result: DkimResult, problem: DkimProblem, reason: String) -> Verdict {
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

pub(super) fn judge<'x>(input: Judged<'_, 'x>) -> (DkimSignature, DkimOutput<'x>) {
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
            tags.get("a")
                .map_or_else(|| signature.a.name().to_string(), str::to_string),
        ),
        canonicalization: Some(format!(
            "{}/{}",
            canonicalization_name(signature.ch),
            canonicalization_name(signature.cb)
        )),
        signed_headers: signature.h.clone(),
        identity: (!signature.i.is_empty()).then(|| signature.i.clone()),
        body_length: tags.get("l").map(|_| signature.l),
        timestamp: tags.get("t").map(|_| signature.t),
        expiration: tags.get("x").map(|_| signature.x),
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

pub(super) fn canonicalization_name(c: Canonicalization) -> &'static str {
    match c {
        Canonicalization::Relaxed => "relaxed",
        Canonicalization::Simple => "simple",
    }
}

/// The rules of RFC 6376 §3.5 and §6.1.1 mail-auth does not check.
pub(super) fn structural_problem(signature: &Signature, tags: &WrittenTags) -> Option<Verdict> {
    let perm = |problem, reason: &str| {
        Some(Verdict::new(
            DkimResult::PermError,
            problem,
            reason.to_string(),
        ))
    };
    if tags.get("v").is_none() {
        return perm(
            DkimProblem::Unparsable,
            "unparsable: v= is missing (RFC 6376 §3.5 requires v=1)",
        );
    }
    if tags.get("a").is_none() {
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
pub(super) fn identity_within(auid: &str, sdid: &str) -> bool {
    let domain = auid.rsplit_once('@').map_or(auid, |(_, d)| d);
    let (domain, sdid) = (domain.to_ascii_lowercase(), sdid.to_ascii_lowercase());
    domain == sdid || domain.ends_with(&format!(".{sdid}"))
}

/// mail-auth's result, in our words.
pub(super) fn from_mail_auth(
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

pub(super) fn body_hash_mismatch(signature: &Signature) -> Verdict {
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

pub(super) fn bad_signature() -> Verdict {
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
pub(super) fn reverify(input: &Judged<'_, '_>) -> Verdict {
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
pub(super) fn key_flag(key: &KeyRecord, flag: &str) -> bool {
    key.tags
        .as_ref()
        .and_then(|t| t.t.as_deref())
        .is_some_and(|t| t.split(':').any(|f| Space::Fws.trim(f) == flag))
}
