"""The form, a domain report and a message report at a phone's width
(375 px) and a desktop's (1280 px): each fits its width (no sideways
scrolling of the page; a long record scrolls inside its own box), and
each is photographed whole.

The pictures go to target/browser/run/screenshots; with
MAILVET_WRITE_SCREENSHOTS=1 they replace docs/screenshots/, which the
README shows. They change with every change of a page (and a message
report carries its own time), so they are written on request, not by
every run.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser

import person
from conftest import RUN_DIR
from watch import watched_context
from world import BROKEN_DOMAIN, REPO, SIGNED

WIDTHS = (375, 1280)
PAGES = {
    "index": lambda page: page.goto("/"),
    "domain": lambda page: page.goto(f"/domains/{BROKEN_DOMAIN}"),
    "message": lambda page: person.check_message(page, SIGNED),
}


def screenshot_dir():
    if os.environ.get("MAILVET_WRITE_SCREENSHOTS") == "1":
        return REPO / "docs/screenshots"
    return RUN_DIR / "screenshots"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_the_page_fits_its_width(browser: Browser, base_url: str, name: str, width: int):
    with watched_context(browser, base_url, viewport={"width": width, "height": 800}) as (
        context,
        _,
    ):
        page = context.new_page()
        PAGES[name](page)

        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
        target = screenshot_dir()
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=target / f"{name}-{width}.png", full_page=True, animations="disabled")
