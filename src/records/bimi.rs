//! BIMI assertion records (draft-brand-indicators-for-message-identification
//! §4.2): what a TXT record at `default._bimi.<domain>` says. The record is
//! a tag list on the shared tokenizer ([`Syntax::DMARC`]: WSP around names,
//! values and `;`, DKIM-style tag names), `v=BIMI1` first, each tag once,
//! one `;` allowed at the end; `l=` is the logo's https URL and `a=` the
//! mark certificate's, either empty to decline.

pub use crate::records::tag_list::OwnedTag as Tag;
use crate::records::tag_list::{Kind, Syntax, TagList};

/// The only version this module knows (draft §4.2).
pub const VERSION: &str = "BIMI1";

/// The tags the draft defines (§4.2: `v`, `l`, `a`; `avp`, the avatar
/// preference, in later revisions). Receivers ignore any other.
pub const KNOWN_TAGS: [&str; 4] = ["v", "l", "a", "avp"];

/// A parsed BIMI assertion record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BimiRecord {
    /// `l=`: where the SVG logo is, or `None` when empty.
    pub logo_url: Option<String>,
    /// `a=`: where the mark certificate is, or `None` when empty or absent.
    pub authority_url: Option<String>,
    /// Every tag in order, the version included.
    pub tags: Vec<Tag>,
}

impl BimiRecord {
    /// `l=` and `a=` empty: the domain asks that no logo be shown (§4.2.1).
    pub fn is_declination(&self) -> bool {
        self.logo_url.is_none() && self.authority_url.is_none()
    }

    /// The tags the draft does not define, which receivers ignore.
    pub fn unknown_tags(&self) -> Vec<&Tag> {
        self.tags
            .iter()
            .filter(|t| !KNOWN_TAGS.contains(&t.name.as_str()))
            .collect()
    }
}

/// Why a record is not a usable BIMI record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

/// Whether a TXT record is meant as a BIMI record: its first tag is
/// `v=BIMI1` (in any case, spaces allowed around `=`), or such a tag
/// appears later, which the parser then reports as out of place.
pub fn is_candidate(text: &str) -> bool {
    TagList::split(text, Syntax::DMARC)
        .specs
        .iter()
        .any(|spec| match spec.kind {
            Kind::Tag(tag) | Kind::BadName(tag) => {
                tag.name.eq_ignore_ascii_case("v") && tag.value.eq_ignore_ascii_case(VERSION)
            }
            Kind::Empty | Kind::NotATag => false,
        })
}

/// Parses an assertion record (draft §4.2).
pub fn parse(text: &str) -> Result<BimiRecord, RecordError> {
    let fail = |m: String| Err(RecordError(m));
    if let Some(problem) = super::unprintable(text) {
        return fail(problem);
    }
    let mut tags: Vec<Tag> = Vec::new();
    for spec in TagList::split(text, Syntax::DMARC).specs {
        let (name, value) = match spec.kind {
            // One trailing separator is allowed; an empty field elsewhere is not.
            Kind::Empty if spec.last && spec.index > 0 => break,
            Kind::Empty => {
                return fail("the record has an empty field (two `;` in a row)".to_string());
            }
            Kind::NotATag => {
                return fail(format!(
                    "the field `{}` is not of the form tag=value",
                    spec.text
                ));
            }
            Kind::BadName(tag) => return fail(format!("`{}` is not a valid tag name", tag.name)),
            Kind::Tag(tag) => (tag.name, tag.value),
        };
        if tags.iter().any(|t| t.name == name) {
            return fail(format!("the tag {name}= appears more than once"));
        }
        tags.push(Tag {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    match tags.first() {
        Some(t) if t.name == "v" && t.value == VERSION => {}
        Some(t) if t.name == "v" && t.value.eq_ignore_ascii_case(VERSION) => {
            return fail(format!(
                "the version is written `v={}`; it must be exactly v={VERSION}",
                t.value
            ));
        }
        Some(t) if t.name == "v" => {
            return fail(format!("the version v={} is not v={VERSION}", t.value));
        }
        _ => return fail(format!("the record must begin with v={VERSION}")),
    }
    let value_of = |name: &str| {
        tags.iter()
            .find(|t| t.name == name)
            .map(|t| t.value.as_str())
    };
    let Some(logo) = value_of("l") else {
        return fail(
            "the record has no l= tag (the logo's https URL, or empty to decline)".to_string(),
        );
    };
    let logo_url = https_url(logo).map_err(|p| RecordError(format!("l={logo} {p}")))?;
    let authority_url = match value_of("a") {
        // Early BIMI drafts wrote a self-asserted record as a=self.
        None | Some("self") => None,
        Some(a) => https_url(a).map_err(|p| RecordError(format!("a={a} {p}")))?,
    };
    Ok(BimiRecord {
        logo_url,
        authority_url,
        tags,
    })
}

/// An empty value, or an https URL with a host.
fn https_url(value: &str) -> Result<Option<String>, &'static str> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err("contains a space or a control character");
    }
    let rest = value
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .and_then(|_| value.get(8..))
        .ok_or("is not an https:// URL; BIMI fetches only over HTTPS")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host name after https://");
    }
    Ok(Some(value.to_string()))
}

#[cfg(test)]
pub(crate) mod tests;
