//! DNSSEC validation by mailvet itself (RFC 4033, RFC 4035 §5, RFC 5155
//! §8): is an answer secure, insecure, bogus or indeterminate, and on
//! which chain of DS and DNSKEY records does that rest?
//!
//! [`Resolver::lookup_validated`] asks the question as any lookup does
//! (the memo, the shared cache, the trace, the deadline and the question
//! budget all apply; queries carry the DO bit so answers bring their
//! RRSIGs and denial proofs), then builds the chain top-down from the
//! trust anchor ([`anchor`]): the anchor's zone's DNSKEY RRset must be
//! signed by a key the anchor vouches for; below it, for each label toward
//! the answer's zone, the DS RRset is asked of the parent:
//!
//! - DS present and signed by the parent: the child's DNSKEY RRset must be
//!   signed by a key one of those DS records matches; the child is then a
//!   secure zone. No DNSKEY at all, no matching key, or a signature that
//!   fails or has expired: **bogus**.
//! - no DS, proven by a signed NSEC or NSEC3 ([`denial`]) whose type
//!   bitmap shows a delegation (NS without SOA): an **insecure**
//!   delegation — everything below it is insecure. An NSEC3 opt-out span
//!   is insecure too, and so are DS records only of algorithms or digests
//!   mailvet cannot verify (RFC 4035 §5.2).
//! - no DS and the name is no delegation (or does not exist): the same zone
//!   continues one label further.
//! - no DS and no signed proof: **bogus**.
//!
//! The answer itself must then be signed by the zone the chain reached
//! ([`verify`]), or, when negative, proven by that zone's NSEC/NSEC3. A
//! positive answer synthesized from a wildcard (its signature has fewer
//! labels than its owner) must also carry the signed proof that the name
//! itself does not exist ([`denial::prove_wildcard`]), or it is bogus. A
//! failed question anywhere (timeout, budget, deadline) makes the result
//! **indeterminate**, never bogus; so does a name that no trust anchor
//! covers, and an answer from a `--zone` overlay or `--offline`: those
//! answers never carry signatures, so mailvet says it did not validate
//! them rather than calling them insecure. A CNAME chain is as secure as
//! its weakest step.
//!
//! Zones already walked are memoized per request, so the audits of the
//! domain and of each MX host share the chain's questions; with `serve`'s
//! shared cache, what was learned about a zone is kept across requests for
//! as long as the answers it rests on ([`ZoneCache`]), so a later request
//! neither asks nor verifies that chain again. Signature checks
//! run on the blocking pool, bounded per RRset ([`verify`]); the walk goes
//! at most [`MAX_WALK`] labels below the anchor.
//!
//! When the upstream's SERVFAIL may be its own validation failing (a
//! validating resolver refuses bogus data), the question is asked again
//! with the CD bit, so mailvet sees the data and judges it itself.

pub mod anchor;
pub mod denial;
pub mod verify;

use super::{Answer, DnsError, Outcome, Rcode, Resolver, next_hop};
use denial::Proven;
use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Labels below the trust anchor the chain walk follows; deeper names are
/// indeterminate (no mail name needs more).
pub const MAX_WALK: u8 = 12;

/// Most DNSKEYs of one zone kept (more is no real zone's need).
const MAX_ZONE_KEYS: usize = 16;

/// Most NSEC/NSEC3 RRsets of one answer examined.
const MAX_DENIAL_SETS: usize = 8;

/// The DNSSEC status of an answer (RFC 4033 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Security {
    /// A chain of signatures from the trust anchor vouches for it.
    Secure,
    /// Proven outside any chain of trust (why, in words).
    Insecure(String),
    /// It should be signed, and the signatures or the chain fail.
    Bogus(String),
    /// Not decided: a lookup failed, no anchor covers it, or it came from
    /// a zone overlay.
    Indeterminate(String),
}

