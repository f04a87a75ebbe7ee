//! The SPF record grammar (RFC 7208 §4.5, §4.6, §5, §6, §12), parsed strictly.
//!
//! This module decides whether a TXT string is an SPF record and, if so,
//! what its terms are. Anything the ABNF of §12 does not allow is a syntax
//! error with the position and the text of the offending term, which
//! `check_host()` turns into permerror (§4.6). Names are case-insensitive;
//! terms are separated by one or more spaces (SP only — a tab or a line
//! break inside a record is an error, §4.6.1).

use super::macros::MacroString;
use crate::parsed_texts::ParsedTexts;
use crate::records::address::is_private;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

/// The SPF term that authorizes `ip` alone (RFC 7208 §5.6), or `None`
/// when `ip` is not reachable from the internet (loopback, private use,
/// link-local, shared CGN, unspecified…): receivers never see mail from
/// it, so listing it would authorize nothing and expose the network's
/// layout. Documentation ranges stand in for public hosts and are listed.
pub fn listable(ip: IpAddr) -> Option<String> {
    if is_private(ip) {
        return None;
    }
    Some(match ip {
        IpAddr::V4(v4) => format!("ip4:{v4}"),
        IpAddr::V6(v6) => format!("ip6:{v6}"),
    })
}

/// `+`, `-`, `~`, `?` (RFC 7208 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

/// A mechanism (RFC 7208 §5) with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        cidr4: u8,
        cidr6: u8,
    },
    Mx {
        domain: Option<MacroString>,
        cidr4: u8,
        cidr6: u8,
    },
    Ptr(Option<MacroString>),
    Ip4 {
        network: Ipv4Addr,
        prefix: u8,
    },
    Ip6 {
        network: Ipv6Addr,
        prefix: u8,
    },
    Exists(MacroString),
}

impl Mechanism {
    /// Whether evaluating it costs one of the 10 DNS lookups (§4.6.4).
    pub fn queries_dns(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. }
        )
    }
}

/// A term's place in the record text, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// 0-based byte offset of the term in the record.
    pub position: usize,
    /// The term as written.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
    pub span: Span,
}

/// A parsed SPF record.
#[derive(Debug, Clone, PartialEq)]
pub struct SpfRecord {
    pub directives: Vec<Directive>,
    pub redirect: Option<(MacroString, Span)>,
    pub exp: Option<(MacroString, Span)>,
    /// Modifiers this version of SPF does not know; ignored (§6).
    pub unknown_modifiers: Vec<Span>,
}

/// Why a record does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (term `{term}` at position {position})")]
pub struct SyntaxError {
    pub position: usize,
    pub term: String,
    pub message: String,
}

/// True when the TXT string is an SPF version 1 record: it begins with
/// `v=spf1` followed by a space or the end (§4.5). The comparison is
/// case-insensitive, as ABNF literals are (RFC 5234 §2.3).
pub fn is_spf1(txt: &[u8]) -> bool {
    txt.len() >= 6 && txt[..6].eq_ignore_ascii_case(b"v=spf1") && (txt.len() == 6 || txt[6] == b' ')
}

impl SpfRecord {
    /// Parses a record that [`is_spf1`] accepted.
    pub fn parse(txt: &[u8]) -> Result<SpfRecord, SyntaxError> {
        let mut record = SpfRecord {
            directives: Vec::new(),
            redirect: None,
            exp: None,
            unknown_modifiers: Vec::new(),
        };
        let mut pos = 6;
        while pos < txt.len() {
            if txt[pos] == b' ' {
                pos += 1;
                continue;
            }
            let end = txt[pos..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(txt.len(), |e| pos + e);
            let span = Span {
                position: pos,
                text: String::from_utf8_lossy(&txt[pos..end]).into_owned(),
            };
            record.add_term(&txt[pos..end], span)?;
            pos = end;
        }
        Ok(record)
    }

    /// [`SpfRecord::parse`], read once per process: the records that
    /// parsed are kept, keyed by their text, and shared by every
    /// evaluation (a sender's record is the same for each of its
    /// messages). A changed record is another text, parsed anew; one that
    /// does not parse is parsed each time, for its error.
    pub fn parse_shared(txt: &[u8]) -> Result<Arc<SpfRecord>, SyntaxError> {
        if let Some(record) = parsed().get(txt) {
            return Ok(record);
        }
        let record = Arc::new(SpfRecord::parse(txt)?);
        parsed().keep(txt.into(), txt.len(), Arc::clone(&record));
        Ok(record)
    }

    fn add_term(&mut self, term: &[u8], span: Span) -> Result<(), SyntaxError> {
        let fail = |message: String| SyntaxError {
            position: span.position,
            term: span.text.clone(),
            message,
        };
        if let Some(bad) = term.iter().find(|b| !(0x21..=0x7e).contains(*b)) {
            return Err(fail(format!(
                "character 0x{bad:02X} is not allowed in an SPF record; only printable ASCII \
                 separated by spaces is"
            )));
        }
        // The bytes are printable ASCII from here on.
        let text = std::str::from_utf8(term).map_err(|_| fail("not ASCII".into()))?;
        if let Some((name, value)) = modifier_parts(text) {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "redirect" | "exp" => {
                    let domain = MacroString::parse_domain_spec(value, false)
                        .map_err(|m| fail(format!("{lower}= needs a domain: {m}")))?;
                    let slot = if lower == "redirect" {
                        &mut self.redirect
                    } else {
                        &mut self.exp
                    };
                    if slot.is_some() {
                        return Err(fail(format!(
                            "{lower}= appears more than once (RFC 7208 §6)"
                        )));
                    }
                    *slot = Some((domain, span));
                }
                _ => {
                    MacroString::parse(value, false)
                        .map_err(|m| fail(format!("modifier {name}=: {m}")))?;
                    self.unknown_modifiers.push(span);
                }
            }
            return Ok(());
        }
        let (qualifier, rest) = match text.as_bytes()[0] {
            b'+' => (Qualifier::Pass, &text[1..]),
            b'-' => (Qualifier::Fail, &text[1..]),
            b'~' => (Qualifier::SoftFail, &text[1..]),
            b'?' => (Qualifier::Neutral, &text[1..]),
            _ => (Qualifier::Pass, text),
        };
        let name_len = rest.find([':', '/']).unwrap_or(rest.len());
        let (name, args) = rest.split_at(name_len);
        let mechanism = parse_mechanism(&name.to_ascii_lowercase(), args).map_err(fail)?;
        self.directives.push(Directive {
            qualifier,
            mechanism,
            span,
        });
        Ok(())
    }
}

