//! The trust the audit's TLS clients rest on: Mozilla's roots plus the
//! caller's (`--ca-file`), with the aws-lc-rs provider. The HTTPS fetches
//! (the MTA-STS policy) get a client configuration on them, HTTP/1.1 (RFC
//! 8461 §3.3 asks for nothing more); the SMTP transport probe judges each
//! MX host's chain against the same roots.
//!
//! Building them parses the roots and sets up the certificate verifier,
//! which costs far more than a fetch's own setup, so they are built once
//! per set of extra roots and shared: every audit of a process passes the
//! same `--ca-file`, and each fetch takes a clone, which shares the
//! verifier.
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

/// The roots and the HTTPS client settings built on them.
#[derive(Clone)]
struct Trust {
    roots: Arc<rustls::RootCertStore>,
    config: rustls::ClientConfig,
}

/// Mozilla's roots plus the caller's, and the HTTPS client settings with
/// the aws-lc-rs provider already used by mail-auth and hickory.
fn build(extra_roots_pem: &[u8]) -> Result<Trust, RootsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in parse_extra_roots(extra_roots_pem)? {
        roots.add(cert).map_err(|e| RootsError(e.to_string()))?;
    }
    let roots = Arc::new(roots);
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| RootsError(e.to_string()))?
        .with_root_certificates(Arc::clone(&roots))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Trust { roots, config })
}

/// The shared trust for these extra roots, built on first use.
fn trust(extra_roots_pem: &[u8]) -> Result<Trust, RootsError> {
    static BUILT: Mutex<Option<(Vec<u8>, Trust)>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((pem, trust)) = built.as_ref()
        && pem == extra_roots_pem
    {
        return Ok(trust.clone());
    }
    let trust = build(extra_roots_pem)?;
    *built = Some((extra_roots_pem.to_vec(), trust.clone()));
    Ok(trust)
}

/// The cryptography of every TLS client here.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The shared HTTPS client configuration for these extra roots.
pub fn tls_config(extra_roots_pem: &[u8]) -> Result<rustls::ClientConfig, RootsError> {
    trust(extra_roots_pem).map(|t| t.config)
}

/// The trust anchors for these extra roots: Mozilla's plus the caller's.
pub fn roots(extra_roots_pem: &[u8]) -> Result<Arc<rustls::RootCertStore>, RootsError> {
    trust(extra_roots_pem).map(|t| t.roots)
}
