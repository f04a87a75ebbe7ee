//! Who a source IP is: its PTR name (RFC 1035 §3.5, RFC 3596 §2.5),
//! believed only when it resolves back to the IP (forward-confirmed, as
//! iprev does, RFC 8601 §3), and that name's organizational domain (Public
//! Suffix List).
//!
//! Every question goes through the resolver layer ([`crate::dns`]): each IP
//! is asked once, at most `concurrency` at a time, the IPs that sent the
//! most mail first and at most `max_lookups` of them, so a report of
//! thousands of IPs costs a bounded number of questions. A failed lookup is
//! [`ReverseDns::Failed`] — unknown, never "no PTR".

use crate::dns::{Rcode, Resolver};
use futures_util::StreamExt;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;

/// PTR names checked for one IP (an IP rarely has more than one).
const MAX_PTR_NAMES: usize = 3;

/// What reverse DNS says about one IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReverseDns {
    /// A PTR name that resolves back to the IP.
    Confirmed { name: String },
    /// A PTR name that does not resolve back: anyone can write any PTR
    /// name for addresses they hold, so it identifies nothing.
    Unconfirmed { name: String },
    /// No PTR record.
    Missing,
    /// A lookup failed: the answer is unknown.
    Failed { error: String },
    /// Not asked: beyond the lookup cap.
    NotAsked,
}

impl ReverseDns {
    /// The forward-confirmed name, if any.
    pub fn confirmed(&self) -> Option<&str> {
        match self {
            ReverseDns::Confirmed { name } => Some(name),
            _ => None,
        }
    }

    /// The PTR name, confirmed or not.
    pub fn name(&self) -> Option<&str> {
        match self {
            ReverseDns::Confirmed { name } | ReverseDns::Unconfirmed { name } => Some(name),
            _ => None,
        }
    }
}

/// Reverse DNS of the IPs of a set of reports.
pub type ReverseMap = HashMap<IpAddr, ReverseDns>;

/// The organizational domain of a name: its registrable domain by the
/// Public Suffix List, or the name itself when it is a public suffix.
pub fn organizational_domain(name: &str) -> String {
    let name = super::aggregate::domain_key(name);
    psl::domain_str(&name).map_or_else(|| name.clone(), str::to_string)
}

/// The distinct source IPs of the `(IP, messages)` pairs (an IP may
/// come more than once: its messages are summed), the ones that sent the
/// most first (ties by address, so the order is stable).
pub fn ips_by_volume(volumes: impl Iterator<Item = (IpAddr, u64)>) -> Vec<IpAddr> {
    let mut volume: HashMap<IpAddr, u64> = HashMap::new();
    for (ip, messages) in volumes {
        let sum = volume.entry(ip).or_default();
        *sum = sum.saturating_add(messages);
    }
    let mut ips: Vec<(IpAddr, u64)> = volume.into_iter().collect();
    ips.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ips.into_iter().map(|(ip, _)| ip).collect()
}

/// Looks up the first `max_lookups` IPs, `concurrency` at a time; the rest
/// are [`ReverseDns::NotAsked`].
pub async fn reverse_dns(
    resolver: &Resolver,
    ips: &[IpAddr],
    max_lookups: usize,
    concurrency: usize,
) -> ReverseMap {
    let (asked, skipped) = ips.split_at(ips.len().min(max_lookups));
    let mut map: ReverseMap = futures_util::stream::iter(asked.iter().copied())
        .map(|ip| async move { (ip, reverse_one(resolver, ip).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    map.extend(skipped.iter().map(|ip| (*ip, ReverseDns::NotAsked)));
    map
}

async fn reverse_one(resolver: &Resolver, ip: IpAddr) -> ReverseDns {
    let answer = match resolver.reverse(ip).await {
        Ok(answer) => answer,
        Err(e) => {
            return ReverseDns::Failed {
                error: e.to_string(),
            };
        }
    };
    let mut names: Vec<Name> = answer.ptr();
    if answer.rcode == Rcode::NXDomain || names.is_empty() {
        return ReverseDns::Missing;
    }
    names.sort();
    names.truncate(MAX_PTR_NAMES);
    let forward = if ip.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    let mut failure = None;
    for name in &names {
        match resolver.lookup(name, forward).await {
            Ok(answer) => {
                let back = match ip {
                    IpAddr::V4(v4) => answer.ipv4().contains(&v4),
                    IpAddr::V6(v6) => answer.ipv6().contains(&v6),
                };
                if back {
                    return ReverseDns::Confirmed {
                        name: written(name),
                    };
                }
            }
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        Some(e) => ReverseDns::Failed {
            error: e.to_string(),
        },
        None => ReverseDns::Unconfirmed {
            name: written(&names[0]),
        },
    }
}

/// A name as reports show it: lower-case, no final dot.
fn written(name: &Name) -> String {
    super::aggregate::domain_key(&name.to_ascii())
}
