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
//! A positive answer synthesized from a wildcard (RFC 4035 §5.3.4, RFC
//! 5155 §8.8) is secure only with a proof that the name asked does not
//! exist itself ([`prove_wildcard`]): an NSEC covering it, or an NSEC3
//! covering the next closer name below the closest encloser the
//! signature's labels field names. Without it, a wildcard answer could be
//! replayed for a name that exists with other data. A name proven absent
//! (NXDOMAIN) also needs the proof that no wildcard could have answered
//! for it ([`no_wildcard`], RFC 4035 §5.4, RFC 5155 §8.4): the wildcard at
//! its closest encloser is covered; a "no such record" for a name that
//! does not exist, that it is an empty non-terminal or that the wildcard
//! exists without the type ([`no_data`]). NSEC3 with more than
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
    let nsec = nsec_of(records);
    if !nsec.is_empty() {
        return prove_nsec(&nsec, name);
    }
    match Nsec3Chain::of(records) {
        Ok(chain) => chain.prove(name, zone),
        Err(proven) => proven,
    }
}

/// What `records` (as for [`prove`]) prove about `name` when its answer
/// was synthesized from a wildcard whose signature has `labels` labels:
/// [`Proven::Absent`] when `name` itself is proven not to exist, so no
/// closer match than the wildcard `*.<the last labels of name>` could
/// have answered (RFC 4035 §5.3.4 for NSEC; RFC 5155 §8.8 for NSEC3,
/// where the next closer name — one label more than the closest
/// encloser — must be covered).
pub fn prove_wildcard(records: &[Record], name: &Name, labels: u8) -> Proven {
    let nsec = nsec_of(records);
    if !nsec.is_empty() {
        // Covered, and not an empty non-terminal (whose NSEC's next name
        // lies below it): a name that exists is no wildcard's to answer.
        let absent = nsec.iter().any(|(owner, n)| {
            let next = n.next_domain_name();
            covers(*owner, next, name) && !name.zone_of(next)
        });
        return if absent {
            Proven::Absent
        } else {
            Proven::Nothing
        };
    }
    let chain = match Nsec3Chain::of(records) {
        Ok(chain) => chain,
        Err(proven) => return proven,
    };
    if labels >= name.num_labels() {
        return Proven::Nothing;
    }
    let next_closer = name.trim_to(usize::from(labels) + 1);
    chain.covering_next_closer(&next_closer)
}

/// The source of synthesis of `name`, which `records` (as for [`prove`])
/// prove absent: `*.<closest encloser>` (RFC 4592 §3.3.1), the closest
/// encloser being the nearest ancestor that exists — with NSEC, the
/// longest ancestor `name` shares with the owner or the next name of the
/// NSEC covering it; with NSEC3, the nearest ancestor with a matching
/// record.
fn source_of_synthesis(records: &[Record], name: &Name, zone: &Name) -> Option<Name> {
    let nsec = nsec_of(records);
    let encloser = if nsec.is_empty() {
        Nsec3Chain::of(records).ok()?.closest_encloser(name, zone)?
    } else {
        let labels = nsec
            .iter()
            .filter(|(owner, n)| covers(*owner, n.next_domain_name(), name))
            .map(|(owner, n)| {
                shared_labels(name, owner).max(shared_labels(name, n.next_domain_name()))
            })
            .max()?;
        name.trim_to(labels.max(usize::from(zone.num_labels())))
    };
    Name::from_ascii("*").ok()?.append_domain(&encloser).ok()
}

/// Whether `records` (as for [`prove`], which proved `name` absent) also
/// prove that no wildcard could have answered for it (RFC 4035 §5.4, RFC
/// 5155 §8.4): its source of synthesis is covered by an NSEC or NSEC3, so
/// it does not exist either.
pub fn no_wildcard(records: &[Record], name: &Name, zone: &Name) -> bool {
    let Some(wildcard) = source_of_synthesis(records, name, zone) else {
        return false;
    };
    let nsec = nsec_of(records);
    if !nsec.is_empty() {
        return nsec
            .iter()
            .any(|(owner, n)| covers(*owner, n.next_domain_name(), &wildcard));
    }
    Nsec3Chain::of(records).is_ok_and(|chain| {
        chain
            .hash_of(&wildcard)
            .is_some_and(|hash| chain.covering(&hash).is_some())
    })
}

