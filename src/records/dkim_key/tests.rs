//! Tests of the key record reader, beside the RFC rule each proves.

use super::*;

// Real keys, made with openssl for these tests and the fixtures.
pub(crate) const RSA_512: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAM6JfKjFmMMkc9qHaX/IWaGzKT24kXzuRubbjcOIcNoAUvisWqzU3bT0nQBcdBhbNgloUmeFs9J1DLEhFSVJWP8CAwEAAQ==";
pub(crate) const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDPxG1LzyOA1r/bX09wBtJRs4HkG8/xEiNyEilmD/tGPhU28yAm1wl7PeVRcfhH0TJexFOamji/93GFp+mooa9/JSZ1uo5VReJqADxQt0wj0gDPi2PkaHJhJaYho+fxF4sIq/8eqtatkXxuVlkIoLXO1rE5WfUhGfGkTf7CockyNQIDAQAB";
pub(crate) const RSA_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnuj17Vt09V1vL5fWe5S4aFq3XpS4TAD8Pa2mJ6YDp8H0Z/tBYM5OTD/TDQ/U36e1WOWDGjH6MOMaibh/igXZkU+eyplPE3BqFsO5hsc4eizLwYYhNU0vEqUQ6P9SJT6/siL9Nbv0caPHAg9lgp3EMzSNbJ5+saZGdJYGnyWNvKRms0ob9bzP9279D1cXFssCSyqRr8NvuHcE9tLugK7/s8ag/fupTIJXR6vVN5DT+7ZZ7N6jEivEvJisLEs1EG8ncpUDwtTpZ+iT+hJVOhwaDxQnJtXOfgEPDZ0kz7N0im6ctcu4iCDPAm22s1ZTXh/M2bil1V3HgJXBlSyjiGRNXwIDAQAB";
pub(crate) const RSA_1024_PKCS1: &str = "MIGJAoGBAM/EbUvPI4DWv9tfT3AG0lGzgeQbz/ESI3ISKWYP+0Y+FTbzICbXCXs95VFx+EfRMl7EU5qaOL/3cYWn6aihr38lJnW6jlVF4moAPFC3TCPSAM+LY+RocmElpiGj5/EXiwir/x6q1q2RfG5WWQigtc7WsTlZ9SEZ8aRN/sKhyTI1AgMBAAE=";
pub(crate) const RSA_2048_PKCS1: &str = "MIIBCgKCAQEAnuj17Vt09V1vL5fWe5S4aFq3XpS4TAD8Pa2mJ6YDp8H0Z/tBYM5OTD/TDQ/U36e1WOWDGjH6MOMaibh/igXZkU+eyplPE3BqFsO5hsc4eizLwYYhNU0vEqUQ6P9SJT6/siL9Nbv0caPHAg9lgp3EMzSNbJ5+saZGdJYGnyWNvKRms0ob9bzP9279D1cXFssCSyqRr8NvuHcE9tLugK7/s8ag/fupTIJXR6vVN5DT+7ZZ7N6jEivEvJisLEs1EG8ncpUDwtTpZ+iT+hJVOhwaDxQnJtXOfgEPDZ0kz7N0im6ctcu4iCDPAm22s1ZTXh/M2bil1V3HgJXBlSyjiGRNXwIDAQAB";
pub(crate) const ED25519_RAW: &str = "IHXU33laJ2zpPzLtcBGHyFC+v6x+slB0NPFYq0SsCl4=";
pub(crate) const ED25519_SPKI: &str =
    "MCowBQYDK2VwAyEAIHXU33laJ2zpPzLtcBGHyFC+v6x+slB0NPFYq0SsCl4=";

pub(crate) fn key(record: &str) -> KeyRecord {
    read_key_record(record)
}

fn der(b64: &str) -> Vec<u8> {
    decode_base64(b64).unwrap()
}

pub(crate) fn rsa_record(extra: &str, b64: &str) -> String {
    format!("v=DKIM1; k=rsa; {extra}p={b64}")
}

