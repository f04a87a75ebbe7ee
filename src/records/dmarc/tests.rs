//! Tests of the DMARC record parser and discovery rules, beside the RFC
//! rule each proves.

use super::*;

fn ok(text: &str) -> DmarcRecord {
    parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
}

fn bad_tags(text: &str) -> Vec<Option<String>> {
    parse(text)
        .expect_err(text)
        .into_iter()
        .map(|p| p.tag)
        .collect()
}

// RFC 9989 §4.7: v is first and exactly DMARC1; the "v" *WSP "=" *WSP
// allows spaces around "=".
#[test]
fn version_is_first_exact_and_case_sensitive() {
    assert!(is_dmarc1("v=DMARC1; p=none"));
    assert!(is_dmarc1("v=DMARC1"));
    assert!(is_dmarc1("v = DMARC1 ;p=none"));
    assert!(is_dmarc1("V=DMARC1; p=none"));
    assert!(!is_dmarc1("v=dmarc1; p=none"));
    assert!(!is_dmarc1("v=DMARC1x; p=none"));
    assert!(!is_dmarc1(" v=DMARC1; p=none"));
    assert!(!is_dmarc1("p=none; v=DMARC1"));
    assert!(looks_like_dmarc("p=none; v=DMARC1"));
    assert!(looks_like_dmarc("v=dmarc1; p=none"));
    assert!(!looks_like_dmarc("google-site-verification=abc"));
    assert!(!looks_like_dmarc("v=spf1 -all"));
    assert_eq!(bad_tags("v=dmarc1; p=none"), [Some("v".to_string())]);
    assert_eq!(
        bad_tags("p=none; v=DMARC1"),
        [Some("v".into()), Some("v".into())]
    );
    assert_eq!(bad_tags("v=DMARC1 p=reject"), [Some("v".to_string())]);
}

#[test]
fn every_tag_is_read() {
    let r = ok(
        "v=DMARC1; p=Reject; sp=quarantine; np=none; adkim=s; aspf=r; fo=1:d; \
                rua=mailto:a@example.com, mailto:b@reports.example!10m; \
                ruf=mailto:f@example.com; psd=n; t=y; pct=50; ri=3600; rf=afrf; x_new=1;",
    );
    assert_eq!(
        (r.p, r.sp, r.np),
        (
            Some(Policy::Reject),
            Some(Policy::Quarantine),
            Some(Policy::None)
        )
    );
    assert_eq!(
        (r.adkim, r.aspf),
        (Some(Alignment::Strict), Some(Alignment::Relaxed))
    );
    assert_eq!(r.fo, ["1", "d"]);
    assert_eq!(r.rua.len(), 2);
    assert_eq!(r.rua[1].domain.as_deref(), Some("reports.example"));
    assert_eq!(r.rua[1].size_limit.as_deref(), Some("10m"));
    assert_eq!(r.rua[1].uri, "mailto:b@reports.example");
    assert_eq!(
        (r.psd, r.t, r.pct, r.ri),
        (Some(Psd::No), Some(true), Some(50), Some(3600))
    );
    assert_eq!(r.rf, ["afrf"]);
    assert_eq!(r.unknown_tags, ["x_new"]);
}

#[test]
fn unknown_tags_are_listed_not_errors() {
    let r = ok("v=DMARC1; p=none; foo=bar; future_tag=x");
    assert_eq!(r.unknown_tags, ["foo", "future_tag"]);
}

