//! The SMTP transport probe: how a sender's connection to every MX
//! address goes, up to and through STARTTLS (RFC 5321 §5.1, RFC 3207,
//! RFC 8461 §4.2, RFC 7672 §3).
//!
//! Opt-in (`--probe-smtp`, `?probe=smtp`): it takes seconds and needs
//! outbound port 25. For every address of every MX host the MX check
//! found, one connection, all at once up to [`MAX_ADDRESSES`]; each has
//! its own deadline (`--probe-timeout`), so one silent server holds the
//! report no longer than that. Addresses that are not globally reachable
//! are refused unless private fetches are allowed, as for MTA-STS.
//!
//! This module decides what each address's outcome means:
//!
//! - refused, timed out, or a greeting that refuses the session: the
//!   address **could not be tested from here** (`tls.untestable`), never
//!   "no STARTTLS" — many networks block port 25;
//! - greeted, but STARTTLS not among the EHLO extensions:
//!   `tls.starttls_missing`;
//! - STARTTLS refused or the handshake failed: `tls.handshake_failed`;
//! - a finished handshake: the chain is judged by [`certificate`], each
//!   verdict on its own (`tls.cert_untrusted`, `tls.cert_name_mismatch`,
//!   `tls.cert_expired`, `tls.cert_expiring`); and, on two more
//!   connections within the same deadline, [`legacy`] asks whether TLS 1.0
//!   and 1.1 are still accepted (`tls.legacy_version`).
//!
//! Beside the connections, the TLSA records of every MX host are asked
//! (`_25._tcp.<mx>`); once both are in, [`dane`] matches each address's
//! chain against them (`dane.` findings).
//!
//! [`enforce_failures`] adds MTA-STS's consequence once both are known: an
//! enforcing policy with an MX host that fails TLS at any address is
//! `mta_sts.enforce_tls_failure`; [`agreement`] reports where DANE and
//! MTA-STS tell senders different things.
//!
//! Connections are bounded across audits too: the audits that share one
//! [`ProbeSlots`] (a `mailvet domain` batch, a server) probe at most
//! [`MAX_CONCURRENT_ADDRESSES`] addresses at once, each with at most two
//! connections open at a time; an address's deadline starts when it gets
//! its slot.

pub mod agreement;
pub mod certificate;
pub mod dane;
pub mod legacy;
pub mod smtp;

use super::AuditContext;
use super::mta_sts::MtaStsSection;
use super::mx::MxSection;
use super::protocol::{self, Audited, Protocol};
use crate::findings::{Checked, Finding, catalog};
use crate::https;
use crate::records::address::is_fetchable;
use crate::records::mta_sts::Mode;
use certificate::CertificateReport;
use dane::{DaneResult, DaneStatus, HostTlsa};
use futures_util::future::join_all;
use legacy::LegacyVersion;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde::Serialize;
use smtp::{Greeting, Session};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Most addresses probed for one domain; the others are listed, not probed.
pub const MAX_ADDRESSES: usize = 32;

/// Most addresses probed at once by the audits sharing one [`ProbeSlots`].
pub const MAX_CONCURRENT_ADDRESSES: usize = 64;

/// The probe's share of outbound connections, shared by every clone of
/// the [`super::AuditOptions`] that holds it.
#[derive(Debug, Clone)]
pub struct ProbeSlots(Arc<Semaphore>);

impl Default for ProbeSlots {
    fn default() -> ProbeSlots {
        ProbeSlots::new(MAX_CONCURRENT_ADDRESSES)
    }
}

impl ProbeSlots {
    /// Slots for `addresses` probed at once.
    pub fn new(addresses: usize) -> ProbeSlots {
        ProbeSlots(Arc::new(Semaphore::new(addresses)))
    }

    /// Slots free now (all of them when no probe runs).
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

/// What became of one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStatus {
    /// STARTTLS and a finished TLS handshake; see `tls`.
    Tls,
    /// The server greeted but did not offer STARTTLS.
    NoStarttls,
    /// STARTTLS was offered, but refused when asked or the handshake failed.
    HandshakeFailed,
    /// Refused, timed out, or the server refused the session: could not be
    /// tested from here.
    Untestable,
    /// Not connected to: not globally reachable (and private fetches not
    /// allowed), or past the probe's limit of addresses.
    NotProbed,
}

