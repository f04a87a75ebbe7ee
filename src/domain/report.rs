//! The domain audit report: all checks run concurrently, their findings
//! worst first, the provider checklist, a verdict and a score.
//!
//! This module decides how the checks are combined. The score is
//! `max(0, 100 − 20 × E − 5 × W)` where E and W count the distinct error
//! and warning codes (info findings cost nothing; one code repeated for
//! several hosts counts once), so a domain with no error or warning scores
//! 100 and a single error leaves 80.
//!
//! A DNS failure fails closed: when a lookup a check rests on failed, that
//! check is [`Undecided`], the report has no score (it would count only
//! what was decided), and the verdict is `unknown` — "could not be
//! checked, run again" — unless an error was found among what was decided,
//! which fails the domain whatever the rest says.

use super::protocol::{Audited, Protocol};
use super::{
    AuditContext, AuditOptions, bimi, dkim, dmarc, dnssec, mta_sts, mx, spf, tls_rpt, transport,
};
use crate::dns::Resolver;
use crate::dns::trace::DnsSummary;
use crate::findings::catalog;
use crate::findings::requirements::{self, DomainFacts, Requirement};
use crate::findings::undecided::{self, Undecided};
use crate::findings::{Code, Finding, RecordAt, Severity, Verdict};
use crate::records::name::DomainName;
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
    /// `None` when a check is undecided.
    pub score: Option<u8>,
    /// The score and what receivers do with forgeries of the domain, in
    /// one sentence for people ([`super::summary`]).
    pub summary: String,
    /// The checks a failed DNS lookup left undecided; empty when every
    /// check was decided.
    pub undecided: Vec<Undecided>,
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
    /// The SMTP probe of every MX address (`--probe-smtp`).
    pub transport: transport::TransportSection,
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
    let (spf, dmarc, dkim, (mx, transport), mta_sts, tls_rpt, bimi, dnssec) = tokio::join!(
        spf::check(&cx),
        dmarc::check(&cx),
        dkim::check(&cx),
        async {
            // The probe needs the MX hosts' addresses; the other checks
            // need nothing from it, so it runs beside them.
            let mx = mx::check(&cx).await;
            let transport = transport::check(&cx, &mx.section).await;
            (mx, transport)
        },
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
        transport.findings,
    ]
    .concat();
    findings.extend(mta_sts::coverage(
        &mta_sts.section,
        &mx.section.host_names(),
    ));
    findings.extend(transport::enforce_failures(
        &mta_sts.section,
        &transport.section,
    ));
    findings.extend(transport::agreement::conflicts(
        &mta_sts.section,
        &transport.section,
    ));
    let enforcement = dmarc.section.enforcement();
    // A DMARC lookup that failed says nothing about enforcement; BIMI's
    // prerequisite is then undecided with it, not unmet.
    if dmarc.section.status != dmarc::DmarcStatus::DnsError {
        findings.extend(bimi::dmarc_prerequisite(
            &bimi.section,
            enforcement.as_ref().map(|(p, pct)| (p.as_str(), *pct)),
        ));
    }
    for finding in &mut findings {
        locate(&domain.ascii, finding);
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let codes: Vec<&'static str> = findings.iter().map(|f| f.code).collect();
    let facts = DomainFacts {
        spf: spf_usable(&codes, &spf.section),
        dkim: dkim.section.has_usable_key(),
        dmarc: usable(&codes, catalog::DMARC_DNS_ERROR, enforcement.is_none()),
        codes: codes.clone(),
    };
    let mut report = DomainReport {
        domain: domain.ascii.clone(),
        domain_unicode: domain.unicode.clone(),
        verdict: Verdict::Unknown,
        score: None,
        summary: String::new(),
        undecided: Vec::new(),
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
        transport: transport.section,
        dns: resolver.summary(trace),
    };
    report.undecided = report
        .sections()
        .into_iter()
        .filter_map(|section| {
            Some(Undecided {
                check: section.protocol().key,
                reason: section.undecided()?,
            })
        })
        .collect();
    report.verdict = undecided::verdict(&report.findings, &report.undecided);
    report.score = report.undecided.is_empty().then(|| score(&report.findings));
    report.summary = super::summary::sentence(
        &report.domain_unicode,
        report.score,
        &report.undecided,
        &report.dmarc,
        &report.findings,
    );
    report
}

impl DomainReport {
    /// Every protocol's section, in report order.
    pub fn sections(&self) -> [&dyn Audited; 9] {
        [
            &self.spf,
            &self.dmarc,
            &self.dkim,
            &self.mx,
            &self.mta_sts,
            &self.tls_rpt,
            &self.bimi,
            &self.dnssec,
            &self.transport,
        ]
    }
}

/// Every audited protocol, in report order: the protocols of
/// [`DomainReport::sections`].
pub static PROTOCOLS: [&Protocol; 9] = [
    &spf::PROTOCOL,
    &dmarc::PROTOCOL,
    &dkim::PROTOCOL,
    &mx::PROTOCOL,
    &mta_sts::PROTOCOL,
    &tls_rpt::PROTOCOL,
    &bimi::PROTOCOL,
    &dnssec::PROTOCOL,
    &transport::PROTOCOL,
];

/// The protocol whose findings' codes start with `family`.
pub fn by_key(family: &str) -> Option<&'static Protocol> {
    PROTOCOLS.iter().copied().find(|p| p.key == family)
}

