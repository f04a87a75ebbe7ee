"""The test inbox's benchmark, driven by benches/smtp_inbox.sh against a
running `mailvet serve --smtp` that trusts PROXY headers from 127.0.0.1
and asks only the fixture DNS server.

Two phases, each message the signed newsletter of fixtures/web to a fresh
test address (POST /v1/inboxes):

- one after another: LATENCY_MESSAGES messages from web.test's own host
  (203.0.113.20, as a PROXY header names it), each timed from the final
  `.` sent to the final reply read. The receiver answers once the report
  is made and saved, so that reply is the moment the report is ready.
- at once: SESSIONS sessions, each from a client of its own (198.51.100.x
  and up, so no per-client limit applies), all connected with RCPT TO
  accepted before any sends its message; then all send, each timed the
  same way.

Prints each phase's median, p95 and worst in ms, and the serve process's
peak resident memory (VmHWM of /proc/PID/status) after each phase. Every
reply must be the one of a message accepted; anything else fails the run.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MESSAGE = (REPO / "fixtures/web/signed.eml").read_bytes().replace(b"\r\n", b"\n")
MESSAGE = MESSAGE.replace(b"\n", b"\r\n")
if not MESSAGE.endswith(b"\r\n"):
    MESSAGE += b"\r\n"
STUFFED = b"".join(
    (b"." + line if line.startswith(b".") else line)
    for line in MESSAGE.splitlines(keepends=True)
)


def new_address(http: str) -> str:
    request = urllib.request.Request(http + "/v1/inboxes", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["address"]


class Session:
    """One SMTP session over a raw socket, opened with a PROXY v1 header."""

    def __init__(self, smtp: tuple[str, int], client: str):
        self.sock = socket.create_connection(smtp, timeout=120)
        self.file = self.sock.makefile("rb")
        self.sock.sendall(f"PROXY TCP4 {client} 127.0.0.1 49152 25\r\n".encode())
        self.expect(220)

    def reply(self) -> tuple[int, str]:
        text = []
        while True:
            line = self.file.readline().decode(errors="replace")
            if not line:
                return 0, "".join(text)
            text.append(line)
            if line[3:4] != "-":
                return int(line[:3]), "".join(text)

    def expect(self, code: int) -> None:
        got, text = self.reply()
        if got != code:
            raise RuntimeError(f"expected {code}, got {text!r}")

    def command(self, line: str, code: int) -> None:
        self.sock.sendall(line.encode() + b"\r\n")
        self.expect(code)

    def open(self, address: str) -> None:
        self.command("EHLO mail.web.test", 250)
        self.command("MAIL FROM:<bounce@web.test>", 250)
        self.command(f"RCPT TO:<{address}>", 250)
        self.command("DATA", 354)

    def send(self) -> float:
        """Sends the message; the seconds from the final `.` to the reply."""
        self.sock.sendall(STUFFED)
        started = time.perf_counter()
        self.sock.sendall(b".\r\n")
        code, text = self.reply()
        elapsed = time.perf_counter() - started
        if code != 250:
            raise RuntimeError(f"message refused: {text!r}")
        self.command("QUIT", 221)
        self.sock.close()
        return elapsed


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(name: str, seconds: list[float], pid: int) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[max(0, int(len(ms) * 0.95 + 0.5) - 1)]
    print(
        f"{name:<28} n={len(ms):<4} median {ms[len(ms) // 2]:7.1f} ms  "
        f"p95 {p95:7.1f} ms  worst {ms[-1]:7.1f} ms  serve VmHWM {peak_mb(pid):6.1f} MB",
        flush=True,
    )


def main() -> None:
    http, smtp_port, pid, latency_messages, sessions = sys.argv[1:6]
    smtp = ("127.0.0.1", int(smtp_port))
    pid = int(pid)

    print(f"serve VmHWM at start: {peak_mb(pid):.1f} MB", flush=True)
    times = []
    for _ in range(int(latency_messages)):
        session = Session(smtp, "203.0.113.20")
        session.open(new_address(http))
        times.append(session.send())
    report("one after another", times, pid)

    count = int(sessions)
    addresses = [new_address(http) for _ in range(count)]
    first = ipaddress.ip_address("198.51.100.1")
    all_open = threading.Barrier(count)
    results: list[float] = []
    failures: list[str] = []

    def one(i: int) -> None:
        try:
            session = Session(smtp, str(first + i))
            session.open(addresses[i])
        except Exception as failed:  # reported below, and the run fails
            failures.append(f"session {i}: {failed}")
            all_open.abort()
            return
        try:
            all_open.wait()
            results.append(session.send())
        except Exception as failed:
            failures.append(f"session {i}: {failed}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit("\n".join(failures[:10]))
    report(f"{count} sessions at once", results, pid)


if __name__ == "__main__":
    main()
