//! Unit tests of the DMARC evaluation.

use super::alignment::{Decision, combine, decide, dkim_mechanism, spf_mechanism};
use super::findings::{with_tag, without_tag};
use super::policy::{choose_policy, has_tag};
use super::walk::{Found, Judged, judge};
use super::*;
use crate::records::dmarc::{Alignment, Policy};
use crate::spf::SpfResult;
use mail_auth::dns::TxtRecordParser;

fn what_if(from: &str, spf: Option<(&str, &str)>, dkim: &[(&str, &str)]) -> WhatIf {
    WhatIf {
        from_domain: from.into(),
        spf: spf.map(|(d, r)| IdentifierResult {
            domain: d.into(),
            result: r.into(),
        }),
        dkim: dkim
            .iter()
            .map(|(d, r)| IdentifierResult {
                domain: (*d).into(),
                result: (*r).into(),
            })
            .collect(),
    }
}

fn field_of(input: &WhatIf) -> String {
    Inputs::from_what_if(input).unwrap_err().field
}

#[test]
fn invalid_input_names_its_field() {
    assert_eq!(field_of(&what_if("not a domain", None, &[])), "from_domain");
    assert_eq!(field_of(&what_if("localhost", None, &[])), "from_domain");
    assert_eq!(
        field_of(&what_if("example.com", Some(("192.0.2.1", "pass")), &[])),
        "spf.domain"
    );
    assert_eq!(
        field_of(&what_if("example.com", Some(("example.com", "ok")), &[])),
        "spf.result"
    );
    assert_eq!(
        field_of(&what_if(
            "example.com",
            None,
            &[("example.com", "pass"), ("example..com", "pass")]
        )),
        "dkim[1].domain"
    );
    assert_eq!(
        field_of(&what_if("example.com", None, &[("example.com", "passed")])),
        "dkim[0].result"
    );
    // softfail is an SPF word only (RFC 8601 §2.7.1 vs §2.7.2).
    assert_eq!(
        field_of(&what_if(
            "example.com",
            None,
            &[("example.com", "softfail")]
        )),
        "dkim[0].result"
    );
    let many: Vec<(&str, &str)> = vec![("example.com", "pass"); MAX_DKIM_RESULTS + 1];
    assert_eq!(field_of(&what_if("example.com", None, &many)), "dkim");
}

#[test]
fn input_is_normalized() {
    let inputs = Inputs::from_what_if(&what_if(
        "Bücher.Example.",
        Some(("Bounce.ESP.example", "PASS")),
        &[("esp.example", "temperror")],
    ))
    .unwrap();
    assert_eq!(inputs.from.as_deref(), Some("xn--bcher-kva.example"));
    let spf = inputs.spf.unwrap();
    assert_eq!(
        (spf.domain.as_str(), spf.result),
        ("bounce.esp.example", AuthResult::Pass)
    );
    assert_eq!(inputs.dkim[0].result, AuthResult::TempError);
}

