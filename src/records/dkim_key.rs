//! DKIM key records (RFC 6376 §3.6.1): what a TXT record at
//! `<selector>._domainkey.<domain>` says, read the same way by the domain
//! audit and by the message report's verifier.
//!
//! - The record is an RFC 6376 §3.2 tag-list ([`crate::records::tag_list`],
//!   [`Syntax::DKIM`]) with the key tags of §3.6.1 (`v`, `h`, `k`, `n`,
//!   `p`, `s`, `t`). Empty tag-specs (`;;`, a trailing `;`) are passed
//!   over, as verifiers do; a spec without `=`, a malformed tag name or a
//!   tag named twice makes the record invalid.
//! - `p=` empty is a revoked key; otherwise it is base64 (RFC 4648 §4) with
//!   the folding white space RFC 6376 §2.6 allows inside it, of an RSA key
//!   — a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) holding an RSAPublicKey
//!   (RFC 8017 §A.1.1), or the bare RSAPublicKey some publish — or of an
//!   Ed25519 key, exactly its 32 bytes (RFC 8463 §4.2).
//! - A valid key is *usable* when a receiver would verify a current
//!   signature with it: RSA of at least 1024 bits (RFC 8301 §3.2), `h=`
//!   allowing sha256 (RFC 8301 §3.1), `s=` allowing email (§3.6.1).
//!
//! The DER reading goes only as far as an RSA public key needs (X.690 §10).

pub use crate::records::tag_list::OwnedTag as Tag;
use crate::records::tag_list::{Kind, Syntax, TagList};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::Serialize;

/// What a key record's `p=` turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// A key of the stated type decoded from `p=`.
    Valid,
    /// `p=` is empty: the key was withdrawn.
    Revoked,
    /// The record or its key cannot be used.
    Invalid,
}

/// The key types of RFC 6376 §3.6.1 and RFC 8463 §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAlgorithm {
    Rsa,
    Ed25519,
}

/// The tags of a key record as published (RFC 6376 §3.6.1); tags this
/// version of DKIM does not define are ignored, as the RFC requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyTags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
}

/// One key record at a selector, read and judged.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRecord {
    /// The TXT record, its character-strings joined.
    pub record: String,
    /// The parsed tags; absent when the tag-list does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<KeyTags>,
    pub status: KeyStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<KeyAlgorithm>,
    /// RSA modulus length, or 256 for Ed25519.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    /// `t=` holds the `y` flag.
    pub testing: bool,
    /// A receiver can verify an rsa-sha256 or ed25519-sha256 signature
    /// with this key.
    pub usable: bool,
    /// Why the key is not usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The tags in record order, for fixes that rewrite the record.
    #[serde(skip)]
    pub tag_list: Vec<Tag>,
    /// The problem behind [`KeyStatus::Invalid`], for fixes that name it.
    #[serde(skip)]
    pub invalid: Option<KeyProblem>,
}

/// Whether a TXT record at a selector name is meant as a DKIM key record.
/// Other records turn up there through wildcards (`*.<domain>` holding
/// SPF) or by mistake; RFC 6376 §3.6.1 discards records whose leading `v=`
/// is not DKIM's, and a record with neither `p=` nor `k=` says nothing
/// about a key.
pub fn is_key_record(text: &str) -> bool {
    // Names are not checked here: a record is judged by what it tries to
    // be, and a malformed name is read (and reported) as a key record's.
    let list = TagList::split(text, Syntax::DKIM);
    let mut pairs = list
        .specs
        .iter()
        .filter_map(|spec| match spec.kind {
            Kind::Empty => None,
            Kind::NotATag => Some(None),
            Kind::Tag(tag) | Kind::BadName(tag) => Some(Some((tag.name, tag.value))),
        })
        .peekable();
    if let Some(Some(("v", version))) = pairs.peek() {
        return version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("dkim"));
    }
    pairs.any(|pair| matches!(pair, Some(("p" | "k", _))))
}