/// `name "=" value` when the term is a modifier: the name matches
/// `ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )` (§12).
fn modifier_parts(term: &str) -> Option<(&str, &str)> {
    let eq = term.find('=')?;
    let name = &term[..eq];
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .then(|| (name, &term[eq + 1..]))
}

fn parse_mechanism(name: &str, args: &str) -> Result<Mechanism, String> {
    let required_domain = |args: &str| -> Result<MacroString, String> {
        let spec = args
            .strip_prefix(':')
            .ok_or_else(|| format!("{name} needs `:domain`"))?;
        MacroString::parse_domain_spec(spec, false)
    };
    match name {
        "all" if args.is_empty() => Ok(Mechanism::All),
        "all" => Err("`all` takes no argument".into()),
        "include" => Ok(Mechanism::Include(required_domain(args)?)),
        "exists" => Ok(Mechanism::Exists(required_domain(args)?)),
        "a" | "mx" => {
            let (spec, cidr4, cidr6) = split_dual_cidr(args)?;
            let domain = match spec {
                "" => None,
                s => Some(MacroString::parse_domain_spec(
                    s.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected `{s}` after {name}"))?,
                    false,
                )?),
            };
            Ok(if name == "a" {
                Mechanism::A {
                    domain,
                    cidr4,
                    cidr6,
                }
            } else {
                Mechanism::Mx {
                    domain,
                    cidr4,
                    cidr6,
                }
            })
        }
        "ptr" => match args {
            "" => Ok(Mechanism::Ptr(None)),
            _ => Ok(Mechanism::Ptr(Some(required_domain(args)?))),
        },
        "ip4" => {
            let (network, prefix) = ip_network::<Ipv4Addr>(args, "ip4", "IPv4", 32)?;
            Ok(Mechanism::Ip4 { network, prefix })
        }
        "ip6" => {
            let (network, prefix) = ip_network::<Ipv6Addr>(args, "ip6", "IPv6", 128)?;
            Ok(Mechanism::Ip6 { network, prefix })
        }
        "" => Err("empty mechanism".into()),
        other => Err(format!("unknown mechanism `{other}`")),
    }
}

/// `":" address ["/" prefix]` of ip4 and ip6 (the prefix defaults to `max`).
fn ip_network<A: std::str::FromStr>(
    args: &str,
    name: &str,
    family: &str,
    max: u8,
) -> Result<(A, u8), String> {
    let value = args
        .strip_prefix(':')
        .ok_or_else(|| format!("{name} needs `:address`"))?;
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, cidr_length(p, max)?),
        None => (value, max),
    };
    let network = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an {family} address"))?;
    Ok((network, prefix))
}

/// Splits `[":" domain-spec] [ip4-cidr] ["/" ip6-cidr]` into the domain part
/// and the two prefix lengths (32 and 128 when absent).
fn split_dual_cidr(args: &str) -> Result<(&str, u8, u8), String> {
    let mut rest = args;
    let mut cidr6 = 128;
    let mut cidr4 = 32;
    if let Some(i) = rest.rfind("//")
        && is_cidr_digits(&rest[i + 2..])
    {
        cidr6 = cidr_length(&rest[i + 2..], 128)?;
        rest = &rest[..i];
    }
    if let Some(i) = rest.rfind('/')
        && is_cidr_digits(&rest[i + 1..])
    {
        cidr4 = cidr_length(&rest[i + 1..], 32)?;
        rest = &rest[..i];
    }
    // What is left must be empty or ":" domain-spec; a stray "/…" is an error.
    if !rest.is_empty() && !rest.starts_with(':') {
        return Err(format!("invalid CIDR length in `{args}`"));
    }
    Ok((rest, cidr4, cidr6))
}

