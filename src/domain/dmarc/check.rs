//! The check: the record that applies, judged: its policy, its report
//! destinations and their authorization (RFC 7489 §7.1), and the findings
//! with computed fixes.

use super::discovery::{Discovery, discover, locate};
use super::section::{
    AuthorizationStatus, DmarcSection, DmarcStatus, ReportDestination, psl_organizational,
};
use crate::dns::{DnsError, Resolver};
use crate::domain::AuditContext;
use crate::findings::{Checked, Finding, catalog};
use crate::records::dmarc::{
    DmarcRecord, Policy, Psd, SyntaxProblem, TxtSet, WSP, WrittenTags, fetch_txt, is_dmarc1,
    looks_like_dmarc, parse,
};
use futures_util::future::join_all;

/// The report address a computed fix proposes when the record has none.
const REPORT_MAILBOX: &str = "dmarc-reports";

/// Audits the domain's DMARC setup.
pub async fn check(cx: &AuditContext<'_>) -> Checked<DmarcSection> {
    let domain = cx.domain.ascii.as_str();
    let mut section = DmarcSection::empty(domain);
    let own_name = cx.domain.child("_dmarc");
    let (own, apex) = tokio::join!(
        fetch_txt(cx.resolver, &own_name),
        fetch_txt(cx.resolver, domain)
    );
    match &apex {
        Ok(set) => {
            section.domain_exists = Some(!set.nxdomain);
            section.apex_records = set
                .texts
                .iter()
                .filter(|t| is_dmarc1(t) || looks_like_dmarc(t))
                .cloned()
                .collect();
        }
        Err(e) => section.notes.push(format!(
            "The TXT query for {domain} failed ({e}), so a stray v=DMARC1 record there could \
             not be looked for."
        )),
    }

    let discovery = discover(cx.resolver, domain, own, &mut section).await;
    let mut findings = Vec::new();
    match discovery {
        Discovery::Failed { name, error } => {
            section.status = DmarcStatus::DnsError;
            findings.push(
                Finding::new(
                    catalog::DMARC_DNS_ERROR,
                    format!(
                        "The TXT query for {name} failed: {error}. Whether {domain} has a DMARC \
                         policy is unknown."
                    ),
                )
                .with_fix(format!(
                    "Check that every authoritative name server answers TXT queries for {name} \
                     quickly and consistently, then run the check again. If the failure \
                     persists, contact your DNS provider."
                ))
                .with_evidence([format!("{name}. TXT: {}", error.rcode_word())]),
            );
            // A failed lookup gives dns_error alone.
            return Checked { section, findings };
        }
        Discovery::Missing { evidence } => {
            section.status = DmarcStatus::Missing;
            findings.push(missing_finding(domain, &section.apex_records, evidence));
        }
        Discovery::Multiple {
            found_at,
            texts,
            evidence,
        } => {
            section.status = DmarcStatus::MultipleRecords;
            locate(&mut section, domain, &found_at);
            findings.push(
                Finding::new(
                    catalog::DMARC_MULTIPLE_RECORDS,
                    format!(
                        "_dmarc.{found_at} holds {} v=DMARC1 records; receivers discard them all{}.",
                        texts.len(),
                        if found_at == domain {
                            String::new()
                        } else {
                            format!(" (it is where {domain} would inherit its policy from)")
                        }
                    ),
                )
                .with_fix(format!(
                    "Keep a single TXT record at _dmarc.{found_at} with all the tags you need \
                     and delete the others. For example keep: {}",
                    texts[0]
                ))
                .with_evidence(evidence),
            );
        }
        Discovery::Invalid {
            found_at,
            text,
            problems,
            evidence,
        } => {
            section.status = DmarcStatus::Syntax;
            locate(&mut section, domain, &found_at);
            findings.push(syntax_finding(&found_at, &text, &problems, evidence));
            section.record = Some(text);
        }
        Discovery::Found {
            found_at,
            text,
            record,
            evidence,
        } => {
            section.status = DmarcStatus::Ok;
            locate(&mut section, domain, &found_at);
            section.record = Some(text);
            describe(&mut section, &record);
            findings.extend(content_findings(
                domain, &found_at, &section, &record, &evidence,
            ));
            section.report_destinations =
                report_destinations(&found_at, &record, &mut section.notes);
            authorize(cx.resolver, &mut section.report_destinations).await;
            findings.extend(authorization_findings(
                &found_at,
                &section.report_destinations,
            ));
            section.tags = Some(*record);
        }
    }
    if !section.apex_records.is_empty() {
        findings.push(apex_finding(domain, &section, &apex));
    }
    Checked { section, findings }
}