/// Reads one key record.
pub fn read_key_record(text: &str) -> KeyRecord {
    let mut key = KeyRecord {
        record: text.to_string(),
        tags: None,
        status: KeyStatus::Invalid,
        algorithm: None,
        bits: None,
        testing: false,
        usable: false,
        problem: None,
        tag_list: Vec::new(),
        invalid: None,
    };
    let tag_list = match parse_tag_list(text) {
        Ok(tags) => tags,
        Err(reason) => {
            key.problem = Some(KeyProblem::TagList(reason.clone()).to_string());
            key.invalid = Some(KeyProblem::TagList(reason));
            return key;
        }
    };
    let tags = KeyTags::from_list(&tag_list);
    key.testing = flag_list(tags.t.as_deref()).any(|f| f.eq_ignore_ascii_case("y"));
    let decoded = decode_key(&tags);
    key.tags = Some(tags);
    key.tag_list = tag_list;
    match decoded {
        Err(problem) => {
            key.problem = Some(problem.to_string());
            key.invalid = Some(problem);
        }
        Ok(None) => {
            key.status = KeyStatus::Revoked;
            key.problem = Some("the key is revoked (empty p=)".into());
        }
        Ok(Some((algorithm, bits))) => {
            key.status = KeyStatus::Valid;
            key.algorithm = Some(algorithm);
            key.bits = Some(bits);
            key.problem = unusable_because(&key);
            key.usable = key.problem.is_none();
        }
    }
    key
}

/// Why a valid key still cannot verify a current signature, if it cannot.
fn unusable_because(key: &KeyRecord) -> Option<String> {
    let tags = key.tags.as_ref()?;
    if key.algorithm == Some(KeyAlgorithm::Rsa) && key.bits.is_some_and(|b| b < 1024) {
        return Some("the RSA key is shorter than 1024 bits (RFC 8301 §3.2)".into());
    }
    // An h= or s= that lists nothing restricts nothing.
    let restricts = |value: &Option<String>| flag_list(value.as_deref()).next().is_some();
    if restricts(&tags.h) && !flag_list(tags.h.as_deref()).any(|h| h.eq_ignore_ascii_case("sha256"))
    {
        return Some(
            "h= does not allow sha256, the only hash receivers accept (RFC 8301 §3.1)".into(),
        );
    }
    if restricts(&tags.s) && !flag_list(tags.s.as_deref()).any(|s| s == "*" || s == "email") {
        return Some("s= does not allow the email service (RFC 6376 §3.6.1)".into());
    }
    None
}

/// A colon-separated tag value (`h=`, `s=`, `t=`) as its items.
pub fn flag_list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .into_iter()
        .flat_map(|v| v.split(':'))
        .map(|item| item.trim_matches(is_fws))
        .filter(|item| !item.is_empty())
}

/// Decodes `p=` as the type `k=` names: `None` for a revoked key, else the
/// algorithm and the key size in bits.
fn decode_key(tags: &KeyTags) -> Result<Option<(KeyAlgorithm, u32)>, KeyProblem> {
    // String comparison, as RFC 6376 §3.6.1 requires for v=.
    if let Some(v) = &tags.v
        && v != "DKIM1"
    {
        return Err(KeyProblem::Version(v.clone()));
    }
    let p = tags.p.as_deref().ok_or(KeyProblem::NoPublicKey)?;
    if p.chars().all(is_fws) {
        return Ok(None);
    }
    let algorithm = match tags.k.as_deref() {
        None => KeyAlgorithm::Rsa,
        Some(k) if k.eq_ignore_ascii_case("rsa") => KeyAlgorithm::Rsa,
        Some(k) if k.eq_ignore_ascii_case("ed25519") => KeyAlgorithm::Ed25519,
        Some(k) => return Err(KeyProblem::KeyType(k.to_string())),
    };
    let bytes = decode_base64(p).map_err(KeyProblem::Base64)?;
    match algorithm {
        KeyAlgorithm::Rsa => match rsa_modulus_bits(&bytes) {
            Ok(bits) => Ok(Some((KeyAlgorithm::Rsa, bits))),
            Err(_) if bytes.len() == ED25519_KEY_LEN => Err(KeyProblem::RsaLooksEd25519),
            Err(e) => Err(KeyProblem::Rsa(e)),
        },
        KeyAlgorithm::Ed25519 => {
            if bytes.len() == ED25519_KEY_LEN {
                Ok(Some((KeyAlgorithm::Ed25519, 256)))
            } else if let Some(raw) = bytes.strip_prefix(ED25519_SPKI_PREFIX)
                && raw.len() == ED25519_KEY_LEN
            {
                Err(KeyProblem::Ed25519Spki(raw.to_vec()))
            } else {
                Err(KeyProblem::Ed25519Length(bytes.len()))
            }
        }
    }
}

