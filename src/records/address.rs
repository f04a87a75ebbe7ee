//! Address classes: how far an IP address reaches, by the IANA IPv4 and
//! IPv6 Special-Purpose Address Registries (RFC 6890 and the RFCs that
//! updated them), plus the blocks those registries leave to others:
//! multicast (RFC 5771, RFC 4291 §2.7), IPv4-compatible IPv6 (deprecated
//! by RFC 4291 §2.5.5.1) and IPv6 site-local (deprecated by RFC 3879).
//!
//! This module decides two questions, each with one function:
//!
//! - [`is_private`]: an address no host on the internet can reach — private
//!   use, loopback, link-local, shared (CGN), benchmarking, reserved,
//!   broadcast, multicast and the other blocks the registries mark as not
//!   globally reachable. An MX host there is `mx.private_address`.
//!   Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
//!   2001:db8::/32, 3fff::/20) are *not* private: examples and test
//!   fixtures use them as stand-ins for public hosts, so they never make
//!   that finding.
//! - [`is_fetchable`]: whether an HTTPS fetch (the MTA-STS policy) may
//!   connect there without `--allow-private-fetch`: only globally reachable
//!   addresses. That refuses everything [`is_private`] refuses *and* the
//!   documentation ranges, since no real server lives there and a
//!   connection could only reach something on the local network.
//!
//! Prefixes that carry an IPv4 address — IPv4-mapped `::ffff:0:0/96`,
//! IPv4-compatible `::/96`, the NAT64 well-known prefix `64:ff9b::/96`
//! (RFC 6052 §2.2) and 6to4 `2002::/16` (RFC 3056 §2) — are judged by the
//! IPv4 address they carry, since that is where a connection ends up:
//! `::ffff:127.0.0.1`, `::7f00:1`, `64:ff9b::7f00:1` and `2002:7f00:1::`
//! are all loopback. Teredo (`2001::/32`, RFC 4380) hides its client
//! address and the local-use translation prefix `64:ff9b:1::/48`
//! (RFC 8215) leads wherever the local network translates it; both are
//! refused outright.
//!
//! The most specific block that holds an address decides: 192.0.0.9 (Port
//! Control Protocol anycast) is globally reachable although 192.0.0.0/24
//! is not. IPv4 addresses in no block are ordinary global unicast; IPv6
//! addresses are global unicast only inside 2000::/3 (RFC 4291 §2.4), the
//! only part of the space allocated for it.

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How far an address reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Reachable from anywhere on the internet.
    Global,
    /// Reserved for documentation and examples; routed nowhere.
    Documentation,
    /// Not reachable from the internet: private, loopback, link-local,
    /// multicast, reserved…
    Local,
}

/// What a block says about the addresses in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every address of the block reaches this far.
    Reach(Reach),
    /// The block carries an IPv4 address in these 32 bits (counted from
    /// the most significant bit of the IPv6 address), which decides.
    EmbedsIpv4 { bit: u8 },
}

/// One row of the table: a prefix and what it is.
#[derive(Debug, Clone, Copy)]
pub struct Block<A> {
    pub network: A,
    pub prefix_len: u8,
    /// The registry's name for the block.
    pub name: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
    pub rule: Rule,
}

/// An IPv4 row: the network's octets and how far its addresses reach.
#[rustfmt::skip]
const fn v4(network: [u8; 4], len: u8, name: &'static str, rfc: &'static str, reach: Reach) -> Block<Ipv4Addr> {
    let [a, b, c, d] = network;
    Block { network: Ipv4Addr::new(a, b, c, d), prefix_len: len, name, rfc, rule: Rule::Reach(reach) }
}

