//! What the message fuzz targets share: an offline resolver layer that
//! answers from the fixture zones of fixtures/messages only (msg.test,
//! esp.test, the reverse zone; every other name is NXDOMAIN and nothing
//! leaves the process), the runtime that drives it, and the report call
//! `POST /v1/messages` makes.
//!
//! The signature targets also need signatures that verify: [`Signer`]
//! holds an Ed25519 key generated for the run (no private key is
//! committed), publishes it as `ed._domainkey` of msg.test and esp.test,
//! and signs with it (RFC 8463).

use base64::Engine as _;
use mail_auth::crypto::Ed25519Key;
use mail_auth::dkim::{Canonicalization, DkimSigner};
use mail_auth::headers::HeaderWriter;
use mailvet::dns::{Dns, Settings, UpstreamChoice, zone};
use mailvet::message::Clock;
use mailvet::message::envelope::Envelope;
use mailvet::message::limits::MessageLimits;
use mailvet::message::report::{MessageReport, MessageRequest, ReportError, report};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// The fixture messages' directory.
pub const MESSAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/messages/");

/// 2026-06-02, so fixture signatures are neither future nor expired.
pub const FIXTURE_TIME: u64 = 1_780_400_000;

/// The fields the [`Signer`] signs, all present once in the newsletter.
pub const SIGNED_FIELDS: [&str; 5] = ["From", "To", "Subject", "Date", "Message-ID"];

/// A runtime and a resolver layer over the fixture zones.
pub struct Offline {
    pub runtime: Runtime,
    pub dns: Arc<Dns>,
}

impl Offline {
    /// The fixture zones, with zone-file lines appended to the msg.test
    /// zone (`msg`) and the esp.test zone (`esp`).
    pub fn new(msg: &str, esp: &str) -> Offline {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let zones = [
            ("messages.zone", msg),
            ("esp.zone", esp),
            ("reverse.zone", ""),
        ]
        .iter()
        .map(|(file, extra)| {
            let path = format!("{MESSAGES}{file}");
            let text = std::fs::read_to_string(&path).expect("fixture zone");
            zone::parse(&format!("{text}\n{extra}"), Some(Path::new(&path))).expect("zone")
        })
        .collect();
        let settings = Settings {
            upstream: UpstreamChoice::Offline,
            query_timeout: Duration::from_millis(200),
            attempts: 1,
            deadline: Duration::from_secs(2),
            cache_capacity: 0,
            max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
        };
        let dns = runtime.block_on(async { Dns::new(settings, zones).expect("resolver layer") });
        Offline { runtime, dns }
    }

    /// The message report with the default limits, as `POST /v1/messages`
    /// computes it.
    pub fn report(
        &self,
        raw: Vec<u8>,
        envelope: Envelope,
        bulk: Option<bool>,
        clock: Clock,
    ) -> Result<MessageReport, ReportError> {
        let request = MessageRequest {
            raw,
            envelope,
            bulk,
            authserv_id: "mailvet".to_string(),
            clock,
            limits: MessageLimits::default(),
        };
        self.runtime
            .block_on(async { report(&self.dns, &request, true).await })
    }
}

/// An Ed25519 key of this run, published as `ed._domainkey` of msg.test
/// and esp.test.
pub struct Signer {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl Signer {
    pub fn generate() -> Signer {
        let pkcs8 = Ed25519Key::generate_pkcs8().expect("Ed25519 key");
        let public = Ed25519Key::from_pkcs8_der(&pkcs8)
            .expect("Ed25519 key")
            .public_key();
        Signer { pkcs8, public }
    }

    /// The key record of `domain`, a zone-file line for [`Offline::new`].
    pub fn record(&self, domain: &str) -> String {
        let p = base64::engine::general_purpose::STANDARD.encode(&self.public);
        format!("ed._domainkey.{domain}. IN TXT \"v=DKIM1; k=ed25519; p={p}\"\n")
    }

    fn key(&self) -> Ed25519Key {
        Ed25519Key::from_pkcs8_der(&self.pkcs8).expect("Ed25519 key")
    }

    /// A `DKIM-Signature` field (CR LF ended) by `domain` over `message`
    /// (CR LF form) with body canonicalization `body` and, when asked, the
    /// `l=` of the whole body.
    pub fn dkim(
        &self,
        domain: &str,
        body: Canonicalization,
        body_length: bool,
        message: &[u8],
    ) -> String {
        DkimSigner::from_key(self.key())
            .domain(domain)
            .selector("ed")
            .headers(SIGNED_FIELDS)
            .body_canonicalization(body)
            .body_length(body_length)
            .sign(message)
            .expect("signs")
            .to_header()
    }

    /// The ARC set (i=1, cv=none) msg.test adds to `message`: ARC-Seal,
    /// ARC-Message-Signature and ARC-Authentication-Results, CR LF ended.
    pub fn arc_set(&self, message: &[u8]) -> String {
        let parsed = mail_auth::AuthenticatedMessage::parse(message).expect("parses");
        let results = mail_auth::AuthenticationResults::new("mx.forwarder.msg.test");
        mail_auth::arc::ArcSealer::from_key(self.key())
            .domain("msg.test")
            .selector("ed")
            .headers(SIGNED_FIELDS)
            .seal(&parsed, &results, &mail_auth::ArcOutput::default())
            .expect("seals")
            .to_header()
    }
}

/// The fixture newsletter of msg.test in wire form (CR LF line ends).
pub fn newsletter() -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{MESSAGES}msg-test-newsletter.eml"))
        .expect("fixture message");
    text.replace('\n', "\r\n").into_bytes()
}
