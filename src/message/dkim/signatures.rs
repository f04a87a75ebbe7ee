//! The `DKIM-Signature` headers of a message, in header order, each matched
//! with mail-auth's parse of it (its list of parsed signatures skips those
//! that failed, which appear only among its errors), and the report of a
//! header mail-auth could not parse, from its tags as written.
//!
//! Tags as written are read here with the one tag-list tokenizer
//! ([`crate::records::tag_list`], RFC 6376 §3.2), for the DKIM report and
//! for the ARC headers, which share the grammar (RFC 8617 §4.1).

use super::{DkimProblem, DkimResult, DkimSignature};
use crate::message::limits::{Budget, SignatureKind, signature_kind};
use crate::records::dkim_key::decode_base64;
use crate::records::tag_list::{Kind, Space, Syntax, TagList, TagListError};
use mail_auth::dkim::{DkimError, Signature};
use mail_auth::{AuthenticatedMessage, Error as AuthError};

/// One `name=value` of a tag-list, FWS around both removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub name: String,
    pub value: String,
}

/// A tag list as written, read leniently: the tags that could be read, and
/// the first way the list breaks the grammar of RFC 6376 §3.2, if it does
/// (an empty tag-spec such as `;;`, a spec without `=`, a tag name that is
/// not `ALPHA *(ALPHA / DIGIT / "_")`, a tag named twice). One `;` after
/// the last tag is allowed. Tag names are case-sensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WrittenTags {
    /// The well-formed tags, the first of each name, in order.
    pub tags: Vec<Tag>,
    /// The first break of the grammar, in words.
    pub error: Option<String>,
    /// Whether a piece that is not empty breaks the grammar: it has no
    /// `=`, a malformed name, or a name given before. The header checks
    /// pass over a list that only has empty pieces (`;;`) to spare, which
    /// the DKIM verdict does not.
    pub broken: bool,
}

impl WrittenTags {
    /// Reads a header value's tag list.
    pub(crate) fn read(value: &[u8]) -> WrittenTags {
        let text = String::from_utf8_lossy(value);
        let list = TagList::split(&text, Syntax::DKIM);
        let mut tags: Vec<Tag> = Vec::new();
        let mut broken = false;
        for spec in &list.specs {
            match spec.kind {
                Kind::Tag(tag) if tags.iter().any(|t| t.name == tag.name) => broken = true,
                Kind::Tag(tag) => tags.push(Tag {
                    name: tag.name.to_string(),
                    value: tag.value.to_string(),
                }),
                Kind::Empty => {}
                Kind::NotATag | Kind::BadName(_) => broken = true,
            }
        }
        let error = list.first_error().map(|error| match error {
            // Said with the spec, which shows what the missing name is for.
            TagListError::BadName(ref name) if name.is_empty() => list
                .specs
                .iter()
                .find(|s| matches!(s.kind, Kind::BadName(t) if t.name.is_empty()))
                .map_or_else(
                    || error.to_string(),
                    |s| format!("`{}` has no tag name", s.text),
                ),
            other => other.to_string(),
        });
        WrittenTags {
            tags,
            error,
            broken,
        }
    }

    /// The value of the tag `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.value.as_str())
    }
}

/// One `DKIM-Signature` header and what mail-auth made of it.
pub(super) struct SignatureHeader<'x> {
    pub(super) name: &'x [u8],
    pub(super) value: &'x [u8],
    /// The tags as written (for reporting and for the rules mail-auth does
    /// not check).
    pub(super) tags: WrittenTags,
    pub(super) parsed: Parsed<'x>,
}

pub(super) enum Parsed<'x> {
    Ok(&'x Signature),
    Failed(AuthError),
}

