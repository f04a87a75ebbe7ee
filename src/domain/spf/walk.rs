//! The walk of the SPF tree: which records the audit fetches and which
//! a, mx and exists targets it checks for void lookups and, for mx, for
//! more MX hosts than a term may look at (RFC 7208 §4.6.4, judged by
//! [`crate::spf::limits`] as `check_host()` judges them).
//! Every distinct name is read once, one depth at a time, at most
//! `--max-spf-nodes` records and as many void targets; a walk that had to
//! leave some out is not `complete`.

use super::{Fetched, MAX_STRING, NodeStatus, fetch};
use crate::dns::{Answer, DnsError, Resolver};
use crate::spf::limits::{is_void, mx_hosts_over_limit};
use crate::spf::macros::MacroString;
use crate::spf::record::{Mechanism, SpfRecord};
use futures_util::future::join_all;
use hickory_proto::rr::RecordType;
use std::collections::{HashMap, HashSet};

/// A name as the walk keys it: lower-case, without the final dot.
fn key_of(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// An include or redirect term and the domain it names.
#[derive(Debug, Clone)]
pub(super) struct Edge {
    /// The term as written: `include:_spf.example.com`.
    pub(super) via: String,
    /// The domain as written, or `None` when it uses macros.
    pub(super) target: Option<String>,
    /// `target` as a key.
    target_key: Option<String>,
}

impl Edge {
    fn new(via: String, target: Option<String>) -> Edge {
        let target_key = target.as_deref().map(key_of);
        Edge {
            via,
            target,
            target_key,
        }
    }

    pub(super) fn key(&self) -> Option<&str> {
        self.target_key.as_deref()
    }
}

/// A name whose void-ness a term needs, and the record types that decide.
type VoidTarget = (String, VoidKind);

/// One domain's record, fetched and read once per audit.
pub(super) struct Read {
    pub(super) status: NodeStatus,
    pub(super) record: Option<String>,
    pub(super) detail: Option<String>,
    /// The length of a character-string over 255 bytes, whether or not the
    /// record parses: size and syntax are separate facts.
    pub(super) long_string: Option<usize>,
    /// Sender ID records (`spf2.0/…`) published beside or instead of SPF.
    pub(super) sender_id: Vec<String>,
    pub(super) parsed: Option<SpfRecord>,
    /// The record's own DNS-querying terms.
    pub(super) own_lookups: usize,
    /// Includes, in record order, then the redirect.
    pub(super) edges: Vec<Edge>,
    pub(super) redirect: Option<Edge>,
    /// The a, mx and exists terms, with the name each needs judged
    /// (`None`: macros, not judged).
    void_terms: Vec<(String, Option<VoidTarget>)>,
}

/// Everything the walk read: the records by name and the void checks.
pub(super) struct Graph {
    pub(super) root: String,
    pub(super) records: HashMap<String, Read>,
    /// Checked targets: what each lookup found.
    void: HashMap<VoidTarget, Looked>,
    /// No record or void target was left out for `--max-spf-nodes`.
    pub(super) complete: bool,
}

impl Graph {
    /// This record's terms that found nothing.
    pub(super) fn void_terms(&self, read: &Read) -> Vec<String> {
        read.void_terms
            .iter()
            .filter(|(_, target)| {
                target
                    .as_ref()
                    .and_then(|t| self.void.get(t))
                    .is_some_and(|looked| looked.void)
            })
            .map(|(term, _)| term.clone())
            .collect()
    }

    /// This record's mx terms whose domain has more MX hosts than a term
    /// may look at, with the number of hosts.
    pub(super) fn mx_over_limit(&self, read: &Read) -> Vec<(String, usize)> {
        read.void_terms
            .iter()
            .filter_map(|(term, target)| {
                let hosts = self.void.get(target.as_ref()?)?.mx_hosts_over?;
                Some((term.clone(), hosts))
            })
            .collect()
    }
}

/// What the lookup of an a, mx or exists target found.
#[derive(Debug, Clone, Copy, Default)]
struct Looked {
    void: bool,
    /// For mx: the number of hosts, when more than a term may look at.
    mx_hosts_over: Option<usize>,
}

/// Reads the root's record and, one depth at a time, every record it
/// reaches, each name once and at most `max_nodes` of them; the void
/// checks of each depth go out with the next depth's records.
pub(super) async fn crawl(resolver: &Resolver, root: &str, max_nodes: usize) -> Graph {
    let mut graph = Graph {
        root: key_of(root),
        records: HashMap::new(),
        void: HashMap::new(),
        complete: true,
    };
    let mut records = Admitted::new(max_nodes);
    records.admit(graph.root.clone());
    let mut void_targets = Admitted::new(max_nodes);
    let mut frontier: Vec<(String, String)> = vec![(graph.root.clone(), root.to_string())];
    let mut void_queue: Vec<VoidTarget> = Vec::new();
    while !frontier.is_empty() || !void_queue.is_empty() {
        let reads = join_all(
            std::mem::take(&mut frontier)
                .into_iter()
                .map(|(key, domain)| async move { (key, read(resolver, &domain).await) }),
        );
        let voids = join_all(std::mem::take(&mut void_queue).into_iter().map(
            |target| async move {
                let looked = look(resolver, &target.0, target.1).await;
                (target, looked)
            },
        ));
        let (reads, voids) = tokio::join!(reads, voids);
        graph.void.extend(voids);
        for (key, read) in reads {
            for edge in &read.edges {
                let (Some(target), Some(target_key)) = (&edge.target, edge.key()) else {
                    continue;
                };
                match records.admit(target_key.to_string()) {
                    Admission::New => frontier.push((target_key.to_string(), target.clone())),
                    Admission::Seen => {}
                    Admission::Full => graph.complete = false,
                }
            }
            for target in read.void_terms.iter().filter_map(|(_, t)| t.as_ref()) {
                match void_targets.admit(target.clone()) {
                    Admission::New => void_queue.push(target.clone()),
                    Admission::Seen => {}
                    Admission::Full => graph.complete = false,
                }
            }
            graph.records.insert(key, read);
        }
    }
    graph
}

/// What the walk takes on: each item once, at most `max` of them.
struct Admitted<T> {
    seen: HashSet<T>,
    max: usize,
}

enum Admission {
    /// Taken on now.
    New,
    /// Taken on before.
    Seen,
    /// Left out: `max` were taken on already.
    Full,
}

impl<T: Eq + std::hash::Hash> Admitted<T> {
    fn new(max: usize) -> Admitted<T> {
        Admitted {
            seen: HashSet::new(),
            max,
        }
    }

    fn admit(&mut self, item: T) -> Admission {
        if self.seen.contains(&item) {
            Admission::Seen
        } else if self.seen.len() >= self.max {
            Admission::Full
        } else {
            self.seen.insert(item);
            Admission::New
        }
    }
}

/// Fetches and reads one domain's record.
async fn read(resolver: &Resolver, domain: &str) -> Read {
    let mut read = Read {
        status: NodeStatus::Ok,
        record: None,
        detail: None,
        long_string: None,
        sender_id: Vec::new(),
        parsed: None,
        own_lookups: 0,
        edges: Vec::new(),
        redirect: None,
        void_terms: Vec::new(),
    };
    let (fetched, sender_id) = fetch(resolver, domain).await;
    read.sender_id = sender_id;
    let (text, strings) = match fetched {
        Fetched::Record { text, strings } => (text, strings),
        Fetched::Missing => {
            read.status = NodeStatus::Missing;
            return read;
        }
        Fetched::Multiple(records) => {
            read.status = NodeStatus::MultipleRecords;
            read.detail = Some(records.join(" | "));
            return read;
        }
        Fetched::Failed(e) => {
            read.status = NodeStatus::DnsError;
            read.detail = Some(e.to_string());
            return read;
        }
    };
    read.record = Some(text.clone());
    if let Some(long) = strings.iter().find(|l| **l > MAX_STRING) {
        read.long_string = Some(*long);
        read.detail = Some(format!("a character-string of {long} bytes"));
    }
    let record = match SpfRecord::parse(text.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            read.status = NodeStatus::Syntax;
            read.detail = Some(format!(
                "`{}` at position {}: {}",
                e.term, e.position, e.message
            ));
            return read;
        }
    };
    let current = domain.trim_end_matches('.');
    for d in &record.directives {
        if d.mechanism.queries_dns() {
            read.own_lookups += 1;
        }
        let void_target = |spec: Option<&MacroString>, kind| {
            let target = match spec {
                Some(s) => literal(s),
                None => Some(current.to_string()),
            };
            (d.span.text.clone(), target.map(|t| (key_of(&t), kind)))
        };
        match &d.mechanism {
            Mechanism::Include(spec) => read
                .edges
                .push(Edge::new(format!("include:{}", spec.text), literal(spec))),
            Mechanism::A { domain: spec, .. } => read
                .void_terms
                .push(void_target(spec.as_ref(), VoidKind::Address)),
            Mechanism::Mx { domain: spec, .. } => read
                .void_terms
                .push(void_target(spec.as_ref(), VoidKind::Mx)),
            Mechanism::Exists(spec) => read.void_terms.push(void_target(Some(spec), VoidKind::A)),
            _ => {}
        }
    }
    if let Some((spec, _)) = &record.redirect {
        read.own_lookups += 1;
        let edge = Edge::new(format!("redirect={}", spec.text), literal(spec));
        read.edges.push(edge.clone());
        read.redirect = Some(edge);
    }
    read.parsed = Some(record);
    read
}

