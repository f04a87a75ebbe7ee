//! MX posture: where mail for the domain goes, and whether senders can get
//! there (RFC 5321 §5.1, RFC 7505).
//!
//! This module decides whether the domain publishes MX records, a null MX
//! (`0 .` as the only MX, RFC 7505 §3), or none; and, for every exchange,
//! whether it is a host name at all (not an IP literal, RFC 5321 §5.1 and
//! RFC 1035 §3.3.9), whether it is an alias (a CNAME, which RFC 5321 §5.1
//! and RFC 2181 §10.3 forbid as an MX target), which addresses it has, and
//! whether any of them cannot be reached from the internet
//! ([`is_private`]: private, loopback, link-local and the other
//! special-purpose blocks, but not the documentation ranges).
//!
//! Fetching is separate from judging: [`check`] asks the MX question, then
//! the A and AAAA questions of every exchange at once, and hands the answers
//! to [`evaluate`], a pure function. A DNS failure is never "missing" or
//! "unresolvable": the MX section or the host is then marked unknown.

use super::AuditContext;
use super::protocol::{Audited, Protocol, status_word};
use crate::dns::{Outcome, Rcode, trace};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::address::is_private;
use crate::records::name::DomainName;
use futures_util::future::join_all;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};

/// What the MX lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MxStatus {
    /// One or more MX records naming mail hosts.
    Published,
    /// `MX 0 .` alone: the domain accepts no mail (RFC 7505).
    NullMx,
    /// No MX record (NODATA), or the domain does not exist (NXDOMAIN).
    Missing,
    /// The MX lookup failed; see `error`.
    Unknown,
}

/// What is known about one exchange's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// At least one A or AAAA record.
    Resolves,
    /// Neither A nor AAAA, both questions answered.
    Unresolvable,
    /// A lookup failed and the other found no address: nothing is known.
    Unknown,
    /// The exchange is an IP literal, not a host name; it is not looked up.
    IpLiteral,
}

/// One exchange (listed once even when several MX records name it).
#[derive(Debug, Clone, Serialize)]
pub struct MxHost {
    /// The exchange as published, lower-case, without the final dot (`.`
    /// for the root, as in a null MX mixed with other MX records).
    pub exchange: String,
    /// The lowest preference any MX record gives this exchange.
    pub preference: u16,
    pub status: HostStatus,
    /// The A and AAAA addresses found, after following any CNAME.
    pub addresses: Vec<IpAddr>,
    /// Of those, the private, loopback or link-local ones.
    pub private_addresses: Vec<IpAddr>,
    /// The CNAME chain when the exchange is an alias, first hop first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<String>,
    /// Why a lookup failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `mx` section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct MxSection {
    /// The name whose MX records were asked for.
    pub name: String,
    pub status: MxStatus,
    /// The MX records as published: `10 mail.example.com.`.
    pub records: Vec<String>,
    /// Every distinct exchange, by preference.
    pub hosts: Vec<MxHost>,
    /// Why the MX lookup failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// MX: the MX records of the domain.
pub static PROTOCOL: Protocol = Protocol::at("mx", "MX", "", "MX");

impl Audited for MxSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
        if self.status == MxStatus::Unknown {
            return Some(
                self.error
                    .clone()
                    .unwrap_or_else(|| format!("the MX lookup for {} failed", self.name)),
            );
        }
        let host = self
            .hosts
            .iter()
            .find(|h| h.status == HostStatus::Unknown)?;
        Some(format!(
            "the address lookup for {} failed ({})",
            host.exchange,
            host.error.as_deref().unwrap_or("no answer")
        ))
    }

    fn summary(&self) -> String {
        if self.hosts.is_empty() {
            return status_word(&self.status);
        }
        self.hosts
            .iter()
            .map(|h| format!("{} {}", h.preference, h.exchange))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl MxSection {
    /// The exchange host names, lower-case without the final dot, for
    /// MTA-STS coverage (RFC 8461 §4.1). The root of a null MX is left out.
    pub fn host_names(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.exchange != ".")
            .map(|h| h.exchange.clone())
            .collect()
    }
}

/// The A and AAAA answers for one exchange.
#[derive(Debug, Clone)]
pub struct HostAnswers {
    pub exchange: Name,
    pub a: Outcome,
    pub aaaa: Outcome,
}

