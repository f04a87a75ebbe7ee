//! The one-time test addresses: `t-<token>@<inbox-domain>`, where the
//! token is the store's [`InboxToken`] (32 hexadecimal digits).
//!
//! This module decides which recipient addresses name a test inbox: the
//! local part `t-` and a token, in either case (RFC 5321 §2.4 lets mail
//! systems change the case of a local part, though they should not), at
//! the inbox domain, compared without regard to case and to a trailing
//! dot. The one other address taken is the postmaster's (RFC 5321
//! §4.5.1 requires it): `postmaster` alone, or at a domain the receiver
//! serves (the inbox domain, the report addresses' domains), in
//! any case. Every other address is not ours, and the receiver refuses
//! it (it never relays).

use crate::store::InboxToken;
use std::time::Duration;

/// What the local part of every test address starts with.
pub const LOCAL_PREFIX: &str = "t-";

/// How long a new test address accepts its message unless told otherwise
/// (`--inbox-ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60 * 60);

/// Where test addresses live and how long they wait for their message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxSettings {
    /// The domain of the addresses (its MX points at this deployment),
    /// lower case, without a trailing dot.
    pub domain: String,
    pub ttl: Duration,
}

impl InboxSettings {
    /// The address that hands a message to `token`.
    pub fn address(&self, token: &InboxToken) -> String {
        format!("{LOCAL_PREFIX}{token}@{}", self.domain)
    }

    /// The token an address names, if it is one of this inbox's.
    pub fn token_of(&self, address: &str) -> Option<InboxToken> {
        let (local, domain) = address.rsplit_once('@')?;
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let token = local
            .get(..LOCAL_PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(LOCAL_PREFIX))
            .and_then(|_| local.get(LOCAL_PREFIX.len()..))?;
        token.parse().ok()
    }

    /// Whether `address` is the postmaster's: `postmaster` without a
    /// domain, at the inbox domain or at a domain `also_served` names
    /// (the report addresses'); the local part in any case (RFC 5321
    /// §4.5.1 names it case-insensitive).
    pub fn is_postmaster(&self, address: &str, also_served: impl Fn(&str) -> bool) -> bool {
        let (local, domain) = match address.rsplit_once('@') {
            Some((local, domain)) => (local, Some(domain.strip_suffix('.').unwrap_or(domain))),
            None => (address, None),
        };
        local.eq_ignore_ascii_case("postmaster")
            && domain.is_none_or(|domain| {
                domain.eq_ignore_ascii_case(&self.domain) || also_served(domain)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbox() -> InboxSettings {
        InboxSettings {
            domain: "inbox.example".into(),
            ttl: DEFAULT_TTL,
        }
    }

    #[test]
    fn an_address_names_its_token_back() {
        let token = InboxToken::generate().unwrap();
        let address = inbox().address(&token);
        assert!(address.starts_with("t-") && address.ends_with("@inbox.example"));
        assert_eq!(inbox().token_of(&address), Some(token));
        assert_eq!(
            inbox().token_of(&address.to_ascii_uppercase().replace("EXAMPLE", "example.")),
            Some(token),
            "case and a trailing dot do not matter"
        );
    }

    #[test]
    fn other_addresses_are_not_ours() {
        let token = InboxToken::generate().unwrap();
        for address in [
            format!("t-{token}@elsewhere.example"),
            format!("t-{token}@sub.inbox.example"),
            format!("x-{token}@inbox.example"),
            format!("t-{token}0@inbox.example"),
            format!("{token}@inbox.example"),
            "postmaster@inbox.example".into(),
            "t-@inbox.example".into(),
            "t-é@inbox.example".into(),
            String::new(),
        ] {
            assert_eq!(inbox().token_of(&address), None, "{address}");
        }
    }

    #[test]
    fn the_postmaster_is_ours_alone_or_at_a_domain_we_serve() {
        for address in [
            "postmaster",
            "Postmaster",
            "POSTMASTER@inbox.example",
            "postmaster@Inbox.Example.",
        ] {
            assert!(inbox().is_postmaster(address, |_| false), "{address}");
        }
        for address in [
            "postmaster@elsewhere.example",
            "postmaster@sub.inbox.example",
            "postmasters@inbox.example",
            "t-postmaster@inbox.example",
            "",
        ] {
            assert!(!inbox().is_postmaster(address, |_| false), "{address}");
        }
        let reports = |d: &str| d.eq_ignore_ascii_case("reports.example");
        assert!(inbox().is_postmaster("postmaster@Reports.Example", reports));
        assert!(!inbox().is_postmaster("postmaster@elsewhere.example", reports));
    }
}