const ED25519_KEY_LEN: usize = 32;

/// The DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): what
/// people paste when they publish `openssl pkey -pubout` output as is.
const ED25519_SPKI_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a key record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("the tag list does not parse: {0}")]
    TagList(String),
    #[error("v={0}: the version must be exactly DKIM1 (RFC 6376 §3.6.1)")]
    Version(String),
    #[error("the record has no p= tag, which every key record needs (RFC 6376 §3.6.1)")]
    NoPublicKey,
    #[error("k={0} is not a DKIM key type (rsa or ed25519)")]
    KeyType(String),
    #[error("p= is not valid base64: {0}")]
    Base64(Base64Error),
    #[error("p= does not hold an RSA public key: {0}")]
    Rsa(DerError),
    #[error(
        "p= decodes to 32 bytes, the size of an Ed25519 key, not an RSA key: k=ed25519 seems \
         to be missing"
    )]
    RsaLooksEd25519,
    #[error("p= decodes to {0} bytes; an Ed25519 key is exactly 32 bytes (RFC 8463 §4.2)")]
    Ed25519Length(usize),
    #[error(
        "p= holds the Ed25519 key wrapped in a SubjectPublicKeyInfo (44 bytes); RFC 8463 §4.2 \
         wants only the 32-byte key"
    )]
    Ed25519Spki(Vec<u8>),
}

// ---------------------------------------------------------------------------
// Tag-list (RFC 6376 §3.2)

impl KeyTags {
    fn from_list(tags: &[Tag]) -> KeyTags {
        let get = |name: &str| {
            tags.iter()
                .find(|t| t.name == name)
                .map(|t| t.value.clone())
        };
        KeyTags {
            v: get("v"),
            h: get("h"),
            k: get("k"),
            n: get("n"),
            p: get("p"),
            s: get("s"),
            t: get("t"),
        }
    }
}

/// WSP and the CR LF of FWS (RFC 6376 §2.8).
pub fn is_fws(c: char) -> bool {
    Syntax::DKIM.space.contains(c)
}

/// Splits a tag-list into its tags. Empty tag-specs (`;;`, a trailing `;`
/// with space after it) are passed over, as verifiers do; a spec without
/// `=`, a malformed tag name, or a tag named twice (which §3.2 says
/// invalidates the whole list) is an error.
fn parse_tag_list(text: &str) -> Result<Vec<Tag>, String> {
    let mut tags: Vec<Tag> = Vec::new();
    for spec in TagList::split(text, Syntax::DKIM).specs {
        match spec.kind {
            Kind::Empty => {}
            Kind::NotATag => {
                return Err(format!(
                    "`{}` is not a tag=value pair (a `;` or `=` missing?)",
                    spec.text
                ));
            }
            Kind::BadName(tag) => {
                return Err(format!(
                    "`{}` is not a tag name (letters, digits and _)",
                    tag.name
                ));
            }
            Kind::Tag(tag) if tags.iter().any(|t| t.name == tag.name) => {
                return Err(format!(
                    "the tag {}= appears twice, which makes the whole record invalid \
                     (RFC 6376 §3.2)",
                    tag.name
                ));
            }
            Kind::Tag(tag) => tags.push(Tag {
                name: tag.name.to_string(),
                value: tag.value.to_string(),
            }),
        }
    }
    Ok(tags)
}

