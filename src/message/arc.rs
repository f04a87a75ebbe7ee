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
//! These correct what mail-auth 0.15 gets wrong (MAIL-AUTH-NOTES §7): it
//! reports `none` for sets without an ARC-Message-Signature, accepts
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

use super::MessageContext;
use super::dkim::{
    self, Broken, KeyLookup, Tag, body_hash, canonical_header, fetch_key, header_hash_input,
    is_fws, read_tag_list, strip_b_value, verify_with_key,
};
use super::limits::Budget;
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::dkim_key::decode_base64;
use futures_util::future::join_all;
use mail_auth::arc::ArcError;
use mail_auth::crypto::{Algorithm, HashAlgorithm};
use mail_auth::dkim::Canonicalization;
use mail_auth::{AuthenticatedMessage, DkimResult as AuthResult, Error as AuthError, Parameters};
use serde::Serialize;

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

/// One hop of the chain, as its ARC headers describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

// ---------------------------------------------------------------------------
// The ARC headers as written

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Seal,
    Signature,
    Results,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Seal => "ARC-Seal",
            Kind::Signature => "ARC-Message-Signature",
            Kind::Results => "ARC-Authentication-Results",
        }
    }
}

struct ArcHeader<'x> {
    kind: Kind,
    name: &'x [u8],
    value: &'x [u8],
    /// The tags of an ARC-Seal or ARC-Message-Signature; empty for an AAR.
    tags: Vec<Tag>,
    /// How the tag-list breaks RFC 6376 §3.2, if it does.
    tag_error: Option<String>,
    /// `i=`, when it reads as a number.
    instance: Option<u32>,
    /// For an AAR: its authserv-id.
    authserv_id: Option<String>,
}

impl ArcHeader<'_> {
    fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.value.as_str())
    }
}

fn arc_headers<'x>(message: &'x AuthenticatedMessage<'x>) -> Vec<ArcHeader<'x>> {
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
            tags: Vec::new(),
            tag_error: None,
            instance: None,
            authserv_id: None,
        };
        if kind == Kind::Results {
            if let Some((instance, authserv_id)) = aar_prefix(value) {
                header.instance = Some(instance);
                header.authserv_id = authserv_id;
            }
        } else {
            let (tags, error) = read_tag_list(value);
            header.tags = tags;
            header.tag_error = error;
            header.instance = header.tag("i").and_then(instance_number);
        }
        out.push(header);
    }
    out
}

/// An instance number: digits only, as `1*2DIGIT` (RFC 8617 §4.2.1).
fn instance_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `i=N;` an AAR must start with (RFC 8617 §4.1.1), and the
/// authserv-id after it.
fn aar_prefix(value: &[u8]) -> Option<(u32, Option<String>)> {
    let text = String::from_utf8_lossy(value);
    let rest = text.trim_start_matches(is_fws).strip_prefix('i')?;
    let rest = rest.trim_start_matches(is_fws).strip_prefix('=')?;
    let (number, rest) = rest.trim_start_matches(is_fws).split_once(';')?;
    let instance = instance_number(number.trim_matches(is_fws))?;
    let authserv_id = rest
        .trim_start_matches(is_fws)
        .split(|c: char| c == ';' || is_fws(c))
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    Some((instance, authserv_id))
}