impl Security {
    /// The status word: `secure`, `insecure`, `bogus`, `indeterminate`.
    pub fn word(&self) -> &'static str {
        match self {
            Security::Secure => "secure",
            Security::Insecure(_) => "insecure",
            Security::Bogus(_) => "bogus",
            Security::Indeterminate(_) => "indeterminate",
        }
    }

    /// Why, in words; empty for secure.
    pub fn reason(&self) -> &str {
        match self {
            Security::Secure => "",
            Security::Insecure(r) | Security::Bogus(r) | Security::Indeterminate(r) => r,
        }
    }

    /// Worse first: bogus, indeterminate, insecure, secure.
    fn rank(&self) -> u8 {
        match self {
            Security::Bogus(_) => 0,
            Security::Indeterminate(_) => 1,
            Security::Insecure(_) => 2,
            Security::Secure => 3,
        }
    }

    /// The weaker of two.
    fn weakest(self, other: Security) -> Security {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }
}

/// One zone cut of a chain: the DS that vouches for the zone's keys (the
/// trust anchor's records at the top) and the zone's DNSKEYs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    pub zone: String,
    pub ds: Vec<String>,
    pub dnskey: Vec<String>,
}

/// An answer with its DNSSEC status and the chain it rests on.
#[derive(Debug, Clone)]
pub struct Validated {
    pub answer: Answer,
    pub security: Security,
    pub chain: Vec<ChainLink>,
}

/// What the walk knows about the zone holding a name.
#[derive(Debug, Clone)]
pub(super) enum ZoneState {
    /// The name is in this secure zone, whose keys are validated.
    Secure {
        zone: Name,
        keys: Arc<Vec<DNSKEY>>,
        chain: Arc<Vec<ChainLink>>,
        /// Nothing exists below this name: the walk stops.
        ends: bool,
    },
    /// Settled: the status of everything at and below this name.
    Settled {
        security: Security,
        chain: Arc<Vec<ChainLink>>,
    },
}

impl ZoneState {
    fn settled(security: Security, chain: &Arc<Vec<ChainLink>>) -> ZoneState {
        ZoneState::Settled {
            security,
            chain: Arc::clone(chain),
        }
    }

    fn chain(&self) -> &Arc<Vec<ChainLink>> {
        match self {
            ZoneState::Secure { chain, .. } | ZoneState::Settled { chain, .. } => chain,
        }
    }
}

/// A state of the walk, and until when it may be shared with other
/// requests (`None`: not at all).
#[derive(Debug, Clone)]
pub(super) struct Walked {
    state: ZoneState,
    until: Option<Instant>,
}

/// What the requests of one process (`serve`'s, or the domains of a CLI
/// batch) learned about zones, shared: a validated zone's keys (or its
/// settled status) stay for as long as the DS and DNSKEY answers they rest
/// on — and those of every zone above — may be cached, so a later request
/// neither asks nor verifies that chain again. A zone being worked out is
/// joined by the requests that reach it meanwhile (a batch starts its
/// domains at once), unless what comes of it cannot be shared.
/// Indeterminate states are not kept. Bounded: when full, expired entries
/// go, and then nothing new is added until some expire; a zone is in
/// `working` only while a request works it out.
#[derive(Debug)]
pub(super) struct ZoneCache {
    capacity: usize,
    entries: Mutex<HashMap<LowerName, (ZoneState, Instant)>>,
    working: Mutex<HashMap<LowerName, Arc<OnceCell<Walked>>>>,
}

impl ZoneCache {
    pub(super) fn new(capacity: usize) -> ZoneCache {
        ZoneCache {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
            working: Mutex::new(HashMap::new()),
        }
    }

    /// The zone's state being worked out, to join (or to work out).
    fn working_on(&self, key: &LowerName) -> Arc<OnceCell<Walked>> {
        let mut working = self.working.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(working.entry(key.clone()).or_default())
    }

    /// The zone worked out in `cell` is done: later requests read
    /// [`ZoneCache::get`].
    fn worked_out(&self, key: &LowerName, cell: &Arc<OnceCell<Walked>>) {
        let mut working = self.working.lock().unwrap_or_else(|p| p.into_inner());
        if working.get(key).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            working.remove(key);
        }
    }

    fn get(&self, key: &LowerName) -> Option<Walked> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (state, until) = entries.get(key)?;
        (*until > Instant::now()).then(|| Walked {
            state: state.clone(),
            until: Some(*until),
        })
    }

    fn insert(&self, key: LowerName, state: ZoneState, until: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
        }
        if entries.len() < self.capacity {
            entries.insert(key, (state, until));
        }
    }
}

