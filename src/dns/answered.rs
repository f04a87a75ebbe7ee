//! mail-auth's DNS cache, filled with the answers a request already has.
//!
//! The [`bridge`](super::bridge) gives mail-auth every answer through a
//! loopback round trip. When our own checks have already asked a question
//! — the DKIM key of each signature, the DMARC records of the tree walk,
//! the PTR and address records of the client IP — mail-auth can take the
//! answer from this cache instead ([`Resolver::share_answers`]), which saves
//! the round trip and is otherwise the same answer. A question not in it
//! goes through the bridge as before, so the cache decides only *how* an
//! answer reaches mail-auth, never *what* it is.
//!
//! mail-auth caches TXT records parsed as the type its verifier expects,
//! so an answer is placed only where the name says what it holds: a name
//! with a `_dmarc` label holds a DMARC record, one with a `_domainkey`
//! label a DKIM key (but `_report._domainkey`, RFC 6651, is left to the
//! bridge). A failed question (timeout, SERVFAIL) is left out, so mail-auth
//! asks the bridge and gets the same failure.
//!
//! [`Resolver::share_answers`]: super::Resolver::share_answers

use super::{Outcome, Question, Rcode};
use crate::parsed_texts::ParsedTexts;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use mail_auth::dkim::DomainKey;
use mail_auth::dmarc::DmarcRecord;
use mail_auth::dns::{DnsCache, NoCache, ResolverCache, TxtRecord, TxtRecordParser};
use mail_auth::{DnssecStatus, Negative, RecordSet};
use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

type Found<T> = Result<RecordSet<T>, Negative>;

/// One request's answers in mail-auth's cache form, for every verifier
/// of the request; entries never expire.
#[derive(Default)]
pub struct Answered {
    txt: Entries<Box<str>, TxtRecord>,
    ipv4: Entries<Box<str>, Found<Ipv4Addr>>,
    ipv6: Entries<Box<str>, Found<Ipv6Addr>>,
    ptr: Entries<IpAddr, Found<Box<str>>>,
    /// The request's questions already placed.
    seen: Mutex<HashSet<Question>>,
}

/// A map mail-auth reads and adds to.
pub struct Entries<K, V>(Mutex<HashMap<K, Entry<V>>>);

/// A value, or how to make it when first read: a TXT record is parsed
/// only if a verifier asks for it (parsing a DKIM key builds the key).
struct Entry<V> {
    value: Option<V>,
    make: Option<Box<dyn FnOnce() -> V + Send>>,
}

impl<V> Entry<V> {
    fn ready(value: V) -> Self {
        Entry {
            value: Some(value),
            make: None,
        }
    }

    fn deferred(make: impl FnOnce() -> V + Send + 'static) -> Self {
        Entry {
            value: None,
            make: Some(Box::new(make)),
        }
    }

    fn value(&mut self) -> Option<&V> {
        if self.value.is_none() {
            self.value = self.make.take().map(|make| make());
        }
        self.value.as_ref()
    }
}

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Entries(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Entries<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map().get_mut(name)?.value().cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map().remove(name)?.value().cloned()
    }

    fn insert(&self, key: K, value: V, _valid_until: std::time::Instant) {
        self.map().insert(key, Entry::ready(value));
    }
}

impl<K: Hash + Eq, V> Entries<K, V> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, key: K, value: Entry<V>) {
        self.map().insert(key, value);
    }
}