fn count_sets(headers: &[ArcHeader<'_>]) -> usize {
    let mut instances: Vec<u32> = headers
        .iter()
        .filter_map(|h| h.instance)
        .filter(|i| (1..=MAX_SETS).contains(i))
        .collect();
    instances.sort_unstable();
    instances.dedup();
    instances.len()
}

fn hops(headers: &[ArcHeader<'_>]) -> Vec<ArcHop> {
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

// ---------------------------------------------------------------------------
// Structure (RFC 8617 §4.1, §5.1.2, §5.2 steps 2-3)

/// A complete, well-formed ARC set.
struct Set<'h, 'x> {
    instance: u32,
    seal: &'h ArcHeader<'x>,
    signature: &'h ArcHeader<'x>,
    results: &'h ArcHeader<'x>,
    seal_tags: SealTags,
    signature_tags: SignatureTags,
}

struct SealTags {
    a: Algorithm,
    b: Vec<u8>,
    d: String,
    s: String,
}

struct SignatureTags {
    a: Algorithm,
    b: Vec<u8>,
    bh: Vec<u8>,
    d: String,
    s: String,
    h: Vec<String>,
    ch: Canonicalization,
    cb: Canonicalization,
    l: u64,
    x: u64,
}

/// The sets, oldest first, or what is wrong with the chain's structure.
fn structure<'h, 'x>(headers: &'h [ArcHeader<'x>]) -> Result<Vec<Set<'h, 'x>>, ChainBroken> {
    let valid = |h: &ArcHeader<'_>| h.instance.filter(|i| (1..=MAX_SETS).contains(i));
    for header in headers {
        if valid(header).is_some() {
            continue;
        }
        let why = match header.instance {
            Some(instance) => {
                format!("has i={instance}; instances run from 1 to {MAX_SETS} (RFC 8617 §4.2.1)")
            }
            None if header.kind == Kind::Results => {
                "does not start with i=<instance>; (RFC 8617 §4.1.1)".to_string()
            }
            None => "has no valid i= tag (RFC 8617 §4.2.1)".to_string(),
        };
        // The hop is the one set left without a header of this kind, when
        // the other headers show which that is.
        let newest = headers.iter().filter_map(valid).max().unwrap_or(0);
        let mut lacking = (1..=newest).filter(|&i| {
            !headers
                .iter()
                .any(|h| h.kind == header.kind && valid(h) == Some(i))
        });
        let hop = match (lacking.next(), lacking.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        };
        return Err(broken(hop, format!("an {} {why}", header.kind.name())));
    }
    let newest = headers.iter().filter_map(|h| h.instance).max().unwrap_or(0);

    let mut sets = Vec::new();
    for instance in 1..=newest {
        let find = |kind: Kind| -> Result<&'h ArcHeader<'x>, ChainBroken> {
            let mut found = headers
                .iter()
                .filter(|h| h.kind == kind && h.instance == Some(instance));
            match (found.next(), found.next()) {
                (Some(one), None) => Ok(one),
                (None, _) => Err(broken(
                    instance,
                    format!(
                        "hop i={instance} has no {} (each ARC set needs all three headers, \
                         RFC 8617 §4.1)",
                        kind.name()
                    ),
                )),
                (Some(_), Some(_)) => Err(broken(
                    instance,
                    format!(
                        "hop i={instance} has more than one {} (RFC 8617 §5.1.2)",
                        kind.name()
                    ),
                )),
            }
        };
        let seal = find(Kind::Seal)?;
        let signature = find(Kind::Signature)?;
        let results = find(Kind::Results)?;
        let seal_tags = seal_tags(seal, instance)?;
        let signature_tags = signature_tags(signature, instance)?;
        sets.push(Set {
            instance,
            seal,
            signature,
            results,
            seal_tags,
            signature_tags,
        });
    }

    // §5.2 step 2: the newest hop already saw a failed chain.
    if let Some(last) = sets.last()
        && last
            .seal
            .tag("cv")
            .is_some_and(|cv| cv.eq_ignore_ascii_case("fail"))
    {
        return Err(broken(
            last.instance,
            format!(
                "the newest ARC-Seal (i={}) says cv=fail: that hop already found the chain \
                 broken (RFC 8617 §5.2)",
                last.instance
            ),
        ));
    }
    // §5.1.2: the first hop had no chain to validate, later ones passed it.
    for set in &sets {
        let cv = set.seal.tag("cv").unwrap_or_default();
        let wanted = if set.instance == 1 { "none" } else { "pass" };
        if !cv.eq_ignore_ascii_case(wanted) {
            return Err(broken(
                set.instance,
                format!(
                    "the ARC-Seal of hop i={} says cv={cv}; it must be cv={wanted} \
                     (RFC 8617 §5.1.2)",
                    set.instance
                ),
            ));
        }
    }
    Ok(sets)
}

fn malformed(header: &ArcHeader<'_>, instance: u32, why: &str, section: &str) -> ChainBroken {
    broken(
        instance,
        format!(
            "the {} of hop i={instance} is malformed: {why} ({section})",
            header.kind.name()
        ),
    )
}

/// Required tags and their values shared by seals and signatures.
fn common_tags(
    header: &ArcHeader<'_>,
    instance: u32,
    required: &[&str],
    section: &str,
) -> Result<(Algorithm, Vec<u8>, String, String), ChainBroken> {
    if let Some(error) = &header.tag_error {
        return Err(malformed(header, instance, error, "RFC 6376 §3.2"));
    }
    for name in required {
        if header.tag(name).is_none_or(|v| v.is_empty()) {
            return Err(malformed(
                header,
                instance,
                &format!("the required tag {name}= is missing or empty"),
                section,
            ));
        }
    }
    let a = header.tag("a").unwrap_or_default();
    let algorithm = match a {
        "rsa-sha256" => Algorithm::RsaSha256,
        "ed25519-sha256" => Algorithm::Ed25519Sha256,
        "rsa-sha1" => {
            return Err(malformed(
                header,
                instance,
                "a=rsa-sha1 is not accepted",
                "RFC 8301 §3.1",
            ));
        }
        other => {
            return Err(malformed(
                header,
                instance,
                &format!("a={other} is not a signing algorithm ARC uses"),
                "RFC 8617 §4.1.2, RFC 6376 §3.3",
            ));
        }
    };
    let b = base64_tag(header, "b")
        .ok_or_else(|| malformed(header, instance, "b= is not valid base64", "RFC 6376 §3.5"))?;
    let d = header.tag("d").unwrap_or_default().to_ascii_lowercase();
    let s = header.tag("s").unwrap_or_default().to_string();
    Ok((algorithm, b, d, s))
}

fn base64_tag(header: &ArcHeader<'_>, name: &str) -> Option<Vec<u8>> {
    decode_base64(header.tag(name)?)
        .ok()
        .filter(|b| !b.is_empty())
}

fn seal_tags(header: &ArcHeader<'_>, instance: u32) -> Result<SealTags, ChainBroken> {
    let section = "RFC 8617 §4.1.3";
    let (a, b, d, s) = common_tags(header, instance, &["i", "a", "b", "cv", "d", "s"], section)?;
    if header.tag("h").is_some() {
        return Err(malformed(
            header,
            instance,
            "an ARC-Seal must not have h=",
            section,
        ));
    }
    let cv = header.tag("cv").unwrap_or_default();
    if !["none", "fail", "pass"]
        .iter()
        .any(|v| cv.eq_ignore_ascii_case(v))
    {
        return Err(malformed(
            header,
            instance,
            &format!("cv={cv} is not none, fail or pass"),
            section,
        ));
    }
    if let Some(t) = header.tag("t")
        && !is_number(t)
    {
        return Err(malformed(
            header,
            instance,
            &format!("t={t} is not a time"),
            section,
        ));
    }
    Ok(SealTags { a, b, d, s })
}

fn signature_tags(header: &ArcHeader<'_>, instance: u32) -> Result<SignatureTags, ChainBroken> {
    let section = "RFC 8617 §4.1.2";
    let (a, b, d, s) = common_tags(
        header,
        instance,
        &["i", "a", "b", "bh", "d", "h", "s"],
        section,
    )?;
    let bh = base64_tag(header, "bh")
        .ok_or_else(|| malformed(header, instance, "bh= is not valid base64", "RFC 6376 §3.5"))?;
    let h: Vec<String> = header
        .tag("h")
        .unwrap_or_default()
        .split(':')
        .map(|n| n.trim_matches(is_fws).to_string())
        .collect();
    if h.iter().any(|n| n.eq_ignore_ascii_case("arc-seal")) {
        return Err(malformed(
            header,
            instance,
            "h= lists ARC-Seal, which an ARC-Message-Signature must not sign",
            section,
        ));
    }
    let (ch, cb) = match header.tag("c") {
        None => (Canonicalization::Simple, Canonicalization::Simple),
        Some(c) => canonicalization(c).ok_or_else(|| {
            malformed(
                header,
                instance,
                &format!("c={c} is not simple or relaxed"),
                "RFC 6376 §3.5",
            )
        })?,
    };
    let mut numbers = [0u64; 3];
    for (slot, name) in numbers.iter_mut().zip(["l", "t", "x"]) {
        if let Some(value) = header.tag(name) {
            *slot = value
                .parse::<u64>()
                .ok()
                .filter(|_| is_number(value))
                .ok_or_else(|| {
                    malformed(
                        header,
                        instance,
                        &format!("{name}={value} is not a number"),
                        "RFC 6376 §3.5",
                    )
                })?;
        }
    }
    let [l, _, x] = numbers;
    Ok(SignatureTags {
        a,
        b,
        bh,
        d,
        s,
        h,
        ch,
        cb,
        l,
        x,
    })
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `c=` as (header, body), the body defaulting to simple (RFC 6376 §3.5).
fn canonicalization(text: &str) -> Option<(Canonicalization, Canonicalization)> {
    let one = |t: &str| match t {
        "simple" => Some(Canonicalization::Simple),
        "relaxed" => Some(Canonicalization::Relaxed),
        _ => None,
    };
    match text.split_once('/') {
        Some((h, b)) => Some((one(h)?, one(b)?)),
        None => Some((one(text)?, Canonicalization::Simple)),
    }
}

// ---------------------------------------------------------------------------
// Cryptography (RFC 8617 §5.2 steps 4-6)

async fn judge(
    cx: &MessageContext<'_>,
    message: &AuthenticatedMessage<'_>,
    sets: &[Set<'_, '_>],
) -> Result<(), ChainBroken> {
    let Some(newest) = sets.last() else {
        return Err(broken(None, "the ARC headers form no set"));
    };
    let now = cx.clock.now();
    let x = newest.signature_tags.x;
    if x != 0 && now > x {
        return Err(broken(
            newest.instance,
            format!(
                "the ARC-Message-Signature of hop i={} expired (x={x}) before the time of \
                 the check",
                newest.instance
            ),
        ));
    }
    // The keys mail-auth will ask for (every seal's, the newest
    // signature's) are fetched first, so it takes them from the request's
    // answers.
    let mut key_names: Vec<(&str, &str)> = sets
        .iter()
        .map(|set| (set.seal_tags.d.as_str(), set.seal_tags.s.as_str()))
        .chain([(
            newest.signature_tags.d.as_str(),
            newest.signature_tags.s.as_str(),
        )])
        .collect();
    key_names.sort_unstable();
    key_names.dedup();
    join_all(key_names.iter().map(|(d, s)| fetch_key(cx.resolver, d, s))).await;
    cx.resolver.share_answers(&cx.answered);
    let output = cx
        .authenticator
        .verify_arc(Parameters::new(message).with_cache(&cx.answered))
        .await;
    match output.result() {
        AuthResult::Pass => Ok(()),
        // mail-auth's clock says expired, ours does not (checked above):
        // the chain is judged here alone.
        AuthResult::Neutral(AuthError::Arc(ArcError::SignatureExpired)) => {
            own_check(cx, message, sets).await
        }
        other => {
            let located = own_check(cx, message, sets).await;
            Err(match located {
                Err(found) => found,
                // Our verifier sees no fault; report what mail-auth saw.
                Ok(()) => broken(None, mail_auth_reason(other)),
            })
        }
    }
}

fn mail_auth_reason(result: &AuthResult) -> String {
    match result {
        AuthResult::Pass => "pass".into(),
        AuthResult::None => "mail-auth found no ARC-Message-Signature".into(),
        AuthResult::Fail(e)
        | AuthResult::Neutral(e)
        | AuthResult::PermError(e)
        | AuthResult::TempError(e) => format!("the chain does not validate ({e})"),
    }
}

/// Verifies the newest ARC-Message-Signature and every seal here; the
/// first problem found, with its hop.
async fn own_check(
    cx: &MessageContext<'_>,
    message: &AuthenticatedMessage<'_>,
    sets: &[Set<'_, '_>],
) -> Result<(), ChainBroken> {
    let Some(newest) = sets.last() else {
        return Err(broken(None, "the ARC headers form no set"));
    };
    let sig = &newest.signature_tags;
    let hop = newest.instance;
    let who = format!(
        "the ARC-Message-Signature of hop i={hop} (d={}, s={})",
        sig.d, sig.s
    );
    if body_hash(
        message.raw_body(),
        sig.cb,
        sig.l,
        HashAlgorithm::from(sig.a),
    ) != sig.bh
    {
        return Err(broken(
            hop,
            format!("{who} does not match the body: it changed after hop i={hop} signed it"),
        ));
    }
    let key = fetch_key(cx.resolver, &sig.d, &sig.s).await;
    let data = header_hash_input(
        message.headers(),
        &sig.h,
        newest.signature.name,
        newest.signature.value,
        sig.ch,
    );
    check(&key, sig.a, &data, &sig.b, &sig.d, &sig.s)
        .map_err(|why| broken(hop, format!("{who} does not verify: {why}")))?;

    for (position, set) in sets.iter().enumerate() {
        let seal = &set.seal_tags;
        let mut data = Vec::with_capacity(2048);
        for earlier in sets.iter().take(position) {
            for header in [earlier.results, earlier.signature, earlier.seal] {
                canonical_header(
                    header.name,
                    header.value,
                    Canonicalization::Relaxed,
                    &mut data,
                );
            }
        }
        for header in [set.results, set.signature] {
            canonical_header(
                header.name,
                header.value,
                Canonicalization::Relaxed,
                &mut data,
            );
        }
        let stripped = strip_b_value(set.seal.value);
        canonical_header(
            set.seal.name,
            &stripped,
            Canonicalization::Relaxed,
            &mut data,
        );
        if data.ends_with(b"\r\n") {
            data.truncate(data.len() - 2);
        }
        let key = fetch_key(cx.resolver, &seal.d, &seal.s).await;
        check(&key, seal.a, &data, &seal.b, &seal.d, &seal.s).map_err(|why| {
            broken(
                set.instance,
                format!(
                    "the ARC-Seal of hop i={} (d={}, s={}) does not verify: {why}",
                    set.instance, seal.d, seal.s
                ),
            )
        })?;
    }
    Ok(())
}

fn check(
    key: &KeyLookup,
    algorithm: Algorithm,
    data: &[u8],
    signature: &[u8],
    d: &str,
    s: &str,
) -> Result<(), String> {
    match key {
        KeyLookup::Found(record) => verify_with_key(record, algorithm, data, signature)
            .map_err(|b: Broken| b.describe(d, s)),
        other => Err(other.problem(d, s).unwrap_or_default()),
    }
}

// ---------------------------------------------------------------------------
// Finding

fn fail_finding(section: &ArcSection, headers: &[ArcHeader<'_>]) -> Finding {
    let reason = section.reason.clone().unwrap_or_default();
    let at = match section.failed_hop {
        Some(hop) => {
            let sealer = section
                .hops
                .iter()
                .find(|h| h.instance == hop)
                .and_then(|h| h.sealer.clone().or_else(|| h.authserv_id.clone()));
            match sealer {
                Some(sealer) => format!(" at hop i={hop} ({sealer})"),
                None => format!(" at hop i={hop}"),
            }
        }
        None => String::new(),
    };
    // A few sets' worth: a hostile chain can repeat a header a thousand
    // times.
    let evidence = headers
        .iter()
        .filter(|h| section.failed_hop.is_none() || h.instance == section.failed_hop)
        .take(EVIDENCE_LINES)
        .map(|h| evidence_line(h))
        .collect::<Vec<_>>();
    Finding::new(
        catalog::ARC_FAIL,
        format!(
            "the ARC chain of {} set(s) fails{at}: {reason}",
            section.sets
        ),
    )
    .with_evidence(evidence)
}

fn evidence_line(header: &ArcHeader<'_>) -> String {
    let value = String::from_utf8_lossy(header.value);
    let unfolded = value
        .split(['\r', '\n'])
        .map(|part| part.trim_matches(is_fws))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{}: {unfolded}",
        String::from_utf8_lossy(header.name).trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aar_must_start_with_the_instance() {
        assert_eq!(
            aar_prefix(b" i=1; lists.example.org;\r\n spf=pass\r\n"),
            Some((1, Some("lists.example.org".into())))
        );
        assert_eq!(
            aar_prefix(b" i = 2 ;example.org"),
            Some((2, Some("example.org".into())))
        );
        assert_eq!(aar_prefix(b" lists.example.org; i=1;"), None);
        assert_eq!(aar_prefix(b" i=1 lists.example.org"), None);
        assert_eq!(aar_prefix(b" i=x;"), None);
    }

    #[test]
    fn instances_are_plain_numbers() {
        assert_eq!(instance_number("1"), Some(1));
        assert_eq!(instance_number(""), None);
        assert_eq!(instance_number("-1"), None);
        assert_eq!(instance_number("1a"), None);
    }

    #[test]
    fn canonicalization_defaults_the_body_to_simple() {
        assert_eq!(
            canonicalization("relaxed"),
            Some((Canonicalization::Relaxed, Canonicalization::Simple))
        );
        assert_eq!(
            canonicalization("simple/relaxed"),
            Some((Canonicalization::Simple, Canonicalization::Relaxed))
        );
        assert_eq!(canonicalization("relaxed/"), None);
        assert_eq!(canonicalization("Relaxed"), None);
    }
}