// RFC 9989 §4.7: p may be absent (read as none); an invalid value is an
// error that names the tag.
#[test]
fn bad_values_name_their_tag() {
    assert_eq!(ok("v=DMARC1").p, None);
    assert_eq!(bad_tags("v=DMARC1; p=maybe"), [Some("p".to_string())]);
    assert_eq!(
        bad_tags("v=DMARC1; p=none; sp=strict"),
        [Some("sp".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=none; adkim=x"),
        [Some("adkim".to_string())]
    );
    assert_eq!(bad_tags("v=DMARC1; p=none; fo=2"), [Some("fo".to_string())]);
    assert_eq!(
        bad_tags("v=DMARC1; p=none; t=maybe"),
        [Some("t".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=none; psd=x"),
        [Some("psd".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=none; rua=dmarc@example.com"),
        [Some("rua".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=none; rua=mailto:nobody"),
        [Some("rua".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=none; rua="),
        [Some("rua".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=none; p=reject"),
        [Some("p".to_string())]
    );
    assert_eq!(
        bad_tags("v=DMARC1; p=reject sp=none"),
        [Some("p".to_string())]
    );
    assert_eq!(bad_tags("v=DMARC1; p=none; junk"), [None]);
}

// RFC 9989 §4.10 steps 3-7: at most eight queries in all.
#[test]
fn the_walk_cuts_long_names_to_seven_labels() {
    assert_eq!(walk_parents("mail.example.com"), ["example.com", "com"]);
    assert_eq!(walk_parents("example.com"), ["com"]);
    let long = "a.b.c.d.e.f.g.h.i.j.k.example.com";
    assert_eq!(
        walk_parents(long),
        [
            "g.h.i.j.k.example.com",
            "h.i.j.k.example.com",
            "i.j.k.example.com",
            "j.k.example.com",
            "k.example.com",
            "example.com",
            "com"
        ]
    );
    // Seven labels: no cut, six parents, seven queries in all.
    assert_eq!(walk_parents("a.b.c.d.e.example.com").len(), 6);
    assert_eq!(walk_parents("a.b.c.d.e.f.example.com").len(), 7);
}

// RFC 9989 §4.10.2 and its examples in Appendix B.4.
#[test]
fn organizational_domain_follows_psd() {
    let walk = |steps: &[(&str, Psd)]| -> Vec<(String, Psd)> {
        steps.iter().map(|(n, p)| (n.to_string(), *p)).collect()
    };
    let plain = walk(&[
        ("b.example.com", Psd::Unspecified),
        ("example.com", Psd::Unspecified),
    ]);
    assert_eq!(
        organizational_domain(&plain, "a.b.example.com"),
        "example.com"
    );
    let psd_n = walk(&[("b.example.com", Psd::No)]);
    assert_eq!(
        organizational_domain(&psd_n, "a.b.example.com"),
        "b.example.com"
    );
    let psd_y = walk(&[
        ("giant.bank.example", Psd::Unspecified),
        ("bank.example", Psd::Yes),
    ]);
    assert_eq!(
        organizational_domain(&psd_y, "mail.giant.bank.example"),
        "giant.bank.example"
    );
    let only_psd = walk(&[("bank.example", Psd::Yes)]);
    assert_eq!(
        organizational_domain(&only_psd, "x.y.bank.example"),
        "y.bank.example"
    );
    // A walk that starts at a psd=y name: that name is its own.
    let own = walk(&[("bank.example", Psd::Yes)]);
    assert_eq!(organizational_domain(&own, "bank.example"), "bank.example");
    assert_eq!(organizational_domain(&[], "a.example.com"), "a.example.com");
}

#[test]
fn tag_lists_edit_in_place() {
    let mut t = ok("v=DMARC1; p=none; rua=mailto:a@example.com").written;
    t.set("p", "quarantine", &["v"]);
    t.set("sp", "reject", &["v", "p"]);
    assert_eq!(
        t.render(),
        "v=DMARC1; p=quarantine; sp=reject; rua=mailto:a@example.com"
    );
    t.remove("sp");
    t.set("pct", "100", &[]);
    assert_eq!(
        t.render(),
        "v=DMARC1; p=quarantine; rua=mailto:a@example.com; pct=100"
    );
}

#[test]
fn t_y_applies_one_step_less() {
    assert_eq!(Policy::Reject.one_step_less(), Policy::Quarantine);
    assert_eq!(Policy::Quarantine.one_step_less(), Policy::None);
    assert_eq!(Policy::None.one_step_less(), Policy::None);
}

// RFC 7489 §6.3: a tag other than v and p with an invalid value is ignored
// and the rest of the record applies; RFC 9989 removed pct, ri and rf, so
// no receiver voids a record for them.
#[test]
fn an_invalid_historic_tag_is_ignored_and_the_record_stands() {
    for (text, tag) in [
        ("v=DMARC1; p=reject; pct=150", "pct"),
        ("v=DMARC1; p=reject; pct=-1", "pct"),
        ("v=DMARC1; p=reject; pct=abc", "pct"),
        ("v=DMARC1; p=reject; pct=", "pct"),
        ("v=DMARC1; p=reject; ri=abc", "ri"),
        ("v=DMARC1; p=reject; rf=afrf:%%", "rf"),
    ] {
        let record = ok(text);
        assert_eq!(record.p, Some(Policy::Reject), "{text}");
        assert_eq!((record.pct, record.ri), (None, None), "{text}");
        assert!(record.rf.is_empty(), "{text}");
        let ignored: Vec<&str> = record.ignored_tags.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(ignored, [tag], "{text}");
    }
    // The other tags stay strict: an RFC 9989 receiver may void the record.
    assert_eq!(
        bad_tags("v=DMARC1; p=none; adkim=x"),
        [Some("adkim".to_string())]
    );
}
