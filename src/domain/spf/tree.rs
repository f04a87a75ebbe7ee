//! The SPF tree as the report shows it: each walked record expanded where
//! a depth-first reading first meets it, a `repeated` node carrying only
//! its cost where it comes again, a `loop` node where a name comes back on
//! its own path, `not_followed` for macro targets, at most `--max-spf-nodes`
//! nodes (the rest counted in their parent's `omitted`).

use super::cost::{Totals, path_text};
use super::walk::Graph;
use super::{MAX_DEPTH, Node, NodeStatus};
use std::collections::HashSet;

/// Builds the tree of the report from the walk: each record expanded once,
/// at most `room` nodes.
pub(super) struct Shown<'g> {
    graph: &'g Graph,
    totals: &'g Totals,
    expanded: HashSet<&'g str>,
    room: usize,
}

impl<'g> Shown<'g> {
    pub(super) fn tree(graph: &'g Graph, totals: &'g Totals, max_nodes: usize) -> Node {
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