// --- base64 -------------------------------------------------------

#[test]
fn base64_decodes_padded_unpadded_and_folded_text() {
    assert_eq!(decode_base64("").unwrap(), b"");
    assert_eq!(decode_base64("Zg==").unwrap(), b"f");
    assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
    assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
    assert_eq!(decode_base64("Zm9vYg").unwrap(), b"foob");
    assert_eq!(decode_base64("Zm9v\r\n YmFy").unwrap(), b"foobar");
    assert_eq!(decode_base64("Zm9vYg =\t=").unwrap(), b"foob");
}

#[test]
fn base64_rejects_what_no_encoder_writes() {
    assert_eq!(
        decode_base64("Zm9v!"),
        Err(Base64Error::BadCharacter {
            character: '!',
            position: 5
        })
    );
    assert_eq!(
        decode_base64("Zg==Zg=="),
        Err(Base64Error::DataAfterPadding)
    );
    assert_eq!(decode_base64("Zm9vY"), Err(Base64Error::Length(5)));
    assert_eq!(decode_base64("Zg="), Err(Base64Error::Length(3)));
    assert_eq!(decode_base64("Zg==="), Err(Base64Error::Length(5)));
    assert!(
        decode_base64("Zm9v-_").is_err(),
        "base64url is not DKIM's alphabet"
    );
}

#[test]
fn base64_encoding_round_trips() {
    for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\xfe"] {
        assert_eq!(decode_base64(&encode_base64(input)).unwrap(), input);
    }
    assert_eq!(encode_base64(b"fo"), "Zm8=");
    assert_eq!(encode_base64(&der(ED25519_RAW)), ED25519_RAW);
}

// --- DER ----------------------------------------------------------

#[test]
fn rsa_key_sizes_from_subject_public_key_info() {
    assert_eq!(rsa_modulus_bits(&der(RSA_512)), Ok(512));
    assert_eq!(rsa_modulus_bits(&der(RSA_1024)), Ok(1024));
    assert_eq!(rsa_modulus_bits(&der(RSA_2048)), Ok(2048));
}

#[test]
fn rsa_key_sizes_from_bare_pkcs1() {
    assert_eq!(rsa_modulus_bits(&der(RSA_1024_PKCS1)), Ok(1024));
    assert_eq!(rsa_modulus_bits(&der(RSA_2048_PKCS1)), Ok(2048));
}

#[test]
fn modulus_length_ignores_the_sign_byte_only() {
    // The leading zero of 00 80 01 is the sign; 80 01 is 16 bits.
    let bare = [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x03];
    assert_eq!(rsa_modulus_bits(&bare), Ok(16));
    let small_top = [0x30, 0x07, 0x02, 0x02, 0x01, 0x01, 0x02, 0x01, 0x03];
    assert_eq!(rsa_modulus_bits(&small_top), Ok(9));
}

