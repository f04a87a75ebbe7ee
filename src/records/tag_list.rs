//! Tag lists: the `name=value; name=value` syntax shared by the DKIM key
//! record and the DKIM-Signature header field (RFC 6376 §3.2), DMARC
//! (RFC 7489 §6.4, RFC 9989 §4.7), BIMI assertion records, TLS-RPT
//! (RFC 8460 §3) and MTA-STS (RFC 8461 §3.1) records.
//!
//! This module decides how such a text is cut into tag-specs and what each
//! spec is — a tag, an empty spec, a spec without `=`, a spec whose name
//! breaks the grammar — and nothing more. The grammars differ in two
//! places, which are the options of [`Syntax`]:
//!
//! - **White space** around names, values and `;`: folding white space
//!   (SP, HTAB and the CR LF of a fold) in DKIM's header fields and key
//!   records (RFC 6376 §2.8, §3.2), plain WSP (SP, HTAB) in the DNS
//!   records of DMARC, BIMI, TLS-RPT and MTA-STS ([`Space`]).
//! - **Tag names**: `ALPHA *(ALPHA / DIGIT / "_")` in DKIM, DMARC and BIMI
//!   (RFC 6376 §3.2 `tag-name`, RFC 7489 §6.4 follows it), and
//!   `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")` for the
//!   extension fields of TLS-RPT and MTA-STS (RFC 8460 §3 `tlsrpt-ext-name`,
//!   RFC 8461 §3.1 `sts-ext-name`) ([`Names`]).
//!
//! What a protocol does with an empty spec (`;;`), a trailing `;`, a
//! malformed name or a name given twice is its own rule, so each parser
//! reads the [`Spec`]s and applies it; [`TagList::strict`] applies RFC
//! 6376's (an empty spec is only allowed as the optional final `;`; a bad
//! name or a repeated one invalidates the list), which DKIM uses.
//!
//! Names are compared as written: DKIM's tags are case-sensitive (RFC 6376
//! §3.2), and the protocols whose names are not leave the folding to their
//! parser.

use std::ops::Range;

/// The white space a grammar allows around tags and separators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// SP and HTAB (RFC 5234 `WSP`): the DNS records.
    Wsp,
    /// SP, HTAB, CR and LF (RFC 6376 §2.8 `FWS`): header fields, and DKIM key
    /// records, which share the header grammar.
    Fws,
}

impl Space {
    /// Whether `c` is white space under this grammar.
    pub fn contains(self, c: char) -> bool {
        match self {
            Space::Wsp => matches!(c, ' ' | '\t'),
            Space::Fws => matches!(c, ' ' | '\t' | '\r' | '\n'),
        }
    }

    /// `text` without the white space at either end.
    pub fn trim(self, text: &str) -> &str {
        text.trim_matches(|c| self.contains(c))
    }
}

/// The grammar of a tag name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// `ALPHA *(ALPHA / DIGIT / "_")` (RFC 6376 §3.2 `tag-name`).
    Tag,
    /// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")` (RFC 8460 §3,
    /// RFC 8461 §3.1).
    Extension,
}

impl Names {
    /// Whether `name` is a name of this grammar.
    pub fn accepts(self, name: &str) -> bool {
        let mut chars = name.chars();
        let Some(first) = chars.next() else {
            return false;
        };
        match self {
            Names::Tag => {
                first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            Names::Extension => {
                first.is_ascii_alphanumeric()
                    && name.len() <= 32
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            }
        }
    }
}

/// The two places where tag-list grammars differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    pub space: Space,
    pub names: Names,
}

impl Syntax {
    /// DKIM key records and DKIM-Signature fields (RFC 6376 §3.2).
    pub const DKIM: Syntax = Syntax {
        space: Space::Fws,
        names: Names::Tag,
    };
    /// DMARC and BIMI records (RFC 7489 §6.4).
    pub const DMARC: Syntax = Syntax {
        space: Space::Wsp,
        names: Names::Tag,
    };
    /// TLS-RPT and MTA-STS records (RFC 8460 §3, RFC 8461 §3.1).
    pub const EXTENSIBLE: Syntax = Syntax {
        space: Space::Wsp,
        names: Names::Extension,
    };
}

/// One `name=value`, white space around both removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// A tag as a parsed record keeps it: name and value as written, owned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OwnedTag {
    pub name: String,
    pub value: String,
}

impl From<Tag<'_>> for OwnedTag {
    fn from(tag: Tag<'_>) -> OwnedTag {
        OwnedTag {
            name: tag.name.to_string(),
            value: tag.value.to_string(),
        }
    }
}

