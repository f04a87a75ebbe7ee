//! The finding one judged signature gives: `dkim.expired`, `dkim.sha1`, or
//! `dkim.fail` (for `fail` and `permerror`, with a fix where the generic one
//! says too little), the header and its key record as evidence.

use super::signatures::SignatureHeader;
use super::verify::{KeyLookup, trim_bytes};
use super::{DkimProblem, DkimResult, DkimSignature};
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::tag_list::Space;

pub(super) fn finding_for(
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
pub(super) fn fail_fix(problem: DkimProblem, key_name: &str) -> Option<String> {
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
pub(super) fn display_header(name: &[u8], value: &[u8]) -> String {
    let value = String::from_utf8_lossy(value);
    let unfolded: String = value
        .split(['\r', '\n'])
        .map(|part| Space::Fws.trim(part))
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
        String::from_utf8_lossy(trim_bytes(name, Space::Wsp)),
        shortened.join(";").trim()
    )
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic
/// Gregorian calendar, days to civil date after the well-known era method).
pub(super) fn format_time(seconds: u64) -> String {
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

pub(super) fn format_duration(seconds: u64) -> String {
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
