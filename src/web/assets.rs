//! The files the pages load — the stylesheet, the copy-button script,
//! the test address's polling script and the icon — embedded in the
//! binary, so a page makes no request beyond its own server and the server
//! needs no files beside itself.

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Where the server answers it.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

impl Asset {
    /// The file `body`, answered at `path` as `content_type`.
    const fn at(path: &'static str, content_type: &'static str, body: &'static str) -> Asset {
        Asset {
            path,
            content_type,
            body,
        }
    }
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

pub static STYLE: Asset = Asset::at("/static/style.css", CSS, include_str!("style.css"));

/// Adds a copy button beside each record block; the pages work without it.
pub static SCRIPT: Asset = Asset::at("/static/copy.js", JS, include_str!("copy.js"));

/// Keeps a waiting test address's page live: see [`super::inbox`].
pub static INBOX: Asset = Asset::at("/static/inbox.js", JS, include_str!("inbox.js"));

pub static ICON: Asset = Asset::at("/static/icon.svg", SVG, include_str!("icon.svg"));

/// Every embedded file.
pub static ALL: [&Asset; 4] = [&STYLE, &SCRIPT, &INBOX, &ICON];
