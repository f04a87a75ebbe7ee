//! DNSSEC-signed fixture zones for the test DNS server, signed at test
//! start with keys generated then (ECDSA P-256, one combined key per zone),
//! so signatures are always fresh.
//!
//! [`SignedTree::fixtures`] signs the zones of fixtures/dnssec: the test
//! root, `test.` and its children, each as [`FIXTURES`] says — NSEC or
//! NSEC3 denial, unsigned, or with a flaw (a corrupted signature, expired
//! signatures, no DNSKEY). Delegations are added to each parent: NS always,
//! DS for a signed child. [`SignedTree::anchor`] is the test root's DS in
//! zone-file syntax, the file `--trust-anchor` reads.
//!
//! The server ([`TestDns::start_signed`](super::TestDns::start_signed))
//! answers like a recursive resolver that knows every zone: a DS question
//! from the parent side, answers with their RRSIGs, negative answers with
//! the SOA and the NSEC or NSEC3 records that prove them, signed, and
//! answers a wildcard synthesizes with the proof that the name asked does
//! not exist itself; a name that does not exist comes with the proof that
//! no wildcard at its closest encloser exists either, or that it exists
//! without the type asked (then "no such record").

use hickory_proto::dnssec::crypto::EcdsaSigningKey;
use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, NSEC, NSEC3, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, Nsec3HashAlgorithm, SigningKey, TBS};
use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, SerialNumber};
use mailvet::dns::dnssec::anchor::TrustAnchor;
use mailvet::dns::dnssec::denial::{covers, nsec3_label};
use mailvet::dns::zone::Zone;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

const ALGORITHM: Algorithm = Algorithm::ECDSAP256SHA256;
const DAY: u32 = 86_400;

/// How a zone denies existence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Denial {
    Nsec,
    Nsec3,
}

/// What is wrong with a signed zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flaw {
    /// The signatures on every RRset of this type have a flipped bit.
    CorruptSignature(RecordType),
    /// Every signature expired 30 days ago.
    Expired,
    /// The zone is signed and has a DS, but publishes no DNSKEY.
    NoDnskey,
}

/// How a zone is signed: its denial and its flaw (`None`: unsigned).
pub type Signing = Option<(Denial, Option<Flaw>)>;

/// One fixture zone: its file and how it is signed.
pub struct Spec {
    pub file: &'static str,
    pub signing: Signing,
}

/// The zones of fixtures/dnssec, parents before children.
pub const FIXTURES: &[Spec] = &[
    Spec {
        file: "root.zone",
        signing: Some((Denial::Nsec, None)),
    },
    Spec {
        file: "test.zone",
        signing: Some((Denial::Nsec, None)),
    },
    Spec {
        file: "healthy.test.zone",
        signing: Some((Denial::Nsec3, None)),
    },
    Spec {
        file: "unsigned.healthy.test.zone",
        signing: None,
    },
    Spec {
        file: "bogus.test.zone",
        signing: Some((Denial::Nsec, Some(Flaw::CorruptSignature(RecordType::SOA)))),
    },
    Spec {
        file: "expired.test.zone",
        signing: Some((Denial::Nsec, Some(Flaw::Expired))),
    },
    Spec {
        file: "nokey.test.zone",
        signing: Some((Denial::Nsec, Some(Flaw::NoDnskey))),
    },
    Spec {
        file: "insecure.test.zone",
        signing: None,
    },
    Spec {
        file: "mxinsecure.test.zone",
        signing: Some((Denial::Nsec3, None)),
    },
    Spec {
        file: "mxbogus.test.zone",
        signing: Some((Denial::Nsec, None)),
    },
];

/// The zones of `specs` (files under fixtures/dnssec), loaded.
fn load(specs: &[Spec]) -> Vec<(Zone, Signing)> {
    specs
        .iter()
        .map(|spec| {
            let path = Path::new("fixtures/dnssec").join(spec.file);
            let zone = Zone::load(&path).unwrap_or_else(|e| panic!("{e}"));
            (zone, spec.signing)
        })
        .collect()
}

/// A zone with its signatures and proofs.
pub struct SignedZone {
    pub origin: Name,
    pub records: Vec<Record>,
}

/// Every fixture zone, signed, and the trust anchor over them.
pub struct SignedTree {
    pub zones: Vec<SignedZone>,
    /// The root's DS, as a `--trust-anchor` file holds it.
    pub anchor: String,
}

