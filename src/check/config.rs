//! The `mailvet check` config: which domains to check and what their owner
//! expects of each (see `fixtures/check/mailvet.example.toml`).
//!
//! This module decides what a config may say and what it means. It is
//! TOML; unknown keys are refused (a typo must not silently drop an
//! expectation), and every value is checked — domain names, DKIM
//! selectors, IP addresses and CIDR networks, policy words, key sizes,
//! the lookup margin. A domain is listed once, all its expectations
//! together, as it is audited once. Every error names the file, the line
//! and the field, and the CLI exits 2 on it. Every expectation keeps the
//! line it was written on, so a report can point at it.
//!
//! The file is read through [`crate::local_file`] (a regular file of at
//! most [`CONFIG_LIMIT`] bytes of UTF-8 text), and an error quotes what it
//! is about only as a short, escaped excerpt ([`crate::untrusted`]): a file
//! that is no config is not copied into a CI log.

use crate::local_file::{self, FileError};
use crate::records::dmarc::Policy;
use crate::records::name::{DomainName, is_dkim_selector};
use crate::untrusted::{Format, escape_controls, excerpt, plain_serde, quoted};
use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;
use toml::Spanned;

/// The smallest and largest RSA key sizes an expectation may ask for.
const KEY_BITS: std::ops::RangeInclusive<u32> = 1024..=8192;

/// The largest config read (1 MiB: thousands of domains).
pub const CONFIG_LIMIT: u64 = 1024 * 1024;

/// Why a config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
}

/// A value and the config line it was written on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub value: T,
    pub line: usize,
}

/// A checked config.
#[derive(Debug, Clone)]
pub struct Config {
    /// As given on the command line.
    pub path: String,
    pub domains: Vec<DomainExpectations>,
}

/// What the owner expects of one domain. An absent key sets no
/// expectation; the domain is audited all the same.
#[derive(Debug, Clone)]
pub struct DomainExpectations {
    pub domain: At<DomainName>,
    /// Selectors that must hold a valid key.
    pub dkim_selectors: Vec<At<String>>,
    /// The smallest acceptable RSA key (Ed25519 keys always qualify).
    pub min_key_bits: u32,
    /// The least policy for the domain's own mail (`p`).
    pub dmarc_policy: Option<At<Policy>>,
    /// The least policy for subdomains (`sp`, else `p`).
    pub dmarc_subdomain_policy: Option<At<Policy>>,
    /// An aggregate report address (`rua`) must be published.
    pub dmarc_rua: Option<At<()>>,
    /// Sources SPF must authorize.
    pub spf_authorized: Vec<At<Source>>,
    /// The ending SPF must have.
    pub spf_all: Option<At<AllEnding>>,
    /// DNS lookups SPF must leave unused out of its 10.
    pub spf_lookup_margin: Option<At<usize>>,
    /// The least MTA-STS mode.
    pub mta_sts: Option<At<StsMode>>,
    pub tls_rpt: Option<At<()>>,
    pub bimi: Option<At<()>>,
    /// Who sends mail as the domain.
    pub senders: Vec<At<Sender>>,
}

/// An address or network SPF must authorize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub address: IpAddr,
    /// The prefix length; the full length for one address.
    pub prefix: u8,
}

impl Source {
    /// The addresses SPF is evaluated for: the address itself, or a
    /// network's first and last address (a network is taken as authorized
    /// when both pass, the way an `ip4:`/`ip6:` range or an ESP's include
    /// authorizes a whole block).
    pub fn probes(&self) -> Vec<IpAddr> {
        match self.address {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let host = u32::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                dedup([bits & !host, bits | host].map(|b| IpAddr::from(b.to_be_bytes())))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let host = u128::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                dedup([bits & !host, bits | host].map(|b| IpAddr::from(b.to_be_bytes())))
            }
        }
    }

    /// The SPF mechanism that authorizes this source.
    pub fn mechanism(&self) -> String {
        let kind = if self.address.is_ipv4() { "ip4" } else { "ip6" };
        format!("{kind}:{self}")
    }
}

