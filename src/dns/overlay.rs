//! The zone overlay: answers for names that `--zone` files are authoritative
//! for, so a DNS change can be checked before it is published.
//!
//! A zone answers for every name at and below its origin, like a primary
//! server would (RFC 1034 §4.3.2): the records of the asked type, else a
//! CNAME at the name, else NODATA when the name exists (or is an empty
//! non-terminal), else a wildcard (RFC 4592) from the closest encloser, else
//! NXDOMAIN. When zones nest, the one with the longest origin answers; two
//! files for the same origin are refused, as a server refuses to load one
//! zone twice, since which of them answered would depend on their order.
//! A record written twice (same owner, type and data) is one record: an
//! RRset holds no duplicates (RFC 2181 §5), and an authoritative server
//! loading such a file keeps one, so two identical `v=spf1` lines are not
//! taken for two SPF records.
//! Names outside every zone return `None` and go upstream (or, offline,
//! get NXDOMAIN from the resolver layer).

use super::zone::{Zone, ZoneError};
use super::{Answer, Rcode};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use std::collections::{HashMap, HashSet};

/// The default negative TTL when a zone has no SOA.
const NEGATIVE_TTL: u32 = 300;

/// All overlay zones, ready for lookups.
#[derive(Debug, Default)]
pub struct Overlay {
    /// Longest origin first, so the most specific zone answers.
    zones: Vec<ZoneIndex>,
}

#[derive(Debug)]
struct ZoneIndex {
    origin: Name,
    rrsets: HashMap<(LowerName, RecordType), Vec<Record>>,
    /// Owner names and the empty non-terminals between them and the origin.
    nodes: HashSet<LowerName>,
    negative_ttl: u32,
}

impl Overlay {
    pub fn new(zones: Vec<Zone>) -> Result<Overlay, ZoneError> {
        for (i, zone) in zones.iter().enumerate() {
            if let Some(first) = zones[..i].iter().find(|z| z.origin == zone.origin) {
                return Err(ZoneError::SameOrigin {
                    origin: zone.origin.to_string(),
                    first: first.shown_path(),
                    second: zone.shown_path(),
                });
            }
        }
        let mut zones: Vec<ZoneIndex> = zones.into_iter().map(ZoneIndex::new).collect();
        zones.sort_by_key(|z| std::cmp::Reverse(z.origin.num_labels()));
        Ok(Overlay { zones })
    }

    /// The answer the overlay gives, or `None` when no zone covers `name`.
    pub fn lookup(&self, name: &Name, rtype: RecordType) -> Option<Answer> {
        let zone = self.zones.iter().find(|z| z.origin.zone_of(name))?;
        Some(zone.lookup(name, rtype))
    }
}

impl ZoneIndex {
    fn new(zone: Zone) -> ZoneIndex {
        let mut rrsets: HashMap<(LowerName, RecordType), Vec<Record>> = HashMap::new();
        let mut nodes = HashSet::new();
        let mut negative_ttl = NEGATIVE_TTL;
        nodes.insert(LowerName::new(&zone.origin));
        for zr in zone.records {
            let record = zr.record;
            if let RData::SOA(soa) = &record.data {
                negative_ttl = record.ttl.min(soa.minimum);
            }
            let mut node = record.name.clone();
            while node.num_labels() > zone.origin.num_labels() {
                nodes.insert(LowerName::new(&node));
                node = node.base_name();
            }
            let rrset = rrsets
                .entry((LowerName::new(&record.name), record.record_type()))
                .or_default();
            if !rrset.iter().any(|kept| kept.data == record.data) {
                rrset.push(record);
            }
        }
        ZoneIndex {
            origin: zone.origin,
            rrsets,
            nodes,
            negative_ttl,
        }
    }

    fn records(&self, owner: &Name, rtype: RecordType) -> Option<Vec<Record>> {
        self.rrsets.get(&(LowerName::new(owner), rtype)).cloned()
    }

    fn lookup(&self, name: &Name, rtype: RecordType) -> Answer {
        if let Some(answer) = self.answer_at(name, name, rtype) {
            return answer;
        }
        if self.nodes.contains(&LowerName::new(name)) {
            return self.negative(Rcode::NoError);
        }
        // RFC 4592 §3.3.1: the closest encloser's wildcard, if any.
        let mut encloser = name.base_name();
        while !self.nodes.contains(&LowerName::new(&encloser)) {
            if encloser.num_labels() <= self.origin.num_labels() {
                break;
            }
            encloser = encloser.base_name();
        }
        let Ok(wildcard) = encloser.prepend_label("*") else {
            return self.negative(Rcode::NXDomain);
        };
        if self.nodes.contains(&LowerName::new(&wildcard)) {
            return self
                .answer_at(&wildcard, name, rtype)
                .unwrap_or_else(|| self.negative(Rcode::NoError));
        }
        self.negative(Rcode::NXDomain)
    }