struct Keyed {
    key: EcdsaSigningKey,
    dnskey: DNSKEY,
    tag: u16,
}

fn key() -> Keyed {
    let pkcs8 = EcdsaSigningKey::generate_pkcs8(ALGORITHM).expect("generate key");
    let key = EcdsaSigningKey::from_pkcs8(&pkcs8, ALGORITHM).expect("key from pkcs8");
    let dnskey = DNSKEY::with_flags(257, key.to_public_key().expect("public key"));
    let tag = dnskey.calculate_key_tag().expect("key tag");
    Keyed { key, dnskey, tag }
}

fn now() -> u32 {
    mailvet::dns::dnssec::verify::now()
}

fn dnssec(data: DNSSECRData) -> RData {
    RData::DNSSEC(data)
}

impl SignedTree {
    /// The zones of [`FIXTURES`], signed once per test binary (key
    /// generation and signing are the slow part).
    pub fn fixtures() -> Arc<SignedTree> {
        static TREE: OnceLock<Arc<SignedTree>> = OnceLock::new();
        Arc::clone(TREE.get_or_init(|| Arc::new(SignedTree::sign_zones(load(FIXTURES)))))
    }

    /// The trust anchor over the tree, as `--trust-anchor` reads it.
    pub fn trust_anchor(&self) -> TrustAnchor {
        TrustAnchor::parse(&self.anchor, "test anchor").expect("test anchor")
    }

    /// The zones of [`FIXTURES`] and `more` (children of them), signed
    /// afresh: for zones made when a test starts.
    pub fn fixtures_with(more: Vec<(Zone, Signing)>) -> SignedTree {
        let mut zones = load(FIXTURES);
        zones.extend(more);
        SignedTree::sign_zones(zones)
    }

    /// Signs `zones`, parents before children; each child is delegated
    /// from the nearest zone above it.
    fn sign_zones(zones: Vec<(Zone, Signing)>) -> SignedTree {
        let mut zones: Vec<(Zone, Signing, Option<Keyed>)> = zones
            .into_iter()
            .map(|(zone, signing)| {
                let keyed = signing.map(|_| key());
                (zone, signing, keyed)
            })
            .collect();
        // Delegations: NS for every child, DS for a signed one.
        let origins: Vec<Name> = zones.iter().map(|(z, _, _)| z.origin.clone()).collect();
        for child in 0..zones.len() {
            let origin = origins[child].clone();
            if origin.is_root() {
                continue;
            }
            let parent = (0..zones.len())
                .filter(|&p| p != child && origins[p].zone_of(&origin))
                .max_by_key(|&p| origins[p].num_labels())
                .expect("every fixture zone has a parent");
            let mut added = vec![Record::from_rdata(
                origin.clone(),
                300,
                RData::NS(NS(Name::from_ascii("ns.test.").unwrap())),
            )];
            if let Some(keyed) = &zones[child].2 {
                let digest = keyed
                    .dnskey
                    .to_digest(&origin, DigestType::SHA256)
                    .expect("digest");
                let ds = DS::new(
                    keyed.tag,
                    ALGORITHM,
                    DigestType::SHA256,
                    digest.as_ref().to_vec(),
                );
                added.push(Record::from_rdata(
                    origin.clone(),
                    300,
                    dnssec(DNSSECRData::DS(ds)),
                ));
            }
            for record in added {
                zones[parent]
                    .0
                    .records
                    .push(mailvet::dns::zone::ZoneRecord { record, line: 0 });
            }
        }
        let root_key = zones
            .iter()
            .find(|(z, _, _)| z.origin.is_root())
            .and_then(|(_, _, k)| k.as_ref())
            .expect("a signed root");
        let digest = root_key
            .dnskey
            .to_digest(&Name::root(), DigestType::SHA256)
            .expect("digest");
        let root_ds = DS::new(
            root_key.tag,
            ALGORITHM,
            DigestType::SHA256,
            digest.as_ref().to_vec(),
        );
        let anchor = format!("; the fixtures' test root\n. IN DS {root_ds}\n");
        let zones = zones
            .into_iter()
            .map(|(zone, signing, keyed)| {
                let records: Vec<Record> = zone.records.into_iter().map(|zr| zr.record).collect();
                match (signing, keyed) {
                    (Some((denial, flaw)), Some(keyed)) => {
                        sign_zone(&zone.origin, records, denial, flaw, &keyed)
                    }
                    _ => SignedZone {
                        origin: zone.origin,
                        records,
                    },
                }
            })
            .collect();
        SignedTree { zones, anchor }
    }

