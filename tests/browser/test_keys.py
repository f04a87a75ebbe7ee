"""On a server with API keys, the pages need one too (issue: pages follow
the API's setting unless `--web-public`): a person who opens a shared link
is asked for a key once, in a form, and comes back to the page the link
named; a wrong key is refused with the reason. The key is then kept in a
cookie no script on the page can read and no other site can make the
browser send (with JavaScript on and off), until "Log out" forgets it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

import person
from servers import API_KEY
from watch import watched_context
from world import HEALTHY_DOMAIN, HEALTHY_SELECTOR

LINK = f"/domains/{HEALTHY_DOMAIN}?selector={HEALTHY_SELECTOR}"


def give_key(page, key: str):
    form = page.locator("form", has=page.locator("input[name=key]"))
    form.locator("input[name=key]").fill(key)
    with page.expect_navigation() as landed:
        form.locator("button[type=submit], input[type=submit]").click()
    return landed.value


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_shared_link_asks_for_the_key_once_then_shows_the_report(
    browser: Browser, keyed_base_url: str, javascript: bool
):
    with watched_context(browser, keyed_base_url, java_script_enabled=javascript) as (
        context,
        _,
    ):
        page = context.new_page()
        asked = page.goto(LINK)
        assert asked.status == 401
        expect(page.locator("input[name=key]")).to_have_attribute("type", "password")

        refused = give_key(page, "not-the-key-of-this-server")
        assert refused.status == 401
        expect(page.get_by_role("alert")).to_be_visible()

        give_key(page, API_KEY)
        assert page.url == keyed_base_url + LINK
        expected = person.domain_report(keyed_base_url, HEALTHY_DOMAIN, HEALTHY_SELECTOR, API_KEY)
        expect(page.get_by_role("status")).to_contain_text(expected["summary"])

        # Once: the next page needs no key again.
        answer = page.goto("/")
        assert answer.status == 200
        (cookie,) = context.cookies()
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict"), cookie
        if javascript:
            assert page.evaluate("document.cookie") == ""


def test_log_out_forgets_the_key(browser: Browser, keyed_base_url: str):
    with watched_context(browser, keyed_base_url) as (context, _):
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
        give_key(page, API_KEY)
        assert len(context.cookies()) == 1

        with page.expect_navigation() as landed:
            page.get_by_role("button", name="Log out").click()
        assert landed.value.status == 401
        assert context.cookies() == []
        expect(page.locator("input[name=key]")).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
