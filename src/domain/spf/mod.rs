//! SPF in the domain audit: the domain's record and its whole include and
//! redirect tree, read without a client IP (RFC 7208 §4.6.4, §5, §6).
//!
//! This module decides what a sender's SPF setup costs and risks: the tree
//! with each node's record text, the DNS-querying terms counted through the
//! whole tree (include, a, mx, ptr, exists and redirect each count one, as
//! `check_host()` would count them on a path that reaches them), void
//! lookups (a name that answers NXDOMAIN or no data for the types the term
//! needs; for `a`, A and AAAA together count once), loops, include and
//! redirect targets without a record, multiple records, and the record's
//! ending (`+all`, `?all`, `~all`, none). It parses with the same strict
//! parser as the evaluator ([`crate::spf::record`]). Terms whose domain
//! uses macros cannot be resolved without a message, so they are counted
//! but not followed; the tree says so.
//!
//! The walk is bounded by distinct names, not by paths. Records that
//! include the same records (a "diamond") would make a path-by-path walk
//! exponential — 10 includes a level for 6 levels is a million paths over
//! 61 records — so each record is fetched and read once per audit
//! (`crawl`), at most `--max-spf-nodes` of them and as many a/mx/exists
//! targets checked for void lookups. The costs are then summed over the
//! records, each name's subtree once (`Totals`): still exactly what
//! `check_host()` counts on its paths, since a subtree reached twice costs
//! twice. The tree shows each record expanded where a depth-first reading
//! first meets it; where it comes again it is a `repeated` node carrying
//! its cost but no copy of its children, and a name met again on its own
//! path is a loop. The tree holds at most `--max-spf-nodes` nodes; children
//! past that are counted in their parent's `omitted`. When either limit
//! cuts the walk short, `spf.walk_limit` says so, and a walk that stopped
//! before every record was read leaves the counts as lower bounds (the
//! section is not `complete`).
//!
//! The records of one depth are fetched concurrently, with the void checks
//! of the depth above, so the audit takes as many round trips as the tree
//! is deep (plus one when the deepest records have a, mx or exists terms).

use super::AuditContext;
use super::protocol::{self, Audited, Protocol, status_word};
use crate::dns::{Answer, DnsError, Rcode, Resolver};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::spf::eval::{MAX_DNS_TERMS, MAX_VOID_LOOKUPS};
use crate::spf::macros::MacroString;
use crate::spf::record::{Mechanism, Qualifier, SpfRecord, is_spf1};
use futures_util::future::join_all;
use hickory_proto::rr::RecordType;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A TXT character-string cannot be longer on the wire (RFC 1035 §3.3).
const MAX_STRING: usize = 255;
/// Above this a record risks not fitting a 512-octet UDP answer
/// (RFC 7208 §3.4).
const RECORD_SOFT_LIMIT: usize = 450;
/// Depth at which the tree stops showing records, well past any legitimate
/// setup (the counts still go all the way down).
const MAX_DEPTH: usize = 12;
/// The default of `--max-spf-nodes`: some twenty times the records (at
/// most 11) of a tree within the 10-lookup limit.
pub const DEFAULT_MAX_NODES: usize = 200;

/// The SPF section of the audit report.
#[derive(Debug, Clone, Serialize)]
pub struct SpfSection {
    /// `ok`, `missing`, `multiple_records`, `syntax`, `dns_error`.
    pub status: NodeStatus,
    /// The domain's own record, when there is exactly one.
    pub record: Option<String>,
    /// DNS-querying terms through the whole tree (limit 10).
    pub lookups: usize,
    /// Lookups that found no such name or no data (limit 2).
    pub void_lookups: usize,
    /// The ending that applies: `-all`, `~all`, `?all`, `+all`, or `none`.
    pub all: String,
    /// The tree, rooted at the domain.
    pub tree: Node,
    /// Whether a record of the historic SPF type (99) exists.
    pub type99_record: bool,
    /// Every record of the tree was read and every void target checked.
    /// False when the walk stopped at `--max-spf-nodes`: `lookups` and
    /// `void_lookups` are then lower bounds.
    pub complete: bool,
}

