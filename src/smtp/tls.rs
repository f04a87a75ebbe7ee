//! STARTTLS (RFC 3207): the receiver's TLS configuration, and what a
//! session records of the TLS it negotiated.
//!
//! This module decides the certificate: the PEM chain and key of
//! `--smtp-cert`/`--smtp-key`, or, when neither is given, a self-signed
//! one for the receiver's host name made at start. Senders do not check an
//! MX host's certificate unless the domain publishes MTA-STS or DANE, so a
//! self-signed one still lets a sender show that it encrypts; a test
//! inbox for senders that do check needs a real one. TLS 1.2 and 1.3 with
//! rustls's defaults; the report records the version and the cipher.

use crate::local_file;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

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
            let made = rcgen::generate_simple_self_signed(vec![host.to_string()])?;
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
            (vec![made.cert.der().clone()], key)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// What a session negotiated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `TLSv1_3`, `TLSv1_2`.
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
