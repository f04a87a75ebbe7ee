use super::check::corrected;
use super::section::psl_organizational;
use crate::records::dmarc::parse;

#[test]
fn a_corrected_record_keeps_the_good_tags() {
    let text = "v=DMARC1; p=rejct; adkim=x; rua=mailto:d@example.com";
    let problems = parse(text).unwrap_err();
    assert_eq!(
        corrected(text, &problems),
        "v=DMARC1; p=none; rua=mailto:d@example.com"
    );
    let text = "p=reject; v=DMARC1; rua=mailto:d@example.com";
    let problems = parse(text).unwrap_err();
    assert_eq!(
        corrected(text, &problems),
        "v=DMARC1; p=reject; rua=mailto:d@example.com"
    );
    // Tags glued together without `;` are separated again.
    let text = "v=DMARC1 p=reject; rua=mailto:d@example.com";
    let problems = parse(text).unwrap_err();
    assert_eq!(
        corrected(text, &problems),
        "v=DMARC1; p=reject; rua=mailto:d@example.com"
    );
    let text = "v=DMARC1; p=reject sp=none";
    let problems = parse(text).unwrap_err();
    assert_eq!(corrected(text, &problems), "v=DMARC1; p=reject; sp=none");
    // Glued pieces that are still wrong: the bad tag is replaced.
    let text = "v=DMARC1; p=reject sp=nothing";
    let problems = parse(text).unwrap_err();
    assert_eq!(corrected(text, &problems), "v=DMARC1; p=none");
}

#[test]
fn the_public_suffix_list_decides_outside_domains() {
    assert_eq!(psl_organizational("mail.example.co.uk"), "example.co.uk");
    assert_eq!(psl_organizational("none.dmarc.test"), "dmarc.test");
    assert_eq!(
        psl_organizational("Dmarc-Reports.test."),
        "dmarc-reports.test"
    );
    assert_eq!(psl_organizational("co.uk"), "co.uk");
}