/// Fetches the MX records and every exchange's addresses, then evaluates.
pub async fn check(cx: &AuditContext<'_>) -> Checked<MxSection> {
    let mx = cx.resolver.lookup(&cx.domain.fqdn(), RecordType::MX).await;
    let to_resolve = match &mx {
        Ok(answer) => exchanges_to_resolve(&answer.mx()),
        Err(_) => Vec::new(),
    };
    let hosts = join_all(to_resolve.into_iter().map(|exchange| async move {
        let (a, aaaa) = tokio::join!(
            cx.resolver.lookup(&exchange, RecordType::A),
            cx.resolver.lookup(&exchange, RecordType::AAAA),
        );
        HostAnswers { exchange, a, aaaa }
    }))
    .await;
    evaluate(cx.domain, &mx, &hosts)
}

/// The exchanges whose addresses must be asked: each distinct host name
/// once. A null MX, the root mixed among other MX records, and IP literals
/// are not host names, so nothing is asked for them.
pub fn exchanges_to_resolve(records: &[(u16, Name)]) -> Vec<Name> {
    if is_null_mx(records) {
        return Vec::new();
    }
    let mut names: Vec<Name> = Vec::new();
    for (_, exchange) in records {
        if exchange.is_root() || ip_literal(exchange).is_some() {
            continue;
        }
        if !names.iter().any(|n| same_name(n, exchange)) {
            names.push(exchange.clone());
        }
    }
    names
}

/// RFC 7505 §3: a single MX whose exchange is the root. The preference
/// should be 0, but the root as the only exchange means "no mail" whatever
/// the number says, and that is how receivers read it.
fn is_null_mx(records: &[(u16, Name)]) -> bool {
    matches!(records, [(_, exchange)] if exchange.is_root())
}

/// The address an exchange spells, when it is an IP literal such as
/// `192.0.2.1.` or `[192.0.2.1]` rather than a host name.
fn ip_literal(exchange: &Name) -> Option<IpAddr> {
    let text = display_name(exchange);
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse().ok()
}

/// DNS names compare without regard to ASCII case (RFC 4343).
fn same_name(a: &Name, b: &Name) -> bool {
    display_name(a) == display_name(b)
}

