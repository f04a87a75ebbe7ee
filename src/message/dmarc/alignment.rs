//! Identifier alignment (RFC 9989 §4.4.1, §4.4.2): whether a passing SPF
//! domain or DKIM `d=` aligns with the From domain, exactly or, in relaxed
//! mode, through the Organizational Domain found by the tree walk; and how
//! the SPF and DKIM sides combine into one result, `temperror` included.

use super::{AlignmentMatch, AuthResult, Claim, DmarcResult};
use crate::records::dmarc::Alignment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    Aligned(AlignmentMatch),
    NotAligned,
    Unknown(String),
}

/// RFC 9989 §4.4.1/§4.4.2, as mail-auth decides it: identical names
/// align; in relaxed mode a name under the author's Organizational Domain
/// aligns when its own Organizational Domain is that one. `org` is the
/// identifier's Organizational Domain, needed only in that last case.
pub(super) fn decide(
    domain: &str,
    author: &str,
    author_org: &str,
    mode: Alignment,
    org: Option<&Result<String, String>>,
) -> Decision {
    if domain == author {
        return Decision::Aligned(AlignmentMatch::Identical);
    }
    if mode == Alignment::Strict || !is_at_or_below(domain, author_org) {
        return Decision::NotAligned;
    }
    match org {
        Some(Ok(org)) if org == author_org => Decision::Aligned(AlignmentMatch::SameOrganization),
        Some(Ok(_)) => Decision::NotAligned,
        Some(Err(why)) => Decision::Unknown(why.clone()),
        None => Decision::Unknown(format!("{domain} is not a valid domain name")),
    }
}

pub(super) fn is_at_or_below(domain: &str, parent: &str) -> bool {
    domain
        .strip_suffix(parent)
        .is_some_and(|prefix| prefix.is_empty() || prefix.ends_with('.'))
}

/// What one mechanism contributes, as mail-auth computes it.
#[derive(Debug, Clone)]
pub(super) struct Mechanism {
    pub(super) result: DmarcResult,
    /// The identifier that decided it (an aligned pass or temperror).
    pub(super) decisive: Option<String>,
    /// For temperror: why.
    pub(super) problem: Option<String>,
}

impl Mechanism {
    pub(super) fn none() -> Mechanism {
        Mechanism {
            result: DmarcResult::None,
            decisive: None,
            problem: None,
        }
    }
}

/// SPF: only a pass or a temperror counts; an aligned temperror is a
/// temperror, an unaligned pass a fail.
pub(super) fn spf_mechanism(claim: Option<&Claim>, decision: Option<&Decision>) -> Mechanism {
    let (Some(claim), Some(decision)) = (claim, decision) else {
        return Mechanism::none();
    };
    let pass = claim.result == AuthResult::Pass;
    if !pass && claim.result != AuthResult::TempError {
        return Mechanism::none();
    }
    let (result, problem) = match decision {
        Decision::Aligned(_) if pass => (DmarcResult::Pass, None),
        Decision::Aligned(_) => (
            DmarcResult::TempError,
            Some(format!(
                "SPF returned temperror for {}, which aligns",
                claim.domain
            )),
        ),
        Decision::NotAligned if pass => (DmarcResult::Fail, None),
        Decision::NotAligned => (DmarcResult::None, None),
        Decision::Unknown(why) => (DmarcResult::TempError, Some(why.clone())),
    };
    Mechanism {
        decisive: matches!(result, DmarcResult::Pass | DmarcResult::TempError)
            .then(|| claim.domain.clone()),
        result,
        problem,
    }
}

/// DKIM: signatures are taken in order; the first aligned pass decides; an
/// aligned temperror (or an alignment that DNS could not decide) is kept
/// as a temperror unless a later signature passes aligned; only the first
/// temperror signature is considered.
pub(super) fn dkim_mechanism(claims: &[Claim], decisions: &[Decision]) -> Mechanism {
    let mut has_pass = false;
    let mut temp: Option<(String, String)> = None;
    for (claim, decision) in claims.iter().zip(decisions) {
        let pass = claim.result == AuthResult::Pass;
        let temperror = claim.result == AuthResult::TempError;
        if !pass && !temperror || temperror && temp.is_some() {
            continue;
        }
        has_pass |= pass;
        match decision {
            Decision::Aligned(_) if pass => {
                return Mechanism {
                    result: DmarcResult::Pass,
                    decisive: Some(claim.domain.clone()),
                    problem: None,
                };
            }
            Decision::Aligned(_) => {
                temp = Some((
                    claim.domain.clone(),
                    format!(
                        "the DKIM signature with d={} returned temperror and would align",
                        claim.domain
                    ),
                ));
            }
            Decision::NotAligned => {}
            Decision::Unknown(why) => {
                temp.get_or_insert((claim.domain.clone(), why.clone()));
            }
        }
    }
    match temp {
        Some((domain, why)) => Mechanism {
            result: DmarcResult::TempError,
            decisive: Some(domain),
            problem: Some(why),
        },
        None if has_pass => Mechanism {
            result: DmarcResult::Fail,
            decisive: None,
            problem: None,
        },
        None => Mechanism::none(),
    }
}

/// The overall result from the two mechanisms (mail-auth's ranking).
pub(super) fn combine(spf: DmarcResult, dkim: DmarcResult, applies: bool) -> DmarcResult {
    [spf, dkim]
        .into_iter()
        .filter_map(|r| r.rank().map(|rank| (rank, r)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r)
        .unwrap_or(if applies {
            DmarcResult::Fail
        } else {
            DmarcResult::None
        })
}
