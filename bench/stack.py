"""One bench run (Stack): it owns the run's database, Redis db, sandbox and worker processes, and is the
one interface the benches and the campaigns (tests/proof) call. The work is done by one object a job:

- `sandbox_admin.SandboxAdmin` (`stack.sandbox`): the sandbox's own API: realms, faults, its log.
- `core_data.CoreData` (`stack.data`): what CrewFlow writes: companies, timecards, approvals, Sync Now.
- `readback.Readback` (`stack.results`): what a run reads back: states, synced times, the reconciliation.

Stack's methods of the same names hand over to them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from core_data import BenchCompany, CoreData  # noqa: E402
from procs import CLI, SandboxProcess, WorkerProcess  # noqa: E402
from readback import Readback, Reconciliation  # noqa: E402
from report import log  # noqa: E402
from sandbox_admin import SandboxAdmin  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402
from stores import REDIS_BASE_URL, claim_redis_db, create_database, drop_database, release_redis_db  # noqa: E402


def env_for(database_url: str, redis_url: str, sandbox_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QBO_", "PYTEST"))}
    env.update({
        "QBOI_ENV": "dev", "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
        "QBO_API_BASE_URL": sandbox_url, "QBO_AUTHORIZE_URL": f"{sandbox_url}/connect/oauth2",
        "QBO_TOKEN_URL": f"{sandbox_url}/oauth2/v1/tokens/bearer",
        "QBO_REVOKE_URL": f"{sandbox_url}/v2/oauth2/tokens/revoke",
        "QBO_DISCOVERY_URL": f"{sandbox_url}/.well-known/openid_configuration",
        "EXPORT_DIR": tempfile.mkdtemp(prefix="qbo-bench-exports-"),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}",
    })
    env.update(extra)
    return env


class Stack:
    """One bench run: database, Redis db, sandbox, workers, and the companies it created."""

    def __init__(self, name: str, sandbox_url: str | None = None, database_url: str | None = None,
                 redis_url: str | None = None) -> None:
        self.name = name
        self._external_db = database_url
        self._external_redis = redis_url
        self.logdir = Path(tempfile.mkdtemp(prefix=f"qbo-bench-{name}-"))
        self._external_sandbox = sandbox_url
        self.sandbox_proc: SandboxProcess | None = None
        self.workers: list[WorkerProcess] = []
        self.companies: list[BenchCompany] = []
        self.worker_argv: list[str] = [CLI, "worker"]
        self.worker_env_extra: dict[str, str] = {}
        # Pub/sub channels are global across Redis databases: this run's events stay behind its own prefix.
        self.channel_prefix = f"qbo-bench-{name}-{uuid.uuid4().hex[:8]}:"

    # ---- lifecycle
    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, name: str, *, sandbox_url: str | None = None, database_url: str | None = None,
                   redis_url: str | None = None, redis_base: str = REDIS_BASE_URL) -> AsyncIterator[Stack]:
        """A run; pass `database_url`/`redis_url`/`sandbox_url` to use existing ones (nothing created/dropped)."""
        stack = cls(name, sandbox_url, database_url, redis_url)
        try:
            await stack._start(redis_base)
            yield stack
        finally:
            await stack._stop()

    async def _start(self, redis_base: str) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings
        from redis.asyncio import Redis

        from qbo_integration.db.session import make_engine, make_sessionmaker
        from qbo_integration.worker.queue import JobQueue

        self.redis_base = redis_base
        if self._external_db:
            self.database_url = self._external_db
        else:
            log(f"{self.name}: creating the database")
            self.db_name, self.database_url = await create_database(self.name)
            log(f"{self.name}: database {self.db_name} ready; starting the sandbox")
        if self._external_redis:
            self.redis_url = self._external_redis
        else:
            self.redis_db = claim_redis_db(redis_base)
            self.redis_url = f"{redis_base}/{self.redis_db}"
        if self._external_sandbox:
            self.sandbox_url = self._external_sandbox
        else:
            self.sandbox_proc = SandboxProcess(self.logdir)
            self.sandbox_url = self.sandbox_proc.base_url
        self.engine: AsyncEngine = make_engine(self.database_url, pool_size=5)
        self.sm: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.redis = Redis.from_url(self.redis_url)
        self.arq = await create_pool(RedisSettings.from_dsn(self.redis_url))
        self.queue = JobQueue(self.arq)
        self.http = httpx.AsyncClient(base_url=self.sandbox_url, timeout=120)
        self.sandbox = SandboxAdmin(self.http)
        log(f"{self.name}: sandbox at {self.sandbox_url}, redis {self.redis_url}, logs in {self.logdir}")

    async def _stop(self) -> None:
        for w in self.workers:
            w.stop()
        for attr in ("http", "arq", "redis"):
            if hasattr(self, attr):
                with contextlib.suppress(Exception):
                    await getattr(self, attr).aclose()
        if hasattr(self, "engine"):
            await self.engine.dispose()
        if self.sandbox_proc:
            self.sandbox_proc.stop()
        if hasattr(self, "redis_db"):
            release_redis_db(self.redis_db, self.redis_base)
        if hasattr(self, "db_name") and not os.environ.get("BENCH_KEEP_DB"):
            await drop_database(self.db_name)

    # ---- workers
    def env(self, **extra: str) -> dict[str, str]:
        return env_for(self.database_url, self.redis_url, self.sandbox_url,
                       **{"EVENT_CHANNEL_PREFIX": self.channel_prefix, **self.worker_env_extra, **extra})

    def start_worker(self) -> WorkerProcess:
        n = len(self.workers)
        log_path = self.logdir / f"worker-{n}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(self.worker_argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=ROOT)
        w = WorkerProcess(proc, log_path)
        self.workers.append(w)
        return w

    def start_workers(self, k: int) -> list[WorkerProcess]:
        return [self.start_worker() for _ in range(k)]

    async def workers_ready(self, timeout: float = 900.0) -> None:
        """Wait until every worker answered arq's health check key (they are consuming jobs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for w in self.workers:
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker {w.pid} exited ({w.proc.returncode}); see {w.log_path}")
            keys = await self.redis.keys("*health-check*")
            if keys:
                log(f"{self.name}: {len(self.workers)} worker(s) ready")
                return
            await asyncio.sleep(0.2)
        raise TimeoutError("workers did not start")

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers = []

    # ---- the objects that do the work (built on each use: a campaign may swap `sm` for a wider pool)
    @property
    def data(self) -> CoreData:
        return CoreData(self.sm, self.sandbox, self.redis, self.queue, self.channel_prefix, self.companies)

    @property
    def results(self) -> Readback:
        return Readback(self.sm, self.sandbox)

    # ---- sandbox
    async def new_realm(self) -> str:
        return await self.sandbox.new_realm()

    async def set_faults(self, realm: str, **faults: Any) -> dict[str, Any]:
        return await self.sandbox.set_faults(realm, **faults)

    async def set_latency(self, realms: Sequence[str], latency: dict[str, Any] | None = None) -> None:
        await self.sandbox.set_latency(realms, latency)

    async def realm_log(self, realm: str, since: float = 0) -> list[dict[str, Any]]:
        return await self.sandbox.realm_log(realm, since)

    async def activities(self, realm: str) -> list[dict[str, Any]]:
        return await self.sandbox.activities(realm)

    # ---- Core data
    async def add_company(self, index: int, *, enabled: bool = True, realm: str | None = None) -> BenchCompany:
        return await self.data.add_company(index, enabled=enabled, realm=realm)

    async def add_companies(self, n: int, **kw: Any) -> list[BenchCompany]:
        return await self.data.add_companies(n, **kw)

    async def add_timecards(self, c: BenchCompany, n: int, *, approved: bool = True,
                            approved_at: datetime | None = None) -> list[uuid.UUID]:
        return await self.data.add_timecards(c, n, approved=approved, approved_at=approved_at)

    async def approve(self, c: BenchCompany, timecard_id: uuid.UUID) -> datetime:
        return await self.data.approve(c, timecard_id)

    async def approve_many(self, c: BenchCompany, timecard_ids: Sequence[uuid.UUID]) -> int:
        return await self.data.approve_many(c, timecard_ids)

    async def set_enabled(self, companies: Sequence[BenchCompany], enabled: bool) -> None:
        await self.data.set_enabled(companies, enabled)

    async def request_sync(self, companies: Sequence[BenchCompany]) -> float:
        return await self.data.request_sync(companies)

    # ---- read-backs
    async def state_counts(self, companies: Sequence[BenchCompany] | None = None) -> dict[str, int]:
        return await self.results.state_counts(companies)

    async def wait_synced(self, companies: Sequence[BenchCompany], total: int, timeout: float,
                          interval: float = 1.0, on_tick: Any = None) -> bool:
        return await self.results.wait_synced(companies, total, timeout, interval, on_tick)

    async def synced_times(self, companies: Sequence[BenchCompany]) -> dict[uuid.UUID, list[datetime]]:
        return await self.results.synced_times(companies)

    async def http_stats(self, companies: Sequence[BenchCompany], since: float = 0) -> dict[str, int]:
        return await self.results.http_stats(companies, since)

    async def reconcile(self, companies: Sequence[BenchCompany]) -> Reconciliation:
        return await self.results.reconcile(companies)

    async def audit_counts(self, companies: Sequence[BenchCompany]) -> dict[tuple[str, str], int]:
        return await self.results.audit_counts(companies)

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await self.results.sql(statement, **params)