/// The domain a macro-free domain-spec names.
pub(super) fn literal(spec: &MacroString) -> Option<String> {
    (!spec.text.contains('%')).then(|| spec.text.trim_end_matches('.').to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum VoidKind {
    /// `a`: A and AAAA together count once.
    Address,
    Mx,
    /// `exists`: always A (RFC 7208 §5.7).
    A,
}

/// Whether the term's lookup finds no such name or no data, and for mx
/// whether it names more hosts than a term may look at. A DNS failure is
/// neither: the answer is unknown.
async fn look(resolver: &Resolver, target: &str, kind: VoidKind) -> Looked {
    let Some(name) = crate::spf::eval::dns_name(target) else {
        return Looked {
            void: true,
            mx_hosts_over: None,
        };
    };
    let empty = |r: &Result<Answer, DnsError>, rtype: RecordType| {
        r.as_ref().is_ok_and(|a| is_void(a, rtype))
    };
    match kind {
        VoidKind::Address => {
            let (a, aaaa) = tokio::join!(
                resolver.lookup(&name, RecordType::A),
                resolver.lookup(&name, RecordType::AAAA)
            );
            Looked {
                void: empty(&a, RecordType::A) && empty(&aaaa, RecordType::AAAA),
                mx_hosts_over: None,
            }
        }
        VoidKind::Mx => {
            let mx = resolver.lookup(&name, RecordType::MX).await;
            Looked {
                void: empty(&mx, RecordType::MX),
                mx_hosts_over: mx.as_ref().ok().and_then(mx_hosts_over_limit),
            }
        }
        VoidKind::A => Looked {
            void: empty(&resolver.lookup(&name, RecordType::A).await, RecordType::A),
            mx_hosts_over: None,
        },
    }
}
