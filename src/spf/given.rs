//! The client IP, HELO name and MAIL FROM a person gives (an `--ip`,
//! `--helo` or `--mail-from` flag, a form field, an API parameter, a
//! `check` config): refused when it is plainly not one, and written the
//! way SPF reads it.
//!
//! This module decides what such a value may be. `check_host()` takes
//! any domain (RFC 7208 §4.3: a malformed one gives `none`, which the
//! report explains), so a value that could be a receiver's real envelope
//! passes, odd characters and all. What is refused is what no envelope
//! holds and a person easily pastes: a URL, a list of addresses, a MAIL
//! FROM without a domain (`bounce`); those would otherwise read as "no
//! SPF record" with advice to publish one.
//!
//! What passes is written as SPF reads it: angle brackets around a MAIL
//! FROM dropped (`<>` is the null sender, as `''` is), and a domain in
//! lower case without a final dot. An address literal HELO (`[192.0.2.1]`)
//! and a local-part are kept as given: RFC 5321 §4.1.2 lets a quoted
//! local-part hold spaces, and the Authentication-Results and Received-SPF
//! fields quote what they echo.

use crate::records::name::DomainName;
use crate::untrusted::echoed;
use std::net::IpAddr;

/// The connecting client's IP address, IPv4 or IPv6; a refusal says
/// what to give instead (a host name is the usual mistake).
pub fn client_ip(value: &str) -> Result<IpAddr, String> {
    let value = value.trim();
    value.parse().map_err(|_| {
        format!(
            "{} is not an IP address; give the sending server's address, e.g. 192.0.2.10 \
             or 2001:db8::10 (a host name's address is what `dig +short NAME` prints)",
            echoed(value)
        )
    })
}

/// The HELO name to check, its domain written as SPF reads it.
pub fn helo(value: &str) -> Result<String, String> {
    let value = value.trim();
    if let Some(reason) = no_identity(value) {
        return Err(format!("{} is not a HELO name: {reason}", echoed(value)));
    }
    if value.starts_with('[') {
        return Ok(value.to_string());
    }
    // RFC 5321 §4.1.1.1: the argument of HELO is one name.
    if value.contains(char::is_whitespace) {
        return Err(format!(
            "{} is not a HELO name: it holds a space; give the one name the server \
             greets with, e.g. mail.example.com",
            echoed(value)
        ));
    }
    Ok(domain(value))
}

/// The MAIL FROM to check: `local@domain`, `""` for the null sender, or
/// a domain alone (RFC 7208 §4.3 checks it as `postmaster@domain`).
pub fn mail_from(value: &str) -> Result<String, String> {
    let value = value.trim();
    let refused = |reason: &str| format!("{} is not an envelope sender: {reason}", echoed(value));
    let teach = "give one address, e.g. bounce@example.com ('' for the null sender)";
    if let Some(reason) = no_identity(value) {
        return Err(refused(&reason));
    }
    let address = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value)
        .trim();
    let Some((local, at)) = address.rsplit_once('@') else {
        if !address.is_empty() && !address.contains('.') {
            return Err(refused(&format!("it has no @domain; {teach}")));
        }
        return Ok(domain(address));
    };
    if at.trim().is_empty() {
        return Err(refused(&format!("it has no domain after the @; {teach}")));
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if !quoted && local.contains(['@', ',']) {
        return Err(refused(&format!("it holds more than one address; {teach}")));
    }
    Ok(format!("{local}@{}", domain(at)))
}

/// Why `value` is no identity of either kind: it holds a control
/// character, or it is a URL (naming the domain in it); else `None`.
fn no_identity(value: &str) -> Option<String> {
    if value.chars().any(char::is_control) {
        return Some("it contains a control character".into());
    }
    if !value.contains("://") {
        return None;
    }
    Some(match DomainName::parse(value) {
        Err(e) => e.reason,
        Ok(_) => "it is a URL".into(),
    })
}

/// A domain as SPF reads it: ASCII letters in lower case, no final dot.
fn domain(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_ip_is_an_address_not_a_name() {
        assert_eq!(
            client_ip(" 2001:db8::10 ").unwrap().to_string(),
            "2001:db8::10"
        );
        assert_eq!(
            client_ip("mail.web.test").unwrap_err(),
            "`mail.web.test` is not an IP address; give the sending server's address, e.g. \
             192.0.2.10 or 2001:db8::10 (a host name's address is what `dig +short NAME` prints)"
        );
    }

    /// RFC 5321 §4.1.1.1: a HELO is a domain or an address literal; one
    /// that is neither still reaches check_host() (RFC 7208 §4.3).
    #[test]
    fn a_helo_name_is_written_as_spf_reads_it() {
        assert_eq!(helo(" Mail.Example.COM. ").unwrap(), "mail.example.com");
        assert_eq!(helo("[IPv6:2001:DB8::1]").unwrap(), "[IPv6:2001:DB8::1]");
        assert_eq!(helo("bad_helo!").unwrap(), "bad_helo!");
        assert!(helo("a b").unwrap_err().contains("it holds a space"));
        assert_eq!(
            helo("mail\u{1b}[2J.example").unwrap_err(),
            "`mail\\u{1b}[2J.example` is not a HELO name: it contains a control character"
        );
        assert_eq!(
            helo("https://mail.example.com/").unwrap_err(),
            "`https://mail.example.com/` is not a HELO name: give the domain alone, not a URL \
             (mail.example.com)"
        );
    }

    /// RFC 5321 §4.1.2 (one reverse-path), RFC 7208 §4.3 (a domain alone
    /// is postmaster's).
    #[test]
    fn a_mail_from_is_one_address() {
        assert_eq!(
            mail_from("Bounce@Example.COM.").unwrap(),
            "Bounce@example.com"
        );
        assert_eq!(
            mail_from("<bounce@example.com>").unwrap(),
            "bounce@example.com"
        );
        assert_eq!(mail_from("<>").unwrap(), "");
        assert_eq!(mail_from("").unwrap(), "");
        assert_eq!(mail_from("Example.com").unwrap(), "example.com");
        assert!(
            mail_from("a@")
                .unwrap_err()
                .contains("no domain after the @")
        );
        assert!(
            mail_from("@")
                .unwrap_err()
                .contains("no domain after the @")
        );
        assert_eq!(
            mail_from("\"a@b\"@example.com").unwrap(),
            "\"a@b\"@example.com"
        );
        assert_eq!(
            mail_from("x;dkim=pass header.d=paypal.com@xss.test").unwrap(),
            "x;dkim=pass header.d=paypal.com@xss.test"
        );
        assert_eq!(
            mail_from("bounce").unwrap_err(),
            "`bounce` is not an envelope sender: it has no @domain; give one address, e.g. \
             bounce@example.com ('' for the null sender)"
        );
        assert!(
            mail_from("<a\u{7}@example.com>")
                .unwrap_err()
                .ends_with("is not an envelope sender: it contains a control character")
        );
        let list = mail_from("a@x.example, b@y.example").unwrap_err();
        assert!(list.contains("more than one address"), "{list}");
        let url = mail_from("https://example.com/").unwrap_err();
        assert!(url.contains("not a URL (example.com)"), "{url}");
    }
}
