"""Watches a browser context for what no page of mailvet may do, and fails
the test when it saw any of it:

- a request anywhere but the server under test (each request is routed
  through here; one to another origin is recorded and aborted, so a
  mistake cannot reach the network either);
- a dialog (alert, confirm, prompt: what an injected script would do
  first);
- a console error or an uncaught exception (a Content-Security-Policy
  violation is logged as a console error, so an inline script or style the
  server's policy refuses fails here). The one console error a page may
  cause is Chromium's note that the document itself came with an error
  status, which a test of a 404 or 400 page asks for.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page


@dataclass
class Watch:
    """What a context did that a page must not do."""

    origin: str
    foreign_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.route("**/*", self.route)
        context.on("page", self.watch_page)

    def route(self, route, request) -> None:
        self.requests.append(request.url)
        parts = urlsplit(request.url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.foreign_requests.append(request.url)
            route.abort()

    def watch_page(self, page: Page) -> None:
        page.on("dialog", self.dialog)
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url")
        if message.text.startswith("Failed to load resource") and url == message.page.url:
            return
        self.console_errors.append(f"{message.text} ({url})")

    def problems(self) -> list[str]:
        return (
            [f"request to another origin: {url}" for url in self.foreign_requests]
            + [f"dialog opened: {d}" for d in self.dialogs]
            + [f"console error: {e}" for e in self.console_errors]
            + [f"uncaught exception: {e}" for e in self.page_errors]
        )


@contextmanager
def watched_context(browser: Browser, base_url: str, **options):
    """A new context whose pages are watched; fails the test at its end
    when the watch saw anything."""
    context = browser.new_context(base_url=base_url, **options)
    watch = Watch(origin=base_url)
    watch.attach(context)
    context.set_default_timeout(30_000)
    try:
        yield context, watch
    finally:
        context.close()
    problems = watch.problems()
    assert not problems, "\n".join(problems)