/// Fills the policy fields and notes from the record that applies.
pub(super) fn describe(section: &mut DmarcSection, record: &DmarcRecord) {
    let p = record.p.unwrap_or(Policy::None);
    let (tag, published) = if !section.inherited {
        ("p", p)
    } else if section.domain_exists == Some(false) {
        match (record.np, record.sp) {
            (Some(np), _) => ("np", np),
            (None, Some(sp)) => ("sp", sp),
            (None, None) => ("p", p),
        }
    } else {
        match record.sp {
            Some(sp) => ("sp", sp),
            None => ("p", p),
        }
    };
    section.policy_tag = Some(tag);
    section.published_policy = Some(published);
    section.policy = Some(if record.testing() {
        published.one_step_less()
    } else {
        published
    });
    section.subdomain_policy = Some(record.sp.unwrap_or(p));
    section.nonexistent_subdomain_policy = Some(record.np.or(record.sp).unwrap_or(p));
    section.pct = Some(record.percent());
    section.testing = record.testing();

    let notes = &mut section.notes;
    if record.p.is_none() {
        notes.push(if record.rua.is_empty() {
            "The record has no p= tag. RFC 9989 allows that and reads it as p=none, but with \
             no valid rua= either, receivers apply no DMARC processing at all (RFC 9989 \
             §4.10.1)."
                .to_string()
        } else {
            "The record has no p= tag; RFC 9989 allows that and receivers treat it as p=none."
                .to_string()
        });
    }
    if section.inherited && section.domain_exists == Some(false) {
        notes.push(
            "The domain does not exist in the DNS (NXDOMAIN), so the policy for non-existent \
             subdomains applies to it (np=, falling back to sp= and then p=)."
                .to_string(),
        );
    }
    if record.testing() {
        notes.push(format!(
            "t=y (testing): receivers apply one step less than {tag}={published}, that is \
             {}.",
            published.one_step_less()
        ));
    }
    if !record.unknown_tags.is_empty() {
        notes.push(format!(
            "Unknown tags, ignored by receivers: {}.",
            record.unknown_tags.join(", ")
        ));
    }
    if record.psd_flag() == Psd::Yes && !section.inherited {
        notes.push(
            "psd=y: the record declares this domain a public suffix domain; its policy \
             applies to organizations below it that publish none."
                .to_string(),
        );
    }
    if record
        .rua
        .iter()
        .chain(&record.ruf)
        .any(|u| u.size_limit.is_some())
    {
        notes.push(
            "A report address carries a !size limit; RFC 9989 receivers ignore it.".to_string(),
        );
    }
    if !record.fo.is_empty() && record.ruf.is_empty() {
        notes.push("fo= has no effect without a ruf= address.".to_string());
    }
}

