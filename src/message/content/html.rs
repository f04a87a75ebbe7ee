//! What an HTML body shows: how much visible text, how many images, and
//! where its links go, read in one pass without building a DOM.
//!
//! This module decides what counts as visible text: characters outside
//! tags, comments, `<script>`, `<style>` and `<head>`, whitespace and
//! `&nbsp;` excepted, an entity counting as one character. Images are
//! `<img>` tags; links are the `href` of `<a>` and `<area>`. The scan is
//! linear in the input and keeps at most [`super::links::MAX_LINKS`]
//! links, so a hostile body costs one pass over the bytes the caller
//! chose to give it.

use super::links::Links;

/// What one HTML body holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Visible characters of text.
    pub text_chars: usize,
    /// `<img>` tags.
    pub images: usize,
}

/// Scans `html`, adding its links to `links`.
pub fn scan(html: &str, links: &mut Links) -> Scan {
    // ASCII lower-casing keeps every byte offset, so names are matched in
    // `lower` and values read from `html` at the same place.
    let lower = html.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut scan = Scan::default();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' if lower[i..].starts_with("<!--") => {
                i = after(&lower, i + 4, "-->");
            }
            b'<' if bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?')) =>
            {
                let end = tag_end(bytes, i + 1);
                let tag = &html[i + 1..end];
                let name = tag_name(&lower[i + 1..end]);
                i = (end + 1).min(bytes.len());
                match name {
                    "img" => scan.images += 1,
                    "a" | "area" => {
                        if let Some(href) = attribute(tag, "href") {
                            links.add(&href);
                        }
                    }
                    "script" | "style" | "head" | "title" => {
                        let closing = after(&lower, i, &format!("</{name}"));
                        i = after(&lower, closing, ">");
                    }
                    _ => {}
                }
            }
            b'&' => {
                let entity_end = lower[i..]
                    .bytes()
                    .take(12)
                    .position(|b| b == b';')
                    .map(|p| i + p + 1);
                match entity_end {
                    Some(end) => {
                        if &lower[i..end] != "&nbsp;" && &lower[i..end] != "&#160;" {
                            scan.text_chars += 1;
                        }
                        i = end;
                    }
                    None => {
                        scan.text_chars += 1;
                        i += 1;
                    }
                }
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                // One character, whatever its width in UTF-8.
                let width = html[i..].chars().next().map_or(1, char::len_utf8);
                if !html[i..].starts_with('\u{a0}') {
                    scan.text_chars += 1;
                }
                i += width;
            }
        }
    }
    scan
}

/// The offset just past the next `needle` at or after `from`, or the end.
fn after(lower: &str, from: usize, needle: &str) -> usize {
    lower
        .get(from..)
        .and_then(|rest| rest.find(needle))
        .map_or(lower.len(), |p| from + p + needle.len())
}

/// The offset of the `>` that closes a tag whose content starts at
/// `from` (a `>` inside a quoted attribute value does not), or the end.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (offset, &b) in bytes.iter().enumerate().skip(from) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return offset,
            _ => {}
        }
    }
    bytes.len()
}

/// The element name at the start of a tag's content, lower-case; empty
/// for a closing tag, a declaration or a processing instruction.
fn tag_name(lower_tag: &str) -> &str {
    let end = lower_tag
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(lower_tag.len());
    &lower_tag[..end]
}

/// The value of attribute `wanted` (lower-case) in a tag's content, with
/// `&amp;` read as `&`.
fn attribute(tag: &str, wanted: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    // Past the element name.
    let mut i = tag
        .find(|c: char| c.is_ascii_whitespace() || c == '/')
        .unwrap_or(tag.len());
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'/')
        {
            i += 1;
        }
        let name = &tag[name_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            if name.is_empty() {
                i += 1;
            }
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let start = i + 1;
                let end = tag[start..]
                    .find(q as char)
                    .map_or(tag.len(), |p| start + p);
                i = end + 1;
                &tag[start..end]
            }
            _ => {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &tag[start..i]
            }
        };
        if name.eq_ignore_ascii_case(wanted) {
            return Some(value.trim().replace("&amp;", "&"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(html: &str) -> (Scan, Vec<String>) {
        let mut links = Links::default();
        let scan = scan(html, &mut links);
        (scan, links.hosts().map(|h| h.host.clone()).collect())
    }

    #[test]
    fn counts_visible_text_only() {
        let (s, _) = scanned(
            "<html><head><title>Offer</title><style>p{color:red}</style></head>\
             <body><!-- hidden > text --><script>var x = '<b>';</script>\
             <p class=\"a>b\">Hi&nbsp;&amp; bye</p></body></html>",
        );
        assert_eq!(s.text_chars, "Hi&bye".len());
        assert_eq!(s.images, 0);
    }

    #[test]
    fn counts_images_and_reads_links() {
        let (s, hosts) = scanned(
            "<IMG src=a.png><img src='b.png'/><A HREF=\"https://News.Example.com/x?a=1&amp;b=2\">go</A>\
             <area shape=rect href=http://map.example/>",
        );
        assert_eq!(s.images, 2);
        assert_eq!(s.text_chars, 2);
        assert_eq!(hosts, ["news.example.com", "map.example"]);
    }

    #[test]
    fn unclosed_constructs_end_the_scan() {
        for html in [
            "<a href='https://x.example",
            "<!-- never closed",
            "<script>x",
            "&",
        ] {
            let _ = scanned(html);
        }
        let (s, _) = scanned("text <p");
        assert_eq!(s.text_chars, 4);
    }

    #[test]
    fn attributes_without_values_are_skipped() {
        assert_eq!(
            attribute("a download href = \"https://x.example\"", "href").as_deref(),
            Some("https://x.example")
        );
        assert_eq!(attribute("a hreflang=en", "href"), None);
        assert_eq!(attribute("a = = =", "href"), None);
    }
}