/// Records of `rtype` owned by `owner`.
fn rrset<'a>(
    records: &'a [Record],
    owner: &'a Name,
    rtype: RecordType,
) -> impl Iterator<Item = &'a Record> + 'a {
    records
        .iter()
        .filter(move |r| r.record_type() == rtype && r.name.eq_ignore_root_case(owner))
}

fn ds_of(records: &[Record], owner: &Name) -> Vec<DS> {
    rrset(records, owner, RecordType::DS)
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
            _ => None,
        })
        .collect()
}

fn dnskeys_of(records: &[Record], owner: &Name) -> Vec<DNSKEY> {
    rrset(records, owner, RecordType::DNSKEY)
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .take(MAX_ZONE_KEYS)
        .collect()
}

fn describe_key(zone: &Name, key: &DNSKEY) -> String {
    let tag = key
        .calculate_key_tag()
        .map_or_else(|_| "?".to_string(), |t| t.to_string());
    let role = if key.secure_entry_point() {
        "KSK"
    } else {
        "ZSK"
    };
    format!(
        "{} DNSKEY {} 3 {} (key tag {tag}, {role})",
        zone.to_ascii(),
        key.flags(),
        u8::from(key.algorithm())
    )
}

/// Checks signatures on the blocking pool; `Ok` holds the labels field of
/// the signature that verified ([`verify::verify_rrset`]).
async fn verified(
    records: Vec<Record>,
    owner: Name,
    rtype: RecordType,
    zone: Name,
    keys: Arc<Vec<DNSKEY>>,
) -> Result<u8, String> {
    tokio::task::spawn_blocking(move || {
        verify::verify_rrset(&records, &owner, rtype, &zone, &keys, verify::now())
            .map_err(|f| f.describe(&owner, rtype, &zone))
    })
    .await
    .unwrap_or_else(|e| Err(format!("signature check did not finish: {e}")))
}

