//! The findings about the keys found, with computed fixes: the record to
//! publish instead, cut into 255-byte strings (RFC 1035 §3.3.14).

use super::{COMMON_SELECTORS, SelectorReport};
use crate::dns::MAX_CHARACTER_STRING;
use crate::findings::{Code, Finding, catalog};
use crate::records::dkim_key::{
    KeyAlgorithm, KeyProblem, KeyRecord, KeyStatus, Tag, encode_base64, flag_list, is_fws,
};
use crate::records::name::DomainName;

pub(super) fn key_findings(selector: &SelectorReport) -> Vec<Finding> {
    let mut findings = Vec::new();
    let name = &selector.name;
    for (index, key) in selector.keys.iter().enumerate() {
        let mut evidence: Vec<String> = Vec::new();
        let mut owner = name.as_str();
        for target in &selector.cname_chain {
            evidence.push(format!("{owner} CNAME {target}"));
            owner = target;
        }
        evidence.push(format!("{owner} TXT \"{}\"", key.record));
        let finding = |code: Code, detail: String, fix: String| {
            Finding::new(code, detail)
                .with_fix(fix)
                .with_evidence(evidence.clone())
                .about(name.as_str(), "TXT")
        };
        // The answer's strings are not kept per record: said once, of the
        // first key.
        if let (0, Some(long)) = (index, selector.long_string) {
            findings.push(
                finding(
                    catalog::DKIM_STRING_TOO_LONG,
                    format!(
                        "the key record at {name} has a character-string of {long} bytes; DNS \
                         allows at most {MAX_CHARACTER_STRING}"
                    ),
                    format!(
                        "Publish the same record as quoted strings of at most \
                         {MAX_CHARACTER_STRING} bytes inside one TXT record; receivers join \
                         them: {}",
                        zone_line(name, &key.record)
                    ),
                )
                .publishing(name.as_str(), "TXT", key.record.clone()),
            );
        }
        match key.status {
            KeyStatus::Revoked => findings.push(finding(
                catalog::DKIM_KEY_REVOKED,
                format!(
                    "{name} publishes an empty p=, so its key is revoked: \"{}\"",
                    key.record
                ),
                format!(
                    "No change is needed if selector {} is retired. If a service still signs \
                     with it, publish that service's current public key at {name}, or move the \
                     service to a selector that has one.",
                    selector.selector
                ),
            )),
            KeyStatus::Invalid => {
                let problem = key.problem.clone().unwrap_or_default();
                let (fix, record) = invalid_key_fix(selector, key);
                let mut invalid = finding(
                    catalog::DKIM_KEY_INVALID,
                    format!("the key record at {name} is unusable: {problem}"),
                    fix,
                );
                if let Some(record) = record {
                    invalid = invalid.publishing(name.as_str(), "TXT", record);
                }
                findings.push(invalid);
            }
            KeyStatus::Valid => {
                let rsa_bits = key
                    .bits
                    .filter(|_| key.algorithm == Some(KeyAlgorithm::Rsa));
                if let Some(bits) = rsa_bits
                    && bits <= 1024
                {
                    let (code, detail) = if bits < 1024 {
                        (
                            catalog::DKIM_KEY_TOO_SHORT,
                            format!(
                                "the RSA key at {name} is {bits} bits; receivers must not accept \
                                 keys shorter than 1024 bits (RFC 8301 §3.2)"
                            ),
                        )
                    } else {
                        (
                            catalog::DKIM_KEY_1024,
                            format!(
                                "the RSA key at {name} is 1024 bits, the minimum; 2048 is \
                                 recommended"
                            ),
                        )
                    };
                    findings.push(finding(code, detail, rotate_fix(selector)));
                }
                let tags = key.tags.clone().unwrap_or_default();
                if key.testing {
                    let rest: Vec<&str> = flag_list(tags.t.as_deref())
                        .filter(|f| !f.eq_ignore_ascii_case("y"))
                        .collect();
                    let record = rewrite(
                        &key.tag_list,
                        "t",
                        (!rest.is_empty()).then(|| rest.join(":")),
                    );
                    findings.push(
                        finding(
                            catalog::DKIM_TESTING_MODE,
                            format!(
                                "the key at {name} has t={}: the y flag says DKIM is only being \
                             tested",
                                tags.t.clone().unwrap_or_default()
                            ),
                            format!(
                                "Once signing works, publish the record without the y flag: {}",
                                zone_line(name, &record)
                            ),
                        )
                        .publishing(name.as_str(), "TXT", record),
                    );
                }
                let hashes: Vec<&str> = flag_list(tags.h.as_deref()).collect();
                let lists = |want: &str| hashes.iter().any(|h| h.eq_ignore_ascii_case(want));
                if lists("sha1") && !lists("sha256") {
                    let record = rewrite(&key.tag_list, "h", None);
                    findings.push(
                        finding(
                            catalog::DKIM_SHA1_ONLY,
                            format!(
                                "the key at {name} has h={}: it allows SHA-1 signatures and not \
                             SHA-256",
                                tags.h.clone().unwrap_or_default()
                            ),
                            format!(
                                "Publish the record without h= (any hash is then allowed) and make \
                             sure the service signs with rsa-sha256: {}",
                                zone_line(name, &record)
                            ),
                        )
                        .publishing(name.as_str(), "TXT", record),
                    );
                }
            }
        }
    }
    findings
}

