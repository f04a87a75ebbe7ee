//! Authenticated denial of existence: what signed NSEC (RFC 4035 §5.4) and
//! NSEC3 (RFC 5155 §8) records prove about a name.
//!
//! Given NSEC or NSEC3 records whose signatures have already been checked,
//! it decides one of: the name exists with these types (an NSEC at the
//! name, or an NSEC3 matching its hash — its type bitmap then tells a
//! delegation without DS from an ordinary name), the name does not exist
//! (an NSEC covering it; for NSEC3 a closest encloser and a covered next
//! closer name), the name falls in an opt-out span (RFC 5155 §6: an
//! unsigned delegation may be there, so nothing below is secure), or
//! nothing is proven.
//!
//! Wildcards are not examined: a name proven absent is absent, whether or
//! not a wildcard could have answered for it. NSEC3 with more than
//! [`MAX_NSEC3_ITERATIONS`] iterations proves nothing secure: RFC 9276 §3.2
//! lets a validator treat such zones as insecure, and it bounds the hashing
//! a hostile zone can ask for.

use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::rr::{Name, RData, Record, RecordType, RecordTypeSet};

/// NSEC3 iterations above which a proof counts as insecure (RFC 9276 §3.2).
pub const MAX_NSEC3_ITERATIONS: u16 = 150;

/// What the records prove about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proven {
    /// The name exists; these are its types.
    Exists(Vec<RecordType>),
    /// The name does not exist (or, under NOERROR, is an empty
    /// non-terminal: an NSEC covers it and its successor lies below it).
    Absent,
    /// The name lies in an NSEC3 opt-out span: what is there is unsigned.
    OptOut,
    /// The NSEC3 records use more iterations than are worth verifying.
    TooCostly(u16),
    /// Nothing.
    Nothing,
}

/// What `records` (NSEC or NSEC3, signatures already checked, all of the
/// zone `zone`) prove about `name`.
pub fn prove(records: &[Record], name: &Name, zone: &Name) -> Proven {
    let nsec: Vec<(&Name, &NSEC)> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => Some((&r.name, n)),
            _ => None,
        })
        .collect();
    if !nsec.is_empty() {
        return prove_nsec(&nsec, name);
    }
    let nsec3: Vec<(&Name, &NSEC3)> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some((&r.name, n)),
            _ => None,
        })
        .collect();
    if nsec3.is_empty() {
        return Proven::Nothing;
    }
    prove_nsec3(&nsec3, name, zone)
}

/// True when `x` falls strictly between an NSEC or NSEC3 record's owner
/// and its next name (or hash) in canonical order. The last record of a
/// zone points back at the first; it covers everything after its owner and
/// (for NSEC3 hashes) before the first.
pub fn covers<T: Ord + ?Sized>(owner: &T, next: &T, x: &T) -> bool {
    if owner < next {
        owner < x && x < next
    } else {
        owner < x || x < next
    }
}

fn types(set: &RecordTypeSet) -> Vec<RecordType> {
    set.iter().collect()
}

fn prove_nsec(nsec: &[(&Name, &NSEC)], name: &Name) -> Proven {
    if let Some((_, n)) = nsec
        .iter()
        .find(|(owner, _)| owner.eq_ignore_root_case(name))
    {
        return Proven::Exists(types(n.type_set()));
    }
    if nsec
        .iter()
        .any(|(owner, n)| covers(*owner, n.next_domain_name(), name))
    {
        Proven::Absent
    } else {
        Proven::Nothing
    }
}

/// The NSEC3 owner label of a name: the base32hex of its hash (RFC 5155
/// §3.3), lower case.
pub fn nsec3_label(name: &Name, salt: &[u8], iterations: u16) -> Option<String> {
    let digest = Nsec3HashAlgorithm::SHA1
        .hash(salt, &name.to_lowercase(), iterations)
        .ok()?;
    Some(data_encoding::BASE32_DNSSEC.encode(digest.as_ref()))
}