impl Audited for SpfSection {
    fn protocol(&self) -> &'static Protocol {
        &protocol::SPF
    }

    fn undecided(&self) -> Option<String> {
        let mut failed = None;
        visit(&self.tree, &mut |n| {
            if failed.is_none() && n.status == NodeStatus::DnsError {
                failed = Some(format!(
                    "the TXT lookup for {} failed ({})",
                    n.domain,
                    n.detail.as_deref().unwrap_or("no answer")
                ));
            }
        });
        failed
    }

    fn summary(&self) -> String {
        match &self.record {
            Some(record) => format!(
                "{record} · {} of {} DNS lookups · ends in {}",
                self.lookups,
                crate::spf::eval::MAX_DNS_TERMS,
                self.all
            ),
            None => status_word(&self.status),
        }
    }
}

/// One domain of the tree.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub domain: String,
    /// The term that led here (`include:…`, `redirect=…`), absent at the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub status: NodeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// What this node's record costs: its own DNS-querying terms plus
    /// everything below it (for an include, add 1 for the include itself).
    pub lookups: usize,
    /// Void lookups of this node's own terms.
    pub void: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub children: Vec<Node>,
    /// The domain is shown in full where the tree first reaches it; here
    /// only its cost is repeated, not its record or children.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
    /// Children left out because the tree reached `--max-spf-nodes`; their
    /// cost is still in `lookups`.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Ok,
    Missing,
    MultipleRecords,
    Syntax,
    DnsError,
    Loop,
    /// The target uses macros and cannot be resolved without a message.
    NotFollowed,
    /// The tree is deeper than any legitimate setup; it is not shown further.
    TooDeep,
    /// The walk reached `--max-spf-nodes` records before this one, so it
    /// was not fetched.
    NotWalked,
}

impl Node {
    fn new(domain: &str, via: Option<String>, status: NodeStatus) -> Node {
        Node {
            domain: domain.to_string(),
            via,
            status,
            record: None,
            lookups: 0,
            void: Vec::new(),
            detail: None,
            children: Vec::new(),
            repeated: false,
            omitted: 0,
        }
    }
}

/// What was fetched for one domain's record.
enum Fetched {
    Record { text: String, strings: Vec<usize> },
    Missing,
    Multiple(Vec<String>),
    Failed(DnsError),
}

pub async fn check(cx: &AuditContext<'_>) -> Checked<SpfSection> {
    let domain = cx.domain.ascii.clone();
    let name = cx.domain.fqdn();
    let type99 = cx.resolver.lookup(&name, RecordType::from(99));
    let max_nodes = cx.options.max_spf_nodes.max(1);
    let (graph, type99) = tokio::join!(crawl(cx.resolver, &domain, max_nodes), type99);
    let type99_record = type99.is_ok_and(|a| !a.is_empty_of(RecordType::from(99)));
    let totals = Totals::of(&graph);
    let tree = Shown::tree(&graph, &totals, max_nodes);
    let section = summarize(&graph, &totals, tree, type99_record);
    let findings = findings(&section, &graph, &totals, &domain, max_nodes);
    Checked { section, findings }
}

fn summarize(graph: &Graph, totals: &Totals, tree: Node, type99_record: bool) -> SpfSection {
    let root = totals.of_name(&graph.root);
    SpfSection {
        status: tree.status,
        record: tree.record.clone(),
        lookups: root.lookups,
        void_lookups: root.void,
        all: effective_all(graph),
        tree,
        type99_record,
        complete: graph.complete,
    }
}

fn visit<'a>(node: &'a Node, f: &mut impl FnMut(&'a Node)) {
    f(node);
    for c in &node.children {
        visit(c, f);
    }
}

/// The `all` that ends evaluation: the record's own, else its redirect's.
fn effective_all(graph: &Graph) -> String {
    let mut key = graph.root.as_str();
    let mut followed = HashSet::new();
    while followed.insert(key) {
        let Some(record) = graph.records.get(key).and_then(|r| r.parsed.as_ref()) else {
            break;
        };
        if let Some(d) = record
            .directives
            .iter()
            .find(|d| d.mechanism == Mechanism::All)
        {
            return match d.qualifier {
                Qualifier::Pass => "+all",
                Qualifier::Fail => "-all",
                Qualifier::SoftFail => "~all",
                Qualifier::Neutral => "?all",
            }
            .into();
        }
        let redirect = graph.records.get(key).and_then(|r| r.redirect.as_ref());
        match redirect.and_then(Edge::key) {
            Some(next) => key = next,
            None => break,
        }
    }
    "none".into()
}

