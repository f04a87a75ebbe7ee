//! The costs of the SPF tree: what `check_host()` counts on every path
//! through each walked name — DNS-querying terms and void lookups
//! (RFC 7208 §4.6.4) — each name's subtree summed once, and the includes
//! and redirects that loop back to a name on their own path.

use super::MAX_DEPTH;
use super::walk::Graph;
use std::collections::{HashMap, HashSet};

/// What a name's subtree costs on every path through it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Cost {
    pub(super) lookups: usize,
    pub(super) void: usize,
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
pub(super) struct LoopSeen {
    pub(super) via: String,
    /// The path from the domain looped to, back to it.
    pub(super) path: String,
}

/// The cost of every walked name's subtree, from one depth-first reading
/// of the records: a name is summed once and reused wherever it comes
/// again, and a term that leads back to a name on its own path (a loop)
/// adds nothing. Also the order in which names are first met, how, and
/// the loops.
pub(super) struct Totals {
    cost: HashMap<String, Cost>,
    /// Names in the order first met, with the term that first led there.
    pub(super) order: Vec<(String, Option<String>)>,
    /// One per name looped back to.
    pub(super) loops: Vec<LoopSeen>,
}

impl Totals {
    pub(super) fn of(graph: &Graph) -> Totals {
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

    pub(super) fn of_name(&self, key: &str) -> Cost {
        self.cost.get(key).copied().unwrap_or_default()
    }
}

/// Names joined by arrows; a long path keeps its ends.
pub(super) fn path_text(names: &[&str]) -> String {
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
