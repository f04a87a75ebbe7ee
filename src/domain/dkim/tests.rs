use super::evaluate::evaluate;
use super::fetch::{FetchError, Fetched, TxtAnswer, fallback_probes, key_name, plan};
use super::findings::zone_line;
use super::*;
use crate::dns::DnsError;
use crate::findings::{Checked, Severity};
use crate::records::dkim_key::tests::{
    ED25519_RAW, ED25519_SPKI, RSA_512, RSA_1024, RSA_2048, rsa_record,
};
use crate::records::name::DomainName;

fn domain() -> DomainName {
    DomainName::parse("example.com").unwrap()
}

/// A lookup that answered with these TXT records.
fn answered(selector: &str, source: SelectorSource, records: &[&str]) -> Fetched {
    Fetched {
        selector: selector.into(),
        source,
        name: format!("{selector}._domainkey.example.com"),
        answer: Ok(TxtAnswer {
            records: records.iter().map(|r| r.as_bytes().to_vec()).collect(),
            cname_chain: Vec::new(),
            long_string: None,
            nxdomain: records.is_empty(),
            below_nxdomain: false,
        }),
    }
}

fn failed(selector: &str, source: SelectorSource) -> Fetched {
    Fetched {
        answer: Err(FetchError::Dns(DnsError::ServFail)),
        ..answered(selector, source, &[])
    }
}

/// Every planned selector answered: `hits` with records, the rest
/// NXDOMAIN.
fn audit(given: &[&str], hits: &[(&str, &[&str])]) -> Checked<DkimSection> {
    audit_with(given, &[], hits)
}

/// [`audit`] with selectors learned from DMARC reports, in the rounds
/// [`super::check`] asks: the plan, then the [`fallback_probes`].
fn audit_with(given: &[&str], learned: &[&str], hits: &[(&str, &[&str])]) -> Checked<DkimSection> {
    let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let answer_all = |round: Vec<(String, SelectorSource)>| {
        round
            .into_iter()
            .map(|(selector, source)| {
                let records = hits
                    .iter()
                    .find(|(s, _)| *s == selector)
                    .map_or(&[][..], |(_, r)| *r);
                answered(&selector, source, records)
            })
            .collect::<Vec<_>>()
    };
    let mut fetched = answer_all(plan(&domain(), &owned(given), &owned(learned)));
    let fallback = fallback_probes(&fetched);
    fetched.extend(answer_all(fallback));
    evaluate(&domain(), fetched)
}

fn codes(checked: &Checked<DkimSection>) -> Vec<&'static str> {
    checked.findings.iter().map(|f| f.code).collect()
}

// --- findings -----------------------------------------------------

#[test]
fn a_healthy_key_gives_no_finding() {
    let rsa = rsa_record("", RSA_2048);
    let checked = audit(&[], &[("selector1", &[&rsa])]);
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.status, DkimStatus::Found);
    assert_eq!(checked.section.has_usable_key(), Some(true));
    assert_eq!(
        checked.section.selectors.len(),
        1,
        "not-found probes are left out"
    );
    let ed = format!("v=DKIM1; k=ed25519; p={ED25519_RAW}");
    assert_eq!(
        codes(&audit(&[], &[("default", &[&ed])])),
        Vec::<&str>::new()
    );
    for extra in ["t=s; ", "h=sha256; ", "h=sha1:sha256; ", "n=rotated 2026; "] {
        let record = rsa_record(extra, RSA_2048);
        assert_eq!(
            codes(&audit(&[], &[("s1", &[&record])])),
            Vec::<&str>::new(),
            "{extra}"
        );
    }
}

#[test]
fn key_size_findings() {
    let short = audit(&[], &[("default", &[&rsa_record("", RSA_512)])]);
    assert_eq!(codes(&short), ["dkim.key_too_short"]);
    assert_eq!(short.findings[0].severity, Severity::Error);
    assert!(short.findings[0].detail.contains("512 bits"));
    assert!(
        short.findings[0]
            .detail
            .contains("default._domainkey.example.com")
    );
    assert!(
        short.findings[0]
            .fix
            .contains("default._domainkey.example.com. IN TXT \"v=DKIM1; p=\"")
    );
    assert_eq!(short.section.has_usable_key(), Some(false));

    let k1024 = audit(&[], &[("k1", &[&rsa_record("", RSA_1024)])]);
    assert_eq!(codes(&k1024), ["dkim.key_1024"]);
    assert_eq!(k1024.section.has_usable_key(), Some(true));
}

