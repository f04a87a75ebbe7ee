//! DNS blocklists (RFC 5782): is the sending IP listed on the lists the
//! deployment asks, and when a list would not say, that it could not be
//! checked.
//!
//! This module decides what a blocklist's answer means. The IP's reversed
//! form (IPv4 octets, IPv6 nibbles, RFC 5782 §2.1 and §2.4) is asked as an
//! A question under each zone, all zones at once, through the request's
//! resolver layer (so every question is traced, counted against the
//! request's budget and answerable from a `--zone` overlay):
//!
//! - NXDOMAIN, or a name without A records: not listed.
//! - A records, all in 127.0.0.0/8 and none in 127.255.255.0/24: listed;
//!   the return codes are shown and the list's TXT record at the same name
//!   is asked for its reason (§2.1).
//! - Any record in 127.255.255.0/24 (Spamhaus: .252 a typo in the list's
//!   name, .254 a query through a public or open resolver, .255 too many
//!   queries) or outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN
//!   into an address of its own): the list refused to answer, so the IP
//!   could not be checked. Never a listing.
//! - A timeout, SERVFAIL or any other DNS failure: could not be checked.
//!
//! Addresses that are not globally reachable (private, loopback,
//! link-local, documentation…: [`crate::records::address::reach`]) are not
//! looked up: no list can hold them and asking would leak the sender's
//! private network to the lists' operators.

use super::envelope::{EnvelopeReport, Source};
use crate::dns::{DnsError, Rcode, Resolver, reversed};
use crate::findings::catalog;
use crate::findings::{Checked, Finding};
use crate::records::address::{Reach, reach};
use crate::records::name::DomainName;
use crate::untrusted;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// The lists `serve` asks when no `--dnsbl` is given: widely used by
/// receivers, free for low-volume queries, and answering an IP (not a
/// domain). Spamhaus refuses queries that reach it through public
/// resolvers (8.8.8.8, 1.1.1.1, 9.9.9.9…) with 127.255.255.254, and
/// Barracuda answers only resolvers registered with it: behind such a
/// resolver they show as "could not check" (README, "DNS blocklists").
pub const DEFAULT_ZONES: &[&str] = &[
    "zen.spamhaus.org",
    "bl.spamcop.net",
    "b.barracudacentral.org",
    "psbl.surriel.com",
];

/// The most lists one report asks: each costs a question (two when
/// listed), out of the request's budget.
pub const MAX_ZONES: usize = 16;

/// The most characters of a list's TXT reason kept in a report.
const REASON_CHARS: usize = 300;

/// The blocklist zones to ask, validated. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocklists {
    zones: Arc<[String]>,
}

impl Blocklists {
    /// No list: the report has no `blocklists` section.
    pub fn none() -> Blocklists {
        Blocklists::default()
    }

    /// [`DEFAULT_ZONES`].
    pub fn defaults() -> Blocklists {
        Blocklists {
            zones: DEFAULT_ZONES.iter().map(|z| z.to_string()).collect(),
        }
    }

    /// The zones given: each a domain name (the word `default` stands for
    /// [`DEFAULT_ZONES`], `none` for no list); duplicates asked once; at
    /// most [`MAX_ZONES`].
    pub fn parse<S: AsRef<str>>(given: &[S]) -> Result<Blocklists, String> {
        let mut zones: Vec<String> = Vec::new();
        for zone in given {
            let zone = zone.as_ref();
            let names: Vec<String> = match zone {
                "none" => Vec::new(),
                "default" => DEFAULT_ZONES.iter().map(|z| z.to_string()).collect(),
                _ => vec![
                    DomainName::parse(zone)
                        .map_err(|e| format!("--dnsbl: {e}"))?
                        .ascii,
                ],
            };
            for name in names {
                if !zones.contains(&name) {
                    zones.push(name);
                }
            }
        }
        if zones.len() > MAX_ZONES {
            return Err(format!(
                "--dnsbl: {} lists given, at most {MAX_ZONES} are asked per message",
                zones.len()
            ));
        }
        Ok(Blocklists {
            zones: zones.into(),
        })
    }

    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

/// What one list said about the IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    Listed,
    NotListed,
    /// The list refused, or DNS failed: unknown, not "not listed".
    Unchecked,
}

