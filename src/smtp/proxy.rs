//! The PROXY protocol (HAProxy's, versions 1 and 2) in front of the
//! receiver, for a deployment behind a TCP load balancer.
//!
//! This module decides who may say where a connection comes from: only a
//! peer inside one of the `--smtp-proxy-from` networks. Such a peer must
//! open with a PROXY header, and the client address it carries is the
//! session's client: the envelope IP the report judges and the address
//! every per-client limit counts. A `LOCAL` (v2) or `UNKNOWN` (v1) header
//! — the balancer's own health check — keeps the peer's address. A
//! trusted peer whose header is missing, malformed or late is answered
//! `421` and closed; a PROXY header from any other peer is refused the
//! same way (see the session), so no client can forge its address.
//!
//! Version 1 is one text line of at most 107 bytes; version 2 a 16-byte
//! binary header and up to [`MAX_V2_BODY`] bytes of addresses and TLVs
//! (the TLVs are read and ignored).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use tokio::io::AsyncReadExt;

use super::wire::Conn;

/// The opening of every version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 line, CRLF included.
pub const MAX_V1_LINE: usize = 107;

/// The most bytes of addresses and TLVs a version 2 header may carry
/// here (a balancer's TLVs are a few hundred bytes at most).
pub const MAX_V2_BODY: usize = 1024;

/// A network peers in which are trusted to send PROXY headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = String;

    /// `192.0.2.0/24`, `2001:db8::/32`, or one address.
    fn from_str(text: &str) -> Result<Network, String> {
        let fail = || format!("`{text}` is not an address or a network like 10.0.0.0/8");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| fail())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(fail)?,
            None => max,
        };
        Ok(Network { address, prefix })
    }
}

