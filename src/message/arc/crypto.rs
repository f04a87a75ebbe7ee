//! The cryptographic checks of an ARC chain (RFC 8617 §5.2 steps 4-6):
//! mail-auth's verdict, and our own check of the newest
//! ARC-Message-Signature and every ARC-Seal with the DKIM verifier
//! ([`crate::message::dkim::verify`]), which names the hop that broke.

use super::structure::Set;
use super::{ChainBroken, broken};
use crate::message::MessageContext;
use crate::message::dkim::verify::{
    Broken, KeyLookup, body_hash, canonical_header, fetch_key, header_hash_input, strip_b_value,
    verify_with_key,
};
use futures_util::future::join_all;
use mail_auth::arc::ArcError;
use mail_auth::crypto::{Algorithm, HashAlgorithm};
use mail_auth::dkim::Canonicalization;
use mail_auth::{AuthenticatedMessage, DkimResult as AuthResult, Error as AuthError, Parameters};

pub(super) async fn judge(
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
            own_check(cx, message, sets, newest).await
        }
        other => {
            let located = own_check(cx, message, sets, newest).await;
            Err(match located {
                Err(found) => found,
                // Our verifier sees no fault; report what mail-auth saw.
                Ok(()) => broken(None, mail_auth_reason(other)),
            })
        }
    }
}

pub(super) fn mail_auth_reason(result: &AuthResult) -> String {
    match result {
        AuthResult::Pass => "pass".into(),
        AuthResult::None => "mail-auth found no ARC-Message-Signature".into(),
        AuthResult::Fail(e)
        | AuthResult::Neutral(e)
        | AuthResult::PermError(e)
        | AuthResult::TempError(e) => format!("the chain does not validate ({e})"),
    }
}

/// Verifies the newest ARC-Message-Signature (that of `newest`, the last
/// of `sets`) and every seal here; the first problem found, with its hop.
pub(super) async fn own_check(
    cx: &MessageContext<'_>,
    message: &AuthenticatedMessage<'_>,
    sets: &[Set<'_, '_>],
    newest: &Set<'_, '_>,
) -> Result<(), ChainBroken> {
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

pub(super) fn check(
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
