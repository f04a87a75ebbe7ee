//! The ARC headers as written (RFC 8617 §4.1): ARC-Seal and
//! ARC-Message-Signature with their tag lists read by the DKIM reader (the
//! grammar of RFC 6376 §3.2), ARC-Authentication-Results with the `i=N;`
//! it must start with, each with its instance number; and the hops they
//! describe.

use super::{ArcHop, MAX_SETS};
use crate::message::dkim::WrittenTags;
use crate::records::tag_list::Space;
use mail_auth::AuthenticatedMessage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Seal,
    Signature,
    Results,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Seal => "ARC-Seal",
            Kind::Signature => "ARC-Message-Signature",
            Kind::Results => "ARC-Authentication-Results",
        }
    }
}

pub(super) struct ArcHeader<'x> {
    pub(super) kind: Kind,
    pub(super) name: &'x [u8],
    pub(super) value: &'x [u8],
    /// The tags of an ARC-Seal or ARC-Message-Signature, and how the
    /// tag-list breaks RFC 6376 §3.2 if it does; empty for an AAR.
    pub(super) tags: WrittenTags,
    /// `i=`, when it reads as a number.
    pub(super) instance: Option<u32>,
    /// For an AAR: its authserv-id.
    pub(super) authserv_id: Option<String>,
}

impl ArcHeader<'_> {
    pub(super) fn tag(&self, name: &str) -> Option<&str> {
        self.tags.get(name)
    }
}

pub(super) fn arc_headers<'x>(message: &'x AuthenticatedMessage<'x>) -> Vec<ArcHeader<'x>> {
    let mut out = Vec::new();
    for &(name, value) in message.headers() {
        let trimmed = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        let kind = match trimmed.as_str() {
            "arc-seal" => Kind::Seal,
            "arc-message-signature" => Kind::Signature,
            "arc-authentication-results" => Kind::Results,
            _ => continue,
        };
        let mut header = ArcHeader {
            kind,
            name,
            value,
            tags: WrittenTags::default(),
            instance: None,
            authserv_id: None,
        };
        if kind == Kind::Results {
            if let Some((instance, authserv_id)) = aar_prefix(value) {
                header.instance = Some(instance);
                header.authserv_id = authserv_id;
            }
        } else {
            header.tags = WrittenTags::read(value);
            header.instance = header.tag("i").and_then(instance_number);
        }
        out.push(header);
    }
    out
}

/// An instance number: digits only, as `1*2DIGIT` (RFC 8617 §4.2.1).
pub(super) fn instance_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `i=N;` an AAR must start with (RFC 8617 §4.1.1), and the
/// authserv-id after it.
pub(super) fn aar_prefix(value: &[u8]) -> Option<(u32, Option<String>)> {
    let text = String::from_utf8_lossy(value);
    let fws = |c: char| Space::Fws.contains(c);
    let rest = text.trim_start_matches(fws).strip_prefix('i')?;
    let rest = rest.trim_start_matches(fws).strip_prefix('=')?;
    let (number, rest) = rest.trim_start_matches(fws).split_once(';')?;
    let instance = instance_number(number.trim_matches(fws))?;
    let authserv_id = rest
        .trim_start_matches(fws)
        .split(|c: char| c == ';' || fws(c))
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    Some((instance, authserv_id))
}

pub(super) fn count_sets(headers: &[ArcHeader<'_>]) -> usize {
    let mut instances: Vec<u32> = headers
        .iter()
        .filter_map(|h| h.instance)
        .filter(|i| (1..=MAX_SETS).contains(i))
        .collect();
    instances.sort_unstable();
    instances.dedup();
    instances.len()
}

pub(super) fn hops(headers: &[ArcHeader<'_>]) -> Vec<ArcHop> {
    let mut hops: Vec<ArcHop> = Vec::new();
    for header in headers {
        let Some(instance) = header.instance.filter(|i| (1..=MAX_SETS).contains(i)) else {
            continue;
        };
        let position = match hops.iter().position(|h| h.instance == instance) {
            Some(p) => p,
            None => {
                hops.push(ArcHop {
                    instance,
                    ..ArcHop::default()
                });
                hops.len() - 1
            }
        };
        let Some(hop) = hops.get_mut(position) else {
            continue;
        };
        let domain = header.tag("d").map(str::to_ascii_lowercase);
        match header.kind {
            Kind::Seal if hop.sealer.is_none() => {
                hop.sealer = domain;
                hop.cv = header.tag("cv").map(str::to_ascii_lowercase);
            }
            Kind::Signature if hop.signer.is_none() => hop.signer = domain,
            Kind::Results if hop.authserv_id.is_none() => {
                hop.authserv_id = header.authserv_id.clone();
            }
            _ => {}
        }
    }
    hops.sort_by_key(|h| h.instance);
    hops
}