pub(super) fn rotate_fix(selector: &SelectorReport) -> String {
    let domain = selector
        .name
        .split_once("._domainkey.")
        .map_or(selector.name.as_str(), |(_, d)| d);
    format!(
        "Generate a 2048-bit RSA key pair and publish its public key at a new selector: \
         <new selector>._domainkey.{domain}. IN TXT \"v=DKIM1; k=rsa; p=<2048-bit public key>\" \
         (split into quoted strings of at most 255 characters). Switch signing to the new \
         selector; once mail signed with the old key has been delivered, revoke it: {}",
        zone_line(&selector.name, "v=DKIM1; p=")
    )
}

/// The fix of an invalid key, and the corrected record when it can be
/// worked out from the one published.
pub(super) fn invalid_key_fix(
    selector: &SelectorReport,
    key: &KeyRecord,
) -> (String, Option<String>) {
    let name = &selector.name;
    let publish = |record: String| {
        (
            format!("Publish: {}", zone_line(name, &record)),
            Some(record),
        )
    };
    match &key.invalid {
        Some(KeyProblem::Ed25519Spki(raw)) => {
            publish(rewrite(&key.tag_list, "p", Some(encode_base64(raw))))
        }
        // When v= swallowed the next tags (a `;` missing), setting it right
        // would drop them; the generic advice below fits that case.
        Some(KeyProblem::Version(_)) if key.tags.as_ref().is_some_and(|t| t.p.is_some()) => {
            publish(rewrite(&key.tag_list, "v", Some("DKIM1".to_string())))
        }
        Some(KeyProblem::RsaLooksEd25519) => {
            publish(rewrite(&key.tag_list, "k", Some("ed25519".to_string())))
        }
        Some(KeyProblem::KeyType(_)) => (
            format!(
                "Set k= to the type of the key: k=rsa (or leave k= out) for an RSA key, \
             k=ed25519 for an Ed25519 key, e.g. {}",
                zone_line(name, "v=DKIM1; k=rsa; p=<base64 public key>")
            ),
            None,
        ),
        _ => {
            let k = key
                .tags
                .as_ref()
                .and_then(|t| t.k.clone())
                .unwrap_or_else(|| "rsa".into());
            let fix = format!(
                "Copy the public key again from the service that signs with selector {} and \
                 publish it in full: {}. Split a long key into several quoted strings inside \
                 one TXT record rather than shortening it.",
                selector.selector,
                zone_line(name, &format!("v=DKIM1; k={k}; p=<base64 public key>"))
            );
            (fix, None)
        }
    }
}

pub(super) fn no_selector_found(
    domain: &DomainName,
    given: &[&str],
    learned: &[&str],
    probed: usize,
    evidence: Vec<String>,
) -> Finding {
    let detail = if !learned.is_empty() {
        format!(
            "no DKIM key record at the selector(s) {} that {domain}'s DMARC aggregate \
             reports show signing its mail{}{}",
            learned.join(", "),
            if given.is_empty() {
                String::new()
            } else {
                format!(", nor at the given selector(s) {}", given.join(", "))
            },
            if probed == 0 {
                String::new()
            } else {
                format!(", nor at the {probed} common selectors")
            }
        )
    } else if given.is_empty() {
        format!(
            "no DKIM key record at the {probed} common selectors of {domain} ({}); no selector \
             was given, so DKIM is unknown rather than missing",
            COMMON_SELECTORS.join(", ")
        )
    } else {
        format!(
            "no DKIM key record at the given selector(s) {} of {domain}, nor at the {probed} \
             common selectors",
            given.join(", ")
        )
    };
    Finding::new(catalog::DKIM_NO_SELECTOR_FOUND, detail)
        .with_fix(format!(
            "Find the selector in the s= tag of the DKIM-Signature header of a message you \
             sent (or in your provider's settings) and check again with it. If your mail is \
             not signed yet, enable DKIM at each sending service and publish the record it \
             gives you: <selector>._domainkey.{domain}. IN TXT \"v=DKIM1; k=rsa; p=<public key>\""
        ))
        .with_evidence(evidence)
}

/// The record with one tag set to a new value (added after `v=` when
/// absent) or removed, the other tags as published.
pub(super) fn rewrite(tags: &[Tag], name: &str, value: Option<String>) -> String {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut placed = false;
    for tag in tags {
        if tag.name == name {
            if let Some(v) = &value {
                out.push((tag.name.clone(), v.clone()));
            }
            placed = true;
        } else if tag.name == "p" {
            // Folding whitespace inside the key is legal but needless.
            out.push((tag.name.clone(), tag.value.split(is_fws).collect()));
        } else {
            out.push((tag.name.clone(), tag.value.clone()));
        }
    }
    if !placed && let Some(v) = value {
        let at = usize::from(out.first().is_some_and(|(n, _)| n == "v"));
        out.insert(at, (name.to_string(), v));
    }
    out.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A TXT record as a zone-file line, its text cut into quoted strings of at
/// most 255 bytes (RFC 1035 §3.3.14), the way it must be published.
pub(super) fn zone_line(owner: &str, text: &str) -> String {
    let mut strings: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if current.len() + c.len_utf8() > MAX_CHARACTER_STRING {
            strings.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    strings.push(current);
    let quoted: Vec<String> = strings
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{owner}. IN TXT {}", quoted.join(" "))
}