/// Lower-case, without the final dot; the root stays `.`.
fn display_name(name: &Name) -> String {
    if name.is_root() {
        return ".".to_string();
    }
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// Judges the fetched answers: the section and its findings.
pub fn evaluate(domain: &DomainName, mx: &Outcome, hosts: &[HostAnswers]) -> Checked<MxSection> {
    let name = domain.ascii.clone();
    let mut section = MxSection {
        name: name.clone(),
        status: MxStatus::Unknown,
        records: Vec::new(),
        hosts: Vec::new(),
        error: None,
    };
    let answer = match mx {
        Ok(answer) => answer,
        Err(e) => {
            section.error = Some(format!("the MX lookup for {name} failed: {e}"));
            return Checked {
                section,
                findings: Vec::new(),
            };
        }
    };
    let mut records = answer.mx();
    records.sort_by_key(|(preference, exchange)| (*preference, display_name(exchange)));
    section.records = records
        .iter()
        .map(|(pref, exchange)| format!("{pref} {}", exchange.to_ascii()))
        .collect();
    let mx_evidence = records_evidence(&name, "MX", answer.rcode, &answer.records);

    if records.is_empty() {
        section.status = MxStatus::Missing;
        let seen = match answer.rcode {
            Rcode::NXDomain => format!("{name} does not exist (NXDOMAIN), so it has no MX record"),
            Rcode::NoError => format!("{name} has no MX record"),
        };
        let finding = Finding::new(catalog::MX_MISSING, seen)
            .with_fix(format!(
                "Publish MX records for the servers that receive mail for {name}, for example: \
                 {name}. MX 10 mail.{name}. If {name} should never receive mail, publish a \
                 null MX instead: {name}. MX 0 ."
            ))
            .with_evidence(mx_evidence);
        return Checked {
            section,
            findings: vec![finding],
        };
    }

    if is_null_mx(&records) {
        section.status = MxStatus::NullMx;
        let preference = records.first().map_or(0, |r| r.0);
        let mut detail =
            format!("{name} publishes the null MX `{preference} .`: it accepts no mail");
        if preference != 0 {
            detail.push_str(&format!(
                " (RFC 7505 §3 writes it with preference 0, not {preference})"
            ));
        }
        let finding = Finding::new(catalog::MX_NULL, detail).with_evidence(mx_evidence);
        return Checked {
            section,
            findings: vec![finding],
        };
    }

    section.status = MxStatus::Published;
    let mut findings = Vec::new();
    for (preference, exchange) in &records {
        let shown = display_name(exchange);
        if section.hosts.iter().any(|h| h.exchange == shown) {
            continue; // listed again with another preference: judged once
        }
        let (host, host_findings) = judge_host(&name, *preference, exchange, hosts, &mx_evidence);
        section.hosts.push(host);
        findings.extend(host_findings);
    }
    Checked { section, findings }
}

/// One exchange: its status, addresses and findings.
fn judge_host(
    domain: &str,
    preference: u16,
    exchange: &Name,
    hosts: &[HostAnswers],
    mx_evidence: &[String],
) -> (MxHost, Vec<Finding>) {
    let shown = display_name(exchange);
    let mut host = MxHost {
        exchange: shown.clone(),
        preference,
        status: HostStatus::Unknown,
        addresses: Vec::new(),
        private_addresses: Vec::new(),
        cname_chain: Vec::new(),
        error: None,
    };
    let mx_record = format!("{domain}. MX {preference} {}", exchange.to_ascii());

    if let Some(ip) = ip_literal(exchange) {
        host.status = HostStatus::IpLiteral;
        let finding = Finding::new(
            catalog::MX_TARGET_IS_IP,
            format!("the MX record `{mx_record}` names the IP address {ip} instead of a host name"),
        )
        .with_fix(format!(
            "Give the server a host name and point the MX at it, for example: \
             mail.{domain}. {} {ip} and {domain}. MX {preference} mail.{domain}.",
            if ip.is_ipv4() { "A" } else { "AAAA" }
        ))
        .with_evidence(mx_evidence.iter().cloned());
        return (host, vec![finding]);
    }

    if exchange.is_root() {
        host.status = HostStatus::Unresolvable;
        let finding = Finding::new(
            catalog::MX_TARGET_UNRESOLVABLE,
            format!(
                "the MX record `{mx_record}` names the root `.`, which has no address; a null MX \
                 must be the only MX record of a domain (RFC 7505 §3)"
            ),
        )
        .with_fix(format!(
            "If {domain} receives mail, delete `{mx_record}`; if it does not, delete the other \
             MX records and keep only {domain}. MX 0 ."
        ))
        .with_evidence(mx_evidence.iter().cloned());
        return (host, vec![finding]);
    }

    let Some(answers) = hosts.iter().find(|h| same_name(&h.exchange, exchange)) else {
        host.error = Some("the addresses of this host were not looked up".to_string());
        return (host, Vec::new());
    };
    let mut findings = Vec::new();
    let mut evidence: Vec<String> = mx_evidence.to_vec();
    let mut errors = Vec::new();
    for (rtype, outcome) in [("A", &answers.a), ("AAAA", &answers.aaaa)] {
        match outcome {
            Ok(answer) => {
                evidence.extend(records_evidence(
                    &shown,
                    rtype,
                    answer.rcode,
                    &answer.records,
                ));
                if host.cname_chain.is_empty() {
                    host.cname_chain = cname_chain(exchange, &answer.records);
                }
                host.addresses
                    .extend(answer.ipv4().into_iter().map(IpAddr::V4));
                host.addresses
                    .extend(answer.ipv6().into_iter().map(IpAddr::V6));
            }
            Err(e) => {
                evidence.push(format!("{shown}. {rtype} {}", e.rcode_word()));
                errors.push(format!("the {rtype} lookup failed: {e}"));
            }
        }
    }
    let mut unique = Vec::with_capacity(host.addresses.len());
    for ip in host.addresses.drain(..) {
        if !unique.contains(&ip) {
            unique.push(ip);
        }
    }
    host.addresses = unique;
    if !errors.is_empty() {
        host.error = Some(errors.join("; "));
    }
    host.private_addresses = host
        .addresses
        .iter()
        .copied()
        .filter(|ip| is_private(*ip))
        .collect();
    host.status = if !host.addresses.is_empty() {
        HostStatus::Resolves
    } else if errors.is_empty() {
        HostStatus::Unresolvable
    } else {
        HostStatus::Unknown
    };

    if let Some(canonical) = host.cname_chain.last() {
        findings.push(
            Finding::new(
                catalog::MX_TARGET_IS_CNAME,
                format!(
                    "the MX host {shown} is an alias: {}",
                    cname_description(&shown, &host.cname_chain)
                ),
            )
            .with_fix(format!(
                "Point the MX record at the canonical name: replace `{mx_record}` with \
                 {domain}. MX {preference} {canonical}."
            ))
            .with_evidence(evidence.clone()),
        );
    }
    if host.status == HostStatus::Unresolvable {
        findings.push(
            Finding::new(
                catalog::MX_TARGET_UNRESOLVABLE,
                format!("the MX host {shown} has neither an A nor an AAAA record"),
            )
            .with_fix(unresolvable_fix(domain, &shown, &mx_record))
            .with_evidence(evidence.clone()),
        );
    }
    if !host.private_addresses.is_empty() {
        let list: Vec<String> = host
            .private_addresses
            .iter()
            .map(IpAddr::to_string)
            .collect();
        findings.push(
            Finding::new(
                catalog::MX_PRIVATE_ADDRESS,
                format!(
                    "the MX host {shown} resolves to {}, which cannot be reached from the internet",
                    list.join(", ")
                ),
            )
            .with_fix(format!(
                "Publish the public address of {shown} in its A/AAAA records instead of {}, or \
                 point the MX at a host that has one.",
                list.join(", ")
            ))
            .with_evidence(evidence),
        );
    }
    (host, findings)
}

/// The CNAME hops from `exchange` to the canonical name, as the resolver
/// returned them in the answer section.
fn cname_chain(exchange: &Name, records: &[Record]) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = exchange.clone();
    // Bounded by the records present, so a looping chain still ends.
    for _ in 0..records.len() {
        let next = records.iter().find_map(|r| match &r.data {
            RData::CNAME(c) if same_name(&r.name, &current) => Some(c.0.clone()),
            _ => None,
        });
        let Some(next) = next else { break };
        chain.push(display_name(&next));
        current = next;
    }
    chain
}