#[test]
fn the_json_body_refuses_unknown_fields() {
    let ok: WhatIf = serde_json::from_str(
        r#"{"from_domain":"example.com","spf":{"domain":"example.com","result":"pass"}}"#,
    )
    .unwrap();
    assert!(ok.dkim.is_empty());
    assert!(serde_json::from_str::<WhatIf>(r#"{"from_domain":"a.example","x":1}"#).is_err());
    assert!(
        serde_json::from_str::<WhatIf>(
            r#"{"from_domain":"a.example","dkim":[{"domain":"a.example","result":"pass","s":"x"}]}"#
        )
        .is_err()
    );
}

#[test]
fn a_message_domain_that_is_not_a_name_is_kept_but_not_walked() {
    let inputs = Inputs::from_message(
        Some("[192.0.2.1]"),
        Some(("Example.COM", SpfResult::Pass)),
        &[("bad..name", true), ("example.com", false)],
    );
    assert!(inputs.from.is_none() && inputs.from_problem.is_some());
    assert_eq!(inputs.dkim[0].domain, "bad..name");
    assert!(!inputs.dkim[0].valid);
    assert_eq!(inputs.dkim[1].result, AuthResult::Fail);
    assert_eq!(inputs.spf.unwrap().domain, "example.com");
    let none = Inputs::from_message(None, None, &[]);
    assert!(none.from.is_none());
}

// RFC 9989 §4.4.1/§4.4.2 as mail-auth decides them.
#[test]
fn alignment_rules() {
    let org = |o: &str| Ok::<String, String>(o.to_string());
    let r = Alignment::Relaxed;
    let s = Alignment::Strict;
    assert_eq!(
        decide("example.com", "example.com", "example.com", s, None),
        Decision::Aligned(AlignmentMatch::Identical)
    );
    assert_eq!(
        decide(
            "mail.example.com",
            "example.com",
            "example.com",
            r,
            Some(&org("example.com"))
        ),
        Decision::Aligned(AlignmentMatch::SameOrganization)
    );
    assert_eq!(
        decide("example.com", "mail.example.com", "example.com", s, None),
        Decision::NotAligned
    );
    // Not under the author's organizational domain: no walk needed.
    assert_eq!(
        decide("esp.example", "example.com", "example.com", r, None),
        Decision::NotAligned
    );
    assert_eq!(
        decide("xexample.com", "example.com", "example.com", r, None),
        Decision::NotAligned
    );
    // Under it, but a record with psd=n makes it its own organization.
    assert_eq!(
        decide(
            "b.example.com",
            "a.example.com",
            "example.com",
            r,
            Some(&org("b.example.com"))
        ),
        Decision::NotAligned
    );
    assert!(matches!(
        decide(
            "b.example.com",
            "example.com",
            "example.com",
            r,
            Some(&Err("SERVFAIL".into()))
        ),
        Decision::Unknown(_)
    ));
}

fn claim(domain: &str, result: AuthResult) -> Claim {
    Claim {
        domain: domain.into(),
        result,
        valid: true,
    }
}

#[test]
fn mechanisms_follow_mail_auth() {
    use AuthResult as A;
    use Decision::{Aligned, NotAligned, Unknown};
    let yes = Aligned(AlignmentMatch::Identical);
    // SPF: pass aligned, pass not aligned, temperror aligned, fail.
    let spf = |r, d: Decision| spf_mechanism(Some(&claim("a.example", r)), Some(&d)).result;
    assert_eq!(spf(A::Pass, yes.clone()), DmarcResult::Pass);
    assert_eq!(spf(A::Pass, NotAligned), DmarcResult::Fail);
    assert_eq!(spf(A::TempError, yes.clone()), DmarcResult::TempError);
    assert_eq!(spf(A::TempError, NotAligned), DmarcResult::None);
    assert_eq!(spf(A::Fail, yes.clone()), DmarcResult::None);
    assert_eq!(spf(A::Pass, Unknown("x".into())), DmarcResult::TempError);

    // DKIM: the first aligned pass wins over an earlier temperror.
    let claims = [
        claim("t.example", A::TempError),
        claim("o.example", A::Pass),
        claim("a.example", A::Pass),
    ];
    let m = dkim_mechanism(&claims, &[yes.clone(), NotAligned, yes.clone()]);
    assert_eq!(
        (m.result, m.decisive.as_deref()),
        (DmarcResult::Pass, Some("a.example"))
    );
    let m = dkim_mechanism(&claims, &[yes.clone(), NotAligned, NotAligned]);
    assert_eq!(m.result, DmarcResult::TempError);
    let m = dkim_mechanism(&claims, &[NotAligned, NotAligned, NotAligned]);
    assert_eq!(m.result, DmarcResult::Fail);
    let failing = [claim("a.example", A::Fail), claim("a.example", A::Policy)];
    assert_eq!(
        dkim_mechanism(&failing, &[yes.clone(), yes]).result,
        DmarcResult::None
    );

    assert_eq!(
        combine(DmarcResult::Fail, DmarcResult::TempError, true),
        DmarcResult::TempError
    );
    assert_eq!(
        combine(DmarcResult::Fail, DmarcResult::Pass, true),
        DmarcResult::Pass
    );
    assert_eq!(
        combine(DmarcResult::None, DmarcResult::None, true),
        DmarcResult::Fail
    );
    assert_eq!(
        combine(DmarcResult::None, DmarcResult::None, false),
        DmarcResult::None
    );
}

// RFC 9989 §4.7 and §4.10 step 2: only records starting with v=DMARC1,
// the value case-sensitive, are DMARC records; several are discarded.
#[test]
fn records_are_judged_by_rfc_9989() {
    let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches!(judge(&texts(&[])), Judged::Nothing));
    assert!(matches!(
        judge(&texts(&["v=spf1 -all", "v=DMARC1; p=reject"])),
        Judged::Record(_, t) if t == "v=DMARC1; p=reject"
    ));
    assert!(matches!(
        judge(&texts(&["v=DMARC1; p=bogus"])),
        Judged::Unparsable(_)
    ));
    assert!(matches!(judge(&texts(&["hello"])), Judged::Nothing));
    assert!(matches!(
        judge(&texts(&["v=dmarc1; p=reject"])),
        Judged::Nothing
    ));
    assert!(matches!(
        judge(&texts(&["v=DMARC1; p=reject", "v=DMARC1; p=none"])),
        Judged::Multiple(t) if t.len() == 2
    ));
    // A look-alike beside the record is not a second record.
    assert!(matches!(
        judge(&texts(&["v=dmarc1; p=none", "v=DMARC1; p=reject"])),
        Judged::Record(_, t) if t == "v=DMARC1; p=reject"
    ));
}

fn found(text: &str) -> Found {
    Found {
        domain: "example.com".into(),
        text: text.into(),
        record: mail_auth::dmarc::DmarcRecord::parse(text.as_bytes()).unwrap(),
    }
}

// RFC 9989 §4.10.1 and §4.7 (t=y).
#[test]
fn the_policy_that_applies() {
    let f = found("v=DMARC1; p=reject; sp=quarantine; np=none");
    let own = choose_policy(&f, true, None);
    assert_eq!((own.tag, own.applied), ("p", Policy::Reject));
    let sub = choose_policy(&f, false, Some(true));
    assert_eq!((sub.tag, sub.applied), ("sp", Policy::Quarantine));
    let gone = choose_policy(&f, false, Some(false));
    assert_eq!((gone.tag, gone.applied), ("np", Policy::None));
    let unknown = choose_policy(&f, false, None);
    assert_eq!(unknown.tag, "sp");
    let plain = choose_policy(&found("v=DMARC1; p=reject"), false, Some(false));
    assert_eq!((plain.tag, plain.applied), ("p", Policy::Reject));
    let testing = choose_policy(&found("v=DMARC1; p=reject; t=y"), true, None);
    assert_eq!(
        (testing.published, testing.applied),
        (Policy::Reject, Policy::Quarantine)
    );
    let no_p = choose_policy(&found("v=DMARC1; rua=mailto:d@example.com"), true, None);
    assert_eq!((no_p.tag, no_p.applied), ("p", Policy::None));
}

#[test]
fn fixes_edit_the_record() {
    assert_eq!(
        with_tag(
            "v=DMARC1; p=none; rua=mailto:d@example.com",
            "p",
            "quarantine"
        ),
        "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
    );
    assert_eq!(
        with_tag(
            "v=DMARC1; p=reject; rua=mailto:d@example.com",
            "sp",
            "quarantine"
        ),
        "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"
    );
    assert_eq!(
        without_tag("v=DMARC1; p=quarantine; t=y;", "t"),
        "v=DMARC1; p=quarantine"
    );
    assert!(has_tag("v=DMARC1; p=none; SP = reject", "sp"));
    assert!(!has_tag(
        "v=DMARC1; p=none; rua=mailto:sp=x@example.com",
        "sp"
    ));
}

#[test]
fn words_round_trip() {
    for word in [
        "pass",
        "fail",
        "softfail",
        "neutral",
        "none",
        "temperror",
        "permerror",
        "policy",
    ] {
        assert_eq!(AuthResult::parse(word).unwrap().as_str(), word);
    }
    assert_eq!(AuthResult::parse(" Pass "), Some(AuthResult::Pass));
    assert_eq!(AuthResult::parse("hardfail"), None);
    assert_eq!(AuthResult::from(SpfResult::SoftFail), AuthResult::SoftFail);
}
