//! The structure of an ARC chain (RFC 8617 §4.1, §5.1.2, §5.2 steps 2-3):
//! one complete set per instance from 1 to the highest, at most 50, each
//! header's required tags present and well-formed, `cv=none` only on the
//! first seal and `cv=pass` on the others.

use super::headers::{ArcHeader, Kind};
use super::{ChainBroken, MAX_SETS, broken};
use crate::records::dkim_key::decode_base64;
use crate::records::tag_list::Space;
use mail_auth::crypto::Algorithm;
use mail_auth::dkim::Canonicalization;

/// A complete, well-formed ARC set.
pub(super) struct Set<'h, 'x> {
    pub(super) instance: u32,
    pub(super) seal: &'h ArcHeader<'x>,
    pub(super) signature: &'h ArcHeader<'x>,
    pub(super) results: &'h ArcHeader<'x>,
    pub(super) seal_tags: SealTags,
    pub(super) signature_tags: SignatureTags,
}

pub(super) struct SealTags {
    pub(super) a: Algorithm,
    pub(super) b: Vec<u8>,
    pub(super) d: String,
    pub(super) s: String,
}

pub(super) struct SignatureTags {
    pub(super) a: Algorithm,
    pub(super) b: Vec<u8>,
    pub(super) bh: Vec<u8>,
    pub(super) d: String,
    pub(super) s: String,
    pub(super) h: Vec<String>,
    pub(super) ch: Canonicalization,
    pub(super) cb: Canonicalization,
    pub(super) l: u64,
    pub(super) x: u64,
}

/// The sets, oldest first, or what is wrong with the chain's structure.
pub(super) fn structure<'h, 'x>(
    headers: &'h [ArcHeader<'x>],
) -> Result<Vec<Set<'h, 'x>>, ChainBroken> {
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

pub(super) fn malformed(
    header: &ArcHeader<'_>,
    instance: u32,
    why: &str,
    section: &str,
) -> ChainBroken {
    broken(
        instance,
        format!(
            "the {} of hop i={instance} is malformed: {why} ({section})",
            header.kind.name()
        ),
    )
}

/// Required tags and their values shared by seals and signatures.
pub(super) fn common_tags(
    header: &ArcHeader<'_>,
    instance: u32,
    required: &[&str],
    section: &str,
) -> Result<(Algorithm, Vec<u8>, String, String), ChainBroken> {
    if let Some(error) = &header.tags.error {
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

pub(super) fn base64_tag(header: &ArcHeader<'_>, name: &str) -> Option<Vec<u8>> {
    decode_base64(header.tag(name)?)
        .ok()
        .filter(|b| !b.is_empty())
}

pub(super) fn seal_tags(header: &ArcHeader<'_>, instance: u32) -> Result<SealTags, ChainBroken> {
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

pub(super) fn signature_tags(
    header: &ArcHeader<'_>,
    instance: u32,
) -> Result<SignatureTags, ChainBroken> {
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
        .map(|n| Space::Fws.trim(n).to_string())
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

pub(super) fn is_number(text: &str) -> bool {
    !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `c=` as (header, body), the body defaulting to simple (RFC 6376 §3.5).
pub(super) fn canonicalization(text: &str) -> Option<(Canonicalization, Canonicalization)> {
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