fn dedup(pair: [IpAddr; 2]) -> Vec<IpAddr> {
    if pair[0] == pair[1] {
        vec![pair[0]]
    } else {
        pair.to_vec()
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let full = if self.address.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{}/{}", self.address, self.prefix)
        }
    }
}

/// The SPF ending the owner requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllEnding {
    /// `-all` only.
    Fail,
    /// `~all` or the stricter `-all`.
    SoftFail,
}

impl AllEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            AllEnding::Fail => "-all",
            AllEnding::SoftFail => "~all",
        }
    }
}

/// The MTA-STS mode the owner requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsMode {
    /// `enforce` only.
    Enforce,
    /// `testing` or `enforce`.
    Testing,
}

impl StsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
        }
    }
}

/// A server or ESP that sends mail as the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// A label for reports; the IP when none is given.
    pub name: String,
    pub ip: IpAddr,
    /// The envelope sender's domain (MAIL FROM / Return-Path).
    pub mail_from_domain: DomainName,
    /// The `d=` it signs with; `None` when it does not sign.
    pub dkim_domain: Option<DomainName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    domain: Vec<RawDomain>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    name: Spanned<String>,
    mta_sts: Option<Spanned<String>>,
    tls_rpt: Option<Spanned<bool>>,
    bimi: Option<Spanned<bool>>,
    dkim: Option<RawDkim>,
    dmarc: Option<RawDmarc>,
    spf: Option<RawSpf>,
    #[serde(default)]
    sender: Vec<RawSender>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    #[serde(default)]
    selectors: Vec<Spanned<String>>,
    min_key_bits: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDmarc {
    policy: Option<Spanned<String>>,
    subdomain_policy: Option<Spanned<String>>,
    require_rua: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpf {
    #[serde(default)]
    authorized: Vec<Spanned<String>>,
    all: Option<Spanned<String>>,
    lookup_margin: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSender {
    name: Option<String>,
    ip: Spanned<String>,
    mail_from_domain: Spanned<String>,
    dkim_domain: Option<Spanned<String>>,
}

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = local_file::read_text(path, "config", CONFIG_LIMIT)?;
    parse(&text, &path.display().to_string())
}

/// The smallest config, as messages show it on one line.
pub const LEAST_CONFIG: &str = "[[domain]] then name = \"example.com\" on the next line";

/// Checks config text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let reader = Reader { text, file };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| reader.line(s.start));
        let field = reader.field_at(line);
        let message = tame(&plain_serde(e.message(), Format::Toml));
        reader.error(line, &field, taught(&field, message))
    })?;
    if raw.domain.is_empty() {
        return Err(reader.error(
            1,
            "domain",
            format!("list at least one domain, the least being {LEAST_CONFIG}"),
        ));
    }
    let domains = raw
        .domain
        .into_iter()
        .map(|d| reader.domain(d))
        .collect::<Result<Vec<_>, _>>()?;
    let mut first_lines = std::collections::HashMap::new();
    for d in &domains {
        let name = &d.domain;
        if let Some(first) = first_lines.insert(&name.value.ascii, name.line) {
            return Err(reader.error(
                name.line,
                "domain.name",
                format!(
                    "{} is listed again (first on line {first}); write all that is expected \
                     of it under one [[domain]], which is audited once",
                    quoted(&name.value.unicode)
                ),
            ));
        }
    }
    Ok(Config {
        path: file.to_string(),
        domains,
    })
}

/// The text being read, for turning spans into lines and errors.
struct Reader<'a> {
    text: &'a str,
    file: &'a str,
}

