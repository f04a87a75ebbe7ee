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

from person import JOURNEY
from servers import RUN_DIR
from watch import watched_context
from world import REPO

WIDTHS = (375, 1280)


def screenshot_dir():
    if os.environ.get("MAILVET_WRITE_SCREENSHOTS") == "1":
        return REPO / "docs/screenshots"
    return RUN_DIR / "screenshots"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", JOURNEY)
def test_the_page_fits_its_width(browser: Browser, base_url: str, name: str, width: int):
    with watched_context(browser, base_url, viewport={"width": width, "height": 800}) as (
        context,
        _,
    ):
        page = context.new_page()
        JOURNEY[name](page)

        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
        target = screenshot_dir()
        target.mkdir(parents=True, exist_ok=True)
        file = name.split()[0] + f"-{width}.png"
        page.screenshot(path=target / file, full_page=True, animations="disabled")
