//! How a value that came from outside — an envelope sender, a HELO name, a
//! signature's `d=` and `s=`, a reason — is written into the trace header
//! fields a receiver adds: `Received-SPF` (RFC 7208 §9.1) and
//! `Authentication-Results` (RFC 8601 §2.2).
//!
//! This module decides when such a value may stand as it is and how it is
//! quoted otherwise, so that no value can end the field's clause early
//! (`;`), add a property of its own (`=`), open or close a comment, or
//! break the line. In `Received-SPF` a dot-atom stands as it is
//! ([`key_value`]); in an Authentication-Results property an RFC 2045
//! token or an address of a dot-atom and a domain name does (RFC 8601's
//! `value / [ [ local-part ] "@" ] domain-name`, [`property_value`]).
//! Anything else is an RFC 5322 quoted-string. A comment has its
//! parentheses and backslashes written as quoted-pairs. Control
//! characters, which no part of a header field may hold, are left out of
//! both (a tab becomes a space). Lengths are bounded so that no line
//! passes RFC 5322's 998 characters: a comment is cut, a property value
//! longer than an address may be is left out.

/// RFC 5322 §3.2.3 atext.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Whether `text` is an RFC 5322 dot-atom: atoms of atext joined by dots.
fn is_dot_atom(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `text` without control characters, a tab as a space, and with `\` and
/// each of `special` written as a quoted-pair.
fn quoted_pairs(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => {
                if c == '\\' || special.contains(&c) {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    out
}

/// `text` as an RFC 5322 quoted-string.
pub fn quoted_string(text: &str) -> String {
    format!("\"{}\"", quoted_pairs(text, &['"']))
}

/// The most characters of a comment's text kept; the rest is cut, so a
/// long reason cannot stretch a line past RFC 5322's 998.
const MAX_COMMENT: usize = 200;

/// The longest property value written: an address's most (RFC 5321
/// §4.5.3.1: a 64-octet local part, `@`, a 255-octet domain). A longer
/// one is left out, as RFC 8601 lets a property be.
const MAX_PROPERTY: usize = 320;

/// `text` as the inside of a comment, `(` and `)` added by the caller;
/// cut after [`MAX_COMMENT`] characters.
pub fn comment(text: &str) -> String {
    match text.char_indices().nth(MAX_COMMENT) {
        Some((cut, _)) => format!("{}…", quoted_pairs(&text[..cut], &['(', ')'])),
        None => quoted_pairs(text, &['(', ')']),
    }
}

/// Whether `text` is an RFC 2045 token: printable ASCII but the tspecials.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c))
}

/// Whether `text` is an RFC 6376 domain-name: labels of letters, digits
/// and inner hyphens.
fn is_domain_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `text` as an RFC 8601 property value (`pvalue`): as it is when it is a
/// token, or `[local-part]@domain-name` with a dot-atom local part;
/// otherwise quoted. `None` past [`MAX_PROPERTY`] characters: the
/// property is then left out.
pub fn property_value(text: &str) -> Option<String> {
    if text.chars().count() > MAX_PROPERTY {
        return None;
    }
    let plain = match text.rsplit_once('@') {
        Some((local, domain)) => (local.is_empty() || is_dot_atom(local)) && is_domain_name(domain),
        None => is_token(text),
    };
    Some(if plain {
        text.to_string()
    } else {
        quoted_string(text)
    })
}

/// `text` as the value of a Received-SPF key-value-pair (RFC 7208 §9.1):
/// a dot-atom as it is, anything else (an IPv6 address, an address
/// literal) quoted.
pub fn key_value(text: &str) -> String {
    if is_dot_atom(text) {
        text.to_string()
    } else {
        quoted_string(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_of_dot_atoms_stand_as_they_are() {
        for text in [
            "example.com",
            "bounce@example.com",
            "@example.com",
            "s2026",
            "a+tag@mail.example",
        ] {
            assert_eq!(property_value(text).as_deref(), Some(text));
        }
    }

    #[test]
    fn a_value_that_could_add_a_result_is_quoted() {
        assert_eq!(
            property_value("x;dkim=pass header.d=paypal.com@web.test").as_deref(),
            Some(r#""x;dkim=pass header.d=paypal.com@web.test""#)
        );
        assert_eq!(
            property_value("<script>alert('s')</script>").as_deref(),
            Some(r#""<script>alert('s')</script>""#)
        );
        assert_eq!(property_value(r#"a"b\c"#).as_deref(), Some(r#""a\"b\\c""#));
        assert_eq!(property_value("").as_deref(), Some(r#""""#));
        assert_eq!(
            property_value("[192.0.2.1]").as_deref(),
            Some(r#""[192.0.2.1]""#)
        );
        assert_eq!(
            property_value("postmaster@bad_helo!").as_deref(),
            Some(r#""postmaster@bad_helo!""#)
        );
    }

    #[test]
    fn a_long_value_is_left_out_and_a_long_comment_cut() {
        assert_eq!(property_value(&"s".repeat(2000)), None);
        let cut = comment(&"(".repeat(300));
        assert!(cut.ends_with('…'), "{cut}");
        assert_eq!(cut.chars().filter(|&c| c == '(').count(), MAX_COMMENT);
        assert_eq!(key_value("2001:db8::1"), r#""2001:db8::1""#);
        assert_eq!(key_value("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn no_value_or_comment_breaks_the_line() {
        assert_eq!(property_value("a\r\nb\tc").as_deref(), Some(r#""ab c""#));
        assert_eq!(comment("x) y (z\r\n"), r"x\) y \(z");
    }
}
