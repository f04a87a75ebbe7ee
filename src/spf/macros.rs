//! SPF macros (RFC 7208 §7): parsing macro-strings and expanding them.
//!
//! This module decides what `%{ir}.%{v}._spf.%{d2}` becomes for a given
//! check: the letters and their values (§7.2), the transformers — right-hand
//! parts, reversal, delimiters (§7.3) — URL escaping for upper-case letters,
//! and the left-truncation of names over 253 octets. The `p` value needs DNS
//! (a validated PTR name), so the evaluator computes it and passes it in.

use std::fmt::Write;
use std::net::IpAddr;

/// A macro letter (§7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Letter {
    /// `s`: the sender (`local@domain`).
    Sender,
    /// `l`: the local-part of the sender.
    Local,
    /// `o`: the domain of the sender.
    SenderDomain,
    /// `d`: the domain being checked.
    Domain,
    /// `i`: the client IP (dotted quad, or dot-separated nibbles).
    Ip,
    /// `p`: the validated domain name of the client IP.
    ValidatedName,
    /// `v`: `in-addr` or `ip6`.
    IpVersion,
    /// `h`: the HELO/EHLO domain.
    Helo,
    /// `c`: the client IP in its readable form (explanations only).
    ClientIp,
    /// `r`: the checking host's name (explanations only).
    Receiver,
    /// `t`: the current time in seconds since the epoch (explanations only).
    Timestamp,
}

impl Letter {
    fn from_char(c: char) -> Option<Letter> {
        Some(match c.to_ascii_lowercase() {
            's' => Letter::Sender,
            'l' => Letter::Local,
            'o' => Letter::SenderDomain,
            'd' => Letter::Domain,
            'i' => Letter::Ip,
            'p' => Letter::ValidatedName,
            'v' => Letter::IpVersion,
            'h' => Letter::Helo,
            'c' => Letter::ClientIp,
            'r' => Letter::Receiver,
            't' => Letter::Timestamp,
            _ => return None,
        })
    }

    fn explanation_only(self) -> bool {
        matches!(
            self,
            Letter::ClientIp | Letter::Receiver | Letter::Timestamp
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Expand {
        letter: Letter,
        url_escape: bool,
        keep: Option<usize>,
        reverse: bool,
        delimiters: String,
    },
}

/// A parsed macro-string (or explain-string).
#[derive(Debug, Clone, PartialEq)]
pub struct MacroString {
    items: Vec<Item>,
    /// The string as written.
    pub text: String,
}

/// The values macros expand to during one `check_host()`.
#[derive(Debug, Clone)]
pub struct MacroContext<'a> {
    pub local: &'a str,
    pub sender_domain: &'a str,
    pub domain: &'a str,
    pub ip: IpAddr,
    pub helo: &'a str,
    pub receiver: &'a str,
    pub timestamp: u64,
    /// The `p` value, computed by the evaluator when the string uses it.
    pub validated_name: Option<&'a str>,
}

impl MacroString {
    /// Parses a macro-string (§7.1). With `explanation`, spaces and the
    /// letters `c`, `r`, `t` are allowed (explain-string, §6.2).
    pub fn parse(text: &str, explanation: bool) -> Result<MacroString, String> {
        let mut items = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '%' {
                let allowed =
                    matches!(c, '\x21'..='\x24' | '\x26'..='\x7e') || (explanation && c == ' ');
                if !allowed {
                    return Err(format!("character {c:?} is not allowed in a macro-string"));
                }
                literal.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '%')) => literal.push('%'),
                Some((_, '_')) => literal.push(' '),
                Some((_, '-')) => literal.push_str("%20"),
                Some((_, '{')) => {
                    let close = text[i..]
                        .find('}')
                        .map(|e| i + e)
                        .ok_or_else(|| format!("`%{{` at position {i} is never closed"))?;
                    let body = &text[i + 2..close];
                    while chars.peek().is_some_and(|&(j, _)| j <= close) {
                        chars.next();
                    }
                    if !literal.is_empty() {
                        items.push(Item::Literal(std::mem::take(&mut literal)));
                    }
                    items.push(parse_expand(body, explanation)?);
                }
                Some((_, other)) => {
                    return Err(format!(
                        "`%{other}` is not a macro (use %% for a percent sign)"
                    ));
                }
                None => return Err("a lone `%` at the end".into()),
            }
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        Ok(MacroString {
            items,
            text: text.to_string(),
        })
    }

    /// Parses a domain-spec (§7.1): a macro-string whose end is a macro or
    /// `"." toplabel ["."]`.
    pub fn parse_domain_spec(text: &str, explanation: bool) -> Result<MacroString, String> {
        if text.is_empty() {
            return Err("empty domain".into());
        }
        let parsed = MacroString::parse(text, explanation)?;
        let ends_in_macro = matches!(parsed.items.last(), Some(Item::Expand { .. }))
            || text.ends_with("%%")
            || text.ends_with("%_")
            || text.ends_with("%-");
        if !ends_in_macro {
            let body = text.strip_suffix('.').unwrap_or(text);
            let top = body
                .rsplit_once('.')
                .map(|(_, t)| t)
                .ok_or_else(|| format!("`{text}` is not a domain name with a top-level label"))?;
            if !is_toplabel(top) {
                return Err(format!(
                    "`{text}` ends in `{top}`, which cannot be a top-level label"
                ));
            }
        }
        Ok(parsed)
    }

    /// Whether the string uses this letter (to know if `p` must be computed).
    pub fn uses(&self, letter: Letter) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Expand { letter: l, .. } if *l == letter))
    }

    /// Expands the string with the check's values.
    pub fn expand(&self, cx: &MacroContext<'_>) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(l) => out.push_str(l),
                Item::Expand {
                    letter,
                    url_escape,
                    keep,
                    reverse,
                    delimiters,
                } => {
                    let value = value_of(*letter, cx);
                    let mut parts: Vec<&str> =
                        value.split(|c: char| delimiters.contains(c)).collect();
                    if *reverse {
                        parts.reverse();
                    }
                    if let Some(n) = keep {
                        let skip = parts.len().saturating_sub(*n);
                        parts.drain(..skip);
                    }
                    let joined = parts.join(".");
                    if *url_escape {
                        url_escape_into(&joined, &mut out);
                    } else {
                        out.push_str(&joined);
                    }
                }
            }
        }
        out
    }

    /// Expands the string for use as a DNS name: a trailing dot is dropped
    /// and names over 253 octets lose labels from the left (§7.3).
    pub fn expand_domain(&self, cx: &MacroContext<'_>) -> String {
        let expanded = self.expand(cx);
        let mut name = expanded.strip_suffix('.').unwrap_or(&expanded);
        while name.len() > 253 {
            match name.split_once('.') {
                Some((_, rest)) => name = rest,
                None => break,
            }
        }
        name.to_string()
    }
}

