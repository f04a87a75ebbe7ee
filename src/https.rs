//! The TLS client configuration of every HTTPS fetch the audit makes (the
//! MTA-STS policy): Mozilla's roots plus the caller's (`--ca-file`), the
//! aws-lc-rs provider, HTTP/1.1 (RFC 8461 §3.3 asks for nothing more).
//!
//! Building it parses the roots and sets up the certificate verifier, which
//! costs far more than a fetch's own setup, so it is built once per set of
//! extra roots and shared: every audit of a process passes the same
//! `--ca-file`, and each fetch takes a clone, which shares the verifier.
//! The guard against private addresses stays with each fetch, since it
//! resolves through that request's resolver.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::{Arc, Mutex};

/// Why the extra trust anchors given by the caller cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the extra CA certificates (--ca-file) cannot be used: {0}")]
pub struct RootsError(String);

/// Reads PEM `CERTIFICATE` blocks; empty input gives no certificate. The
/// CLI calls this to check `--ca-file` before an audit starts.
pub fn parse_extra_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, RootsError> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RootsError(e.to_string()))?;
    if certs.is_empty() {
        return Err(RootsError("no PEM CERTIFICATE block found".into()));
    }
    Ok(certs)
}

/// The TLS client settings: Mozilla's roots plus the caller's, the
/// aws-lc-rs provider already used by mail-auth and hickory.
fn build_config(extra_roots_pem: &[u8]) -> Result<rustls::ClientConfig, RootsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in parse_extra_roots(extra_roots_pem)? {
        roots.add(cert).map_err(|e| RootsError(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RootsError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The shared configuration for these extra roots, built on first use.
pub fn tls_config(extra_roots_pem: &[u8]) -> Result<rustls::ClientConfig, RootsError> {
    static BUILT: Mutex<Option<(Vec<u8>, rustls::ClientConfig)>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((pem, config)) = built.as_ref()
        && pem == extra_roots_pem
    {
        return Ok(config.clone());
    }
    let config = build_config(extra_roots_pem)?;
    *built = Some((extra_roots_pem.to_vec(), config.clone()));
    Ok(config)
}