/// The codes about the content of a usable record.
pub(super) fn content_findings(
    domain: &str,
    found_at: &str,
    section: &DmarcSection,
    record: &DmarcRecord,
    evidence: &[String],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let name = format!("_dmarc.{found_at}");
    let tag = section.policy_tag.unwrap_or("p");
    let published = section.published_policy.unwrap_or(Policy::None);
    let with_evidence = |f: Finding| f.with_evidence(evidence.iter().cloned());
    let report_to = format!("mailto:{REPORT_MAILBOX}@{found_at}");

    if section.inherited {
        let own = {
            let mut own = WrittenTags(vec![
                ("v".into(), "DMARC1".into()),
                (
                    "p".into(),
                    section
                        .policy
                        .filter(|p| p.enforces())
                        .unwrap_or(Policy::Quarantine)
                        .to_string(),
                ),
            ]);
            // The organization's own report addresses; never a public
            // suffix operator's, nor none.
            let rua: Vec<&str> = record.rua.iter().map(|u| u.uri.as_str()).collect();
            own.set(
                "rua",
                &if rua.is_empty() || record.psd_flag() == Psd::Yes {
                    format!("mailto:{REPORT_MAILBOX}@{domain}")
                } else {
                    rua.join(",")
                },
                &[],
            );
            own.render()
        };
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_INHERITED,
                format!(
                    "{domain} has no DMARC record of its own (_dmarc.{domain}); the record at \
                     {name} applies to it through its {tag}= policy ({tag}={published})."
                ),
            )
            .with_fix(format!(
                "No change is needed if the inherited policy is right. To give {domain} its \
                 own policy, publish a TXT record at _dmarc.{domain}, for example: {own}"
            ))
            .publishing(format!("_dmarc.{domain}"), "TXT", own),
        ));
    }

    let p_enforces = record.p.is_some_and(Policy::enforces);
    let lax: Vec<&str> = [("sp", record.sp), ("np", record.np)]
        .iter()
        .filter(|(_, v)| *v == Some(Policy::None))
        .map(|(t, _)| *t)
        .collect();
    let reports_arrive = !record.rua.is_empty();
    // pct below 100 has its own finding, which says it is historic.
    let historic: Vec<&str> = [
        ("pct", record.pct.is_some() && record.percent() == 100),
        ("ri", record.ri.is_some()),
        ("rf", !record.rf.is_empty()),
    ]
    .iter()
    .filter(|(_, present)| *present)
    .map(|(tag, _)| *tag)
    .collect();
    // What the findings below ask to publish at this name, built once so
    // that no two findings offer different records for it. `tidy` changes
    // nothing receivers enforce: tags they ignore dropped, reports asked
    // for; the hygiene findings name it. `next` is the record the
    // enforcement findings offer: `tidy`, and once reports arrive (without
    // them nobody can see whether legitimate mail passes) every stronger
    // policy too: a stricter p, sp or np, no t=y, no pct. Without reports
    // the two are one, and only dmarc.no_rua offers it.
    let tidy = {
        let mut tidy = record.written.clone();
        for ignored in &record.ignored_tags {
            tidy.remove(&ignored.tag);
        }
        for tag in &historic {
            tidy.remove(tag);
        }
        if !reports_arrive {
            tidy.set("rua", &report_to, &[]);
        }
        tidy
    };
    // With its sp or np dropped, a subdomain follows the enforcing p.
    let follows_p = p_enforces && lax.contains(&tag);
    let next = {
        let mut next = tidy.clone();
        if reports_arrive {
            if p_enforces {
                for t in &lax {
                    next.remove(t);
                }
            }
            if section.policy == Some(Policy::None) && !follows_p {
                next.remove("t");
                if !(record.testing() && published.enforces()) {
                    next.set(tag, "quarantine", &["v", "p"]);
                }
            }
            next.remove("pct");
        }
        next
    };
    let first_reports = format!(
        "First have aggregate reports sent: publish at {name}: {} (dmarc.no_rua). ",
        next.render()
    );

    if section.policy == Some(Policy::None) {
        let detail = if record.testing() && published.enforces() {
            format!(
                "{name} sets {tag}={published} with t=y (testing), so receivers apply none: \
                 mail that fails DMARC is delivered as usual."
            )
        } else {
            if record.p.is_none() && tag == "p" {
                format!(
                    "{name} has no p= tag, which receivers read as p=none: mail that fails \
                     DMARC is delivered as usual."
                )
            } else if section.inherited {
                format!(
                    "{domain} inherits {tag}=none from {name}: mail that fails DMARC is \
                     delivered as usual."
                )
            } else {
                format!("{name} sets p=none: mail that fails DMARC is delivered as usual.")
            }
        };
        let finding = Finding::new(catalog::DMARC_POLICY_NONE, detail);
        findings.push(with_evidence(if reports_arrive {
            let later = if follows_p {
                format!(
                    "; {domain} then follows p={}",
                    record.p.unwrap_or(Policy::None)
                )
            } else {
                let mut reject = next.clone();
                reject.set(tag, "reject", &["v", "p"]);
                format!(
                    " — and later, to block spoofed mail outright: {}",
                    reject.render()
                )
            };
            finding
                .with_fix(format!(
                    "Once aggregate reports show that all your legitimate mail passes DMARC, \
                     publish at {name}: {}{later}",
                    next.render()
                ))
                .publishing(name.as_str(), "TXT", next.render())
        } else {
            let step = if record.testing() && published.enforces() {
                format!("remove t=y so receivers apply {tag}={published}")
            } else {
                format!(
                    "set {tag}=quarantine, and later {tag}=reject to block spoofed mail outright"
                )
            };
            finding.with_fix(format!(
                "{first_reports}Once they show that all your legitimate mail passes DMARC, \
                 {step}."
            ))
        }));
    }

    if p_enforces && !lax.is_empty() {
        let p = record.p.unwrap_or(Policy::None);
        let set: Vec<String> = lax.iter().map(|t| format!("{t}=none")).collect();
        let finding = with_evidence(Finding::new(
            catalog::DMARC_SUBDOMAIN_POLICY_NONE,
            format!(
                "{name} sets {} while p={p}: mail that fails DMARC from {} is delivered \
                     as usual.",
                set.join(" and "),
                match lax.as_slice() {
                    ["np"] => format!("non-existent subdomains of {found_at}"),
                    ["sp"] => format!("subdomains of {found_at}"),
                    _ => format!("subdomains of {found_at}, existing or not"),
                }
            ),
        ));
        let only_monitoring =
            "If one subdomain really needs monitoring only, give it its own _dmarc record.";
        findings.push(with_evidence(if reports_arrive {
            finding
                .with_fix(format!(
                    "Once reports show your subdomains' legitimate mail passes, remove {} so \
                     they follow p={p}; publish at {name}: {}. {only_monitoring}",
                    set.join(" and "),
                    next.render()
                ))
                .publishing(name.as_str(), "TXT", next.render())
        } else {
            finding.with_fix(format!(
                "{first_reports}Once they show your subdomains' legitimate mail passes, remove \
                 {} so they follow p={p}. {only_monitoring}",
                set.join(" and ")
            ))
        }));
    }

    if record.percent() < 100 {
        let finding = Finding::new(
            catalog::DMARC_PCT_PARTIAL,
            format!(
                "{name} sets pct={}: receivers that honour it apply {tag}={published} to \
                     only {}% of failing mail.",
                record.percent(),
                record.percent()
            ),
        );
        findings.push(with_evidence(if reports_arrive {
            finding
                .with_fix(format!(
                    "Remove pct= (the default is 100) once reports show your legitimate mail \
                     passes; publish at {name}: {}",
                    next.render()
                ))
                .publishing(name.as_str(), "TXT", next.render())
        } else {
            finding.with_fix(format!(
                "{first_reports}Once they show your legitimate mail passes, remove pct= (the \
                 default is 100)."
            ))
        }));
    }

    if !record.ignored_tags.is_empty() {
        let listed: Vec<String> = record
            .ignored_tags
            .iter()
            .map(|t| format!("{}={} ({})", t.tag, t.value, t.problem))
            .collect();
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_TAG_IGNORED,
                format!(
                    "{name} has {}: receivers ignore {} and apply the rest of the record \
                     ({tag}={published}).",
                    listed.join(", "),
                    if listed.len() == 1 { "it" } else { "them" }
                ),
            )
            .with_fix(format!(
                "Correct or remove the tag; without it, publish at {name}: {}",
                tidy.render()
            )),
        ));
    }

    if !historic.is_empty() {
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_HISTORIC_TAGS,
                format!(
                    "{name} uses {}, which RFC 9989 removed: receivers following it ignore \
                     them, receivers following RFC 7489 still honour them.",
                    historic
                        .iter()
                        .map(|t| format!("{t}="))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_fix(format!(
                "When you next edit the record, publish at {name}: {}",
                tidy.render()
            )),
        ));
    }

    if !reports_arrive {
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_NO_RUA,
                format!("{name} has no rua= tag, so no aggregate reports are sent."),
            )
            .with_fix(format!(
                "Add a rua tag pointing to a mailbox or report-processing service; publish at \
                 {name}: {}",
                next.render()
            ))
            .publishing(name.as_str(), "TXT", next.render()),
        ));
    }
    findings
}

