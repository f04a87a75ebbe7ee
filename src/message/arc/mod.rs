//! ARC on a message: whether the Authenticated Received Chain that
//! forwarders added validates, and if not, which hop broke it.
//!
//! The result is one of RFC 8617's chain validation words: `none` (no ARC
//! header at all), `pass` or `fail`. A chain that is present but
//! structurally broken is `fail`, never `none`. The section also counts the
//! sets, lists who sealed each hop, and for a failed chain names the hop
//! (`i=`) that broke it and why.
//!
//! The checks, in the order of RFC 8617 §5.2:
//!
//! 1. Structure (§4.1, §4.2.1, §5.1.2), checked here before mail-auth is
//!    asked: every ARC header must carry a readable instance `i=` from 1 to
//!    50; instances must run 1..=N with exactly one ARC-Seal,
//!    ARC-Message-Signature and ARC-Authentication-Results each; the
//!    ARC-Seal and ARC-Message-Signature must be well-formed tag-lists
//!    (RFC 6376 §3.2: no duplicate tag, no empty tag-spec, tag names
//!    `ALPHA *(ALPHA / DIGIT / "_")`, case-sensitive) with their required
//!    tags (§4.1.2, §4.1.3); `a=` must be `rsa-sha256` (or
//!    `ed25519-sha256`, RFC 8463), never `rsa-sha1` (RFC 8301 §3.1) and
//!    never absent; an ARC-Seal has no `h=` (§4.1.3); an
//!    ARC-Message-Signature does not sign ARC-Seal (§4.1.2); `b=`/`bh=` are
//!    base64 and `c=`, `l=`, `t=`, `x=` valid (RFC 6376 §3.5); the AAR
//!    starts with `i=N;` (§4.1.1).
//! 2. The newest seal's `cv=` (§5.2 step 2): `fail` ends validation with
//!    `fail`; then `cv=none` for i=1 and `cv=pass` above (§5.1.2).
//! 3. Cryptography, by mail-auth's `verify_arc`: the newest
//!    ARC-Message-Signature (body hash, expiry, signature) and every
//!    ARC-Seal.
//!
//! These correct what mail-auth 0.15 gets wrong: it reports `none` for
//! sets without an ARC-Message-Signature, accepts
//! `rsa-sha1` and a missing `a=`, tolerates malformed ARC-Seal tag-lists,
//! and accepts an ARC-Message-Signature that signs ARC-Seal.
//!
//! mail-auth does not say which hop failed a cryptographic check, and it
//! judges `x=` by the real time. So when it fails a chain, or refuses the
//! newest ARC-Message-Signature only for an `x=` that is not past at
//! [`MessageContext::clock`], the chain is verified here as well with the
//! DKIM module's verifier (see [`super::dkim`]): the newest
//! ARC-Message-Signature as a DKIM signature (§5.2 step 5), then each
//! ARC-Seal over the ARC headers of its own and the earlier sets in
//! relaxed canonicalization (§5.1.1). The hop named is the newest one for a
//! failed ARC-Message-Signature, else the oldest seal that does not verify:
//! a change to set *k* breaks seal *k* and every later one. A chain
//! mail-auth fails stays failed even if this verifier finds no fault (the
//! hop is then not named). An ARC-Message-Signature whose `x=` is past at
//! the clock fails the chain.
//!
//! A chain the message limits leave out ([`super::limits`]: its
//! ARC-Message-Signatures would need more body hashes than allowed, or the
//! newest signs a field left out) fails with that reason, unverified.
//!
//! Finding: `arc.fail` (warning) whenever a chain is present and fails,
//! naming the hop and its sealer, with that hop's ARC headers as evidence.

mod crypto;
mod findings;
mod headers;
mod structure;
#[cfg(test)]
mod tests;

use crate::findings::Checked;
use crate::message::MessageContext;
use crate::message::dkim;
use crate::message::limits::Budget;
use crypto::judge;
use findings::fail_finding;
use headers::{arc_headers, count_sets, hops};
use mail_auth::AuthenticatedMessage;
use serde::{Deserialize, Serialize};
use structure::structure;