#[test]
fn revoked_and_invalid_keys_get_only_their_own_code() {
    let revoked = audit(&[], &[("s1", &["v=DKIM1; t=y; h=sha1; p="])]);
    assert_eq!(codes(&revoked), ["dkim.key_revoked"]);
    assert_eq!(revoked.section.status, DkimStatus::Found);
    assert_eq!(revoked.section.has_usable_key(), Some(false));

    let invalid = audit(&[], &[("s1", &["v=DKIM1; t=y; h=sha1; p=!!"])]);
    assert_eq!(codes(&invalid), ["dkim.key_invalid"]);
    assert!(
        invalid.findings[0]
            .detail
            .contains("not a base64 character")
    );
    assert_eq!(invalid.section.status, DkimStatus::Found);

    let malformed = audit(&[], &[("s1", &["v=DKIM1; k=rsa; p"])]);
    assert_eq!(codes(&malformed), ["dkim.key_invalid"]);
    assert!(malformed.section.selectors[0].keys[0].tags.is_none());

    let rotated = rsa_record("", RSA_2048);
    let both = audit(&[], &[("s1", &["v=DKIM1; p="]), ("s2", &[&rotated])]);
    assert_eq!(codes(&both), ["dkim.key_revoked"]);
    assert_eq!(both.section.has_usable_key(), Some(true));
}

#[test]
fn testing_mode_only_with_the_y_flag() {
    for (t, fires) in [
        ("y", true),
        ("s:y", true),
        (" y : s ", true),
        ("s", false),
        ("", false),
    ] {
        let record = rsa_record(&format!("t={t}; "), RSA_2048);
        let checked = audit(&[], &[("selector2", &[&record])]);
        let expected: &[&str] = if fires { &["dkim.testing_mode"] } else { &[] };
        assert_eq!(codes(&checked), expected, "t={t}");
    }
    let record = rsa_record("t=s:y; ", RSA_2048);
    let fix = &audit(&[], &[("s1", &[&record])]).findings[0].fix;
    assert!(fix.contains("\"v=DKIM1; k=rsa; t=s; p=MIIB"), "{fix}");
    let record = rsa_record("t=y; ", RSA_2048);
    let fix = &audit(&[], &[("s1", &[&record])]).findings[0].fix;
    assert!(fix.contains("\"v=DKIM1; k=rsa; p=MIIB"), "{fix}");
}

#[test]
fn sha1_only_when_sha1_is_listed_without_sha256() {
    for (h, fires) in [
        ("sha1", true),
        ("SHA1", true),
        ("sha1:other", true),
        ("sha256", false),
        ("sha1:sha256", false),
        ("sha512", false),
    ] {
        let record = rsa_record(&format!("h={h}; "), RSA_2048);
        let checked = audit(&[], &[("mail", &[&record])]);
        let expected: &[&str] = if fires { &["dkim.sha1_only"] } else { &[] };
        assert_eq!(codes(&checked), expected, "h={h}");
    }
    let record = rsa_record("h=sha1; ", RSA_2048);
    let finding = &audit(&[], &[("mail", &[&record])]).findings[0];
    assert!(
        finding.fix.contains("\"v=DKIM1; k=rsa; p=MIIB"),
        "{}",
        finding.fix
    );
    assert!(finding.detail.contains("h=sha1"));
}

#[test]
fn several_problems_on_one_key_are_each_reported() {
    let record = rsa_record("t=y; h=sha1; ", RSA_1024);
    let checked = audit(&[], &[("k1", &[&record])]);
    assert_eq!(
        codes(&checked),
        ["dkim.key_1024", "dkim.testing_mode", "dkim.sha1_only"]
    );
}

#[test]
fn invalid_key_fixes_are_computed_where_possible() {
    let spki = format!("v=DKIM1; k=ed25519; p={ED25519_SPKI}");
    let checked = audit(&[], &[("s2", &[&spki])]);
    assert_eq!(codes(&checked), ["dkim.key_invalid"]);
    let want = format!("s2._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p={ED25519_RAW}\"");
    assert!(
        checked.findings[0].fix.contains(&want),
        "{}",
        checked.findings[0].fix
    );

    // The corrected record, to copy as it is.
    let publish = &checked.findings[0].publish;
    assert_eq!(publish.len(), 1);
    assert_eq!(publish[0].name, "s2._domainkey.example.com");
    assert_eq!(publish[0].rtype, "TXT");
    assert_eq!(
        publish[0].value,
        format!("v=DKIM1; k=ed25519; p={ED25519_RAW}")
    );

    let version = format!("v=DKIM2; p={RSA_1024}");
    let fix = &audit(&[], &[("s2", &[&version])]).findings[0].fix;
    assert!(fix.contains(&format!("\"v=DKIM1; p={RSA_1024}\"")), "{fix}");
    let no_semicolon = format!("v=DKIM1 p={RSA_1024}");
    let guessed = &audit(&[], &[("s2", &[&no_semicolon])]).findings[0];
    assert!(
        guessed.fix.contains("p=<base64 public key>"),
        "{}",
        guessed.fix
    );
    assert!(
        guessed.publish.is_empty(),
        "a record with a placeholder is no record to copy"
    );

    let missing_k = format!("v=DKIM1; p={ED25519_RAW}");
    let fix = &audit(&[], &[("s2", &[&missing_k])]).findings[0].fix;
    assert!(
        fix.contains(&format!("\"v=DKIM1; k=ed25519; p={ED25519_RAW}\"")),
        "{fix}"
    );
}