/// One list's answer.
#[derive(Debug, Clone, Serialize)]
pub struct BlocklistAnswer {
    pub zone: String,
    /// The name asked.
    pub query: String,
    pub result: Listing,
    /// The A records answered (return codes), for a listing or a refusal.
    pub codes: Vec<Ipv4Addr>,
    /// The list's TXT reason for a listing, or why it could not be
    /// checked; escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `blocklists` section of a message report.
#[derive(Debug, Clone, Serialize)]
pub struct BlocklistSection {
    pub ip: IpAddr,
    /// False when the address is not globally reachable (see `note`).
    pub looked_up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// One entry per list asked, in the configured order.
    pub lists: Vec<BlocklistAnswer>,
}

/// Asks every list about the envelope's IP. `None` when no list is
/// configured or the IP is unknown.
pub async fn check(
    resolver: &Resolver,
    lists: &Blocklists,
    envelope: &EnvelopeReport,
) -> Option<Checked<BlocklistSection>> {
    let ip = envelope.envelope().ip?;
    if lists.is_empty() {
        return None;
    }
    let inferred = envelope.ip.source != Source::Given;
    let reach = reach(ip);
    if reach != Reach::Global {
        let kind = match reach {
            Reach::Documentation => "a documentation address",
            _ => "not reachable from the internet (private, loopback, link-local or reserved)",
        };
        return Some(Checked {
            section: BlocklistSection {
                ip,
                looked_up: false,
                note: Some(format!(
                    "{ip} is {kind}: no blocklist can list it, so none was asked"
                )),
                lists: Vec::new(),
            },
            findings: Vec::new(),
        });
    }
    let answers =
        futures_util::future::join_all(lists.zones().iter().map(|zone| ask(resolver, ip, zone)))
            .await;
    let findings = answers
        .iter()
        .filter_map(|answer| finding(ip, inferred, answer))
        .collect();
    Some(Checked {
        section: BlocklistSection {
            ip,
            looked_up: true,
            note: inferred.then(|| {
                format!("{ip} was read from the message's headers, not given as the envelope")
            }),
            lists: answers,
        },
        findings,
    })
}

/// Asks one list: the A question, then the TXT reason when listed.
async fn ask(resolver: &Resolver, ip: IpAddr, zone: &str) -> BlocklistAnswer {
    let query = format!("{}.{zone}", reversed(ip));
    let answer = |result, codes, reason| BlocklistAnswer {
        zone: zone.to_string(),
        query: query.clone(),
        result,
        codes,
        reason,
    };
    let Ok(name) = Name::from_ascii(format!("{query}.")) else {
        return answer(
            Listing::Unchecked,
            Vec::new(),
            Some("the name to ask is not a valid DNS name".into()),
        );
    };
    let outcome = resolver.lookup(&name, RecordType::A).await;
    match outcome {
        Err(e) => answer(Listing::Unchecked, Vec::new(), Some(failure(&e))),
        Ok(a) if a.rcode == Rcode::NXDomain => answer(Listing::NotListed, Vec::new(), None),
        Ok(a) => {
            let codes = a.ipv4();
            if codes.is_empty() {
                return answer(Listing::NotListed, codes, None);
            }
            if let Some(refusal) = refusal(&codes) {
                return answer(Listing::Unchecked, codes, Some(refusal));
            }
            let reason = match resolver.lookup(&name, RecordType::TXT).await {
                Ok(txt) => txt
                    .txt()
                    .iter()
                    .map(|strings| String::from_utf8_lossy(&strings.concat()).into_owned())
                    .find(|text| !text.trim().is_empty())
                    .map(|text| shorten(&text)),
                Err(_) => None,
            };
            answer(Listing::Listed, codes, reason)
        }
    }
}

/// Why a list's codes are not a listing, when they are not: RFC 5782
/// §2.1 puts listings in 127.0.0.0/8, and lists answer
/// 127.255.255.0/24 for queries they refuse.
fn refusal(codes: &[Ipv4Addr]) -> Option<String> {
    let code = codes
        .iter()
        .find(|c| c.octets()[0] != 127 || c.octets()[..3] == [127, 255, 255])?;
    let meaning = match code.octets() {
        [127, 255, 255, 252] => "a typo in the list's name",
        [127, 255, 255, 254] => {
            "queries through a public or open resolver are refused; ask through a resolver \
             of your own (--dns)"
        }
        [127, 255, 255, 255] => "too many queries: the list rate-limits this resolver",
        [127, 255, 255, _] => "the list refused the query",
        _ => {
            "the answer is outside 127.0.0.0/8, so it is not a listing (a resolver that \
             rewrites unknown names, or a list that has shut down)"
        }
    };
    Some(format!("{code}: {meaning}"))
}

fn failure(error: &DnsError) -> String {
    format!("the question failed ({error}); the list may be down or slow")
}

/// A list's TXT reason as a report shows it: controls escaped, cut at
/// [`REASON_CHARS`].
fn shorten(text: &str) -> String {
    let escaped = untrusted::escape_controls(text.trim());
    match escaped.char_indices().nth(REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped.into_owned(),
    }
}

fn finding(ip: IpAddr, inferred: bool, answer: &BlocklistAnswer) -> Option<Finding> {
    let codes: Vec<String> = answer.codes.iter().map(Ipv4Addr::to_string).collect();
    let evidence = codes
        .iter()
        .map(|c| format!("{} A {c}", answer.query))
        .chain(
            answer
                .reason
                .iter()
                .filter(|_| answer.result == Listing::Listed)
                .map(|r| format!("{} TXT {r}", answer.query)),
        );
    let whose = if inferred {
        " (read from the message's Received header)"
    } else {
        ""
    };
    match answer.result {
        Listing::NotListed => None,
        Listing::Listed => Some(
            Finding::new(
                catalog::DNSBL_LISTED,
                format!(
                    "{ip}{whose} is listed on {} with code {}{}",
                    answer.zone,
                    codes.join(", "),
                    answer
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            )
            .with_fix(format!(
                "Find out why {ip} was listed on {} (the reason above, or its lookup page), \
                 stop the cause (a compromised account, a bought list, a missing bounce \
                 handler), then ask the list to delist {ip}; if {ip} is your provider's \
                 shared address, ask your provider.",
                answer.zone
            ))
            .with_evidence(evidence),
        ),
        Listing::Unchecked => Some(
            Finding::new(
                catalog::DNSBL_UNCHECKED,
                format!(
                    "{} could not be asked about {ip}: {}",
                    answer.zone,
                    answer.reason.as_deref().unwrap_or("no answer")
                ),
            )
            .with_evidence(evidence),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_codes_are_never_listings() {
        for code in [
            "127.255.255.252",
            "127.255.255.254",
            "127.255.255.255",
            "127.255.255.1",
            "10.0.0.1",
            "192.0.2.1",
        ] {
            let code: Ipv4Addr = code.parse().unwrap();
            assert!(refusal(&[code]).is_some(), "{code}");
            // One refusal code among listings still refuses.
            assert!(refusal(&[Ipv4Addr::new(127, 0, 0, 2), code]).is_some());
        }
        assert!(refusal(&[Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 10)]).is_none());
        assert!(
            refusal(&["127.255.255.254".parse().unwrap()])
                .unwrap()
                .contains("public or open resolver")
        );
    }

    #[test]
    fn zones_are_validated_and_deduplicated() {
        let lists = Blocklists::parse(&["bl.example", "BL.example.", "default"]).unwrap();
        assert_eq!(lists.zones()[0], "bl.example");
        assert_eq!(lists.zones().len(), 1 + DEFAULT_ZONES.len());
        assert!(Blocklists::parse(&["none"]).unwrap().is_empty());
        assert!(Blocklists::parse(&["192.0.2.1"]).is_err());
        assert!(Blocklists::parse(&["single"]).is_err());
        let many: Vec<String> = (0..=MAX_ZONES).map(|i| format!("l{i}.example")).collect();
        assert!(Blocklists::parse(&many).unwrap_err().contains("at most"));
    }

    #[test]
    fn reasons_are_escaped_and_cut() {
        assert_eq!(shorten("spam\u{1b}[31m"), "spam\\u{1b}[31m");
        let long = "x".repeat(REASON_CHARS + 10);
        assert_eq!(shorten(&long).chars().count(), REASON_CHARS + 1);
    }
}
