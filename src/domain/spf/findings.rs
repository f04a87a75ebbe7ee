//! The findings of the SPF audit: which problems the walk, the record and
//! its lookup and void counts show — no or several records, syntax, DNS
//! failures, targets without a record, loops, the 10-lookup and 2-void
//! limits (RFC 7208 §4.6.4), an mx term naming more than 10 hosts
//! (§4.6.4, which `check_host()` fails), the ending (`+all`, `?all`,
//! `~all`, none), terms after `all` (§5.1, §6.1), `ptr` (§5.5), an `exp=`
//! without exactly one TXT record (§6.2), Sender ID records beside or
//! instead of SPF, over-long strings and records, and a walk cut short.
//!
//! Size is not content: an over-long string or record is reported whether
//! or not the record parses, since both must be fixed before publishing.

use super::cost::Totals;
use super::walk::{Graph, Read};
use super::{ExpTarget, MAX_STRING, Node, NodeStatus, RECORD_SOFT_LIMIT, SpfSection, visit};
use crate::findings::Finding;
use crate::findings::catalog;
use crate::spf::limits::{MAX_DNS_TERMS, MAX_NAMES_PER_TERM, MAX_VOID_LOOKUPS};
use crate::spf::record::{Mechanism, SpfRecord};

/// The findings the section implies: one per problem the walk, the record
/// and its lookup and void counts show.
pub(super) fn findings(
    section: &SpfSection,
    graph: &Graph,
    totals: &Totals,
    exp: Option<&ExpTarget>,
    domain: &str,
    max_nodes: usize,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = &section.tree;
    let root_read = graph.records.get(&graph.root);
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
    if let Some(read) = root_read.filter(|r| !r.sender_id.is_empty()) {
        out.push(sender_id(domain, read));
    }
    match root.status {
        NodeStatus::Missing => {
            out.push(
                Finding::new(
                    catalog::SPF_MISSING,
                    format!("{domain} has no TXT record starting with v=spf1"),
                )
                .with_fix(format!(
                    "Publish one TXT record at {domain}: {}",
                    sender_list(domain)
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
            out.extend(size_findings(domain, root_read));
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
    // The record (`parsed` is its parse) ending in -all, as the fix and
    // its record; a record that would then authorise nobody is no fix to
    // paste.
    let ending_in_fail = |parsed: &SpfRecord, finding: Finding| {
        let finding = finding.with_evidence(evidence(domain, root.record.as_ref()));
        if authorises_nobody(parsed) {
            return finding.with_fix(format!(
                "List your senders before the all term: {}",
                sender_list(domain)
            ));
        }
        let fixed = with_fail_all(&record, parsed);
        finding
            .with_fix(format!("Publish: {fixed}"))
            .publishing(domain, "TXT", fixed)
    };
    // An ending other than none is read from a parsed root record (or the
    // records its redirect= leads to).
    let root_parsed = root_read.and_then(|r| r.parsed.as_ref());
    match (section.all.as_str(), root_parsed) {
        ("+all", Some(parsed)) => out.push(ending_in_fail(
            parsed,
            Finding::new(
                catalog::SPF_PLUS_ALL,
                format!(
                    "{domain}'s SPF ends in {}: every IP address passes",
                    section.all
                ),
            ),
        )),
        ("?all", Some(parsed)) => out.push(ending_in_fail(
            parsed,
            Finding::new(
                catalog::SPF_NEUTRAL_ALL,
                format!("{domain}'s SPF ends in ?all"),
            ),
        )),
        ("~all", _) => out.push(Finding::new(
            catalog::SPF_SOFTFAIL_ALL,
            format!("{domain}'s SPF ends in ~all"),
        )),
        ("none", Some(parsed)) if parsed.redirect.is_none() => out.push(ending_in_fail(
            parsed,
            Finding::new(
                catalog::SPF_NO_ALL,
                format!("{domain}'s SPF has neither an all term nor redirect="),
            ),
        )),
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
    for (key, _) in &totals.order {
        let Some(read) = graph.records.get(key) else {
            continue;
        };
        for (term, hosts) in graph.mx_over_limit(read) {
            out.push(Finding::new(
                catalog::SPF_MX_TOO_MANY_HOSTS,
                format!(
                    "`{term}` in the SPF record of {key} names a domain with {hosts} MX hosts; \
                     an mx term may look at no more than {MAX_NAMES_PER_TERM}, so receivers \
                     return permerror when they reach it"
                ),
            ));
        }
        if let Some(detail) = read.parsed.as_ref().and_then(never_evaluated) {
            out.push(
                Finding::new(
                    catalog::SPF_TERMS_AFTER_ALL,
                    format!("in the SPF record of {key}, {detail}"),
                )
                .with_evidence(evidence(key, read.record.as_ref())),
            );
        }
    }
    if let Some(exp) = exp {
        out.push(
            Finding::new(
                catalog::SPF_EXP_UNUSABLE,
                format!(
                    "{} names {}, which has {}; receivers use their default explanation",
                    exp.term,
                    exp.target,
                    match exp.records {
                        0 => "no TXT record".to_string(),
                        n => format!("{n} TXT records, where exactly one is needed"),
                    }
                ),
            )
            .with_fix(format!(
                "Publish exactly one TXT record at {} with the text receivers should quote, \
                 or remove {} from the record of {domain}.",
                exp.target, exp.term
            )),
        );
    }
    out.extend(size_findings(domain, root_read));
    out.extend(walk_limit(section, max_nodes, domain));
    out
}

/// The record's own size problems, which do not depend on its syntax.
fn size_findings(domain: &str, read: Option<&Read>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(read) = read else {
        return out;
    };
    if let Some(long) = read.long_string {
        out.push(Finding::new(
            catalog::SPF_STRING_TOO_LONG,
            format!(
                "{domain}'s SPF record has a character-string of {long} bytes; DNS allows at \
                 most {MAX_STRING}"
            ),
        ));
    }
    let length = read.record.as_ref().map_or(0, String::len);
    if length > RECORD_SOFT_LIMIT {
        out.push(Finding::new(
            catalog::SPF_RECORD_TOO_LONG,
            format!("{domain}'s SPF record is {length} bytes long"),
        ));
    }
    out
}

/// Sender ID records beside or instead of the SPF record.
fn sender_id(domain: &str, read: &Read) -> Finding {
    let alone = read.status == NodeStatus::Missing;
    Finding::new(
        catalog::SPF_SENDER_ID,
        format!(
            "{domain} publishes a Sender ID record ({}){}",
            read.sender_id.join(" | "),
            if alone {
                " and no SPF record; receivers read only v=spf1 records"
            } else {
                " beside its SPF record; receivers ignore it"
            }
        ),
    )
    .with_fix(format!(
        "Delete the TXT record{} at {domain} that start{} with spf2.0/{}",
        if read.sender_id.len() == 1 { "" } else { "s" },
        if read.sender_id.len() == 1 { "s" } else { "" },
        if alone {
            "; publish one v=spf1 record instead"
        } else {
            ""
        }
    ))
    .with_evidence(
        read.sender_id
            .iter()
            .map(|t| format!("{domain} TXT \"{t}\"")),
    )
}

/// What evaluation never reaches (RFC 7208 §5.1, §6.1): mechanisms after
/// `all`, and a `redirect=` beside an `all`.
fn never_evaluated(record: &SpfRecord) -> Option<String> {
    let all = record
        .directives
        .iter()
        .position(|d| d.mechanism == Mechanism::All)?;
    let after: Vec<&str> = record.directives[all + 1..]
        .iter()
        .map(|d| d.span.text.as_str())
        .collect();
    let all_term = &record.directives[all].span.text;
    let mut parts = Vec::new();
    if !after.is_empty() {
        parts.push(format!(
            "{} after `{all_term}` {} never tested",
            after
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if after.len() == 1 { "is" } else { "are" }
        ));
    }
    if let Some((_, span)) = &record.redirect {
        parts.push(format!("`{}` is ignored beside `{all_term}`", span.text));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
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

/// The record to write when the domain's senders are not known from its
/// record: a template naming them, and the record of a domain that sends
/// no mail.
fn sender_list(domain: &str) -> String {
    format!(
        "v=spf1 mx include:<your email provider's SPF domain> -all (list every \
         service that sends as {domain}; `v=spf1 -all` only if the domain sends no \
         mail, since it makes SPF fail for every server)."
    )
}

/// Whether a record passes no server at all: nothing but `all` terms and no
/// redirect=. Published with `-all` (its `all` replaced or added, which
/// changes neither), it fails all the domain's mail.
fn authorises_nobody(parsed: &SpfRecord) -> bool {
    parsed.redirect.is_none()
        && parsed
            .directives
            .iter()
            .all(|d| d.mechanism == Mechanism::All)
}

/// The record (`parsed` is its parse) with its `all` term made `-all`, or
/// `-all` added when it has none (RFC 7208 §5.1: it then ends in an
/// implicit `?all`).
fn with_fail_all(record: &str, parsed: &SpfRecord) -> String {
    match parsed
        .directives
        .iter()
        .find(|d| d.mechanism == Mechanism::All)
    {
        Some(all) => {
            let start = all.span.position;
            let end = start + all.span.text.len();
            format!("{}-all{}", &record[..start], &record[end..])
        }
        None => format!("{record} -all"),
    }
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
