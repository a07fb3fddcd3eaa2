"""The README's first command: `qbo-integration dev` comes up on embedded servers and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import psutil

from qbo_integration.devstack.embedded import free_port


def _processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(text in part for part in (p.info["cmdline"] or [])):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_dev_starts_everything_on_embedded_servers_and_ctrl_c_stops_it_all(tmp_path):
    port, sandbox_port, redis_port = free_port(), free_port(), free_port()
    workdir = tmp_path / "dev"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "QBOI_ENV")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbo_integration.cli", "dev", "--embedded", "--port", str(port),
         "--sandbox-port", str(sandbox_port), "--redis-port", str(redis_port), "--workdir", str(workdir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops everything"):
                break
        banner = "".join(lines)
        assert "qbo-integration dev is up" in banner, banner[-3000:]
        assert "embedded PostgreSQL" in banner and f"embedded Redis on 127.0.0.1:{redis_port}" in banner
        pids_line = re.search(r"pids\s+dev (\d+), children ([\d ]+)", banner)
        assert pids_line
        child_pids = [int(x) for x in pids_line.group(2).split()]

        r = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10)
        assert r.status_code == 200, r.text
        assert httpx.get(f"http://127.0.0.1:{sandbox_port}/.well-known/openid_configuration", timeout=10).status_code == 200
        token = re.search(r"admin token\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        company = re.search(r"company\s+([0-9a-f-]{36})", banner).group(1)  # type: ignore[union-attr]
        assert token and company
        # the one-click sign-in: the console's address with the token in its fragment
        link = re.search(r"open\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        assert link == f"http://127.0.0.1:{port}/console/#token={token}"
        assert "<title>" in httpx.get(link, timeout=10).text
        embedded_pids = [p.pid for p in _processes_mentioning(str(workdir))]
        assert embedded_pids, "expected embedded postgres/redis processes under the workdir"
        # The banner names every process it started, the embedded servers included.
        named = dict((what, int(pid)) for what, pid in re.findall(r"(embedded PostgreSQL|embedded Redis) (\d+)", banner))
        assert set(named) == {"embedded PostgreSQL", "embedded Redis"}, banner
        assert set(named.values()) <= set(child_pids) and all(psutil.pid_exists(pid) for pid in named.values())
        assert named["embedded PostgreSQL"] in embedded_pids  # (redis-server renames its process title)
        assert re.search(r"processes\s+API \d+, worker \d+", banner)

        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        assert "qbo-integration dev stopped" in out
        time.sleep(1)
        alive = [pid for pid in child_pids + embedded_pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"processes left running: {alive}"
        assert _processes_mentioning(str(workdir)) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
