//! The class of each record: how its messages stood with DMARC, and what
//! that usually means (RFC 7489 §3.1 identifier alignment, §4.2 the
//! DMARC result; RFC 9989 §4.4).
//!
//! The reporter's `policy_evaluated` says which mechanism passed *aligned*;
//! the raw `auth_results` say what passed at all. Together:
//!
//! | class | DMARC | what it means |
//! |---|---|---|
//! | `aligned` | pass | DKIM and SPF both pass aligned |
//! | `dkim_only` | pass | DKIM aligned, SPF not: usually forwarding (or a service's own MAIL FROM) — harmless under DMARC |
//! | `spf_only` | pass | SPF aligned, no aligned DKIM: passes, but forwarding will break it |
//! | `unaligned` | fail | SPF or DKIM passed, but for another domain: a service that needs DKIM for the domain or a custom MAIL FROM |
//! | `forwarded` | fail | nothing passed, but the domain's own signature was there (broken in transit), or the reporter said forwarded / mailing list |
//! | `unauthenticated` | fail | nothing passed: spoofing, or a sender nobody set up |

use super::aggregate::{AlignedResult, OverrideKind, Record};
use super::sources::organizational_domain;
use crate::message::dmarc::AuthResult;
use serde::Serialize;

/// How a record's messages stood with DMARC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Aligned,
    DkimOnly,
    SpfOnly,
    Unaligned,
    Forwarded,
    Unauthenticated,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::Aligned,
        Class::DkimOnly,
        Class::SpfOnly,
        Class::Unaligned,
        Class::Forwarded,
        Class::Unauthenticated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Aligned => "aligned",
            Class::DkimOnly => "dkim_only",
            Class::SpfOnly => "spf_only",
            Class::Unaligned => "unaligned",
            Class::Forwarded => "forwarded",
            Class::Unauthenticated => "unauthenticated",
        }
    }

    /// Whether the messages passed DMARC.
    pub fn passes(self) -> bool {
        matches!(self, Class::Aligned | Class::DkimOnly | Class::SpfOnly)
    }

    /// One line for a person.
    pub fn meaning(self) -> &'static str {
        match self {
            Class::Aligned => "DKIM and SPF both pass for your domain",
            Class::DkimOnly => {
                "DKIM passes for your domain, SPF does not: usually forwarding, \
                 or a service using its own return path — harmless under DMARC"
            }
            Class::SpfOnly => {
                "SPF passes for your domain but nothing is DKIM-signed for it: \
                 this passes today, and fails as soon as the mail is forwarded"
            }
            Class::Unaligned => {
                "it authenticates, but as another domain: a service that needs \
                 DKIM set up for your domain or a custom MAIL FROM"
            }
            Class::Forwarded => {
                "your DKIM signature was there but broke on the way, as \
                 forwarding and mailing lists do"
            }
            Class::Unauthenticated => {
                "nothing authenticates it: spoofing, or a sender nobody set up"
            }
        }
    }
}

/// The class of one record.
pub fn classify(record: &Record) -> Class {
    let evaluated = &record.policy_evaluated;
    match (
        evaluated.dkim == AlignedResult::Pass,
        evaluated.spf == AlignedResult::Pass,
    ) {
        (true, true) => return Class::Aligned,
        (true, false) => return Class::DkimOnly,
        (false, true) => return Class::SpfOnly,
        (false, false) => {}
    }
    let passed_elsewhere = record.dkim.iter().any(|d| d.result == AuthResult::Pass)
        || record.spf.iter().any(|s| s.result == AuthResult::Pass);
    if passed_elsewhere {
        return Class::Unaligned;
    }
    let from_org = organizational_domain(&record.identifiers.header_from);
    let own_signature_broke = record
        .dkim
        .iter()
        .any(|d| !d.domain.is_empty() && organizational_domain(&d.domain) == from_org);
    let reporter_says_forwarded = evaluated.reasons.iter().any(|r| {
        matches!(
            r.kind,
            OverrideKind::Forwarded | OverrideKind::MailingList | OverrideKind::TrustedForwarder
        )
    });
    if own_signature_broke || reporter_says_forwarded {
        Class::Forwarded
    } else {
        Class::Unauthenticated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::aggregate::{
        Disposition, DkimAuth, Identifiers, OverrideReason, PolicyEvaluated, SpfAuth,
    };

    fn record(dkim: (&str, AuthResult), spf: (&str, AuthResult), aligned: (bool, bool)) -> Record {
        let word = |pass| {
            if pass {
                AlignedResult::Pass
            } else {
                AlignedResult::Fail
            }
        };
        Record {
            source_ip: "192.0.2.1".parse().expect("test IP"),
            count: 1,
            policy_evaluated: PolicyEvaluated {
                disposition: Disposition::None,
                dkim: word(aligned.0),
                spf: word(aligned.1),
                reasons: Vec::new(),
            },
            identifiers: Identifiers {
                header_from: "news.example.com".into(),
                envelope_from: None,
                envelope_to: None,
            },
            dkim: vec![DkimAuth {
                domain: dkim.0.into(),
                selector: None,
                result: dkim.1,
                human_result: None,
            }],
            spf: vec![SpfAuth {
                domain: spf.0.into(),
                scope: None,
                result: spf.1,
                human_result: None,
            }],
        }
    }

    #[test]
    fn each_class_from_the_evaluation_and_the_raw_results() {
        use AuthResult::{Fail, Pass, SoftFail};
        let cases = [
            (
                record(("example.com", Pass), ("example.com", Pass), (true, true)),
                Class::Aligned,
            ),
            (
                record(("example.com", Pass), ("list.example", Fail), (true, false)),
                Class::DkimOnly,
            ),
            (
                record(("esp.example", Fail), ("example.com", Pass), (false, true)),
                Class::SpfOnly,
            ),
            (
                record(("esp.example", Pass), ("esp.example", Fail), (false, false)),
                Class::Unaligned,
            ),
            (
                record(("esp.example", Fail), ("esp.example", Pass), (false, false)),
                Class::Unaligned,
            ),
            // The From domain's own organization signed, and it broke.
            (
                record(
                    ("example.com", Fail),
                    ("list.example", Fail),
                    (false, false),
                ),
                Class::Forwarded,
            ),
            (
                record(
                    ("spoof.example", Fail),
                    ("example.com", SoftFail),
                    (false, false),
                ),
                Class::Unauthenticated,
            ),
        ];
        for (record, class) in cases {
            assert_eq!(classify(&record), class, "{record:?}");
        }
    }

    #[test]
    fn the_reporters_forwarding_reason_makes_it_forwarded() {
        let mut forwarded = record(
            ("spoof.example", AuthResult::Fail),
            ("list.example", AuthResult::Fail),
            (false, false),
        );
        assert_eq!(classify(&forwarded), Class::Unauthenticated);
        forwarded.policy_evaluated.reasons.push(OverrideReason {
            kind: OverrideKind::MailingList,
            comment: None,
        });
        assert_eq!(classify(&forwarded), Class::Forwarded);
    }
}