async fn fetch(resolver: &Resolver, domain: &str) -> Fetched {
    let Some(name) = crate::spf::eval::dns_name(domain) else {
        return Fetched::Missing;
    };
    let answer = match resolver.lookup(&name, RecordType::TXT).await {
        Ok(a) => a,
        Err(e) => return Fetched::Failed(e),
    };
    let mut records: Vec<(String, Vec<usize>)> = answer
        .txt()
        .into_iter()
        .filter(|strings| is_spf1(&strings.concat()))
        .map(|strings| {
            let lengths = strings.iter().map(|s| s.len()).collect();
            (
                String::from_utf8_lossy(&strings.concat()).into_owned(),
                lengths,
            )
        })
        .collect();
    match records.len() {
        0 => Fetched::Missing,
        1 => {
            let (text, strings) = records.remove(0);
            Fetched::Record { text, strings }
        }
        _ => Fetched::Multiple(records.into_iter().map(|(t, _)| t).collect()),
    }
}

// ---------------------------------------------------------------------------
// The walk: every distinct record once

/// A name as the walk keys it: lower-case, without the final dot.
fn key_of(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// An include or redirect term and the domain it names.
#[derive(Debug, Clone)]
struct Edge {
    /// The term as written: `include:_spf.example.com`.
    via: String,
    /// The domain as written, or `None` when it uses macros.
    target: Option<String>,
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

    fn key(&self) -> Option<&str> {
        self.target_key.as_deref()
    }
}

/// A name whose void-ness a term needs, and the record types that decide.
type VoidTarget = (String, VoidKind);

/// One domain's record, fetched and read once per audit.
struct Read {
    status: NodeStatus,
    record: Option<String>,
    detail: Option<String>,
    parsed: Option<SpfRecord>,
    /// The record's own DNS-querying terms.
    own_lookups: usize,
    /// Includes, in record order, then the redirect.
    edges: Vec<Edge>,
    redirect: Option<Edge>,
    /// The a, mx and exists terms, with the name each needs judged
    /// (`None`: macros, not judged).
    void_terms: Vec<(String, Option<VoidTarget>)>,
}

/// Everything the walk read: the records by name and the void checks.
struct Graph {
    root: String,
    records: HashMap<String, Read>,
    /// Checked targets: whether each is void.
    void: HashMap<VoidTarget, bool>,
    /// No record or void target was left out for `--max-spf-nodes`.
    complete: bool,
}

impl Graph {
    /// This record's terms that found nothing.
    fn void_terms(&self, read: &Read) -> Vec<String> {
        read.void_terms
            .iter()
            .filter(|(_, target)| {
                target
                    .as_ref()
                    .is_some_and(|t| self.void.get(t).copied().unwrap_or(false))
            })
            .map(|(term, _)| term.clone())
            .collect()
    }
}

/// Reads the root's record and, one depth at a time, every record it
/// reaches, each name once and at most `max_nodes` of them; the void
/// checks of each depth go out with the next depth's records.
async fn crawl(resolver: &Resolver, root: &str, max_nodes: usize) -> Graph {
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
                let void = is_void(resolver, &target.0, target.1).await;
                (target, void)
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
        parsed: None,
        own_lookups: 0,
        edges: Vec::new(),
        redirect: None,
        void_terms: Vec::new(),
    };
    let (text, strings) = match fetch(resolver, domain).await {
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

// ---------------------------------------------------------------------------
// The costs: each name's subtree summed once

/// What a name's subtree costs on every path through it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    lookups: usize,
    void: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        // A diamond's counts grow as width^depth; they saturate rather
        // than wrap.
        self.lookups = self.lookups.saturating_add(other.lookups);
        self.void = self.void.saturating_add(other.void);
    }
}

/// An include or redirect that leads back to a domain on its own path.
struct LoopSeen {
    via: String,
    /// The path from the domain looped to, back to it.
    path: String,
}