    /// Writes the trust anchor into a file in `dir` and returns its path.
    pub fn write_anchor(&self, dir: &Path) -> std::path::PathBuf {
        let path = dir.join("trust-anchor.ds");
        std::fs::write(&path, &self.anchor).expect("write trust anchor");
        path
    }

    /// The answer to a question: (NXDOMAIN?, answer section, authority).
    pub fn respond(&self, qname: &Name, qtype: RecordType) -> (bool, Vec<Record>, Vec<Record>) {
        let mut enclosing: Vec<&SignedZone> = self
            .zones
            .iter()
            .filter(|z| z.origin.zone_of(qname))
            .collect();
        enclosing.sort_by_key(|z| std::cmp::Reverse(z.origin.num_labels()));
        // DS lives on the parent side of a cut.
        if qtype == RecordType::DS
            && enclosing.len() > 1
            && enclosing[0].origin.eq_ignore_root_case(qname)
        {
            enclosing.remove(0);
        }
        let Some(zone) = enclosing.first() else {
            return (true, Vec::new(), Vec::new());
        };
        let at = |rtype: RecordType| -> Vec<Record> {
            zone.records
                .iter()
                .filter(|r| r.name.eq_ignore_root_case(qname))
                .filter(|r| {
                    r.record_type() == rtype
                        || matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == rtype)
                })
                .cloned()
                .collect()
        };
        for rtype in [qtype, RecordType::CNAME] {
            let found = at(rtype);
            if found.iter().any(|r| r.record_type() == rtype) {
                return (false, found, Vec::new());
            }
        }
        let exists = |name: &Name| {
            zone.records
                .iter()
                .any(|r| name.zone_of(&r.name) && r.record_type() != RecordType::NSEC3)
        };
        if !exists(qname)
            && let Some(expanded) = wildcard_answer(zone, qname, qtype, exists)
        {
            return (false, expanded, proofs(zone, qname));
        }
        let mut authority: Vec<Record> = zone
            .records
            .iter()
            .filter(|r| r.name.eq_ignore_root_case(&zone.origin))
            .filter(|r| {
                r.record_type() == RecordType::SOA
                    || matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == RecordType::SOA)
            })
            .cloned()
            .collect();
        authority.extend(proofs(zone, qname));
        // For a name that does not exist, what its closest encloser's
        // wildcard is: absent (NXDOMAIN), or there without the type asked
        // (NODATA, RFC 4592 §3.3.1), and the proof of it.
        let wildcard = (!exists(qname))
            .then(|| closest_encloser(zone, qname, exists))
            .flatten()
            .and_then(|e| Name::from_ascii("*").ok()?.append_domain(&e).ok());
        for record in wildcard.iter().flat_map(|w| proofs(zone, w)) {
            if !authority.contains(&record) {
                authority.push(record);
            }
        }
        let nodata = wildcard.as_ref().is_some_and(exists);
        (!exists(qname) && !nodata, Vec::new(), authority)
    }
}

/// The NSEC or NSEC3 records, with their signatures, that prove `qname`
/// does not exist (or, at it, which types it has).
fn proofs(zone: &SignedZone, qname: &Name) -> Vec<Record> {
    let mut proofs = Vec::new();
    for owner in proof_owners(zone, qname) {
        proofs.extend(
            zone.records
                .iter()
                .filter(|r| r.name.eq_ignore_root_case(&owner))
                .filter(|r| {
                    matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)
                        || matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s))
                            if matches!(s.input().type_covered, RecordType::NSEC | RecordType::NSEC3))
                })
                .cloned(),
        );
    }
    proofs
}

/// The nearest ancestor of `qname` (which does not exist) that exists, in
/// `zone`.
fn closest_encloser(
    zone: &SignedZone,
    qname: &Name,
    exists: impl Fn(&Name) -> bool,
) -> Option<Name> {
    let mut encloser = qname.base_name();
    while !exists(&encloser) {
        if encloser.num_labels() <= zone.origin.num_labels() {
            return None;
        }
        encloser = encloser.base_name();
    }
    Some(encloser)
}