/// An IPv6 row, its network written as the registry writes it: the groups
/// before `::`, then those after it (`2001:1::1` is `&[0x2001, 1], &[1]`).
#[rustfmt::skip]
const fn v6(head: &[u16], tail: &[u16], len: u8, name: &'static str, rfc: &'static str, rule: Rule) -> Block<Ipv6Addr> {
    let mut groups = [0u16; 8];
    let mut i = 0;
    while i < head.len() {
        groups[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < tail.len() {
        groups[8 - tail.len() + j] = tail[j];
        j += 1;
    }
    let [a, b, c, d, e, f, g, h] = groups;
    let network = Ipv6Addr::new(a, b, c, d, e, f, g, h);
    Block { network, prefix_len: len, name, rfc, rule }
}

use Reach::{Documentation, Global, Local};

/// The IPv4 Special-Purpose Address Registry, and multicast.
#[rustfmt::skip]
pub static IPV4_BLOCKS: &[Block<Ipv4Addr>] = &[
    v4([0, 0, 0, 0], 8, "this network", "RFC 791 §3.2", Local),
    v4([10, 0, 0, 0], 8, "private use", "RFC 1918", Local),
    v4([100, 64, 0, 0], 10, "shared address space", "RFC 6598", Local),
    v4([127, 0, 0, 0], 8, "loopback", "RFC 1122 §3.2.1.3", Local),
    v4([169, 254, 0, 0], 16, "link local", "RFC 3927", Local),
    v4([172, 16, 0, 0], 12, "private use", "RFC 1918", Local),
    v4([192, 0, 0, 0], 24, "IETF protocol assignments", "RFC 6890 §2.1", Local),
    v4([192, 0, 0, 0], 29, "IPv4 service continuity prefix", "RFC 7335", Local),
    v4([192, 0, 0, 8], 32, "IPv4 dummy address", "RFC 7600", Local),
    v4([192, 0, 0, 9], 32, "Port Control Protocol anycast", "RFC 7723", Global),
    v4([192, 0, 0, 10], 32, "TURN anycast", "RFC 8155", Global),
    v4([192, 0, 0, 170], 31, "NAT64/DNS64 discovery", "RFC 8880", Local),
    v4([192, 0, 2, 0], 24, "documentation (TEST-NET-1)", "RFC 5737", Documentation),
    v4([192, 31, 196, 0], 24, "AS112-v4", "RFC 7535", Global),
    v4([192, 52, 193, 0], 24, "AMT", "RFC 7450", Global),
    v4([192, 88, 99, 0], 24, "deprecated 6to4 relay anycast", "RFC 7526", Local),
    v4([192, 168, 0, 0], 16, "private use", "RFC 1918", Local),
    v4([192, 175, 48, 0], 24, "AS112 direct delegation", "RFC 7534", Global),
    v4([198, 18, 0, 0], 15, "benchmarking", "RFC 2544", Local),
    v4([198, 51, 100, 0], 24, "documentation (TEST-NET-2)", "RFC 5737", Documentation),
    v4([203, 0, 113, 0], 24, "documentation (TEST-NET-3)", "RFC 5737", Documentation),
    v4([224, 0, 0, 0], 4, "multicast", "RFC 5771", Local),
    v4([240, 0, 0, 0], 4, "reserved", "RFC 1112 §4", Local),
    v4([255, 255, 255, 255], 32, "limited broadcast", "RFC 919 §7", Local),
];

const fn fixed(reach: Reach) -> Rule {
    Rule::Reach(reach)
}

/// The IPv6 Special-Purpose Address Registry, multicast and the deprecated
/// blocks that still route somewhere, over the IPv6 Address Space
/// registry's split: only 2000::/3 is allocated for global unicast, and the
/// rest holds nothing a public host can have outside the blocks listed.
#[rustfmt::skip]
pub static IPV6_BLOCKS: &[Block<Ipv6Addr>] = &[
    v6(&[], &[], 0, "not allocated for global unicast", "RFC 4291 §2.4", fixed(Local)),
    v6(&[0x2000], &[], 3, "global unicast", "RFC 4291 §2.4", fixed(Global)),
    v6(&[], &[], 128, "unspecified", "RFC 4291 §2.5.2", fixed(Local)),
    v6(&[], &[1], 128, "loopback", "RFC 4291 §2.5.3", fixed(Local)),
    v6(&[], &[], 96, "IPv4-compatible (deprecated)", "RFC 4291 §2.5.5.1", Rule::EmbedsIpv4 { bit: 96 }),
    v6(&[], &[0xffff, 0, 0], 96, "IPv4-mapped", "RFC 4291 §2.5.5.2", Rule::EmbedsIpv4 { bit: 96 }),
    v6(&[0x64, 0xff9b], &[], 96, "NAT64 well-known prefix", "RFC 6052 §2.1", Rule::EmbedsIpv4 { bit: 96 }),
    v6(&[0x64, 0xff9b, 1], &[], 48, "local-use IPv4/IPv6 translation", "RFC 8215", fixed(Local)),
    v6(&[0x100], &[], 64, "discard-only", "RFC 6666", fixed(Local)),
    v6(&[0x100, 0, 0, 1], &[], 64, "dummy IPv6 prefix", "RFC 9780", fixed(Local)),
    v6(&[0x2001], &[], 23, "IETF protocol assignments", "RFC 2928", fixed(Local)),
    v6(&[0x2001], &[], 32, "Teredo", "RFC 4380", fixed(Local)),
    v6(&[0x2001, 1], &[1], 128, "Port Control Protocol anycast", "RFC 7723", fixed(Global)),
    v6(&[0x2001, 1], &[2], 128, "TURN anycast", "RFC 8155", fixed(Global)),
    v6(&[0x2001, 1], &[3], 128, "DNS-SD service registration protocol anycast", "RFC 9665", fixed(Global)),
    v6(&[0x2001, 2], &[], 48, "benchmarking", "RFC 5180", fixed(Local)),
    v6(&[0x2001, 3], &[], 32, "AMT", "RFC 7450", fixed(Global)),
    v6(&[0x2001, 4, 0x112], &[], 48, "AS112-v6", "RFC 7535", fixed(Global)),
    v6(&[0x2001, 0x10], &[], 28, "deprecated ORCHID", "RFC 4843", fixed(Local)),
    v6(&[0x2001, 0x20], &[], 28, "ORCHIDv2", "RFC 7343", fixed(Global)),
    v6(&[0x2001, 0x30], &[], 28, "drone remote ID entity tags", "RFC 9374", fixed(Global)),
    v6(&[0x2001, 0xdb8], &[], 32, "documentation", "RFC 3849", fixed(Documentation)),
    v6(&[0x2002], &[], 16, "6to4", "RFC 3056 §2", Rule::EmbedsIpv4 { bit: 16 }),
    v6(&[0x2620, 0x4f, 0x8000], &[], 48, "AS112 direct delegation", "RFC 7534", fixed(Global)),
    v6(&[0x3fff], &[], 20, "documentation", "RFC 9637", fixed(Documentation)),
    v6(&[0x5f00], &[], 16, "segment routing (SRv6) SIDs", "RFC 9602", fixed(Local)),
    v6(&[0xfc00], &[], 7, "unique local", "RFC 4193", fixed(Local)),
    v6(&[0xfe80], &[], 10, "link-local unicast", "RFC 4291 §2.5.6", fixed(Local)),
    v6(&[0xfec0], &[], 10, "site-local (deprecated)", "RFC 3879", fixed(Local)),
    v6(&[0xff00], &[], 8, "multicast", "RFC 4291 §2.7", fixed(Local)),
];

/// The most specific block of `blocks` that holds `bits` (an address of
/// `width` bits as an integer).
fn most_specific<A: Copy>(
    blocks: &'static [Block<A>],
    bits: u128,
    width: u32,
    as_bits: impl Fn(A) -> u128,
) -> Option<&'static Block<A>> {
    blocks
        .iter()
        .filter(|block| {
            let len = u32::from(block.prefix_len).min(width);
            let shift = width - len;
            // A shift by the full width would overflow: a /0 holds everything.
            shift >= width || (bits >> shift) == (as_bits(block.network) >> shift)
        })
        .max_by_key(|block| block.prefix_len)
}

/// The block of the IPv4 table holding `ip`, if any.
pub fn ipv4_block(ip: Ipv4Addr) -> Option<&'static Block<Ipv4Addr>> {
    most_specific(IPV4_BLOCKS, u128::from(u32::from(ip)), 32, |n| {
        u128::from(u32::from(n))
    })
}

