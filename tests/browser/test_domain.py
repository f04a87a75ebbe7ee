"""A person types a domain into the form of `/` and reads its report, with
JavaScript on and off: the permalink it lands on, the verdict sentence,
every finding linked to its catalog page, each record a fix asks for
shown exactly as to publish it (with a copy button only when JavaScript
runs), the DNS questions collapsed until opened; and a name that is no
domain brings the form back with the reason.

What the page must say is read from the JSON report the same server
answers for the same domain: the page and the API must agree.

The domains are the world's (world.py): a healthy one, and a broken one
whose SPF lets anyone send and whose DMARC enforces nothing.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

import person
from world import BROKEN_DOMAIN as BROKEN
from world import HEALTHY_DOMAIN as HEALTHY
from world import HEALTHY_SELECTOR


def verdict(page: Page):
    """The verdict box: the one live region that states the outcome."""
    return page.get_by_role("status")


def test_a_healthy_domain_lands_on_its_permalink_with_its_verdict(page: Page, base_url: str):
    landed = person.check_domain(page, HEALTHY, HEALTHY_SELECTOR)

    assert landed.status == 200
    assert person.path_of(page) == f"/domains/{HEALTHY}"
    expected = person.domain_report(base_url, HEALTHY, HEALTHY_SELECTOR)
    assert expected["verdict"] == "pass", expected["findings"]
    assert expected.get("summary"), "the JSON report has no summary sentence"
    expect(verdict(page)).to_contain_text(expected["summary"])
    expect(page.get_by_role("heading", level=1)).to_contain_text(HEALTHY)


def test_a_broken_domain_shows_each_fix_record_exactly(page: Page, base_url: str, javascript: bool):
    person.check_domain(page, BROKEN)

    assert person.path_of(page) == f"/domains/{BROKEN}"
    expected = person.domain_report(base_url, BROKEN)
    assert expected["verdict"] == "fail"
    expect(verdict(page)).to_contain_text(expected["summary"])
    records = [r for f in expected["findings"] for r in f.get("publish", [])]
    names = {r["name"] for r in records}
    # +all is fixed by a record at the domain, p=none by one at _dmarc:
    # both are on the page to copy.
    assert {BROKEN, f"_dmarc.{BROKEN}"} <= names, records
    for record in records:
        # A block holding exactly the value, nothing around it: what a
        # person selects (or the copy button copies) is what to publish.
        expect(page.get_by_text(record["value"], exact=True).first).to_be_visible()
        expect(page.get_by_text(record["name"], exact=True).first).to_be_visible()
    # The copy buttons are the script's comfort: one per name and value
    # with it, none without.
    copy_buttons = page.get_by_role("button", name="Copy")
    expect(copy_buttons).to_have_count(2 * len(records) if javascript else 0)


def test_every_finding_links_to_its_catalog_page(page: Page, base_url: str):
    person.check_domain(page, BROKEN)

    findings = person.domain_report(base_url, BROKEN)["findings"]
    assert findings
    for finding in findings:
        expect(page.locator(f'a[href="/findings/{finding["code"]}"]').first).to_be_visible()
    worst = findings[0]
    page.locator(f'a[href="/findings/{worst["code"]}"]').first.click()
    page.wait_for_url(f"**/findings/{worst['code']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(worst["code"])
    for text in (worst["title"], worst["why"]):
        expect(page.locator("main")).to_contain_text(text)


def test_the_copy_button_copies_the_record_value(js_page: Page, base_url: str):
    js_page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    person.check_domain(js_page, BROKEN)

    expected = person.domain_report(base_url, BROKEN)
    records = [r for f in expected["findings"] for r in f.get("publish", [])]
    assert records, "the JSON report names no record to publish"
    record = records[0]
    block = js_page.get_by_text(record["value"], exact=True).first
    button = block.locator("xpath=following::button[1]")
    label = button.inner_text()
    button.click()
    # The button says when the copy is done.
    expect(button).not_to_have_text(label)
    copied = js_page.evaluate("navigator.clipboard.readText()")
    assert copied == record["value"]


def test_a_name_that_is_no_domain_shows_the_form_again_with_the_reason(page: Page):
    typed = "not a domain!"
    landed = person.check_domain(page, typed)

    assert landed.status == 400
    assert "html" in landed.headers["content-type"]
    expect(page.locator("input[name=domain]")).to_have_value(typed)
    expect(page.get_by_role("alert")).to_be_visible()


def test_the_dns_questions_asked_are_collapsed_until_opened(page: Page):
    person.check_domain(page, BROKEN)

    questions = page.get_by_role("region", name="DNS")
    dmarc = questions.get_by_role("cell", name=f"_dmarc.{BROKEN}.", exact=True).first
    expect(dmarc).to_be_hidden()
    # A <details> opens without script.
    questions.locator("summary").click()
    expect(dmarc).to_be_visible()