#[test]
fn nothing_found_without_selectors_is_unknown() {
    let checked = audit(&[], &[]);
    assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
    assert_eq!(checked.findings[0].severity, Severity::Warning);
    assert!(
        checked.findings[0]
            .detail
            .contains("unknown rather than missing")
    );
    assert_eq!(checked.section.status, DkimStatus::Unknown);
    assert!(checked.section.summary.starts_with("unknown"));
    assert_eq!(checked.section.has_usable_key(), None);
    assert_eq!(
        checked.section.selectors_checked.len(),
        COMMON_SELECTORS.len()
    );
    assert!(checked.section.selectors.is_empty());
    assert_eq!(checked.findings[0].evidence.len(), COMMON_SELECTORS.len());
}

#[test]
fn nothing_found_at_given_selectors_is_not_found() {
    let checked = audit(&["custom2026"], &[]);
    assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
    assert_eq!(checked.section.status, DkimStatus::NotFound);
    assert!(
        checked
            .section
            .summary
            .starts_with("not found at the given selectors (custom2026)")
    );
    assert_eq!(checked.section.has_usable_key(), Some(false));
    let given = &checked.section.selectors[0];
    assert_eq!(
        (given.selector.as_str(), given.source, given.status),
        (
            "custom2026",
            SelectorSource::Given,
            SelectorStatus::NotFound
        )
    );
}

#[test]
fn a_key_at_a_given_selector_is_found() {
    let rsa = rsa_record("", RSA_2048);
    let checked = audit(&["custom2026"], &[("custom2026", &[&rsa])]);
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.selectors[0].source, SelectorSource::Given);
    assert_eq!(
        checked.section.selectors[0].status,
        SelectorStatus::KeyFound
    );
}

#[test]
fn other_txt_records_are_not_keys() {
    let checked = audit(&[], &[("google", &["v=spf1 -all"])]);
    assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
    let rsa = rsa_record("", RSA_2048);
    let checked = audit(&[], &[("google", &["v=spf1 -all", &rsa])]);
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.selectors[0].other_txt, ["v=spf1 -all"]);
    assert_eq!(checked.section.selectors[0].keys.len(), 1);
}

#[test]
fn failed_lookups_never_make_dkim_missing() {
    let domain = domain();
    let all_failed: Vec<Fetched> = plan(&domain, &[], &[])
        .into_iter()
        .map(|(s, source)| failed(&s, source))
        .collect();
    let checked = evaluate(&domain, all_failed);
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.status, DkimStatus::Unknown);
    assert!(checked.section.summary.contains("could not be checked"));
    assert_eq!(checked.section.has_usable_key(), None);
    assert!(
        checked
            .section
            .selectors
            .iter()
            .all(|s| s.status == SelectorStatus::Unknown && s.error.is_some())
    );

    // One failure among NXDOMAINs: the key may be behind it.
    let mut some_failed: Vec<Fetched> = plan(&domain, &["custom".into()], &[])
        .into_iter()
        .map(|(s, source)| answered(&s, source, &[]))
        .collect();
    some_failed[3] = failed(&some_failed[3].selector, some_failed[3].source);
    let checked = evaluate(&domain, some_failed);
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.status, DkimStatus::Unknown);
    assert_eq!(checked.section.has_usable_key(), None);

    // A failure beside a usable key does not hide the key.
    let rsa = rsa_record("", RSA_2048);
    let mut found: Vec<Fetched> = plan(&domain, &[], &[])
        .into_iter()
        .map(|(s, source)| {
            let records: &[&str] = if s == "google" { &[&rsa] } else { &[] };
            answered(&s, source, records)
        })
        .collect();
    found[5] = failed(&found[5].selector, found[5].source);
    let checked = evaluate(&domain, found);
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert_eq!(checked.section.status, DkimStatus::Found);
    assert_eq!(checked.section.has_usable_key(), Some(true));
    assert!(
        checked
            .section
            .summary
            .contains("1 selector lookup(s) failed")
    );

    // Only unusable keys and a failure: a usable key may be behind it.
    let short = rsa_record("", RSA_512);
    let mut unusable: Vec<Fetched> = plan(&domain, &[], &[])
        .into_iter()
        .map(|(s, source)| {
            let records: &[&str] = if s == "google" { &[&short] } else { &[] };
            answered(&s, source, records)
        })
        .collect();
    unusable[5] = failed(&unusable[5].selector, unusable[5].source);
    assert_eq!(evaluate(&domain, unusable).section.has_usable_key(), None);
}