impl Reader<'_> {
    /// The 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// The dotted name of the key on a line, under the table header above
    /// it (`domain.dmarc.policy`); the table itself on a header line. Read
    /// from a file that may not parse, so only an excerpt of it.
    fn field_at(&self, line: usize) -> String {
        excerpt(&self.dotted_name_at(line))
    }

    fn dotted_name_at(&self, line: usize) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        let header = |l: &str| {
            let l = l.trim();
            l.starts_with('[')
                .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        };
        let current = lines.get(line.saturating_sub(1)).copied().unwrap_or("");
        if let Some(table) = header(current) {
            return table;
        }
        let key = current
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string());
        let table = lines[..line.saturating_sub(1).min(lines.len())]
            .iter()
            .rev()
            .find_map(|l| header(l));
        match (table, key) {
            (Some(t), Some(k)) => format!("{t}.{k}"),
            (Some(t), None) => t,
            (None, Some(k)) => k,
            (None, None) => "(top level)".into(),
        }
    }

    fn error(&self, line: usize, field: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            file: escape_controls(self.file).into_owned(),
            line,
            field: field.to_string(),
            message,
        }
    }

    /// Checks one value with `read`, naming `field` and the value's line.
    fn check<T, U>(
        &self,
        value: Spanned<T>,
        field: &str,
        read: impl FnOnce(T) -> Result<U, String>,
    ) -> Result<At<U>, ConfigError> {
        let line = self.line(value.span().start);
        read(value.into_inner())
            .map(|value| At { value, line })
            .map_err(|message| self.error(line, field, message))
    }

    fn domain(&self, raw: RawDomain) -> Result<DomainExpectations, ConfigError> {
        let domain = self.check(raw.name, "domain.name", domain_name)?;
        let (dkim_selectors, min_key_bits) = match raw.dkim {
            Some(dkim) => (
                dkim.selectors
                    .into_iter()
                    .map(|s| self.check(s, "domain.dkim.selectors", selector))
                    .collect::<Result<Vec<_>, _>>()?,
                match dkim.min_key_bits {
                    Some(bits) => {
                        self.check(bits, "domain.dkim.min_key_bits", key_bits)?
                            .value
                    }
                    None => *KEY_BITS.start(),
                },
            ),
            None => (Vec::new(), *KEY_BITS.start()),
        };
        let dmarc = raw.dmarc.unwrap_or(RawDmarc {
            policy: None,
            subdomain_policy: None,
            require_rua: None,
        });
        let spf = raw.spf.unwrap_or(RawSpf {
            authorized: Vec::new(),
            all: None,
            lookup_margin: None,
        });
        Ok(DomainExpectations {
            domain,
            dkim_selectors,
            min_key_bits,
            dmarc_policy: self.optional(dmarc.policy, "domain.dmarc.policy", policy)?,
            dmarc_subdomain_policy: self.optional(
                dmarc.subdomain_policy,
                "domain.dmarc.subdomain_policy",
                policy,
            )?,
            dmarc_rua: self.flag(dmarc.require_rua),
            spf_authorized: spf
                .authorized
                .into_iter()
                .map(|s| self.check(s, "domain.spf.authorized", source))
                .collect::<Result<Vec<_>, _>>()?,
            spf_all: self.optional(spf.all, "domain.spf.all", all_ending)?,
            spf_lookup_margin: self.optional(
                spf.lookup_margin,
                "domain.spf.lookup_margin",
                lookup_margin,
            )?,
            mta_sts: self.optional(raw.mta_sts, "domain.mta_sts", sts_mode)?,
            tls_rpt: self.flag(raw.tls_rpt),
            bimi: self.flag(raw.bimi),
            senders: raw
                .sender
                .into_iter()
                .map(|s| self.sender(s))
                .collect::<Result<Vec<_>, _>>()?,
        })
    }

    fn optional<T, U>(
        &self,
        value: Option<Spanned<T>>,
        field: &str,
        read: impl FnOnce(T) -> Result<U, String>,
    ) -> Result<Option<At<U>>, ConfigError> {
        value.map(|v| self.check(v, field, read)).transpose()
    }

    /// `true` sets the expectation; `false` sets none.
    fn flag(&self, value: Option<Spanned<bool>>) -> Option<At<()>> {
        let value = value?;
        let line = self.line(value.span().start);
        value.into_inner().then_some(At { value: (), line })
    }

    fn sender(&self, raw: RawSender) -> Result<At<Sender>, ConfigError> {
        let ip = self.check(raw.ip, "domain.sender.ip", |ip: String| {
            crate::spf::given::client_ip(&ip)
        })?;
        let mail_from_domain = self.check(
            raw.mail_from_domain,
            "domain.sender.mail_from_domain",
            domain_name,
        )?;
        let dkim_domain =
            self.optional(raw.dkim_domain, "domain.sender.dkim_domain", domain_name)?;
        Ok(At {
            line: ip.line,
            value: Sender {
                name: raw.name.unwrap_or_else(|| ip.value.to_string()),
                ip: ip.value,
                mail_from_domain: mail_from_domain.value,
                dkim_domain: dkim_domain.map(|d| d.value),
            },
        })
    }
}

