"""A page asks nothing of anyone but its own server, and its server's
Content-Security-Policy holds in a real browser.

Every test's watch already fails a request to another origin (watch.py);
here the watch is shown to see what a page loads (its stylesheet, script
and icon go through it), and a script added inline into a page, which the
policy forbids, is refused by Chromium.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Error

from person import JOURNEY


@pytest.mark.parametrize("name", JOURNEY)
def test_a_page_loads_only_from_its_own_server(watched_js, base_url: str, name: str):
    context, watch = watched_js
    page = context.new_page()
    JOURNEY[name](page)
    page.wait_for_load_state("load")

    elsewhere = [url for url in watch.requests if not url.startswith(base_url + "/")]
    assert elsewhere == []
    # The document and what it loads went through the watch, not the
    # document alone.
    assert len(set(watch.requests)) > 1, watch.requests


def test_an_inline_script_is_refused(watched_js):
    context, watch = watched_js
    page = context.new_page()
    page.goto("/")

    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="window.inlineScriptRan = true;")

    assert page.evaluate("window.inlineScriptRan") is None
    refused = [e for e in watch.console_errors if "Content Security Policy" in e]
    assert refused, watch.console_errors
    # Expected here; any other console error still fails the test.
    for error in refused:
        watch.console_errors.remove(error)