/// The TLS session set up with one address.
#[derive(Debug, Clone, Serialize)]
pub struct TlsSession {
    /// rustls's name of the version: `TLSv1_3` or `TLSv1_2` (shown to
    /// people by [`version_name`]).
    pub version: String,
    pub cipher_suite: String,
    /// The presented chain, judged; `None` when it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateReport>,
    /// Why the chain could not be judged, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
    /// The deprecated versions the server still accepts (RFC 8996).
    pub legacy_accepted: Vec<LegacyVersion>,
    /// The versions not asked about because the deadline came first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legacy_unknown: Vec<LegacyVersion>,
    /// The chain as presented, end-entity first (DANE matches it).
    #[serde(skip)]
    pub presented: Vec<CertificateDer<'static>>,
}

/// One MX address and what the probe found there.
#[derive(Debug, Clone, Serialize)]
pub struct AddressProbe {
    /// The MX host, lower-case, without the final dot.
    pub host: String,
    pub address: IpAddr,
    pub port: u16,
    pub status: ProbeStatus,
    /// Why the address is untestable, failed or not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The first line of the server's greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// The EHLO extensions offered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSession>,
    /// DANE's verdict on this address: the matched TLSA record, or why
    /// none (absent for an address not probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dane: Option<DaneResult>,
    /// How long the probe of this address took.
    pub elapsed_ms: u64,
}

/// The SMTP transport probe of every MX address: its `tls.` findings fill
/// the `transport` section and are about the MX record that names the host.
pub static PROTOCOL: Protocol = Protocol::at("tls", "SMTP TLS", "", "MX").in_section("transport");

/// The `transport` section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct TransportSection {
    /// Whether the probe ran (`--probe-smtp`, `?probe=smtp`).
    pub probed: bool,
    /// The port connected to (25 but in tests).
    pub port: u16,
    /// Every address of every MX host, by host preference.
    pub addresses: Vec<AddressProbe>,
    /// The TLSA records of every MX host (`_25._tcp.<host>`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tlsa: Vec<HostTlsa>,
}