impl Answered {
    /// True when the question's answer has been placed (or had no place).
    pub(super) fn has_seen(&self, question: &Question) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(question)
    }

    pub(super) fn see(&self, question: Question) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(question);
    }

    /// True when mail-auth may look for the answer to this question here.
    pub(super) fn has_place_for(name: &Name, rtype: RecordType) -> bool {
        match rtype {
            RecordType::TXT => TxtKind::of(name).is_some(),
            RecordType::A | RecordType::AAAA => true,
            RecordType::PTR => reversed_address(name).is_some(),
            _ => false,
        }
    }

    /// Places an answered question where mail-auth will look for it.
    pub(super) fn add(
        &self,
        name: &Name,
        rtype: RecordType,
        outcome: Outcome,
        parsed: &Arc<ParsedRecords>,
    ) {
        let Ok(answer) = outcome else { return };
        let key: Box<str> = name.to_lowercase().to_ascii().into_boxed_str();
        // mail-auth's NODATA is NOERROR with no records (RFC 2308 §2.2).
        let negative = Negative {
            code: match answer.rcode {
                Rcode::NXDomain => ResponseCode::NXDomain,
                Rcode::NoError => ResponseCode::NoError,
            },
        };
        match rtype {
            RecordType::TXT => {
                let Some(kind) = TxtKind::of(name) else {
                    return;
                };
                // mail-auth joins each record's character-strings.
                let records: Vec<Vec<u8>> = answer
                    .txt()
                    .into_iter()
                    .filter(|strings| !strings.is_empty())
                    .map(|strings| strings.concat())
                    .collect();
                let value = if records.is_empty() {
                    Entry::ready(TxtRecord::Error(negative.into()))
                } else {
                    let parsed = Arc::clone(parsed);
                    Entry::deferred(move || parsed.get(kind, records))
                };
                self.txt.put(key, value);
            }
            RecordType::A => self.ipv4.put(key, found(answer.ipv4(), negative)),
            RecordType::AAAA => self.ipv6.put(key, found(answer.ipv6(), negative)),
            RecordType::PTR => {
                let Some(ip) = reversed_address(name) else {
                    return;
                };
                let names = answer
                    .ptr()
                    .iter()
                    .filter(|n| !n.is_root())
                    .map(|n| n.to_lowercase().to_ascii().into_boxed_str())
                    .collect();
                self.ptr.put(ip, found(names, negative));
            }
            _ => {}
        }
    }
}

fn found<T>(records: Vec<T>, negative: Negative) -> Entry<Found<T>> {
    Entry::ready(if records.is_empty() {
        Err(negative)
    } else {
        Ok(RecordSet {
            records: records.into(),
            dnssec_status: DnssecStatus::Indeterminate,
        })
    })
}

/// What a TXT record at a name holds, for the names mail-auth asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TxtKind {
    Dmarc,
    DomainKey,
}

impl TxtKind {
    fn of(name: &Name) -> Option<TxtKind> {
        let has = |label: &[u8]| name.iter().any(|l| l.eq_ignore_ascii_case(label));
        let first = name.iter().next().unwrap_or_default();
        if has(b"_dmarc") {
            Some(TxtKind::Dmarc)
        } else if has(b"_domainkey") && !first.eq_ignore_ascii_case(b"_report") {
            Some(TxtKind::DomainKey)
        } else {
            None
        }
    }

    fn parse(&self, records: &[Vec<u8>]) -> TxtRecord {
        match self {
            TxtKind::Dmarc => DmarcRecord::parse_records(records).into(),
            TxtKind::DomainKey => DomainKey::parse_records(records).into(),
        }
    }
}

/// The address an `in-addr.arpa` or `ip6.arpa` name stands for
/// (RFC 1035 §3.5, RFC 3596 §2.5).
fn reversed_address(name: &Name) -> Option<IpAddr> {
    let text = name.to_lowercase().to_ascii();
    let text = text.trim_end_matches('.');
    if let Some(octets) = text.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = octets
            .rsplit('.')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let octets: [u8; 4] = octets.try_into().ok()?;
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    let nibbles = text.strip_suffix(".ip6.arpa")?;
    let digits: String = nibbles.rsplit('.').collect();
    if digits.len() != 32 {
        return None;
    }
    u128::from_str_radix(&digits, 16)
        .ok()
        .map(|bits| IpAddr::V6(Ipv6Addr::from(bits)))
}

/// TXT records as mail-auth parsed them, shared by the requests of one
/// [`Dns`](super::Dns): the same DKIM key or DMARC record is parsed once,
/// not once per message (parsing a key builds it).
pub struct ParsedRecords(ParsedTexts<RecordText, TxtRecord>);

