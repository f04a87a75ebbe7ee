//! Unit tests of the ARC check.

use super::headers::{aar_prefix, instance_number};
use super::structure::canonicalization;
use mail_auth::dkim::Canonicalization;

#[test]
fn aar_must_start_with_the_instance() {
    assert_eq!(
        aar_prefix(b" i=1; lists.example.org;\r\n spf=pass\r\n"),
        Some((1, Some("lists.example.org".into())))
    );
    assert_eq!(
        aar_prefix(b" i = 2 ;example.org"),
        Some((2, Some("example.org".into())))
    );
    assert_eq!(aar_prefix(b" lists.example.org; i=1;"), None);
    assert_eq!(aar_prefix(b" i=1 lists.example.org"), None);
    assert_eq!(aar_prefix(b" i=x;"), None);
}

#[test]
fn instances_are_plain_numbers() {
    assert_eq!(instance_number("1"), Some(1));
    assert_eq!(instance_number(""), None);
    assert_eq!(instance_number("-1"), None);
    assert_eq!(instance_number("1a"), None);
}

#[test]
fn canonicalization_defaults_the_body_to_simple() {
    assert_eq!(
        canonicalization("relaxed"),
        Some((Canonicalization::Relaxed, Canonicalization::Simple))
    );
    assert_eq!(
        canonicalization("simple/relaxed"),
        Some((Canonicalization::Simple, Canonicalization::Relaxed))
    );
    assert_eq!(canonicalization("relaxed/"), None);
    assert_eq!(canonicalization("Relaxed"), None);
}
