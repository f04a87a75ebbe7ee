//! STARTTLS (RFC 3207): the receiver's TLS configuration, and what a
//! session records of the TLS it negotiated.
//!
//! This module decides the certificate: the PEM chain and key of
//! `--smtp-cert`/`--smtp-key`, or, when neither is given, a self-signed
//! one for the receiver's host name made at start (that name is its
//! subject and its subject alternative name; it is valid from a day before
//! the start for a year). Senders do not check an MX host's certificate
//! unless the domain publishes MTA-STS or DANE, so a self-signed one still
//! lets a sender show that it encrypts; a test inbox for senders that do
//! check needs a real one. TLS 1.2 and 1.3 with
//! rustls's defaults; the report records the version and the cipher.

use crate::local_file;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How long the self-signed certificate is valid after it is made: a
/// year, about what public CAs issue for.
const SELF_SIGNED_DAYS: i64 = 365;

/// Largest certificate chain or key file read.
const PEM_FILE_LIMIT: u64 = 1024 * 1024;

/// Why STARTTLS cannot be offered as configured.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error(transparent)]
    File(#[from] local_file::FileError),
    #[error("{0}: no PEM certificate in it")]
    NoCertificate(String),
    #[error("{0}: no PEM private key in it")]
    NoKey(String),
    #[error("the certificate and key are not usable together: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
}

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certificate<'a> {
    /// PEM files: the chain (leaf first) and its private key.
    Files { chain: &'a Path, key: &'a Path },
    /// Self-signed for this host name, made now.
    SelfSigned { host: &'a str },
}

/// The server configuration STARTTLS hands sessions to.
pub fn server_config(certificate: Certificate<'_>) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let (chain, key) = match certificate {
        Certificate::Files { chain, key } => {
            let chain_pem = local_file::read(chain, "certificate chain", PEM_FILE_LIMIT)?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(TlsSetupError::NoCertificate(chain.display().to_string()));
            }
            let key_pem = local_file::read(key, "private key", PEM_FILE_LIMIT)?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|_| TlsSetupError::NoKey(key.display().to_string()))?;
            (certs, key)
        }
        Certificate::SelfSigned { host } => {
            let (cert, key) = self_signed(host, OffsetDateTime::now_utc())?;
            (vec![cert], key)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// A certificate for `host` signed by its own new key: `host` is its
/// subject's common name and its one subject alternative name (RFC 9525
/// §6.3 matches on that), valid from a day before `now` (for senders whose
/// clock is behind) for [`SELF_SIGNED_DAYS`] more. It is made anew at every
/// start: a receiver that runs for over a year shows an expired one until
/// it is restarted.
fn self_signed(
    host: &str,
    now: OffsetDateTime,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rcgen::Error> {
    let mut params = CertificateParams::new(vec![host.to_string()])?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, host);
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(SELF_SIGNED_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().clone(), key))
}

/// What a session negotiated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// rustls's name of the version: `TLSv1_3`, `TLSv1_2` (shown to
    /// people by [`version_name`](crate::domain::transport::version_name)).
    pub version: String,
    /// The IANA name of the cipher suite.
    pub cipher: String,
}

impl TlsInfo {
    pub fn of(connection: &rustls::ServerConnection) -> TlsInfo {
        TlsInfo {
            version: connection
                .protocol_version()
                .map_or_else(|| "unknown".into(), |v| format!("{v:?}")),
            cipher: connection
                .negotiated_cipher_suite()
                .map_or_else(|| "unknown".into(), |c| format!("{:?}", c.suite())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

    #[test]
    fn the_self_signed_certificate_names_the_host_and_lasts_a_year() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let (der, _) = self_signed("inbox.example.test", now).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let names: Vec<&str> = cert
            .subject()
            .iter_common_name()
            .map(|cn| cn.as_str().unwrap())
            .collect();
        assert_eq!(names, ["inbox.example.test"]);
        assert_eq!(cert.subject(), cert.issuer(), "self-signed");
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            san.value.general_names,
            [GeneralName::DNSName("inbox.example.test")]
        );
        let validity = cert.validity();
        assert_eq!(
            validity.not_before.timestamp(),
            now.unix_timestamp() - 86_400
        );
        assert_eq!(
            validity.not_after.timestamp(),
            now.unix_timestamp() + 365 * 86_400
        );
        // rustls serves it: the certificate and its key go together.
        assert!(
            server_config(Certificate::SelfSigned {
                host: "inbox.example.test"
            })
            .is_ok()
        );
    }
}
