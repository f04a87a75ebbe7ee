//! Which sending service a source is: our own table
//! (`src/reports/services.toml`, embedded in the binary, documented at its
//! top) of the domains by which Google Workspace, Microsoft 365, Amazon
//! SES, SendGrid, Mailchimp, Mailgun, Postmark, SparkPost, Zoho,
//! Salesforce, HubSpot and others can be recognized, and of what a
//! customer publishes to make their mail pass DMARC (SPF include, DKIM
//! selectors, custom MAIL FROM).
//!
//! A source is recognized only by names it cannot fake: a PTR name that
//! resolves back to its IP ([`super::sources`]), or a DKIM `d=` or SPF
//! domain that *passed* for its mail. A domain in the table matches itself
//! and the names below it, at a label boundary.
//!
//! The table is extendable by a file of the same TOML form
//! ([`Services::extend_from_toml`]); an entry with the name of a known one
//! replaces it.

use serde::{Deserialize, Serialize};

const BUILT_IN: &str = include_str!("services.toml");
/// The largest services file read: a table of a few hundred services.
const MAX_FILE: u64 = 1024 * 1024;

/// One sending service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// Domains of its outbound servers' PTR names.
    #[serde(default)]
    pub ptr: Vec<String>,
    /// Its own MAIL FROM domains.
    #[serde(default)]
    pub mail_from: Vec<String>,
    /// Its own DKIM signing domains.
    #[serde(default)]
    pub dkim: Vec<String>,
    /// What goes after `include:` in the customer's SPF record.
    #[serde(default)]
    pub spf_include: Option<String>,
    /// The selectors its DKIM setup usually publishes.
    #[serde(default)]
    pub dkim_selectors: Vec<String>,
    /// Whether it offers a MAIL FROM under the customer's domain.
    #[serde(default)]
    pub custom_mail_from: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(default)]
    service: Vec<Service>,
}

/// Why a services file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("services file: {0}")]
pub struct ServicesError(String);

/// The table of sending services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    list: Vec<Service>,
}

impl Services {
    /// The table shipped with mailvet.
    pub fn built_in() -> Services {
        let mut services = Services { list: Vec::new() };
        // The embedded table is ours and is parsed by a test; an error here
        // is a build defect, not an input problem.
        services
            .extend_from_toml(BUILT_IN)
            .expect("the embedded services table parses");
        services
    }

    /// Adds the services of a TOML file of the same form; an entry named
    /// like an existing one replaces it.
    pub fn extend_from_toml(&mut self, text: &str) -> Result<(), ServicesError> {
        let table: Table = toml::from_str(text)
            .map_err(|e| ServicesError(crate::untrusted::escape_controls(&e.to_string()).into()))?;
        for mut service in table.service {
            if service.name.trim().is_empty() {
                return Err(ServicesError("a service without a name".into()));
            }
            for list in [&mut service.ptr, &mut service.mail_from, &mut service.dkim] {
                for domain in list.iter_mut() {
                    *domain = super::aggregate::domain_key(domain);
                }
            }
            match self.list.iter_mut().find(|s| s.name == service.name) {
                Some(existing) => *existing = service,
                None => self.list.push(service),
            }
        }
        Ok(())
    }

    /// Adds the services of a TOML file (see [`Services::extend_from_toml`]),
    /// read as every local file is ([`crate::local_file`]).
    pub fn extend_from_file(&mut self, path: &std::path::Path) -> Result<(), ServicesError> {
        let text = crate::local_file::read_text(path, "services file", MAX_FILE)
            .map_err(|e| ServicesError(e.to_string()))?;
        self.extend_from_toml(&text).map_err(|e| {
            ServicesError(format!(
                "{}: {}",
                crate::untrusted::escape_controls(&path.display().to_string()),
                e.0
            ))
        })
    }

    pub fn all(&self) -> &[Service] {
        &self.list
    }

    pub fn by_name(&self, name: &str) -> Option<&Service> {
        self.list.iter().find(|s| s.name == name)
    }

    /// The service whose servers a forward-confirmed PTR name belongs to.
    pub fn by_ptr(&self, name: &str) -> Option<&Service> {
        self.find(name, |s| &s.ptr)
    }

    /// The service whose own MAIL FROM domain this is.
    pub fn by_mail_from(&self, domain: &str) -> Option<&Service> {
        self.find(domain, |s| &s.mail_from)
    }

    /// The service whose own DKIM signing domain this is.
    pub fn by_dkim(&self, domain: &str) -> Option<&Service> {
        self.find(domain, |s| &s.dkim)
    }

    fn find(&self, name: &str, domains: impl Fn(&Service) -> &Vec<String>) -> Option<&Service> {
        let name = super::aggregate::domain_key(name);
        self.list
            .iter()
            .find(|s| domains(s).iter().any(|d| is_at_or_below(&name, d)))
    }
}

/// Whether `name` is `domain` or a name below it.
pub fn is_at_or_below(name: &str, domain: &str) -> bool {
    !domain.is_empty()
        && name
            .strip_suffix(domain)
            .is_some_and(|head| head.is_empty() || head.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_names_the_big_services() {
        let services = Services::built_in();
        for name in [
            "Google Workspace",
            "Microsoft 365",
            "Amazon SES",
            "SendGrid",
            "Mailchimp",
            "Mailgun",
            "Postmark",
            "SparkPost",
            "Zoho Mail",
            "Salesforce",
            "HubSpot",
        ] {
            assert!(services.by_name(name).is_some(), "{name} is in the table");
        }
    }

    #[test]
    fn domains_match_at_label_boundaries() {
        let services = Services::built_in();
        assert_eq!(
            services
                .by_ptr("mail-sor-f41.google.com.")
                .map(|s| s.name.as_str()),
            Some("Google Workspace")
        );
        assert_eq!(
            services
                .by_mail_from("bounces.SendGrid.net")
                .map(|s| s.name.as_str()),
            Some("SendGrid")
        );
        assert!(services.by_ptr("notgoogle.com").is_none());
        assert!(services.by_ptr("google.com.evil.example").is_none());
    }

    #[test]
    fn a_file_adds_services_and_replaces_by_name() {
        let mut services = Services::built_in();
        services
            .extend_from_toml(
                "[[service]]\nname = \"In-house relay\"\nptr = [\"relay.example.net\"]\n\
                 [[service]]\nname = \"SendGrid\"\nptr = [\"sg.example\"]\n",
            )
            .expect("valid file");
        assert_eq!(
            services
                .by_ptr("out1.relay.example.net")
                .map(|s| s.name.as_str()),
            Some("In-house relay")
        );
        assert!(services.by_ptr("o1.sendgrid.net").is_none());
        let err = services
            .extend_from_toml("[[service]]\nname = \"x\"\nptrs = []\n")
            .unwrap_err();
        assert!(err.to_string().contains("ptrs"), "{err}");
    }
}