// ---------------------------------------------------------------------------
// Base64 (RFC 4648 §4, with the folding whitespace RFC 6376 §2.6 allows)

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    #[error("`{character}` (character {position}) is not a base64 character")]
    BadCharacter { character: char, position: usize },
    #[error("`=` padding is followed by more data")]
    DataAfterPadding,
    #[error("{0} base64 characters cannot encode whole bytes (was the value cut short?)")]
    Length(usize),
}

/// The standard alphabet. Padding may be left out, as many encoders do,
/// but when present it must complete the last group. Bits left over in the
/// last character are ignored, as they always were here.
const fn base64_engine(padding: DecodePaddingMode) -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(padding)
            .with_decode_allow_trailing_bits(true),
    )
}
const PADDED: GeneralPurpose = base64_engine(DecodePaddingMode::RequireCanonical);
const UNPADDED: GeneralPurpose = base64_engine(DecodePaddingMode::RequireNone);

/// Decodes base64 after removing the folding white space DKIM allows in it.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, Base64Error> {
    // Each kept character with its 1-based position in `text`.
    let kept: Vec<(usize, char)> = text
        .chars()
        .enumerate()
        .filter(|&(_, c)| !is_fws(c))
        .map(|(i, c)| (i + 1, c))
        .collect();
    let stripped: String = kept.iter().map(|&(_, c)| c).collect();
    let engine = if stripped.ends_with('=') {
        PADDED
    } else {
        UNPADDED
    };
    engine.decode(&stripped).map_err(|error| match error {
        base64::DecodeError::InvalidByte(offset, _) => {
            let at = stripped[..offset].chars().count();
            match kept.get(at) {
                Some(&(_, '=')) if kept[at..].iter().all(|&(_, c)| c == '=') => {
                    Base64Error::Length(kept.len())
                }
                Some(&(_, '=')) => Base64Error::DataAfterPadding,
                Some(&(position, character)) => Base64Error::BadCharacter {
                    character,
                    position,
                },
                None => Base64Error::Length(kept.len()),
            }
        }
        base64::DecodeError::InvalidLength(_)
        | base64::DecodeError::InvalidLastSymbol { .. }
        | base64::DecodeError::InvalidPadding => Base64Error::Length(kept.len()),
    })
}

/// Standard base64 with padding, as a record publishes it.
pub fn encode_base64(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------------
// DER (X.690 §10), only as far as an RSA public key needs

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("the key data ends early (was it cut short?)")]
    Truncated,
    #[error("expected {expected}, found DER tag 0x{found:02x}")]
    UnexpectedTag { expected: &'static str, found: u8 },
    #[error("a DER length is malformed")]
    BadLength,
    #[error("{0} stray bytes follow the key")]
    TrailingData(usize),
    #[error("the key is {0}, not RSA")]
    NotRsa(String),
    #[error("the BIT STRING holding the key declares unused bits")]
    UnusedBits,
    #[error("the RSA {0} is not a positive integer")]
    NotPositive(&'static str),
}

/// Reads DER elements off the front of a byte string.
struct DerReader<'a> {
    rest: &'a [u8],
}