#[test]
fn malformed_rsa_keys_are_errors_not_panics() {
    let full = der(RSA_2048);
    for cut in [0, 1, 2, 4, 30, 100, full.len() - 1] {
        assert!(rsa_modulus_bits(&full[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = full.clone();
    trailing.push(0);
    assert_eq!(rsa_modulus_bits(&trailing), Err(DerError::TrailingData(1)));
    let negative = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03];
    assert_eq!(
        rsa_modulus_bits(&negative),
        Err(DerError::NotPositive("modulus"))
    );
    let zero = [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03];
    assert_eq!(
        rsa_modulus_bits(&zero),
        Err(DerError::NotPositive("modulus"))
    );
    let zero_exponent = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x00];
    assert_eq!(
        rsa_modulus_bits(&zero_exponent),
        Err(DerError::NotPositive("public exponent"))
    );
    let indefinite = [0x30, 0x80, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00, 0x00];
    assert_eq!(rsa_modulus_bits(&indefinite), Err(DerError::BadLength));
    let huge_length = [0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00];
    assert_eq!(rsa_modulus_bits(&huge_length), Err(DerError::BadLength));
    assert!(matches!(
        rsa_modulus_bits(&[0x04, 0x00]),
        Err(DerError::UnexpectedTag { found: 0x04, .. })
    ));
    let mut unused = full.clone();
    unused[23] = 1; // the BIT STRING's unused-bits octet
    assert_eq!(rsa_modulus_bits(&unused), Err(DerError::UnusedBits));
}

#[test]
fn spki_of_another_algorithm_is_named() {
    let err = rsa_modulus_bits(&der(ED25519_SPKI)).unwrap_err();
    assert!(err.to_string().contains("Ed25519"), "{err}");
    // An EC P-256 SPKI header (the point does not matter here).
    let mut ec = vec![
        0x30, 0x11, 0x30, 0x0b, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x05, 0x00,
        0x03, 0x02, 0x00, 0x04,
    ];
    assert!(matches!(rsa_modulus_bits(&ec), Err(DerError::NotRsa(n)) if n.contains("ECDSA")));
    ec[12] = 0x02; // 1.2.840.10045.2.2, no algorithm we name
    assert!(
        matches!(rsa_modulus_bits(&ec), Err(DerError::NotRsa(n)) if n.contains("1.2.840.10045.2.2"))
    );
}

// --- tag-list -----------------------------------------------------

#[test]
fn tag_lists_parse_with_folding_whitespace_and_empty_specs() {
    let tags = parse_tag_list(" v = DKIM1 ;\r\n\tk=rsa;; p=ab cd ; ").unwrap();
    let pairs: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.name.as_str(), t.value.as_str()))
        .collect();
    assert_eq!(pairs, [("v", "DKIM1"), ("k", "rsa"), ("p", "ab cd")]);
    assert_eq!(parse_tag_list("").unwrap(), []);
    let unknown = parse_tag_list("x_1=anything; p=").unwrap();
    assert_eq!(unknown.len(), 2);
}

#[test]
fn malformed_tag_lists_are_errors() {
    for (record, says) in [
        ("v=DKIM1; k=rsa; p", "not a tag=value"),
        ("v=DKIM1; rsa", "not a tag=value"),
        ("v=DKIM1; 1k=rsa; p=", "not a tag name"),
        ("v=DKIM1; k-x=rsa; p=", "not a tag name"),
        ("v=DKIM1; =rsa; p=", "not a tag name"),
        ("v=DKIM1; p=; p=abc", "appears twice"),
    ] {
        let err = parse_tag_list(record).unwrap_err();
        assert!(err.contains(says), "{record}: {err}");
    }
}

#[test]
fn only_key_records_count_as_keys() {
    for yes in [
        "v=DKIM1; p=",
        "v=DKIM2; p=abc",
        "v=dkim1 p=abc",
        "p=abc",
        "k=rsa; t=y",
        "x=1; p=",
    ] {
        assert!(is_key_record(yes), "{yes}");
    }
    for no in [
        "v=spf1 include:_spf.google.com ~all",
        "v=DMARC1; p=reject",
        "google-site-verification=abc",
        "hello world",
        "",
    ] {
        assert!(!is_key_record(no), "{no}");
    }
}

// --- key records --------------------------------------------------

#[test]
fn valid_rsa_and_ed25519_keys() {
    let rsa = key(&rsa_record("", RSA_2048));
    assert_eq!(
        (rsa.status, rsa.algorithm, rsa.bits, rsa.usable),
        (KeyStatus::Valid, Some(KeyAlgorithm::Rsa), Some(2048), true)
    );
    assert_eq!(rsa.tags.as_ref().unwrap().k.as_deref(), Some("rsa"));
    assert_eq!(rsa.tags.as_ref().unwrap().p.as_deref(), Some(RSA_2048));
    assert_eq!(rsa.problem, None);

    let no_k_no_v = key(&format!("p={RSA_2048_PKCS1}"));
    assert_eq!(
        (no_k_no_v.status, no_k_no_v.bits),
        (KeyStatus::Valid, Some(2048))
    );

    let upper_k = key(&format!("v=DKIM1; k=RSA; p={RSA_1024}"));
    assert_eq!(upper_k.bits, Some(1024));

    let ed = key(&format!("v=DKIM1; k=ed25519; p={ED25519_RAW}"));
    assert_eq!(
        (ed.status, ed.algorithm, ed.bits, ed.usable),
        (
            KeyStatus::Valid,
            Some(KeyAlgorithm::Ed25519),
            Some(256),
            true
        )
    );

    let (head, tail) = RSA_2048.split_at(150);
    let folded = key(&format!("v=DKIM1; k=rsa; p={head}\r\n {tail}"));
    assert_eq!(folded.bits, Some(2048));
}

