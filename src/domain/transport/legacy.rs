//! Whether an MX host still accepts TLS 1.0 or TLS 1.1, which RFC 8996
//! deprecates: rustls speaks neither, so the probe sends a ClientHello of
//! its own (RFC 2246 §7.4.1.2, RFC 4346 §7.4.1.2) and reads only the
//! server's first record.
//!
//! This module decides one thing per version: a ServerHello whose
//! `server_version` is the version offered means the server accepts it;
//! an alert, another version, anything else or the end of the connection
//! means it does not. No handshake is finished and nothing is encrypted.

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The legacy versions asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LegacyVersion {
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
}

impl LegacyVersion {
    pub const ALL: [LegacyVersion; 2] = [LegacyVersion::Tls10, LegacyVersion::Tls11];

    /// The version on the wire (`ProtocolVersion`).
    pub fn wire(self) -> [u8; 2] {
        match self {
            LegacyVersion::Tls10 => [3, 1],
            LegacyVersion::Tls11 => [3, 2],
        }
    }

    /// As people write it, in findings and summaries.
    pub fn name(self) -> &'static str {
        match self {
            LegacyVersion::Tls10 => "TLS 1.0",
            LegacyVersion::Tls11 => "TLS 1.1",
        }
    }
}

/// Cipher suites a TLS 1.0/1.1 server of the last fifteen years picks
/// from: ECDHE and RSA key exchange with AES-CBC, and 3DES.
const CIPHER_SUITES: [u16; 7] = [
    0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xc00a, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0xc014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
];

/// Appends `body` to `out` behind its length in `width` bytes.
fn with_length(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    let len = body.len().to_be_bytes();
    out.extend_from_slice(&len[len.len() - width..]);
    out.extend_from_slice(body);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    with_length(out, 2, body);
}

/// A ClientHello record offering `version` only, with `host` as SNI when
/// it is a DNS name.
pub fn client_hello(version: LegacyVersion, host: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut extensions = Vec::new();
    if let Some(host) = host {
        let mut name = vec![0u8]; // host_name
        with_length(&mut name, 2, host.as_bytes());
        let mut list = Vec::new();
        with_length(&mut list, 2, &name);
        extension(&mut extensions, 0x0000, &list);
    }
    // supported_groups: secp256r1, secp384r1, x25519 (RFC 4492 §5.1.1)
    extension(&mut extensions, 0x000a, &[0, 6, 0, 0x17, 0, 0x18, 0, 0x1d]);
    // ec_point_formats: uncompressed
    extension(&mut extensions, 0x000b, &[1, 0]);
    // renegotiation_info, empty (RFC 5746 §3.4)
    extension(&mut extensions, 0xff01, &[0]);

    let mut hello = Vec::new();
    hello.extend_from_slice(&version.wire());
    hello.extend_from_slice(&random);
    hello.push(0); // no session id
    let suites: Vec<u8> = CIPHER_SUITES.iter().flat_map(|s| s.to_be_bytes()).collect();
    with_length(&mut hello, 2, &suites);
    hello.extend_from_slice(&[1, 0]); // compression: null only
    with_length(&mut hello, 2, &extensions);

    let mut handshake = vec![1u8]; // client_hello
    with_length(&mut handshake, 3, &hello);
    let mut record = vec![22u8]; // handshake
    record.extend_from_slice(&version.wire());
    with_length(&mut record, 2, &handshake);
    record
}

/// Whether the first bytes the server sent are a ServerHello for
/// `version`: a handshake record whose first message is a server_hello
/// with that `server_version`.
pub fn accepts(version: LegacyVersion, first_bytes: &[u8]) -> bool {
    match first_bytes {
        [22, _, _, _, _, 2, _, _, _, major, minor, ..] => [*major, *minor] == version.wire(),
        _ => false,
    }
}

/// Sends the ClientHello on a connection just switched by STARTTLS and
/// reads the start of the answer.
pub async fn ask(
    mut stream: TcpStream,
    version: LegacyVersion,
    host: Option<&str>,
) -> std::io::Result<bool> {
    let mut random = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut random).is_err() {
        random = [0x5a; 32];
    }
    stream
        .write_all(&client_hello(version, host, random))
        .await?;
    let mut first = [0u8; 11];
    let mut read = 0;
    while read < first.len() {
        let n = stream.read(&mut first[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let _ = stream.shutdown().await;
    Ok(accepts(version, &first[..read]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hello_is_one_handshake_record_offering_only_the_version() {
        let hello = client_hello(LegacyVersion::Tls11, Some("mx.example"), [7; 32]);
        assert_eq!(&hello[..3], &[22, 3, 2]);
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], 1, "client_hello");
        let body_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(body_len, hello.len() - 9);
        assert_eq!(&hello[9..11], &[3, 2], "client_version");
        assert!(hello.windows(10).any(|w| w == b"mx.example"));
        let without_sni = client_hello(LegacyVersion::Tls10, None, [7; 32]);
        assert!(!without_sni.windows(10).any(|w| w == b"mx.example"));
        assert_eq!(without_sni.len(), hello.len() - 19);
    }

    #[test]
    fn only_a_server_hello_of_the_offered_version_accepts() {
        let hello = |major, minor| [22, 3, 1, 0, 74, 2, 0, 0, 70, major, minor];
        assert!(accepts(LegacyVersion::Tls10, &hello(3, 1)));
        assert!(!accepts(LegacyVersion::Tls11, &hello(3, 1)));
        assert!(accepts(LegacyVersion::Tls11, &hello(3, 2)));
        // protocol_version alert
        assert!(!accepts(LegacyVersion::Tls10, &[21, 3, 1, 0, 2, 2, 70]));
        assert!(!accepts(LegacyVersion::Tls10, &[]));
    }
}
