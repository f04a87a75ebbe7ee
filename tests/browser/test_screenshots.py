"""The form, a domain report and a message report at a phone's width
(375 px) and a desktop's (1280 px): each fits its width (no sideways
scrolling of the page; a long record or table scrolls inside its own box),
and is photographed.

Each run photographs the whole of each page into
target/browser/run/screenshots, to look at. With
MAILVET_WRITE_SCREENSHOTS=1 it also replaces docs/screenshots/, which the
README shows: the first screen of each page (800 px high), what a person
sees on arriving. Those change whenever a page does, so they are written on
request, not by every run.
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
HEIGHT = 800
WHOLE = RUN_DIR / "screenshots"
DOCS = REPO / "docs/screenshots"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", JOURNEY)
def test_the_page_fits_its_width(browser: Browser, base_url: str, name: str, width: int):
    with watched_context(browser, base_url, viewport={"width": width, "height": HEIGHT}) as (
        context,
        _,
    ):
        page = context.new_page()
        JOURNEY[name](page)

        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
        file = name.split()[0] + f"-{width}.png"
        page.screenshot(path=WHOLE / file, full_page=True, animations="disabled")
        if os.environ.get("MAILVET_WRITE_SCREENSHOTS") == "1":
            page.screenshot(path=DOCS / file, animations="disabled")