fn prove_nsec3(nsec3: &[(&Name, &NSEC3)], name: &Name, zone: &Name) -> Proven {
    let (_, first) = nsec3[0];
    let (salt, iterations) = (first.salt(), first.iterations());
    if iterations > MAX_NSEC3_ITERATIONS {
        return Proven::TooCostly(iterations);
    }
    // (owner hash, next hash, record), all of one parameter set.
    let chain: Vec<(Vec<u8>, &[u8], &NSEC3)> = nsec3
        .iter()
        .filter(|(_, n)| n.salt() == salt && n.iterations() == iterations)
        .filter_map(|(owner, n)| {
            let label = owner.iter().next()?;
            let hash = data_encoding::BASE32_DNSSEC.decode(label).ok()?;
            Some((hash, n.next_hashed_owner_name(), *n))
        })
        .collect();
    let hash_of = |n: &Name| {
        Nsec3HashAlgorithm::SHA1
            .hash(salt, &n.to_lowercase(), iterations)
            .ok()
            .map(|d| d.as_ref().to_vec())
    };
    let matching = |h: &[u8]| chain.iter().find(|(owner, _, _)| owner.as_slice() == h);
    let covering = |h: &[u8]| {
        chain
            .iter()
            .find(|(owner, next, _)| covers(owner.as_slice(), next, h))
    };
    let Some(hash) = hash_of(name) else {
        return Proven::Nothing;
    };
    if let Some((_, _, n)) = matching(&hash) {
        return Proven::Exists(types(n.type_set()));
    }
    // The closest encloser: the nearest ancestor with a matching NSEC3;
    // the name one label below it toward `name` must be covered.
    let mut labels = name.num_labels();
    while labels > zone.num_labels() {
        labels -= 1;
        let ancestor = name.trim_to(usize::from(labels));
        let Some(h) = hash_of(&ancestor) else {
            return Proven::Nothing;
        };
        if matching(&h).is_none() {
            continue;
        }
        let next_closer = name.trim_to(usize::from(labels) + 1);
        return match hash_of(&next_closer).as_deref().and_then(covering) {
            Some((_, _, n)) if n.opt_out() => Proven::OptOut,
            Some(_) => Proven::Absent,
            None => Proven::Nothing,
        };
    }
    Proven::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
        Record::from_rdata(
            name(owner),
            300,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                name(next),
                types.iter().copied(),
            ))),
        )
    }

    #[test]
    fn nsec_match_cover_and_wrap() {
        let zone = name("test.");
        let records = vec![
            nsec("test.", "a.test.", &[RecordType::SOA, RecordType::NS]),
            nsec("a.test.", "m.test.", &[RecordType::NS]),
            nsec("m.test.", "test.", &[RecordType::A]),
        ];
        assert_eq!(
            prove(&records, &name("a.test."), &zone),
            Proven::Exists(vec![RecordType::NS])
        );
        assert_eq!(prove(&records, &name("b.test."), &zone), Proven::Absent);
        assert_eq!(prove(&records, &name("z.test."), &zone), Proven::Absent);
        assert_eq!(prove(&[], &name("z.test."), &zone), Proven::Nothing);
    }

    #[test]
    fn nsec3_match_and_closest_encloser() {
        let zone = name("test.");
        let hash = |n: &str| {
            Nsec3HashAlgorithm::SHA1
                .hash(&[], &name(n), 0)
                .unwrap()
                .as_ref()
                .to_vec()
        };
        let record = |owner: &str, next: Vec<u8>, opt_out: bool, types: &[RecordType]| {
            let label = nsec3_label(&name(owner), &[], 0).unwrap();
            Record::from_rdata(
                name(&format!("{label}.test.")),
                300,
                RData::DNSSEC(DNSSECRData::NSEC3(NSEC3::new(
                    Nsec3HashAlgorithm::SHA1,
                    opt_out,
                    0,
                    Vec::new(),
                    next,
                    types.iter().copied(),
                ))),
            )
        };
        // One record whose span covers every other hash: the zone's only.
        let mut wide = hash("test.");
        wide[19] = wide[19].wrapping_sub(1);
        let apex = record("test.", wide.clone(), false, &[RecordType::SOA]);
        assert_eq!(
            prove(std::slice::from_ref(&apex), &name("test."), &zone),
            Proven::Exists(vec![RecordType::SOA])
        );
        assert_eq!(
            prove(std::slice::from_ref(&apex), &name("gone.test."), &zone),
            Proven::Absent
        );
        let opted = record("test.", wide, true, &[RecordType::SOA]);
        assert_eq!(
            prove(&[opted], &name("unsigned.test."), &zone),
            Proven::OptOut
        );
    }
}