/// Groups the report URIs by domain and decides which need authorization.
pub(super) fn report_destinations(
    found_at: &str,
    record: &DmarcRecord,
    notes: &mut Vec<String>,
) -> Vec<ReportDestination> {
    let own_org = psl_organizational(found_at);
    let mut destinations: Vec<ReportDestination> = Vec::new();
    let tagged = record
        .rua
        .iter()
        .map(|u| ("rua", u))
        .chain(record.ruf.iter().map(|u| ("ruf", u)));
    for (tag, uri) in tagged {
        let Some(domain) = &uri.domain else {
            notes.push(format!(
                "{tag}={}: only mailto: report addresses are checked.",
                uri.uri
            ));
            continue;
        };
        let shown = format!("{tag}={}", uri.uri);
        if let Some(d) = destinations.iter_mut().find(|d| d.domain == *domain) {
            d.uris.push(shown);
            continue;
        }
        let external = psl_organizational(domain) != own_org;
        destinations.push(ReportDestination {
            domain: domain.clone(),
            uris: vec![shown],
            status: if external {
                AuthorizationStatus::Unknown
            } else {
                AuthorizationStatus::SameOrganization
            },
            query: external.then(|| format!("{found_at}._report._dmarc.{domain}")),
        });
    }
    destinations
}

