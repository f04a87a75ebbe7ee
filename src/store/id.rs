//! Unguessable identifiers: a saved report's id (in its permalink), an
//! inbox token (in a one-time address `t-<token>@…`) and a domain's TLS
//! report token (in the URL its TLS reports are posted to).
//!
//! Each is 128 bits from the operating system's CSPRNG (through aws-lc-rs,
//! already linked for TLS), written as 32 lowercase hexadecimal digits.
//! Hexadecimal rather than base64 because a token is also the local part
//! of an email address, whose case mail systems may not keep (RFC 5321
//! §2.4 discourages relying on it); it is URL-safe and of fixed length. Parsing accepts exactly 32 hex digits in either case and
//! refuses anything else, so no other string ever reaches a query.

use super::StoreError;
use serde::{Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

/// Random bits in an id.
const BYTES: usize = 16;
/// Characters in its written form.
pub const LENGTH: usize = 2 * BYTES;

/// The id of a saved message report.
pub type ReportId = Id<kind::Report>;
/// The token of a one-time inbox address.
pub type InboxToken = Id<kind::InboxToken>;
/// The token in a domain's TLS reporting URL (`/v1/reports/tls/{token}`).
pub type TlsReportToken = Id<kind::TlsReportToken>;

/// What an [`Id`] names, so that a report id is never taken for a token.
pub mod kind {
    pub enum Report {}
    pub enum InboxToken {}
    pub enum TlsReportToken {}
}

/// 128 random bits as 32 lowercase hex digits.
pub struct Id<K> {
    hex: [u8; LENGTH],
    kind: PhantomData<K>,
}

/// The string is not an id: not 32 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an id: an id is {LENGTH} hexadecimal digits")]
pub struct InvalidId;

impl<K> Id<K> {
    /// A new id from the operating system's CSPRNG.
    pub fn generate() -> Result<Id<K>, StoreError> {
        let mut bytes = [0u8; BYTES];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| StoreError::Random)?;
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; LENGTH];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(bytes) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        Ok(Id {
            hex,
            kind: PhantomData,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored in `hex`.
        std::str::from_utf8(&self.hex).unwrap_or_default()
    }
}

impl<K> FromStr for Id<K> {
    type Err = InvalidId;

    fn from_str(text: &str) -> Result<Id<K>, InvalidId> {
        let hex: [u8; LENGTH] = text.as_bytes().try_into().map_err(|_| InvalidId)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(InvalidId);
        }
        Ok(Id {
            hex: hex.map(|b| b.to_ascii_lowercase()),
            kind: PhantomData,
        })
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.as_str())
    }
}

impl<K> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// Written out rather than derived: a derive would ask the kind marker,
// which is never instantiated, for the same traits.
impl<K> Clone for Id<K> {
    fn clone(&self) -> Id<K> {
        *self
    }
}

impl<K> Copy for Id<K> {}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Id<K>) -> bool {
        self.hex == other.hex
    }
}

impl<K> Eq for Id<K> {}

impl<K> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hex.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_are_32_lowercase_hex_digits_and_parse_back() {
        let id = ReportId::generate().unwrap();
        assert_eq!(id.as_str().len(), LENGTH);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(id.as_str().parse::<ReportId>(), Ok(id));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
    }

    #[test]
    fn generated_ids_differ() {
        let ids: HashSet<InboxToken> = (0..1000).map(|_| InboxToken::generate().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn parsing_folds_case_to_the_canonical_form() {
        let upper = "0123456789ABCDEF0123456789abcdef"
            .parse::<InboxToken>()
            .unwrap();
        assert_eq!(upper.as_str(), "0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn anything_but_32_hex_digits_is_refused() {
        for text in [
            "",
            "0123456789abcdef0123456789abcde",      // 31
            "0123456789abcdef0123456789abcdef0",    // 33
            "0123456789abcdef0123456789abcdeg",     // not hex
            "0123456789abcdef0123456789abcde'",     // quote
            "0123456789abcdef0123456789abcd\u{e9}", // 32 bytes, not ASCII
            " 123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(text.parse::<ReportId>(), Err(InvalidId), "{text:?}");
        }
    }
}