/// RFC 8617 §4.2.1: more sets than this is a broken chain.
const MAX_SETS: u32 = 50;

/// The most ARC header lines an `arc.fail` finding quotes.
const EVIDENCE_LINES: usize = 9;

/// RFC 8617 chain validation result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArcResult {
    None,
    Pass,
    Fail,
}

impl ArcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail => "fail",
        }
    }
}

/// One hop of the chain, as its ARC headers describe it; the pages read it
/// back from a saved report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArcHop {
    /// `i=`, 1 for the first intermediary.
    pub instance: u32,
    /// `d=` of its ARC-Seal: who vouches for this hop.
    pub sealer: Option<String>,
    /// `cv=` of its ARC-Seal: what the hop found of the chain before it.
    pub cv: Option<String>,
    /// `d=` of its ARC-Message-Signature.
    pub signer: Option<String>,
    /// The authserv-id of its ARC-Authentication-Results.
    pub authserv_id: Option<String>,
}

/// The `arc` section of a message report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcSection {
    pub result: ArcResult,
    /// How many ARC sets (distinct instances) the message carries.
    pub sets: usize,
    /// The instance (`i=`) of the hop that broke the chain, when it can be
    /// told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_hop: Option<u32>,
    /// Why the chain fails, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The hops, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<ArcHop>,
}

impl ArcSection {
    fn none() -> ArcSection {
        ArcSection {
            result: ArcResult::None,
            sets: 0,
            failed_hop: None,
            reason: None,
            hops: Vec::new(),
        }
    }
}

/// Validates the ARC chain of `cx.raw`.
pub async fn verify(cx: &MessageContext<'_>) -> Checked<ArcSection> {
    let wire = dkim::wire_form(cx.raw);
    match dkim::parse(&wire) {
        Some(message) => verify_message(cx, &message).await,
        // No header at all, so no ARC header.
        None => Checked {
            section: ArcSection::none(),
            findings: Vec::new(),
        },
    }
}

/// Validates the ARC chain of a message parsed with [`dkim::parse`]; only
/// the resolver, the authenticator and the clock of `cx` are used.
pub async fn verify_message<'x>(
    cx: &MessageContext<'_>,
    message: &'x AuthenticatedMessage<'x>,
) -> Checked<ArcSection> {
    verify_within(cx, message, &Budget::default()).await
}

/// [`verify_message`] on a message parsed from the bytes `budget`
/// returned: a chain the budget leaves out fails, saying why, without a
/// DNS question.
pub async fn verify_within<'x>(
    cx: &MessageContext<'_>,
    message: &'x AuthenticatedMessage<'x>,
    budget: &Budget,
) -> Checked<ArcSection> {
    let headers = arc_headers(message);
    let left_out = budget.arc_left_out();
    if headers.is_empty() && left_out.is_none() {
        return Checked {
            section: ArcSection::none(),
            findings: Vec::new(),
        };
    }
    let mut section = ArcSection {
        result: ArcResult::Fail,
        sets: count_sets(&headers),
        failed_hop: None,
        reason: None,
        hops: hops(&headers),
    };
    let verdict = match (left_out, structure(&headers)) {
        (Some(why), _) => Err(broken(None, why)),
        (None, Err(broken)) => Err(broken),
        (None, Ok(sets)) => judge(cx, message, &sets).await,
    };
    match verdict {
        Ok(()) => section.result = ArcResult::Pass,
        Err(broken) => {
            section.failed_hop = broken.hop;
            section.reason = Some(broken.reason);
        }
    }
    let findings = if section.result == ArcResult::Fail {
        vec![fail_finding(&section, &headers)]
    } else {
        Vec::new()
    };
    Checked { section, findings }
}

/// Why the chain fails, and at which hop if known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChainBroken {
    hop: Option<u32>,
    reason: String,
}

fn broken(hop: impl Into<Option<u32>>, reason: impl Into<String>) -> ChainBroken {
    ChainBroken {
        hop: hop.into(),
        reason: reason.into(),
    }
}