/// The answer a wildcard synthesizes for `qname`, which does not exist
/// (RFC 4592 §3.3.1): the `*` child of its closest encloser (the nearest
/// ancestor that exists), when it has `qtype` (or a CNAME), its records
/// and their signatures (whose labels field still names the wildcard)
/// owned by `qname`.
fn wildcard_answer(
    zone: &SignedZone,
    qname: &Name,
    qtype: RecordType,
    exists: impl Fn(&Name) -> bool,
) -> Option<Vec<Record>> {
    let encloser = closest_encloser(zone, qname, exists)?;
    let wildcard = Name::from_ascii("*").ok()?.append_domain(&encloser).ok()?;
    [qtype, RecordType::CNAME].into_iter().find_map(|rtype| {
        let found: Vec<Record> = zone
            .records
            .iter()
            .filter(|r| r.name.eq_ignore_root_case(&wildcard))
            .filter(|r| {
                r.record_type() == rtype
                    || matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == rtype)
            })
            .map(|r| {
                let mut expanded = r.clone();
                expanded.name = qname.clone();
                expanded
            })
            .collect();
        found
            .iter()
            .any(|r| r.record_type() == rtype)
            .then_some(found)
    })
}

/// The owners of the NSEC or NSEC3 records that prove a negative answer
/// for `qname`: the NSEC at or covering it; the NSEC3 matching it, or
/// covering each name from it up to its closest encloser, and that
/// encloser's.
fn proof_owners(zone: &SignedZone, qname: &Name) -> Vec<Name> {
    let nsec: Vec<(&Name, &NSEC)> = zone
        .records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => Some((&r.name, n)),
            _ => None,
        })
        .collect();
    if !nsec.is_empty() {
        let found = nsec.iter().find(|(owner, n)| {
            owner.eq_ignore_root_case(qname) || covers(*owner, n.next_domain_name(), qname)
        });
        return found.map(|(o, _)| (*o).clone()).into_iter().collect();
    }
    let nsec3: Vec<(String, String, &Name)> = zone
        .records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some((
                r.name
                    .iter()
                    .next()
                    .map(|l| String::from_utf8_lossy(l).to_lowercase())?,
                data_encoding::BASE32_DNSSEC.encode(n.next_hashed_owner_name()),
                &r.name,
            )),
            _ => None,
        })
        .collect();
    let mut owners = Vec::new();
    let mut name = qname.clone();
    loop {
        let hash = nsec3_label(&name, &[], 0).expect("hash");
        if let Some((_, _, owner)) = nsec3.iter().find(|(h, _, _)| *h == hash) {
            owners.push((*owner).clone());
            break;
        }
        if let Some((_, _, owner)) = nsec3.iter().find(|(h, next, _)| covers(h, next, &hash)) {
            owners.push((*owner).clone());
        }
        if name.num_labels() <= zone.origin.num_labels() {
            break;
        }
        name = name.base_name();
    }
    // One record may match one name and cover another: send it once.
    let mut unique: Vec<Name> = Vec::new();
    for owner in owners {
        if !unique.contains(&owner) {
            unique.push(owner);
        }
    }
    unique
}

