//! The files the pages load — the stylesheet, the copy-button script,
//! the test address's polling script and the icon — embedded in the binary, so a page makes no request
//! beyond its own server and the server needs no files beside itself.

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Where the server answers it.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

pub static STYLE: Asset = Asset {
    path: "/static/style.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("style.css"),
};

/// Adds a copy button beside each record block; the pages work without it.
pub static SCRIPT: Asset = Asset {
    path: "/static/copy.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("copy.js"),
};

/// Keeps a waiting test address's page live: see [`super::inbox`].
pub static INBOX: Asset = Asset {
    path: "/static/inbox.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("inbox.js"),
};

pub static ICON: Asset = Asset {
    path: "/static/icon.svg",
    content_type: "image/svg+xml",
    body: include_str!("icon.svg"),
};

/// Every embedded file.
pub static ALL: [&Asset; 4] = [&STYLE, &SCRIPT, &INBOX, &ICON];