/// What one `;`-separated piece of a tag list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A well-formed `name=value`.
    Tag(Tag<'a>),
    /// Nothing but white space: `;;`, or after a final `;`.
    Empty,
    /// Text without `=`.
    NotATag,
    /// `name=value` whose name breaks the grammar (an empty name included).
    BadName(Tag<'a>),
}

/// One piece of a tag list, where it was and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec<'a> {
    /// Its position among the pieces, from 0.
    pub index: usize,
    /// Its bytes in the text, `;` excluded, white space included.
    pub span: Range<usize>,
    /// Its text with the white space at either end removed.
    pub text: &'a str,
    /// The last piece: an [`Kind::Empty`] last piece is a trailing `;`.
    pub last: bool,
    pub kind: Kind<'a>,
}

/// Why a tag list is invalid by RFC 6376 §3.2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagListError {
    #[error("the tag-list is empty")]
    Empty,
    #[error("an empty tag-spec (`;;`)")]
    EmptySpec,
    #[error("`{0}` is not a tag=value pair")]
    NotATag(String),
    #[error("`{0}` is not a tag name")]
    BadName(String),
    #[error("the tag {0}= appears twice")]
    Repeated(String),
}

/// A tag list cut into its pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList<'a> {
    pub specs: Vec<Spec<'a>>,
}

impl<'a> TagList<'a> {
    /// Cuts `text` at every `;` and says what each piece is.
    pub fn split(text: &'a str, syntax: Syntax) -> TagList<'a> {
        let mut specs = Vec::new();
        let mut start = 0;
        let pieces = text.split(';').count();
        for (index, piece) in text.split(';').enumerate() {
            let span = start..start + piece.len();
            start = span.end + 1;
            let trimmed = syntax.space.trim(piece);
            let kind = if trimmed.is_empty() {
                Kind::Empty
            } else if let Some((name, value)) = trimmed.split_once('=') {
                let tag = Tag {
                    name: syntax.space.trim(name),
                    value: syntax.space.trim(value),
                };
                if syntax.names.accepts(tag.name) {
                    Kind::Tag(tag)
                } else {
                    Kind::BadName(tag)
                }
            } else {
                Kind::NotATag
            };
            specs.push(Spec {
                index,
                span,
                text: trimmed,
                last: index + 1 == pieces,
                kind,
            });
        }
        TagList { specs }
    }

    /// The well-formed tags, in order.
    pub fn tags(&self) -> impl Iterator<Item = Tag<'a>> + '_ {
        self.specs.iter().filter_map(|s| match s.kind {
            Kind::Tag(tag) => Some(tag),
            _ => None,
        })
    }

    /// The value of the first well-formed tag named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.tags().find(|t| t.name == name).map(|t| t.value)
    }

    /// The first way the list breaks RFC 6376 §3.2, if any: a list with no
    /// tag, an empty tag-spec other than the optional final `;`, a piece
    /// without `=`, a malformed tag name, a tag named twice (which
    /// invalidates the whole list).
    pub fn first_error(&self) -> Option<TagListError> {
        if self.tags().next().is_none() && self.specs.iter().all(|s| s.kind == Kind::Empty) {
            return Some(TagListError::Empty);
        }
        let mut seen: Vec<&str> = Vec::new();
        for spec in &self.specs {
            match spec.kind {
                Kind::Empty if spec.last && spec.index > 0 => {}
                Kind::Empty => return Some(TagListError::EmptySpec),
                Kind::NotATag => return Some(TagListError::NotATag(spec.text.to_string())),
                Kind::BadName(tag) => return Some(TagListError::BadName(tag.name.to_string())),
                Kind::Tag(tag) if seen.contains(&tag.name) => {
                    return Some(TagListError::Repeated(tag.name.to_string()));
                }
                Kind::Tag(tag) => seen.push(tag.name),
            }
        }
        None
    }

