//! The findings of a message's DMARC evaluation: `dmarc.fail` (naming the
//! policy applied and `t=y`), `dkim.not_aligned`, and `dmarc.policy_none`
//! when DMARC fails under `p=none`, with a fix that shows the record to
//! publish.

use super::evaluate::misalignment;
use super::{AuthResult, DmarcEvaluation, DmarcResult, IdentifierAlignment};
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::dmarc::{Alignment, Policy};

pub(super) fn message_findings(e: &DmarcEvaluation) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(from) = e.from_domain.as_deref() else {
        return findings;
    };
    let evidence = evidence(e);

    // dkim.not_aligned: some signature passes and every passing one is known
    // not to align.
    let passing: Vec<&IdentifierAlignment> = e
        .dkim
        .signatures
        .iter()
        .filter(|s| s.result == AuthResult::Pass)
        .collect();
    if !passing.is_empty() && passing.iter().all(|s| s.aligned == Some(false)) {
        let listed: Vec<String> = passing
            .iter()
            .map(|s| {
                format!(
                    "d={} ({})",
                    s.domain,
                    misalignment(e, s, "adkim", e.dkim.mode)
                )
            })
            .collect();
        let org = e.organizational_domain.as_deref().unwrap_or(from);
        let alternative = match e.dkim.mode {
            Alignment::Relaxed if org != from => {
                format!(" (or any domain whose organizational domain is {org})")
            }
            _ => String::new(),
        };
        findings.push(
            Finding::new(
                catalog::DKIM_NOT_ALIGNED,
                format!(
                    "DKIM passes for {}, but no passing signature aligns with the From domain \
                     {from}, so DKIM does not count for DMARC.",
                    listed.join(" and ")
                ),
            )
            .with_fix(format!(
                "Set up DKIM for {from} at the sending service (often called custom or branded \
                 DKIM) so it signs with d={from}{alternative}, and publish its key at \
                 <selector>._domainkey.{from}."
            ))
            .with_evidence(evidence.clone()),
        );
    }

    if e.result != DmarcResult::Fail {
        return findings;
    }
    let applied = applied_words(e);
    findings.push(
        Finding::new(
            catalog::DMARC_FAIL,
            format!("DMARC fails for {from}. {} {applied}", e.reason),
        )
        .with_fix(fail_fix(e, from))
        .with_evidence(evidence.clone()),
    );

    // dmarc.policy_none explains a failure that changes nothing; like every
    // code about a record's content, it is given only when the name holds
    // exactly one record that parses, so the content it speaks of is
    // unambiguous.
    let usable_record = e.record.as_ref().filter(|r| r.tags.is_some()).filter(|r| {
        e.walk
            .iter()
            .find(|s| s.query == r.name)
            .is_none_or(|s| s.records.len() <= 1)
    });
    if let (Some(Policy::None), Some(record)) = (e.policy, usable_record) {
        let tag = e.policy_tag.unwrap_or("p");
        let detail = if e.testing && e.published_policy.is_some_and(Policy::enforces) {
            format!(
                "DMARC fails and {} sets {tag}={} with t=y (testing), so receivers apply none: \
                 this failing message is delivered as usual.",
                record.name,
                e.published_policy.unwrap_or(Policy::None)
            )
        } else if record.inherited {
            format!(
                "DMARC fails and {from} inherits {tag}=none from {}: this failing message is \
                 delivered as usual.",
                record.name
            )
        } else {
            format!(
                "DMARC fails and {} sets {tag}=none: this failing message is delivered as \
                 usual.",
                record.name
            )
        };
        let mut fixed = with_tag(&record.text, tag, "quarantine");
        if e.testing {
            fixed = without_tag(&fixed, "t");
        }
        findings.push(
            Finding::new(catalog::DMARC_POLICY_NONE, detail)
                .with_fix(format!(
                    "Once aggregate reports show that all your legitimate mail passes DMARC, \
                     publish at {}: {fixed} — and later, to block spoofed mail outright, \
                     {tag}=reject.",
                    record.name
                ))
                .with_evidence(evidence),
        );
    }
    findings
}

