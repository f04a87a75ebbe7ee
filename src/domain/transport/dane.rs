//! DANE for SMTP (RFC 7672, RFC 6698, RFC 7218, RFC 7671): what the TLSA
//! records at `_25._tcp.<mx>` say, and whether the chain an MX address
//! presented matches them.
//!
//! This module decides:
//!
//! - **whether a TLSA RRset counts**: only from a secure zone (RFC 7672
//!   §2.2), as mailvet's own DNSSEC validation from the trust anchor
//!   decides ([`Resolver::lookup_validated`], never an upstream's AD bit).
//!   Records in an insecure zone are `dane.tlsa_insecure`, since senders
//!   ignore them. A bogus answer — records or their absence failing
//!   validation — is `dane.tlsa_bogus`: DANE senders take it for a failed
//!   lookup and defer the mail (RFC 7672 §2.1.1), whatever the records
//!   say, so none is used. A lookup that failed (timeout, SERVFAIL), or an
//!   answer whose status could not be decided (a question of its chain
//!   failed, or it came from a `--zone` file), is `dane.unchecked`: DANE
//!   could not be tested from here, and its records are not used;
//! - **which records are usable** (RFC 7672 §3.1.3, RFC 6698 §2.1):
//!   usages 2 (DANE-TA) and 3 (DANE-EE), selectors 0 (the whole
//!   certificate) and 1 (its SubjectPublicKeyInfo), matching types 0
//!   (exact), 1 (SHA-256) and 2 (SHA-512), with data of the right length.
//!   Usages 0 and 1 (PKIX-TA, PKIX-EE) are not for SMTP, and anything else
//!   is unknown: `dane.tlsa_unusable`;
//! - **a match** against the chain the probe recorded: usage 3 against the
//!   end-entity certificate alone, its names and dates ignored (§3.1.1);
//!   usage 2 against an issuer certificate of the chain (or, for `2 0 0`,
//!   the record's own certificate), which must then name the MX host
//!   (§3.2.3) and sign its way down to the end-entity certificate (§3.1.2).
//!   No usable record matching is `dane.tlsa_mismatch`;
//! - **a rollover** (RFC 7671 §8): a host's usable records must be able to
//!   outlive the key in use. Each usable record is reduced to the key it
//!   pins — the SubjectPublicKeyInfo of the certificate of the presented
//!   chain it matches, or, when it matches none, itself (a key published
//!   ahead of use). Fewer than two distinct keys is `dane.no_rollover`:
//!   the next key (or the next CA) breaks every record at once.

use super::{AddressProbe, certificate};
use crate::dns::Resolver;
use crate::domain::dnssec::DnssecStatus;
use crate::domain::protocol::status_word;
use crate::findings::{Finding, catalog};
use aws_lc_rs::digest;
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::{Name, RData, RecordType};
use rustls::RootCertStore;
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::ParsedCertificate;
use serde::Serialize;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Most TLSA records of one host looked at; the others are listed as
/// unusable. Each costs hashing the chain, and a usage 2 match a chain
/// verification.
pub const MAX_RECORDS: usize = 16;

/// One TLSA record as published, and whether SMTP senders can use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsaRecord {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    /// The certificate association data, hexadecimal.
    pub data: String,
    /// Why SMTP senders ignore it, when they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
    #[serde(skip)]
    bytes: Vec<u8>,
}

impl TlsaRecord {
    pub fn new(usage: u8, selector: u8, matching: u8, bytes: Vec<u8>) -> TlsaRecord {
        let mut record = TlsaRecord {
            usage,
            selector,
            matching,
            data: hex(&bytes),
            unusable: None,
            bytes,
        };
        record.unusable = record.why_unusable();
        record
    }

    fn from_rdata(tlsa: &TLSA) -> TlsaRecord {
        TlsaRecord::new(
            tlsa.cert_usage.into(),
            tlsa.selector.into(),
            tlsa.matching.into(),
            tlsa.cert_data.clone(),
        )
    }

