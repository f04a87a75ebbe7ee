//! The domain audit report: all checks run concurrently, their findings
//! worst first, the provider checklist, a verdict and a score.
//!
//! This module decides how the checks are combined. The score is
//! `max(0, 100 − 20 × E − 5 × W)` where E and W count the distinct error
//! and warning codes (info findings cost nothing; one code repeated for
//! several hosts counts once), so a domain with no error or warning scores
//! 100 and a single error leaves 80.

use super::name::DomainName;
use super::{AuditContext, AuditOptions, bimi, dkim, dmarc, dnssec, mta_sts, mx, spf, tls_rpt};
use crate::dns::Resolver;
use crate::dns::trace::DnsSummary;
use crate::findings::requirements::{self, DomainFacts, Requirement};
use crate::findings::{Finding, Severity, Verdict, verdict};
use serde::Serialize;
use std::collections::BTreeSet;

/// Everything the audit found about one domain.
#[derive(Debug, Clone, Serialize)]
pub struct DomainReport {
    /// The A-label form.
    pub domain: String,
    /// The Unicode form (equal to `domain` for ASCII names).
    pub domain_unicode: String,
    pub verdict: Verdict,
    pub score: u8,
    /// Worst first.
    pub findings: Vec<Finding>,
    pub spf: spf::SpfSection,
    pub dmarc: dmarc::DmarcSection,
    pub dkim: dkim::DkimSection,
    pub mx: mx::MxSection,
    pub mta_sts: mta_sts::MtaStsSection,
    pub tls_rpt: tls_rpt::TlsRptSection,
    pub bimi: bimi::BimiSection,
    pub dnssec: dnssec::DnssecSection,
    pub requirements: Vec<Requirement>,
    pub dns: DnsSummary,
}

/// Audits one domain; every check runs at once.
pub async fn audit(
    resolver: &Resolver,
    domain: &DomainName,
    options: &AuditOptions,
    trace: bool,
) -> DomainReport {
    let cx = AuditContext {
        resolver,
        domain,
        options,
    };
    let (spf, dmarc, dkim, mx, mta_sts, tls_rpt, bimi, dnssec) = tokio::join!(
        spf::check(&cx),
        dmarc::check(&cx),
        dkim::check(&cx),
        mx::check(&cx),
        mta_sts::check(&cx),
        tls_rpt::check(&cx),
        bimi::check(&cx),
        dnssec::check(&cx),
    );
    let mut findings: Vec<Finding> = [
        spf.findings,
        dmarc.findings,
        dkim.findings,
        mx.findings,
        mta_sts.findings,
        tls_rpt.findings,
        bimi.findings,
        dnssec.findings,
    ]
    .concat();
    findings.extend(mta_sts::coverage(
        &mta_sts.section,
        &mx.section.host_names(),
    ));
    let enforcement = dmarc.section.enforcement();
    findings.extend(bimi::dmarc_prerequisite(
        &bimi.section,
        enforcement.as_ref().map(|(p, pct)| (p.as_str(), *pct)),
    ));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let codes: Vec<&'static str> = findings.iter().map(|f| f.code).collect();
    let facts = DomainFacts {
        spf: spf_usable(&codes, &spf.section),
        dkim: dkim.section.has_usable_key(),
        dmarc: usable(&codes, "dmarc.dns_error", enforcement.is_none()),
        codes: codes.clone(),
    };
    DomainReport {
        domain: domain.ascii.clone(),
        domain_unicode: domain.unicode.clone(),
        verdict: verdict(&findings),
        score: score(&findings),
        requirements: requirements::for_domain(&facts),
        findings,
        spf: spf.section,
        dmarc: dmarc.section,
        dkim: dkim.section,
        mx: mx.section,
        mta_sts: mta_sts.section,
        tls_rpt: tls_rpt.section,
        bimi: bimi.section,
        dnssec: dnssec.section,
        dns: resolver.summary(trace),
    }
}

/// `None` when the protocol's lookup failed, else whether it is usable.
fn usable(codes: &[&str], dns_error: &str, unusable: bool) -> Option<bool> {
    if codes.contains(&dns_error) {
        None
    } else {
        Some(!unusable)
    }
}

/// `None` when a lookup failed, or when the walk stopped at its limit
/// before the record was shown unusable; else whether it is usable.
fn spf_usable(codes: &[&str], section: &spf::SpfSection) -> Option<bool> {
    let unusable = spf_unusable(section);
    if !unusable && !section.complete {
        return None;
    }
    usable(codes, "spf.dns_error", unusable)
}

/// SPF that a receiver would turn into none or permerror.
fn spf_unusable(section: &spf::SpfSection) -> bool {
    section.status != spf::NodeStatus::Ok
        || section.lookups > crate::spf::eval::MAX_DNS_TERMS
        || section.void_lookups > crate::spf::eval::MAX_VOID_LOOKUPS
}

/// `max(0, 100 − 20 × distinct error codes − 5 × distinct warning codes)`.
pub fn score(findings: &[Finding]) -> u8 {
    let distinct = |severity: Severity| {
        findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.code)
            .collect::<BTreeSet<_>>()
            .len()
    };
    let penalty = 20 * distinct(Severity::Error) + 5 * distinct(Severity::Warning);
    u8::try_from(100usize.saturating_sub(penalty)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_counts_distinct_codes_by_severity() {
        let f = |code| Finding::new(code, "x");
        assert_eq!(score(&[]), 100);
        assert_eq!(score(&[f("spf.softfail_all")]), 100);
        assert_eq!(score(&[f("dmarc.no_rua")]), 95);
        assert_eq!(score(&[f("spf.missing")]), 80);
        assert_eq!(
            score(&[
                f("mx.target_unresolvable"),
                f("mx.target_unresolvable"),
                f("dmarc.no_rua")
            ]),
            75
        );
        let many: Vec<Finding> = [
            "spf.missing",
            "dmarc.missing",
            "dkim.key_invalid",
            "mx.target_is_ip",
            "bimi.invalid",
            "spf.syntax",
        ]
        .into_iter()
        .map(f)
        .collect();
        assert_eq!(score(&many), 0);
    }
}
