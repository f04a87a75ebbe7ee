"""The two real servers a browser test talks to, started and stopped here.

The fixture DNS server (examples/fixture_dns.rs) serves the world's zones on
127.0.0.1 and prints `listening 127.0.0.1:PORT` once it answers; `mailvet
serve` listens on a free loopback port, asks only that DNS server, keeps its
store (SQLite) in a scratch data directory, and is ready when `/readyz`
says so. Readiness is polled, never slept for; a server that exits early
fails the run with its log. Both are stopped (SIGTERM, then SIGKILL) when
the run ends, whatever happened.

The binaries are the debug builds `cargo build --bin mailvet --example
fixture_dns` makes; MAILVET_BIN and MAILVET_FIXTURE_DNS name others.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from world import REPO

MAILVET_BIN = Path(os.environ.get("MAILVET_BIN", REPO / "target/debug/mailvet"))
FIXTURE_DNS_BIN = Path(
    os.environ.get("MAILVET_FIXTURE_DNS", REPO / "target/debug/examples/fixture_dns")
)

# Where a run keeps the servers' logs (and screenshots not meant for docs/).
RUN_DIR = REPO / "target/browser/run"

# The one API key of the server started with one (at least 16 characters).
API_KEY = "browser-test-key-5b1f0c2e"

# How long a server may take to become ready: a debug build on a busy
# two-core machine starts in well under a second.
START_DEADLINE = 60.0


@dataclass
class Server:
    """A child process with its log, stopped by `stop`."""

    name: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def failure(self, what: str) -> RuntimeError:
        """An error naming what went wrong, with the server's log."""
        log = self.log.read_text(errors="replace") if self.log.exists() else ""
        return RuntimeError(f"{self.name}: {what}\n--- {self.log} ---\n{log[-4000:]}")


@contextmanager
def running(started: tuple[Server, str]):
    """The address of a started server, stopped when the block ends."""
    server, address = started
    try:
        yield address
    finally:
        server.stop()


def environment() -> dict[str, str]:
    """The caller's environment without MAILVET_* settings, which would
    change what the servers do."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MAILVET_")}


def require(binary: Path) -> None:
    if not binary.exists():
        raise RuntimeError(
            f"{binary} is missing: run `cargo build --ignore-rust-version "
            "--bin mailvet --example fixture_dns` first"
        )


def start_dns(zones: list[Path], logs: Path) -> tuple[Server, str]:
    """Starts the fixture DNS server on `zones`; answers it and its address."""
    require(FIXTURE_DNS_BIN)
    log = logs / "fixture_dns.log"
    process = subprocess.Popen(
        [str(FIXTURE_DNS_BIN), *map(str, zones)],
        cwd=REPO,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
    )
    server = Server("fixture DNS server", process, log)
    try:
        line = read_line(process, time.monotonic() + START_DEADLINE)
    except Exception:
        server.stop()
        raise
    if not line.startswith("listening "):
        server.stop()
        raise server.failure(f"printed {line!r} instead of its address")
    return server, line.split()[1]


def read_line(process: subprocess.Popen, deadline: float) -> str:
    """The first line `process` prints, waiting until `deadline`."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    while b"\n" not in buffer:
        left = deadline - time.monotonic()
        if left <= 0 or not selector.select(timeout=left):
            raise RuntimeError("the fixture DNS server printed no address in time")
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        buffer += chunk
    selector.close()
    return buffer.decode(errors="replace").strip()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_mailvet(
    name: str, dns: str, run_dir: Path, flags: tuple[str, ...] = ()
) -> tuple[Server, str]:
    """Starts `mailvet serve` asking `dns`, with `flags` and a data
    directory and log of its own under `run_dir` named `name`; answers it
    and its base URL."""
    require(MAILVET_BIN)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = run_dir / f"data-{name}"
    data_dir.mkdir()
    log = run_dir / f"mailvet-serve-{name}.log"
    process = subprocess.Popen(
        [
            str(MAILVET_BIN),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--dns",
            dns,
            "--data-dir",
            str(data_dir),
            # The tests load many pages a minute from one address.
            "--rate-limit",
            "0",
            *flags,
        ],
        cwd=REPO,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server("mailvet serve", process, log)
    deadline = time.monotonic() + START_DEADLINE
    while True:
        if process.poll() is not None:
            raise server.failure(f"exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return server, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise server.failure("did not become ready")
        time.sleep(0.05)
