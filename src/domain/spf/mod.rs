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
//! ending (`+all`, `?all`, `~all`, none), mx terms naming more than 10
//! hosts, terms after `all`, an `exp=` target without exactly one TXT
//! record and Sender ID records. The limits are [`crate::spf::limits`],
//! the evaluator's own. It parses with the same strict
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
use super::protocol::{Audited, Protocol, status_word};
use crate::dns::{DnsError, Resolver};
use crate::findings::Checked;
use crate::spf::record::{Mechanism, Qualifier, is_spf1};
use cost::Totals;
use findings::findings;
use hickory_proto::rr::RecordType;
use serde::Serialize;
use std::collections::HashSet;
use tree::Shown;
use walk::{Edge, Graph, crawl, literal};

mod cost;
mod findings;
mod tree;
mod walk;

use crate::dns::MAX_CHARACTER_STRING as MAX_STRING;
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

/// SPF: the TXT record at the domain itself (RFC 7208 §3).
pub static PROTOCOL: Protocol = Protocol::at("spf", "SPF", "", "TXT");

impl Audited for SpfSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
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
    let exp = exp_target(cx.resolver, &graph).await;
    let findings = findings(&section, &graph, &totals, exp.as_ref(), &domain, max_nodes);
    Checked { section, findings }
}

/// An `exp=` of the domain's own record whose domain holds no TXT record or
/// several (RFC 7208 §6.2: receivers then use their default explanation).
pub(super) struct ExpTarget {
    /// The modifier as written.
    term: String,
    target: String,
    /// TXT records found there.
    records: usize,
}

/// Looks up the domain's own `exp=` target. Included records' `exp=` are
/// never used (§6.2), a target with macros needs a message to expand, and
/// a failed lookup leaves it unknown: none of these is judged.
async fn exp_target(resolver: &Resolver, graph: &Graph) -> Option<ExpTarget> {
    let record = graph.records.get(&graph.root)?.parsed.as_ref()?;
    let (spec, span) = record.exp.as_ref()?;
    let target = literal(spec)?;
    let records = match crate::spf::eval::dns_name(&target) {
        Some(name) => resolver
            .lookup(&name, RecordType::TXT)
            .await
            .ok()?
            .txt()
            .len(),
        None => 0,
    };
    (records != 1).then(|| ExpTarget {
        term: span.text.clone(),
        target,
        records,
    })
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

/// Fetches a domain's SPF record, and the Sender ID records (`spf2.0/…`,
/// RFC 4406) published beside it.
async fn fetch(resolver: &Resolver, domain: &str) -> (Fetched, Vec<String>) {
    let Some(name) = crate::spf::eval::dns_name(domain) else {
        return (Fetched::Missing, Vec::new());
    };
    let answer = match resolver.lookup(&name, RecordType::TXT).await {
        Ok(a) => a,
        Err(e) => return (Fetched::Failed(e), Vec::new()),
    };
    let texts: Vec<Vec<u8>> = answer.txt().into_iter().map(|s| s.concat()).collect();
    let sender_id = texts
        .iter()
        .filter(|t| t.len() > 7 && t[..7].eq_ignore_ascii_case(b"spf2.0/"))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
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
    let fetched = match records.len() {
        0 => Fetched::Missing,
        1 => {
            let (text, strings) = records.remove(0);
            Fetched::Record { text, strings }
        }
        _ => Fetched::Multiple(records.into_iter().map(|(t, _)| t).collect()),
    };
    (fetched, sender_id)
}