#[test]
fn the_plan_asks_each_selector_once_callers_first() {
    let domain = domain();
    let given = vec![
        "Custom2026".to_string(),
        "google".into(),
        "s1._domainkey.example.com.".into(),
        "custom2026".into(),
    ];
    let plan = plan(&domain, &given, &[]);
    assert_eq!(plan[0], ("custom2026".into(), SelectorSource::Given));
    assert_eq!(plan[1], ("google".into(), SelectorSource::Given));
    assert_eq!(plan[2], ("s1".into(), SelectorSource::Given));
    assert_eq!(plan.len(), 1 + COMMON_SELECTORS.len());
    let mut names: Vec<&str> = plan.iter().map(|(s, _)| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), plan.len());
}

#[test]
fn the_common_list_holds_the_well_known_selectors_once() {
    for required in [
        "google",
        "selector1",
        "selector2",
        "k1",
        "k2",
        "k3",
        "s1",
        "s2",
        "default",
        "dkim",
        "mail",
        "smtp",
        "mandrill",
        "mxvault",
    ] {
        assert!(COMMON_SELECTORS.contains(&required), "{required}");
    }
    let mut sorted = COMMON_SELECTORS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), COMMON_SELECTORS.len());
    for s in COMMON_SELECTORS {
        assert!(key_name(s, &domain()).is_ok(), "{s}");
    }
}

#[test]
fn selectors_that_cannot_be_names_are_not_asked() {
    let domain = domain();
    for bad in [
        "",
        "a b",
        "a..b",
        "sel;ector",
        &"a".repeat(64),
        &"a.".repeat(120),
    ] {
        assert!(key_name(bad, &domain).is_err(), "{bad:?}");
    }
    let (text, name) = key_name("2026.mail-a_b", &domain).unwrap();
    assert_eq!(text, "2026.mail-a_b._domainkey.example.com");
    assert!(name.is_fqdn());

    let fetched: Vec<Fetched> = plan(&domain, &["bad selector".into()], &[])
        .into_iter()
        .map(|(s, source)| match key_name(&s, &domain) {
            Ok(_) => answered(&s, source, &[]),
            Err(reason) => Fetched {
                answer: Err(FetchError::BadSelector(reason)),
                ..answered(&s, source, &[])
            },
        })
        .collect();
    let checked = evaluate(&domain, fetched);
    assert_eq!(
        checked.section.selectors[0].status,
        SelectorStatus::InvalidName
    );
    assert!(
        !checked
            .section
            .selectors_checked
            .contains(&"bad selector".to_string())
    );
    // Nothing asked at a given selector: the answer stays "unknown".
    assert_eq!(checked.section.status, DkimStatus::Unknown);
    assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
}

#[test]
fn cname_chains_are_shown_and_cited() {
    let rsa = rsa_record("", RSA_1024);
    let fetched = Fetched {
        answer: Ok(TxtAnswer {
            records: vec![rsa.clone().into_bytes()],
            cname_chain: vec!["selector1-example-com._domainkey.tenant.example.net.".into()],
            long_string: None,
            nxdomain: false,
            below_nxdomain: false,
        }),
        ..answered("selector1", SelectorSource::Probed, &[])
    };
    let checked = evaluate(&domain(), vec![fetched]);
    assert_eq!(codes(&checked), ["dkim.key_1024"]);
    let evidence = &checked.findings[0].evidence;
    assert_eq!(
        evidence[0],
        "selector1._domainkey.example.com CNAME selector1-example-com._domainkey.tenant.example.net."
    );
    assert!(evidence[1].starts_with("selector1-example-com._domainkey.tenant.example.net. TXT"));
}

