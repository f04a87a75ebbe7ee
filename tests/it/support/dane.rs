//! The DANE fixture zone (fixtures/audit/dane.zone.in): a template whose
//! TLSA association data is computed when the test SMTP servers have made
//! their certificates, then served by the test DNS server beside the
//! other fixture zones.
//!
//! A placeholder ends a TLSA line and stands for a certificate: `{leaf}`
//! the DANE server's own, `{ca}` the test CA's, `{selfsigned}` the
//! self-signed server's, `{next}` and `{next2}` keys no server uses. It
//! is replaced by the record's selector and matching type applied to it.

use super::ca;
use super::smtp::{Kind, TestSmtp};
use aws_lc_rs::digest;
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

/// The fixture zone with every placeholder replaced, for `smtp`'s
/// certificates.
pub fn zone(smtp: &TestSmtp) -> String {
    let certificates = certificates(smtp);
    let template = std::fs::read_to_string(TEMPLATE).expect("the DANE zone template");
    let mut zone = String::new();
    for line in template.lines() {
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
    zone
}
