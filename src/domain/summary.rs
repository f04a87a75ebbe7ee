//! The domain report's one sentence for people: its score, and what
//! receivers do with mail that forges the domain.
//!
//! Forgery is what a domain owner controls with DMARC and what a marketer
//! can act on, so the sentence leads with it; every other problem is a
//! finding below, counted here. A domain whose checks a DNS failure left
//! undecided is not scored: the sentence says it could not be checked,
//! never that something is missing. A domain the DNS says does not exist
//! (NXDOMAIN) is most often a typo: the sentence says that first, not
//! which records to publish at it.

use super::dmarc::{DmarcSection, DmarcStatus};
use crate::findings::undecided::Undecided;
use crate::findings::{Finding, Severity, catalog};
use crate::records::dmarc::Policy;

/// The sentence for `domain` (its Unicode form, for people).
pub fn sentence(
    domain: &str,
    score: Option<u8>,
    undecided: &[Undecided],
    dmarc: &DmarcSection,
    findings: &[Finding],
) -> String {
    let (Some(score), None) = (score, undecided.first()) else {
        let reason = undecided
            .first()
            .map_or("a DNS lookup failed", |u| u.reason.as_str());
        return format!(
            "{domain} could not be fully checked ({reason}), so it is not scored: run the \
             check again; what could be decided is below."
        );
    };
    if dmarc.domain_exists == Some(false) {
        return format!(
            "{domain} scores {score}/100: it does not exist in the DNS (NXDOMAIN), so check \
             its spelling; receivers refuse mail from a domain that does not exist, and the \
             findings below apply only if you mean to set it up."
        );
    }
    let passes_anyone = findings
        .iter()
        .any(|f| f.code == catalog::SPF_PLUS_ALL.code);
    let forgeries = forgeries(dmarc, passes_anyone);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let to_fix = match errors {
        0 => String::new(),
        1 => "; 1 error to fix below".to_string(),
        n => format!("; {n} errors to fix below"),
    };
    format!("{domain} scores {score}/100: {forgeries}{to_fix}.")
}

/// What receivers do with mail that forges the domain, and why.
/// `passes_anyone`: the SPF record ends in +all, so a forger sending with
/// the domain as MAIL FROM passes SPF aligned, and so DMARC, whatever the
/// policy (RFC 7489 §4.2).
fn forgeries(dmarc: &DmarcSection, passes_anyone: bool) -> String {
    let enforced = matches!(dmarc.policy, Some(Policy::Reject | Policy::Quarantine));
    if passes_anyone && dmarc.status == DmarcStatus::Ok && enforced {
        return "mail that forges it passes DMARC despite its policy, because its SPF record \
                authorises every server (+all)"
            .into();
    }
    match dmarc.status {
        DmarcStatus::Missing => "receivers deliver mail that forges it, because it publishes \
                                 no DMARC policy (Gmail, Yahoo and Microsoft also require one \
                                 of bulk senders)"
            .into(),
        DmarcStatus::Syntax | DmarcStatus::MultipleRecords => {
            "receivers deliver mail that forges it, because its DMARC record is broken and so \
             ignored"
                .into()
        }
        DmarcStatus::DnsError => "whether receivers refuse forgeries of it is unknown".into(),
        DmarcStatus::Ok => match dmarc.policy {
            Some(Policy::Reject) => "receivers reject mail that forges it (DMARC p=reject)".into(),
            Some(Policy::Quarantine) => {
                "receivers put mail that forges it in spam (DMARC p=quarantine)".into()
            }
            Some(Policy::None) | None => "receivers still deliver mail that forges it, because \
                                          its DMARC policy only monitors (p=none)"
                .into(),
        },
    }
}