    /// The record in presentation form, the data shortened.
    pub fn presentation(&self) -> String {
        let data = if self.data.len() > 16 {
            format!("{}…", &self.data[..16])
        } else {
            self.data.clone()
        };
        format!("{} {} {} {data}", self.usage, self.selector, self.matching)
    }

    pub fn usable(&self) -> bool {
        self.unusable.is_none()
    }

    fn why_unusable(&self) -> Option<String> {
        let length = match self.matching {
            0 => None,
            1 => Some(32),
            2 => Some(64),
            other => return Some(format!("matching type {other} is not defined")),
        };
        match self.usage {
            0 | 1 => {
                return Some(format!(
                    "usage {} (PKIX-{}) is not for SMTP: senders do not use it (RFC 7672 §3.1.3)",
                    self.usage,
                    if self.usage == 0 { "TA" } else { "EE" }
                ));
            }
            2 | 3 => {}
            other => return Some(format!("usage {other} is not defined")),
        }
        if self.selector > 1 {
            return Some(format!("selector {} is not defined", self.selector));
        }
        if let Some(length) = length
            && self.bytes.len() != length
        {
            return Some(format!(
                "the data is {} octets, not the {length} of its matching type",
                self.bytes.len()
            ));
        }
        None
    }

    /// Whether this record's data is `cert`'s selected part, matched as
    /// its matching type says.
    fn matches(&self, cert: &CertificateDer<'_>) -> bool {
        let Some(selected) = select(cert, self.selector) else {
            return false;
        };
        match self.matching {
            0 => selected == self.bytes,
            1 => digest::digest(&digest::SHA256, &selected).as_ref() == self.bytes,
            2 => digest::digest(&digest::SHA512, &selected).as_ref() == self.bytes,
            _ => false,
        }
    }
}

/// The part of `cert` a selector names: the whole DER (0) or the
/// SubjectPublicKeyInfo (1).
pub fn select(cert: &CertificateDer<'_>, selector: u8) -> Option<Vec<u8>> {
    match selector {
        0 => Some(cert.as_ref().to_vec()),
        1 => spki(cert),
        _ => None,
    }
}

fn spki(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, x509) = X509Certificate::from_der(cert.as_ref()).ok()?;
    Some(x509.public_key().raw.to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the TLSA lookup of one MX host gave.
#[derive(Debug, Clone, Serialize)]
pub struct HostTlsa {
    /// The MX host, lower-case, without the final dot.
    pub host: String,
    /// `_25._tcp.<host>`.
    pub name: String,
    /// The DNSSEC status of the answer, as mailvet validated it: only
    /// records of a secure answer count.
    pub security: DnssecStatus,
    /// Why the answer is not secure, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_reason: Option<String>,
    /// The records, as published (at most [`MAX_RECORDS`] judged).
    pub records: Vec<TlsaRecord>,
    /// Why the lookup failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HostTlsa {
    /// The records senders use: usable ones from a secure zone.
    pub fn usable(&self) -> impl Iterator<Item = &TlsaRecord> {
        self.records
            .iter()
            .filter(|r| self.security == DnssecStatus::Secure && r.usable())
    }

    /// Whether DANE senders apply DANE to this host: TLSA from a secure
    /// zone (even if none of it is usable, TLS is then still mandatory,
    /// RFC 7672 §2.2).
    pub fn in_force(&self) -> bool {
        self.security == DnssecStatus::Secure && !self.records.is_empty()
    }
}

/// The TLSA base name of an MX host on port 25.
pub fn tlsa_name(host: &str) -> String {
    format!("_25._tcp.{host}")
}

/// Looks up `_25._tcp.<host>` TLSA and validates the answer.
pub async fn lookup(resolver: &Resolver, host: &str) -> HostTlsa {
    let name = tlsa_name(host);
    let mut found = HostTlsa {
        host: host.to_string(),
        name: name.clone(),
        security: DnssecStatus::Unknown,
        security_reason: None,
        records: Vec::new(),
        error: None,
    };
    let Ok(owner) = Name::from_ascii(format!("{name}.")) else {
        found.error = Some(format!("{name} is not a DNS name"));
        return found;
    };
    match resolver.lookup_validated(&owner, RecordType::TLSA).await {
        Ok(validated) => {
            found.records = validated
                .answer
                .data(RecordType::TLSA)
                .filter_map(|data| match data {
                    RData::TLSA(tlsa) => Some(TlsaRecord::from_rdata(tlsa)),
                    _ => None,
                })
                .collect();
            for extra in found.records.iter_mut().skip(MAX_RECORDS) {
                extra.unusable = Some(format!("only the first {MAX_RECORDS} records are read"));
            }
            found.security = DnssecStatus::of(&validated.security);
            let reason = validated.security.reason();
            found.security_reason = (!reason.is_empty()).then(|| reason.to_string());
        }
        Err(e) => found.error = Some(e.to_string()),
    }
    found
}

/// How DANE judged one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DaneStatus {
    /// A usable record matches the presented chain.
    Matched,
    /// Usable records exist and none matches.
    Mismatch,
    /// TLSA from a secure zone, none usable: TLS without authentication.
    Unusable,
    /// No TLSA records: DANE does not apply.
    NoTlsa,
    /// TLSA records in an insecure zone: senders ignore them.
    Insecure,
    /// The TLSA answer fails DNSSEC validation: senders defer mail.
    Bogus,
    /// The lookup failed, or whether the answer is secure could not be
    /// decided from here: its records are not used.
    Unknown,
    /// DANE applies, but there was no chain to match (no TLS session).
    NotChecked,
}

