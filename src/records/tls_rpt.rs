//! TLS-RPT records (RFC 8460 §3): what a TXT record at `_smtp._tls.<domain>`
//! says. Each record is read with its character-strings joined without
//! spaces; it starts with `v=TLSRPTv1` (case-sensitive, `%s` in the ABNF),
//! then `;`-separated `name=value` fields on the shared tag-list tokenizer
//! ([`Syntax::EXTENSIBLE`]), with no white space around `=` and one `;`
//! allowed at the end; `rua` holds `mailto:` or `https:` URIs, and further
//! fields are extensions with the ABNF's character sets.

pub use crate::records::tag_list::OwnedTag as Tag;
use crate::records::tag_list::{Kind, Names, Space, Syntax, TagList};

/// The version field every record begins with (RFC 8460 §3).
pub const VERSION: &str = "v=TLSRPTv1";

/// A parsed TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The report URIs of every `rua` field, in order.
    pub rua: Vec<String>,
    /// Every field after the version, in order.
    pub tags: Vec<Tag>,
}

/// Why a record is not a usable TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

/// Whether a TXT record is meant as a TLS-RPT record: it begins with the
/// version, in any case, or carries a `v=TLSRPTv1` field somewhere.
pub fn is_candidate(text: &str) -> bool {
    let starts = text
        .get(..VERSION.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(VERSION));
    starts
        || TagList::split(text, Syntax::EXTENSIBLE)
            .specs
            .iter()
            .any(|spec| spec.text.eq_ignore_ascii_case(VERSION))
}

/// Parses a record strictly by the ABNF of RFC 8460 §3.
pub fn parse(text: &str) -> Result<TlsRptRecord, RecordError> {
    let fail = |m: String| Err(RecordError(m));
    if let Some(problem) = super::unprintable(text) {
        return fail(problem);
    }
    let list = TagList::split(text, Syntax::EXTENSIBLE);
    let Some((version, fields)) = list.specs.split_first() else {
        return fail(format!("the record must begin with {VERSION}"));
    };
    let first = text[version.span.clone()].trim_end_matches(|c| Space::Wsp.contains(c));
    if first != VERSION {
        return fail(if first.starts_with(VERSION) {
            format!("{VERSION} must be followed by `;` before the next field: `{first}`")
        } else if first.eq_ignore_ascii_case(VERSION) {
            format!("the version is written `{first}`; it must be exactly {VERSION} (case matters)")
        } else {
            format!("the record must begin with {VERSION}; it begins with `{first}`")
        });
    }
    let mut record = TlsRptRecord {
        rua: Vec::new(),
        tags: Vec::new(),
    };
    for spec in fields {
        let field = spec.text;
        match spec.kind {
            // One trailing separator is allowed; an empty field elsewhere is not.
            Kind::Empty if spec.last => break,
            Kind::Empty => {
                return fail("the record has an empty field (two `;` in a row)".to_string());
            }
            Kind::NotATag | Kind::Tag(_) | Kind::BadName(_) => {}
        }
        // The grammar allows no white space around `=`, so the field is
        // read as written rather than as the tokenizer trimmed it.
        let Some((name, value)) = field.split_once('=') else {
            return fail(format!("the field `{field}` is not of the form name=value"));
        };
        if !Names::Extension.accepts(name) {
            return fail(format!(
                "the field name `{name}` is not valid: it must start with a letter or digit and \
                 hold at most 32 letters, digits, `_`, `-` or `.`, with no space around `=`"
            ));
        }
        match name {
            "v" => return fail(format!("the version field appears again: `{field}`")),
            "rua" => record.rua.extend(parse_rua(value)?),
            _ if name.eq_ignore_ascii_case("rua") => {
                return fail(format!(
                    "the field name `{name}` must be written rua, in lower case"
                ));
            }
            _ => {
                if value.is_empty() || value.bytes().any(|b| !is_ext_value_byte(b)) {
                    return fail(format!(
                        "the value of `{name}` must be one or more printable characters without \
                         space, `=` or `;`"
                    ));
                }
            }
        }
        record.tags.push(Tag {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    if record.rua.is_empty() {
        return fail("the record has no rua= field naming where reports go".to_string());
    }
    Ok(record)
}

/// `%x21-3A / %x3C / %x3E-7E`: visible characters except `;` and `=`.
fn is_ext_value_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e)
}

/// The URIs of a `rua` value: comma-separated, `mailto:` or `https:`.
fn parse_rua(value: &str) -> Result<Vec<String>, RecordError> {
    let mut uris = Vec::new();
    for uri in value
        .split(',')
        .map(|u| u.trim_matches(|c| Space::Wsp.contains(c)))
    {
        if uri.is_empty() {
            return Err(RecordError(format!(
                "rua=`{value}` has an empty URI (a stray comma, or no URI at all)"
            )));
        }
        if let Some(problem) = report_uri_problem(uri) {
            return Err(RecordError(format!("the rua URI `{uri}` {problem}")));
        }
        uris.push(uri.to_string());
    }
    Ok(uris)
}

/// Why a report URI is unusable, if it is.
pub fn report_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Some("contains a space or a control character");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Some("must use the mailto: or https: scheme (RFC 8460 §3)");
    };
    if scheme.eq_ignore_ascii_case("mailto") {
        let address = rest.split('?').next().unwrap_or_default();
        match address.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => None,
            _ => {
                Some("is not a mailto: URI with an address such as mailto:tls-reports@example.com")
            }
        }
    } else if scheme.eq_ignore_ascii_case("https") {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(h) if !h.is_empty() => None,
            _ => {
                Some("is not an https: URL with a host such as https://reports.example.com/tlsrpt")
            }
        }
    } else {
        Some("must use the mailto: or https: scheme (RFC 8460 §3)")
    }
}

#[cfg(test)]
mod tests;
