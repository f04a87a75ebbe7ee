//! Trust anchors: the keys a chain of trust starts from (RFC 4035 §5,
//! RFC 7958 for the root's).
//!
//! By default the anchor is the root zone's key-signing keys as IANA
//! publishes them in root-anchors.xml: KSK-2017 (key tag 20326) and
//! KSK-2024 (key tag 38696), both RSA/SHA-256, as DS records with a SHA-256
//! digest. `--trust-anchor FILE` replaces them with the DS or DNSKEY
//! records of the file (zone-file syntax, one owner name): a private root,
//! or the test root of the fixtures. A DNSKEY of the owner zone is trusted
//! when a DS of the anchor matches it or when the anchor holds that very
//! key; revoked keys (RFC 5011) are never trusted.

use crate::dns::zone::{self, ZoneError};
use crate::local_file::{self, FileError};
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKey, Verifier};
use hickory_proto::rr::{Name, RData};
use std::path::Path;

/// The largest trust anchor file read.
const ANCHOR_FILE_LIMIT: u64 = 64 * 1024;

/// IANA's root KSK-2017 DS: key tag, and SHA-256 digest in hex.
const ROOT_KSK_2017: (u16, &str) = (
    20326,
    "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
);

/// IANA's root KSK-2024 DS.
const ROOT_KSK_2024: (u16, &str) = (
    38696,
    "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
);

/// The records a chain of trust starts from, all at one owner name.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    owner: Name,
    ds: Vec<DS>,
    keys: Vec<DNSKEY>,
}

/// Why a trust anchor file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("trust anchor {0}")]
    Syntax(String),
    #[error(
        "trust anchor {file}: no DS or DNSKEY record; write records such as \
         `. IN DS 20326 8 2 E06D…` or `. IN DNSKEY 257 3 8 AwEAA…`"
    )]
    Empty { file: String },
    #[error(
        "trust anchor {file}: records at both {first} and {second}; a trust anchor file \
         holds the records of one zone"
    )]
    SeveralOwners {
        file: String,
        first: String,
        second: String,
    },
}

impl TrustAnchor {
    /// The root zone's anchors from IANA's root-anchors.xml.
    pub fn iana_root() -> TrustAnchor {
        let ds = [ROOT_KSK_2017, ROOT_KSK_2024]
            .into_iter()
            .map(|(tag, hex)| {
                DS::new(
                    tag,
                    Algorithm::RSASHA256,
                    DigestType::SHA256,
                    decode_hex(hex),
                )
            })
            .collect();
        TrustAnchor {
            owner: Name::root(),
            ds,
            keys: Vec::new(),
        }
    }

    /// Reads DS or DNSKEY records in zone-file syntax from a file.
    pub fn load(path: &Path) -> Result<TrustAnchor, AnchorError> {
        let text = local_file::read_text(path, "trust anchor file", ANCHOR_FILE_LIMIT)?;
        TrustAnchor::parse(&text, &path.display().to_string())
    }

    /// Reads DS or DNSKEY records in zone-file syntax; records without a
    /// TTL are fine, and relative names are relative to the root. Records
    /// of other types are ignored.
    pub fn parse(text: &str, file: &str) -> Result<TrustAnchor, AnchorError> {
        // Two directives in front, so that bare records parse; error lines
        // are given back in the file's own numbering.
        const PREAMBLE_LINES: usize = 2;
        let framed = format!("$ORIGIN .\n$TTL 0\n{text}");
        let parsed = zone::parse(&framed, None).map_err(|e| match e {
            ZoneError::Syntax { line, message, .. } => AnchorError::Syntax(format!(
                "{file}:{}: {message}",
                line.saturating_sub(PREAMBLE_LINES)
            )),
            other => AnchorError::Syntax(format!("{file}: {other}")),
        })?;
        let mut owner: Option<Name> = None;
        let (mut ds, mut keys) = (Vec::new(), Vec::new());
        for zr in parsed.records {
            let record = zr.record;
            let RData::DNSSEC(data) = record.data else {
                continue;
            };
            match data {
                DNSSECRData::DS(d) => ds.push(d),
                DNSSECRData::DNSKEY(k) => keys.push(k),
                _ => continue,
            }
            match &owner {
                None => owner = Some(record.name.clone()),
                Some(first) if !first.eq_ignore_root_case(&record.name) => {
                    return Err(AnchorError::SeveralOwners {
                        file: file.to_string(),
                        first: first.to_ascii(),
                        second: record.name.to_ascii(),
                    });
                }
                Some(_) => {}
            }
        }
        let Some(mut owner) = owner else {
            return Err(AnchorError::Empty {
                file: file.to_string(),
            });
        };
        owner.set_fqdn(true);
        Ok(TrustAnchor { owner, ds, keys })
    }

    /// The zone whose keys the anchor vouches for.
    pub fn owner(&self) -> &Name {
        &self.owner
    }

    /// True when the anchor vouches for this key of its owner zone.
    pub(super) fn trusts(&self, key: &DNSKEY) -> bool {
        if key.revoke() || !key.zone_key() {
            return false;
        }
        let same_key = |k: &DNSKEY| {
            k.public_key().public_bytes() == key.public_key().public_bytes()
                && k.algorithm() == key.algorithm()
        };
        self.keys.iter().any(same_key)
            || self.ds.iter().any(|ds| {
                ds.algorithm() == key.algorithm()
                    && ds.digest_type().is_supported()
                    && ds.covers(&self.owner, key).unwrap_or(false)
            })
    }

    /// The anchor's records in presentation format, for the chain.
    pub fn describe(&self) -> Vec<String> {
        let owner = self.owner.to_ascii();
        self.ds
            .iter()
            .map(|ds| format!("{owner} DS {ds}"))
            .chain(self.keys.iter().map(|k| {
                let tag = k.calculate_key_tag().unwrap_or(0);
                format!(
                    "{owner} DNSKEY {} {} (key tag {tag})",
                    k.flags(),
                    k.algorithm()
                )
            }))
            .collect()
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digests are SHA-256 (32 octets) under the key tags IANA lists
    /// (checked when written against the root keys hickory ships).
    #[test]
    fn iana_root_anchor() {
        let anchor = TrustAnchor::iana_root();
        assert!(anchor.owner().is_root());
        let tags: Vec<u16> = anchor.ds.iter().map(DS::key_tag).collect();
        assert_eq!(tags, vec![20326, 38696]);
        assert!(anchor.ds.iter().all(|ds| ds.digest().len() == 32));
    }

    #[test]
    fn reads_ds_and_dnskey_files() {
        let text = "; test root\n. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";
        let anchor = TrustAnchor::parse(text, "anchor").unwrap();
        assert!(anchor.owner().is_root());
        assert_eq!(anchor.ds.len(), 1);
        assert_eq!(anchor.describe().len(), 1);
        let err = TrustAnchor::parse("; nothing\n", "anchor").unwrap_err();
        assert!(err.to_string().contains("no DS or DNSKEY"), "{err}");
        let err =
            TrustAnchor::parse(". IN DS 1 8 2 00\nexample. IN DS 2 8 2 00\n", "a").unwrap_err();
        assert!(err.to_string().contains("one zone"), "{err}");
        let err = TrustAnchor::parse(". IN DS nonsense\n", "a").unwrap_err();
        assert!(err.to_string().starts_with("trust anchor a:1:"), "{err}");
    }
}