/// Whether `records` (as for [`prove`], which proved `name` absent) show
/// why a "no such record" answer for `name` is right (RFC 4035 §3.1.3.2,
/// §3.1.3.4; RFC 5155 §8.7): `name` is an empty non-terminal (the NSEC
/// covering it leads to a name below it), or its source of synthesis
/// exists without `rtype` and without a CNAME.
pub fn no_data(records: &[Record], name: &Name, zone: &Name, rtype: RecordType) -> bool {
    let nsec = nsec_of(records);
    let empty_non_terminal = nsec.iter().any(|(owner, n)| {
        let next = n.next_domain_name();
        covers(*owner, next, name) && name.zone_of(next) && !name.eq_ignore_root_case(next)
    });
    if empty_non_terminal {
        return true;
    }
    let Some(wildcard) = source_of_synthesis(records, name, zone) else {
        return false;
    };
    let lacks =
        |types: &RecordTypeSet| !types.contains(rtype) && !types.contains(RecordType::CNAME);
    if !nsec.is_empty() {
        return nsec
            .iter()
            .any(|(owner, n)| owner.eq_ignore_root_case(&wildcard) && lacks(n.type_set()));
    }
    Nsec3Chain::of(records).is_ok_and(|chain| {
        chain
            .hash_of(&wildcard)
            .and_then(|hash| chain.matching(&hash))
            .is_some_and(|n| lacks(n.type_set()))
    })
}

/// How many labels, from the root, two names share.
fn shared_labels(a: &Name, b: &Name) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count()
}

fn nsec_of(records: &[Record]) -> Vec<(&Name, &NSEC)> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => Some((&r.name, n)),
            _ => None,
        })
        .collect()
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

/// The NSEC3 records of one answer that share the first one's parameters
/// (RFC 5155 §8.2: others are ignored), by owner hash.
struct Nsec3Chain<'r> {
    salt: &'r [u8],
    iterations: u16,
    /// (owner hash, next hash, record).
    links: Vec<(Vec<u8>, &'r [u8], &'r NSEC3)>,
}