/// Every `DKIM-Signature` header the budget judges, in message order,
/// matched with mail-auth's parse of it (its list of parsed signatures
/// skips those that failed, which appear only among its errors).
pub(super) fn signature_headers<'x>(
    message: &'x AuthenticatedMessage<'x>,
    budget: &Budget,
) -> Vec<SignatureHeader<'x>> {
    let base = message.raw_message().as_ptr() as usize;
    let mut out = Vec::new();
    for &(name, value) in message.headers() {
        if signature_kind(name) != Some(SignatureKind::Dkim)
            || !budget.judges((value.as_ptr() as usize).wrapping_sub(base))
        {
            continue;
        }
        let parsed = if let Some(h) = message
            .dkim_signatures()
            .iter()
            .find(|h| std::ptr::eq(h.value, value))
        {
            Parsed::Ok(&h.header)
        } else {
            let error = message
                .errors()
                .iter()
                .find(|h| std::ptr::eq(h.value, value))
                .map_or(AuthError::Parse, |h| h.header.clone());
            Parsed::Failed(error)
        };
        out.push(SignatureHeader {
            name,
            value,
            tags: WrittenTags::read(value),
            parsed,
        });
    }
    out
}

/// The report of a header mail-auth could not parse, from its tags as
/// written.
pub(super) fn unparsable_report(header: &SignatureHeader<'_>, error: &AuthError) -> DkimSignature {
    let tags = &header.tags;
    let number = |name: &str| tags.get(name).and_then(|v| v.parse::<u64>().ok());
    let reason = match error {
        // mail-auth also says this when b= or bh= decodes to nothing: it
        // drops what is not base64.
        AuthError::MissingParameters => {
            let missing: Vec<String> = ["d", "s", "b", "bh", "h"]
                .iter()
                .filter(|n| tags.get(n).is_none_or(|v| v.trim().is_empty()))
                .map(|n| format!("{n}="))
                .collect();
            let not_base64 = ["b", "bh"].iter().find_map(|n| {
                let value = tags.get(n).filter(|v| !v.trim().is_empty())?;
                decode_base64(value)
                    .err()
                    .map(|e| format!("{n}= is not valid base64: {e}"))
            });
            match (missing.is_empty(), not_base64) {
                (false, _) => format!(
                    "unparsable: the required tag(s) {} are missing or empty (RFC 6376 §3.5)",
                    missing.join(", ")
                ),
                (true, Some(reason)) => format!("unparsable: {reason} (RFC 6376 §3.5)"),
                (true, None) => "unparsable: a required tag (d=, s=, b=, bh=, h=) has no usable \
                                 value (RFC 6376 §3.5)"
                    .to_string(),
            }
        }
        AuthError::Base64 => "unparsable: b= or bh= is not valid base64".to_string(),
        AuthError::Parse => "unparsable: the header does not parse (i= is not valid?)".to_string(),
        AuthError::Dkim(DkimError::UnsupportedVersion) => format!(
            "unparsable: v={} (only v=1 is defined, RFC 6376 §3.5)",
            tags.get("v").unwrap_or_default()
        ),
        AuthError::Dkim(DkimError::UnsupportedAlgorithm) => format!(
            "unparsable: a={} is not a DKIM algorithm (rsa-sha256 or ed25519-sha256)",
            tags.get("a").unwrap_or_default()
        ),
        AuthError::Dkim(DkimError::UnsupportedCanonicalization) => format!(
            "unparsable: c={} is not simple or relaxed (RFC 6376 §3.4)",
            tags.get("c").unwrap_or_default()
        ),
        other => format!("unparsable: {other}"),
    };
    DkimSignature {
        result: DkimResult::PermError,
        problem: Some(DkimProblem::Unparsable),
        reason: Some(reason),
        domain: tags.get("d").map(|d| d.to_ascii_lowercase()),
        selector: tags.get("s").map(str::to_string),
        algorithm: tags.get("a").map(str::to_string),
        canonicalization: tags.get("c").map(str::to_string),
        signed_headers: tags
            .get("h")
            .map(|h| {
                h.split(':')
                    .map(|n| Space::Fws.trim(n).to_string())
                    .collect()
            })
            .unwrap_or_default(),
        identity: tags.get("i").map(str::to_string),
        body_length: number("l"),
        timestamp: number("t"),
        expiration: number("x"),
        key_bits: None,
        aligned_with: None,
    }
}
