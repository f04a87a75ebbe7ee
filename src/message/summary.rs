//! The message report's one sentence for people: what receivers will do
//! with this message, and the one fact that most puts that at risk.
//!
//! It decides from DMARC alone, because that is what receivers act on: a
//! message whose DMARC passes is delivered even when a DKIM signature on
//! it is broken — the sentence then says it is one forward away from
//! failing (forwarding changes the connecting IP, so SPF no longer
//! passes), rather than heading it "FAIL". A message that passes DMARC
//! but has an error among its findings (SPF failing for its IP, say) is
//! headed "FAIL", so the sentence then says it passes DMARC but may still
//! be refused, naming the worst error, instead of "will accept": the
//! heading and the sentence never disagree. The findings below the
//! sentence carry every detail; this is the line a marketer reads first.

use super::dkim::DkimSection;
use super::dmarc::{DmarcEvaluation, DmarcResult};
use crate::findings::{Finding, Severity};
use crate::records::dmarc::Policy;

/// The sentence for a message whose DMARC evaluation is `dmarc`, whose
/// signatures are `dkim` and whose findings are `findings`.
pub fn sentence(dmarc: &DmarcEvaluation, dkim: &DkimSection, findings: &[Finding]) -> String {
    let Some(from) = dmarc.from_domain.as_deref() else {
        return "Receivers will likely reject or bin this message: it has no usable From \
                domain, so nothing about it can be authenticated."
            .into();
    };
    match dmarc.result {
        DmarcResult::Pass => {
            // Through SPF alone, the sentence has named the DKIM problem.
            let named =
                |f: &Finding| dmarc.dkim.result != DmarcResult::Pass && f.code.starts_with("dkim.");
            let unnamed = findings
                .iter()
                .find(|f| f.severity == Severity::Error && !named(f));
            match unnamed {
                Some(error) => format!(
                    "{} It may still be refused or put in spam, though: {}.",
                    passed("This message passes", from, dmarc, dkim),
                    error.title
                ),
                None => passed(
                    "Receivers will accept this message: it passes",
                    from,
                    dmarc,
                    dkim,
                ),
            }
        }
        DmarcResult::Fail => failed(from, dmarc),
        DmarcResult::None => format!(
            "Receivers decide on their own what to do with this message: {from} publishes \
             no DMARC policy, so nothing tells them to trust or refuse it, and Gmail, Yahoo \
             and Microsoft require one of bulk senders."
        ),
        DmarcResult::TempError => format!(
            "This message could not be fully checked: a DNS lookup for the DMARC policy of \
             {from} failed; receivers seeing the same failure defer the message and try \
             again later."
        ),
        DmarcResult::PermError => format!(
            "Receivers decide on their own what to do with this message: the DMARC record \
             of {from} is broken, so they ignore it."
        ),
    }
}

/// DMARC passes, after `lead`: through what, and how sturdy that is.
fn passed(lead: &str, from: &str, dmarc: &DmarcEvaluation, dkim: &DkimSection) -> String {
    let delivered = format!("{lead} DMARC for {from}");
    let spf_aligned = dmarc.spf.result == DmarcResult::Pass;
    if dmarc.dkim.result == DmarcResult::Pass {
        return if spf_aligned {
            format!("{delivered} through both SPF and DKIM.")
        } else {
            format!("{delivered} through DKIM, which survives forwarding.")
        };
    }
    let risk = if dkim.signatures.is_empty() {
        "it has no DKIM signature".to_string()
    } else if dkim.signatures.iter().any(|s| s.passed()) {
        let domains: Vec<&str> = dkim
            .signatures
            .iter()
            .filter(|s| s.passed())
            .filter_map(|s| s.domain.as_deref())
            .collect();
        format!(
            "its DKIM signature is for {}, not {from}",
            domains.join(", ")
        )
    } else {
        "its DKIM signature is broken".to_string()
    };
    format!(
        "{delivered} through SPF alone, but {risk}, so it is one forward away from failing \
         DMARC."
    )
}

/// DMARC fails: what the policy that applies makes receivers do. When
/// SPF was not checked (no envelope given), DMARC failed on DKIM alone,
/// and an aligned SPF pass for the real envelope could still make it
/// pass: the sentence says so rather than state the outcome as certain.
fn failed(from: &str, dmarc: &DmarcEvaluation) -> String {
    let tag = dmarc.policy_tag.unwrap_or("p");
    if dmarc.spf.identifier.is_none() {
        let outcome = match dmarc.policy {
            Some(Policy::Reject) => format!("receivers will reject this message ({tag}=reject)"),
            Some(Policy::Quarantine) => {
                format!("receivers will put this message in spam ({tag}=quarantine)")
            }
            Some(Policy::None) | None => format!(
                "it fails DMARC, which spam filters count against it though {from} asks for \
                 no action ({tag}=none)"
            ),
        };
        return format!(
            "Unless SPF passes aligned with {from} for the envelope it is sent with, \
             {outcome}: DKIM alone does not pass DMARC, and SPF was not checked (give the \
             client IP and MAIL FROM to check it)."
        );
    }
    match dmarc.policy {
        Some(Policy::Reject) => format!(
            "Receivers will reject this message: it fails DMARC for {from}, whose policy is \
             {tag}=reject."
        ),
        Some(Policy::Quarantine) => format!(
            "Receivers will put this message in spam: it fails DMARC for {from}, whose policy \
             is {tag}=quarantine."
        ),
        Some(Policy::None) | None => format!(
            "Receivers may still deliver this message, since {from} asks for no action \
             ({tag}=none), but it fails DMARC: spam filters count that against it, and Gmail, \
             Yahoo and Microsoft require bulk mail to pass."
        ),
    }
}
