"""The DMARC reports page, /reports/dmarc/{domain}, in a real browser,
with JavaScript on and off: a month of aggregate reports and three days
of TLS reports about brand.example (fixtures/reports/month and
fixtures/reports/web), seeded by `mailvet reports import` into the store
of a `mailvet serve` of its own, which asks a fixture DNS server serving
brand.example's zone (its live DMARC record and its rua) and the PTR
names of the month's sources (fixtures/reports/reverse.zone).

The page must show what the JSON API of the same server says: the days
drawn and then tabled, each source with its service, PTR names, class
and fix, the readiness verdicts and the record to publish next (keeping
the live rua), the sources new since the period before, and the TLS
failures per day, result type, MX and policy. Its import form stores an
uploaded report once, says when it was a duplicate, and names what was
wrong with a bad one. A report whose every free-text value (and its
source's PTR name) carries markup is shown as text. The page fits 375 and 1280 px and passes axe.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

import person
import servers
from test_inert import assert_inert
from watch import watched_context
from world import REPO

REPORTS = REPO / "fixtures/reports"
DOMAIN = "brand.example"
SINCE = "2026-11-16"
PAGE = f"/reports/dmarc/{DOMAIN}?since={SINCE}"


@pytest.fixture(scope="session")
def reports_base_url(run_dir: Path):
    """A `mailvet serve` whose store holds brand.example's reports, asking
    a DNS server of brand.example's zones."""
    logs = run_dir / "reports"
    logs.mkdir()
    zones = [
        REPORTS / "brand.example.zone",
        REPORTS / "reverse.zone",
        REPORTS / "web/hostile-reverse.zone",
    ]
    with servers.running(servers.start_dns(zones, logs)) as dns:
        with servers.running(servers.start_mailvet("reports", dns, run_dir)) as base:
            seeded = subprocess.run(
                [
                    str(servers.MAILVET_BIN),
                    "reports",
                    "import",
                    "--data-dir",
                    str(run_dir / "data-reports"),
                    str(REPORTS / "month"),
                    *map(str, sorted((REPORTS / "web").glob("tls-*.json"))),
                ],
                cwd=REPO,
                env=servers.environment(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert seeded.returncode == 0, seeded.stderr
            yield base


@pytest.fixture(params=["javascript", "no-javascript"])
def reports_page(request, browser: Browser, reports_base_url: str):
    options = {"java_script_enabled": request.param == "javascript"}
    with watched_context(browser, reports_base_url, **options) as (context, _):
        yield context.new_page()


def summary(base: str, domain: str = DOMAIN, since: str = SINCE) -> dict:
    return person.api(base, f"/v1/reports/dmarc/{domain}?since={since}")


def table(page: Page, caption: str) -> list[list[str]]:
    """The cells of the table with `caption`, row by row, header cells
    included."""
    rows = page.locator("table", has=page.locator("caption", has_text=caption)).locator("tbody tr")
    return [
        [cell.strip() for cell in row.locator("th, td").all_text_contents()]
        for row in rows.all()
    ]


def test_the_page_draws_the_month_and_tables_its_numbers(reports_page: Page, reports_base_url):
    page = reports_page
    answer = page.goto(PAGE)
    assert answer.status == 200
    expected = summary(reports_base_url)

    # Charts: drawn, and hidden from screen readers, who get the tables.
    assert page.locator("svg.plot").count() == 3  # messages, pass rate, TLS sessions
    for chart in page.locator("figure.chart svg").all():
        assert chart.get_attribute("aria-hidden") == "true"
    days = table(page, "Messages and DMARC pass rate per day")
    assert [row[:3] for row in days] == [
        [d["day"], f"{d['messages']:,}", f"{d['dmarc_pass']:,}"] for d in expected["days"]
    ]
    assert len(days) == 15
    rects = page.locator("svg.plot").first.locator("rect")
    assert rects.count() >= len(days), "a bar per day"

    sources = table(page, "Messages per source")
    assert [row[:2] for row in sources] == [
        [s["name"], f"{s['messages']:,}"] for s in expected["sources"][: len(sources)]
    ]
    google = page.locator("ol.sources > li", has_text="Google Workspace").first
    expect(google).to_contain_text("aligned")
    sendgrid = page.locator("ol.sources > li", has=page.locator("h3", has_text="SendGrid"))
    fix = next(b for b in expected["enforcement"]["blocking"] if b["name"] == "SendGrid")["fix"]
    expect(sendgrid).to_contain_text(fix["summary"])
    # The very records to publish can be copied; a described change (the
    # key SendGrid gives you) is shown without a copy button.
    for record in fix["records"]:
        copyable = sendgrid.locator("pre[data-copy=name]", has_text=record["name"])
        expect(copyable).to_have_count(1 if record["exact"] else 0)
        expect(sendgrid).to_contain_text(record["name"])
    # A PTR name the reverse zone confirms is shown beside its address.
    confirmed = next(
        (ip, s["name"])
        for s in expected["sources"]
        for ip in s["ips"]
        if ip["reverse_dns"]["status"] == "confirmed"
    )
    expect(page.locator("ol.sources")).to_contain_text(confirmed[0]["reverse_dns"]["name"])

    readiness = page.locator("#readiness")
    enforcement = expected["enforcement"]
    for policy in ("quarantine", "reject"):
        expect(readiness).to_contain_text(enforcement[policy]["explanation"])
    # Not ready, so the record to publish is the one published now, rua
    # kept: the page asks for no change rather than showing it to copy.
    assert enforcement["next_record"] == enforcement["live"]["record"]
    assert enforcement["next_record"].endswith("rua=mailto:dmarc@brand.example")
    expect(readiness).to_contain_text("Nothing to change in DNS yet: the record published now stays.")
    expect(readiness.locator("pre[data-copy]")).to_have_count(0)

    new = [s["name"] for s in expected["sources"] if s["new"]]
    assert new, "the month brings a source in its last week"
    for name in new:
        expect(page.locator("#new-sources")).to_contain_text(name)

    tls = expected["tls"]
    assert table(page, "TLS sessions per day") == [
        [d["day"], f"{d['successful_sessions']:,}", f"{d['failed_sessions']:,}"] for d in tls["days"]
    ]
    assert table(page, "Failures per result type") == [
        [t["name"], f"{t['failed_sessions']:,}"] for t in tls["result_types"]
    ]
    assert table(page, "Failures per receiving MX") == [
        [t["name"], f"{t['failed_sessions']:,}"] for t in tls["mx_hosts"]
    ]


def import_file(page: Page, path: Path):
    form = page.locator("form#import")
    form.locator("input[name=report]").set_input_files(str(path))
    with page.expect_navigation() as landed:
        form.locator("button[type=submit]").click()
    return landed.value


def test_a_report_uploaded_by_the_form_is_stored_once(reports_page: Page, reports_base_url):
    page = reports_page
    page.goto("/reports/dmarc/example.com")
    report = REPORTS / "aggregate/rfc7489-google.xml"

    first = import_file(page, report)
    assert first.status == 200
    assert person.path_of(page) == "/reports/dmarc/example.com"
    status = page.locator("#import [role=status]")
    # Each parametrized run uploads the same report; only the first stores it.
    expect(status).to_contain_text("imported" if "import=imported" in page.url else "already")
    messages = person.api(reports_base_url, "/v1/reports/dmarc/example.com")["messages"]
    assert messages > 0

    again = import_file(page, report)
    assert again.status == 200
    expect(status).to_contain_text("already stored")
    after = person.api(reports_base_url, "/v1/reports/dmarc/example.com")["messages"]
    assert after == messages, "a duplicate is counted once"

    refused = import_file(page, REPORTS / "bad/truncated.xml")
    assert refused.status == 422
    expect(page.get_by_role("alert")).to_contain_text("XML")


def test_a_report_carrying_markup_shows_it_as_text(reports_page: Page):
    page = reports_page
    page.goto("/reports/dmarc/hostile.example")
    import_file(page, REPORTS / "web/hostile.xml")

    assert person.path_of(page) == "/reports/dmarc/hostile.example"
    assert_inert(
        page,
        [
            '<script>alert("org")</script>',
            '<script>alert("from")</script>',
            '"><svg onload=alert(1)>',
            '<iframe src="javascript:alert(1)">',
        ],
    )
    assert page.locator("svg[onload], iframe, img").count() == 0
    # The source's PTR name carries markup too (fixtures/reports/web/hostile-reverse.zone).
    ptr = page.locator("ol.sources dd", has_text="100.64.0.66")
    expect(ptr).to_contain_text("script")
    expect(ptr).to_contain_text("evil.example")


WIDTHS = (375, 1280)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_fits_its_width(browser: Browser, reports_base_url: str, width: int):
    with watched_context(browser, reports_base_url, viewport={"width": width, "height": 800}) as (
        context,
        _,
    ):
        page = context.new_page()
        page.goto(PAGE)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the reports page is {overflow} px wide at {width} px"
        whole = servers.RUN_DIR / "screenshots"
        whole.mkdir(exist_ok=True)
        page.screenshot(path=whole / f"dmarc-{width}.png", full_page=True, animations="disabled")
        if os.environ.get("MAILVET_WRITE_SCREENSHOTS") == "1":
            # The first screen, what a person sees on arriving.
            page.screenshot(path=REPO / f"docs/screenshots/dmarc-{width}.png", animations="disabled")
            # And the sources, further down.
            page.locator("#sources").scroll_into_view_if_needed()
            page.screenshot(
                path=REPO / f"docs/screenshots/dmarc-sources-{width}.png", animations="disabled"
            )


def test_no_serious_accessibility_violation(browser: Browser, reports_base_url: str):
    with watched_context(browser, reports_base_url) as (context, _):
        page = context.new_page()
        page.goto(PAGE)
        violations = Axe().run(page).response["violations"]
        blocking = [
            f"{v['impact']} {v['id']}: {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"])
            for v in violations
            if v["impact"] in {"serious", "critical"}
        ]
        assert not blocking, "\n".join(blocking)
