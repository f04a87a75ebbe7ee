#!/usr/bin/env python3
"""The send-a-test inbox against real SMTP clients: Python's smtplib and,
when installed, swaks, talking to a running `mailvet serve --smtp` that
asks only the fixture DNS server.

    python3 tests/smtp/clients.py target/debug/mailvet 127.0.0.1:DNSPORT

The server is started here, behind a "balancer" on 127.0.0.1
(--smtp-proxy-from 127.0.0.1): every connection opens with a PROXY
header naming a documentation address, the way a load balancer's would.
A message from 192.0.2.10 (msg.test's sending host) must get the same
SPF, DKIM and DMARC verdicts as `mailvet message` with that envelope;
STARTTLS is recorded; relay attempts, unknown and used addresses,
oversized messages and bad commands get their exact replies and store
nothing. Exits non-zero on the first failure.
"""

import json
import os
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

SENDER_IP = "192.0.2.10"
HELO = "mail.msg.test"
BOUNCE = "bounce@msg.test"
INBOX_DOMAIN = "inbox.test"
MESSAGE = "fixtures/messages/msg-test-newsletter.eml"
MAX_SIZE = 200_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proxy_v2(source, source_port=49152, dest="198.51.100.25", dest_port=25):
    """A PROXY protocol v2 header for TCP over IPv4."""
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    addresses = socket.inet_aton(source) + socket.inet_aton(dest)
    addresses += struct.pack("!HH", source_port, dest_port)
    return signature + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) + addresses


class ProxiedSMTP(smtplib.SMTP):
    """smtplib's client behind a balancer: its socket opens with a PROXY
    header naming `source`."""

    def __init__(self, host, port, source=SENDER_IP):
        self.source = source
        super().__init__(host, port, local_hostname=HELO, timeout=30)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        sock.sendall(proxy_v2(self.source))
        return sock