fn cname_description(exchange: &str, chain: &[String]) -> String {
    let mut text = exchange.to_string();
    for hop in chain {
        text.push_str(&format!(" CNAME {hop}"));
    }
    text
}

/// The fix for a host without addresses. An exchange whose first four
/// labels spell an IPv4 address was most likely written in a zone file as
/// an address without the final dot, so the origin got appended to it.
fn unresolvable_fix(domain: &str, exchange: &str, mx_record: &str) -> String {
    let labels: Vec<&str> = exchange.split('.').collect();
    if labels.len() > 4 {
        let quad = labels.get(..4).map(|l| l.join("."));
        if let Some(Ok(ip)) = quad.map(|q| q.parse::<Ipv4Addr>()) {
            return format!(
                "`{mx_record}` looks like the address {ip} written without a final dot. Give the \
                 server a host name with an A record and point the MX at it, for example: \
                 mail.{domain}. A {ip} and {domain}. MX 10 mail.{domain}."
            );
        }
    }
    format!(
        "Publish an A or AAAA record for {exchange}, correct the host name in `{mx_record}`, or \
         delete that MX record if the server is retired."
    )
}

/// Evidence lines for one answer: each record, or the negative answer.
fn records_evidence(name: &str, rtype: &str, rcode: Rcode, records: &[Record]) -> Vec<String> {
    if records.is_empty() {
        let word = match rcode {
            Rcode::NXDomain => "NXDOMAIN",
            Rcode::NoError => "NODATA",
        };
        return vec![format!("{name}. {rtype} {word}")];
    }
    records
        .iter()
        .map(|r| format!("{} {}", r.name.to_ascii(), trace::present(r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Answer, DnsError};
    use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn answer(records: Vec<Record>) -> Outcome {
        Ok(Answer {
            rcode: Rcode::NoError,
            authority: vec![],
            records,
            authenticated: false,
            ttl: 300,
        })
    }

    fn mx(pairs: &[(u16, &str)]) -> Outcome {
        answer(
            pairs
                .iter()
                .map(|(p, e)| {
                    Record::from_rdata(n("example.com."), 300, RData::MX(MX::new(*p, n(e))))
                })
                .collect(),
        )
    }

    fn a(owner: &str, ip: &str) -> Record {
        Record::from_rdata(n(owner), 300, RData::A(A(ip.parse().unwrap())))
    }

    fn aaaa(owner: &str, ip: &str) -> Record {
        Record::from_rdata(n(owner), 300, RData::AAAA(AAAA(ip.parse().unwrap())))
    }

    fn cname(owner: &str, target: &str) -> Record {
        Record::from_rdata(n(owner), 300, RData::CNAME(CNAME(n(target))))
    }

    fn host(name: &str, a: Vec<Record>, aaaa: Vec<Record>) -> HostAnswers {
        HostAnswers {
            exchange: n(name),
            a: answer(a),
            aaaa: answer(aaaa),
        }
    }

    fn codes(c: &Checked<MxSection>) -> Vec<&'static str> {
        c.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn healthy_hosts_give_no_finding_and_are_listed_once() {
        let c = evaluate(
            &domain(),
            &mx(&[
                (20, "mx2.example.com."),
                (10, "MX1.example.com."),
                (30, "mx1.example.com."),
            ]),
            &[
                host(
                    "mx1.example.com.",
                    vec![a("mx1.example.com.", "192.0.2.10")],
                    vec![aaaa("mx1.example.com.", "2001:db8::10")],
                ),
                host(
                    "mx2.example.com.",
                    vec![a("mx2.example.com.", "198.51.100.20")],
                    vec![],
                ),
            ],
        );
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.section.status, MxStatus::Published);
        assert_eq!(
            c.section.host_names(),
            vec!["mx1.example.com", "mx2.example.com"]
        );
        assert_eq!(c.section.hosts[0].preference, 10);
        assert_eq!(c.section.hosts[0].addresses.len(), 2);
        assert_eq!(c.section.hosts[0].status, HostStatus::Resolves);
        assert_eq!(c.section.records.len(), 3);
    }

    #[test]
    fn only_distinct_host_names_are_resolved() {
        let records = [
            (10, n("mx1.example.com.")),
            (20, n("MX1.example.com.")),
            (30, n("192.0.2.1.")),
            (40, n(".")),
        ];
        assert_eq!(exchanges_to_resolve(&records), vec![n("mx1.example.com.")]);
        assert!(exchanges_to_resolve(&[(0, Name::root())]).is_empty());
    }

    #[test]
    fn null_mx_is_reported_alone() {
        let c = evaluate(&domain(), &mx(&[(0, ".")]), &[]);
        assert_eq!(codes(&c), vec!["mx.null"]);
        assert_eq!(c.section.status, MxStatus::NullMx);
        assert!(c.section.host_names().is_empty());
    }

    #[test]
    fn root_among_other_mx_is_unresolvable_not_null() {
        let c = evaluate(
            &domain(),
            &mx(&[(0, "."), (10, "mx1.example.com.")]),
            &[host(
                "mx1.example.com.",
                vec![a("mx1.example.com.", "192.0.2.10")],
                vec![],
            )],
        );
        assert_eq!(codes(&c), vec!["mx.target_unresolvable"]);
        assert!(c.findings[0].detail.contains("RFC 7505"));
        assert_eq!(c.section.host_names(), vec!["mx1.example.com"]);
    }

    #[test]
    fn no_mx_and_no_domain_are_missing() {
        let c = evaluate(&domain(), &answer(vec![]), &[]);
        assert_eq!(codes(&c), vec!["mx.missing"]);
        assert_eq!(c.section.status, MxStatus::Missing);
        let nx = Ok(Answer {
            rcode: Rcode::NXDomain,
            authority: vec![],
            records: vec![],
            authenticated: false,
            ttl: 0,
        });
        let c = evaluate(&domain(), &nx, &[]);
        assert_eq!(codes(&c), vec!["mx.missing"]);
        assert!(c.findings[0].detail.contains("NXDOMAIN"));
        assert!(c.findings[0].fix.contains("example.com. MX 0 ."));
    }

    #[test]
    fn a_failed_mx_lookup_is_unknown_without_findings() {
        let c = evaluate(&domain(), &Err(DnsError::ServFail), &[]);
        assert!(c.findings.is_empty());
        assert_eq!(c.section.status, MxStatus::Unknown);
        assert!(c.section.error.as_deref().unwrap().contains("SERVFAIL"));
    }

    #[test]
    fn ip_literal_exchange_is_reported_and_not_resolved() {
        for literal in ["192.0.2.1.", "192.0.2.1"] {
            let c = evaluate(&domain(), &mx(&[(10, literal)]), &[]);
            assert_eq!(codes(&c), vec!["mx.target_is_ip"], "{literal}");
            assert_eq!(c.section.hosts[0].status, HostStatus::IpLiteral);
            assert!(c.findings[0].fix.contains("mail.example.com. A 192.0.2.1"));
        }
        // A host name that merely starts with digits is a host name.
        let c = evaluate(
            &domain(),
            &mx(&[(10, "1.mx.example.com.")]),
            &[host(
                "1.mx.example.com.",
                vec![a("1.mx.example.com.", "192.0.2.1")],
                vec![],
            )],
        );
        assert!(c.findings.is_empty());
    }

    #[test]
    fn cname_exchange_is_reported_with_the_canonical_name() {
        let c = evaluate(
            &domain(),
            &mx(&[(10, "mail.example.com.")]),
            &[host(
                "mail.example.com.",
                vec![
                    cname("mail.example.com.", "real.example.net."),
                    a("real.example.net.", "192.0.2.30"),
                ],
                vec![cname("mail.example.com.", "real.example.net.")],
            )],
        );
        assert_eq!(codes(&c), vec!["mx.target_is_cname"]);
        assert_eq!(c.section.hosts[0].cname_chain, vec!["real.example.net"]);
        assert!(c.findings[0].fix.contains("MX 10 real.example.net."));
        assert_eq!(c.section.hosts[0].status, HostStatus::Resolves);
    }

    #[test]
    fn host_without_addresses_is_unresolvable() {
        let c = evaluate(
            &domain(),
            &mx(&[(10, "gone.example.com.")]),
            &[host("gone.example.com.", vec![], vec![])],
        );
        assert_eq!(codes(&c), vec!["mx.target_unresolvable"]);
        assert_eq!(c.section.hosts[0].status, HostStatus::Unresolvable);
    }

    #[test]
    fn address_written_without_final_dot_gets_a_pointed_fix() {
        let c = evaluate(
            &domain(),
            &mx(&[(10, "192.0.2.7.example.com.")]),
            &[host("192.0.2.7.example.com.", vec![], vec![])],
        );
        assert_eq!(codes(&c), vec!["mx.target_unresolvable"]);
        assert!(c.findings[0].fix.contains("without a final dot"));
    }

    #[test]
    fn a_failed_address_lookup_is_unknown_not_unresolvable() {
        let c = evaluate(
            &domain(),
            &mx(&[(10, "mx1.example.com.")]),
            &[HostAnswers {
                exchange: n("mx1.example.com."),
                a: Err(DnsError::Timeout),
                aaaa: answer(vec![]),
            }],
        );
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.section.hosts[0].status, HostStatus::Unknown);
        assert!(c.section.hosts[0].error.is_some());
        // One family failing while the other has addresses still resolves.
        let c = evaluate(
            &domain(),
            &mx(&[(10, "mx1.example.com.")]),
            &[HostAnswers {
                exchange: n("mx1.example.com."),
                a: answer(vec![a("mx1.example.com.", "192.0.2.10")]),
                aaaa: Err(DnsError::ServFail),
            }],
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.section.hosts[0].status, HostStatus::Resolves);
    }

    #[test]
    fn private_addresses_are_reported_per_host() {
        let c = evaluate(
            &domain(),
            &mx(&[(10, "in.example.com.")]),
            &[host(
                "in.example.com.",
                vec![
                    a("in.example.com.", "10.0.0.25"),
                    a("in.example.com.", "192.0.2.25"),
                ],
                vec![aaaa("in.example.com.", "::ffff:192.168.1.1")],
            )],
        );
        assert_eq!(codes(&c), vec!["mx.private_address"]);
        assert_eq!(c.section.hosts[0].private_addresses.len(), 2);
        assert!(c.findings[0].detail.contains("10.0.0.25"));
        assert!(!c.findings[0].detail.contains("192.0.2.25"));
        assert!(
            c.findings[0]
                .evidence
                .iter()
                .any(|e| e.contains("A 10.0.0.25"))
        );
    }

    #[test]
    fn section_serializes_with_clear_fields() {
        let c = evaluate(
            &domain(),
            &mx(&[(10, "mx1.example.com.")]),
            &[host(
                "mx1.example.com.",
                vec![a("mx1.example.com.", "192.0.2.10")],
                vec![],
            )],
        );
        let json = serde_json::to_value(&c.section).unwrap();
        assert_eq!(json["status"], "published");
        assert_eq!(json["hosts"][0]["exchange"], "mx1.example.com");
        assert_eq!(json["hosts"][0]["addresses"][0], "192.0.2.10");
        assert_eq!(json["records"][0], "10 mx1.example.com.");
    }
}
