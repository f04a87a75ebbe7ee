"""The fixture world the browser tests run in: fixtures/web, the world of
the pages' own tests (tests/it/pages.rs).

- web.test (fixtures/web/web.zone) is a healthy sending domain (with its
  DKIM selector given);
  broken.web.test lets anyone send (`+all`) and its DMARC enforces nothing.
- fixtures/web/signed.eml is a newsletter web.test signed (its public key
  is in the zone; the private key was never committed), as received from
  web.test's own host: the envelope below, with reverse DNS in
  fixtures/web/reverse.zone.
- xss.test (fixtures/web/xss.zone) has TXT records carrying markup, and
  fixtures/web/xss.eml carries it in its From, Subject, Message-ID, DKIM
  tags and body.

The fixture DNS server (examples/fixture_dns.rs) serves exactly these
zones, so nothing else resolves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures/web"

ZONES = sorted(FIXTURES.glob("*.zone"))

HEALTHY_DOMAIN = "web.test"
# Its DKIM key's selector, which is none of the common ones a check tries.
HEALTHY_SELECTOR = "ed"
BROKEN_DOMAIN = "broken.web.test"
HOSTILE_DOMAIN = "xss.test"
# The domain of the open server's one-time test addresses.
INBOX_DOMAIN = "inbox.web.test"


@dataclass(frozen=True)
class Envelope:
    """What the receiving server saw of the SMTP session."""

    ip: str
    helo: str
    mail_from: str


@dataclass(frozen=True)
class Message:
    """A message as a person pastes it, and the envelope typed beside it."""

    text: str
    envelope: Envelope


def message(name: str, envelope: Envelope) -> Message:
    # Pasted as the fixture is: the browser sends a textarea's lines with
    # CRLF whatever it was given.
    return Message((FIXTURES / name).read_bytes().decode("utf-8"), envelope)


def sending_host_address() -> str:
    """The address of mail.web.test, web.test's sending host, as web.zone
    publishes it (the one its SPF record names)."""
    zone = (FIXTURES / "web.zone").read_text()
    found = re.search(r"^mail\s+IN\s+A\s+(\S+)", zone, re.MULTILINE)
    assert found, "web.zone has no A record for mail.web.test"
    return found.group(1)


# web.test's own sending host, as web.zone and reverse.zone describe it.
WEB_ENVELOPE = Envelope(
    ip=sending_host_address(), helo="mail.web.test", mail_from="bounce@web.test"
)

SIGNED = message("signed.eml", WEB_ENVELOPE)
# The d= and s= tags of its signature.
SIGNED_BY = ("web.test", "ed")

# Pasted without an envelope: it is read from the message, which has none.
HOSTILE = message("xss.eml", Envelope(ip="", helo="", mail_from=""))