impl Audited for TransportSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    /// An address that could not be tested is a finding of its own, not
    /// a failed lookup: the probe never leaves the audit undecided.
    fn undecided(&self) -> Option<String> {
        None
    }

    fn summary(&self) -> String {
        if !self.probed {
            return "not probed (--probe-smtp)".into();
        }
        if self.addresses.is_empty() {
            return "no MX address to probe".into();
        }
        self.addresses
            .iter()
            .map(|a| format!("{} {}: {}", a.host, a.address, address_summary(a)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A recorded TLS version as people write it: `TLS 1.3` for rustls's name
/// `TLSv1_3` (what the probe and the SMTP receiver record) and `TLS 1.0`
/// for `TLSv1.0` (a [`LegacyVersion`]'s JSON name); anything else as it is.
pub fn version_name(recorded: &str) -> String {
    match recorded.strip_prefix("TLSv").map(|v| v.replace('_', ".")) {
        Some(number)
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
        {
            format!("TLS {number}")
        }
        _ => recorded.to_string(),
    }
}

fn address_summary(a: &AddressProbe) -> String {
    let dane = match a.dane.as_ref().map(|d| d.status) {
        Some(DaneStatus::Matched) => ", DANE matched",
        Some(DaneStatus::Mismatch) => ", DANE mismatch",
        _ => "",
    };
    let Some(tls) = &a.tls else {
        return format!("{}{dane}", protocol::status_word(&a.status));
    };
    let Some(cert) = &tls.certificate else {
        return version_name(&tls.version);
    };
    let mut verdicts = Vec::new();
    if !cert.trusted {
        verdicts.push("untrusted".to_string());
    }
    if !cert.name_matches {
        verdicts.push("wrong name".into());
    }
    if cert.expired() {
        verdicts.push("expired".into());
    } else {
        verdicts.push(format!("expires in {} days", cert.days_to_expiry));
    }
    verdicts.extend(
        tls.legacy_accepted
            .iter()
            .map(|v| format!("accepts {}", v.name())),
    );
    format!(
        "{}, {}{dane}",
        version_name(&tls.version),
        verdicts.join(", ")
    )
}

/// The section when the probe was not asked for.
pub fn not_probed(port: u16) -> Checked<TransportSection> {
    Checked {
        section: TransportSection {
            probed: false,
            port,
            addresses: Vec::new(),
            tlsa: Vec::new(),
        },
        findings: Vec::new(),
    }
}

/// Probes every address of the MX hosts in `mx`, all at once.
pub async fn check(cx: &AuditContext<'_>, mx: &MxSection) -> Checked<TransportSection> {
    let options = cx.options;
    if !options.probe_smtp {
        return not_probed(options.smtp_port);
    }
    let targets: Vec<(String, IpAddr)> = mx
        .hosts
        .iter()
        .filter(|h| h.exchange != ".")
        .flat_map(|h| h.addresses.iter().map(|ip| (h.exchange.clone(), *ip)))
        .collect();
    let mut hosts: Vec<&str> = Vec::new();
    for (host, _) in &targets {
        if !hosts.contains(&host.as_str()) {
            hosts.push(host);
        }
    }
    let trust = https::roots(&options.extra_roots_pem).map_err(|e| e.to_string());
    let provider = https::provider();
    let client = certificate::client_config(Arc::clone(&provider))
        .map(|c| tokio_rustls::TlsConnector::from(Arc::new(c)))
        .map_err(|e| e.to_string());
    let probes = targets.iter().enumerate().map(|(i, (host, ip))| {
        let (trust, client, provider) = (&trust, &client, &provider);
        async move {
            let mut probe = AddressProbe {
                host: host.clone(),
                address: *ip,
                port: options.smtp_port,
                status: ProbeStatus::NotProbed,
                reason: None,
                banner: None,
                extensions: Vec::new(),
                tls: None,
                dane: None,
                elapsed_ms: 0,
            };
            if i >= MAX_ADDRESSES {
                probe.reason = Some(format!(
                    "the probe connects to at most {MAX_ADDRESSES} addresses per domain"
                ));
                return probe;
            }
            if !options.allow_private_fetch && !is_fetchable(*ip) {
                probe.reason = Some(
                    "not a globally reachable address (allow it with --allow-private-fetch)".into(),
                );
                return probe;
            }
            let (roots, connector) = match (trust, client) {
                (Ok(roots), Ok(connector)) => (roots, connector),
                (Err(e), _) | (_, Err(e)) => {
                    probe.reason = Some(e.clone());
                    return probe;
                }
            };
            // Never closed, so the slot always comes.
            let _slot = options.probe_slots.0.acquire().await;
            let started = Instant::now();
            let deadline = tokio::time::Instant::now() + options.probe_timeout;
            let target = Target {
                host,
                addr: SocketAddr::new(*ip, options.smtp_port),
                connector,
                roots,
                provider,
            };
            match tokio::time::timeout_at(deadline, target.probe(&mut probe)).await {
                Ok(()) => {
                    if let Some(tls) = probe.tls.as_mut() {
                        (tls.legacy_accepted, tls.legacy_unknown) =
                            target.legacy_versions(deadline).await;
                    }
                }
                Err(_) => {
                    probe.status = ProbeStatus::Untestable;
                    probe.reason = Some(format!(
                        "no complete answer within {} ms",
                        options.probe_timeout.as_millis()
                    ));
                }
            }
            probe.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            probe
        }
    });
    let lookups = hosts.iter().map(|host| dane::lookup(cx.resolver, host));
    let (mut addresses, tlsa) = tokio::join!(join_all(probes), join_all(lookups));
    // Hashes and, for usage 2, signatures: off the runtime.
    let judged = tokio::task::spawn_blocking(move || {
        let algorithms = https::provider().signature_verification_algorithms;
        let now = UnixTime::now();
        for probe in addresses.iter_mut() {
            let Some(host) = tlsa.iter().find(|t| t.host == probe.host) else {
                continue;
            };
            if probe.status == ProbeStatus::NotProbed {
                continue;
            }
            let chain = match (&probe.tls, probe.status) {
                (Some(tls), _) => Ok(tls.presented.as_slice()),
                (None, ProbeStatus::Untestable) => Err("the address could not be tested from here"),
                (None, _) => {
                    Err("no TLS session: a sender that applies DANE does not deliver here")
                }
            };
            probe.dane = Some(dane::judge(host, chain, &algorithms, now));
        }
        let findings: Vec<Finding> = addresses
            .iter()
            .flat_map(findings_of)
            .chain(dane::findings(&tlsa, &addresses))
            .collect();
        (addresses, tlsa, findings)
    })
    .await;
    let (addresses, tlsa, findings) = match judged {
        Ok(judged) => judged,
        // Only a panic of the judging task gets here; the probe's own
        // results are gone with it.
        Err(e) => {
            return Checked {
                section: TransportSection {
                    probed: true,
                    port: options.smtp_port,
                    addresses: Vec::new(),
                    tlsa: Vec::new(),
                },
                findings: vec![Finding::new(
                    catalog::TLS_UNTESTABLE,
                    format!("the probe's results could not be judged: {e}"),
                )],
            };
        }
    };
    Checked {
        section: TransportSection {
            probed: true,
            port: options.smtp_port,
            addresses,
            tlsa,
        },
        findings,
    }
}

/// One address to probe and what the probe needs.
struct Target<'a> {
    host: &'a str,
    addr: SocketAddr,
    connector: &'a tokio_rustls::TlsConnector,
    roots: &'a Arc<rustls::RootCertStore>,
    provider: &'a Arc<rustls::crypto::CryptoProvider>,
}

impl Target<'_> {
    /// Connects, greets, asks for STARTTLS and judges the chain, filling
    /// `probe` as it goes (so a deadline keeps what was seen).
    async fn probe(&self, probe: &mut AddressProbe) {
        probe.status = ProbeStatus::Untestable;
        let stream = match TcpStream::connect(self.addr).await {
            Ok(stream) => stream,
            Err(e) => {
                probe.reason = Some(format!("the connection failed: {e}"));
                return;
            }
        };
        let mut session = Session::new(stream);
        let greeting: Greeting = match session.greet().await {
            Ok(greeting) => greeting,
            Err(e) => {
                probe.reason = Some(e.to_string());
                return;
            }
        };
        probe.banner = Some(greeting.banner.clone());
        probe.extensions = greeting.extensions.clone();
        if !greeting.offers("STARTTLS") {
            probe.status = ProbeStatus::NoStarttls;
            session.quit().await;
            return;
        }
        probe.status = ProbeStatus::HandshakeFailed;
        let stream = match session.starttls().await {
            Ok(stream) => stream,
            Err(e) => {
                probe.reason = Some(e.to_string());
                return;
            }
        };
        // An MX host that is no valid DNS name cannot be checked by name;
        // the handshake goes on without SNI's name, at the address.
        let server_name = ServerName::try_from(self.host.to_string())
            .unwrap_or_else(|_| ServerName::IpAddress(self.addr.ip().into()));
        let tls = match self.connector.connect(server_name, stream).await {
            Ok(tls) => tls,
            Err(e) => {
                probe.reason = Some(format!("the TLS handshake failed: {}", error_chain(&e)));
                return;
            }
        };
        let (_, connection) = tls.get_ref();
        let version = connection
            .protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_string();
        let cipher_suite = connection
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or("unknown")
            .to_string();
        let chain: Vec<CertificateDer<'static>> = connection
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|c| c.clone().into_owned())
            .collect();
        let mut tls = tls;
        let _ = tokio::io::AsyncWriteExt::write_all(&mut tls, b"QUIT\r\n").await;
        drop(tls);
        let (host, roots, provider) = (
            self.host.to_string(),
            Arc::clone(self.roots),
            Arc::clone(self.provider),
        );
        // Signature checks of the chain are CPU work: off the runtime.
        let presented = chain.clone();
        let judged = tokio::task::spawn_blocking(move || {
            certificate::judge(
                &chain,
                &host,
                &roots,
                &provider.signature_verification_algorithms,
                UnixTime::now(),
            )
        })
        .await;
        let (certificate, certificate_error) = match judged {
            Ok(Ok(report)) => (Some(report), None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(e) => (None, Some(e.to_string())),
        };
        probe.status = ProbeStatus::Tls;
        probe.tls = Some(TlsSession {
            version,
            cipher_suite,
            certificate,
            certificate_error,
            legacy_accepted: Vec::new(),
            legacy_unknown: Vec::new(),
            presented,
        });
    }

    /// Asks about TLS 1.0 and 1.1 at once, each on a connection of its
    /// own, until `deadline`: (accepted, not known by then).
    async fn legacy_versions(
        &self,
        deadline: tokio::time::Instant,
    ) -> (Vec<LegacyVersion>, Vec<LegacyVersion>) {
        let answers = join_all(LegacyVersion::ALL.map(|version| async move {
            let asked = tokio::time::timeout_at(deadline, self.legacy(version)).await;
            (version, asked.ok().flatten())
        }))
        .await;
        let mut accepted = Vec::new();
        let mut unknown = Vec::new();
        for (version, answer) in answers {
            match answer {
                Some(true) => accepted.push(version),
                Some(false) => {}
                None => unknown.push(version),
            }
        }
        (accepted, unknown)
    }

    /// Whether the server accepts `version` after STARTTLS; `None` when
    /// the dialogue did not get that far.
    async fn legacy(&self, version: LegacyVersion) -> Option<bool> {
        let stream = TcpStream::connect(self.addr).await.ok()?;
        let mut session = Session::new(stream);
        session.greet().await.ok()?;
        let stream = session.starttls().await.ok()?;
        let sni = ServerName::try_from(self.host).ok().map(|_| self.host);
        legacy::ask(stream, version, sni).await.ok()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The findings of one address, each verdict on its own.
fn findings_of(probe: &AddressProbe) -> Vec<Finding> {
    let at = format!("{} ({}) port {}", probe.host, probe.address, probe.port);
    let mut evidence = vec![format!("MX host: {}", probe.host)];
    evidence.push(format!("address: {}", probe.address));
    if let Some(banner) = &probe.banner {
        evidence.push(format!("greeting: 220 {banner}"));
    }
    if !probe.extensions.is_empty() {
        evidence.push(format!("EHLO: {}", probe.extensions.join(" ")));
    }
    let reason = probe.reason.as_deref().unwrap_or("no reason recorded");
    let finding = |code, detail: String| Finding::new(code, detail).with_evidence(evidence.clone());
    match probe.status {
        ProbeStatus::NotProbed => Vec::new(),
        ProbeStatus::Untestable => vec![finding(
            catalog::TLS_UNTESTABLE,
            format!("{at} could not be tested from here: {reason}"),
        )],
        ProbeStatus::NoStarttls => vec![finding(
            catalog::TLS_STARTTLS_MISSING,
            format!("{at} answers but does not offer STARTTLS after EHLO"),
        )],
        ProbeStatus::HandshakeFailed => vec![finding(
            catalog::TLS_HANDSHAKE_FAILED,
            format!("{at} offers STARTTLS, but {reason}"),
        )],
        ProbeStatus::Tls => {
            let Some(tls) = &probe.tls else {
                return Vec::new();
            };
            let Some(cert) = &tls.certificate else {
                let why = tls.certificate_error.as_deref().unwrap_or("no chain");
                return vec![finding(
                    catalog::TLS_CERT_UNTRUSTED,
                    format!("{at}: the certificate could not be judged: {why}"),
                )];
            };
            let mut findings: Vec<Finding> = certificate_findings(&at, &probe.host, cert)
                .into_iter()
                .map(|(code, detail)| {
                    finding(code, detail).with_evidence(certificate_evidence(cert))
                })
                .collect();
            if !tls.legacy_accepted.is_empty() {
                let versions: Vec<&str> = tls.legacy_accepted.iter().map(|v| v.name()).collect();
                findings.push(
                    finding(
                        catalog::TLS_LEGACY_VERSION,
                        format!(
                            "{at} still accepts {} after STARTTLS (it negotiates {} with a \
                             current client)",
                            versions.join(" and "),
                            version_name(&tls.version)
                        ),
                    )
                    .with_evidence(versions.iter().map(|v| format!("accepts {v}"))),
                );
            }
            findings
        }
    }
}

/// The certificate verdicts of one address, as codes with their detail.
fn certificate_findings(
    at: &str,
    host: &str,
    cert: &CertificateReport,
) -> Vec<(crate::findings::Code, String)> {
    let mut out = Vec::new();
    if !cert.trusted {
        out.push((
            catalog::TLS_CERT_UNTRUSTED,
            format!(
                "{at} presents a chain issued by {} that leads to no trusted root: {}",
                cert.issuer,
                cert.untrusted_reason.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    if !cert.name_matches {
        let names = if cert.names.is_empty() {
            "no DNS name".to_string()
        } else {
            cert.names.join(", ")
        };
        out.push((
            catalog::TLS_CERT_NAME_MISMATCH,
            format!("{at} presents a certificate for {names}, not for {host}"),
        ));
    }
    if cert.expired() {
        out.push((
            catalog::TLS_CERT_EXPIRED,
            format!(
                "{at} presents a certificate that expired on {} ({} days ago)",
                cert.not_after, -cert.days_to_expiry
            ),
        ));
    } else if cert.expiring() {
        out.push((
            catalog::TLS_CERT_EXPIRING,
            format!(
                "{at} presents a certificate that expires on {} (in {} days)",
                cert.not_after, cert.days_to_expiry
            ),
        ));
    }
    out
}

fn certificate_evidence(cert: &CertificateReport) -> Vec<String> {
    vec![
        format!("subject: {}", cert.subject),
        format!("issuer: {}", cert.issuer),
        format!("names: {}", cert.names.join(", ")),
        format!("not after: {}", cert.not_after),
        format!("chain: {} certificates", cert.chain_length),
    ]
}

/// Whether `probe` shows a host that a sender enforcing TLS cannot use.
fn fails_enforced_tls(probe: &AddressProbe) -> bool {
    match probe.status {
        ProbeStatus::NoStarttls | ProbeStatus::HandshakeFailed => true,
        ProbeStatus::Tls => probe.tls.as_ref().is_none_or(|tls| {
            tls.certificate
                .as_ref()
                .is_none_or(|c| !c.trusted || !c.name_matches || c.expired())
        }),
        ProbeStatus::Untestable | ProbeStatus::NotProbed => false,
    }
}

/// RFC 8461 §4.2 and §5: under `mode: enforce`, one
/// `mta_sts.enforce_tls_failure` per MX host with an address that fails
/// TLS. Nothing without a valid enforcing policy.
pub fn enforce_failures(mta_sts: &MtaStsSection, transport: &TransportSection) -> Vec<Finding> {
    let Some(policy) = mta_sts.policy.as_ref() else {
        return Vec::new();
    };
    if policy
        .parsed
        .as_ref()
        .is_none_or(|p| p.mode != Mode::Enforce)
    {
        return Vec::new();
    }
    let mut hosts: Vec<&str> = Vec::new();
    for probe in transport.addresses.iter().filter(|p| fails_enforced_tls(p)) {
        if !hosts.contains(&probe.host.as_str()) {
            hosts.push(&probe.host);
        }
    }
    hosts
        .into_iter()
        .map(|host| {
            let failing: Vec<String> = transport
                .addresses
                .iter()
                .filter(|p| p.host == host && fails_enforced_tls(p))
                .map(|p| format!("{} ({})", p.address, protocol::status_word(&p.status)))
                .collect();
            Finding::new(
                catalog::MTA_STS_ENFORCE_TLS_FAILURE,
                format!(
                    "the policy at {} is in enforce mode, and MX host {host} fails TLS at {}: \
                     senders that honour the policy will not deliver to it",
                    policy.url,
                    failing.join(", ")
                ),
            )
            .with_evidence([format!("policy: {}", policy.url), "mode: enforce".into()])
            .with_evidence(failing.iter().map(|f| format!("{host} {f}")))
        })
        .collect()
}

/// The probe's defaults: the port and each address's deadline.
pub const DEFAULT_PORT: u16 = 25;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_shown_as_people_write_them() {
        for (recorded, shown) in [
            ("TLSv1_3", "TLS 1.3"),
            ("TLSv1_2", "TLS 1.2"),
            ("TLSv1.3", "TLS 1.3"),
            ("TLSv1.0", "TLS 1.0"),
            ("unknown", "unknown"),
            ("TLSv", "TLSv"),
            ("TLSvX", "TLSvX"),
        ] {
            assert_eq!(version_name(recorded), shown, "{recorded}");
        }
    }
}