fn sign_zone(
    origin: &Name,
    mut records: Vec<Record>,
    denial: Denial,
    flaw: Option<Flaw>,
    keyed: &Keyed,
) -> SignedZone {
    if flaw != Some(Flaw::NoDnskey) {
        records.push(Record::from_rdata(
            origin.clone(),
            300,
            dnssec(DNSSECRData::DNSKEY(keyed.dnskey.clone())),
        ));
    }
    for r in &mut records {
        r.dns_class = DNSClass::IN;
    }
    // Cuts: names below the apex with NS; glue below them is not signed.
    let cuts: Vec<Name> = records
        .iter()
        .filter(|r| r.record_type() == RecordType::NS && !r.name.eq_ignore_root_case(origin))
        .map(|r| r.name.clone())
        .collect();
    let below_cut = |n: &Name| {
        cuts.iter()
            .any(|c| c.zone_of(n) && !c.eq_ignore_root_case(n))
    };
    let at_cut = |n: &Name| cuts.iter().any(|c| c.eq_ignore_root_case(n));
    // Types per owner, in canonical name order.
    let mut names: BTreeMap<Name, BTreeSet<RecordType>> = BTreeMap::new();
    for r in records.iter().filter(|r| !below_cut(&r.name)) {
        names
            .entry(r.name.to_lowercase())
            .or_default()
            .insert(r.record_type());
    }
    let signed_types = |name: &Name, types: &BTreeSet<RecordType>| -> Vec<RecordType> {
        types
            .iter()
            .copied()
            .filter(|t| !at_cut(name) || *t == RecordType::DS)
            .collect()
    };
    let (inception, expiration) = if flaw == Some(Flaw::Expired) {
        (now() - 60 * DAY, now() - 30 * DAY)
    } else {
        (now() - DAY, now() + 30 * DAY)
    };
    let mut denial_records = Vec::new();
    match denial {
        Denial::Nsec => {
            let owners: Vec<&Name> = names.keys().collect();
            for (i, owner) in owners.iter().enumerate() {
                let next = owners[(i + 1) % owners.len()];
                let mut types: Vec<RecordType> = names[*owner].iter().copied().collect();
                types.push(RecordType::NSEC);
                types.push(RecordType::RRSIG);
                denial_records.push(Record::from_rdata(
                    (*owner).clone(),
                    300,
                    dnssec(DNSSECRData::NSEC(NSEC::new(next.clone(), types))),
                ));
            }
        }
        Denial::Nsec3 => {
            let mut all: BTreeMap<Name, Vec<RecordType>> = BTreeMap::new();
            for (name, types) in &names {
                let mut t: Vec<RecordType> = types.iter().copied().collect();
                if !signed_types(name, types).is_empty() {
                    t.push(RecordType::RRSIG);
                }
                all.insert(name.clone(), t);
                // Empty non-terminals get NSEC3 records of their own
                // (walking up by base_name: num_labels does not count a
                // wildcard's `*`).
                let mut up = name.base_name();
                while up.num_labels() > origin.num_labels() {
                    all.entry(up.clone()).or_default();
                    up = up.base_name();
                }
            }
            let mut hashed: Vec<(String, Vec<u8>, Vec<RecordType>)> = all
                .into_iter()
                .map(|(name, types)| {
                    let digest = Nsec3HashAlgorithm::SHA1.hash(&[], &name, 0).expect("hash");
                    (
                        nsec3_label(&name, &[], 0).expect("label"),
                        digest.as_ref().to_vec(),
                        types,
                    )
                })
                .collect();
            hashed.sort();
            for i in 0..hashed.len() {
                let next = hashed[(i + 1) % hashed.len()].1.clone();
                let (label, _, types) = &hashed[i];
                let owner = Name::from_ascii(label)
                    .unwrap()
                    .append_domain(origin)
                    .unwrap();
                denial_records.push(Record::from_rdata(
                    owner,
                    300,
                    dnssec(DNSSECRData::NSEC3(NSEC3::new(
                        Nsec3HashAlgorithm::SHA1,
                        false,
                        0,
                        Vec::new(),
                        next,
                        types.clone(),
                    ))),
                ));
            }
        }
    }
    records.extend(denial_records);
    // Sign every authoritative RRset.
    let mut sets: BTreeMap<(Name, RecordType), Vec<Record>> = BTreeMap::new();
    for r in &records {
        let signable = !below_cut(&r.name)
            && (!at_cut(&r.name) || matches!(r.record_type(), RecordType::DS | RecordType::NSEC));
        if signable {
            sets.entry((r.name.to_lowercase(), r.record_type()))
                .or_default()
                .push(r.clone());
        }
    }
    for ((owner, rtype), set) in sets {
        let input = SigInput {
            type_covered: rtype,
            algorithm: ALGORITHM,
            num_labels: owner.num_labels(),
            original_ttl: set[0].ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: keyed.tag,
            signer_name: origin.clone(),
        };
        let tbs = TBS::from_input(&owner, DNSClass::IN, &input, set.iter()).expect("tbs");
        let mut signature = keyed.key.sign(&tbs).expect("sign");
        if flaw == Some(Flaw::CorruptSignature(rtype)) {
            let last = signature.len() - 1;
            signature[last] ^= 0x01;
        }
        records.push(Record::from_rdata(
            owner,
            set[0].ttl,
            dnssec(DNSSECRData::RRSIG(RRSIG::from_sig(input, signature))),
        ));
    }
    SignedZone {
        origin: origin.clone(),
        records,
    }
}