/// What a record was parsed as, and its text (each record's strings joined).
type RecordText = (TxtKind, Vec<Vec<u8>>);

/// Bytes of record text kept before the store starts over: about 2,000
/// DKIM keys of 2,048 bits.
const PARSED_RECORD_BYTES: usize = 1024 * 1024;

impl Default for ParsedRecords {
    fn default() -> ParsedRecords {
        ParsedRecords(ParsedTexts::new(PARSED_RECORD_BYTES))
    }
}

impl ParsedRecords {
    fn get(&self, kind: TxtKind, records: Vec<Vec<u8>>) -> TxtRecord {
        let key = (kind, records);
        if let Some(found) = self.0.get(&key) {
            return found;
        }
        let parsed = kind.parse(&key.1);
        let bytes = key.1.iter().map(Vec::len).sum();
        self.0.keep(key, bytes, parsed.clone());
        parsed
    }
}

impl DnsCache for Answered {
    type Txt = Entries<Box<str>, TxtRecord>;
    type Mx = NoCache;
    type Ipv4 = Entries<Box<str>, Found<Ipv4Addr>>;
    type Ipv6 = Entries<Box<str>, Found<Ipv6Addr>>;
    type Ptr = Entries<IpAddr, Found<Box<str>>>;

    fn txt(&self) -> Option<&Self::Txt> {
        Some(&self.txt)
    }

    fn mx(&self) -> Option<&Self::Mx> {
        None
    }

    fn ipv4(&self) -> Option<&Self::Ipv4> {
        Some(&self.ipv4)
    }

    fn ipv6(&self) -> Option<&Self::Ipv6> {
        Some(&self.ipv6)
    }

    fn ptr(&self) -> Option<&Self::Ptr> {
        Some(&self.ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn reverse_names_give_back_their_address() {
        let v4 = Name::from_str("10.2.0.192.in-addr.arpa.").unwrap();
        assert_eq!(reversed_address(&v4), Some("192.0.2.10".parse().unwrap()));
        let ip6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            reversed_address(&super::super::reverse_name(ip6)),
            Some(ip6)
        );
        let short = Name::from_str("2.0.192.in-addr.arpa.").unwrap();
        assert_eq!(reversed_address(&short), None);
    }

    #[test]
    fn a_changed_record_is_parsed_anew() {
        let store = ParsedRecords::default();
        let policy = |text: &str| match store.get(TxtKind::Dmarc, vec![text.as_bytes().to_vec()]) {
            TxtRecord::Dmarc(record) => record.p,
            _ => panic!("{text} was not parsed as a DMARC record"),
        };
        assert_eq!(policy("v=DMARC1; p=none"), mail_auth::dmarc::Policy::None);
        assert_eq!(
            policy("v=DMARC1; p=reject"),
            mail_auth::dmarc::Policy::Reject
        );
        assert_eq!(policy("v=DMARC1; p=none"), mail_auth::dmarc::Policy::None);
        let kept = |text: &str| {
            let key = (TxtKind::Dmarc, vec![text.as_bytes().to_vec()]);
            store.0.get(&key).is_some()
        };
        assert!(kept("v=DMARC1; p=none") && kept("v=DMARC1; p=reject"));
    }

    #[test]
    fn txt_is_placed_only_where_the_name_says_what_it_holds() {
        let kind = |n: &str| TxtKind::of(&Name::from_str(n).unwrap());
        assert!(matches!(kind("_dmarc.example.test."), Some(TxtKind::Dmarc)));
        assert!(matches!(
            kind("example.test._report._dmarc.rua.test."),
            Some(TxtKind::Dmarc)
        ));
        assert!(matches!(
            kind("sel._domainkey.example.test."),
            Some(TxtKind::DomainKey)
        ));
        assert!(kind("_report._domainkey.example.test.").is_none());
        assert!(kind("example.test.").is_none());
    }
}
