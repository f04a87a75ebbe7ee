//! Where a message's links go: the host of each http(s) link, whether its
//! registrable domain is the From domain's, and whether it is a URL
//! shortener.
//!
//! This module decides what a link's host is (the authority of an
//! `http:` or `https:` URL, past any `user@`, without its port, lower-case,
//! IDNs in their A-label form; other schemes are not links to a site) and
//! which hosts are shorteners ([`SHORTENERS`], our own table). Alignment
//! compares registrable domains (Public Suffix List), the way DMARC's
//! relaxed mode compares organizations: `click.news.example.com` is
//! aligned with a From at `example.com`.

use crate::records::name::registrable_domain;
use serde::Serialize;

/// The most links one message's scan looks at; the rest are counted in
/// `links_seen` only.
pub const MAX_LINKS: usize = 2_000;

/// The most distinct hosts a report lists.
pub const MAX_HOSTS: usize = 50;

/// Public URL shorteners: a link through one hides its destination, and
/// spam filters score them because abusers use them to dodge domain
/// blocklists. Matched on the host or a parent of it.
pub const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "buff.ly",
    "cutt.ly",
    "goo.gl",
    "is.gd",
    "lnkd.in",
    "ow.ly",
    "rb.gy",
    "rebrand.ly",
    "shorturl.at",
    "t.co",
    "t.ly",
    "tiny.cc",
    "tinyurl.com",
    "v.gd",
];

/// One host the links point at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkHost {
    pub host: String,
    /// Links to it.
    pub links: usize,
    /// Its registrable domain is the From domain's (`None` without a
    /// single From domain).
    pub aligned: Option<bool>,
    pub shortener: bool,
}

/// The links found so far, by host.
#[derive(Debug, Default, Clone)]
pub struct Links {
    hosts: Vec<LinkHost>,
    /// Links looked at (at most [`MAX_LINKS`]).
    seen: usize,
}

impl Links {
    /// Adds one link (an href or a URL in text); not an http(s) URL with
    /// a usable host is ignored.
    pub fn add(&mut self, url: &str) {
        if self.seen >= MAX_LINKS {
            return;
        }
        let Some(host) = host(url) else {
            return;
        };
        self.seen += 1;
        if let Some(known) = self.hosts.iter_mut().find(|h| h.host == host) {
            known.links += 1;
        } else if self.hosts.len() < MAX_HOSTS {
            let shortener = is_shortener(&host);
            self.hosts.push(LinkHost {
                host,
                links: 1,
                aligned: None,
                shortener,
            });
        }
    }

    /// Adds every http(s) URL written in plain text: each `://` that
    /// follows `http` or `https` (in any case) starts one at that word.
    pub fn add_from_text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let ends_with = |at: usize, word: &[u8]| {
            at.checked_sub(word.len())
                .is_some_and(|start| bytes[start..at].eq_ignore_ascii_case(word))
        };
        let mut from = 0;
        while let Some(p) = memchr::memmem::find(&bytes[from..], b"://") {
            let at = from + p;
            let scheme = [b"https".as_slice(), b"http"]
                .into_iter()
                .find(|word| ends_with(at, word))
                .map(<[u8]>::len);
            // A scheme word that began before `from` is inside the URL
            // just read, or was already passed over.
            let Some(start) = scheme.map(|len| at - len).filter(|&start| start >= from) else {
                from = at + 3;
                continue;
            };
            let end = text[start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
                .map_or(text.len(), |e| start + e);
            self.add(&text[start..end]);
            from = end;
            if self.seen >= MAX_LINKS {
                return;
            }
        }
    }

    /// Marks each host aligned or not with `from_domain`.
    pub fn align(&mut self, from_domain: Option<&str>) {
        let from = from_domain.map(registrable_domain);
        for h in &mut self.hosts {
            h.aligned = from.map(|f| registrable_domain(&h.host) == f);
        }
    }

    pub fn hosts(&self) -> impl Iterator<Item = &LinkHost> {
        self.hosts.iter()
    }

    pub fn seen(&self) -> usize {
        self.seen
    }

    pub fn into_hosts(self) -> Vec<LinkHost> {
        self.hosts
    }
}

/// The host of an http(s) URL, lower-case A-labels, or `None`.
fn host(url: &str) -> Option<String> {
    let url = url.trim();
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    // The host is after the last `@`: `https://bank.example@evil.example/`
    // goes to evil.example.
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some(host.to_ascii_lowercase());
    }
    let ascii = idna::domain_to_ascii(host).ok()?;
    let valid = !ascii.is_empty()
        && ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(ascii)
}

fn is_shortener(host: &str) -> bool {
    SHORTENERS.iter().any(|s| {
        host == *s
            || host
                .strip_suffix(s)
                .is_some_and(|parent| parent.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host("https://News.Example.COM/path").as_deref(),
            Some("news.example.com")
        );
        assert_eq!(
            host("http://example.com:8080?x").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            host("https://bank.example@evil.example/").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host("https://[2001:db8::1]/x").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            host("https://bücher.example/").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(host("mailto:a@example.com"), None);
        assert_eq!(host("ftp://example.com/"), None);
        assert_eq!(host("https://"), None);
        assert_eq!(host("https://exa mple.com/"), None);
    }

    #[test]
    fn shorteners_match_host_or_parent_only() {
        assert!(is_shortener("bit.ly") && is_shortener("www.bit.ly"));
        assert!(!is_shortener("notbit.ly") && !is_shortener("bit.ly.example"));
    }

    #[test]
    fn text_urls_and_alignment() {
        let mut links = Links::default();
        links.add_from_text(
            "://x See https://shop.example.co.uk/a, HTTP://example.co.uk and <https://bit.ly/x>.\n\
             Not a link: httpx://example.org httpsomething ftp://files.example.net\n\
             Glued: ühttps://glued.example.org",
        );
        links.align(Some("news.example.co.uk"));
        let hosts: Vec<(&str, Option<bool>, bool)> = links
            .hosts()
            .map(|h| (h.host.as_str(), h.aligned, h.shortener))
            .collect();
        assert_eq!(
            hosts,
            [
                ("shop.example.co.uk", Some(true), false),
                ("example.co.uk", Some(true), false),
                ("bit.ly", Some(false), true),
                ("glued.example.org", Some(false), false),
            ]
        );
    }

    #[test]
    fn links_are_capped() {
        let mut links = Links::default();
        let text: String = (0..MAX_LINKS + 10)
            .map(|i| format!("https://h{i}.example/ "))
            .collect();
        links.add_from_text(&text);
        assert_eq!(links.seen(), MAX_LINKS);
        assert_eq!(links.hosts().count(), MAX_HOSTS);
    }
}