fn parse_expand(body: &str, explanation: bool) -> Result<Item, String> {
    let mut chars = body.chars();
    let letter_char = chars.next().ok_or("empty macro `%{}`")?;
    let letter = Letter::from_char(letter_char)
        .ok_or_else(|| format!("`{letter_char}` is not a macro letter"))?;
    if letter.explanation_only() && !explanation {
        return Err(format!(
            "macro letter `{letter_char}` is only allowed in explanation text (RFC 7208 §7.2)"
        ));
    }
    let rest = chars.as_str();
    let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = rest.split_at(digits_len);
    let keep = if digits.is_empty() {
        None
    } else {
        // §7.3: a DIGIT transformer must be nonzero. Huge values keep all.
        let n = digits.parse::<usize>().unwrap_or(usize::MAX);
        if n == 0 {
            return Err(format!("`%{{{body}}}`: the number of parts must not be 0"));
        }
        Some(n)
    };
    let (reverse, delimiters) = match rest.strip_prefix(['r', 'R']) {
        Some(d) => (true, d),
        None => (false, rest),
    };
    if let Some(bad) = delimiters
        .chars()
        .find(|c| !matches!(c, '.' | '-' | '+' | ',' | '/' | '_' | '='))
    {
        return Err(format!("`{bad}` is not a macro delimiter in `%{{{body}}}`"));
    }
    Ok(Item::Expand {
        letter,
        url_escape: letter_char.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters: if delimiters.is_empty() {
            ".".into()
        } else {
            delimiters.into()
        },
    })
}

/// §12: `toplabel = ( *alphanum ALPHA *alphanum ) /
/// ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
fn is_toplabel(label: &str) -> bool {
    let b = label.as_bytes();
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    let has_alpha = b.iter().any(u8::is_ascii_alphabetic);
    let edges_alnum = b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric();
    if b.contains(&b'-') {
        edges_alnum
    } else {
        has_alpha
    }
}

fn value_of(letter: Letter, cx: &MacroContext<'_>) -> String {
    match letter {
        Letter::Sender => format!("{}@{}", cx.local, cx.sender_domain),
        Letter::Local => cx.local.to_string(),
        Letter::SenderDomain => cx.sender_domain.to_string(),
        Letter::Domain => cx.domain.to_string(),
        Letter::Ip => dotted_ip(cx.ip),
        Letter::ValidatedName => cx.validated_name.unwrap_or("unknown").to_string(),
        Letter::IpVersion => match cx.ip {
            IpAddr::V4(_) => "in-addr".into(),
            IpAddr::V6(_) => "ip6".into(),
        },
        Letter::Helo => cx.helo.to_string(),
        Letter::ClientIp => cx.ip.to_string(),
        Letter::Receiver => cx.receiver.to_string(),
        Letter::Timestamp => cx.timestamp.to_string(),
    }
}

