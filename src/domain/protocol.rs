//! The audited protocols, each declared once: its key (the report section
//! and the family of its finding codes), its title for people, and the DNS
//! record it reads relative to the audited domain.
//!
//! This module decides what the rest of the engine may assume about a
//! protocol without knowing it: the audit runner asks each section whether
//! it was decided, stamps each finding with the record it is about, and
//! the text summary, JUnit/SARIF record locations and the OpenAPI section
//! list all follow from [`Audited`] and [`PROTOCOLS`].

use crate::findings::{Finding, RecordAt};
use serde::Serialize;

/// Where a protocol's record lives, relative to the audited domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Labels before the domain, with their final dot (`_dmarc.`); empty
    /// for the domain itself.
    pub prefix: &'static str,
    /// The record type, e.g. `TXT`.
    pub rtype: &'static str,
}

/// One audited protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// Its finding codes' family (`mta_sts`).
    pub key: &'static str,
    /// The report section's name: the key, except for the SMTP transport
    /// probe, whose `tls.` findings fill the `transport` section.
    pub section: &'static str,
    /// Its name for people (`MTA-STS`).
    pub title: &'static str,
    /// Its record's place; `None` when each finding names its own (DKIM:
    /// one record per selector).
    pub place: Option<Place>,
}

/// A protocol's section of the domain report.
pub trait Audited {
    /// The protocol it reports on.
    fn protocol(&self) -> &'static Protocol;

    /// Which failed lookup left the check undecided, if one did.
    fn undecided(&self) -> Option<String>;

    /// The protocol's state in one line, for people.
    fn summary(&self) -> String;
}

const TXT: &str = "TXT";

pub static SPF: Protocol = Protocol {
    key: "spf",
    section: "spf",
    title: "SPF",
    place: Some(Place {
        prefix: "",
        rtype: TXT,
    }),
};
pub static DMARC: Protocol = Protocol {
    key: "dmarc",
    section: "dmarc",
    title: "DMARC",
    place: Some(Place {
        prefix: "_dmarc.",
        rtype: TXT,
    }),
};
pub static DKIM: Protocol = Protocol {
    key: "dkim",
    section: "dkim",
    title: "DKIM",
    place: None,
};
pub static MX: Protocol = Protocol {
    key: "mx",
    section: "mx",
    title: "MX",
    place: Some(Place {
        prefix: "",
        rtype: "MX",
    }),
};
pub static MTA_STS: Protocol = Protocol {
    key: "mta_sts",
    section: "mta_sts",
    title: "MTA-STS",
    place: Some(Place {
        prefix: "_mta-sts.",
        rtype: TXT,
    }),
};
pub static TLS_RPT: Protocol = Protocol {
    key: "tls_rpt",
    section: "tls_rpt",
    title: "TLS-RPT",
    place: Some(Place {
        prefix: "_smtp._tls.",
        rtype: TXT,
    }),
};
pub static BIMI: Protocol = Protocol {
    key: "bimi",
    section: "bimi",
    title: "BIMI",
    place: Some(Place {
        prefix: "default._bimi.",
        rtype: TXT,
    }),
};
pub static DNSSEC: Protocol = Protocol {
    key: "dnssec",
    section: "dnssec",
    title: "DNSSEC",
    place: Some(Place {
        prefix: "",
        rtype: "SOA",
    }),
};
/// The SMTP transport probe of every MX address; its findings are about
/// the MX record that names the host.
pub static TLS: Protocol = Protocol {
    key: "tls",
    section: "transport",
    title: "SMTP TLS",
    place: Some(Place {
        prefix: "",
        rtype: "MX",
    }),
};

/// Every audited protocol, in report order.
pub static PROTOCOLS: [&Protocol; 9] = [
    &SPF, &DMARC, &DKIM, &MX, &MTA_STS, &TLS_RPT, &BIMI, &DNSSEC, &TLS,
];

/// The protocol whose findings' codes start with `family`.
pub fn by_key(family: &str) -> Option<&'static Protocol> {
    PROTOCOLS.iter().copied().find(|p| p.key == family)
}

/// Says which record `finding` is about, unless it already names one: its
/// protocol's record at `domain`, the protocol found by the family of its
/// code (`mta_sts.mx_not_covered` is about `_mta-sts.<domain>`).
pub fn locate(domain: &str, finding: &mut Finding) {
    if finding.record.is_some() {
        return;
    }
    let family = finding.code.split('.').next().unwrap_or(finding.code);
    let Some(place) = by_key(family).and_then(|p| p.place) else {
        return;
    };
    finding.record = Some(RecordAt {
        name: format!("{}{domain}", place.prefix),
        rtype: place.rtype,
    });
}

/// A status enum as its JSON word, spaces for underscores (`not found`):
/// the summary of a section with nothing more to say.
pub fn status_word<T: Serialize>(status: &T) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::catalog::CATALOG;

    #[test]
    fn keys_are_code_families_and_unique() {
        let mut keys: Vec<&str> = PROTOCOLS.iter().map(|p| p.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), PROTOCOLS.len());
        for p in PROTOCOLS {
            assert!(
                CATALOG
                    .iter()
                    .any(|c| c.code.starts_with(&format!("{}.", p.key))),
                "no catalog code in the {} family",
                p.key
            );
            assert_eq!(by_key(p.key), Some(p));
        }
    }

    /// The API's schema lists every protocol's section in the domain
    /// report, so a new protocol cannot ship undocumented.
    #[test]
    fn the_openapi_domain_report_has_a_section_per_protocol() {
        let spec: serde_json::Value =
            serde_norway::from_str(include_str!("../../openapi.yaml")).expect("openapi.yaml");
        let report = &spec["components"]["schemas"]["DomainReport"];
        for p in PROTOCOLS {
            assert!(
                report["properties"].get(p.section).is_some(),
                "openapi.yaml DomainReport has no `{}` property",
                p.section
            );
            assert!(
                report["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|k| k == p.section)),
                "openapi.yaml DomainReport does not require `{}`",
                p.section
            );
        }
    }

    #[test]
    fn findings_get_their_protocols_record_unless_they_name_one() {
        use crate::findings::catalog;
        let mut findings = vec![
            Finding::new(catalog::DMARC_NO_RUA, "x"),
            Finding::new(catalog::DMARC_RECORD_AT_APEX, "x").about("ex.test", TXT),
            Finding::new(catalog::MTA_STS_MX_NOT_COVERED, "x"),
            Finding::new(catalog::DKIM_NO_SELECTOR_FOUND, "x"),
        ];
        for finding in &mut findings {
            locate("ex.test", finding);
        }
        let places: Vec<Option<(&str, &str)>> = findings
            .iter()
            .map(|f| f.record.as_ref().map(|r| (r.name.as_str(), r.rtype)))
            .collect();
        assert_eq!(
            places,
            [
                Some(("_dmarc.ex.test", TXT)),
                Some(("ex.test", TXT)),
                Some(("_mta-sts.ex.test", TXT)),
                None,
            ]
        );
    }
}
