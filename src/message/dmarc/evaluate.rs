//! One evaluation: mail-auth's verdict for the From domain and the SPF
//! outcome, the tree walk for the author and each identifier, alignment,
//! the applied record and policy, and the reason in plain words.

use super::alignment::{Decision, Mechanism, combine, decide, dkim_mechanism, spf_mechanism};
use super::policy::{alignment_of, choose_policy, policy_of};
use super::walk::{Found, Walk, WalkStop, domain_exists, org_from_walk, psd_of, tree_walk};
use super::{
    AlignmentMatch, AppliedRecord, AuthResult, Claim, DkimAlignment, DmarcEvaluation, DmarcResult,
    IdentifierAlignment, Inputs, SpfAlignment,
};
use crate::dns::Resolver;
use crate::dns::answered::Answered;
use crate::records::dmarc::{self as audit, Alignment, DmarcRecord, Policy, Psd};
use futures_util::future::join_all;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DmarcOutput, MessageAuthenticator, Parameters, SpfOutput,
};
use std::collections::HashMap;

/// mail-auth's own verdict for the From domain and the SPF outcome, with no
/// DKIM signatures (they are judged here). `None` if the stand-in message
/// cannot be built, which a valid domain never causes.
pub(super) async fn mail_auth_verdict(
    authenticator: &MessageAuthenticator,
    answered: &Answered,
    from: &str,
    spf: Option<&Claim>,
) -> Option<DmarcOutput> {
    // mail-auth reads the Author Domain from a message's From header; this
    // stand-in carries just that.
    let raw = format!("From: <postmaster@{from}>\r\n\r\n");
    let message = AuthenticatedMessage::parse(raw.as_bytes())?;
    let (domain, result) = match spf {
        Some(claim) => (claim.domain.clone(), claim.result.to_mail_auth_spf()),
        None => (String::new(), mail_auth::SpfResult::None),
    };
    let spf_output = SpfOutput::new(domain.clone()).with_result(result);
    let no_signatures: [DkimOutput<'_>; 0] = [];
    Some(
        authenticator
            .verify_dmarc(
                Parameters::new(DmarcParameters::new(
                    &message,
                    &no_signatures,
                    &domain,
                    &spf_output,
                ))
                .with_cache(answered),
            )
            .await,
    )
}

pub(super) async fn run(
    resolver: &Resolver,
    authenticator: &MessageAuthenticator,
    answered: &Answered,
    inputs: Inputs,
) -> DmarcEvaluation {
    let Some(from) = inputs.from.clone() else {
        return without_author(&inputs);
    };

    // Every domain whose Organizational Domain may be needed is walked at
    // once; mail-auth then takes the records of the walk from the
    // request's answers.
    let mut others: Vec<String> = inputs
        .spf
        .iter()
        .chain(&inputs.dkim)
        .filter(|c| c.valid && c.domain != from)
        .map(|c| c.domain.clone())
        .collect();
    others.sort();
    others.dedup();
    let (author_walk, other_walks) = tokio::join!(
        tree_walk(resolver, &from),
        join_all(others.iter().map(|d| tree_walk(resolver, d)))
    );
    let mut orgs: HashMap<String, Result<String, String>> = others
        .iter()
        .zip(&other_walks)
        .map(|(d, w)| (d.clone(), org_from_walk(w, d)))
        .collect();
    let author_org = match author_walk.stop {
        None => Some(author_walk.organizational_domain(&from)),
        Some(_) => None,
    };
    if let Some(org) = &author_org {
        orgs.insert(from.clone(), Ok(org.clone()));
    }

    let mut notes = Vec::new();
    if let Some(problem) = &inputs.from_problem {
        notes.push(problem.clone());
    }

    // The record that applies: the author's own, else the Organizational
    // Domain's, else the highest one found (RFC 9989 §4.10.1).
    let applied: Option<(&Found, bool)> = match (&author_walk.stop, &author_org) {
        (None, Some(org)) => author_walk
            .found
            .iter()
            .find(|f| f.domain == from)
            .map(|f| (f, true))
            .or_else(|| {
                author_walk
                    .found
                    .iter()
                    .find(|f| f.domain == *org)
                    .or(author_walk.found.last())
                    .map(|f| (f, false))
            }),
        _ => None,
    };
    // Without p and without rua, DMARC does not apply (RFC 9989 §4.7).
    let usable = applied.filter(|(f, _)| {
        f.record.p != mail_auth::dmarc::Policy::Unspecified || !f.record.rua.is_empty()
    });

    let (aspf, adkim) = match usable {
        Some((f, _)) => (alignment_of(f.record.aspf), alignment_of(f.record.adkim)),
        None => (Alignment::Relaxed, Alignment::Relaxed),
    };
    let judge_claim = |claim: &Claim, mode: Alignment| -> Decision {
        match &author_org {
            Some(author_org) => decide(
                &claim.domain,
                &from,
                author_org,
                mode,
                orgs.get(&claim.domain).filter(|_| claim.valid),
            ),
            // Identical names align whatever the walk found.
            None if claim.domain == from => Decision::Aligned(AlignmentMatch::Identical),
            None => {
                Decision::Unknown("the From domain's organizational domain is unknown".to_string())
            }
        }
    };
    let spf_decision = inputs.spf.as_ref().map(|c| judge_claim(c, aspf));
    let dkim_decisions: Vec<Decision> = inputs.dkim.iter().map(|c| judge_claim(c, adkim)).collect();

    let mut own_spf = spf_mechanism(inputs.spf.as_ref(), spf_decision.as_ref());
    let mut own_dkim = dkim_mechanism(&inputs.dkim, &dkim_decisions);
    if usable.is_none() {
        own_spf = Mechanism::none();
        own_dkim = Mechanism::none();
    }

    let choice = match usable {
        Some((found, is_author)) => {
            let needs_existence = !is_author
                && found.record.p != mail_auth::dmarc::Policy::Unspecified
                && found.record.np != found.record.sp;
            let exists = if needs_existence {
                domain_exists(resolver, &from).await
            } else {
                None
            };
            if needs_existence && exists == Some(false) {
                notes.push(format!(
                    "{from} does not exist in the DNS (NXDOMAIN), so the policy for \
                     non-existent subdomains (np=) applies."
                ));
            }
            Some(choose_policy(found, is_author, exists))
        }
        None => None,
    };

    // Our reading, then mail-auth's verdict where it speaks.
    let own_result = match (&author_walk.stop, usable) {
        (Some(WalkStop::Dns { .. }), _) => DmarcResult::TempError,
        (Some(WalkStop::Unparsable { .. }), _) => DmarcResult::PermError,
        (Some(WalkStop::Multiple { .. }), _) => DmarcResult::None,
        (None, None) => DmarcResult::None,
        (None, Some(_)) => combine(own_spf.result, own_dkim.result, true),
    };
    let mut result = own_result;
    let mut spf_result = own_spf.result;
    let mut policy = choice.map(|c| c.applied);
    // Where mail-auth reads the records otherwise than RFC 9989 (several
    // records at a name, a version not exactly DMARC1), its verdict rests
    // on a record receivers discard: the result is this reading's.
    if !author_walk.deviations.is_empty() {
        notes.extend(author_walk.deviations.iter().cloned());
    } else if !mail_auth_agrees(&from, usable, inputs.spf.as_ref()) {
        resolver.share_answers(answered);
        let verdict = mail_auth_verdict(authenticator, answered, &from, inputs.spf.as_ref()).await;
        match &verdict {
            Some(out) => {
                let applies = out.record().is_some();
                if applies != usable.is_some() {
                    notes.push(format!(
                        "mailvet's reading of the DMARC records differs from mail-auth's ({}); the \
                     result follows mail-auth.",
                        if applies {
                            "mail-auth applies a record"
                        } else {
                            "mail-auth applies none"
                        }
                    ));
                }
                if applies {
                    // Without a record mail-auth repeats its overall error in
                    // each mechanism; the overall result says it once.
                    spf_result = DmarcResult::from_mail_auth(out.spf_result());
                    if spf_result != own_spf.result && usable.is_some() {
                        notes.push(format!(
                            "mail-auth's SPF alignment ({spf_result}) differs from mailvet's ({}); \
                         the result follows mail-auth.",
                            own_spf.result
                        ));
                    }
                    let theirs = policy_of(&out.policy());
                    if policy.is_some_and(|p| p != theirs) {
                        notes.push(format!(
                            "mail-auth applies {theirs} where mailvet reads {}; the report follows \
                         mail-auth.",
                            policy.map_or("nothing", Policy::as_str)
                        ));
                    }
                    policy = Some(theirs);
                    result = combine(spf_result, own_dkim.result, true);
                } else {
                    result = DmarcResult::from_mail_auth(&out.result());
                    policy = None;
                }
            }
            None => notes.push(
                "mail-auth could not be asked (no stand-in message for this From domain); the \
             result is mailvet's own reading."
                    .to_string(),
            ),
        }
    }

    // The report.
    let record = applied.map(|(found, is_author)| applied_record(found, !is_author));
    if let Some((found, _)) = applied {
        record_notes(found, record.as_ref(), usable.is_some(), &mut notes);
    }
    if let (Some(choice), Some(found)) = (choice, usable.map(|(f, _)| f)) {
        if found.record.t {
            notes.push(format!(
                "t=y (testing): receivers apply one step less than {}={}, that is {}.",
                choice.tag, choice.published, choice.applied
            ));
        }
        if psd_of(&found.record) == Psd::Yes && found.domain != from {
            notes.push(format!(
                "The record comes from the public suffix operator at _dmarc.{} (psd=y): {} \
                 publishes none of its own.",
                found.domain,
                author_org.as_deref().unwrap_or(from.as_str())
            ));
        }
    }

    let identifier = |claim: &Claim, decision: &Decision, decisive: bool| IdentifierAlignment {
        domain: claim.domain.clone(),
        result: claim.result,
        aligned: match decision {
            Decision::Aligned(_) => Some(true),
            Decision::NotAligned => Some(false),
            Decision::Unknown(_) => None,
        },
        how: match decision {
            Decision::Aligned(how) => Some(*how),
            _ => None,
        },
        organizational_domain: orgs
            .get(&claim.domain)
            .filter(|_| claim.valid)
            .and_then(|o| o.as_ref().ok())
            .cloned(),
        aligned_pass: decisive && claim.result == AuthResult::Pass,
        problem: match decision {
            Decision::Unknown(why) => Some(why.clone()),
            _ => None,
        },
    };
    let spf_section = SpfAlignment {
        mode: aspf,
        identifier: inputs
            .spf
            .as_ref()
            .zip(spf_decision.as_ref())
            .map(|(c, d)| identifier(c, d, spf_result == DmarcResult::Pass)),
        result: spf_result,
    };
    let mut decisive_seen = false;
    let signatures: Vec<IdentifierAlignment> = inputs
        .dkim
        .iter()
        .zip(&dkim_decisions)
        .map(|(c, d)| {
            // Only the first aligned pass is the one that counted.
            let decisive = !decisive_seen
                && own_dkim.result == DmarcResult::Pass
                && own_dkim.decisive.as_deref() == Some(c.domain.as_str())
                && c.result == AuthResult::Pass;
            decisive_seen |= decisive;
            identifier(c, d, decisive)
        })
        .collect();
    let dkim_section = DkimAlignment {
        mode: adkim,
        signatures,
        aligned_domain: (own_dkim.result == DmarcResult::Pass)
            .then(|| own_dkim.decisive.clone())
            .flatten(),
        result: own_dkim.result,
    };

    let mut evaluation = DmarcEvaluation {
        from_domain: Some(from.clone()),
        result,
        reason: String::new(),
        policy,
        policy_tag: choice.filter(|_| policy.is_some()).map(|c| c.tag),
        published_policy: choice.filter(|_| policy.is_some()).map(|c| c.published),
        testing: usable.is_some_and(|(f, _)| f.record.t),
        pct: usable
            .and(record.as_ref())
            .and_then(|r| r.tags.as_ref())
            .map(DmarcRecord::percent),
        record,
        organizational_domain: author_org,
        spf: spf_section,
        dkim: dkim_section,
        walk: author_walk.steps.clone(),
        notes,
    };
    evaluation.reason = reason(
        &evaluation,
        &author_walk,
        usable.is_some(),
        [&own_spf, &own_dkim],
    );
    evaluation
}

/// True when mail-auth's verdict is this reading's by construction, so
/// asking it would only repeat the evaluation: the walk met no record
/// mail-auth reads otherwise (the caller checks that), the From domain is
/// an A-label (mail-auth's author domain is then the same name), the record
/// applied is the author's own and usable (mail-auth applies the same
/// record, with `p` and `t`), and the SPF identifier is absent, neither a
/// pass nor a temperror (mail-auth's SPF side is then `none`, as here), or
/// the From domain itself (identical names align in either mode). DKIM is
/// judged here in every case.
fn mail_auth_agrees(from: &str, usable: Option<(&Found, bool)>, spf: Option<&Claim>) -> bool {
    let own_record = usable.is_some_and(|(found, is_author)| is_author && found.domain == from);
    let spf_plain = spf.is_none_or(|claim| {
        claim.domain == from || !matches!(claim.result, AuthResult::Pass | AuthResult::TempError)
    });
    from.is_ascii() && own_record && spf_plain
}

/// The evaluation of a message without a usable From domain: DMARC does not
/// apply (mail-auth's verdict too).
pub(super) fn without_author(inputs: &Inputs) -> DmarcEvaluation {
    let why = inputs
        .from_problem
        .clone()
        .unwrap_or_else(|| "no From domain".to_string());
    let unknown = |claim: &Claim| IdentifierAlignment {
        domain: claim.domain.clone(),
        result: claim.result,
        aligned: None,
        how: None,
        organizational_domain: None,
        aligned_pass: false,
        problem: Some("there is no From domain to align with".to_string()),
    };
    DmarcEvaluation {
        from_domain: None,
        result: DmarcResult::None,
        reason: format!("DMARC does not apply: {why}."),
        policy: None,
        policy_tag: None,
        published_policy: None,
        testing: false,
        pct: None,
        record: None,
        organizational_domain: None,
        spf: SpfAlignment {
            mode: Alignment::Relaxed,
            identifier: inputs.spf.as_ref().map(unknown),
            result: DmarcResult::None,
        },
        dkim: DkimAlignment {
            mode: Alignment::Relaxed,
            signatures: inputs.dkim.iter().map(unknown).collect(),
            aligned_domain: None,
            result: DmarcResult::None,
        },
        walk: Vec::new(),
        notes: Vec::new(),
    }
}

pub(super) fn applied_record(found: &Found, inherited: bool) -> AppliedRecord {
    let (tags, problems) = match audit::parse(&found.text) {
        Ok(tags) => (Some(tags), Vec::new()),
        Err(problems) => (None, problems.iter().map(ToString::to_string).collect()),
    };
    AppliedRecord {
        name: format!("_dmarc.{}", found.domain),
        domain: found.domain.clone(),
        text: found.text.clone(),
        inherited,
        tags,
        problems,
    }
}

pub(super) fn record_notes(
    found: &Found,
    record: Option<&AppliedRecord>,
    usable: bool,
    notes: &mut Vec<String>,
) {
    let name = format!("_dmarc.{}", found.domain);
    if let Some(record) = record.filter(|r| !r.problems.is_empty()) {
        notes.push(format!(
            "The record at {name} does not parse strictly ({}); mail-auth applies it anyway, \
             reading what it can, and this evaluation follows it.",
            record.problems.join("; ")
        ));
    }
    if !usable {
        return;
    }
    if found.record.p == mail_auth::dmarc::Policy::Unspecified {
        notes.push(format!(
            "The record at {name} has no p= tag; with a rua= tag receivers treat it as p=none \
             (RFC 9989 §4.7)."
        ));
    }
    if let Some(pct) = record
        .and_then(|r| r.tags.as_ref())
        .and_then(|t| t.pct)
        .filter(|p| *p < 100)
    {
        notes.push(format!(
            "pct={pct} is historic: RFC 9989 receivers (mail-auth among them) apply the policy \
             to all failing mail; receivers still following RFC 7489 apply it to {pct}% of it."
        ));
    }
}

/// The one or two sentences that say why.
pub(super) fn reason(
    e: &DmarcEvaluation,
    walk: &Walk,
    usable: bool,
    [spf, dkim]: [&Mechanism; 2],
) -> String {
    let from = e.from_domain.as_deref().unwrap_or("the From domain");
    match e.result {
        DmarcResult::TempError => {
            if let Some(WalkStop::Dns { query, error }) = &walk.stop {
                return format!(
                    "The TXT query for {query} failed ({error}), so it is unknown which DMARC \
                     policy applies to {from}; receivers usually defer the message and try \
                     again."
                );
            }
            let why = [spf, dkim]
                .iter()
                .filter(|m| m.result == DmarcResult::TempError)
                .find_map(|m| m.problem.clone())
                .unwrap_or_else(|| "a DNS lookup failed".to_string());
            format!(
                "DMARC cannot be decided for {from} now: {why}. Receivers usually defer the \
                 message and try again."
            )
        }
        DmarcResult::PermError => match &walk.stop {
            Some(WalkStop::Unparsable { query, text }) => {
                let problems = audit::parse(text)
                    .err()
                    .map(|p| {
                        p.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default();
                format!(
                    "The DMARC record at {query} does not parse{}: {text}",
                    if problems.is_empty() {
                        String::new()
                    } else {
                        format!(" ({problems})")
                    }
                )
            }
            _ => format!("The DMARC record for {from} could not be used."),
        },
        DmarcResult::None => match &e.record {
            _ if let Some(WalkStop::Multiple { query, texts }) = &walk.stop => format!(
                "{query} holds {} v=DMARC1 records; RFC 9989 (§4.10 step 2) has receivers \
                 discard them all, so no DMARC policy applies to {from}.",
                texts.len()
            ),
            Some(r) if !usable => format!(
                "The record at {} has neither p= nor rua=, so receivers apply no DMARC \
                 processing to {from} (RFC 9989 §4.7).",
                r.name
            ),
            _ => format!(
                "No DMARC record at _dmarc.{from} nor at any parent the RFC 9989 tree walk \
                 asked, so DMARC does not apply."
            ),
        },
        DmarcResult::Pass => {
            if e.dkim.result == DmarcResult::Pass {
                let d = e.dkim.aligned_domain.as_deref().unwrap_or("?");
                format!(
                    "DKIM passed for d={d}, which aligns with {from} ({}).",
                    how_words(e, d, e.dkim.mode)
                )
            } else {
                let d = e.spf.identifier.as_ref().map_or("?", |i| i.domain.as_str());
                format!(
                    "SPF passed for {d}, which aligns with {from} ({}).",
                    how_words(e, d, e.spf.mode)
                )
            }
        }
        DmarcResult::Fail => format!(
            "Neither SPF nor DKIM passed for a domain aligned with {from}: {}; {}.",
            spf_story(e),
            dkim_story(e)
        ),
    }
}

pub(super) fn mode_word(mode: Alignment) -> &'static str {
    match mode {
        Alignment::Relaxed => "relaxed",
        Alignment::Strict => "strict",
    }
}

/// "identical", or "relaxed: both under example.com".
pub(super) fn how_words(e: &DmarcEvaluation, domain: &str, mode: Alignment) -> String {
    if Some(domain) == e.from_domain.as_deref() {
        return format!("identical; {} alignment", mode_word(mode));
    }
    format!(
        "{} alignment: same organizational domain {}",
        mode_word(mode),
        e.organizational_domain.as_deref().unwrap_or("?")
    )
}

/// Why an identifier does not align, in words.
pub(super) fn misalignment(
    e: &DmarcEvaluation,
    id: &IdentifierAlignment,
    tag: &str,
    mode: Alignment,
) -> String {
    let from = e.from_domain.as_deref().unwrap_or("?");
    if let Some(problem) = &id.problem {
        return format!("alignment unknown: {problem}");
    }
    match mode {
        Alignment::Strict => format!("{tag}=s requires exactly {from}"),
        Alignment::Relaxed => format!(
            "relaxed alignment: its organizational domain {} is not {}",
            id.organizational_domain.as_deref().unwrap_or(&id.domain),
            e.organizational_domain.as_deref().unwrap_or(from)
        ),
    }
}

pub(super) fn spf_story(e: &DmarcEvaluation) -> String {
    match &e.spf.identifier {
        None => "no SPF result was given".to_string(),
        Some(id) if id.result != AuthResult::Pass => {
            format!("SPF is {} for {}", id.result, id.domain)
        }
        Some(id) => format!(
            "SPF passed for {}, which does not align ({})",
            id.domain,
            misalignment(e, id, "aspf", e.spf.mode)
        ),
    }
}

pub(super) fn dkim_story(e: &DmarcEvaluation) -> String {
    let sigs = &e.dkim.signatures;
    if sigs.is_empty() {
        return "the message has no DKIM signature".to_string();
    }
    let passing: Vec<&IdentifierAlignment> = sigs
        .iter()
        .filter(|s| s.result == AuthResult::Pass)
        .collect();
    if passing.is_empty() {
        let listed: Vec<String> = sigs
            .iter()
            .map(|s| format!("d={} {}", s.domain, s.result))
            .collect();
        return format!("no DKIM signature passed ({})", listed.join(", "));
    }
    match passing.as_slice() {
        [one] => format!(
            "DKIM passed for d={}, which does not align ({})",
            one.domain,
            misalignment(e, one, "adkim", e.dkim.mode)
        ),
        many => {
            let listed: Vec<String> = many
                .iter()
                .map(|s| {
                    format!(
                        "d={}: {}",
                        s.domain,
                        misalignment(e, s, "adkim", e.dkim.mode)
                    )
                })
                .collect();
            format!(
                "DKIM passed for {} signatures, none of which aligns ({})",
                many.len(),
                listed.join("; ")
            )
        }
    }
}
