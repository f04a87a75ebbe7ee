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
//! Children at one depth are fetched concurrently, so the audit takes as
//! many round trips as the tree is deep.

use super::{AuditContext, Checked};
use crate::dns::{Answer, DnsError, Rcode, Resolver};
use crate::findings::Finding;
use crate::spf::eval::{MAX_DNS_TERMS, MAX_VOID_LOOKUPS};
use crate::spf::macros::MacroString;
use crate::spf::record::{Mechanism, Qualifier, SpfRecord, is_spf1};
use futures_util::future::join_all;
use hickory_proto::rr::RecordType;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// A TXT character-string cannot be longer on the wire (RFC 1035 §3.3).
const MAX_STRING: usize = 255;
/// Above this a record risks not fitting a 512-octet UDP answer
/// (RFC 7208 §3.4).
const RECORD_SOFT_LIMIT: usize = 450;
/// Depth at which the walk stops, well past any legitimate tree.
const MAX_DEPTH: usize = 12;

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
}

impl SpfSection {
    /// What a failed lookup left undecided, in a few words; `None` when
    /// every question this check rests on was answered.
    pub fn undecided(&self) -> Option<String> {
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
    /// The tree is deeper than any legitimate setup; the walk stopped.
    TooDeep,
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
    let (tree, type99) = tokio::join!(walk(cx.resolver, domain.clone(), None, Vec::new()), type99);
    let type99_record = type99.is_ok_and(|a| !a.is_empty_of(RecordType::from(99)));
    let section = summarize(tree, type99_record);
    let findings = findings(&section, &domain);
    Checked { section, findings }
}

fn summarize(tree: Node, type99_record: bool) -> SpfSection {
    let mut void = 0;
    visit(&tree, &mut |n| void += n.void.len());
    let all = effective_all(&tree);
    SpfSection {
        status: tree.status,
        record: tree.record.clone(),
        lookups: tree.lookups,
        void_lookups: void,
        all,
        tree,
        type99_record,
    }
}

fn visit<'a>(node: &'a Node, f: &mut impl FnMut(&'a Node)) {
    f(node);
    for c in &node.children {
        visit(c, f);
    }
}

/// The `all` that ends evaluation: the record's own, else its redirect's.
fn effective_all(node: &Node) -> String {
    let Some(record) = node
        .record
        .as_deref()
        .and_then(|r| SpfRecord::parse(r.as_bytes()).ok())
    else {
        return "none".into();
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
    node.children
        .iter()
        .find(|c| c.via.as_deref().is_some_and(|v| v.starts_with("redirect=")))
        .map_or_else(|| "none".into(), effective_all)
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

/// Builds the node for `domain` and, concurrently, its children.
fn walk(
    resolver: &Resolver,
    domain: String,
    via: Option<String>,
    path: Vec<String>,
) -> Pin<Box<dyn Future<Output = Node> + Send + '_>> {
    Box::pin(async move {
        let mut node = Node {
            domain: domain.clone(),
            via,
            status: NodeStatus::Ok,
            record: None,
            lookups: 0,
            void: Vec::new(),
            detail: None,
            children: Vec::new(),
        };
        let key = domain.trim_end_matches('.').to_ascii_lowercase();
        if path.contains(&key) {
            node.status = NodeStatus::Loop;
            node.detail = Some(format!("{} → {key}", path.join(" → ")));
            return node;
        }
        if path.len() >= MAX_DEPTH {
            node.status = NodeStatus::TooDeep;
            return node;
        }
        let (text, strings) = match fetch(resolver, &domain).await {
            Fetched::Record { text, strings } => (text, strings),
            Fetched::Missing => {
                node.status = NodeStatus::Missing;
                return node;
            }
            Fetched::Multiple(records) => {
                node.status = NodeStatus::MultipleRecords;
                node.detail = Some(records.join(" | "));
                return node;
            }
            Fetched::Failed(e) => {
                node.status = NodeStatus::DnsError;
                node.detail = Some(e.to_string());
                return node;
            }
        };
        node.record = Some(text.clone());
        if let Some(long) = strings.iter().find(|l| **l > MAX_STRING) {
            node.detail = Some(format!("a character-string of {long} bytes"));
        }
        let record = match SpfRecord::parse(text.as_bytes()) {
            Ok(r) => r,
            Err(e) => {
                node.status = NodeStatus::Syntax;
                node.detail = Some(format!(
                    "`{}` at position {}: {}",
                    e.term, e.position, e.message
                ));
                return node;
            }
        };
        let mut path = path;
        path.push(key);
        let mut children = Vec::new();
        let mut void_checks = Vec::new();
        for d in &record.directives {
            if d.mechanism.queries_dns() {
                node.lookups += 1;
            }
            match &d.mechanism {
                Mechanism::Include(spec) => {
                    children.push((format!("include:{}", spec.text), literal(spec)));
                }
                Mechanism::A { domain: spec, .. } => {
                    void_checks.push((
                        d.span.text.clone(),
                        target(spec.as_ref(), &domain),
                        VoidKind::Address,
                    ));
                }
                Mechanism::Mx { domain: spec, .. } => {
                    void_checks.push((
                        d.span.text.clone(),
                        target(spec.as_ref(), &domain),
                        VoidKind::Mx,
                    ));
                }
                Mechanism::Exists(spec) => {
                    void_checks.push((d.span.text.clone(), literal(spec), VoidKind::A));
                }
                _ => {}
            }
        }
        if let Some((spec, _)) = &record.redirect {
            node.lookups += 1;
            children.push((format!("redirect={}", spec.text), literal(spec)));
        }
        let child_walks = children.into_iter().map(|(via, target)| {
            let path = path.clone();
            async move {
                match target {
                    Some(t) => walk(resolver, t, Some(via), path).await,
                    None => not_followed(via),
                }
            }
        });
        let voids = void_checks
            .into_iter()
            .map(|(term, target, kind)| async move {
                let void = match target {
                    Some(t) => is_void(resolver, &t, kind).await,
                    None => false,
                };
                void.then_some(term)
            });
        let (children, voids) = tokio::join!(join_all(child_walks), join_all(voids));
        node.void = voids.into_iter().flatten().collect();
        node.lookups += children.iter().map(|c| c.lookups).sum::<usize>();
        node.children = children;
        node
    })
}

fn not_followed(via: String) -> Node {
    Node {
        domain: via
            .split_once([':', '='])
            .map_or(via.clone(), |(_, d)| d.to_string()),
        via: Some(via),
        status: NodeStatus::NotFollowed,
        record: None,
        lookups: 0,
        void: Vec::new(),
        detail: Some("the target uses macros that need a message to expand".into()),
        children: Vec::new(),
    }
}

/// The domain a macro-free domain-spec names.
fn literal(spec: &MacroString) -> Option<String> {
    (!spec.text.contains('%')).then(|| spec.text.trim_end_matches('.').to_string())
}

fn target(spec: Option<&MacroString>, current: &str) -> Option<String> {
    match spec {
        Some(s) => literal(s),
        None => Some(current.to_string()),
    }
}

#[derive(Debug, Clone, Copy)]
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

/// The findings the section implies (FINDINGS.md, SPF table and rules).
pub fn findings(section: &SpfSection, domain: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = &section.tree;
    let evidence = |n: &Node| -> Vec<String> {
        n.record
            .iter()
            .map(|r| format!("{} TXT \"{r}\"", n.domain))
            .collect()
    };
    if section.type99_record {
        out.push(Finding::new(
            "spf.deprecated_rr_type",
            format!("{domain} has a DNS record of type SPF (99); only TXT is used since RFC 7208"),
        ));
    }
    match root.status {
        NodeStatus::Missing => {
            out.push(
                Finding::new(
                    "spf.missing",
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
                "spf.multiple_records",
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
                    "spf.syntax",
                    format!(
                        "the SPF record of {domain} does not parse: {}",
                        root.detail.clone().unwrap_or_default()
                    ),
                )
                .with_evidence(evidence(root)),
            );
            return out;
        }
        NodeStatus::DnsError => {
            out.push(Finding::new(
                "spf.dns_error",
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

    // Problems below the root, each reported once for its branch.
    let mut has_loop = false;
    visit(root, &mut |n| {
        if n.via.is_none() {
            return;
        }
        let via = n.via.clone().unwrap_or_default();
        match n.status {
            NodeStatus::Loop => {
                has_loop = true;
                out.push(Finding::new(
                    "spf.include_loop",
                    format!("{via} loops back: {}", n.detail.clone().unwrap_or_default()),
                ));
            }
            NodeStatus::Missing => out.push(Finding::new(
                "spf.include_missing",
                format!("{via} names {}, which has no SPF record", n.domain),
            )),
            NodeStatus::DnsError => out.push(Finding::new(
                "spf.dns_error",
                format!(
                    "the lookup for {} (reached by {via}) failed ({}); its part of the SPF \
                     result is unknown, not missing",
                    n.domain,
                    n.detail.clone().unwrap_or_default()
                ),
            )),
            NodeStatus::Syntax => out.push(
                Finding::new(
                    "spf.syntax",
                    format!(
                        "the SPF record of {} (reached by {via}) does not parse: {}",
                        n.domain,
                        n.detail.clone().unwrap_or_default()
                    ),
                )
                .with_evidence(evidence(n)),
            ),
            NodeStatus::MultipleRecords => out.push(Finding::new(
                "spf.multiple_records",
                format!(
                    "{} (reached by {via}) publishes several SPF records",
                    n.domain
                ),
            )),
            _ => {}
        }
    });

    if !has_loop {
        if section.lookups > MAX_DNS_TERMS {
            out.push(
                Finding::new(
                    "spf.too_many_lookups",
                    format!(
                        "{domain}'s SPF needs {} DNS-querying terms through its include tree; \
                         receivers stop at {MAX_DNS_TERMS} and return permerror",
                        section.lookups
                    ),
                )
                .with_fix(cost_fix(root))
                .with_evidence(evidence(root)),
            );
        } else if section.lookups >= MAX_DNS_TERMS - 1 {
            out.push(
                Finding::new(
                    "spf.lookups_near_limit",
                    format!(
                        "{domain}'s SPF needs {} of the {MAX_DNS_TERMS} DNS lookups allowed",
                        section.lookups
                    ),
                )
                .with_fix(cost_fix(root)),
            );
        }
    }
    if section.void_lookups > MAX_VOID_LOOKUPS {
        let mut terms = Vec::new();
        visit(root, &mut |n| {
            terms.extend(n.void.iter().map(|t| format!("{t} (in {})", n.domain)))
        });
        out.push(Finding::new(
            "spf.void_lookups",
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
                "spf.plus_all",
                format!(
                    "{domain}'s SPF ends in {}: every IP address passes",
                    section.all
                ),
            )
            .with_fix(fix_all("-all"))
            .with_evidence(evidence(root)),
        ),
        "?all" => out.push(
            Finding::new("spf.neutral_all", format!("{domain}'s SPF ends in ?all"))
                .with_fix(fix_all("-all"))
                .with_evidence(evidence(root)),
        ),
        "~all" => out.push(Finding::new(
            "spf.softfail_all",
            format!("{domain}'s SPF ends in ~all"),
        )),
        "none" if SpfRecord::parse(record.as_bytes()).is_ok_and(|r| r.redirect.is_none()) => out
            .push(
                Finding::new(
                    "spf.no_all",
                    format!("{domain}'s SPF has neither an all term nor redirect="),
                )
                .with_fix(format!("Publish: {record} -all"))
                .with_evidence(evidence(root)),
            ),
        _ => {}
    }
    let mut ptr_in = Vec::new();
    visit(root, &mut |n| {
        if n.record.as_deref().is_some_and(uses_ptr) {
            ptr_in.push(n.domain.clone());
        }
    });
    if !ptr_in.is_empty() {
        out.push(Finding::new(
            "spf.ptr_used",
            format!(
                "the ptr mechanism is used in the SPF record of {}",
                ptr_in.join(", ")
            ),
        ));
    }
    if let Some(detail) = &root.detail {
        out.push(Finding::new(
            "spf.string_too_long",
            format!("{domain}'s SPF record has {detail}; DNS allows at most {MAX_STRING}"),
        ));
    }
    if record.len() > RECORD_SOFT_LIMIT {
        out.push(Finding::new(
            "spf.record_too_long",
            format!("{domain}'s SPF record is {} bytes long", record.len()),
        ));
    }
    out
}

fn uses_ptr(record: &str) -> bool {
    SpfRecord::parse(record.as_bytes()).is_ok_and(|r| {
        r.directives
            .iter()
            .any(|d| matches!(d.mechanism, Mechanism::Ptr(_)))
    })
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
                c.lookups + 1
            )
        })
        .collect();
    parts.sort();
    format!(
        "Bring the total to {MAX_DNS_TERMS} or fewer: remove includes of services you no \
         longer use, replace a/mx terms by ip4:/ip6: ranges, or ask a provider for a \
         flatter include. Per include: {}.",
        parts.join("; ")
    )
}