/// DANE's verdict on one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaneResult {
    pub status: DaneStatus,
    /// The record that matched, in presentation form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Why not matched, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl DaneResult {
    fn new(status: DaneStatus, reason: impl Into<String>) -> DaneResult {
        DaneResult {
            status,
            record: None,
            reason: Some(reason.into()),
        }
    }
}

/// DANE's verdict on an address of `tlsa.host` that presented `chain`
/// (or why there is none), at `now`. CPU work (hashes, and signatures for
/// usage 2): call off the async runtime.
pub fn judge(
    tlsa: &HostTlsa,
    chain: Result<&[CertificateDer<'_>], &str>,
    algorithms: &WebPkiSupportedAlgorithms,
    now: UnixTime,
) -> DaneResult {
    if let Some(error) = &tlsa.error {
        return DaneResult::new(
            DaneStatus::Unknown,
            format!("the TLSA lookup could not be made from here ({error}): DANE was not tested"),
        );
    }
    let reason = tlsa.security_reason.as_deref().unwrap_or("no reason given");
    if tlsa.security == DnssecStatus::Bogus {
        return DaneResult::new(
            DaneStatus::Bogus,
            format!(
                "the TLSA answer for {} fails DNSSEC validation ({reason}): DANE senders treat \
                 it as a failed lookup and defer mail",
                tlsa.name
            ),
        );
    }
    if tlsa.records.is_empty() {
        return DaneResult::new(DaneStatus::NoTlsa, format!("no TLSA at {}", tlsa.name));
    }
    match tlsa.security {
        DnssecStatus::Insecure => {
            return DaneResult::new(
                DaneStatus::Insecure,
                format!("{} is not in a DNSSEC-secure zone ({reason})", tlsa.name),
            );
        }
        DnssecStatus::Unknown | DnssecStatus::Bogus => {
            return DaneResult::new(
                DaneStatus::Unknown,
                format!(
                    "whether the TLSA answer is DNSSEC-secure could not be decided from here \
                     ({reason}): its records are not used"
                ),
            );
        }
        DnssecStatus::Secure => {}
    }
    let usable: Vec<&TlsaRecord> = tlsa.usable().collect();
    if usable.is_empty() {
        return DaneResult::new(
            DaneStatus::Unusable,
            "no TLSA record is usable for SMTP: senders encrypt without authenticating",
        );
    }
    let chain = match chain {
        Ok(chain) if !chain.is_empty() => chain,
        Ok(_) => return DaneResult::new(DaneStatus::NotChecked, "the server sent no certificate"),
        Err(why) => return DaneResult::new(DaneStatus::NotChecked, why),
    };
    let mut reasons = Vec::new();
    for record in &usable {
        match record.usage {
            3 if record.matches(&chain[0]) => return matched(record),
            2 => match trust_anchor(record, chain, &tlsa.host, algorithms, now) {
                Ok(()) => return matched(record),
                Err(Some(why)) => reasons.push(format!("{}: {why}", record.presentation())),
                Err(None) => {}
            },
            _ => {}
        }
    }
    if reasons.is_empty() {
        reasons.push("no usable record matches a certificate of the presented chain".into());
    }
    DaneResult::new(DaneStatus::Mismatch, reasons.join("; "))
}

fn matched(record: &TlsaRecord) -> DaneResult {
    DaneResult {
        status: DaneStatus::Matched,
        record: Some(record.presentation()),
        reason: None,
    }
}

/// A usage 2 record as the trust anchor of `chain` for `host`: `Ok` when
/// it anchors the chain, `Err(None)` when it matches no certificate,
/// `Err(Some(why))` when it matches one that fails as an anchor.
fn trust_anchor(
    record: &TlsaRecord,
    chain: &[CertificateDer<'_>],
    host: &str,
    algorithms: &WebPkiSupportedAlgorithms,
    now: UnixTime,
) -> Result<(), Option<String>> {
    // The anchor is an issuer in the chain, or for `2 0 0` the record's
    // own certificate, which servers may leave out (RFC 7672 §3.1.2).
    let own = (record.selector == 0 && record.matching == 0)
        .then(|| CertificateDer::from(record.bytes.clone()));
    let anchor = chain[1..]
        .iter()
        .find(|c| record.matches(c))
        .or(own.as_ref())
        .ok_or(None)?;
    let mut roots = RootCertStore::empty();
    roots
        .add(anchor.clone().into_owned())
        .map_err(|e| Some(format!("the matching certificate is no usable anchor: {e}")))?;
    let leaf = ParsedCertificate::try_from(&chain[0])
        .map_err(|e| Some(format!("the server's certificate does not parse: {e}")))?;
    verify_server_cert_signed_by_trust_anchor(&leaf, &roots, &chain[1..], now, algorithms.all)
        .map_err(|e| {
            Some(format!(
                "the chain does not lead from the server's certificate to this trust anchor: {e}"
            ))
        })?;
    if !certificate::names_host(&leaf, host) {
        return Err(Some(format!(
            "the chain leads to the anchor, but the server's certificate does not name {host} \
             (RFC 7672 §3.2.3)"
        )));
    }
    Ok(())
}

/// The distinct keys a host's usable records pin (RFC 7671 §8): a record
/// matching a certificate of one of `chains` pins that certificate's
/// SubjectPublicKeyInfo; one matching none stands for a key of its own.
pub fn pinned_keys(tlsa: &HostTlsa, chains: &[&[CertificateDer<'_>]]) -> usize {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for record in tlsa.usable() {
        let candidates = chains.iter().flat_map(|chain| match record.usage {
            3 => &chain[..chain.len().min(1)],
            _ => &chain[chain.len().min(1)..],
        });
        let key = candidates
            .into_iter()
            .find(|cert| record.matches(cert))
            .and_then(spki)
            .unwrap_or_else(|| {
                [
                    &[record.usage, record.selector, record.matching][..],
                    &record.bytes,
                ]
                .concat()
            });
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.len()
}

/// The `dane.` findings of every host: a lookup that failed or could not
/// be validated, a bogus answer, records in an insecure zone, unusable
/// records, addresses whose chain matches no usable record, and a host
/// whose records cannot outlive its key.
pub fn findings(tlsa: &[HostTlsa], addresses: &[AddressProbe]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for host in tlsa {
        let at = |code, detail: String| {
            let records = host
                .records
                .iter()
                .map(|r| format!("{} TLSA {}", host.name, r.presentation()));
            let validation = host
                .security_reason
                .iter()
                .map(|why| format!("DNSSEC: {} ({why})", status_word(&host.security)));
            let error = host
                .error
                .iter()
                .map(|e| format!("{} TLSA: {e}", host.name));
            Finding::new(code, detail)
                .about(host.name.clone(), "TLSA")
                .with_evidence(records.chain(validation).chain(error))
        };
        if let Some(error) = &host.error {
            findings.push(at(
                catalog::DANE_UNCHECKED,
                format!(
                    "the TLSA lookup of {} could not be made from here ({error}), so DANE for \
                     {} could not be tested",
                    host.name, host.host
                ),
            ));
            continue;
        }
        let reason = host.security_reason.as_deref().unwrap_or("no reason given");
        match host.security {
            DnssecStatus::Bogus => {
                findings.push(at(
                    catalog::DANE_TLSA_BOGUS,
                    format!(
                        "the TLSA answer for {} fails DNSSEC validation ({reason}): DANE \
                         senders treat it as a failed lookup and defer mail to {}",
                        host.name, host.host
                    ),
                ));
                continue;
            }
            _ if host.records.is_empty() => continue,
            DnssecStatus::Insecure => {
                findings.push(at(
                    catalog::DANE_TLSA_INSECURE,
                    format!(
                        "{} publishes {} TLSA record(s), but its zone is not DNSSEC-secure \
                         ({reason}): senders ignore them and {} gets no DANE protection",
                        host.name,
                        host.records.len(),
                        host.host
                    ),
                ));
                continue;
            }
            DnssecStatus::Unknown => {
                findings.push(at(
                    catalog::DANE_UNCHECKED,
                    format!(
                        "{} publishes {} TLSA record(s), but whether the answer is \
                         DNSSEC-secure could not be decided from here ({reason}), so DANE for \
                         {} could not be tested",
                        host.name,
                        host.records.len(),
                        host.host
                    ),
                ));
                continue;
            }
            DnssecStatus::Secure => {}
        }
        let unusable: Vec<String> = host
            .records
            .iter()
            .filter_map(|r| Some(format!("{}: {}", r.presentation(), r.unusable.as_ref()?)))
            .collect();
        let usable = host.usable().count();
        if !unusable.is_empty() {
            let consequence = if usable == 0 {
                "no record is usable, so DANE senders insist on TLS but cannot authenticate it"
            } else {
                "senders use only the other records"
            };
            findings.push(at(
                catalog::DANE_TLSA_UNUSABLE,
                format!(
                    "{} has TLSA records SMTP senders cannot use ({}); {consequence}",
                    host.name,
                    unusable.join("; ")
                ),
            ));
        }
        if usable == 0 {
            continue;
        }
        let of_host: Vec<&AddressProbe> =
            addresses.iter().filter(|a| a.host == host.host).collect();
        let mismatched: Vec<String> = of_host
            .iter()
            .filter_map(|a| {
                let dane = a
                    .dane
                    .as_ref()
                    .filter(|d| d.status == DaneStatus::Mismatch)?;
                Some(format!(
                    "{}: {}",
                    a.address,
                    dane.reason.as_deref().unwrap_or("no match")
                ))
            })
            .collect();
        if !mismatched.is_empty() {
            findings.push(at(
                catalog::DANE_TLSA_MISMATCH,
                format!(
                    "the certificate {} presents matches none of the usable TLSA records at \
                     {}, so DANE senders do not deliver to it: {}",
                    host.host,
                    host.name,
                    mismatched.join("; ")
                ),
            ));
        }
        let chains: Vec<&[CertificateDer<'static>]> = of_host
            .iter()
            .filter_map(|a| Some(a.tls.as_ref()?.presented.as_slice()))
            .collect();
        let keys = pinned_keys(host, &chains);
        if keys < 2 {
            findings.push(at(
                catalog::DANE_NO_ROLLOVER,
                format!(
                    "every usable TLSA record at {} pins the same key ({usable} usable \
                     record(s)): when {} changes its key or certificate authority, no record \
                     matches until the TLSA records are changed and the old ones have expired \
                     from caches",
                    host.name, host.host
                ),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usages_0_and_1_and_undefined_values_are_unusable() {
        for (usage, selector, matching, len, why) in [
            (0, 1, 1, 32, "PKIX-TA"),
            (1, 1, 1, 32, "PKIX-EE"),
            (4, 1, 1, 32, "usage 4"),
            (3, 2, 1, 32, "selector 2"),
            (3, 1, 3, 32, "matching type 3"),
            (3, 1, 1, 31, "31 octets"),
            (2, 0, 2, 32, "not the 64"),
        ] {
            let record = TlsaRecord::new(usage, selector, matching, vec![0; len]);
            let reason = record.unusable.clone().unwrap_or_default();
            assert!(
                reason.contains(why),
                "{usage} {selector} {matching}: {reason}"
            );
        }
        assert!(TlsaRecord::new(3, 1, 1, vec![0; 32]).usable());
        assert!(TlsaRecord::new(2, 0, 0, vec![1, 2, 3]).usable());
        assert!(TlsaRecord::new(3, 0, 2, vec![0; 64]).usable());
    }

    fn host(security: DnssecStatus, records: Vec<TlsaRecord>) -> HostTlsa {
        HostTlsa {
            host: "mx.example.com".into(),
            name: tlsa_name("mx.example.com"),
            security,
            security_reason: None,
            records,
            error: None,
        }
    }

    #[test]
    fn without_a_chain_each_distinct_usable_record_is_a_key_of_its_own() {
        let a = TlsaRecord::new(3, 1, 1, vec![1; 32]);
        let b = TlsaRecord::new(3, 1, 1, vec![2; 32]);
        let pkix = TlsaRecord::new(1, 1, 1, vec![3; 32]);
        let keys = |security, records| pinned_keys(&host(security, records), &[]);
        assert_eq!(keys(DnssecStatus::Secure, vec![a.clone()]), 1);
        assert_eq!(keys(DnssecStatus::Secure, vec![a.clone(), a.clone()]), 1);
        assert_eq!(keys(DnssecStatus::Secure, vec![a.clone(), pkix]), 1);
        assert_eq!(keys(DnssecStatus::Secure, vec![a.clone(), b.clone()]), 2);
        // Records of an insecure zone pin nothing.
        assert_eq!(keys(DnssecStatus::Insecure, vec![a, b]), 0);
    }

    #[test]
    fn no_records_insecure_bogus_unknown_and_no_session_are_said_as_such() {
        let algorithms = crate::https::provider().signature_verification_algorithms;
        let now = UnixTime::now();
        let record = TlsaRecord::new(3, 1, 1, vec![1; 32]);
        let status = |security, records, chain| {
            judge(&host(security, records), chain, &algorithms, now).status
        };
        assert_eq!(
            status(DnssecStatus::Secure, vec![], Ok(&[])),
            DaneStatus::NoTlsa
        );
        let one = vec![record.clone()];
        assert_eq!(
            status(DnssecStatus::Insecure, one.clone(), Ok(&[])),
            DaneStatus::Insecure
        );
        assert_eq!(
            status(DnssecStatus::Unknown, one.clone(), Ok(&[])),
            DaneStatus::Unknown
        );
        // Bogus whether or not records came: senders defer either way.
        assert_eq!(
            status(DnssecStatus::Bogus, one.clone(), Ok(&[])),
            DaneStatus::Bogus
        );
        assert_eq!(
            status(DnssecStatus::Bogus, vec![], Ok(&[])),
            DaneStatus::Bogus
        );
        let unusable = vec![TlsaRecord::new(0, 0, 1, vec![1; 32])];
        assert_eq!(
            status(DnssecStatus::Secure, unusable, Ok(&[])),
            DaneStatus::Unusable
        );
        let untested = judge(
            &host(DnssecStatus::Secure, one),
            Err("could not be tested"),
            &algorithms,
            now,
        );
        assert_eq!(untested.status, DaneStatus::NotChecked);
        assert_eq!(untested.reason.as_deref(), Some("could not be tested"));
    }

    #[test]
    fn presentation_shortens_the_data() {
        let record = TlsaRecord::new(3, 1, 1, vec![0xab; 32]);
        assert_eq!(record.presentation(), "3 1 1 abababababababab…");
        assert_eq!(record.data.len(), 64);
        assert_eq!(TlsaRecord::new(3, 1, 0, vec![1]).presentation(), "3 1 0 01");
    }
}
