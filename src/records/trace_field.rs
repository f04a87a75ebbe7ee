//! How a value that came from outside — an envelope sender, a HELO name, a
//! signature's `d=` and `s=`, a reason — is written into the trace header
//! fields a receiver adds: `Received-SPF` (RFC 7208 §9.1) and
//! `Authentication-Results` (RFC 8601 §2.2).
//!
//! This module decides when such a value may stand as it is and how it is
//! quoted otherwise, so that no value can end the field's clause early
//! (`;`), add a property of its own (`=`), open or close a comment, or
//! break the line. In `Received-SPF` a dot-atom stands as it is; in an
//! Authentication-Results property an RFC 2045 token or an address of a
//! dot-atom and a domain name does (RFC 8601's `value / [ [ local-part ]
//! "@" ] domain-name`). Anything else is an RFC 5322 quoted-string. A
//! comment has its parentheses and
//! backslashes written as quoted-pairs. Control characters, which no part
//! of a header field may hold, are left out of both (a tab becomes a
//! space).

/// RFC 5322 §3.2.3 atext.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Whether `text` is an RFC 5322 dot-atom: atoms of atext joined by dots.
pub fn is_dot_atom(text: &str) -> bool {
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

/// `text` as the inside of a comment, `(` and `)` added by the caller.
pub fn comment(text: &str) -> String {
    quoted_pairs(text, &['(', ')'])
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
/// otherwise quoted.
pub fn property_value(text: &str) -> String {
    let plain = match text.rsplit_once('@') {
        Some((local, domain)) => (local.is_empty() || is_dot_atom(local)) && is_domain_name(domain),
        None => is_token(text),
    };
    if plain {
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
            assert_eq!(property_value(text), text);
        }
    }

    #[test]
    fn a_value_that_could_add_a_result_is_quoted() {
        assert_eq!(
            property_value("x;dkim=pass header.d=paypal.com@web.test"),
            r#""x;dkim=pass header.d=paypal.com@web.test""#
        );
        assert_eq!(
            property_value("<script>alert('s')</script>"),
            r#""<script>alert('s')</script>""#
        );
        assert_eq!(property_value(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(property_value(""), r#""""#);
        assert_eq!(property_value("[192.0.2.1]"), r#""[192.0.2.1]""#);
        assert_eq!(
            property_value("postmaster@bad_helo!"),
            r#""postmaster@bad_helo!""#
        );
    }

    #[test]
    fn no_value_or_comment_breaks_the_line() {
        assert_eq!(property_value("a\r\nb\tc"), r#""ab c""#);
        assert_eq!(comment("x) y (z\r\n"), r"x\) y \(z");
    }
}
