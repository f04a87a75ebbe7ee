//! A throwaway certificate authority for the test servers (HTTPS policy
//! hosts, SMTP with STARTTLS): made at start, trusted by the audit only
//! through `extra_roots_pem`, and the certificates it signs.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use time::OffsetDateTime;

pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From `from` to `to` days from now (negative: in the past).
    pub fn days(from: i64, to: i64) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now + time::Duration::days(from),
            not_after: now + time::Duration::days(to),
        }
    }
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        TestCa { issuer }
    }

    /// The CA's certificate, PEM: the audit's `extra_roots_pem`.
    pub fn pem(&self) -> Vec<u8> {
        self.issuer.pem().into_bytes()
    }

    /// The CA's certificate, DER (a DANE-TA trust anchor in tests).
    pub fn der(&self) -> rustls::pki_types::CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A server certificate for `names`, signed by this CA.
    pub fn leaf(&self, subject: &str, names: &[String], validity: Validity) -> Leaf {
        let (params, key) = leaf_params(subject, names, validity);
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        Leaf {
            chain: vec![cert.der().clone()],
            key: pkcs8(&key),
        }
    }
}

/// A self-signed server certificate for `names`: no CA vouches for it.
pub fn self_signed(subject: &str, names: &[String]) -> Leaf {
    let (params, key) = leaf_params(subject, names, Validity::days(-1, 90));
    let cert = params.self_signed(&key).expect("self-signed certificate");
    Leaf {
        chain: vec![cert.der().clone()],
        key: pkcs8(&key),
    }
}

fn leaf_params(
    subject: &str,
    names: &[String],
    validity: Validity,
) -> (CertificateParams, KeyPair) {
    let mut params = CertificateParams::new(names.to_vec()).expect("server params");
    params.distinguished_name.push(DnType::CommonName, subject);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    (params, KeyPair::generate().expect("server key"))
}

fn pkcs8(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// A TLS server configuration presenting `leaf`.
pub fn server_config(leaf: Leaf) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(leaf.chain, leaf.key)
        .expect("server TLS config")
}
