//! What an MX host's certificate chain is worth, each verdict on its own
//! (RFC 8461 §4.2, RFC 7672 §3.2, RFC 5280 §6, RFC 9525 §6.3).
//!
//! The probe's TLS client accepts whatever chain the server presents
//! ([`AnyChain`]): it checks only that the server holds the key of its
//! certificate, so the handshake finishes and the chain can be judged
//! afterwards, by [`judge`], on four separate questions:
//!
//! - **trusted**: does the chain lead to one of the roots (Mozilla's and
//!   `--ca-file`'s)? An expired certificate is judged at the last second of
//!   its validity, so an expired certificate from a public CA is
//!   `tls.cert_expired` alone, not also untrusted;
//! - **name**: does the end-entity certificate name the MX host (subject
//!   alternative names, wildcards in the leftmost label), whatever its
//!   issuer;
//! - **expiry**: days until `notAfter`, negative once past;
//! - what the certificate is: subject, issuer, names, key type and size,
//!   signature algorithm, for the report.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use serde::Serialize;
use std::sync::Arc;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Days before expiry from which a certificate is `tls.cert_expiring`.
pub const EXPIRING_DAYS: i64 = 14;

/// A verifier that accepts any chain, so the handshake always finishes and
/// the chain, read back from the connection, is judged on its own. The
/// handshake's signature is still verified: a server that does not hold
/// its certificate's key fails the handshake.
#[derive(Debug)]
pub struct AnyChain {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyChain {
    pub fn new(provider: &CryptoProvider) -> AnyChain {
        AnyChain {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for AnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The TLS client of the probe: TLS 1.2 and 1.3, any chain accepted.
pub fn client_config(provider: Arc<CryptoProvider>) -> Result<rustls::ClientConfig, Error> {
    let verifier = Arc::new(AnyChain::new(&provider));
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// What the presented chain's end-entity certificate is, and the verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateReport {
    pub subject: String,
    pub issuer: String,
    /// The DNS names of the subject alternative names.
    pub names: Vec<String>,
    /// `notAfter`, as a UTC date `YYYY-MM-DD`.
    pub not_after: String,
    /// Whole days from the probe to `notAfter`; negative once past.
    pub days_to_expiry: i64,
    /// `RSA`, `EC P-256`, `EC P-384`, `Ed25519`, or the key's OID.
    pub key_type: String,
    /// The key's size in bits (the modulus for RSA, the curve for EC).
    pub key_bits: usize,
    /// The signature algorithm of the certificate, e.g.
    /// `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// Certificates presented, the end-entity one first.
    pub chain_length: usize,
    /// The chain leads to a trusted root (judged within the certificate's
    /// validity, so expiry alone does not make it untrusted).
    pub trusted: bool,
    /// Why it does not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untrusted_reason: Option<String>,
    /// The certificate names the MX host.
    pub name_matches: bool,
}

impl CertificateReport {
    pub fn expired(&self) -> bool {
        self.days_to_expiry < 0
    }

    pub fn expiring(&self) -> bool {
        (0..EXPIRING_DAYS).contains(&self.days_to_expiry)
    }
}

/// Why a chain could not be judged at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the server presented no certificate")]
    Empty,
    #[error("the server's certificate does not parse: {0}")]
    Unparsable(String),
}

/// Judges `chain` (end-entity first, as presented) for `host` at `now`
/// against `roots`, each verdict on its own.
pub fn judge(
    chain: &[CertificateDer<'_>],
    host: &str,
    roots: &RootCertStore,
    algorithms: &WebPkiSupportedAlgorithms,
    now: UnixTime,
) -> Result<CertificateReport, ChainError> {
    let (leaf, intermediates) = chain.split_first().ok_or(ChainError::Empty)?;
    let (_, x509) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|e| ChainError::Unparsable(e.to_string()))?;
    let parsed =
        ParsedCertificate::try_from(leaf).map_err(|e| ChainError::Unparsable(e.to_string()))?;
    let not_before = x509.validity().not_before.timestamp();
    let not_after = x509.validity().not_after.timestamp();
    let seconds_now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let verify = |at: UnixTime| {
        verify_server_cert_signed_by_trust_anchor(&parsed, roots, intermediates, at, algorithms.all)
    };
    let trust = match verify(now) {
        // Outside its validity the chain is judged at its edge: the
        // expiry is its own verdict.
        Err(Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        )) => verify(unix_time(not_after)),
        Err(Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        )) => verify(unix_time(not_before)),
        other => other,
    };
    let name_matches = names_host(&parsed, host);
    let (key_type, key_bits) = key(&x509);
    Ok(CertificateReport {
        subject: x509.subject().to_string(),
        issuer: x509.issuer().to_string(),
        names: dns_names(&x509),
        not_after: date(not_after),
        days_to_expiry: (not_after - seconds_now).div_euclid(86_400),
        key_type,
        key_bits,
        signature_algorithm: oid_name(&x509.signature_algorithm.algorithm),
        chain_length: chain.len(),
        trusted: trust.is_ok(),
        untrusted_reason: trust.err().map(|e| e.to_string()),
        name_matches,
    })
}

/// Whether `cert` names `host` (subject alternative names, a wildcard in
/// the leftmost label).
pub fn names_host(cert: &ParsedCertificate<'_>, host: &str) -> bool {
    ServerName::try_from(host)
        .ok()
        .is_some_and(|name| rustls::client::verify_server_name(cert, &name).is_ok())
}

fn unix_time(seconds: i64) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(seconds).unwrap_or(0),
    ))
}

/// `YYYY-MM-DD` of a Unix time, UTC.
fn date(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => seconds.to_string(),
    }
}

fn dns_names(x509: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = x509.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_string()),
            _ => None,
        })
        .collect()
}

/// The key's type and size in bits.
fn key(x509: &X509Certificate<'_>) -> (String, usize) {
    let spki = x509.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".into(), significant_bits(rsa.modulus)),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "unknown curve".into());
            (format!("EC {curve}"), point.key_size())
        }
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => ("Ed25519".into(), 256),
            "1.3.101.113" => ("Ed448".into(), 456),
            _ => (
                oid_name(&spki.algorithm.algorithm),
                spki.subject_public_key.data.len() * 8,
            ),
        },
    }
}

/// The bits of a big-endian unsigned integer, leading zeros left out.
fn significant_bits(bytes: &[u8]) -> usize {
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize
}

fn oid_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bits_leave_out_leading_zeros() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(significant_bits(&[0x01, 0xff]), 9);
        assert_eq!(significant_bits(&[0x00]), 0);
        assert_eq!(significant_bits(&[]), 0);
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_767_225_599), "2025-12-31");
    }

    #[test]
    fn expiring_is_the_last_fortnight() {
        let report = |days| CertificateReport {
            subject: String::new(),
            issuer: String::new(),
            names: Vec::new(),
            not_after: String::new(),
            days_to_expiry: days,
            key_type: String::new(),
            key_bits: 0,
            signature_algorithm: String::new(),
            chain_length: 1,
            trusted: true,
            untrusted_reason: None,
            name_matches: true,
        };
        assert!(report(-1).expired() && !report(-1).expiring());
        assert!(report(0).expiring() && !report(0).expired());
        assert!(report(13).expiring());
        assert!(!report(14).expiring() && !report(14).expired());
    }
}
