"""A person pastes a signed message with its envelope into the form of `/`,
with JavaScript on and off, and lands on the report's permalink: a
`/reports/{id}` page that states the verdict, shows the DKIM signature it
verified and the envelope it was given, offers the report as JSON, and
shows the same to whoever the link is sent to.

The message is the world's signed newsletter (world.py), sent from its
domain's own host: it passes SPF, DKIM and DMARC.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

import person
from watch import watched_context
from world import SIGNED, SIGNED_BY, Envelope, Message


def test_a_pasted_message_lands_on_its_permalink(page: Page, base_url: str, browser: Browser):
    landed = person.check_message(page, SIGNED)

    assert landed.status == 200
    path = person.path_of(page)
    assert person.REPORT_PATH.match(path), page.url
    report_id = path.rsplit("/", 1)[1]

    # The page offers its JSON, and says what the JSON says.
    json_link = page.locator(f'a[href="/v1/reports/{report_id}"]').first
    expect(json_link).to_be_visible()
    saved = person.api(base_url, f"/v1/reports/{report_id}")
    assert saved["verdict"] == "pass", saved["findings"]
    assert saved.get("summary"), "the saved report has no summary sentence"
    expect(page.get_by_role("status")).to_contain_text(saved["summary"])

    # The report is the one the API makes of the same message.
    fresh = person.message_report(base_url, SIGNED)
    assert (fresh["verdict"], fresh.get("summary")) == (saved["verdict"], saved["summary"])

    main = page.locator("main")
    for shown in (*SIGNED_BY, SIGNED.envelope.ip):
        expect(main).to_contain_text(shown)

    # The link works for whoever it is sent to: another browser, nothing
    # shared with this one.
    with watched_context(browser, base_url, java_script_enabled=False) as (other, _):
        shared = other.new_page()
        opened = shared.goto(page.url)
        assert opened.status == 200
        expect(shared.get_by_role("status")).to_contain_text(saved["summary"])


def test_a_report_that_does_not_exist_is_a_404_page(page: Page):
    answer = page.goto(person.UNKNOWN_REPORT)

    assert answer.status == 404
    assert "html" in answer.headers["content-type"]
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_a_blank_message_shows_the_form_again_with_the_reason(page: Page):
    # Blank lines pass the textarea's `required`; the server refuses them.
    answer = person.check_message(page, Message("  \r\n\r\n", SIGNED.envelope))

    assert answer.status == 400
    assert person.path_of(page) == "/messages"
    expect(page.get_by_role("alert")).to_be_visible()
    # What was typed is still there to correct.
    expect(page.locator("input[name=ip]")).to_have_value(SIGNED.envelope.ip)


def test_an_address_that_is_no_ip_shows_the_form_again_with_the_message(page: Page):
    envelope = Envelope(ip="not-an-ip", helo=SIGNED.envelope.helo, mail_from="")
    answer = person.check_message(page, Message(SIGNED.text, envelope))

    assert answer.status == 400
    expect(page.get_by_role("alert")).to_be_visible()
    # The browser shows a textarea's lines with LF, whatever was sent.
    pasted = page.locator("textarea[name=message]").input_value()
    assert pasted == SIGNED.text.replace("\r\n", "\n")
