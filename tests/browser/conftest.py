"""What every browser test gets: the servers, the browser, and pages that
watch themselves.

For the whole run (starting them is the slow part): one fixture DNS
server serving the world's zones (world.py), one `mailvet serve` with
open pages, one that needs an API key (started only when a test asks for
it), and one Chromium. For each test a fresh browser context, so no
cookie, cache or storage carries from one test to the next.

Every context is watched (watch.py): a test fails when its pages send a
request to another origin, open a dialog, log a console error or throw.

The browser is Debian's Chromium (/usr/bin/chromium, or MAILVET_CHROMIUM)
launched by Playwright with `executable_path`; Playwright never downloads
one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

import servers
import world
from watch import watched_context

CHROMIUM = Path(os.environ.get("MAILVET_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def run_dir() -> Path:
    if servers.RUN_DIR.exists():
        shutil.rmtree(servers.RUN_DIR)
    servers.RUN_DIR.mkdir(parents=True)
    return servers.RUN_DIR


@pytest.fixture(scope="session")
def dns_address(run_dir: Path):
    """The address of the fixture DNS server serving the world's zones."""
    with servers.running(servers.start_dns(world.ZONES, run_dir)) as address:
        yield address


@pytest.fixture(scope="session")
def smtp_address() -> tuple[str, int]:
    """Where the open server's SMTP receiver (its test inbox) listens; it
    trusts a PROXY header from 127.0.0.1, so a test can send as the
    world's sending host."""
    return ("127.0.0.1", servers.free_port())


@pytest.fixture(scope="session")
def base_url(run_dir: Path, dns_address: str, smtp_address: tuple[str, int]):
    """The base URL of a running `mailvet serve` asking the fixture DNS,
    with the test inbox (`--smtp`, `--inbox-domain`)."""
    host, port = smtp_address
    flags = (
        "--smtp",
        f"{host}:{port}",
        "--inbox-domain",
        world.INBOX_DOMAIN,
        "--smtp-proxy-from",
        "127.0.0.1",
    )
    with servers.running(servers.start_mailvet("open", dns_address, run_dir, flags)) as base:
        yield base


@pytest.fixture(scope="session")
def keyed_base_url(run_dir: Path, dns_address: str):
    """The base URL of a `mailvet serve` that needs an API key, pages
    included."""
    flags = ("--api-key", servers.API_KEY)
    with servers.running(servers.start_mailvet("keyed", dns_address, run_dir, flags)) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: apt-get install --no-install-recommends chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(params=["javascript", "no-javascript"])
def watched(request, browser: Browser, base_url: str):
    """A watched context with JavaScript on, then again with it off (the
    pages work without it), and its watch."""
    options = {"java_script_enabled": request.param == "javascript"}
    with watched_context(browser, base_url, **options) as pair:
        yield pair


@pytest.fixture
def javascript(request, watched) -> bool:
    """Whether the page of this run of a test has JavaScript on."""
    return request.node.callspec.params["watched"] == "javascript"


@pytest.fixture
def watched_js(browser: Browser, base_url: str):
    """A watched context with JavaScript on, and its watch."""
    with watched_context(browser, base_url) as pair:
        yield pair


@pytest.fixture
def page(watched) -> Page:
    """A page with JavaScript on and off, in a watched context of its own."""
    return watched[0].new_page()


@pytest.fixture
def js_page(watched_js) -> Page:
    """A page with JavaScript on, in a watched context of its own."""
    return watched_js[0].new_page()