/// `i`: a dotted quad, or for IPv6 the 32 nibbles separated by dots
/// (§7.3). Nibbles are written in upper case, as the OpenSPF suite
/// expects; DNS names are case-insensitive, so queries are unaffected.
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(63);
            for (i, byte) in v6.octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                let _ = write!(s, "{:X}.{:X}", byte >> 4, byte & 0xf);
            }
            s
        }
    }
}

/// RFC 3986 §2.1 percent-encoding of everything outside the unreserved set,
/// with upper-case hex digits.
fn url_escape_into(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(ip: &str) -> MacroContext<'static> {
        MacroContext {
            local: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: ip.parse().unwrap(),
            helo: "mx.example.org",
            receiver: "mailvet.example",
            timestamp: 1_000_000,
            validated_name: None,
        }
    }

    fn expand(s: &str, ip: &str) -> String {
        MacroString::parse(s, true).unwrap().expand(&cx(ip))
    }

    /// The examples of RFC 7208 §7.4.
    #[test]
    fn rfc_7208_section_7_4_examples() {
        let v4 = "192.0.2.3";
        assert_eq!(expand("%{s}", v4), "strong-bad@email.example.com");
        assert_eq!(expand("%{o}", v4), "email.example.com");
        assert_eq!(expand("%{d}", v4), "email.example.com");
        assert_eq!(expand("%{d4}", v4), "email.example.com");
        assert_eq!(expand("%{d3}", v4), "email.example.com");
        assert_eq!(expand("%{d2}", v4), "example.com");
        assert_eq!(expand("%{d1}", v4), "com");
        assert_eq!(expand("%{dr}", v4), "com.example.email");
        assert_eq!(expand("%{d2r}", v4), "example.email");
        assert_eq!(expand("%{l}", v4), "strong-bad");
        assert_eq!(expand("%{l-}", v4), "strong.bad");
        assert_eq!(expand("%{lr}", v4), "strong-bad");
        assert_eq!(expand("%{lr-}", v4), "bad.strong");
        assert_eq!(expand("%{l1r-}", v4), "strong");
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", v4),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            expand("%{lr-}.lp._spf.%{d2}", v4),
            "bad.strong.lp._spf.example.com"
        );
        assert_eq!(
            expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", v4),
            "3.2.0.192.in-addr.strong.lp._spf.example.com"
        );
        assert_eq!(
            expand("%{d2}.trusted-domains.example.net", v4),
            "example.com.trusted-domains.example.net"
        );
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01").to_lowercase(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn escapes_and_url_encoding() {
        assert_eq!(expand("%%%_%-", "192.0.2.3"), "% %20");
        let c = MacroContext {
            local: "~jack&jill=up-a_b3.c",
            ..cx("192.0.2.3")
        };
        let s = MacroString::parse("l=%{L}", true).unwrap();
        assert_eq!(s.expand(&c), "l=~jack%26jill%3Dup-a_b3.c");
        assert_eq!(
            expand("%{c} %{t} %{r} %{p}", "2001:DB8::1"),
            "2001:db8::1 1000000 mailvet.example unknown"
        );
    }

    #[test]
    fn syntax_rules() {
        assert!(MacroString::parse("%{d0}", false).is_err());
        assert!(MacroString::parse("%{c}", false).is_err());
        assert!(MacroString::parse("%{c}", true).is_ok());
        assert!(MacroString::parse("%{x}", true).is_err());
        assert!(MacroString::parse("%{d", true).is_err());
        assert!(MacroString::parse("50%", true).is_err());
        assert!(MacroString::parse("a b", false).is_err());
        assert!(MacroString::parse_domain_spec("%{d}", false).is_ok());
        assert!(MacroString::parse_domain_spec("foo.123", false).is_err());
        assert!(MacroString::parse_domain_spec("foo.1-2", false).is_ok());
        assert!(MacroString::parse_domain_spec("example.com.", false).is_ok());
    }

    #[test]
    fn long_names_lose_labels_from_the_left() {
        let long = format!("{}.example.com", "a.".repeat(130));
        let s = MacroString::parse_domain_spec(&long, false).unwrap();
        let out = s.expand_domain(&cx("192.0.2.1"));
        assert!(out.len() <= 253 && out.ends_with(".example.com"), "{out}");
    }
}