impl<'a> DerReader<'a> {
    fn new(input: &'a [u8]) -> DerReader<'a> {
        DerReader { rest: input }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The contents of the next element, which must carry `tag`.
    fn read(&mut self, tag: u8, expected: &'static str) -> Result<&'a [u8], DerError> {
        let (&found, after_tag) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if found != tag {
            return Err(DerError::UnexpectedTag { expected, found });
        }
        let (&first, after_first) = after_tag.split_first().ok_or(DerError::Truncated)?;
        let (len, body) = if first < 0x80 {
            (usize::from(first), after_first)
        } else {
            // 0x80 is BER's indefinite length, which DER forbids; more than
            // four length octets would describe a key of gigabytes.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError::BadLength);
            }
            let (octets, body) = after_first
                .split_at_checked(count)
                .ok_or(DerError::Truncated)?;
            let len = octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, body)
        };
        let (content, rest) = body.split_at_checked(len).ok_or(DerError::Truncated)?;
        self.rest = rest;
        Ok(content)
    }

    fn finish(&self) -> Result<(), DerError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DerError::TrailingData(n)),
        }
    }
}

/// The modulus length of an RSA public key given as a SubjectPublicKeyInfo
/// with algorithm rsaEncryption, or as a bare RSAPublicKey.
fn rsa_modulus_bits(der: &[u8]) -> Result<u32, DerError> {
    let mut outer = DerReader::new(der);
    let body = outer.read(TAG_SEQUENCE, "a SEQUENCE")?;
    outer.finish()?;
    let mut fields = DerReader::new(body);
    if fields.peek_tag() == Some(TAG_INTEGER) {
        return rsa_public_key_bits(fields);
    }
    let algorithm = fields.read(TAG_SEQUENCE, "an AlgorithmIdentifier SEQUENCE")?;
    let key = fields.read(TAG_BIT_STRING, "the subjectPublicKey BIT STRING")?;
    fields.finish()?;
    let oid = DerReader::new(algorithm).read(TAG_OID, "an algorithm OID")?;
    if oid != OID_RSA_ENCRYPTION {
        return Err(DerError::NotRsa(algorithm_name(oid)));
    }
    let (&unused_bits, key) = key.split_first().ok_or(DerError::Truncated)?;
    if unused_bits != 0 {
        return Err(DerError::UnusedBits);
    }
    let mut key = DerReader::new(key);
    let rsa = key.read(TAG_SEQUENCE, "the RSAPublicKey SEQUENCE")?;
    key.finish()?;
    rsa_public_key_bits(DerReader::new(rsa))
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`,
/// from inside the SEQUENCE.
fn rsa_public_key_bits(mut fields: DerReader<'_>) -> Result<u32, DerError> {
    let modulus = fields.read(TAG_INTEGER, "the modulus INTEGER")?;
    let exponent = fields.read(TAG_INTEGER, "the public exponent INTEGER")?;
    fields.finish()?;
    positive_bits(exponent).ok_or(DerError::NotPositive("public exponent"))?;
    positive_bits(modulus).ok_or(DerError::NotPositive("modulus"))
}

/// The bit length of a DER INTEGER, `None` unless it is above zero. DER
/// integers are two's complement, so a positive one whose top bit is set
/// carries a leading zero byte, which is not part of its length.
fn positive_bits(integer: &[u8]) -> Option<u32> {
    if integer.first()? & 0x80 != 0 {
        return None;
    }
    let start = integer.iter().position(|&b| b != 0)?;
    let significant = integer.get(start..)?;
    let top = significant.first()?;
    let whole_bytes = u32::try_from(significant.len() - 1).ok()?;
    whole_bytes
        .checked_mul(8)?
        .checked_add(8 - top.leading_zeros())
}

fn algorithm_name(oid: &[u8]) -> String {
    if oid == OID_ED25519 {
        "an Ed25519 key (then set k=ed25519 and publish only its 32 bytes)".into()
    } else if oid == OID_EC_PUBLIC_KEY {
        "an elliptic-curve (ECDSA) key, which DKIM does not use".into()
    } else {
        format!("a key of algorithm {}", dotted_oid(oid))
    }
}

/// An OID's contents in dotted form (X.690 §8.19).
fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
pub(crate) mod tests;
