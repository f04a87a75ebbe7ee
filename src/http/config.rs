//! What `mailvet serve` runs with: access, limits and their defaults.
//!
//! This module decides what each knob of the server means and what it is
//! when nobody sets it ([`ServiceConfig::default`]), what an API key must
//! look like ([`ApiKey`]) and what a CORS origin is ([`cors_origin`]). The
//! command line that fills a [`ServiceConfig`] is the `cli` layer's; the
//! config arrives here already checked.

use crate::message::blocklists::Blocklists;
use crate::message::limits::MessageLimits;
use axum::http::HeaderValue;
use std::time::Duration;

/// Fewest characters an API key may have: a short key can be guessed.
pub const MIN_KEY_LENGTH: usize = 16;

/// One API key. Its `Debug` form never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl std::str::FromStr for ApiKey {
    type Err = String;

    fn from_str(s: &str) -> Result<ApiKey, String> {
        let key = s.trim();
        if key.len() < MIN_KEY_LENGTH {
            return Err(format!(
                "an API key needs at least {MIN_KEY_LENGTH} characters; \
                 make one with `openssl rand -hex 32`"
            ));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("an API key is printable ASCII without spaces".into());
        }
        Ok(ApiKey(key.to_string()))
    }
}

pub const DEFAULT_MAX_CONCURRENT: usize = 64;
pub const DEFAULT_RATE_LIMIT: u32 = 120;
pub const DEFAULT_MAX_BATCH: usize = 50;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Room for two messages of the default 25 MiB limit being read or
/// verified at once, and the small JSON bodies beside them: with the work
/// a message takes on top of its bytes, the server stays inside the
/// 256 MiB pod limit of docs/deploy.md.
pub const DEFAULT_BODY_MEMORY: usize = 64 * 1024 * 1024;
/// Far above any report of a sane domain or message (a batch of 50 audits
/// of a healthy domain with their DNS traces is about 640 KB), low enough
/// that one answer cannot hold a large share of the pod's memory.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 16 * 1024 * 1024;

/// What the server runs with, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// Empty: the API is open.
    pub api_keys: Vec<ApiKey>,
    /// Empty: no CORS. A `*` entry: any origin.
    pub cors_origins: Vec<HeaderValue>,
    /// The web pages are open even when the API needs a key.
    pub web_public: bool,
    /// The origin (`https://host[:port]`) reporting mail servers reach
    /// the server by, named in TLS reporting URLs; `None`: the `Host` of
    /// each request.
    pub base_url: Option<String>,
    /// Requests may ask for the SMTP probe (`?probe=smtp`, the pages'
    /// checkbox), which opens outbound connections to port 25 of the MX
    /// hosts of any domain asked about (`serve --allow-probe`).
    pub allow_probe: bool,
    pub max_concurrent: usize,
    /// Requests per minute per client; 0 is no limit.
    pub rate_limit: u32,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_batch: usize,
    pub shutdown_timeout: Duration,
    pub body_read_timeout: Duration,
    /// Bytes of request bodies held at once.
    pub body_memory: usize,
    pub max_response_size: usize,
    /// What one posted message may cost (the `message` flags of `serve`).
    pub message_limits: MessageLimits,
    /// The DNS blocklists a message's sending IP is asked on (`--dnsbl`).
    pub blocklists: Blocklists,
}

impl Default for ServiceConfig {
    fn default() -> ServiceConfig {
        ServiceConfig {
            api_keys: Vec::new(),
            cors_origins: Vec::new(),
            web_public: false,
            base_url: None,
            allow_probe: false,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            rate_limit: DEFAULT_RATE_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_batch: DEFAULT_MAX_BATCH,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            body_memory: DEFAULT_BODY_MEMORY,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            message_limits: MessageLimits::default(),
            blocklists: Blocklists::none(),
        }
    }
}

/// `*`, or a scheme, host and optional port as a browser sends it in
/// `Origin` (no path, no trailing slash).
pub fn cors_origin(origin: &str) -> Result<HeaderValue, String> {
    let origin = origin.trim();
    let shaped = origin == "*"
        || origin.split_once("://").is_some_and(|(scheme, rest)| {
            matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains('/')
        });
    if !shaped {
        return Err(format!(
            "--cors-origin `{origin}` is not an origin; write it as the browser sends it, \
             e.g. https://app.example or http://localhost:3000 (no path), or *"
        ));
    }
    HeaderValue::from_str(origin).map_err(|_| format!("--cors-origin `{origin}` is not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_long_printable_and_are_never_printed() {
        assert!("short".parse::<ApiKey>().unwrap_err().contains("16"));
        assert!("0123456789abcdef 0123".parse::<ApiKey>().is_err());
        let key: ApiKey = " 0123456789abcdef0123 ".parse().unwrap();
        assert_eq!(key.as_bytes(), b"0123456789abcdef0123");
        assert!(!format!("{key:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn cors_origins_are_origins() {
        for good in ["*", "https://app.example", "http://localhost:3000"] {
            assert!(cors_origin(good).is_ok(), "{good}");
        }
        for bad in ["app.example", "https://app.example/", "ftp://x.example"] {
            assert!(cors_origin(bad).is_err(), "{bad}");
        }
    }
}