fn domain_name(input: String) -> Result<DomainName, String> {
    DomainName::parse(&input)
        .map_err(|e| format!("{} is not a domain name: {}", quoted(&e.input), e.reason))
}

fn selector(input: String) -> Result<String, String> {
    if is_dkim_selector(&input) {
        Ok(input)
    } else {
        Err(format!(
            "{} is not a DKIM selector ({})",
            quoted(&input),
            crate::records::name::DKIM_SELECTOR_RULE
        ))
    }
}

fn key_bits(bits: u32) -> Result<u32, String> {
    if KEY_BITS.contains(&bits) {
        Ok(bits)
    } else {
        Err(format!(
            "{bits} is not a usable minimum; give a number of bits from {} to {} (2048 is \
             the recommended size)",
            KEY_BITS.start(),
            KEY_BITS.end()
        ))
    }
}

fn policy(word: String) -> Result<Policy, String> {
    match word.as_str() {
        "none" => Ok(Policy::None),
        "quarantine" => Ok(Policy::Quarantine),
        "reject" => Ok(Policy::Reject),
        _ => Err(format!(
            "{} is not a DMARC policy; write none, quarantine or reject",
            quoted(&word)
        )),
    }
}

fn source(input: String) -> Result<Source, String> {
    let bad = || {
        format!(
            "{} is not an IP address or CIDR network; write e.g. 192.0.2.25, \
             198.51.100.0/24 or 2001:db8::/32 (name an ESP by one of its sending IPs)",
            quoted(&input)
        )
    };
    let (address, prefix) = match input.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (input.trim(), None),
    };
    let address: IpAddr = address.parse().map_err(|_| bad())?;
    let full = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= full)
            .ok_or_else(bad)?,
        None => full,
    };
    // No one sender's block is wider; an `ip4:`/`ip6:` term for more
    // would let much of the internet send as the domain.
    let widest = if address.is_ipv4() { 8 } else { 16 };
    if prefix < widest {
        return Err(format!(
            "{} is wider than a /{widest}: no sender's network is that large, and an SPF \
             record authorizing it would let much of the internet send as the domain; name \
             the sender's own addresses",
            quoted(&input)
        ));
    }
    Ok(Source { address, prefix })
}

fn all_ending(word: String) -> Result<AllEnding, String> {
    match word.as_str() {
        "-all" => Ok(AllEnding::Fail),
        "~all" => Ok(AllEnding::SoftFail),
        _ => Err(format!(
            "{} is not a required SPF ending; write \"-all\" or \"~all\"",
            quoted(&word)
        )),
    }
}

fn lookup_margin(margin: u32) -> Result<usize, String> {
    usize::try_from(margin)
        .ok()
        .filter(|m| *m <= crate::spf::eval::MAX_DNS_TERMS)
        .ok_or_else(|| {
            format!(
                "{margin} is more than the {} lookups SPF has",
                crate::spf::eval::MAX_DNS_TERMS
            )
        })
}

fn sts_mode(word: String) -> Result<StsMode, String> {
    match word.as_str() {
        "enforce" => Ok(StsMode::Enforce),
        "testing" => Ok(StsMode::Testing),
        _ => Err(format!(
            "{} is not an MTA-STS mode to require; write \"enforce\" or \"testing\"",
            quoted(&word)
        )),
    }
}

/// The tables under `[[domain]]` and the keys each holds, to name the
/// table a key written directly under `[[domain]]` belongs in.
const SUBTABLES: [(&str, &[&str]); 4] = [
    ("[domain.dkim]", &["selectors", "min_key_bits"]),
    (
        "[domain.dmarc]",
        &["policy", "subdomain_policy", "require_rua"],
    ),
    ("[domain.spf]", &["authorized", "all", "lookup_margin"]),
    (
        "[[domain.sender]]",
        &["ip", "mail_from_domain", "dkim_domain"],
    ),
];