    /// Records (or a CNAME) stored at `owner`, renamed to `qname`.
    fn answer_at(&self, owner: &Name, qname: &Name, rtype: RecordType) -> Option<Answer> {
        let records = self.records(owner, rtype).or_else(|| {
            (rtype != RecordType::CNAME)
                .then(|| self.records(owner, RecordType::CNAME))
                .flatten()
        })?;
        let records: Vec<Record> = records
            .into_iter()
            .map(|mut r| {
                r.name = qname.clone();
                r
            })
            .collect();
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        Some(Answer {
            rcode: Rcode::NoError,
            records,
            authority: Vec::new(),
            authenticated: false,
            ttl,
        })
    }

    fn negative(&self, rcode: Rcode) -> Answer {
        Answer {
            rcode,
            records: Vec::new(),
            authority: Vec::new(),
            authenticated: false,
            ttl: self.negative_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::zone;

    fn overlay(text: &str) -> Overlay {
        Overlay::new(vec![zone::parse(text, None).unwrap()]).unwrap()
    }

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn authoritative_answers_nodata_nxdomain_and_outside() {
        let o = overlay(
            "$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 1 1 1 60\n@ TXT \"v=spf1 -all\"\n\
             a.b.c A 192.0.2.1\nalias CNAME a.b.c\n*.wild TXT \"w\"\n",
        );
        let a = o.lookup(&n("example.com."), RecordType::TXT).unwrap();
        assert_eq!((a.rcode, a.records.len()), (Rcode::NoError, 1));
        let nodata = o.lookup(&n("example.com."), RecordType::MX).unwrap();
        assert_eq!(
            (nodata.rcode, nodata.records.len(), nodata.ttl),
            (Rcode::NoError, 0, 60)
        );
        let ent = o.lookup(&n("b.c.example.com."), RecordType::A).unwrap();
        assert_eq!((ent.rcode, ent.records.len()), (Rcode::NoError, 0));
        let nx = o.lookup(&n("nope.example.com."), RecordType::A).unwrap();
        assert_eq!(nx.rcode, Rcode::NXDomain);
        let cname = o.lookup(&n("ALIAS.example.com."), RecordType::A).unwrap();
        assert_eq!(cname.records[0].record_type(), RecordType::CNAME);
        let wild = o
            .lookup(&n("x.y.wild.example.com."), RecordType::TXT)
            .unwrap();
        assert_eq!(wild.records[0].name, n("x.y.wild.example.com."));
        assert!(o.lookup(&n("example.org."), RecordType::A).is_none());
    }

    #[test]
    fn a_record_written_twice_is_answered_once() {
        let o = overlay(
            "$ORIGIN example.com.\n$TTL 300\n@ IN TXT \"v=spf1 mx -all\"\n\
             @ IN TXT \"v=spf1 mx -all\"\n@ IN TXT \"v=spf1 mx ~all\"\n\
             www A 192.0.2.1\nWWW 60 A 192.0.2.1\n",
        );
        let txt = o.lookup(&n("example.com."), RecordType::TXT).unwrap();
        assert_eq!(txt.records.len(), 2, "{:?}", txt.records);
        let a = o.lookup(&n("www.example.com."), RecordType::A).unwrap();
        assert_eq!(a.records.len(), 1, "{:?}", a.records);
    }

    #[test]
    fn longest_origin_wins() {
        let o = Overlay::new(vec![
            zone::parse("$ORIGIN example.com.\n$TTL 1\nwww A 192.0.2.1\n", None).unwrap(),
            zone::parse("$ORIGIN sub.example.com.\n$TTL 1\nwww A 192.0.2.2\n", None).unwrap(),
        ])
        .unwrap();
        let a = o.lookup(&n("www.sub.example.com."), RecordType::A).unwrap();
        assert_eq!(
            a.records[0].data,
            RData::A("192.0.2.2".parse::<std::net::Ipv4Addr>().unwrap().into())
        );
    }

    /// Two files for one origin: which answered would depend on their
    /// order, so neither does.
    #[test]
    fn two_files_for_one_zone_are_refused_naming_both() {
        let file = |path: &str, text: &str| {
            let mut zone = zone::parse(text, None).unwrap();
            zone.path = Some(path.into());
            zone
        };
        let e = Overlay::new(vec![
            file(
                "zones/a.zone",
                "$ORIGIN example.com.\n$TTL 1\n@ TXT \"v=spf1 -all\"\n",
            ),
            file(
                "zones/sub.zone",
                "$ORIGIN sub.example.com.\n$TTL 1\nwww A 192.0.2.2\n",
            ),
            file(
                "zones/b.zone",
                "$ORIGIN EXAMPLE.com.\n$TTL 1\n_dmarc TXT \"v=DMARC1\"\n",
            ),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "zones/a.zone and zones/b.zone are both zone files for EXAMPLE.com.; put its records \
             in one file"
        );
    }
}
