//! The domain a caller asks about: validated, and known in both its ASCII
//! (A-label) and Unicode (U-label) forms (RFC 5890, IDNA2008 via UTS #46).
//!
//! This module decides what counts as an auditable domain: not an IP
//! literal, no empty label, labels of at most 63 octets, at most 253 octets
//! in all, at least two labels, and a valid IDNA conversion.

use crate::dns::{MAX_LABEL, MAX_NAME};
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
#[error("{} is not a domain name: {reason}", crate::untrusted::echoed(input))]
pub struct DomainError {
    pub input: String,
    pub reason: String,
}

impl DomainName {
    pub fn parse(input: &str) -> Result<DomainName, DomainError> {
        let fail = |reason: String| DomainError {
            input: input.to_string(),
            reason,
        };
        let trimmed = input.trim();
        let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if bare.is_empty() {
            return Err(fail(if trimmed == "." {
                "it is the DNS root, not a domain; give a full domain such as example.com".into()
            } else {
                "it is empty".into()
            }));
        }
        if let Some(c) = bare.chars().find(|&c| is_invisible(c)) {
            return Err(fail(format!(
                "it contains an invisible or control character (U+{:04X})",
                u32::from(c)
            )));
        }
        if let Some(reason) = what_else_it_is(bare) {
            return Err(fail(reason));
        }
        let unbracketed = bare.trim_start_matches('[').trim_end_matches(']');
        if unbracketed.parse::<std::net::IpAddr>().is_ok() {
            return Err(fail(
                "it is an IP address; give the domain that sends the mail".into(),
            ));
        }
        if bare.split('.').any(str::is_empty) {
            return Err(fail(
                "it has an empty label (two dots in a row, or a leading dot)".into(),
            ));
        }
        // The strict conversion (STD3 rules, hyphens checked) but for the
        // lengths, which are measured on its A-label form first, so that a
        // name too long is told so. Where it refuses the name, the lenient
        // conversion gives the form to measure; where it takes the name,
        // the lenient one would give the same form (they map alike and
        // differ only in what they refuse).
        let strict = idna::uts46::Uts46::new().to_ascii(
            bare.as_bytes(),
            idna::uts46::AsciiDenyList::STD3,
            idna::uts46::Hyphens::Check,
            idna::uts46::DnsLength::Ignore,
        );
        let long = match &strict {
            Ok(ascii) => std::borrow::Cow::Borrowed(ascii.as_ref()),
            Err(_) => std::borrow::Cow::Owned(a_label(bare)),
        };
        if long.split('.').any(|l| l.len() > MAX_LABEL) {
            return Err(fail(format!(
                "a label is longer than {MAX_LABEL} characters"
            )));
        }
        if long.len() > MAX_NAME {
            return Err(fail(format!(
                "the name is longer than {MAX_NAME} characters"
            )));
        }
        // The rest of the strict conversion's DNS length rule: no empty
        // label (a mapped full stop such as U+3002 can make one) and no
        // final dot.
        let ascii = strict
            .ok()
            .filter(|ascii| idna::uts46::verify_dns_length(ascii, false))
            .map(std::borrow::Cow::into_owned)
            .ok_or_else(|| {
                fail(
                    match bare.chars().find(|&c| c.is_ascii() && !is_name_char(c)) {
                        Some(c) => format!(
                            "it contains {}; a domain has letters, digits, hyphens and dots",
                            if c == ' ' {
                                "a space".to_string()
                            } else {
                                format!("`{c}`")
                            }
                        ),
                        None => match bare
                            .split('.')
                            .find(|l| l.starts_with('-') || l.ends_with('-'))
                        {
                            Some(label) => format!(
                                "the label `{label}` starts or ends with a hyphen, which no \
                                 host name may (RFC 952, RFC 1123 §2.1)"
                            ),
                            None => "it is not a valid internationalized domain name (IDNA)".into(),
                        },
                    },
                )
            })?;
        if !ascii.contains('.') {
            return Err(fail(
                "it has a single label; give a full domain such as example.com".into(),
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

/// `name` as the DNS asks for it, leniently: its Unicode labels as
/// A-labels (RFC 8616 §4); an ASCII name, or one IDNA refuses, as it is.
pub fn a_label(name: &str) -> String {
    if name.is_ascii() {
        return name.to_string();
    }
    idna::domain_to_ascii(name).unwrap_or_else(|_| name.to_string())
}

/// Each name once, in the order first given: a name given again, in
/// another case or in its other (A- or U-label) form, is the same name.
pub fn distinct(names: Vec<DomainName>) -> Vec<DomainName> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.ascii.clone()))
        .collect()
}

/// Characters no one sees or that change how text reads: the
/// [unsafe](crate::untrusted::is_unsafe) ones, and the soft hyphen,
/// zero-width characters and byte order mark, which a copy from a web
/// page or a document can carry into a name.
fn is_invisible(c: char) -> bool {
    crate::untrusted::is_unsafe(c)
        || matches!(
            c,
            '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
}

/// An ASCII character a host name may hold (RFC 1123 §2.1).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// Why input that names something else than a domain is not one: a URL,
/// an email address or a record's name, with the domain in it when there
/// is one.
fn what_else_it_is(bare: &str) -> Option<String> {
    let within = |reason: &str, domain: &str| match DomainName::parse(domain) {
        Ok(d) => format!("{reason} ({})", d.unicode),
        Err(_) => reason.to_string(),
    };
    if let Some((_, rest)) = bare.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        return Some(within("give the domain alone, not a URL", host));
    }
    if let Some((_, domain)) = bare.rsplit_once('@') {
        return Some(within(
            "it is an email address; give the part after @",
            domain,
        ));
    }
    if let Some((host, _)) = bare.split_once('/') {
        return Some(within("give the domain alone, not a URL", host));
    }
    let labels: Vec<&str> = bare.split('.').collect();
    let last_underscored = labels.iter().rposition(|l| l.starts_with('_'))?;
    Some(within(
        "it is a record's name; give the domain",
        &labels[last_underscored + 1..].join("."),
    ))
}

/// What [`is_dkim_selector`] takes, in words for a refusal.
pub const DKIM_SELECTOR_RULE: &str = "labels of letters, digits, `-` and `_` joined by dots, \
     as in the s= tag of a DKIM-Signature";

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

    fn reason(input: &str) -> String {
        DomainName::parse(input).unwrap_err().reason
    }

    #[test]
    fn a_label_too_long() {
        let label = "a".repeat(64);
        assert_eq!(
            reason(&format!("{label}.example")),
            "a label is longer than 63 characters"
        );
        assert_eq!(
            reason(&format!("{}.example", "ü".repeat(60))),
            "a label is longer than 63 characters",
            "counted in the A-label form"
        );
    }

    #[test]
    fn a_name_too_long() {
        let name = format!("{}example", "abcdefghi.".repeat(26));
        assert_eq!(reason(&name), "the name is longer than 253 characters");
    }

    #[test]
    fn an_email_address() {
        assert_eq!(
            reason("news@web.test"),
            "it is an email address; give the part after @ (web.test)"
        );
        assert_eq!(
            reason("news@"),
            "it is an email address; give the part after @"
        );
    }

    #[test]
    fn a_url() {
        for url in [
            "https://web.test/x",
            "http://user@web.test:8080",
            "web.test/x",
        ] {
            assert_eq!(
                reason(url),
                "give the domain alone, not a URL (web.test)",
                "{url}"
            );
        }
    }

    #[test]
    fn a_records_name() {
        for name in [
            "_dmarc.web.test",
            "s1._domainkey.web.test",
            "_smtp._tls.web.test",
        ] {
            assert_eq!(
                reason(name),
                "it is a record's name; give the domain (web.test)",
                "{name}"
            );
        }
        assert_eq!(
            DomainName::parse("_dmarc.web.test")
                .unwrap_err()
                .to_string(),
            "`_dmarc.web.test` is not a domain name: it is a record's name; give the domain (web.test)"
        );
    }

    #[test]
    fn an_invisible_or_control_character() {
        assert_eq!(
            reason("web\u{202e}tset.test"),
            "it contains an invisible or control character (U+202E)"
        );
        assert_eq!(
            reason("web\u{200b}.test"),
            "it contains an invisible or control character (U+200B)"
        );
        assert_eq!(
            reason("web\u{7}.test"),
            "it contains an invisible or control character (U+0007)"
        );
    }

    #[test]
    fn a_character_no_domain_has() {
        assert_eq!(
            reason("web$shop.test"),
            "it contains `$`; a domain has letters, digits, hyphens and dots"
        );
        assert_eq!(
            reason("web shop.test"),
            "it contains a space; a domain has letters, digits, hyphens and dots"
        );
        assert_eq!(
            reason("xn--a.example"),
            "it is not a valid internationalized domain name (IDNA)"
        );
        assert_eq!(
            reason("-foo.test"),
            "the label `-foo` starts or ends with a hyphen, which no host name may (RFC 952, \
             RFC 1123 §2.1)"
        );
        assert_eq!(
            reason("."),
            "it is the DNS root, not a domain; give a full domain such as example.com"
        );
    }

    #[test]
    fn a_name_refused_is_measured_first_and_a_mapped_full_stop_makes_no_label() {
        assert_eq!(
            reason(&format!("{}$.example", "a".repeat(64))),
            "a label is longer than 63 characters",
            "the length is told before the character"
        );
        for name in ["a\u{3002}\u{3002}example", "web.test\u{3002}"] {
            assert_eq!(
                reason(name),
                "it is not a valid internationalized domain name (IDNA)",
                "{name}"
            );
        }
        let mapped = DomainName::parse("web\u{3002}test").unwrap();
        assert_eq!(mapped.ascii, "web.test");
    }

    #[test]
    fn a_name_given_again_in_any_form_is_kept_once() {
        let names = [
            "Bücher.example",
            "web.test",
            "xn--bcher-kva.example",
            "WEB.test.",
        ]
        .map(|n| DomainName::parse(n).unwrap());
        let kept: Vec<String> = distinct(names.to_vec())
            .into_iter()
            .map(|n| n.ascii)
            .collect();
        assert_eq!(kept, ["xn--bcher-kva.example", "web.test"]);
    }

    #[test]
    fn a_long_input_is_echoed_short() {
        let error = DomainName::parse(&"x".repeat(15_000)).unwrap_err();
        let shown = error.to_string();
        assert!(shown.len() < 300, "{shown}");
        assert!(shown.contains("…` is not a domain name"), "{shown}");
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