/// The parser's `message` about `field` with what to write instead, for
/// the usual slips: one value where TOML writes a list (`[domain]` for
/// `[[domain]]`), and a key of a subtable written under `[[domain]]`.
fn taught(field: &str, message: String) -> String {
    if let Some(key) = field.strip_prefix("domain.")
        && message.starts_with("unknown field")
        && let Some((table, _)) = SUBTABLES.iter().find(|(_, keys)| keys.contains(&key))
    {
        return format!("{message}; {key} belongs under {table}");
    }
    if !message.ends_with("expected an array") {
        return message;
    }
    let hint = match field {
        "domain" => format!("write each domain as {LEAST_CONFIG}"),
        "domain.sender" => {
            "write [[domain.sender]], with two brackets, above each sender's keys".into()
        }
        _ => {
            let key = field.rsplit('.').next().unwrap_or(field);
            format!("write a list in brackets, e.g. {key} = [\"a\", \"b\"]")
        }
    };
    format!("{message}; {hint}")
}

/// A TOML parser message with what it quotes of the file (a key, a value,
/// between backquotes or double quotes) cut to an excerpt.
fn tame(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message.trim();
    while let Some(start) = rest.find(['`', '"']) {
        let quote = if rest[start..].starts_with('`') {
            '`'
        } else {
            '"'
        };
        out.push_str(&escape_controls(&rest[..start]));
        let body = &rest[start + 1..];
        let end = closing_quote(body, quote).unwrap_or(body.len());
        out.push(quote);
        out.push_str(&excerpt(&body[..end]));
        out.push(quote);
        rest = body.get(end + 1..).unwrap_or("");
    }
    out.push_str(&escape_controls(rest));
    out
}