/// The title for people of a protocol key, a finding family or a check a
/// report names as undecided ([`Undecided::check`]): an audited
/// protocol's own ([`by_key`]), or `iprev` for the message check of that
/// name; `None` for a family that is neither (`dane`, `content`).
pub fn title(key: &str) -> Option<&'static str> {
    match by_key(key) {
        Some(protocol) => Some(protocol.title),
        None => (key == "iprev").then_some("iprev"),
    }
}

/// Says which record `finding` is about, unless it already names one: its
/// protocol's record at `domain`, the protocol found by the family of its
/// code (`mta_sts.mx_not_covered` is about `_mta-sts.<domain>`).
pub fn locate(domain: &str, finding: &mut Finding) {
    if finding.record.is_some() {
        return;
    }
    let family = finding.code.split('.').next().unwrap_or(finding.code);
    let Some(place) = by_key(family).and_then(|p| p.place) else {
        return;
    };
    finding.record = Some(RecordAt {
        name: format!("{}{domain}", place.prefix),
        rtype: place.rtype,
    });
}

/// `None` when the protocol's lookup failed, else whether it is usable.
fn usable(codes: &[&str], dns_error: Code, unusable: bool) -> Option<bool> {
    if codes.contains(&dns_error.code) {
        None
    } else {
        Some(!unusable)
    }
}

/// `None` when a lookup failed, or when the walk stopped at its limit
/// before the record was shown unusable; else whether it is usable.
fn spf_usable(codes: &[&str], section: &spf::SpfSection) -> Option<bool> {
    // An mx term over the host limit is a permerror where it is reached
    // (RFC 7208 §4.6.4); only its finding carries it. A record ending in
    // +all passes every server, so it authenticates nobody.
    let unusable = spf_unusable(section)
        || codes.contains(&catalog::SPF_MX_TOO_MANY_HOSTS.code)
        || codes.contains(&catalog::SPF_PLUS_ALL.code);
    if !unusable && !section.complete {
        return None;
    }
    usable(codes, catalog::SPF_DNS_ERROR, unusable)
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
    fn a_title_for_each_protocol_and_message_check() {
        let titles: Vec<_> = ["spf", "dkim", "dmarc", "iprev", "mta_sts", "tls", "dane"]
            .into_iter()
            .map(title)
            .collect();
        assert_eq!(
            titles,
            [
                Some("SPF"),
                Some("DKIM"),
                Some("DMARC"),
                Some("iprev"),
                Some("MTA-STS"),
                Some("SMTP TLS"),
                None
            ]
        );
    }

    #[test]
    fn score_counts_distinct_codes_by_severity() {
        let f = |code| Finding::new(code, "x");
        assert_eq!(score(&[]), 100);
        assert_eq!(score(&[f(catalog::SPF_SOFTFAIL_ALL)]), 100);
        assert_eq!(score(&[f(catalog::DMARC_NO_RUA)]), 95);
        assert_eq!(score(&[f(catalog::SPF_MISSING)]), 80);
        assert_eq!(
            score(&[
                f(catalog::MX_TARGET_UNRESOLVABLE),
                f(catalog::MX_TARGET_UNRESOLVABLE),
                f(catalog::DMARC_NO_RUA)
            ]),
            75
        );
        let many: Vec<Finding> = [
            catalog::SPF_MISSING,
            catalog::DMARC_MISSING,
            catalog::DKIM_KEY_INVALID,
            catalog::MX_TARGET_IS_IP,
            catalog::BIMI_INVALID,
            catalog::SPF_SYNTAX,
        ]
        .into_iter()
        .map(f)
        .collect();
        assert_eq!(score(&many), 0);
    }

    #[test]
    fn keys_are_code_families_and_unique() {
        let mut keys: Vec<&str> = PROTOCOLS.iter().map(|p| p.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), PROTOCOLS.len());
        for p in PROTOCOLS {
            assert!(
                crate::findings::catalog::CATALOG
                    .iter()
                    .any(|c| c.code.starts_with(&format!("{}.", p.key))),
                "no catalog code in the {} family",
                p.key
            );
            assert_eq!(by_key(p.key), Some(p));
        }
    }

    /// The API's schema lists every protocol's section in the domain
    /// report, so a new protocol cannot ship undocumented.
    #[test]
    fn the_openapi_domain_report_has_a_section_per_protocol() {
        let spec: serde_json::Value =
            serde_norway::from_str(include_str!("../../openapi.yaml")).expect("openapi.yaml");
        let report = &spec["components"]["schemas"]["DomainReport"];
        for p in PROTOCOLS {
            assert!(
                report["properties"].get(p.section).is_some(),
                "openapi.yaml DomainReport has no `{}` property",
                p.section
            );
            assert!(
                report["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|k| k == p.section)),
                "openapi.yaml DomainReport does not require `{}`",
                p.section
            );
        }
    }

    #[test]
    fn findings_get_their_protocols_record_unless_they_name_one() {
        let mut findings = vec![
            Finding::new(catalog::DMARC_NO_RUA, "x"),
            Finding::new(catalog::DMARC_RECORD_AT_APEX, "x").about("ex.test", "TXT"),
            Finding::new(catalog::MTA_STS_MX_NOT_COVERED, "x"),
            Finding::new(catalog::DKIM_NO_SELECTOR_FOUND, "x"),
        ];
        for finding in &mut findings {
            locate("ex.test", finding);
        }
        let places: Vec<Option<(&str, &str)>> = findings
            .iter()
            .map(|f| f.record.as_ref().map(|r| (r.name.as_str(), r.rtype)))
            .collect();
        assert_eq!(
            places,
            [
                Some(("_dmarc.ex.test", "TXT")),
                Some(("ex.test", "TXT")),
                Some(("_mta-sts.ex.test", "TXT")),
                None,
            ]
        );
    }
}