/// Asks every outside report domain for its authorization, concurrently
/// (RFC 7489 §7.1): at least one `v=DMARC1` TXT record authorizes.
pub(super) async fn authorize(resolver: &Resolver, destinations: &mut [ReportDestination]) {
    let queries = destinations.iter().map(|d| async move {
        match &d.query {
            Some(name) => Some(fetch_txt(resolver, name).await),
            None => None,
        }
    });
    let answers = join_all(queries).await;
    for (destination, answer) in destinations.iter_mut().zip(answers) {
        destination.status = match answer {
            None => AuthorizationStatus::SameOrganization,
            Some(Ok(set)) if set.texts.iter().any(|t| is_dmarc1(t)) => {
                AuthorizationStatus::Authorized
            }
            Some(Ok(_)) => AuthorizationStatus::Unauthorized,
            Some(Err(_)) => AuthorizationStatus::Unknown,
        };
    }
}

pub(super) fn authorization_findings(
    found_at: &str,
    destinations: &[ReportDestination],
) -> Vec<Finding> {
    destinations
        .iter()
        .filter(|d| d.status == AuthorizationStatus::Unauthorized)
        .filter_map(|d| {
            let query = d.query.as_ref()?;
            Some(
                Finding::new(
                    catalog::DMARC_RUA_UNAUTHORIZED,
                    format!(
                        "{} point{} to {}, another organizational domain than {found_at}, and \
                         {query} holds no v=DMARC1 record, so receivers send no reports there.",
                        d.uris.join(" and "),
                        if d.uris.len() == 1 { "s" } else { "" },
                        d.domain
                    ),
                )
                .with_fix(format!(
                    "Ask the operator of {} to publish this TXT record: {query}. IN TXT \
                     \"v=DMARC1\" (report services usually do this when you sign up), or use a \
                     report address at {found_at}.",
                    d.domain
                ))
                .with_evidence([format!("{query}. TXT: no v=DMARC1 record")]),
            )
        })
        .collect()
}