impl Resolver {
    /// Asks one question (following CNAMEs) and validates the answer with
    /// DNSSEC from the trust anchor. `Err` when a question of the answer
    /// itself fails or its CNAME chain loops or runs too long (a failed
    /// question of the DNSSEC chain makes the status indeterminate
    /// instead).
    pub async fn lookup_validated(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Validated, DnsError> {
        let mut name = name.clone();
        name.set_fqdn(true);
        let first = self.validation_lookup(&name, rtype).await?;
        let (mut security, mut chain) = self.validate_hop(&name, rtype, &first).await;
        let mut answer = first;
        let mut hops = 0;
        while let Some(target) = next_hop(&answer, &name, rtype, hops)? {
            hops += 1;
            let next = self.validation_lookup(&target, rtype).await?;
            let (s, c) = self.validate_hop(&target, rtype, &next).await;
            security = security.weakest(s);
            for link in c {
                if !chain.contains(&link) {
                    chain.push(link);
                }
            }
            super::extend_chain(&mut answer, next);
        }
        Ok(Validated {
            answer,
            security,
            chain,
        })
    }

    /// One question for validation: on SERVFAIL (perhaps the upstream
    /// refusing data its own validation rejects) asked again with CD.
    async fn validation_lookup(&self, name: &Name, rtype: RecordType) -> Outcome {
        match self.lookup_once(name, rtype, false).await {
            Err(DnsError::ServFail) => self.lookup_checking_disabled(name, rtype).await,
            other => other,
        }
    }

    /// A DS or DNSKEY question of the chain; what makes the chain
    /// indeterminate when it cannot be answered with signatures.
    async fn chain_lookup(&self, name: &Name, rtype: RecordType) -> Result<Answer, Security> {
        let n = name.to_ascii();
        if self.is_overlaid(name) {
            return Err(Security::Indeterminate(format!(
                "the chain passes through {n}, answered from a --zone overlay (or --offline), \
                 which carries no signatures"
            )));
        }
        self.validation_lookup(name, rtype).await.map_err(|e| {
            Security::Indeterminate(format!("the {rtype} question for {n} failed: {e}"))
        })
    }

    /// The status of one answer (one step of a CNAME chain) at `name`.
    async fn validate_hop(
        &self,
        name: &Name,
        rtype: RecordType,
        answer: &Answer,
    ) -> (Security, Vec<ChainLink>) {
        if self.is_overlaid(name) {
            return (
                Security::Indeterminate(format!(
                    "{} is answered from a --zone overlay (or --offline), which carries no \
                     signatures; it was not validated",
                    name.to_ascii()
                )),
                Vec::new(),
            );
        }
        let owned_type = if rrset(&answer.records, name, rtype).next().is_some() {
            Some(rtype)
        } else if rrset(&answer.records, name, RecordType::CNAME)
            .next()
            .is_some()
        {
            Some(RecordType::CNAME)
        } else {
            None
        };
        // The zone the answer claims to come from: its signer, when that
        // encloses the name; else the walk goes down to the name itself.
        let signer = {
            let covered = owned_type.unwrap_or(RecordType::SOA);
            answer
                .records
                .iter()
                .chain(&answer.authority)
                .filter_map(|r| match &r.data {
                    RData::DNSSEC(DNSSECRData::RRSIG(sig))
                        if sig.input().type_covered == covered =>
                    {
                        Some(sig.input().signer_name.clone())
                    }
                    _ => None,
                })
                .find(|s| s.zone_of(name))
        };
        let walk_to = signer.clone().unwrap_or_else(|| name.clone());
        let state = self.zone_state(&walk_to).await;
        let chain = state.chain().to_vec();
        let (zone, keys) = match state {
            ZoneState::Settled { security, .. } => return (security, chain),
            ZoneState::Secure { zone, keys, .. } => (zone, keys),
        };
        let security = match owned_type {
            Some(t)
                if signer
                    .as_ref()
                    .is_some_and(|s| s.eq_ignore_root_case(&zone)) =>
            {
                let records = answer.records.clone();
                match verified(records, name.clone(), t, zone.clone(), Arc::clone(&keys)).await {
                    Ok(labels) if labels < name.num_labels() => {
                        self.expanded(answer, name, t, labels, &zone, keys).await
                    }
                    Ok(_) => Security::Secure,
                    Err(reason) => Security::Bogus(reason),
                }
            }
            Some(t) => Security::Bogus(match signer {
                Some(s) => format!(
                    "the {t} RRset of {} is signed by {}, which is not a zone of the chain \
                     (the chain reaches {})",
                    name.to_ascii(),
                    s.to_ascii(),
                    zone.to_ascii()
                ),
                None => format!(
                    "the {t} RRset of {} carries no signature, yet its zone {} is signed",
                    name.to_ascii(),
                    zone.to_ascii()
                ),
            }),
            None => self.denied(answer, name, rtype, &zone, keys).await,
        };
        (security, chain)
    }

    /// The status of `name`'s `rtype` RRset, signed by `zone` as the
    /// expansion of a wildcard with `labels` labels: secure only with the
    /// signed proof that `name` itself does not exist (RFC 4035 §5.3.4,
    /// RFC 5155 §8.8).
    async fn expanded(
        &self,
        answer: &Answer,
        name: &Name,
        rtype: RecordType,
        labels: u8,
        zone: &Name,
        keys: Arc<Vec<DNSKEY>>,
    ) -> Security {
        let (n, z) = (name.to_ascii(), zone.to_ascii());
        let wildcard = format!("*.{}", name.trim_to(usize::from(labels)).to_ascii());
        let proofs = match self.signed_denials(&answer.authority, zone, keys).await {
            Ok(p) => p,
            Err(reason) => {
                return Security::Bogus(format!(
                    "the {rtype} RRset of {n} comes from the wildcard {wildcard}, and the proof \
                     that {n} itself does not exist fails: {reason}"
                ));
            }
        };
        match denial::prove_wildcard(&proofs, name, labels) {
            Proven::Absent => Security::Secure,
            Proven::OptOut => Security::Insecure(format!(
                "{n} is answered by the wildcard {wildcard} from an NSEC3 opt-out span of {z}"
            )),
            Proven::TooCostly(iterations) => Security::Insecure(format!(
                "{z}'s NSEC3 records use {iterations} iterations, more than the {} RFC 9276 \
                 lets a validator verify",
                denial::MAX_NSEC3_ITERATIONS
            )),
            Proven::Exists(_) | Proven::Nothing => Security::Bogus(format!(
                "the {rtype} RRset of {n} comes from the wildcard {wildcard}, but the answer \
                 carries no signed NSEC or NSEC3 proof that {n} itself does not exist \
                 (RFC 4035 §5.3.4): it may be replayed over data {n} has"
            )),
        }
    }

    /// The status of a negative answer from the secure zone `zone`.
    async fn denied(
        &self,
        answer: &Answer,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        keys: Arc<Vec<DNSKEY>>,
    ) -> Security {
        let what = match answer.rcode {
            Rcode::NXDomain => format!("that {} does not exist", name.to_ascii()),
            Rcode::NoError => format!("that {} has no {rtype} record", name.to_ascii()),
        };
        let proofs = match self.signed_denials(&answer.authority, zone, keys).await {
            Ok(p) => p,
            Err(reason) => {
                return Security::Bogus(format!("the answer's proof {what} fails: {reason}"));
            }
        };
        match (answer.rcode, denial::prove(&proofs, name, zone)) {
            (Rcode::NoError, Proven::Exists(types))
                if !types.contains(&rtype) && !types.contains(&RecordType::CNAME) =>
            {
                Security::Secure
            }
            (Rcode::NoError, Proven::Absent) if denial::no_data(&proofs, name, zone, rtype) => {
                Security::Secure
            }
            (Rcode::NoError, Proven::Absent) => Security::Bogus(format!(
                "{} proves that {} does not exist, but answers \"no such record\": it is \
                 neither an empty non-terminal nor matched by a wildcard without {rtype} \
                 (RFC 4035 §3.1.3.4)",
                zone.to_ascii(),
                name.to_ascii()
            )),
            (Rcode::NXDomain, Proven::Absent) if denial::no_wildcard(&proofs, name, zone) => {
                Security::Secure
            }
            (Rcode::NXDomain, Proven::Absent) => Security::Bogus(format!(
                "{} proves that {} does not exist, but not that no wildcard could have \
                 answered for it (RFC 4035 §5.4)",
                zone.to_ascii(),
                name.to_ascii()
            )),
            (_, Proven::OptOut) => Security::Insecure(format!(
                "{} lies in an NSEC3 opt-out span of {}",
                name.to_ascii(),
                zone.to_ascii()
            )),
            (_, Proven::TooCostly(n)) => Security::Insecure(format!(
                "{}'s NSEC3 records use {n} iterations, more than the {} RFC 9276 lets a \
                 validator verify",
                zone.to_ascii(),
                denial::MAX_NSEC3_ITERATIONS
            )),
            _ => Security::Bogus(format!(
                "{} is signed but the answer carries no signed NSEC or NSEC3 proof {what}",
                zone.to_ascii()
            )),
        }
    }

    /// What the signed NSEC/NSEC3 records of `authority` prove about
    /// `name`; `Err` when one fails its signature check.
    async fn proof(
        &self,
        authority: &[Record],
        name: &Name,
        zone: &Name,
        keys: Arc<Vec<DNSKEY>>,
    ) -> Result<Proven, String> {
        let proofs = self.signed_denials(authority, zone, keys).await?;
        Ok(denial::prove(&proofs, name, zone))
    }

    /// The NSEC/NSEC3 records of `authority` (at most
    /// [`MAX_DENIAL_SETS`] RRsets), each RRset's signature by `zone`
    /// checked; `Err` when one fails.
    async fn signed_denials(
        &self,
        authority: &[Record],
        zone: &Name,
        keys: Arc<Vec<DNSKEY>>,
    ) -> Result<Vec<Record>, String> {
        let mut owners: Vec<(Name, RecordType)> = Vec::new();
        for r in authority {
            let t = r.record_type();
            if matches!(t, RecordType::NSEC | RecordType::NSEC3)
                && !owners.iter().any(|(o, ot)| *ot == t && o == &r.name)
            {
                owners.push((r.name.clone(), t));
            }
        }
        owners.truncate(MAX_DENIAL_SETS);
        let mut proofs = Vec::new();
        for (owner, t) in &owners {
            verified(
                authority.to_vec(),
                owner.clone(),
                *t,
                zone.clone(),
                Arc::clone(&keys),
            )
            .await?;
            proofs.extend(rrset(authority, owner, *t).cloned());
        }
        Ok(proofs)
    }

    /// Walks from the trust anchor down to `target`, one label at a time,
    /// each step memoized for the request.
    pub(super) async fn zone_state(&self, target: &Name) -> ZoneState {
        let anchor = &self.session.dns.trust_anchor;
        let none = Arc::new(Vec::new());
        if !anchor.owner().zone_of(target) {
            return ZoneState::settled(
                Security::Indeterminate(format!(
                    "no trust anchor covers {} (the anchor is for {})",
                    target.to_ascii(),
                    anchor.owner().to_ascii()
                )),
                &none,
            );
        }
        let (top, depth) = (anchor.owner().num_labels(), target.num_labels());
        if depth.saturating_sub(top) > MAX_WALK {
            return ZoneState::settled(
                Security::Indeterminate(format!(
                    "{} lies more than {MAX_WALK} labels below the trust anchor",
                    target.to_ascii()
                )),
                &none,
            );
        }
        let mut walked = self.step(anchor.owner(), None).await;
        for labels in top + 1..=depth {
            if !matches!(walked.state, ZoneState::Secure { ends: false, .. }) {
                break;
            }
            let child = target.trim_to(usize::from(labels));
            walked = self.step(&child, Some(&walked)).await;
        }
        walked.state
    }

    /// The state at `name`, from its parent's (none at the anchor): this
    /// request's, else the process's [`ZoneCache`] (what it holds, or
    /// what another request is working out), else worked out.
    async fn step(&self, name: &Name, parent: Option<&Walked>) -> Walked {
        let key = LowerName::new(name);
        let cell = {
            let mut memo = self.session.zones.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(memo.entry(key.clone()).or_default())
        };
        let computed: &OnceCell<Walked> = &cell;
        computed
            .get_or_init(|| async {
                let Some(cache) = self.session.dns.zone_cache.as_ref() else {
                    return self.work_out(name, parent).await;
                };
                if !self.session.fresh
                    && let Some(walked) = cache.get(&key)
                {
                    return walked;
                }
                let working = cache.working_on(&key);
                let mut mine = false;
                let walked = working
                    .get_or_init(|| {
                        mine = true;
                        self.work_out(name, parent)
                    })
                    .await
                    .clone();
                cache.worked_out(&key, &working);
                // Another request's result that cannot be shared (a failed
                // question of its own, or data asked with CD) is not ours.
                if !mine && walked.until.is_none() {
                    return self.work_out(name, parent).await;
                }
                walked
            })
            .await
            .clone()
    }

    /// Works out the state at `name` from its parent's, and keeps it in
    /// the [`ZoneCache`] when it can be shared.
    async fn work_out(&self, name: &Name, parent: Option<&Walked>) -> Walked {
        let (state, inherited) = match parent.map(|p| &p.state) {
            None => (self.anchored(name).await, false),
            Some(ZoneState::Secure {
                zone, keys, chain, ..
            }) => (self.below(name, zone, keys, chain).await, false),
            Some(settled) => (settled.clone(), true),
        };
        let parent_until = parent.map_or(Some(None), |p| p.until.map(Some));
        let until = match (&state, parent_until) {
            (
                ZoneState::Settled {
                    security: Security::Indeterminate(_),
                    ..
                },
                _,
            )
            | (_, None) => None,
            (_, Some(parent_until)) if inherited => parent_until,
            (_, Some(parent_until)) => self
                .answers_until(name)
                .map(|until| parent_until.map_or(until, |p| p.min(until))),
        };
        let walked = Walked { state, until };
        if let (Some(cache), Some(until)) = (self.session.dns.zone_cache.as_ref(), walked.until) {
            cache.insert(LowerName::new(name), walked.state.clone(), until);
        }
        walked
    }

    /// Until when the DS and DNSKEY answers this request got for `name`
    /// stay fresh (their TTL, at most [`super::cache::MAX_TTL`]); `None`
    /// when it has none, or asked with CD (data that may be bogus is never
    /// shared).
    fn answers_until(&self, name: &Name) -> Option<Instant> {
        let key = |t| (LowerName::new(name), t);
        let questions = [key(RecordType::DS), key(RecordType::DNSKEY)];
        let checking_disabled = self
            .session
            .memo_checking_disabled
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if questions.iter().any(|q| checking_disabled.contains_key(q)) {
            return None;
        }
        drop(checking_disabled);
        let memo = self.session.memo.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = questions
            .iter()
            .filter_map(|q| memo.get(q)?.get()?.as_ref().ok().map(|a| a.ttl))
            .min()?;
        let ttl = Duration::from_secs(u64::from(ttl)).min(super::cache::MAX_TTL);
        (!ttl.is_zero()).then(|| Instant::now() + ttl)
    }

    /// The anchor's zone: its DNSKEY RRset signed by a key the anchor
    /// vouches for.
    async fn anchored(&self, zone: &Name) -> ZoneState {
        let anchor = &self.session.dns.trust_anchor;
        let link_ds = anchor.describe();
        self.keyed(zone, link_ds, &Arc::new(Vec::new()), true, |key| {
            anchor.trusts(key)
        })
        .await
    }

    /// A zone whose entry keys `entry` picks: its DNSKEY RRset asked and
    /// verified with them. At the trust anchor (`at_anchor`) no DNSKEY at
    /// all means an upstream that strips DNSSEC records (or a private DNS
    /// without them): nothing can be validated through it, which is
    /// indeterminate, not a fault of the names asked about.
    async fn keyed(
        &self,
        zone: &Name,
        ds_text: Vec<String>,
        chain: &Arc<Vec<ChainLink>>,
        at_anchor: bool,
        entry: impl Fn(&DNSKEY) -> bool,
    ) -> ZoneState {
        let z = zone.to_ascii();
        let answer = match self.chain_lookup(zone, RecordType::DNSKEY).await {
            Ok(a) => a,
            Err(security) => return ZoneState::settled(security, chain),
        };
        let keys = dnskeys_of(&answer.records, zone);
        let mut links = chain.to_vec();
        links.push(ChainLink {
            zone: z.clone(),
            ds: ds_text,
            dnskey: keys.iter().map(|k| describe_key(zone, k)).collect(),
        });
        let links = Arc::new(links);
        if keys.is_empty() && at_anchor {
            return ZoneState::settled(
                Security::Indeterminate(format!(
                    "the upstream gives no DNSKEY for {z}, the trust anchor's zone: it does not \
                     pass DNSSEC records on, so nothing can be validated through it"
                )),
                &links,
            );
        }
        if keys.is_empty() {
            return ZoneState::settled(
                Security::Bogus(format!(
                    "{z} has a DS record at its parent (or a trust anchor) but publishes no DNSKEY"
                )),
                &links,
            );
        }
        let entries: Vec<DNSKEY> = keys.iter().filter(|k| entry(k)).cloned().collect();
        if entries.is_empty() {
            return ZoneState::settled(
                Security::Bogus(format!(
                    "none of {z}'s DNSKEYs matches its DS records (or the trust anchor)"
                )),
                &links,
            );
        }
        if let Err(reason) = verified(
            answer.records.clone(),
            zone.clone(),
            RecordType::DNSKEY,
            zone.clone(),
            Arc::new(entries),
        )
        .await
        {
            return ZoneState::settled(Security::Bogus(reason), &links);
        }
        let keys = keys
            .into_iter()
            .filter(|k| k.zone_key() && !k.revoke())
            .collect();
        ZoneState::Secure {
            zone: zone.clone(),
            keys: Arc::new(keys),
            chain: links,
            ends: false,
        }
    }

    /// One label below the secure zone `zone`: a secure child zone, an
    /// insecure delegation, more of the same zone, or nothing further.
    async fn below(
        &self,
        name: &Name,
        zone: &Name,
        keys: &Arc<Vec<DNSKEY>>,
        chain: &Arc<Vec<ChainLink>>,
    ) -> ZoneState {
        let n = name.to_ascii();
        let same_zone = |ends: bool| ZoneState::Secure {
            zone: zone.clone(),
            keys: Arc::clone(keys),
            chain: Arc::clone(chain),
            ends,
        };
        let answer = match self.chain_lookup(name, RecordType::DS).await {
            Ok(a) => a,
            Err(security) => return ZoneState::settled(security, chain),
        };
        let ds = ds_of(&answer.records, name);
        if !ds.is_empty() {
            if let Err(reason) = verified(
                answer.records.clone(),
                name.clone(),
                RecordType::DS,
                zone.clone(),
                Arc::clone(keys),
            )
            .await
            {
                return ZoneState::settled(Security::Bogus(reason), chain);
            }
            let usable: Vec<DS> = ds
                .into_iter()
                .filter(|d| d.algorithm().is_supported() && d.digest_type().is_supported())
                .collect();
            if usable.is_empty() {
                return ZoneState::settled(
                    Security::Insecure(format!(
                        "{n}'s DS records use only algorithms or digests mailvet cannot verify \
                         (RFC 4035 §5.2: treated as insecure)"
                    )),
                    chain,
                );
            }
            let ds_text = usable.iter().map(|d| format!("{n} DS {d}")).collect();
            return self
                .keyed(name, ds_text, chain, false, |key| {
                    !key.revoke()
                        && usable.iter().any(|d| {
                            d.algorithm() == key.algorithm() && d.covers(name, key).unwrap_or(false)
                        })
                })
                .await;
        }
        if rrset(&answer.records, name, RecordType::CNAME)
            .next()
            .is_some()
        {
            // An alias is never a zone cut.
            return same_zone(false);
        }
        let proven = match self
            .proof(&answer.authority, name, zone, Arc::clone(keys))
            .await
        {
            Ok(p) => p,
            Err(reason) => {
                return ZoneState::settled(
                    Security::Bogus(format!("the proof that {n} has no DS fails: {reason}")),
                    chain,
                );
            }
        };
        let kind = if answer
            .authority
            .iter()
            .any(|r| r.record_type() == RecordType::NSEC3)
        {
            "NSEC3"
        } else {
            "NSEC"
        };
        match proven {
            Proven::Exists(types)
                if types.contains(&RecordType::NS) && !types.contains(&RecordType::SOA) =>
            {
                ZoneState::settled(
                    Security::Insecure(format!(
                        "{n} is delegated from {} without a DS record, proven by {kind}",
                        zone.to_ascii()
                    )),
                    chain,
                )
            }
            Proven::Exists(types) if types.contains(&RecordType::SOA) => ZoneState::settled(
                Security::Indeterminate(format!(
                    "the DS question for {n} was answered from {n}'s own zone, not its parent"
                )),
                chain,
            ),
            Proven::Exists(_) => same_zone(false),
            Proven::Absent => same_zone(answer.rcode == Rcode::NXDomain),
            Proven::OptOut => ZoneState::settled(
                Security::Insecure(format!(
                    "{n} lies in an NSEC3 opt-out span of {}: it may be an unsigned delegation",
                    zone.to_ascii()
                )),
                chain,
            ),
            Proven::TooCostly(iterations) => ZoneState::settled(
                Security::Insecure(format!(
                    "{}'s NSEC3 records use {iterations} iterations, more than the {} RFC 9276 \
                     lets a validator verify",
                    zone.to_ascii(),
                    denial::MAX_NSEC3_ITERATIONS
                )),
                chain,
            ),
            Proven::Nothing => ZoneState::settled(
                Security::Bogus(format!(
                    "{} is signed but gives no signed NSEC or NSEC3 proof that {n} has no DS",
                    zone.to_ascii()
                )),
                chain,
            ),
        }
    }
}