/// Where the quote closing `body` is; a double-quoted value may hold `\"`.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote == '"' => escaped = true,
            c if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, "m.toml").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_line_and_field() {
        assert_eq!(
            error("[[domain]]\nname = \"ex.test\"\n\n[domain.dmarc]\npolcy = \"reject\"\n")
                .split(',')
                .next()
                .unwrap(),
            "m.toml:5: field `domain.dmarc.polcy`: unknown field `polcy`"
        );
        assert!(
            error("[[domain]]\nname = \"ex.test\"\n[domain.spf]\nauthorized = [\"192.0.2.300\"]\n")
                .starts_with("m.toml:4: field `domain.spf.authorized`: `192.0.2.300` is not")
        );
        for (network, said) in [
            ("10.0.0.0/0", "is wider than a /8"),
            ("::/0", "is wider than a /16"),
        ] {
            let config = format!(
                "[[domain]]\nname = \"ex.test\"\n[domain.spf]\nauthorized = [\"{network}\"]\n"
            );
            let refusal = error(&config);
            assert!(refusal.contains(said), "{network}: {refusal}");
        }
        assert!(
            error("[[domain]]\nname = \"ex.test\"\n[domain.dmarc]\npolicy = \"strict\"\n")
                .starts_with("m.toml:4: field `domain.dmarc.policy`: `strict`")
        );
        assert!(
            error("[[domain]]\nname = \"ex.test\"\n[domain.dkim]\nmin_key_bits = 512\n")
                .starts_with("m.toml:4: field `domain.dkim.min_key_bits`")
        );
        assert!(error("domain = []\n").contains("at least one"));
        assert_eq!(
            error(
                "[[domain]]\nname = \"ex.test\"\n[domain.dkim]\n\
                 min_key_bits = 99999999999999999999\n"
            ),
            "m.toml:4: field `domain.dkim.min_key_bits`: the value `99999999999999999999` is \
             out of range: a whole number from 0 to 4294967295 is expected"
        );
        assert_eq!(
            error("[[domain]]\nname = \"ex.test\"\ndkim = 5\n"),
            "m.toml:3: field `domain.dkim`: invalid type: integer `5`, expected a table"
        );
    }

    /// TOML: `[t]` is one table, `[[t]]` an element of an array of
    /// tables, `k = [..]` an array value.
    #[test]
    fn a_list_written_as_one_value_is_taught() {
        assert_eq!(
            error("[domain]\nname = \"ex.test\"\n"),
            "m.toml:1: field `domain`: invalid type: a table, expected an array; write each \
             domain as [[domain]] then name = \"example.com\" on the next line"
        );
        assert!(
            error("[[domain]]\nname = \"ex.test\"\n[domain.sender]\nip = \"192.0.2.1\"\n")
                .ends_with("write [[domain.sender]], with two brackets, above each sender's keys")
        );
        assert_eq!(
            error("[[domain]]\nname = \"ex.test\"\n[domain.dkim]\nselectors = \"s1\"\n"),
            "m.toml:4: field `domain.dkim.selectors`: invalid type: string \"s1\", expected an \
             array; write a list in brackets, e.g. selectors = [\"a\", \"b\"]"
        );
        assert!(
            error("[[domain]]\nname = \"ex.test\"\npolicy = \"reject\"\n")
                .ends_with("; policy belongs under [domain.dmarc]")
        );
        assert!(
            error("[[domain]]\nname = \"ex.test\"\nip = \"192.0.2.1\"\n")
                .ends_with("; ip belongs under [[domain.sender]]")
        );
    }

    #[test]
    fn a_domain_listed_twice_is_refused() {
        assert_eq!(
            error("[[domain]]\nname = \"ex.test\"\n\n[[domain]]\nname = \"EX.test.\"\n"),
            "m.toml:5: field `domain.name`: `ex.test` is listed again (first on line 2); write \
             all that is expected of it under one [[domain]], which is audited once"
        );
        assert!(
            parse(
                "[[domain]]\nname = \"ex.test\"\n[[domain]]\nname = \"sub.ex.test\"\n",
                "m.toml"
            )
            .is_ok()
        );
    }

    #[test]
    fn errors_quote_only_short_escaped_excerpts_of_the_file() {
        let unsafe_chars = |e: &str| e.chars().any(crate::untrusted::is_unsafe);
        // TOML decodes \u001b in a value: an OSC title and a screen clear.
        let e = error(
            "[[domain]]\nname = \"ex.test\"\n[domain.dmarc]\n\
             policy = \"\\u001b]0;owned\\u0007\\u001b[2J\"\n",
        );
        assert!(!unsafe_chars(&e), "{e}");
        assert!(e.contains("`\\u{1b}]0;owned\\u{7}\\u{1b}[2J`"), "{e}");
        let secret = "s3cret".repeat(100);
        for text in [
            // serde quotes a value of the wrong type…
            format!("[[domain]]\nname = \"ex.test\"\ntls_rpt = \"{secret}\"\n"),
            // …and an unknown key; the field is read from the line itself.
            format!("[[domain]]\nname = \"ex.test\"\n{secret} = 1\n"),
            format!("[[domain]]\nname = \"ex.test\"\n[{secret}]\n"),
            format!("[[domain]]\nname = \"{secret}.test\"\n"),
        ] {
            let e = error(&text);
            assert!(!e.contains(&secret[..60]), "{e}");
            assert!(e.contains('…'), "{e}");
            assert!(!unsafe_chars(&e), "{e}");
        }
        assert_eq!(
            tame("invalid type: string \"a\\\"b\", expected `x`"),
            "invalid type: string \"a\\\"b\", expected `x`"
        );
    }

    #[test]
    fn networks_are_probed_at_both_ends() {
        let s = source("198.51.100.7/24".into()).unwrap();
        assert_eq!(
            s.probes(),
            ["198.51.100.0", "198.51.100.255"].map(|a| a.parse::<IpAddr>().unwrap())
        );
        assert_eq!(s.mechanism(), "ip4:198.51.100.7/24");
        let one = source("2001:db8::25".into()).unwrap();
        assert_eq!(one.probes().len(), 1);
        assert_eq!(one.mechanism(), "ip6:2001:db8::25");
        assert!(source("192.0.2.0/33".into()).is_err());
    }
}
