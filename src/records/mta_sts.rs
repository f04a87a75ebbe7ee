//! MTA-STS records (RFC 8461): what the `_mta-sts` TXT record (§3.1) and
//! the policy file (§3.2) say, and how a policy's `mx` patterns match a
//! host (§4.1).
//!
//! - **The TXT record**: `v=STSv1` first, then `;`-separated `name=value`
//!   fields on the shared tag-list tokenizer ([`Syntax::EXTENSIBLE`]: WSP
//!   around each `;`, extension names of letters, digits, `_`, `-` and
//!   `.`), no white space around `=`, one `;` may end the record; `id` is
//!   required and is 1 to 32 letters or digits.
//! - **The policy file**: `key: value` lines separated by CRLF or LF;
//!   `version: STSv1`, `mode` (enforce, testing, none), `max_age` (0 to
//!   31557600) and at least one `mx` pattern unless the mode is none;
//!   unknown fields are ignored, and of a repeated field other than `mx`
//!   only the first counts.

use crate::records::tag_list::{Kind, Names, Space, Syntax, TagList};
use serde::Serialize;

/// The largest `max_age` the grammar allows, about one year (§3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;
/// The field a record must begin with (§3.1).
pub const VERSION_FIELD: &str = "v=STSv1";

/// A parsed `_mta-sts` TXT record (§3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsRecord {
    /// Changes whenever the policy changes; senders refetch on a new id.
    pub id: String,
    /// Fields this version of MTA-STS does not define, ignored by senders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
}

/// A field the RFC does not define, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub name: String,
    pub value: String,
}

/// A parsed policy file (§3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub version: String,
    pub mode: Mode,
    /// Seconds a sender may cache the policy.
    pub max_age: u64,
    /// MX host patterns: exact names or `*.` followed by a name.
    pub mx: Vec<String>,
    /// Fields the RFC does not define, ignored by senders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
}

/// What senders do with a policy (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deliver only over verified TLS to matching MX hosts.
    Enforce,
    /// Report failures (TLS-RPT) but deliver anyway.
    Testing,
    /// The domain is withdrawing its policy.
    None,
}

impl Mode {
    fn parse(value: &str) -> Option<Mode> {
        // The values are case-sensitive (RFC 7405 %s strings in §3.2).
        match value {
            "enforce" => Some(Mode::Enforce),
            "testing" => Some(Mode::Testing),
            "none" => Some(Mode::None),
            _ => None,
        }
    }
}

/// Why a `_mta-sts` TXT record is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the record must begin with the field `v=STSv1`, but begins with `{0}`")]
    BadVersion(String),
    #[error("the `id` field is missing{0}")]
    MissingId(String),
    #[error("`id={0}` is not 1 to 32 letters or digits")]
    BadId(String),
    #[error("`{0}` is not a field of the form name=value")]
    BadField(String),
    #[error("two `;` in a row leave an empty field")]
    EmptyField,
}

/// Whether a TXT record is meant as MTA-STS: it begins with `v=STSv1`, or
/// has that field elsewhere or in another case. Senders only keep records
/// that begin with `v=STSv1;` (§3.1); the wider net lets the audit say why
/// a record that was meant as MTA-STS is ignored instead of calling the
/// domain's policy missing.
pub fn is_sts_record(text: &str) -> bool {
    text.starts_with(VERSION_FIELD)
        || TagList::split(text, Syntax::EXTENSIBLE)
            .specs
            .iter()
            .any(|spec| match spec.kind {
                Kind::Tag(tag) | Kind::BadName(tag) => {
                    tag.name.eq_ignore_ascii_case("v") && tag.value.eq_ignore_ascii_case("STSv1")
                }
                Kind::Empty | Kind::NotATag => false,
            })
}