/// The block of the IPv6 table holding `ip`, if any.
pub fn ipv6_block(ip: Ipv6Addr) -> Option<&'static Block<Ipv6Addr>> {
    most_specific(IPV6_BLOCKS, u128::from(ip), 128, u128::from)
}

/// How far `ip` reaches (see the module documentation).
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => match ipv6_block(v6).map(|b| b.rule) {
            None => Global,
            Some(Rule::Reach(reach)) => reach,
            Some(Rule::EmbedsIpv4 { bit }) => reach_v4(embedded_ipv4(v6, bit)),
        },
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    match ipv4_block(ip).map(|b| b.rule) {
        Some(Rule::Reach(reach)) => reach,
        // No IPv4 block embeds another address.
        None | Some(Rule::EmbedsIpv4 { .. }) => Global,
    }
}

/// The 32 bits of `ip` starting `bit` bits from the most significant one.
fn embedded_ipv4(ip: Ipv6Addr, bit: u8) -> Ipv4Addr {
    let shift = 128u32.saturating_sub(u32::from(bit) + 32);
    // Truncation keeps exactly the 32 bits wanted.
    Ipv4Addr::from((u128::from(ip) >> shift) as u32)
}

/// Not reachable from the internet: `mx.private_address`, and a Received
/// hop that cannot be the sending client. Documentation ranges are not
/// private (see the module documentation).
pub fn is_private(ip: IpAddr) -> bool {
    reach(ip) == Local
}