class Server:
    def __init__(self, binary, dns):
        self.dir = tempfile.mkdtemp(prefix="mailvet-smtp-clients-")
        self.http = free_port()
        self.smtp = free_port()
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--dns", dns,
             "--listen", f"127.0.0.1:{self.http}",
             "--smtp", f"127.0.0.1:{self.smtp}",
             "--inbox-domain", INBOX_DOMAIN,
             "--smtp-proxy-from", "127.0.0.1",
             "--max-message-size", str(MAX_SIZE),
             "--body-memory", str(MAX_SIZE),
             "--smtp-memory", str(MAX_SIZE * 4),
             "--smtp-max-bad-commands", "5",
             "--data-dir", self.dir,
             "--rate-limit", "0"],
            stdout=self.log, stderr=self.log)
        for _ in range(100):
            try:
                self.get("/readyz")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit(f"mailvet serve did not start; see {self.dir}/serve.log")

    def request(self, method, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")

    def get(self, path):
        return self.request("GET", path)[1]

    def new_address(self):
        status, made = self.request("POST", "/v1/inboxes")
        check(status == 201, f"POST /v1/inboxes: {status}")
        return made["token"], made["address"]

    def status(self, token):
        return self.get(f"/v1/inboxes/{token}")["status"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


failures = 0


def check(condition, what):
    global failures
    if condition:
        print(f"ok   {what}")
    else:
        failures += 1
        print(f"FAIL {what}")


def refused(action):
    """Runs `action`; the reply smtplib refused it with, `code status`."""
    try:
        action()
    except smtplib.SMTPRecipientsRefused as e:
        (reply_code, text), = e.recipients.values()
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError, smtplib.SMTPResponseException) as e:
        reply_code, text = e.smtp_code, e.smtp_error
    else:
        return "accepted"
    return f"{reply_code} {text.decode(errors='replace')[:5]}"


def mailvet_message(binary, dns, ip):
    """`mailvet message` with the envelope the test sends with."""
    run = subprocess.run(
        [binary, "message", "--dns", dns, "--ip", ip, "--helo", HELO,
         "--mail-from", BOUNCE, "--format", "json", MESSAGE],
        capture_output=True, check=False)
    return json.loads(run.stdout)


def verdicts(report):
    return {
        "verdict": report["verdict"],
        "spf": report["spf"]["result"],
        "dkim": [s["result"] for s in report["dkim"]],
        "dmarc": report["dmarc"]["result"],
        "iprev": (report.get("iprev") or {}).get("result"),
    }


def main():
    binary, dns = sys.argv[1], sys.argv[2]
    server = Server(binary, dns)
    try:
        run(server, binary, dns)
    finally:
        server.stop()
    if failures:
        sys.exit(f"{failures} check(s) failed")


def run(server, binary, dns):
    message = open(MESSAGE, "rb").read()

    # A message over STARTTLS, from the address the PROXY header names.
    token, address = server.new_address()
    check(server.status(token) == "waiting", "a new address waits")
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        smtp.ehlo(HELO)
        check(smtp.has_extn("size") and smtp.esmtp_features["size"] == str(MAX_SIZE),
              "EHLO advertises SIZE")
        check(smtp.has_extn("starttls") and not smtp.has_extn("auth"),
              "EHLO offers STARTTLS and no AUTH")
        context = ssl.create_default_context()
        # The certificate is the self-signed one made at start.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        smtp.starttls(context=context)
        smtp.ehlo(HELO)
        smtp.sendmail(BOUNCE, [address], message)
    shown = server.get(f"/v1/inboxes/{token}")
    check(shown["status"] == "received", "the address received its message")
    report = shown["report"]
    smtp_section = report["smtp"]
    check(smtp_section["client_ip"] == SENDER_IP, "the PROXY header's client is the envelope IP")
    check(smtp_section["starttls"] and smtp_section["tls"]["version"] == "TLSv1_3",
          "STARTTLS and its version are recorded")
    check(smtp_section["helo"] == HELO and smtp_section["mail_from"] == BOUNCE,
          "the HELO and MAIL FROM are recorded")
    lines = " ".join(entry["line"] for entry in smtp_section["transcript"]["lines"])
    check("STARTTLS" in lines and "July offers" not in lines,
          "the transcript has the commands and not the message")
    direct = mailvet_message(binary, dns, SENDER_IP)
    check(verdicts(report) == verdicts(direct),
          f"the verdicts of `mailvet message` with that envelope: {verdicts(report)}")
    check(report["spf"]["result"] == "pass" and report["dmarc"]["result"] == "pass",
          "SPF and DMARC pass from msg.test's sending host")

    # A second message to the same address.
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        outcome = refused(lambda: smtp.sendmail(BOUNCE, [address], message))
    check(outcome == "550 5.1.1", f"a second message is refused: {outcome}")

    # Relay attempts and unknown addresses; nothing stored.
    token, address = server.new_address()
    unknown = f"t-{'0' * 32}@{INBOX_DOMAIN}"
    for rcpt in ["victim@example.com", unknown,
                 address.replace(INBOX_DOMAIN, "elsewhere.test")]:
        with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
            outcome = refused(lambda: smtp.sendmail(BOUNCE, [rcpt], message))
        check(outcome == "550 5.1.1", f"RCPT TO:<{rcpt}> is refused: {outcome}")
    # The postmaster is taken, as RFC 5321 §4.5.1 requires, and its
    # message dropped.
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        outcome = refused(lambda: smtp.sendmail(BOUNCE, [f"postmaster@{INBOX_DOMAIN}"], message))
    check(outcome == "accepted", f"RCPT TO:<postmaster@{INBOX_DOMAIN}> is taken: {outcome}")
    check(server.status(token) == "waiting",
          "nothing stored for the refused recipients or the postmaster")
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        rejected = smtp.sendmail(BOUNCE, [address, "victim@example.com"], message)
    code, text = rejected.get("victim@example.com", (0, b""))
    check(f"{code} {text.decode(errors='replace')[:5]}" == "452 4.5.3"
          and server.status(token) == "received",
          "a second recipient gets 452 4.5.3, and the first the message")
    token2, address2 = server.new_address()

    # Oversize: declared with SIZE (smtplib sends it), and undeclared.
    big = message + b"\r\n" + b"x" * 70 + b"\r\n"
    big = big * (MAX_SIZE // len(big) + 1)
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        outcome = refused(lambda: smtp.sendmail(BOUNCE, [address2], big))
    check(outcome == "552 5.3.4", f"a message declared over SIZE is refused: {outcome}")
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        smtp.ehlo(HELO)
        smtp.mail(BOUNCE)
        smtp.rcpt(address2)
        code, text = smtp.data(big)
        outcome = f"{code} {text.decode(errors='replace')[:5]}"
    check(outcome == "552 5.3.4", f"a message over the limit is refused at its end: {outcome}")
    check(server.status(token2) == "waiting", "nothing stored for the oversized message")

    # Bad commands: five answered, the sixth closes the session.
    with ProxiedSMTP("127.0.0.1", server.smtp) as smtp:
        codes = [smtp.docmd("XYZZY")[0] for _ in range(5)]
        last = smtp.docmd("XYZZY")
        check(codes == [500] * 5 and last[0] == 421,
              f"bad commands get 500 until the cap, then 421: {codes} {last[0]}")

    # swaks, when installed, with its own PROXY header.
    if shutil.which("swaks"):
        token3, address3 = server.new_address()
        run = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(server.smtp),
             "--proxy-version", "2", "--proxy-family", "AF_INET",
             "--proxy-source", SENDER_IP, "--proxy-source-port", "49152",
             "--proxy-dest", "198.51.100.25", "--proxy-dest-port", "25",
             "--helo", HELO, "--from", BOUNCE, "--to", address3,
             "--tls", "--data", "@" + MESSAGE],
            capture_output=True, text=True, check=False)
        check(run.returncode == 0, f"swaks delivers over STARTTLS (exit {run.returncode})")
        if run.returncode != 0:
            print(run.stderr.strip()[-2000:])
        shown = server.get(f"/v1/inboxes/{token3}")
        report = shown.get("report") or {}
        check(shown["status"] == "received"
              and report.get("smtp", {}).get("client_ip") == SENDER_IP
              and report.get("smtp", {}).get("starttls"),
              "swaks's message is reported with its PROXY client and STARTTLS")
        check(report and verdicts(report) == verdicts(direct),
              "swaks's message gets the verdicts of `mailvet message`")
    else:
        print("skip swaks is not installed")


if __name__ == "__main__":
    main()