#[test]
fn revoked_keys() {
    for record in [
        "v=DKIM1; p=",
        "v=DKIM1; k=rsa; p= ;",
        "p=",
        "v=DKIM1; k=dsa; p=",
    ] {
        let k = key(record);
        assert_eq!(k.status, KeyStatus::Revoked, "{record}");
        assert!(!k.usable);
    }
}

#[test]
fn invalid_keys_say_why() {
    let cases: Vec<(String, &str)> = vec![
        (
            "v=DKIM1; k=rsa; p=not-base64!".into(),
            "not a base64 character",
        ),
        (
            format!("v=DKIM1; k=rsa; p={}", &RSA_2048[..200]),
            "ends early",
        ),
        (
            format!("v=DKIM1; k=rsa; p={}", &RSA_2048[..201]),
            "cannot encode whole bytes",
        ),
        (
            format!("v=DKIM1; k=dsa; p={RSA_1024}"),
            "k=dsa is not a DKIM key type",
        ),
        (format!("v=DKIM2; p={RSA_1024}"), "v=DKIM2"),
        (format!("v=dkim1; p={RSA_1024}"), "exactly DKIM1"),
        (format!("v=DKIM1 p={RSA_1024}"), "exactly DKIM1"),
        ("v=DKIM1; k=rsa".into(), "no p= tag"),
        (
            format!("v=DKIM1; k=ed25519; p={RSA_1024}"),
            "decodes to 162 bytes",
        ),
        (
            format!("v=DKIM1; k=ed25519; p={ED25519_SPKI}"),
            "SubjectPublicKeyInfo",
        ),
        (
            format!("v=DKIM1; p={ED25519_RAW}"),
            "k=ed25519 seems to be missing",
        ),
        (format!("v=DKIM1; k=rsa; p={ED25519_SPKI}"), "Ed25519"),
        (
            format!("v=DKIM1; p={RSA_1024}; p={RSA_1024}"),
            "appears twice",
        ),
    ];
    for (record, says) in cases {
        let k = key(&record);
        assert_eq!(k.status, KeyStatus::Invalid, "{record}");
        assert!(!k.usable);
        let problem = k.problem.unwrap();
        assert!(problem.contains(says), "{record}: {problem}");
    }
}

#[test]
fn usable_needs_size_sha256_and_the_email_service() {
    assert!(!key(&rsa_record("", RSA_512)).usable);
    assert!(key(&rsa_record("", RSA_1024)).usable);
    assert!(key(&rsa_record("t=y; ", RSA_2048)).usable);
    assert!(key(&rsa_record("h=sha256; ", RSA_2048)).usable);
    assert!(key(&rsa_record("h=sha1:sha256; ", RSA_2048)).usable);
    assert!(!key(&rsa_record("h=sha1; ", RSA_2048)).usable);
    assert!(key(&rsa_record("s=email; ", RSA_2048)).usable);
    assert!(key(&rsa_record("s=*; ", RSA_2048)).usable);
    assert!(key(&rsa_record("h=; s=; ", RSA_2048)).usable);
    let other = key(&rsa_record("s=other; ", RSA_2048));
    assert!(!other.usable);
    assert!(other.problem.unwrap().contains("s="));
}