#[test]
fn zone_lines_split_at_255_bytes() {
    let record = rsa_record("", RSA_2048);
    let line = zone_line("s1._domainkey.example.com", &record);
    let strings: Vec<&str> = line
        .trim_start_matches("s1._domainkey.example.com. IN TXT ")
        .split("\" \"")
        .collect();
    assert_eq!(strings.len(), 2);
    assert_eq!(strings[0].trim_start_matches('"').len(), 255);
    assert_eq!(
        strings.concat().replace('"', ""),
        record,
        "the strings join to the record"
    );
    assert_eq!(zone_line("a.b", "x\"y"), "a.b. IN TXT \"x\\\"y\"");
}

#[test]
fn the_section_serializes_with_clear_names() {
    let rsa = rsa_record("t=y; ", RSA_2048);
    let checked = audit(&["custom2026"], &[("google", &[&rsa])]);
    let json = serde_json::to_value(&checked.section).unwrap();
    assert_eq!(json["status"], "found");
    assert_eq!(json["selectors"][0]["status"], "not_found");
    assert_eq!(json["selectors"][0]["source"], "given");
    let google = &json["selectors"][1];
    assert_eq!(google["source"], "probed");
    assert_eq!(google["keys"][0]["algorithm"], "rsa");
    assert_eq!(google["keys"][0]["bits"], 2048);
    assert_eq!(google["keys"][0]["testing"], true);
    assert_eq!(google["keys"][0]["tags"]["t"], "y");
    assert!(google["keys"][0].get("tag_list").is_none());
}

#[test]
fn selectors_from_reports_replace_the_guesses() {
    let planned = plan(
        &domain(),
        &["Given1".into()],
        &["s2026".into(), "given1".into()],
    );
    assert_eq!(
        planned,
        [
            ("given1".to_string(), SelectorSource::Given),
            ("s2026".to_string(), SelectorSource::Learned),
        ],
        "no common selector is probed once reports named some"
    );
    let key = rsa_record("", RSA_2048);
    let found = audit_with(&[], &["s2026"], &[("s2026", &[key.as_str()])]);
    assert_eq!(found.section.status, DkimStatus::Found);
    assert!(codes(&found).is_empty(), "{:?}", codes(&found));
    assert_eq!(found.section.selectors[0].source, SelectorSource::Learned);
}

#[test]
fn no_key_at_the_reported_selectors_is_not_found_rather_than_unknown() {
    let checked = audit_with(&[], &["s2026", "google"], &[]);
    assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
    assert_eq!(checked.section.status, DkimStatus::NotFound);
    let mut checked_names = vec!["s2026", "google"];
    checked_names.extend(COMMON_SELECTORS.iter().filter(|s| **s != "google"));
    assert_eq!(
        checked.section.selectors_checked, checked_names,
        "the common selectors are asked after all"
    );
    assert_eq!(checked.section.has_usable_key(), Some(false));
    let detail = &checked.findings[0].detail;
    assert!(
        detail.contains("s2026, google")
            && detail.contains("DMARC aggregate reports")
            && detail.contains(&format!(
                "nor at the {} common selectors",
                COMMON_SELECTORS.len() - 1
            )),
        "{detail}"
    );
    assert_eq!(
        checked.section.selectors.len(),
        2,
        "each learned selector is shown"
    );
}

#[test]
fn common_selectors_are_asked_after_all_when_the_learned_ones_hold_no_key() {
    let key = rsa_record("", RSA_2048);
    // A forged report named made-up selectors; the key is at a common one.
    let forged = audit_with(
        &[],
        &["made-up1", "made-up2"],
        &[("google", &[key.as_str()])],
    );
    assert_eq!(
        forged.section.status,
        DkimStatus::Found,
        "{:?}",
        codes(&forged)
    );
    assert!(codes(&forged).is_empty(), "{:?}", codes(&forged));

    let learned = [answered("s2026", SelectorSource::Learned, &[])];
    assert_eq!(fallback_probes(&learned).len(), COMMON_SELECTORS.len());
    let with_key = [answered("s2026", SelectorSource::Learned, &[key.as_str()])];
    assert!(fallback_probes(&with_key).is_empty(), "a key was found");
    let unknown = [
        answered("s2026", SelectorSource::Learned, &[]),
        failed("s2025", SelectorSource::Learned),
    ];
    assert!(fallback_probes(&unknown).is_empty(), "a lookup failed");
    let probed_already = [answered("google", SelectorSource::Probed, &[])];
    assert!(
        fallback_probes(&probed_already).is_empty(),
        "nothing learned"
    );
}
