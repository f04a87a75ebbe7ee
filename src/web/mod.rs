//! The web pages of `mailvet serve`: a form to check a domain or a
//! message, the reports as pages people read and share, and the catalog
//! of finding codes.
//!
//! This module decides what a page shows and in which order; it renders
//! HTML and nothing else — the `http` layer routes, guards and answers.
//! Templates are maud's: compiled with the binary and escaping every
//! value as HTML unless told otherwise (nothing here is), so a TXT record
//! or a Subject carrying `<script>` is shown as text. Pages make no
//! request beyond their own server: the stylesheet, the copy-button
//! script and the icon are embedded ([`assets`]); there is no inline
//! script or style, so the server's Content-Security-Policy can forbid
//! both. Every page works with JavaScript off.
//!
//! - [`layout`] — the frame of every page, and the message-only pages.
//! - [`index`] — `/`, the two forms.
//! - [`report`] — the parts every report page shares.
//! - [`domain`] — `/domains/{domain}`.
//! - [`message`] — `/reports/{id}`.
//! - [`dmarc`] — `/reports/dmarc/{domain}`, received DMARC and TLS reports.
//! - [`findings`] — `/findings` and `/findings/{code}`.
//! - [`inbox`] — `/test` and `/inboxes/{token}`, the send-a-test pages.
//! - [`view`] — the report JSON as the pages read it.

pub mod assets;
pub mod dmarc;
pub mod domain;
pub mod findings;
pub mod inbox;
pub mod index;
pub mod layout;
pub mod message;
pub mod report;
pub mod view;
