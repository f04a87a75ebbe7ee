//! The policy a receiver applies (RFC 9989 §4.7, §4.10.1): `p` for the
//! author's own record, `np` for a non-existent author domain when it
//! differs from `sp`, else `sp` (defaulting to `p`); `t=y` lowers it one
//! step.

use super::walk::Found;
use crate::records::dmarc::{Alignment, Policy};

pub(super) fn policy_of(policy: &mail_auth::dmarc::Policy) -> Policy {
    match policy {
        mail_auth::dmarc::Policy::Reject => Policy::Reject,
        mail_auth::dmarc::Policy::Quarantine => Policy::Quarantine,
        mail_auth::dmarc::Policy::None | mail_auth::dmarc::Policy::Unspecified => Policy::None,
    }
}

pub(super) fn alignment_of(mode: mail_auth::dmarc::Alignment) -> Alignment {
    match mode {
        mail_auth::dmarc::Alignment::Relaxed => Alignment::Relaxed,
        mail_auth::dmarc::Alignment::Strict => Alignment::Strict,
    }
}

/// What `t=y` asks receivers to apply instead (RFC 9989 §4.7).
pub(super) fn one_step_less(policy: Policy) -> Policy {
    match policy {
        Policy::Reject => Policy::Quarantine,
        _ => Policy::None,
    }
}

/// Whether a record's text sets a tag (the lenient record fills defaults,
/// so only the text tells `sp` written from `sp` defaulted to `p`).
pub(super) fn has_tag(text: &str, tag: &str) -> bool {
    text.split(';').any(|segment| {
        segment
            .split_once('=')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case(tag))
    })
}

/// The tag that sets the policy for the author domain and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PolicyChoice {
    pub(super) tag: &'static str,
    pub(super) published: Policy,
    pub(super) applied: Policy,
}

/// RFC 9989 §4.10.1 as mail-auth applies it. `exists` is asked only when it
/// matters (an inherited record whose `np` differs from `sp`).
pub(super) fn choose_policy(found: &Found, is_author: bool, exists: Option<bool>) -> PolicyChoice {
    let record = &found.record;
    let (tag, published) = if record.p == mail_auth::dmarc::Policy::Unspecified {
        // Only reached with a rua (without one DMARC does not apply).
        ("p", Policy::None)
    } else if is_author {
        ("p", policy_of(&record.p))
    } else if record.np != record.sp && exists == Some(false) {
        ("np", policy_of(&record.np))
    } else if has_tag(&found.text, "sp") {
        ("sp", policy_of(&record.sp))
    } else {
        ("p", policy_of(&record.sp))
    };
    PolicyChoice {
        tag,
        published,
        applied: if record.t {
            one_step_less(published)
        } else {
            published
        },
    }
}