    /// The tags, when the list is valid by RFC 6376 §3.2 ([`Self::first_error`]).
    pub fn strict(text: &'a str, syntax: Syntax) -> Result<Vec<Tag<'a>>, TagListError> {
        let list = TagList::split(text, syntax);
        match list.first_error() {
            Some(error) => Err(error),
            None => Ok(list.tags().collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, syntax: Syntax) -> Vec<Kind<'_>> {
        TagList::split(text, syntax)
            .specs
            .into_iter()
            .map(|s| s.kind)
            .collect()
    }

    fn tag<'a>(name: &'a str, value: &'a str) -> Kind<'a> {
        Kind::Tag(Tag { name, value })
    }

    /// RFC 6376 §3.2: `tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value
    /// [FWS]`, FWS including the CR LF of a folded header line.
    #[test]
    fn dkim_lists_allow_folding_white_space_around_names_and_values() {
        assert_eq!(
            kinds("v=1;\r\n\ta = rsa-sha256 ;\r\n d=example.com", Syntax::DKIM),
            vec![
                tag("v", "1"),
                tag("a", "rsa-sha256"),
                tag("d", "example.com")
            ]
        );
        // In a DNS record the CR LF is not white space, so it stays.
        assert_eq!(kinds("p=abc\r\n", Syntax::DMARC), vec![tag("p", "abc\r\n")]);
    }

    /// RFC 6376 §3.2: `tag-list = tag-spec *( ";" tag-spec ) [ ";" ]`: one
    /// final `;` is allowed, an empty spec elsewhere is not.
    #[test]
    fn only_the_final_semicolon_may_leave_an_empty_spec() {
        assert_eq!(
            TagList::strict("v=1; d=x;", Syntax::DKIM).map(|t| t.len()),
            Ok(2)
        );
        assert_eq!(
            TagList::strict("v=1;; d=x", Syntax::DKIM),
            Err(TagListError::EmptySpec)
        );
        assert_eq!(
            TagList::strict(";v=1", Syntax::DKIM),
            Err(TagListError::EmptySpec)
        );
        assert_eq!(
            TagList::strict("  ", Syntax::DKIM),
            Err(TagListError::Empty)
        );
        assert_eq!(TagList::strict(";", Syntax::DKIM), Err(TagListError::Empty));
        let list = TagList::split("v=1; d=x; ", Syntax::DKIM);
        let last = list.specs.last().unwrap();
        assert!(last.last && last.kind == Kind::Empty);
    }

    /// RFC 6376 §3.2: `tag-name = ALPHA *ALNUMPUNC`, `ALNUMPUNC = ALPHA /
    /// DIGIT / "_"`.
    #[test]
    fn tag_names_start_with_a_letter_and_hold_letters_digits_and_underscores() {
        for good in ["v", "bh", "x_1", "A9"] {
            assert!(Names::Tag.accepts(good), "{good}");
        }
        for bad in ["", "1v", "_a", "a-b", "a.b", "a b", "é"] {
            assert!(!Names::Tag.accepts(bad), "{bad}");
        }
        assert_eq!(
            kinds("1v=x; =y; a b=z", Syntax::DKIM),
            vec![
                Kind::BadName(Tag {
                    name: "1v",
                    value: "x"
                }),
                Kind::BadName(Tag {
                    name: "",
                    value: "y"
                }),
                Kind::BadName(Tag {
                    name: "a b",
                    value: "z"
                }),
            ]
        );
        assert_eq!(
            TagList::strict("v=1; 1v=x", Syntax::DKIM),
            Err(TagListError::BadName("1v".into()))
        );
    }

    /// RFC 8460 §3 and RFC 8461 §3.1: extension names may start with a
    /// digit, hold `-` and `.`, and are at most 32 characters.
    #[test]
    fn extension_names_allow_digits_first_dashes_and_dots_up_to_32() {
        for good in ["id", "rua", "9x", "a-b.c_d", &"a".repeat(32)] {
            assert!(Names::Extension.accepts(good), "{good}");
        }
        for bad in ["", "-a", ".a", "a b", "a;b", &"a".repeat(33)] {
            assert!(!Names::Extension.accepts(bad), "{bad}");
        }
    }

    /// RFC 6376 §3.2: "Tags with duplicate names MUST NOT occur within a
    /// single tag-list; if a tag name does occur more than once, the entire
    /// tag-list is invalid." Names are case-sensitive.
    #[test]
    fn a_repeated_tag_invalidates_the_list_and_case_makes_names_distinct() {
        assert_eq!(
            TagList::strict("v=1; d=a; d=b", Syntax::DKIM),
            Err(TagListError::Repeated("d".into()))
        );
        assert_eq!(
            TagList::strict("v=1; d=a; D=b", Syntax::DKIM).map(|t| t.len()),
            Ok(3)
        );
    }

    #[test]
    fn a_piece_without_equals_is_not_a_tag() {
        assert_eq!(kinds("v=1; junk", Syntax::DMARC)[1], Kind::NotATag);
        assert_eq!(
            TagList::strict("v=1; junk", Syntax::DKIM),
            Err(TagListError::NotATag("junk".into()))
        );
    }

    /// The value keeps everything after the first `=`, so base64 padding
    /// and `mailto:` URIs with `=` survive.
    #[test]
    fn values_keep_later_equals_signs() {
        assert_eq!(
            TagList::split("bh=abc=; rua=mailto:a@b.c?x=y", Syntax::DMARC).get("rua"),
            Some("mailto:a@b.c?x=y")
        );
        assert_eq!(
            TagList::split("bh=abc=", Syntax::DKIM).get("bh"),
            Some("abc=")
        );
    }

    #[test]
    fn spans_point_at_each_piece_in_the_text() {
        let text = "v=DMARC1; p=none;x";
        let list = TagList::split(text, Syntax::DMARC);
        let pieces: Vec<&str> = list.specs.iter().map(|s| &text[s.span.clone()]).collect();
        assert_eq!(pieces, vec!["v=DMARC1", " p=none", "x"]);
        assert_eq!(list.specs[2].kind, Kind::NotATag);
        assert!(list.specs[2].last);
    }
}
