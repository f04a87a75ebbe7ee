"""Every kind of page passes axe-core (the copy axe-playwright-python
ships, run inside the page; nothing is fetched) with no serious or
critical violation: the form, a healthy and a broken domain's report, a
saved message report, the catalog and one code's page, the form shown
again with a reason, and the page of a report that does not exist.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

import person
from world import HEALTHY_DOMAIN, HEALTHY_SELECTOR

AXE = Axe()
BLOCKING = {"serious", "critical"}


def catalog_code(base_url: str) -> str:
    return person.api(base_url, "/v1/findings")[0]["code"]


# How to reach each page, from a fresh page and the server's base URL.
PAGES = {
    **{name: lambda page, base, go=go: go(page) for name, go in person.JOURNEY.items()},
    "healthy domain": lambda page, base: person.check_domain(
        page, HEALTHY_DOMAIN, HEALTHY_SELECTOR
    ),
    "catalog": lambda page, base: page.goto("/findings"),
    "one code": lambda page, base: page.goto(f"/findings/{catalog_code(base)}"),
    "form with a reason": lambda page, base: person.check_domain(page, "not a domain!"),
    "no such report": lambda page, base: page.goto(person.UNKNOWN_REPORT),
}


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_accessibility_violation(js_page: Page, base_url: str, name: str):
    PAGES[name](js_page, base_url)

    violations = AXE.run(js_page).response["violations"]
    blocking = [
        f"{v['impact']} {v['id']}: {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"])
        for v in violations
        if v["impact"] in BLOCKING
    ]
    assert not blocking, "\n".join(blocking)
