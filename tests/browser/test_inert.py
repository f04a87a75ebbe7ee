"""Values from DNS and from a message that carry HTML and script are shown
as text and do nothing: the xss.test domain, whose TXT records carry
markup, and fixtures/web/xss.eml, whose From, Subject, Message-ID, DKIM
tags and body do (world.py).

The page must show the markup as text (so the page's text holds it
verbatim: markup that became elements would not be in the text), hold no
script but its own external ones and no element with an event-handler
attribute, and open no dialog (the watch fails any test whose page does).
"""

from __future__ import annotations

import email
import email.policy
import re

from playwright.sync_api import Page

import person
from world import FIXTURES, HOSTILE, HOSTILE_DOMAIN

# What the page itself runs: external scripts of its own origin only, and
# no element with an on…= attribute.
INJECTED = """() => ({
    inline_scripts: [...document.scripts].filter(s => !s.src).map(s => s.outerHTML),
    foreign_scripts: [...document.scripts]
        .filter(s => s.src && new URL(s.src).origin !== location.origin)
        .map(s => s.src),
    handlers: [...document.querySelectorAll("*")]
        .filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith("on")))
        .map(e => e.outerHTML.slice(0, 200)),
})"""


def assert_inert(page: Page, shown: list[str]) -> None:
    injected = page.evaluate(INJECTED)
    assert injected == {"inline_scripts": [], "foreign_scripts": [], "handlers": []}, injected
    # textContent, not what is visible: the DNS questions are collapsed.
    text = page.locator("body").text_content()
    for value in shown:
        assert value in text, f"{value!r} is not shown as text"


def zone_markup() -> list[str]:
    """The TXT values of the hostile zone that carry markup."""
    zone = (FIXTURES / "xss.zone").read_text()
    values = [
        # A zone file escapes a quote inside a string as \" (RFC 1035 §5.1).
        re.sub(r"\\(.)", r"\1", value)
        for line in zone.splitlines()
        if not line.lstrip().startswith(";")
        for value in re.findall(r'"((?:[^"\\]|\\.)*)"', line)
    ]
    return [value for value in values if "<" in value]


def message_markup() -> list[str]:
    """The Subject and the DKIM selector of the hostile message."""
    parsed = email.message_from_string(HOSTILE.text, policy=email.policy.compat32)
    tags = dict(
        tag.strip().split("=", 1) for tag in parsed["DKIM-Signature"].split(";") if "=" in tag
    )
    return [parsed["Subject"], tags["s"]]


def test_a_domain_whose_records_carry_markup_shows_it_as_text(page: Page):
    answer = page.goto(f"/domains/{HOSTILE_DOMAIN}")

    assert answer.status == 200
    markup = zone_markup()
    assert len(markup) >= 2, markup
    assert_inert(page, markup)


def test_a_message_carrying_markup_shows_it_as_text(page: Page):
    person.check_message(page, HOSTILE)

    assert person.REPORT_PATH.match(person.path_of(page)), page.url
    assert_inert(page, message_markup())
