"""What a person does on the pages, as the tests do it: open the form,
type or paste, press the button, land on the report; and what the tests
read next to the page to know what it should say (the JSON API of the same
server, asked directly, not through the browser).
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import urllib.request
from urllib.parse import quote, urlsplit

from playwright.sync_api import Page, Response

from world import BROKEN_DOMAIN, SIGNED, Message

# A saved report's permalink: its id is 128 random bits spelled URL-safe
# (32 hex digits today; base64url would take 22 characters).
REPORT_PATH = re.compile(r"^/reports/[A-Za-z0-9_-]{22,}$")
# The permalink of a report never saved, in the form of a real one.
UNKNOWN_REPORT = "/reports/" + "0" * 32


def check_domain(page: Page, domain: str, selector: str = "") -> Response:
    """Types `domain` (and a DKIM `selector`) into the domain form of `/`
    and submits it; answers the response of the page it lands on."""
    page.goto("/")
    form = page.locator("form", has=page.locator("input[name=domain]"))
    form.locator("input[name=domain]").fill(domain)
    form.locator("input[name=selector]").fill(selector)
    with page.expect_navigation() as landed:
        form.locator("button[type=submit], input[type=submit]").click()
    return landed.value


def check_message(page: Page, message: Message) -> Response:
    """Pastes `message` and types its envelope into the message form of `/`
    and submits it; answers the response of the page it lands on."""
    page.goto("/")
    form = page.locator("form", has=page.locator("textarea[name=message]"))
    form.locator("textarea[name=message]").fill(message.text)
    form.locator("input[name=ip]").fill(message.envelope.ip)
    form.locator("input[name=helo]").fill(message.envelope.helo)
    form.locator("input[name=mail_from]").fill(message.envelope.mail_from)
    with page.expect_navigation() as landed:
        form.locator("button[type=submit], input[type=submit]").click()
    return landed.value


def make_test_address(page: Page) -> Response:
    """Presses "Send a test message" on `/`; answers the response of the
    test address's page it lands on."""
    page.goto("/")
    with page.expect_navigation() as landed:
        page.get_by_role("button", name="Send a test message").click()
    return landed.value


class ProxiedSMTP(smtplib.SMTP):
    """smtplib behind a balancer: its connection opens with a PROXY
    header (version 1) naming `client`, which the server trusts from
    127.0.0.1."""

    def __init__(self, host: str, port: int, client: str, helo: str):
        self.client = client
        super().__init__(host, port, local_hostname=helo, timeout=60)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        sock.sendall(f"PROXY TCP4 {self.client} 127.0.0.1 49152 25\r\n".encode())
        return sock


def send_test_message(smtp_address: tuple[str, int], to: str, message: Message) -> str:
    """Sends `message` to the test address `to` over SMTP, from the
    client, HELO name and MAIL FROM of its envelope; answers the final
    reply's text."""
    envelope = message.envelope
    with ProxiedSMTP(*smtp_address, client=envelope.ip, helo=envelope.helo) as client:
        client.ehlo()
        client.mail(envelope.mail_from)
        code, text = client.rcpt(to)
        assert code == 250, (code, text)
        code, text = client.data(message.text.encode())
        assert code == 250, (code, text)
        return text.decode()


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def api(
    base_url: str, path: str, body: bytes | None = None, content_type: str = "", key: str = ""
) -> dict:
    """The JSON the server answers at `path` (a POST when `body` is given;
    with `key` as the bearer token when given)."""
    request = urllib.request.Request(base_url + path, data=body)
    request.add_header("Accept", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


def domain_report(base_url: str, domain: str, selector: str = "", key: str = "") -> dict:
    """The report the API makes of `domain`."""
    query = f"?selector={quote(selector, safe='')}" if selector else ""
    return api(base_url, "/v1/domains/" + quote(domain, safe="") + query, key=key)


def message_report(base_url: str, message: Message) -> dict:
    """The report the API makes of `message`, not saved."""
    envelope = message.envelope
    query = "&".join(
        f"{name}={quote(value, safe='')}"
        for name, value in (
            ("ip", envelope.ip),
            ("helo", envelope.helo),
            ("mail_from", envelope.mail_from),
        )
    )
    return api(base_url, "/v1/messages?" + query, message.text.encode(), "message/rfc822")


# The three pages a person meets, reached as a person reaches them: the
# form, a (broken) domain's report, a (signed) message's report.
JOURNEY = {
    "form": lambda page: page.goto("/"),
    "domain report": lambda page: check_domain(page, BROKEN_DOMAIN),
    "message report": lambda page: check_message(page, SIGNED),
}