/// The cost of every walked name's subtree, from one depth-first reading
/// of the records: a name is summed once and reused wherever it comes
/// again, and a term that leads back to a name on its own path (a loop)
/// adds nothing. Also the order in which names are first met, how, and
/// the loops.
struct Totals {
    cost: HashMap<String, Cost>,
    /// Names in the order first met, with the term that first led there.
    order: Vec<(String, Option<String>)>,
    /// One per name looped back to.
    loops: Vec<LoopSeen>,
}

impl Totals {
    fn of(graph: &Graph) -> Totals {
        struct Frame<'g> {
            key: &'g str,
            next: usize,
            cost: Cost,
        }
        let own = |key: &str| -> Cost {
            graph.records.get(key).map_or(Cost::default(), |read| Cost {
                lookups: read.own_lookups,
                void: graph.void_terms(read).len(),
            })
        };
        let mut totals = Totals {
            cost: HashMap::new(),
            order: vec![(graph.root.clone(), None)],
            loops: Vec::new(),
        };
        let mut looped_to: HashSet<&str> = HashSet::new();
        // Where each name on the current path sits on `stack`.
        let mut on_path: HashMap<&str, usize> = HashMap::from([(graph.root.as_str(), 0)]);
        let mut stack = vec![Frame {
            key: &graph.root,
            next: 0,
            cost: own(&graph.root),
        }];
        while let Some(frame) = stack.last_mut() {
            let edges = graph
                .records
                .get(frame.key)
                .map_or(&[][..], |r| r.edges.as_slice());
            let Some(edge) = edges.get(frame.next) else {
                let Some(done) = stack.pop() else { break };
                on_path.remove(done.key);
                totals.cost.insert(done.key.to_string(), done.cost);
                if let Some(parent) = stack.last_mut() {
                    parent.cost.add(done.cost);
                }
                continue;
            };
            frame.next += 1;
            let Some(target) = edge.key() else { continue };
            if let Some(&at) = on_path.get(target) {
                if looped_to.insert(target) {
                    let mut names: Vec<&str> = stack[at..].iter().map(|f| f.key).collect();
                    names.push(target);
                    totals.loops.push(LoopSeen {
                        via: edge.via.clone(),
                        path: path_text(&names),
                    });
                }
            } else if let Some(cost) = totals.cost.get(target) {
                let cost = *cost;
                frame.cost.add(cost);
            } else {
                totals
                    .order
                    .push((target.to_string(), Some(edge.via.clone())));
                on_path.insert(target, stack.len());
                stack.push(Frame {
                    key: target,
                    next: 0,
                    cost: own(target),
                });
            }
        }
        totals
    }

    fn of_name(&self, key: &str) -> Cost {
        self.cost.get(key).copied().unwrap_or_default()
    }
}

/// Names joined by arrows; a long path keeps its ends.
fn path_text(names: &[&str]) -> String {
    const ENDS: usize = MAX_DEPTH / 2;
    if names.len() <= MAX_DEPTH {
        return names.join(" → ");
    }
    format!(
        "{} → … ({} more) … → {}",
        names[..ENDS].join(" → "),
        names.len() - 2 * ENDS,
        names[names.len() - ENDS..].join(" → ")
    )
}

// ---------------------------------------------------------------------------
// The tree as shown

/// Builds the tree of the report from the walk: each record expanded once,
/// at most `room` nodes.
struct Shown<'g> {
    graph: &'g Graph,
    totals: &'g Totals,
    expanded: HashSet<&'g str>,
    room: usize,
}

impl<'g> Shown<'g> {
    fn tree(graph: &'g Graph, totals: &'g Totals, max_nodes: usize) -> Node {
        let mut shown = Shown {
            graph,
            totals,
            expanded: HashSet::new(),
            room: max_nodes.saturating_sub(1),
        };
        let root = graph.root.as_str();
        let domain = graph.root.clone();
        shown.node(root, &domain, None, &mut Vec::new())
    }