/// Whether an HTTPS fetch may connect to `ip` without
/// `--allow-private-fetch`: only globally reachable addresses.
pub fn is_fetchable(ip: IpAddr) -> bool {
    reach(ip) == Global
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One address per row of the registries (and of the extra blocks),
    /// with how far it reaches: written out by hand from the registries,
    /// not derived from the table above.
    const CASES: &[(&str, Reach)] = &[
        // IPv4 Special-Purpose Address Registry
        ("0.0.0.0", Local),
        ("0.1.2.3", Local),
        ("0.255.255.255", Local),
        ("10.0.0.1", Local),
        ("10.255.255.255", Local),
        ("100.64.0.1", Local),
        ("100.127.255.255", Local),
        ("127.0.0.1", Local),
        ("127.255.0.1", Local),
        ("169.254.1.1", Local),
        ("172.16.0.1", Local),
        ("172.31.255.255", Local),
        ("192.0.0.1", Local),
        ("192.0.0.7", Local),
        ("192.0.0.8", Local),
        ("192.0.0.9", Global),
        ("192.0.0.10", Global),
        ("192.0.0.11", Local),
        ("192.0.0.170", Local),
        ("192.0.0.171", Local),
        ("192.0.0.255", Local),
        ("192.0.2.1", Documentation),
        ("192.31.196.1", Global),
        ("192.52.193.1", Global),
        ("192.88.99.1", Local),
        ("192.168.0.1", Local),
        ("192.175.48.1", Global),
        ("198.18.0.1", Local),
        ("198.19.255.255", Local),
        ("198.51.100.1", Documentation),
        ("203.0.113.1", Documentation),
        ("240.0.0.1", Local),
        ("255.255.255.254", Local),
        ("255.255.255.255", Local),
        // IPv4 multicast
        ("224.0.0.1", Local),
        ("239.255.255.255", Local),
        // Just outside the blocks
        ("1.1.1.1", Global),
        ("8.8.8.8", Global),
        ("9.255.255.255", Global),
        ("11.0.0.0", Global),
        ("100.63.255.255", Global),
        ("100.128.0.1", Global),
        ("126.255.255.255", Global),
        ("128.0.0.1", Global),
        ("169.253.0.1", Global),
        ("172.15.0.1", Global),
        ("172.32.0.1", Global),
        ("192.0.1.1", Global),
        ("192.0.3.1", Global),
        ("192.169.0.1", Global),
        ("198.17.255.255", Global),
        ("198.20.0.1", Global),
        ("223.255.255.255", Global),
        // IPv6 Special-Purpose Address Registry
        ("::", Local),
        ("::1", Local),
        ("::ffff:10.1.2.3", Local),
        ("::ffff:127.0.0.1", Local),
        ("::ffff:192.168.1.1", Local),
        ("::ffff:198.18.0.1", Local),
        ("::ffff:192.0.2.1", Documentation),
        ("::ffff:8.8.8.8", Global),
        ("64:ff9b::7f00:1", Local),
        ("64:ff9b::a00:1", Local),
        ("64:ff9b::c000:201", Documentation),
        ("64:ff9b::808:808", Global),
        ("64:ff9b:1::808:808", Local),
        ("64:ff9b:1:ffff::1", Local),
        ("100::1", Local),
        ("100:0:0:1::1", Local),
        ("2001:0:4136:e378::1", Local),
        ("2001:1::1", Global),
        ("2001:1::2", Global),
        ("2001:1::3", Global),
        ("2001:1::4", Local),
        ("2001:2::1", Local),
        ("2001:3::1", Global),
        ("2001:4:112::1", Global),
        ("2001:10::1", Local),
        ("2001:20::1", Global),
        ("2001:30::1", Global),
        ("2001:1ff::1", Local),
        ("2001:db8::1", Documentation),
        ("2002:7f00:1::", Local),
        ("2002:c0a8:101::1", Local),
        ("2002:cb00:7101::1", Documentation),
        ("2002:808:808::1", Global),
        ("2620:4f:8000::1", Global),
        ("3fff::1", Documentation),
        ("3fff:fff::1", Documentation),
        ("5f00::1", Local),
        ("fc00::1", Local),
        ("fd12::1", Local),
        ("fe80::1", Local),
        ("febf::1", Local),
        ("fec0::1", Local),
        ("feff::1", Local),
        ("ff02::1", Local),
        // IPv4-compatible (deprecated): the embedded address decides
        ("::7f00:1", Local),
        ("::2", Local),
        ("::c000:201", Documentation),
        ("::808:808", Global),
        // Just outside the blocks
        ("2001:200::1", Global),
        ("2001:4860::8888", Global),
        ("2003::1", Global),
        ("2606:4700::1", Global),
        ("3ffe::1", Global),
        // Outside 2000::/3, only the blocks above are in use
        ("4000::1", Local),
        ("1234::1", Local),
        ("fbff::1", Local),
        ("64:ff9b:2::1", Local),
        ("::1:0:0:0", Local),
    ];

    #[test]
    fn every_registry_row_reaches_as_the_registry_says() {
        for (text, expected) in CASES {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(reach(ip), *expected, "{text}");
        }
    }

    /// Fails unless some case falls in each block of `blocks` (as the most
    /// specific one), found with `block_of`.
    fn assert_each_block_has_a_case<A: std::fmt::Display>(
        blocks: &'static [Block<A>],
        block_of: impl Fn(IpAddr) -> Option<&'static Block<A>>,
    ) {
        for block in blocks {
            let hit = CASES.iter().any(|(text, _)| {
                block_of(text.parse().unwrap()).is_some_and(|b| std::ptr::eq(b, block))
            });
            let (network, len, name) = (&block.network, block.prefix_len, block.name);
            assert!(hit, "no case for {network}/{len} ({name})");
        }
    }

    #[test]
    fn every_row_of_the_table_is_tested() {
        assert_each_block_has_a_case(IPV4_BLOCKS, |ip| match ip {
            IpAddr::V4(v4) => ipv4_block(v4),
            IpAddr::V6(_) => None,
        });
        assert_each_block_has_a_case(IPV6_BLOCKS, |ip| match ip {
            IpAddr::V6(v6) => ipv6_block(v6),
            IpAddr::V4(_) => None,
        });
    }

    #[test]
    fn private_is_local_and_fetchable_is_global_only() {
        for (text, reach) in CASES {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_private(ip), *reach == Local, "{text}");
            assert_eq!(is_fetchable(ip), *reach == Global, "{text}");
        }
        // The documentation ranges stand in for public hosts in findings
        // but are never connected to.
        for text in ["192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1"] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(!is_private(ip) && !is_fetchable(ip), "{text}");
        }
    }

    #[test]
    fn embedded_addresses_are_read_from_their_bits() {
        let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert_eq!(
            embedded_ipv4(v6("::ffff:1.2.3.4"), 96),
            Ipv4Addr::new(1, 2, 3, 4)
        );
        assert_eq!(
            embedded_ipv4(v6("2002:102:304::"), 16),
            Ipv4Addr::new(1, 2, 3, 4)
        );
        assert_eq!(
            embedded_ipv4(v6("64:ff9b::102:304"), 96),
            Ipv4Addr::new(1, 2, 3, 4)
        );
    }
}