impl Network {
    pub fn contains(&self, peer: IpAddr) -> bool {
        match (self.address, peer.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `width`-bit number.
fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    let host_bits = u32::from(width - prefix.min(width));
    bits.checked_shr(host_bits).unwrap_or(0)
}

/// Why a trusted peer's header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("the connection closed before its PROXY header")]
    Closed,
    #[error("no PROXY header")]
    Missing,
    #[error("malformed PROXY header: {0}")]
    Malformed(&'static str),
}

/// Reads a PROXY header from a trusted peer: the client address it names,
/// or `None` for the balancer's own connection (LOCAL, UNKNOWN).
pub async fn read_header(conn: &mut Conn) -> Result<Option<IpAddr>, ProxyError> {
    // Byte by byte (from the buffer), so that a client that is not a
    // balancer is told at once rather than waited for.
    let mut opening = Vec::with_capacity(V2_SIGNATURE.len());
    while opening.len() < V2_SIGNATURE.len() {
        opening.push(conn.read_u8().await.map_err(|_| ProxyError::Closed)?);
        let v1 = b"PROXY ".starts_with(&opening) || opening.starts_with(b"PROXY ");
        if !v1 && !V2_SIGNATURE.starts_with(&opening) {
            return Err(ProxyError::Missing);
        }
    }
    if opening == V2_SIGNATURE {
        return version_2(conn).await;
    }
    let mut line = opening;
    while !line.ends_with(b"\r\n") {
        if line.len() >= MAX_V1_LINE {
            return Err(ProxyError::Malformed(
                "a version 1 line longer than 107 bytes",
            ));
        }
        let byte = conn.read_u8().await.map_err(|_| ProxyError::Closed)?;
        line.push(byte);
    }
    version_1(&line)
}

/// `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` or `PROXY UNKNOWN…\r\n`.
fn version_1(line: &[u8]) -> Result<Option<IpAddr>, ProxyError> {
    let text = std::str::from_utf8(line)
        .map_err(|_| ProxyError::Malformed("not ASCII"))?
        .trim_end_matches("\r\n");
    let fields: Vec<&str> = text.split(' ').collect();
    match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(None),
        [
            "PROXY",
            family @ ("TCP4" | "TCP6"),
            source,
            _destination,
            source_port,
            destination_port,
        ] => {
            let ip: IpAddr = source
                .parse()
                .map_err(|_| ProxyError::Malformed("the source is not an address"))?;
            if ip.is_ipv4() != (*family == "TCP4") {
                return Err(ProxyError::Malformed(
                    "the source is not of the family named",
                ));
            }
            for port in [source_port, destination_port] {
                port.parse::<u16>()
                    .map_err(|_| ProxyError::Malformed("a port is not a number"))?;
            }
            Ok(Some(ip))
        }
        _ => Err(ProxyError::Malformed("not PROXY TCP4, TCP6 or UNKNOWN")),
    }
}

/// The 4 bytes after the signature, then the addresses and TLVs.
async fn version_2(conn: &mut Conn) -> Result<Option<IpAddr>, ProxyError> {
    let mut head = [0u8; 4];
    conn.read_exact(&mut head)
        .await
        .map_err(|_| ProxyError::Closed)?;
    let [version_command, family, high, low] = head;
    if version_command >> 4 != 2 {
        return Err(ProxyError::Malformed(
            "version 2 signature with another version",
        ));
    }
    let length = usize::from(u16::from_be_bytes([high, low]));
    if length > MAX_V2_BODY {
        return Err(ProxyError::Malformed(
            "more than 1024 bytes of addresses and TLVs",
        ));
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body)
        .await
        .map_err(|_| ProxyError::Closed)?;
    match version_command & 0x0f {
        0x0 => return Ok(None),
        0x1 => {}
        _ => return Err(ProxyError::Malformed("a command other than LOCAL or PROXY")),
    }
    match family >> 4 {
        0x1 => source::<4>(&body).map(|octets| Some(IpAddr::V4(Ipv4Addr::from(octets)))),
        0x2 => source::<16>(&body).map(|octets| Some(IpAddr::V6(Ipv6Addr::from(octets)))),
        // AF_UNSPEC: no address to take, as with LOCAL.
        0x0 => Ok(None),
        _ => Err(ProxyError::Malformed(
            "an address family other than IPv4 or IPv6",
        )),
    }
}

/// The source address of a TCP body of `N`-byte addresses: source,
/// destination, then two ports.
fn source<const N: usize>(body: &[u8]) -> Result<[u8; N], ProxyError> {
    if body.len() < 2 * N + 4 {
        return Err(ProxyError::Malformed(
            "too short for the addresses of its family",
        ));
    }
    body.get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or(ProxyError::Malformed(
            "too short for the addresses of its family",
        ))
}

/// A version 2 PROXY header for a TCP connection from `source` (a test
/// client's, or a documentation example's).
pub fn v2_header(source: IpAddr, destination: IpAddr) -> Vec<u8> {
    let mut header = V2_SIGNATURE.to_vec();
    header.push(0x21);
    let addresses: Vec<u8> = match (source, destination) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            header.push(0x11);
            [s.octets().as_slice(), &d.octets()].concat()
        }
        (s, d) => {
            header.push(0x21);
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            [v6(s).octets().as_slice(), &v6(d).octets()].concat()
        }
    };
    let length = u16::try_from(addresses.len() + 4).unwrap_or(u16::MAX);
    header.extend_from_slice(&length.to_be_bytes());
    header.extend_from_slice(&addresses);
    header.extend_from_slice(&[0xc3, 0x50, 0x00, 0x19]);
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncWriteExt, BufReader};

    async fn read(input: Vec<u8>) -> Result<Option<IpAddr>, ProxyError> {
        let (mut client, server) = tokio::io::duplex(4096);
        client.write_all(&input).await.unwrap();
        drop(client);
        let mut conn: Conn = BufReader::new(Box::new(server));
        read_header(&mut conn).await
    }

    #[test]
    fn networks_hold_their_addresses() {
        let net: Network = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        let one: Network = "2001:db8::1".parse().unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        for bad in ["192.0.2.0/33", "nope", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn version_1_names_the_client() {
        let ip = read(b"PROXY TCP4 192.0.2.10 198.51.100.1 49152 25\r\nEHLO x\r\n".to_vec()).await;
        assert_eq!(ip, Ok(Some("192.0.2.10".parse().unwrap())));
        let ip = read(b"PROXY TCP6 2001:db8::10 2001:db8::1 49152 25\r\n".to_vec()).await;
        assert_eq!(ip, Ok(Some("2001:db8::10".parse().unwrap())));
        assert_eq!(read(b"PROXY UNKNOWN\r\n".to_vec()).await, Ok(None));
        assert!(matches!(
            read(b"PROXY TCP4 2001:db8::10 192.0.2.1 1 2\r\n".to_vec()).await,
            Err(ProxyError::Malformed(_))
        ));
        assert!(matches!(
            read(format!("PROXY TCP4 {}\r\n", "1".repeat(200)).into_bytes()).await,
            Err(ProxyError::Malformed(_))
        ));
        assert_eq!(
            read(b"EHLO mail.example\r\n".to_vec()).await,
            Err(ProxyError::Missing)
        );
        assert_eq!(read(b"PROXY".to_vec()).await, Err(ProxyError::Closed));
    }

    #[tokio::test]
    async fn version_2_names_the_client() {
        let v4 = v2_header(
            "192.0.2.10".parse().unwrap(),
            "198.51.100.1".parse().unwrap(),
        );
        assert_eq!(read(v4).await, Ok(Some("192.0.2.10".parse().unwrap())));
        let v6 = v2_header(
            "2001:db8::10".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        );
        assert_eq!(read(v6).await, Ok(Some("2001:db8::10".parse().unwrap())));
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
        assert_eq!(read(local).await, Ok(None));
        let mut huge = V2_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert!(matches!(read(huge).await, Err(ProxyError::Malformed(_))));
        let mut short = V2_SIGNATURE.to_vec();
        short.extend_from_slice(&[0x21, 0x11, 0x00, 0x04, 192, 0, 2, 10]);
        assert!(matches!(read(short).await, Err(ProxyError::Malformed(_))));
    }
}