/// Parses a record by the grammar of §3.1:
/// `v=STSv1` first, then `;`-separated `name=value` fields (spaces and tabs
/// allowed around each `;`, one `;` may end the record) of which `id` is
/// required and is 1 to 32 letters or digits. Field names are
/// case-sensitive; of repeated `id` fields the first counts.
pub fn parse_record(text: &str) -> Result<StsRecord, RecordError> {
    let after_version = text
        .strip_prefix(VERSION_FIELD)
        .map(|rest| rest.trim_start_matches(|c| Space::Wsp.contains(c)))
        .filter(|rest| rest.is_empty() || rest.starts_with(';'))
        .ok_or_else(|| {
            let first = text.split(';').next().unwrap_or(text);
            let first = Space::Wsp.trim(first);
            RecordError::BadVersion(first.to_string())
        })?;
    let fields = after_version.strip_prefix(';').unwrap_or(after_version);
    let mut id: Option<String> = None;
    let mut extensions = Vec::new();
    for spec in TagList::split(fields, Syntax::EXTENSIBLE).specs {
        let field = spec.text;
        match spec.kind {
            Kind::Empty if spec.last => continue, // the optional final `;`
            Kind::Empty => return Err(RecordError::EmptyField),
            Kind::NotATag => return Err(RecordError::BadField(field.to_string())),
            Kind::Tag(_) | Kind::BadName(_) => {}
        }
        // The grammar allows no white space around `=`, so the field is
        // read as written rather than as the tokenizer trimmed it.
        let Some((name, value)) = field.split_once('=') else {
            return Err(RecordError::BadField(field.to_string()));
        };
        if !Names::Extension.accepts(name) {
            return Err(RecordError::BadField(field.to_string()));
        }
        if name == "id" {
            if id.is_none() {
                if !is_sts_id(value) {
                    return Err(RecordError::BadId(value.to_string()));
                }
                id = Some(value.to_string());
            }
        } else {
            // sts-ext-value: visible ASCII except `=` and `;`.
            let valid = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'=' && b != b';');
            if !valid {
                return Err(RecordError::BadField(field.to_string()));
            }
            extensions.push(Extension {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
    }
    let Some(id) = id else {
        let hint = extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case("id"))
            .map(|e| {
                format!(
                    " (`{}` is not `id`: field names are case-sensitive)",
                    e.name
                )
            })
            .unwrap_or_default();
        return Err(RecordError::MissingId(hint));
    };
    Ok(StsRecord { id, extensions })
}

fn is_sts_id(value: &str) -> bool {
    (1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Why a policy file is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the file is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    #[error("line {line} `{text}` is not a `key: value` field: {why}")]
    BadLine {
        line: usize,
        text: String,
        why: String,
    },
    #[error("`version: {0}` is not `version: STSv1`, the only version")]
    BadVersion(String),
    #[error("`mode: {0}` is not one of enforce, testing or none (lower case)")]
    BadMode(String),
    #[error("`max_age: {0}` is not a whole number of seconds from 0 to {MAX_AGE_LIMIT}")]
    BadMaxAge(String),
    #[error("`mx: {0}` is not a host name, nor `*.` followed by one")]
    BadMx(String),
    #[error("the `{field}` field is missing{hint}")]
    Missing { field: &'static str, hint: String },
    #[error("there is no `mx` field, which every mode but none needs")]
    NoMx,
}

impl PolicyError {
    /// The change that fixes this, in the words of the policy file.
    pub fn advice(&self) -> String {
        match self {
            PolicyError::NotUtf8(_) => "Save the policy as plain UTF-8 text.".into(),
            PolicyError::BadLine { line, .. } => format!(
                "Rewrite line {line} as `key: value` (a field name of letters, digits, `_`, \
                 `-` or `.`, a colon, then the value), or delete it."
            ),
            PolicyError::BadVersion(_) => "Write the line `version: STSv1`.".into(),
            PolicyError::BadMode(_) => {
                "Write `mode: enforce`, `mode: testing` or `mode: none`.".into()
            }
            PolicyError::BadMaxAge(_) => {
                "Write `max_age: 604800` (one week; at most 31557600).".into()
            }
            PolicyError::BadMx(value) => format!(
                "Write each MX pattern as a host name such as `mx: mail.example.com` or a \
                 wildcard for one label such as `mx: *.example.net`, without a trailing dot, \
                 in place of `mx: {value}`."
            ),
            PolicyError::Missing { field, .. } => {
                let line = match *field {
                    "version" => "version: STSv1",
                    "mode" => "mode: testing",
                    _ => "max_age: 604800",
                };
                format!("Add the line `{line}`.")
            }
            PolicyError::NoMx => {
                "Add one `mx:` line per MX host (for example `mx: mail.example.com`), or a \
                 wildcard such as `mx: *.example.net`."
                    .into()
            }
        }
    }
}

/// Parses a policy file by the grammar of §3.2. Fields may come in any
/// order (the grammar fixes none, unlike the TXT record's `v=STSv1`
/// first). Field names and the values of `version` and `mode` are
/// case-sensitive. Blank lines carry no field and are skipped rather than
/// refused.
pub fn parse_policy(body: &[u8]) -> Result<Policy, PolicyError> {
    let text = std::str::from_utf8(body).map_err(|e| PolicyError::NotUtf8(e.valid_up_to()))?;
    let mut version: Option<String> = None;
    let mut mode: Option<Mode> = None;
    let mut max_age: Option<u64> = None;
    let mut mx = Vec::new();
    let mut extensions: Vec<Extension> = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim_matches(|c| Space::Wsp.contains(c)).is_empty() {
            continue;
        }
        let bad = |why: &str| PolicyError::BadLine {
            line: index + 1,
            text: line.escape_debug().to_string(),
            why: why.to_string(),
        };
        let Some((name, rest)) = line.split_once(':') else {
            return Err(bad("it has no `:`"));
        };
        if !Names::Extension.accepts(name) {
            return Err(bad(if name.starts_with('\u{feff}') {
                "the file begins with a byte-order mark"
            } else {
                "the field name must be letters, digits, `_`, `-` or `.`, with no space \
                 before the colon"
            }));
        }
        let value = rest.trim_matches(|c| Space::Wsp.contains(c));
        // Of a repeated field other than mx, only the first counts (§3.2).
        match name {
            "version" if version.is_none() => {
                if value != "STSv1" {
                    return Err(PolicyError::BadVersion(value.escape_debug().to_string()));
                }
                version = Some(value.to_string());
            }
            "mode" if mode.is_none() => {
                let parsed = Mode::parse(value)
                    .ok_or_else(|| PolicyError::BadMode(value.escape_debug().to_string()))?;
                mode = Some(parsed);
            }
            "max_age" if max_age.is_none() => {
                let parsed = parse_max_age(value)
                    .ok_or_else(|| PolicyError::BadMaxAge(value.escape_debug().to_string()))?;
                max_age = Some(parsed);
            }
            "mx" => {
                if !is_mx_pattern(value) {
                    return Err(PolicyError::BadMx(value.escape_debug().to_string()));
                }
                mx.push(value.to_string());
            }
            "version" | "mode" | "max_age" => {}
            _ => {
                // sts-policy-ext-value: visible characters (UTF-8 allowed)
                // and inner spaces, no control characters.
                let valid = !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c == ' ' || ('\x21'..='\x7e').contains(&c) || !c.is_ascii());
                if !valid {
                    return Err(bad("the value is empty or has control characters"));
                }
                extensions.push(Extension {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
    }
    let missing = |field: &'static str| {
        let hint = extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(field))
            .map(|e| {
                format!(
                    " (`{}` is not `{field}`: field names are case-sensitive)",
                    e.name
                )
            })
            .unwrap_or_default();
        PolicyError::Missing { field, hint }
    };
    let version = version.ok_or_else(|| missing("version"))?;
    let mode = mode.ok_or_else(|| missing("mode"))?;
    let max_age = max_age.ok_or_else(|| missing("max_age"))?;
    if mx.is_empty() && mode != Mode::None {
        return Err(PolicyError::NoMx);
    }
    Ok(Policy {
        version,
        mode,
        max_age,
        mx,
        extensions,
    })
}

/// `1*10DIGIT`, at most [`MAX_AGE_LIMIT`].
fn parse_max_age(value: &str) -> Option<u64> {
    if !(1..=10).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().filter(|n| *n <= MAX_AGE_LIMIT)
}

/// `["*."] Domain` (§3.2, with Domain from RFC 5321 §4.1.2): labels of
/// letters, digits and inner hyphens; no trailing dot, and a wildcard only
/// as the whole leftmost label.
pub fn is_mx_pattern(value: &str) -> bool {
    let domain = value.strip_prefix("*.").unwrap_or(value);
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            let b = label.as_bytes();
            matches!((b.first(), b.last()), (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric())
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// Whether an MX host matches a policy pattern (§4.1): names compare
/// without case and without a final dot; `*.rest` matches a host whose
/// leftmost label is any one label and whose remainder is `rest`, so
/// `*.example.com` matches `mx.example.com` but neither `example.com`
/// nor `a.b.example.com`.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => host.eq_ignore_ascii_case(pattern),
    }
}

#[cfg(test)]
pub(crate) mod tests;
