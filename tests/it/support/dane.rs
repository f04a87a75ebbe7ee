//! The DANE fixture zones (fixtures/audit/dane.zone.in): a template whose
//! TLSA association data is computed when the test SMTP servers have made
//! their certificates, then signed under the test root beside the zones
//! of fixtures/dnssec ([`signed_tree`]; each zone as [`SIGNING`] says) and
//! served by the test DNS server, so mailvet validates them from the test
//! trust anchor.
//!
//! The template holds several zones, each from its `$ORIGIN` line to the
//! next.
//!
//! A placeholder ends a TLSA line and stands for a certificate: `{leaf}`
//! the DANE server's own, `{ca}` the test CA's, `{selfsigned}` the
//! self-signed server's, `{next}` and `{next2}` keys no server uses. It
//! is replaced by the record's selector and matching type applied to it.

use super::ca;
use super::signed::{Denial, Flaw, SignedTree, Signing};
use super::smtp::{Kind, TestSmtp};
use aws_lc_rs::digest;
use hickory_proto::rr::RecordType;
use mailvet::dns::zone::{self, Zone};
use mailvet::domain::transport::dane;
use rustls::pki_types::CertificateDer;

pub const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/audit/dane.zone.in");

/// The certificates the template's placeholders stand for.
fn certificates(smtp: &TestSmtp) -> Vec<(&'static str, CertificateDer<'static>)> {
    let unused = |subject| ca::self_signed(subject, &[]).chain.remove(0);
    vec![
        ("{leaf}", smtp.chain(Kind::Dane)[0].clone()),
        ("{ca}", smtp.ca_der.clone()),
        ("{selfsigned}", smtp.chain(Kind::SelfSigned)[0].clone()),
        ("{next}", unused("the next key")),
        ("{next2}", unused("another next key")),
    ]
}

/// The association data of a `selector matching` record for `cert`, hex.
pub fn association(cert: &CertificateDer<'_>, selector: u8, matching: u8) -> String {
    let selected = dane::select(cert, selector).expect("selector");
    let data = match matching {
        0 => selected,
        1 => digest::digest(&digest::SHA256, &selected).as_ref().to_vec(),
        2 => digest::digest(&digest::SHA512, &selected).as_ref().to_vec(),
        other => panic!("matching type {other}"),
    };
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// How each zone of the template is signed, by origin.
const SIGNING: &[(&str, Signing)] = &[
    ("dane.test.", Some((Denial::Nsec, None))),
    ("_tcp.insecure.mx.dane.test.", None),
    (
        "_tcp.bogus.mx.dane.test.",
        Some((Denial::Nsec, Some(Flaw::CorruptSignature(RecordType::TLSA)))),
    ),
    (
        "_tcp.indeterminate.mx.dane.test.",
        Some((Denial::Nsec, None)),
    ),
];

/// The template's zones with every placeholder replaced, for `smtp`'s
/// certificates, as zone-file text.
pub fn texts(smtp: &TestSmtp) -> Vec<String> {
    let certificates = certificates(smtp);
    let template = std::fs::read_to_string(TEMPLATE).expect("the DANE zone template");
    let mut zones: Vec<String> = vec![String::new()];
    let mut origins = 0;
    for line in template.lines() {
        if line.starts_with("$ORIGIN") {
            origins += 1;
            if origins > 1 {
                zones.push(String::new());
            }
        }
        let zone = zones.last_mut().expect("a zone");
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let placeholder = certificates
            .iter()
            .find(|(p, _)| tokens.last() == Some(p) && !line.starts_with(';'));
        let Some((placeholder, cert)) = placeholder else {
            zone.push_str(line);
            zone.push('\n');
            continue;
        };
        let at = tokens
            .iter()
            .position(|t| *t == "TLSA")
            .expect("a TLSA record");
        let number = |i: usize| tokens[at + i].parse::<u8>().expect("a TLSA field");
        let data = association(cert, number(2), number(3));
        zone.push_str(&line.replace(placeholder, &data));
        zone.push('\n');
    }
    zones
}

/// The DANE zones and those of fixtures/dnssec, signed (each DANE zone as
/// [`SIGNING`] says) under one test root.
pub fn signed_tree(smtp: &TestSmtp) -> SignedTree {
    let zones = texts(smtp)
        .iter()
        .map(|text| {
            let zone = zone::parse(text, None).unwrap_or_else(|e| panic!("DANE zone: {e}"));
            let signing = SIGNING
                .iter()
                .find(|(origin, _)| zone.origin.to_ascii() == *origin)
                .unwrap_or_else(|| panic!("no signing given for {}", zone.origin))
                .1;
            (zone, signing)
        })
        .collect::<Vec<(Zone, Signing)>>();
    SignedTree::fixtures_with(zones)
}