impl<'r> Nsec3Chain<'r> {
    /// The chain of `records`; `Err` with what that proves when there is
    /// none, or when its iterations are too many to verify.
    fn of(records: &'r [Record]) -> Result<Nsec3Chain<'r>, Proven> {
        let nsec3: Vec<(&Name, &NSEC3)> = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some((&r.name, n)),
                _ => None,
            })
            .collect();
        let Some((_, first)) = nsec3.first() else {
            return Err(Proven::Nothing);
        };
        let (salt, iterations) = (first.salt(), first.iterations());
        if iterations > MAX_NSEC3_ITERATIONS {
            return Err(Proven::TooCostly(iterations));
        }
        let links = nsec3
            .iter()
            .filter(|(_, n)| n.salt() == salt && n.iterations() == iterations)
            .filter_map(|(owner, n)| {
                let label = owner.iter().next()?;
                let hash = data_encoding::BASE32_DNSSEC.decode(label).ok()?;
                Some((hash, n.next_hashed_owner_name(), *n))
            })
            .collect();
        Ok(Nsec3Chain {
            salt,
            iterations,
            links,
        })
    }

    fn hash_of(&self, name: &Name) -> Option<Vec<u8>> {
        Nsec3HashAlgorithm::SHA1
            .hash(self.salt, &name.to_lowercase(), self.iterations)
            .ok()
            .map(|d| d.as_ref().to_vec())
    }

    fn matching(&self, hash: &[u8]) -> Option<&'r NSEC3> {
        self.links
            .iter()
            .find(|(owner, _, _)| owner.as_slice() == hash)
            .map(|(_, _, n)| *n)
    }

    fn covering(&self, hash: &[u8]) -> Option<&'r NSEC3> {
        self.links
            .iter()
            .find(|(owner, next, _)| covers(owner.as_slice(), next, hash))
            .map(|(_, _, n)| *n)
    }

    /// Whether a record covers `next_closer`'s hash: absent, or in an
    /// opt-out span.
    fn covering_next_closer(&self, next_closer: &Name) -> Proven {
        let Some(hash) = self.hash_of(next_closer) else {
            return Proven::Nothing;
        };
        match self.covering(&hash) {
            Some(n) if n.opt_out() => Proven::OptOut,
            Some(_) => Proven::Absent,
            None => Proven::Nothing,
        }
    }

    /// The nearest ancestor of `name` (not `name` itself, and no higher
    /// than `zone`) with a matching NSEC3.
    fn closest_encloser(&self, name: &Name, zone: &Name) -> Option<Name> {
        (zone.num_labels()..name.num_labels())
            .rev()
            .map(|labels| name.trim_to(usize::from(labels)))
            .find(|ancestor| {
                self.hash_of(ancestor)
                    .is_some_and(|h| self.matching(&h).is_some())
            })
    }

    fn prove(&self, name: &Name, zone: &Name) -> Proven {
        let Some(hash) = self.hash_of(name) else {
            return Proven::Nothing;
        };
        if let Some(n) = self.matching(&hash) {
            return Proven::Exists(types(n.type_set()));
        }
        // The name one label below the closest encloser toward `name`
        // must be covered.
        match self.closest_encloser(name, zone) {
            Some(encloser) => {
                let labels = usize::from(encloser.num_labels()) + 1;
                self.covering_next_closer(&name.trim_to(labels))
            }
            None => Proven::Nothing,
        }
    }
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
    fn a_wildcard_answer_needs_the_name_proven_absent_with_nsec() {
        let records = vec![
            nsec("test.", "*.w.test.", &[RecordType::SOA]),
            nsec("*.w.test.", "x.w.test.", &[RecordType::TXT]),
            nsec("x.w.test.", "test.", &[RecordType::TXT]),
        ];
        // a.w.test lies between *.w.test and x.w.test: absent.
        assert_eq!(
            prove_wildcard(&records, &name("a.w.test."), 2),
            Proven::Absent
        );
        // x.w.test exists: no wildcard answers for it.
        assert_eq!(
            prove_wildcard(&records, &name("x.w.test."), 2),
            Proven::Nothing
        );
        // An empty non-terminal (its NSEC's next name lies below it)
        // exists too.
        let ent = vec![nsec("*.w.test.", "b.a.w.test.", &[RecordType::TXT])];
        assert_eq!(prove_wildcard(&ent, &name("a.w.test."), 2), Proven::Nothing);
        assert_eq!(prove_wildcard(&[], &name("a.w.test."), 2), Proven::Nothing);
    }

    #[test]
    fn a_name_proven_absent_needs_no_wildcard_at_its_closest_encloser() {
        let zone = name("test.");
        let apex = nsec("test.", "a.test.", &[RecordType::SOA]);
        let a = nsec("a.test.", "m.test.", &[RecordType::A]);
        // b.test: covered by a.test's NSEC; its closest encloser is test.,
        // and *.test lies between test. and a.test.
        assert_eq!(
            prove(std::slice::from_ref(&a), &name("b.test."), &zone),
            Proven::Absent
        );
        assert!(!no_wildcard(
            std::slice::from_ref(&a),
            &name("b.test."),
            &zone
        ));
        assert!(no_wildcard(
            &[apex.clone(), a.clone()],
            &name("b.test."),
            &zone
        ));
        // x.a.test: its closest encloser is a.test, whose wildcard *.a.test
        // a.test's own NSEC covers.
        assert!(no_wildcard(
            std::slice::from_ref(&a),
            &name("x.a.test."),
            &zone
        ));
        // A wildcard that exists (its NSEC matches, not covers) could have
        // answered.
        let wild = vec![
            nsec("test.", "*.test.", &[RecordType::SOA]),
            nsec("*.test.", "m.test.", &[RecordType::TXT]),
        ];
        assert!(!no_wildcard(&wild, &name("b.test."), &zone));
    }

    #[test]
    fn no_data_for_a_name_that_does_not_exist_needs_a_reason() {
        let zone = name("test.");
        // a.test is an empty non-terminal: the NSEC covering it leads to
        // b.a.test.
        let ent = nsec("test.", "b.a.test.", &[RecordType::SOA]);
        assert!(no_data(&[ent], &name("a.test."), &zone, RecordType::A));
        // x.w.test does not exist; *.w.test has TXT only.
        let wild = vec![
            nsec("*.w.test.", "y.w.test.", &[RecordType::TXT]),
            nsec("w.test.", "*.w.test.", &[]),
        ];
        assert!(no_data(&wild, &name("x.w.test."), &zone, RecordType::MX));
        assert!(!no_data(&wild, &name("x.w.test."), &zone, RecordType::TXT));
        // Covered, no wildcard shown: no reason.
        let plain = nsec("test.", "z.test.", &[RecordType::SOA]);
        assert!(!no_data(&[plain], &name("m.test."), &zone, RecordType::A));
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
        // The one record covers *.test too: no wildcard could answer.
        assert!(no_wildcard(
            std::slice::from_ref(&apex),
            &name("gone.test."),
            &zone
        ));
        // A wildcard answer at b.a.test signed with 1 label: the next
        // closer name a.test must be covered.
        assert_eq!(
            prove_wildcard(std::slice::from_ref(&apex), &name("b.a.test."), 1),
            Proven::Absent
        );
        // A span of one hash value covers nothing.
        let mut next = hash("test.");
        next[19] = next[19].wrapping_add(1);
        let narrow = record("test.", next, false, &[RecordType::SOA]);
        assert_eq!(
            prove_wildcard(std::slice::from_ref(&narrow), &name("b.a.test."), 1),
            Proven::Nothing
        );
        // The apex matches (the closest encloser) but covers no wildcard.
        assert!(!no_wildcard(&[narrow], &name("gone.test."), &zone));
        let opted = record("test.", wide, true, &[RecordType::SOA]);
        assert_eq!(
            prove(&[opted], &name("unsigned.test."), &zone),
            Proven::OptOut
        );
    }
}