/// "Receivers apply p=reject from _dmarc.example.com: …"
pub(super) fn applied_words(e: &DmarcEvaluation) -> String {
    let (Some(policy), Some(record)) = (e.policy, &e.record) else {
        return String::new();
    };
    let tag = e.policy_tag.unwrap_or("p");
    let published = e.published_policy.unwrap_or(policy);
    let source = if e.testing && published != policy {
        format!(
            "{} sets {tag}={published} with t=y (testing), so receivers apply {policy}",
            record.name
        )
    } else {
        format!("receivers apply {tag}={policy} from {}", record.name)
    };
    let effect = match policy {
        Policy::Reject => "the message is rejected",
        Policy::Quarantine => "the message goes to spam or quarantine",
        Policy::None => {
            "the message is delivered as usual, though large mailbox providers may still \
             filter unauthenticated mail"
        }
    };
    let pct = match e.pct.filter(|p| *p < 100) {
        Some(p) => {
            format!(" (pct={p}: receivers that still honour it apply this to {p}% of failing mail)")
        }
        None => String::new(),
    };
    let mut sentence = format!("{source}: {effect}{pct}.");
    if let Some(first) = sentence.get(..1) {
        sentence = first.to_uppercase() + sentence.get(1..).unwrap_or_default();
    }
    sentence
}

pub(super) fn fail_fix(e: &DmarcEvaluation, from: &str) -> String {
    let org = e.organizational_domain.as_deref().unwrap_or(from);
    let under = if org == from {
        from.to_string()
    } else {
        format!("{from} or another domain under {org}")
    };
    let dkim = match e.dkim.mode {
        Alignment::Strict => format!("sign with DKIM using exactly d={from} (adkim=s)"),
        Alignment::Relaxed => format!("sign with DKIM using d={under}"),
    };
    let spf = match e.spf.mode {
        Alignment::Strict => format!(
            "send with a MAIL FROM (return-path) domain of exactly {from} (aspf=s) that its \
             SPF record authorises"
        ),
        Alignment::Relaxed => format!(
            "send with a MAIL FROM (return-path) domain under {org} that its SPF record \
             authorises"
        ),
    };
    let passing_elsewhere: Vec<&str> = e
        .dkim
        .signatures
        .iter()
        .filter(|s| s.result == AuthResult::Pass && s.aligned == Some(false))
        .map(|s| s.domain.as_str())
        .collect();
    let hint = if passing_elsewhere.is_empty() {
        String::new()
    } else {
        format!(
            " The service already signs with d={}: ask it for custom DKIM with your domain.",
            passing_elsewhere.join(", d=")
        )
    };
    format!("Make at least one of them pass and align: {dkim}, or {spf}.{hint}")
}

pub(super) fn evidence(e: &DmarcEvaluation) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(r) = &e.record {
        lines.push(format!("{}. TXT \"{}\"", r.name, r.text));
    }
    if let Some(id) = &e.spf.identifier {
        lines.push(format!("spf={} smtp.mailfrom={}", id.result, id.domain));
    }
    for s in &e.dkim.signatures {
        lines.push(format!("dkim={} header.d={}", s.result, s.domain));
    }
    lines
}

/// The record with one tag's value replaced (or the tag added after `p`).
pub(super) fn with_tag(text: &str, tag: &str, value: &str) -> String {
    let mut segments: Vec<String> = text
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let named = |s: &String, name: &str| {
        s.split_once('=')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    };
    if let Some(segment) = segments.iter_mut().find(|s| named(s, tag)) {
        *segment = format!("{tag}={value}");
    } else {
        let at = segments
            .iter()
            .position(|s| named(s, "p"))
            .or_else(|| segments.iter().position(|s| named(s, "v")))
            .map_or(segments.len(), |i| i + 1);
        segments.insert(at, format!("{tag}={value}"));
    }
    segments.join("; ")
}

pub(super) fn without_tag(text: &str, tag: &str) -> String {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter(|s| {
            !s.split_once('=')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(tag))
        })
        .collect::<Vec<_>>()
        .join("; ")
}
