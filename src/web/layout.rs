//! The frame of every page: head, site header (with "Log out" for a
//! browser that gave a key), footer, and the pages that are only a
//! message — an error, a report that is gone, the key login.

use super::assets;
use maud::{DOCTYPE, Markup, html};

tokio::task_local! {
    /// Whether the page is drawn for a browser that came in with its key
    /// cookie (set by the http layer around such a request): its header
    /// then offers to log out, which forgets the cookie.
    pub static SIGNED_IN: bool;
}

/// A whole page: `title` in the tab, `main` as its content.
pub fn page(title: &str, main: Markup) -> String {
    page_with_head(title, html! {}, main)
}

/// The same with `head` added to the page's head (a page's own script).
pub fn page_with_head(title: &str, head: Markup, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mailvet" }
                link rel="stylesheet" href=(assets::STYLE.path);
                link rel="icon" type="image/svg+xml" href=(assets::ICON.path);
                script src=(assets::SCRIPT.path) defer {}
                (head)
            }
            body {
                header.site {
                    a.brand href="/" { "mailvet" }
                    nav aria-label="Site" {
                        a href="/" { "Check a domain or message" }
                        a href=(super::dmarc::CHOOSE_PATH) { "DMARC reports" }
                        a href="/findings" { "Finding codes" }
                    }
                    @if SIGNED_IN.try_with(|signed_in| *signed_in).unwrap_or(false) {
                        form.logout method="post" action="/logout" {
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (main) }
                footer.site {
                    p {
                        "mailvet checks SPF, DKIM, DMARC, ARC, MX, MTA-STS, TLS-RPT, BIMI and \
                         DNSSEC against the RFCs and the Gmail, Yahoo and Microsoft sender rules. "
                        a href="/openapi.yaml" { "JSON API" }
                    }
                }
            }
        }
    }
    .into_string()
}

/// A page that only says what went wrong: `heading`, then `detail`, then
/// a way on.
pub fn message_page(heading: &str, detail: &str) -> String {
    message_page_leading_to(heading, detail, ("/", "Check a domain or a message"))
}

/// [`message_page`] with its one link going to `href`, named `label`.
pub fn message_page_leading_to(heading: &str, detail: &str, (href, label): (&str, &str)) -> String {
    page(
        heading,
        html! {
            h1 { (heading) }
            p.problem { (detail) }
            p { a href=(href) { (label) } }
        },
    )
}

/// The form that takes an API key once, for servers whose pages need one;
/// `next` is where to go after, `problem` why the last try failed.
pub fn login(next: &str, problem: Option<&str>) -> String {
    page(
        "API key needed",
        html! {
            h1 { "This server needs an API key" }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            p { "Enter one of the API keys of this server once; the browser keeps it in a \
                 cookie for this site only, and sends it with each page." }
            form.check method="post" action="/login" {
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="current-password" required;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Continue" }
            }
        },
    )
}

/// A table that scrolls sideways on a narrow screen (and by keyboard):
/// its column headings, then `rows`, its `tr` elements.
pub fn table(columns: &[&str], rows: Markup) -> Markup {
    scrolling_table(None, columns, rows)
}

/// [`table`] with a caption naming it (for screen readers and for a
/// chart's numbers).
pub fn captioned_table(caption: &str, columns: &[&str], rows: Markup) -> Markup {
    scrolling_table(Some(caption), columns, rows)
}

fn scrolling_table(caption: Option<&str>, columns: &[&str], rows: Markup) -> Markup {
    html! {
        div.scroll tabindex="0" {
            table {
                @if let Some(caption) = caption { caption { (caption) } }
                thead { tr { @for column in columns { th scope="col" { (column) } } } }
                tbody { (rows) }
            }
        }
    }
}
