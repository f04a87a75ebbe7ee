//! Where DANE and MTA-STS tell senders different things about one MX host
//! (RFC 8461 §2, RFC 7672 §1.3).
//!
//! A sender that does DANE follows the host's TLSA records and ignores
//! MTA-STS for it; one that does only MTA-STS follows the policy. When a
//! domain publishes both, each MX host should pass both or neither, or
//! which sender delivers depends on what it implements. Under an enforcing
//! policy this module reports, once per host with usable TLSA from a
//! secure zone (`dane.mta_sts_conflict`):
//!
//! - the policy's `mx` patterns do not cover the host: DANE senders
//!   deliver, MTA-STS senders refuse it;
//! - an address's chain matches a TLSA record but fails the web PKI checks
//!   MTA-STS requires (trusted root, name, expiry): DANE senders deliver,
//!   MTA-STS senders do not;
//! - an address's chain passes the web PKI checks but matches no TLSA
//!   record: MTA-STS senders deliver, DANE senders do not.

use super::dane::DaneStatus;
use super::{TransportSection, fails_enforced_tls};
use crate::domain::mta_sts::MtaStsSection;
use crate::findings::{Finding, catalog};
use crate::records::mta_sts::{Mode, mx_matches};

/// One `dane.mta_sts_conflict` per MX host on which DANE and an enforcing
/// MTA-STS policy disagree; nothing without both.
pub fn conflicts(mta_sts: &MtaStsSection, transport: &TransportSection) -> Vec<Finding> {
    let Some(report) = mta_sts.policy.as_ref() else {
        return Vec::new();
    };
    let Some(policy) = report.parsed.as_ref().filter(|p| p.mode == Mode::Enforce) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for host in transport
        .tlsa
        .iter()
        .filter(|h| h.usable().next().is_some())
    {
        let mut disagreements = Vec::new();
        if !policy.mx.iter().any(|p| mx_matches(p, &host.host)) {
            disagreements.push(format!(
                "the policy's mx patterns ({}) do not cover {}: DANE senders deliver to it, \
                 MTA-STS senders refuse it",
                policy.mx.join(", "),
                host.host
            ));
        }
        for address in transport.addresses.iter().filter(|a| a.host == host.host) {
            let dane = address.dane.as_ref().map(|d| d.status);
            let web_pki_fails = fails_enforced_tls(address);
            match dane {
                Some(DaneStatus::Matched) if web_pki_fails => disagreements.push(format!(
                    "at {} the certificate matches a TLSA record but fails MTA-STS's checks \
                     (trusted root, name, expiry): DANE senders deliver, MTA-STS senders do not",
                    address.address
                )),
                Some(DaneStatus::Mismatch) if !web_pki_fails => disagreements.push(format!(
                    "at {} the certificate passes MTA-STS's checks but matches no TLSA \
                     record: MTA-STS senders deliver, DANE senders do not",
                    address.address
                )),
                _ => {}
            }
        }
        if disagreements.is_empty() {
            continue;
        }
        findings.push(
            Finding::new(
                catalog::DANE_MTA_STS_CONFLICT,
                format!(
                    "DANE ({}) and the enforcing MTA-STS policy at {} disagree about {}: {}",
                    host.name,
                    report.url,
                    host.host,
                    disagreements.join("; ")
                ),
            )
            .about(host.name.clone(), "TLSA")
            .with_evidence([format!("policy: {}", report.url), "mode: enforce".into()])
            .with_evidence(policy.mx.iter().map(|p| format!("mx: {p}")))
            .with_evidence(
                host.records
                    .iter()
                    .map(|r| format!("{} TLSA {}", host.name, r.presentation())),
            ),
        );
    }
    findings
}