    fn node(
        &mut self,
        key: &'g str,
        domain: &str,
        via: Option<String>,
        path: &mut Vec<&'g str>,
    ) -> Node {
        let mut node = Node::new(domain, via, NodeStatus::Ok);
        if path.contains(&key) {
            let mut names = path.clone();
            names.push(key);
            node.status = NodeStatus::Loop;
            node.detail = Some(path_text(&names));
            return node;
        }
        node.lookups = self.totals.of_name(key).lookups;
        let Some(read) = self.graph.records.get(key) else {
            node.status = NodeStatus::NotWalked;
            node.detail = Some(
                "not fetched: the walk had read as many records as --max-spf-nodes allows".into(),
            );
            return node;
        };
        node.status = read.status;
        if self.expanded.contains(key) {
            node.repeated = true;
            return node;
        }
        if path.len() >= MAX_DEPTH {
            node.status = NodeStatus::TooDeep;
            return node;
        }
        self.expanded.insert(key);
        node.record = read.record.clone();
        node.detail = read.detail.clone();
        node.void = self.graph.void_terms(read);
        path.push(key);
        for edge in &read.edges {
            if self.room == 0 {
                node.omitted += 1;
                continue;
            }
            self.room -= 1;
            let child = match (edge.key(), &edge.target) {
                (Some(target_key), Some(target)) => {
                    self.node(target_key, target, Some(edge.via.clone()), path)
                }
                _ => not_followed(edge.via.clone()),
            };
            node.children.push(child);
        }
        path.pop();
        node
    }
}

fn not_followed(via: String) -> Node {
    let domain = via
        .split_once([':', '='])
        .map_or(via.clone(), |(_, d)| d.to_string());
    let mut node = Node::new(&domain, Some(via), NodeStatus::NotFollowed);
    node.detail = Some("the target uses macros that need a message to expand".into());
    node
}

