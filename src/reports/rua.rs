//! Where a domain's SMTP TLS reports are posted to this server: its HTTPS
//! reporting URI (RFC 8460 §3), `https://HOST/v1/reports/tls/TOKEN`, and
//! the `_smtp._tls` TXT record that names it (`v=TLSRPTv1; rua=…`).
//!
//! This module decides the shape of that URL and record, and which hosts
//! may be written into them: a host name or address with an optional
//! port and nothing else, so neither a URL nor a record can be bent by
//! what names the host (a request's `Host`, a command line). The token is
//! the store's, one per domain ([`crate::store::tls_endpoints`]).

use crate::store::TlsReportToken;
use serde::Serialize;
use std::net::Ipv6Addr;

/// The path the reports are posted to, before the token.
pub const PATH: &str = "/v1/reports/tls/";

/// A domain's TLS reporting URL and the record to publish for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsReportingUrl {
    /// The domain as stored: lowercase, A-labels, no final dot.
    pub domain: String,
    /// Where its TLS reports are posted.
    pub url: String,
    /// The name of the TXT record: `_smtp._tls.` and the domain.
    pub name: String,
    /// Its value: `v=TLSRPTv1; rua=` and the URL.
    pub record: String,
}

impl TlsReportingUrl {
    /// The URL of `domain`'s reports at `origin` ([`https_origin`]).
    pub fn new(origin: &str, domain: &str, token: &TlsReportToken) -> TlsReportingUrl {
        let url = format!("{origin}{PATH}{token}");
        TlsReportingUrl {
            domain: domain.to_string(),
            name: format!("_smtp._tls.{domain}"),
            record: format!("v=TLSRPTv1; rua={url}"),
            url,
        }
    }

    /// The host the URL names when no reporter on the internet could
    /// post to it ([`unreachable_host`]).
    pub fn unreachable_host(&self) -> Option<&str> {
        unreachable_host(&self.url)
    }
}

/// The host an `https://` URL or origin names, when no reporter on the
/// internet could post to it over HTTPS: an IP address (a certificate
/// names a host name), `localhost`, or a name of one label.
pub fn unreachable_host(url: &str) -> Option<&str> {
    let authority = url.strip_prefix("https://")?.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => return bracketed.split(']').next(),
        None => authority.split(':').next().unwrap_or(authority),
    };
    let local = host.parse::<std::net::Ipv4Addr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost")
        || !host.contains('.');
    local.then_some(host)
}

/// `https://` and `host`, lowercase, when it is a host name, an IPv4
/// address or a bracketed IPv6 address, with an optional port, and
/// nothing else (no user, path, query, space or separator a URL or a
/// record would read otherwise).
pub fn https_origin(host: &str) -> Option<String> {
    let port = match host.strip_prefix('[') {
        Some(bracketed) => {
            let (ip, port) = bracketed.split_once(']')?;
            ip.parse::<Ipv6Addr>().ok()?;
            port
        }
        None => {
            let name = host.split(':').next().unwrap_or_default();
            let fit = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !fit {
                return None;
            }
            &host[name.len()..]
        }
    };
    let port_fit = port.is_empty()
        || port.strip_prefix(':').is_some_and(|digits| {
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u16>().is_ok()
        });
    port_fit.then(|| format!("https://{}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_https_and_the_host_given() {
        for (host, expected) in [
            ("Mailvet.Example", "https://mailvet.example"),
            ("mailvet.example:8443", "https://mailvet.example:8443"),
            ("127.0.0.1:8080", "https://127.0.0.1:8080"),
            ("[2001:db8::1]:8080", "https://[2001:db8::1]:8080"),
        ] {
            assert_eq!(https_origin(host).as_deref(), Some(expected), "{host}");
        }
    }

    #[test]
    fn a_host_that_is_no_host_name_is_refused() {
        for host in [
            "",
            "user@mailvet.example",
            "mailvet.example/path",
            "mailvet.example;x",
            "mailvet.example, other",
            "a b",
            "[2001:db8::1",
            "[not-an-ip]:80",
            "mailvet.example:",
            "mailvet.example:+80",
            "mailvet.example:99999",
            "mailvet.example:80:80",
        ] {
            assert_eq!(https_origin(host), None, "{host:?}");
        }
    }

    #[test]
    fn the_record_names_the_url() {
        let token: TlsReportToken = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let rua = TlsReportingUrl::new("https://mailvet.example", "example.com", &token);
        assert_eq!(
            rua.url,
            "https://mailvet.example/v1/reports/tls/0123456789abcdef0123456789abcdef"
        );
        assert_eq!(rua.name, "_smtp._tls.example.com");
        assert_eq!(rua.record, format!("v=TLSRPTv1; rua={}", rua.url));
    }

    #[test]
    fn a_url_at_an_address_or_a_local_name_is_one_no_reporter_reaches() {
        let token: TlsReportToken = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let host = |origin: &str| {
            TlsReportingUrl::new(origin, "example.com", &token)
                .unreachable_host()
                .map(str::to_owned)
        };
        assert_eq!(host("https://mailvet.example"), None);
        assert_eq!(host("https://mailvet.example:8443"), None);
        assert_eq!(host("https://127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            host("https://[2001:db8::1]:80").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(host("https://localhost:8080").as_deref(), Some("localhost"));
        assert_eq!(
            host("https://app.localhost").as_deref(),
            Some("app.localhost")
        );
        assert_eq!(host("https://mailvet").as_deref(), Some("mailvet"));
    }
}
