#!/usr/bin/env python3
"""The send-a-test inbox under load: N SMTP sessions at once (100 by
default), each behind a PROXY v2 header naming its own documentation
address and delivering the newsletter fixture to its own test address.

    python3 scripts/smtp_load.py target/release/mailvet 127.0.0.1:DNSPORT [SESSIONS]

Start the fixture DNS server first (`target/debug/examples/fixture_dns`
prints its address). The script starts `mailvet serve --smtp` itself, on
loopback, and prints:

- the time from the client's final `.` to the `250` that says the report
  is saved (the report is made and stored before that reply): p50, p95
  and the slowest;
- the server's peak resident memory (VmHWM) over the run;
- how many sessions got a transient (4xx) reply and were retried, as a
  sending MTA would.

The issue's targets: p95 at most 2 s, 100 sessions under 200 MB on
2 cores. Figures go in docs/deploy.md ("SMTP load").
"""

import os
import shutil
import smtplib
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import json
import urllib.request

HELO = "mail.msg.test"
BOUNCE = "bounce@msg.test"
MESSAGE = open("fixtures/messages/msg-test-newsletter.eml", "rb").read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proxy_v2(source):
    addresses = socket.inet_aton(source) + socket.inet_aton("203.0.113.25")
    addresses += struct.pack("!HH", 49152, 25)
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) + addresses


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    binary, dns = sys.argv[1], sys.argv[2]
    sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    data = tempfile.mkdtemp(prefix="mailvet-smtp-load-")
    http, smtp_port = free_port(), free_port()
    server = subprocess.Popen(
        [binary, "serve", "--dns", dns, "--listen", f"127.0.0.1:{http}",
         "--smtp", f"127.0.0.1:{smtp_port}", "--inbox-domain", "inbox.test",
         "--smtp-proxy-from", "127.0.0.1", "--rate-limit", "0",
         "--data-dir", data],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{http}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        addresses = []
        for _ in range(sessions):
            request = urllib.request.Request(f"{base}/v1/inboxes", method="POST")
            with urllib.request.urlopen(request) as response:
                addresses.append(json.loads(response.read())["address"])
        latencies, retried, errors = [], [], []
        start = threading.Barrier(sessions)

        def session(i, address):
            source = f"198.51.100.{i % 254 + 1}" if i < 254 else f"192.0.2.{i % 254 + 1}"
            for attempt in range(5):
                try:
                    class Proxied(smtplib.SMTP):
                        def _get_socket(self, host, port, timeout):
                            sock = socket.create_connection((host, port), timeout)
                            sock.sendall(proxy_v2(source))
                            return sock
                    if attempt == 0:
                        start.wait()
                    with Proxied("127.0.0.1", smtp_port, local_hostname=HELO, timeout=60) as smtp:
                        smtp.ehlo(HELO)
                        smtp.mail(BOUNCE)
                        code, _ = smtp.rcpt(address)
                        if code != 250:
                            raise smtplib.SMTPResponseException(code, b"rcpt")
                        # smtp.data() sends the message and the final "."
                        # in one write, then waits for the reply: nearly all
                        # of its time is the receiver's.
                        began = time.monotonic()
                        code, _ = smtp.data(MESSAGE)
                        if code != 250:
                            raise smtplib.SMTPResponseException(code, b"data")
                        latencies.append(time.monotonic() - began)
                        return
                except smtplib.SMTPResponseException as e:
                    if 400 <= e.smtp_code < 500:
                        retried.append(i)
                        time.sleep(0.5)
                        continue
                    errors.append((i, e.smtp_code))
                    return
            errors.append((i, "retries exhausted"))

        threads = [threading.Thread(target=session, args=(i, a)) for i, a in enumerate(addresses)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")
        print(f"sessions {sessions}, delivered {len(latencies)}, errors {errors}, "
              f"retried after 4xx {len(retried)}")
        if latencies:
            print(f"final '.' to 250 (report saved): p50 {statistics.median(latencies):.3f} s, "
                  f"p95 {p95:.3f} s, max {latencies[-1]:.3f} s")
        print(f"server peak RSS {peak_rss_mb(server.pid):.1f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