pub(super) fn missing_finding(domain: &str, apex: &[String], evidence: Vec<String>) -> Finding {
    let start = format!("v=DMARC1; p=none; rua=mailto:{REPORT_MAILBOX}@{domain}");
    let fix = match apex.first() {
        Some(stray) => format!(
            "Move the v=DMARC1 record published at {domain} itself to _dmarc.{domain}: \
             {stray} — receivers only look there. Without a record of your own, start with: \
             {start}"
        ),
        None => format!(
            "Publish a TXT record at _dmarc.{domain}: {start} — then, once aggregate reports \
             show that all your legitimate mail passes, change p=none to p=quarantine, and \
             finally to p=reject."
        ),
    };
    Finding::new(
        catalog::DMARC_MISSING,
        format!(
            "No DMARC record at _dmarc.{domain} nor at any parent domain the RFC 9989 tree \
             walk asked."
        ),
    )
    .with_fix(fix)
    .publishing(format!("_dmarc.{domain}"), "TXT", start)
    .with_evidence(evidence)
}

pub(super) fn syntax_finding(
    found_at: &str,
    text: &str,
    problems: &[SyntaxProblem],
    evidence: Vec<String>,
) -> Finding {
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let fixed = corrected(text, problems);
    Finding::new(
        catalog::DMARC_SYNTAX,
        format!(
            "The record at _dmarc.{found_at} does not parse, so receivers ignore it: {}. \
             Record: {text}",
            listed.join("; ")
        ),
    )
    .with_fix(format!("Publish at _dmarc.{found_at}: {fixed}"))
    .publishing(format!("_dmarc.{found_at}"), "TXT", fixed)
    .with_evidence(evidence)
}

/// The record with its problems corrected: tags glued together without `;`
/// separated again, a bad `p` replaced by `p=none`, other offending tags
/// dropped, and `v=DMARC1` first. When separating glued tags does not give
/// a valid record, every offending segment is handled as a whole instead.
pub(super) fn corrected(text: &str, problems: &[SyntaxProblem]) -> String {
    let attempt = |separate: bool| {
        let mut tags = WrittenTags::default();
        for (index, segment) in text.split(';').enumerate() {
            let bad = problems.iter().find(|p| p.segment == Some(index));
            let words: Vec<&str> = segment.split(WSP).filter(|w| !w.is_empty()).collect();
            let glued = separate
                && bad.is_some()
                && words.len() > 1
                && words.iter().all(|w| w.contains('='));
            let parts: Vec<(&str, &str)> = if glued {
                words.iter().filter_map(|w| w.split_once('=')).collect()
            } else {
                segment.split_once('=').into_iter().collect()
            };
            for (name, value) in parts {
                let (name, value) = (name.trim_matches(WSP), value.trim_matches(WSP));
                if name.eq_ignore_ascii_case("v") || tags.position(name).is_some() {
                    continue;
                }
                match bad.filter(|_| !glued).map(|p| p.tag.as_deref()) {
                    Some(Some("p")) => tags.set("p", "none", &[]),
                    Some(_) => {}
                    None => tags.0.push((name.to_string(), value.to_string())),
                }
            }
        }
        tags.0.insert(0, ("v".into(), "DMARC1".into()));
        if tags.position("p").is_none() {
            tags.set("p", "none", &["v"]);
        }
        tags.render()
    };
    let separated = attempt(true);
    if parse(&separated).is_ok() {
        separated
    } else {
        attempt(false)
    }
}

pub(super) fn apex_finding(
    domain: &str,
    section: &DmarcSection,
    apex: &Result<TxtSet, DnsError>,
) -> Finding {
    let evidence = match apex {
        Ok(set) => set.evidence(|t| is_dmarc1(t) || looks_like_dmarc(t)),
        Err(_) => Vec::new(),
    };
    let stray = section.apex_records.first().cloned().unwrap_or_default();
    let fix = if section.status == DmarcStatus::Ok && !section.inherited {
        format!(
            "Delete the TXT record at {domain} that starts with v=DMARC1 ({stray}); the record \
             at _dmarc.{domain} is the one receivers read."
        )
    } else {
        format!(
            "Publish the record at _dmarc.{domain} instead: {stray} — and delete the TXT \
             record at {domain} that starts with v=DMARC1."
        )
    };
    Finding::new(
        catalog::DMARC_RECORD_AT_APEX,
        format!(
            "{domain} itself publishes a v=DMARC1 TXT record; receivers only read \
             _dmarc.{domain}, so it has no effect."
        ),
    )
    .with_fix(fix)
    .with_evidence(evidence)
    .about(domain, "TXT")
}
