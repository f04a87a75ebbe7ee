"""A person presses "Send a test message" on `/`, with JavaScript on and
off, and gets a one-time address; the signed newsletter is then sent to it
over SMTP (smtplib, from web.test's own host as a PROXY header names it)
to the running server, and the page, left alone, shows the message's
report: by asking again in the background with JavaScript, by reloading
itself (a meta refresh) without. The report is the one the API makes of the same message
with the same envelope, plus what only the receiver saw.

A server without the test inbox offers no button, and says why at
`/test`. Screenshots of the waiting page and of the report's "How it
arrived" section are taken at a phone's and a desktop's width.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Browser, Page, expect

import person
import servers
from test_screenshots import DOCS, HEIGHT, WHOLE, WIDTHS
from watch import watched_context
from world import INBOX_DOMAIN, SIGNED, SIGNED_BY

INBOX_PATH = re.compile(r"^/inboxes/[0-9a-f]{32}$")
# Without JavaScript the page reloads every 5 s; with it, it asks every
# 2 s. A report on a loaded machine takes a few seconds more.
ARRIVAL_TIMEOUT_MS = 30_000


def address_shown(page: Page) -> str:
    address = page.locator("#test-address").inner_text().strip()
    assert re.fullmatch(rf"t-[0-9a-f]{{32}}@{re.escape(INBOX_DOMAIN)}", address), address
    return address


def test_a_test_message_sent_to_the_address_shows_its_report(
    page: Page, base_url: str, smtp_address, javascript: bool
):
    landed = person.make_test_address(page)

    assert landed.status == 200
    assert INBOX_PATH.match(person.path_of(page)), page.url
    token = person.path_of(page).rsplit("/", 1)[1]
    address = address_shown(page)
    assert address == f"t-{token}@{INBOX_DOMAIN}"
    expect(page.get_by_role("status")).to_contain_text("Waiting for the message")
    copy = page.get_by_role("button", name="Copy address")
    if javascript:
        expect(copy).to_be_visible()
    else:
        expect(copy).to_have_count(0)
        expect(page.locator("main")).to_contain_text("checks for it by itself")

    reply = person.send_test_message(smtp_address, address, SIGNED)
    assert reply.startswith("2.0.0 message received"), reply

    # Nobody touches the page: it notices by itself.
    expect(page).to_have_url(re.compile(r"/reports/[0-9a-f]{32}$"), timeout=ARRIVAL_TIMEOUT_MS)
    report_id = person.path_of(page).rsplit("/", 1)[1]
    shown = person.api(base_url, f"/v1/inboxes/{token}")
    assert shown["status"] == "received"
    assert shown["report"]["id"] == report_id
    assert shown["report"]["smtp"]["client_ip"] == SIGNED.envelope.ip

    # The verdict of the message with this envelope, as the API gives it.
    fresh = person.message_report(base_url, SIGNED)
    assert shown["report"]["verdict"] == fresh["verdict"] == "pass", shown["report"]["findings"]
    expect(page.get_by_role("status")).to_contain_text(fresh["summary"])
    main = page.locator("main")
    for text in (*SIGNED_BY, SIGNED.envelope.ip):
        expect(main).to_contain_text(text)
    arrived = page.locator("#smtp")
    expect(arrived).to_contain_text("How it arrived")
    expect(arrived).to_contain_text(SIGNED.envelope.helo)
    expect(arrived).to_contain_text(f"<{address}>")

    if javascript:
        # Back leaves the report for the page before the address, not for
        # the address, which would only send on to the report again.
        page.go_back()
        assert not INBOX_PATH.match(person.path_of(page)), page.url
        assert not person.path_of(page).startswith("/reports/"), page.url

    # The address's page now always sends on to the report.
    again = page.goto(f"/inboxes/{token}")
    assert again.status == 200 and person.path_of(page) == f"/reports/{report_id}"


def test_an_unknown_address_is_a_404_page(page: Page):
    answer = page.goto("/inboxes/" + "0" * 32)

    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("No such test address")


def test_a_server_without_the_inbox_offers_none_and_says_why(keyed_base_url: str):
    def get(path: str) -> tuple[int, str]:
        request = urllib.request.Request(keyed_base_url + path)
        request.add_header("Authorization", f"Bearer {servers.API_KEY}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()

    status, index = get("/")
    assert status == 200
    assert "Check a domain" in index and "Send a test message" not in index
    status, why = get("/test")
    assert status == 404
    assert "started without --inbox-domain" in why


@pytest.mark.parametrize("width", WIDTHS)
def test_the_test_pages_fit_their_width(browser: Browser, base_url: str, smtp_address, width: int):
    with watched_context(browser, base_url, viewport={"width": width, "height": HEIGHT}) as (
        context,
        _,
    ):
        page = context.new_page()
        person.make_test_address(page)
        address = address_shown(page)
        write = os.environ.get("MAILVET_WRITE_SCREENSHOTS") == "1"

        def photograph(name: str, section=None) -> None:
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
            file = f"{name}-{width}.png"
            page.screenshot(path=WHOLE / file, full_page=True, animations="disabled")
            if write:
                target = section if section is not None else page
                target.screenshot(path=DOCS / file, animations="disabled")

        photograph("inbox")
        person.send_test_message(smtp_address, address, SIGNED)
        expect(page).to_have_url(re.compile(r"/reports/"), timeout=ARRIVAL_TIMEOUT_MS)
        arrived = page.locator("#smtp")
        arrived.locator("details summary").click()
        photograph("inbox-report", arrived)