/// The domain a macro-free domain-spec names.
fn literal(spec: &MacroString) -> Option<String> {
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

/// Whether the term's lookup finds no such name or no data. A DNS failure
/// is not void: the answer is unknown.
async fn is_void(resolver: &Resolver, target: &str, kind: VoidKind) -> bool {
    let Some(name) = crate::spf::eval::dns_name(target) else {
        return true;
    };
    let empty = |r: Result<Answer, DnsError>, rtype: RecordType| {
        r.is_ok_and(|a| a.rcode == Rcode::NXDomain || a.is_empty_of(rtype))
    };
    match kind {
        VoidKind::Address => {
            let (a, aaaa) = tokio::join!(
                resolver.lookup(&name, RecordType::A),
                resolver.lookup(&name, RecordType::AAAA)
            );
            empty(a, RecordType::A) && empty(aaaa, RecordType::AAAA)
        }
        VoidKind::Mx => empty(resolver.lookup(&name, RecordType::MX).await, RecordType::MX),
        VoidKind::A => empty(resolver.lookup(&name, RecordType::A).await, RecordType::A),
    }
}

/// The findings the section implies: one per problem the walk, the record
/// and its lookup and void counts show.
fn findings(
    section: &SpfSection,
    graph: &Graph,
    totals: &Totals,
    domain: &str,
    max_nodes: usize,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = &section.tree;
    let evidence = |domain: &str, record: Option<&String>| -> Vec<String> {
        record
            .iter()
            .map(|r| format!("{domain} TXT \"{r}\""))
            .collect()
    };
    if section.type99_record {
        out.push(Finding::new(
            catalog::SPF_DEPRECATED_RR_TYPE,
            format!("{domain} has a DNS record of type SPF (99); only TXT is used since RFC 7208"),
        ));
    }
    match root.status {
        NodeStatus::Missing => {
            out.push(
                Finding::new(
                    catalog::SPF_MISSING,
                    format!("{domain} has no TXT record starting with v=spf1"),
                )
                .with_fix(format!(
                    "Publish one TXT record at {domain}: v=spf1 mx include:<your email \
                         provider's SPF domain> -all (list every service that sends as \
                         {domain}; `v=spf1 -all` if the domain sends no mail)."
                )),
            );
            return out;
        }
        NodeStatus::MultipleRecords => {
            out.push(Finding::new(
                catalog::SPF_MULTIPLE_RECORDS,
                format!(
                    "{domain} publishes several SPF records: {}",
                    root.detail.clone().unwrap_or_default()
                ),
            )
            .with_fix(format!(
                "Merge them into one TXT record at {domain} (one v=spf1, all mechanisms, one all)."
            )));
            return out;
        }
        NodeStatus::Syntax => {
            out.push(
                Finding::new(
                    catalog::SPF_SYNTAX,
                    format!(
                        "the SPF record of {domain} does not parse: {}",
                        root.detail.clone().unwrap_or_default()
                    ),
                )
                .with_evidence(evidence(domain, root.record.as_ref())),
            );
            return out;
        }
        NodeStatus::DnsError => {
            out.push(Finding::new(
                catalog::SPF_DNS_ERROR,
                format!(
                    "the TXT lookup for {domain} failed ({}); SPF is unknown, not missing",
                    root.detail.clone().unwrap_or_default()
                ),
            ));
            return out;
        }
        _ => {}
    }
    let record = section.record.clone().unwrap_or_default();

    // Problems below the root, each reported once for the name that has it.
    for (key, via) in &totals.order {
        let (Some(via), Some(read)) = (via, graph.records.get(key)) else {
            continue;
        };
        match read.status {
            NodeStatus::Missing => out.push(Finding::new(
                catalog::SPF_INCLUDE_MISSING,
                format!("{via} names {key}, which has no SPF record"),
            )),
            NodeStatus::DnsError => out.push(Finding::new(
                catalog::SPF_DNS_ERROR,
                format!(
                    "the lookup for {key} (reached by {via}) failed ({}); its part of the SPF \
                     result is unknown, not missing",
                    read.detail.clone().unwrap_or_default()
                ),
            )),
            NodeStatus::Syntax => out.push(
                Finding::new(
                    catalog::SPF_SYNTAX,
                    format!(
                        "the SPF record of {key} (reached by {via}) does not parse: {}",
                        read.detail.clone().unwrap_or_default()
                    ),
                )
                .with_evidence(evidence(key, read.record.as_ref())),
            ),
            NodeStatus::MultipleRecords => out.push(Finding::new(
                catalog::SPF_MULTIPLE_RECORDS,
                format!("{key} (reached by {via}) publishes several SPF records"),
            )),
            _ => {}
        }
    }
    for seen in &totals.loops {
        out.push(Finding::new(
            catalog::SPF_INCLUDE_LOOP,
            format!("{} loops back: {}", seen.via, seen.path),
        ));
    }
    let has_loop = !totals.loops.is_empty();

    if !has_loop {
        let at_least = if section.complete { "" } else { "at least " };
        if section.lookups > MAX_DNS_TERMS {
            out.push(
                Finding::new(
                    catalog::SPF_TOO_MANY_LOOKUPS,
                    format!(
                        "{domain}'s SPF needs {at_least}{} DNS-querying terms through its \
                         include tree; receivers stop at {MAX_DNS_TERMS} and return permerror",
                        section.lookups
                    ),
                )
                .with_fix(cost_fix(root))
                .with_evidence(evidence(domain, root.record.as_ref())),
            );
        } else if section.lookups >= MAX_DNS_TERMS - 1 {
            out.push(
                Finding::new(
                    catalog::SPF_LOOKUPS_NEAR_LIMIT,
                    format!(
                        "{domain}'s SPF needs {at_least}{} of the {MAX_DNS_TERMS} DNS lookups \
                         allowed",
                        section.lookups
                    ),
                )
                .with_fix(cost_fix(root)),
            );
        }
    }
    if section.void_lookups > MAX_VOID_LOOKUPS {
        let mut terms = Vec::new();
        for (key, _) in &totals.order {
            if let Some(read) = graph.records.get(key) {
                terms.extend(
                    graph
                        .void_terms(read)
                        .into_iter()
                        .map(|t| format!("{t} (in {key})")),
                );
            }
        }
        out.push(Finding::new(
            catalog::SPF_VOID_LOOKUPS,
            format!(
                "{} lookups find no such name or no data: {}",
                section.void_lookups,
                terms.join(", ")
            ),
        ));
    }
    let fix_all = |ending: &str| {
        format!(
            "Publish: {}",
            replace_all(&record, ending).unwrap_or_else(|| format!("{record} -all"))
        )
    };
    match section.all.as_str() {
        "+all" => out.push(
            Finding::new(
                catalog::SPF_PLUS_ALL,
                format!(
                    "{domain}'s SPF ends in {}: every IP address passes",
                    section.all
                ),
            )
            .with_fix(fix_all("-all"))
            .with_evidence(evidence(domain, root.record.as_ref())),
        ),
        "?all" => out.push(
            Finding::new(
                catalog::SPF_NEUTRAL_ALL,
                format!("{domain}'s SPF ends in ?all"),
            )
            .with_fix(fix_all("-all"))
            .with_evidence(evidence(domain, root.record.as_ref())),
        ),
        "~all" => out.push(Finding::new(
            catalog::SPF_SOFTFAIL_ALL,
            format!("{domain}'s SPF ends in ~all"),
        )),
        "none" if SpfRecord::parse(record.as_bytes()).is_ok_and(|r| r.redirect.is_none()) => out
            .push(
                Finding::new(
                    catalog::SPF_NO_ALL,
                    format!("{domain}'s SPF has neither an all term nor redirect="),
                )
                .with_fix(format!("Publish: {record} -all"))
                .with_evidence(evidence(domain, root.record.as_ref())),
            ),
        _ => {}
    }
    let ptr_in: Vec<&str> = totals
        .order
        .iter()
        .filter(|(key, _)| {
            graph
                .records
                .get(key)
                .and_then(|r| r.parsed.as_ref())
                .is_some_and(uses_ptr)
        })
        .map(|(key, _)| key.as_str())
        .collect();
    if !ptr_in.is_empty() {
        out.push(Finding::new(
            catalog::SPF_PTR_USED,
            format!(
                "the ptr mechanism is used in the SPF record of {}",
                ptr_in.join(", ")
            ),
        ));
    }
    if let Some(detail) = &root.detail {
        out.push(Finding::new(
            catalog::SPF_STRING_TOO_LONG,
            format!("{domain}'s SPF record has {detail}; DNS allows at most {MAX_STRING}"),
        ));
    }
    if record.len() > RECORD_SOFT_LIMIT {
        out.push(Finding::new(
            catalog::SPF_RECORD_TOO_LONG,
            format!("{domain}'s SPF record is {} bytes long", record.len()),
        ));
    }
    out.extend(walk_limit(section, max_nodes, domain));
    out
}

/// `spf.walk_limit` when `--max-spf-nodes` cut the walk or the tree short.
fn walk_limit(section: &SpfSection, max_nodes: usize, domain: &str) -> Option<Finding> {
    let mut omitted = 0usize;
    visit(&section.tree, &mut |n| {
        omitted = omitted.saturating_add(n.omitted)
    });
    let detail = if !section.complete {
        format!(
            "{domain}'s SPF tree has more than {max_nodes} records or a/mx/exists targets, \
             the most the audit reads (--max-spf-nodes); the rest was not fetched, so it \
             needs at least {} lookups and {} void lookups, and the SPF result is undecided",
            section.lookups, section.void_lookups
        )
    } else if omitted > 0 {
        format!(
            "{domain}'s SPF tree has more nodes than the {max_nodes} shown (--max-spf-nodes); \
             {omitted} branches are left out of the tree but counted in its lookups"
        )
    } else {
        return None;
    };
    Some(Finding::new(catalog::SPF_WALK_LIMIT, detail))
}

fn uses_ptr(record: &SpfRecord) -> bool {
    record
        .directives
        .iter()
        .any(|d| matches!(d.mechanism, Mechanism::Ptr(_)))
}

/// The record with its `all` term's qualifier replaced.
fn replace_all(record: &str, ending: &str) -> Option<String> {
    let parsed = SpfRecord::parse(record.as_bytes()).ok()?;
    let all = parsed
        .directives
        .iter()
        .find(|d| d.mechanism == Mechanism::All)?;
    let start = all.span.position;
    let end = start + all.span.text.len();
    Some(format!("{}{ending}{}", &record[..start], &record[end..]))
}

/// What each include and redirect costs, so the owner sees what to flatten.
fn cost_fix(root: &Node) -> String {
    let mut parts: Vec<String> = root
        .children
        .iter()
        .map(|c| {
            format!(
                "{} costs {}",
                c.via.clone().unwrap_or_default(),
                c.lookups.saturating_add(1)
            )
        })
        .collect();
    parts.sort();
    if root.omitted > 0 {
        parts.push(format!("{} more not shown", root.omitted));
    }
    format!(
        "Bring the total to {MAX_DNS_TERMS} or fewer: remove includes of services you no \
         longer use, replace a/mx terms by ip4:/ip6: ranges, or ask a provider for a \
         flatter include. Per include: {}.",
        parts.join("; ")
    )
}
