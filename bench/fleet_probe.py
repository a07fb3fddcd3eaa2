"""What a fleet run costs outside the workers' own CPU: PostgreSQL connections and backend CPU of the
bench database (sampled from pg_stat_activity), the sandbox's CPU, and the SQL statements the
counting workers (bench/counting_worker.py, one JSON file per worker) sent.

    probe = PgProbe(database_url)
    task = asyncio.create_task(probe.run())
    ...
    probe.stop(); await task
    probe.peak_connections, probe.backend_cpu_seconds()
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
from procs import proc_cpu_seconds
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

HARNESS = "bench-harness"  # application_name of the bench's own connections (not counted)

_SAMPLE = f"""
SELECT pid, state FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND application_name <> '{HARNESS}'
"""


def tag_harness(engine: AsyncEngine) -> None:
    """Name the bench's own connections (opened after this call) so that the probe leaves them out."""

    @event.listens_for(engine.sync_engine, "connect")
    def _name(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute(f"SET application_name TO '{HARNESS}'")
        cur.close()


class PgProbe:
    """Samples the bench database's client connections (not the bench's own) every `interval` seconds."""

    def __init__(self, database_url: str, interval: float = 0.25) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        self.interval = interval
        self.peak_connections = 0
        self.peak_active = 0
        self.samples = 0
        self._cpu: dict[int, float] = {}  # backend pid -> CPU seconds last seen (a closed backend keeps its last)
        self._cpu0: dict[int, float] = {}
        self._stop = asyncio.Event()

    async def run(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": HARNESS})
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(_SAMPLE)
                self.samples += 1
                self.peak_connections = max(self.peak_connections, len(rows))
                self.peak_active = max(self.peak_active, sum(1 for r in rows if r["state"] == "active"))
                for r in rows:
                    pid = int(r["pid"])
                    cpu = proc_cpu_seconds(pid)
                    if pid not in self._cpu:
                        self._cpu0[pid] = cpu if self.samples == 1 else 0.0
                    self._cpu[pid] = max(self._cpu.get(pid, 0.0), cpu)
                try:
                    await asyncio.wait_for(self._stop.wait(), self.interval)
                except TimeoutError:
                    pass
        finally:
            await conn.close()

    def stop(self) -> None:
        self._stop.set()

    def backend_cpu_seconds(self) -> float:
        """CPU of the backends serving this database since the probe started (a lower bound: a backend
        that opened and closed between two samples is missed; the sampler's own backend is left out)."""
        return sum(cpu - self._cpu0.get(pid, 0.0) for pid, cpu in self._cpu.items())


def statement_totals(directory: Path) -> dict[str, int]:
    """Sum of the counting workers' files (`{pid}.json`) in `directory`."""
    out: dict[str, int] = {}
    for f in directory.glob("*.json"):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        for k, v in data.items():
            out[k] = out.get(k, 0) + int(v)
    return out