fn is_cidr_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A prefix length per the ABNF: no leading zero, at most `max` (§12:
/// `ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT)`, value 0–32; ip6 0–128).
fn cidr_length(digits: &str, max: u8) -> Result<u8, String> {
    let valid_form = is_cidr_digits(digits)
        && (digits == "0" || !digits.starts_with('0'))
        && digits.len() <= if max == 32 { 2 } else { 3 };
    let value = digits
        .parse::<u8>()
        .ok()
        .filter(|v| valid_form && *v <= max);
    value.ok_or_else(|| format!("`/{digits}` is not a prefix length from 0 to {max}"))
}

/// Bytes of record text [`SpfRecord::parse_shared`] keeps before it
/// starts over.
const PARSED_TEXT_BYTES: usize = 256 * 1024;

fn parsed() -> &'static ParsedTexts<Box<[u8]>, Arc<SpfRecord>> {
    static PARSED: OnceLock<ParsedTexts<Box<[u8]>, Arc<SpfRecord>>> = OnceLock::new();
    PARSED.get_or_init(|| ParsedTexts::new(PARSED_TEXT_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SpfRecord, SyntaxError> {
        SpfRecord::parse(s.as_bytes())
    }

    #[test]
    fn selects_version_1_only() {
        assert!(is_spf1(b"v=spf1"));
        assert!(is_spf1(b"V=SPF1 -all"));
        assert!(!is_spf1(b"v=spf10 -all"));
        assert!(!is_spf1(b"v=spf1-all"));
        assert!(!is_spf1(b"spf2.0/pra -all"));
    }

    #[test]
    fn parses_every_mechanism_and_modifier() {
        let r = parse(
            "v=spf1 +all -include:_spf.example.com ~a a:mail.%{d}/24//64 mx/30 ?ptr \
             ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.x.example \
             redirect=_spf.example.net exp=exp.example.net moo.cow-far_out=%{d}",
        )
        .unwrap();
        assert_eq!(r.directives.len(), 10);
        assert_eq!(r.directives[0].mechanism, Mechanism::All);
        assert_eq!(r.directives[1].qualifier, Qualifier::Fail);
        assert!(matches!(
            r.directives[3].mechanism,
            Mechanism::A {
                cidr4: 24,
                cidr6: 64,
                ..
            }
        ));
        assert!(matches!(
            r.directives[4].mechanism,
            Mechanism::Mx {
                domain: None,
                cidr4: 30,
                cidr6: 128
            }
        ));
        assert!(matches!(
            r.directives[8].mechanism,
            Mechanism::Ip6 { prefix: 32, .. }
        ));
        assert!(r.redirect.is_some() && r.exp.is_some());
        assert_eq!(r.unknown_modifiers.len(), 1);
    }

    #[test]
    fn rejects_what_the_abnf_forbids_with_the_term_and_position() {
        for bad in [
            "v=spf1 ip4:1.2.3.4/33",
            "v=spf1 ip4:1.2.3.4/032",
            "v=spf1 ip6:::1//129",
            "v=spf1 a/33",
            "v=spf1 a:example.com/",
            "v=spf1 foo",
            "v=spf1 all:x",
            "v=spf1 include",
            "v=spf1 redirect=a.example redirect=b.example",
            "v=spf1 exp=",
            "v=spf1 a:example.123",
            "v=spf1 a:museum",
            "v=spf1 -all\ta",
            "v=spf1 exists:%{q}.example.com",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
        let e = parse("v=spf1 ip4:192.0.2.1 ip4:1.2.3.4/33 -all").unwrap_err();
        assert_eq!((e.position, e.term.as_str()), (21, "ip4:1.2.3.4/33"));
    }

    #[test]
    fn accepts_unusual_but_valid_terms() {
        for good in [
            "v=spf1 a:foo:bar/baz.example.com",
            "v=spf1 a:example.com//0 -all",
            "v=spf1 mx:example-.com.",
            "v=spf1 ip4:0.0.0.0/0",
            "v=spf1  -all  ",
            "v=spf1",
        ] {
            assert!(
                parse(good).is_ok(),
                "{good} should parse: {:?}",
                parse(good)
            );
        }
    }

    #[test]
    fn a_shared_record_is_parsed_once_and_a_changed_one_anew() {
        let text = b"v=spf1 ip4:198.51.100.0/24 include:_spf.shared.example -all";
        let first = SpfRecord::parse_shared(text).unwrap();
        let again = SpfRecord::parse_shared(text).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*first, SpfRecord::parse(text).unwrap());
        let changed = SpfRecord::parse_shared(b"v=spf1 ip4:198.51.100.0/25 -all").unwrap();
        assert_eq!(changed.directives.len(), 2);
        assert!(!Arc::ptr_eq(&first, &changed));
        let broken = b"v=spf1 ip4:198.51.100.0/99 -all";
        assert_eq!(
            SpfRecord::parse_shared(broken).unwrap_err(),
            SpfRecord::parse(broken).unwrap_err()
        );
    }
}
