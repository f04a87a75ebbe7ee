//! The domain a caller asks about: validated, and known in both its ASCII
//! (A-label) and Unicode (U-label) forms (RFC 5890, IDNA2008 via UTS #46).
//!
//! This module decides what counts as an auditable domain: not an IP
//! literal, no empty label, labels of at most 63 octets, at most 253 octets
//! in all, at least two labels, and a valid IDNA conversion.

use hickory_proto::rr::Name;
use serde::Serialize;

/// A validated domain name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainName {
    /// Lower-case A-label form without the final dot: `xn--bcher-kva.example`.
    pub ascii: String,
    /// The Unicode form: `bücher.example` (equal to `ascii` for ASCII names).
    pub unicode: String,
}

/// Why input is not an auditable domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a domain name: {reason}")]
pub struct DomainError {
    pub input: String,
    pub reason: String,
}

impl DomainName {
    pub fn parse(input: &str) -> Result<DomainName, DomainError> {
        let fail = |reason: &str| DomainError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if bare.is_empty() {
            return Err(fail("it is empty"));
        }
        let unbracketed = bare.trim_start_matches('[').trim_end_matches(']');
        if unbracketed.parse::<std::net::IpAddr>().is_ok() {
            return Err(fail(
                "it is an IP address; give the domain that sends the mail",
            ));
        }
        if bare.split('.').any(str::is_empty) {
            return Err(fail(
                "it has an empty label (two dots in a row, or a leading dot)",
            ));
        }
        let ascii = idna::domain_to_ascii_strict(bare)
            .map_err(|_| fail("it is not a valid internationalized domain name (IDNA)"))?;
        if ascii.len() > 253 {
            return Err(fail("it is longer than 253 characters"));
        }
        if ascii.split('.').any(|l| l.len() > 63) {
            return Err(fail("a label is longer than 63 characters"));
        }
        if !ascii.contains('.') {
            return Err(fail(
                "it has a single label; give a full domain such as example.com",
            ));
        }
        let (unicode, _) = idna::domain_to_unicode(&ascii);
        Ok(DomainName { ascii, unicode })
    }

    /// The fully qualified DNS name.
    pub fn fqdn(&self) -> Name {
        let mut name = Name::from_ascii(&self.ascii).unwrap_or_else(|_| Name::root());
        name.set_fqdn(true);
        name
    }

    /// A name below this domain, e.g. `child("_dmarc")`.
    pub fn child(&self, label: &str) -> String {
        format!("{label}.{}", self.ascii)
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.ascii)
    }
}

/// Whether text can be a DKIM selector: dot-separated labels of letters,
/// digits, `-` and `_` (RFC 6376 §3.1, a sub-domain), 1–63 octets each.
pub fn is_dkim_selector(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The registrable domain of a lower-case ASCII name: its public suffix
/// and one label more, by the Public Suffix List (`news.example.co.uk` →
/// `example.co.uk`); the name itself when the list gives none. What two
/// names share when they belong to one organization, without a DNS walk
/// (RFC 9989 §4.10 finds the DMARC one by asking DNS).
pub fn registrable_domain(name: &str) -> &str {
    psl::domain_str(name).unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ascii_and_idn_in_both_forms() {
        let d = DomainName::parse("Example.COM.").unwrap();
        assert_eq!(
            (d.ascii.as_str(), d.unicode.as_str()),
            ("example.com", "example.com")
        );
        let idn = DomainName::parse("bücher.example").unwrap();
        assert_eq!(idn.ascii, "xn--bcher-kva.example");
        assert_eq!(idn.unicode, "bücher.example");
        let from_ace = DomainName::parse("xn--bcher-kva.example").unwrap();
        assert_eq!(from_ace.unicode, "bücher.example");
    }

    #[test]
    fn rejects_what_cannot_be_a_mail_domain() {
        for bad in [
            "",
            ".",
            "192.0.2.1",
            "[2001:db8::1]",
            "a..example",
            ".example.com",
            "localhost",
            "xn--a.example",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}example", "abcdefghi.".repeat(26)),
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(is_dkim_selector("selector1") && is_dkim_selector("s1.sub"));
        assert!(!is_dkim_selector("a..b") && !is_dkim_selector("x/y") && !is_dkim_selector(""));
        let e = DomainName::parse("192.0.2.1").unwrap_err();
        assert_eq!(registrable_domain("news.example.co.uk"), "example.co.uk");
        assert_eq!(registrable_domain("example.com"), "example.com");
        assert!(e.to_string().contains("IP address"));
    }
}
