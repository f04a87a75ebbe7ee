//! RRSIG verification: does a zone's key vouch for an RRset (RFC 4035
//! §5.3)?
//!
//! A signature counts only when its signer is the zone whose keys are
//! given, its labels field fits the owner name (fewer labels: a wildcard
//! expansion, RFC 4035 §5.3.2), the present moment lies between its
//! inception and expiration (serial-number arithmetic, RFC 4034 §3.1.5),
//! and a zone key of that tag and algorithm, not revoked, verifies it. One
//! such signature is enough.
//!
//! The work per RRset is bounded whatever a zone publishes: at most
//! [`MAX_SIGNATURES`] signatures are tried, each against at most
//! [`MAX_KEYS_PER_SIGNATURE`] keys of its tag, so a zone full of colliding
//! key tags and signatures (KeyTrap, CVE-2023-50387) costs a few
//! verifications, not thousands.

use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, SerialNumber};

/// Signatures tried per RRset.
pub(super) const MAX_SIGNATURES: usize = 4;
/// Keys tried per signature (keys sharing its tag and algorithm).
pub(super) const MAX_KEYS_PER_SIGNATURE: usize = 4;

/// Why no signature vouched for an RRset, the most telling reason first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// The signature would verify, but its validity period has passed.
    Expired { expiration: u32 },
    /// The signature's validity period has not begun.
    NotYetValid { inception: u32 },
    /// A key of the tag verified nothing: the signature is wrong.
    BadSignature,
    /// No zone key has the signature's tag and algorithm.
    NoKey { key_tag: u16 },
    /// The algorithm is one mailvet cannot verify.
    UnsupportedAlgorithm,
    /// No signature by the zone covers the RRset.
    Unsigned,
}

impl Failure {
    /// In words, for reports.
    pub fn describe(&self, owner: &Name, rtype: RecordType, zone: &Name) -> String {
        let set = format!("the {rtype} RRset of {}", owner.to_ascii());
        match self {
            Failure::Expired { expiration } => {
                format!(
                    "the signature on {set} expired at {}",
                    timestamp(*expiration)
                )
            }
            Failure::NotYetValid { inception } => format!(
                "the signature on {set} is not valid before {}",
                timestamp(*inception)
            ),
            Failure::BadSignature => {
                format!(
                    "the signature on {set} does not verify with {}'s key",
                    zone.to_ascii()
                )
            }
            Failure::NoKey { key_tag } => format!(
                "{set} is signed with key tag {key_tag}, which is not among {}'s DNSKEYs",
                zone.to_ascii()
            ),
            Failure::UnsupportedAlgorithm => {
                format!("{set} is signed only with algorithms mailvet cannot verify")
            }
            Failure::Unsigned => {
                format!("{set} carries no signature by {}", zone.to_ascii())
            }
        }
    }
}

/// An RFC 3339 rendering of a DNSSEC timestamp (seconds since 1970).
fn timestamp(seconds: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(seconds))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

/// The RRSIGs among `records` that cover `owner`'s `rtype` RRset.
pub(super) fn signatures_over<'r>(
    records: &'r [Record],
    owner: &'r Name,
    rtype: RecordType,
) -> impl Iterator<Item = &'r RRSIG> + 'r {
    records.iter().filter_map(move |r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig))
            if sig.input().type_covered == rtype && r.name.eq_ignore_root_case(owner) =>
        {
            Some(sig)
        }
        _ => None,
    })
}

/// Checks that a zone key signs `owner`'s `rtype` RRset among `records`
/// (which also hold the RRSIGs). `now` is seconds since 1970. `Ok` holds
/// the labels field of the signature that verified: fewer than `owner`
/// has means the RRset was synthesized from a wildcard, which the caller
/// must then prove `owner` itself does not exist for (RFC 4035 §5.3.4).
pub fn verify_rrset(
    records: &[Record],
    owner: &Name,
    rtype: RecordType,
    zone: &Name,
    keys: &[DNSKEY],
    now: u32,
) -> Result<u8, Failure> {
    let mut best = Failure::Unsigned;
    let by_zone = signatures_over(records, owner, rtype)
        .filter(|sig| sig.input().signer_name.eq_ignore_root_case(zone))
        .filter(|sig| zone.zone_of(owner) && sig.input().num_labels <= owner.num_labels())
        .take(MAX_SIGNATURES);
    for sig in by_zone {
        match verify_one(records, owner, sig, keys, now) {
            Ok(()) => return Ok(sig.input().num_labels),
            Err(failure) => best = best.min(failure),
        }
    }
    Err(best)
}

fn verify_one(
    records: &[Record],
    owner: &Name,
    sig: &RRSIG,
    keys: &[DNSKEY],
    now: u32,
) -> Result<(), Failure> {
    let input = sig.input();
    if !input.algorithm.is_supported() {
        return Err(Failure::UnsupportedAlgorithm);
    }
    let candidates = keys
        .iter()
        .filter(|k| {
            k.zone_key()
                && !k.revoke()
                && k.algorithm() == input.algorithm
                && k.calculate_key_tag().is_ok_and(|tag| tag == input.key_tag)
        })
        .take(MAX_KEYS_PER_SIGNATURE);
    // The RRset in canonical order without duplicates (RFC 4034 §6.3).
    let mut rrset: Vec<&Record> = records
        .iter()
        .filter(|r| r.record_type() == input.type_covered && r.name.eq_ignore_root_case(owner))
        .collect();
    rrset.sort();
    rrset.dedup();
    let mut tried = false;
    for key in candidates {
        tried = true;
        if key
            .verify_rrsig(owner, DNSClass::IN, sig, rrset.iter().copied())
            .is_ok()
        {
            let (now, inception, expiration) = (
                SerialNumber::new(now),
                input.sig_inception,
                input.sig_expiration,
            );
            if now < inception {
                return Err(Failure::NotYetValid {
                    inception: inception.get(),
                });
            }
            if now > expiration {
                return Err(Failure::Expired {
                    expiration: expiration.get(),
                });
            }
            return Ok(());
        }
    }
    Err(if tried {
        Failure::BadSignature
    } else {
        Failure::NoKey {
            key_tag: input.key_tag,
        }
    })
}

/// Seconds since 1970 as a DNSSEC timestamp (serial arithmetic wraps it).
pub fn now() -> u32 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Truncation is the RFC 4034 §3.1.5 reading of a timestamp.
    (seconds & u64::from(u32::MAX)) as u32
}
