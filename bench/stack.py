"""One bench run (Stack): database, Redis, sandbox, workers, companies, timecards."""

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from procs import CLI, SandboxProcess, WorkerProcess  # noqa: E402
from report import log  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402
from stack_results import Reconciliation, StackResults, timeactivity_hours  # noqa: E402,F401
from stores import REDIS_BASE_URL, claim_redis_db, create_database, drop_database, release_redis_db  # noqa: E402

#: QBO-like latency: the sandbox adds latencyMs + uniform(0, jitterMs) -> 400 ms +- 100 ms.
QBO_LATENCY = {"latencyMs": 300, "jitterMs": 200}
DEFAULT_TZ = "America/Denver"
HOURLY_RATE = 65  # billable time needs a bill rate (HourlyRate): QBO refuses it without one
BASE_DAY = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 07:00 in Denver


# ------------------------------------------------------------------------------------ company data


@dataclass
class BenchCompany:
    index: int
    company_id: uuid.UUID
    integration_id: uuid.UUID
    realm_id: str
    worker_id: uuid.UUID
    project_id: uuid.UUID
    cost_code_id: uuid.UUID
    access_token: str
    timecards: list[uuid.UUID] = field(default_factory=list)


def bench_tag(timecard_id: uuid.UUID) -> str:
    """The timecard note: how the reconciliation finds the TimeActivity (it becomes the Description)."""
    return f"bench {timecard_id}"


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


class Stack(StackResults):
    """One bench run: database, Redis db, sandbox, workers, and the data it created (what it reads back:
    stack_results.StackResults)."""

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

        from qbo_integration.config import DEV_ENCRYPTION_KEY
        from qbo_integration.connections.crypto import TokenCipher
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
        self.cipher = TokenCipher(DEV_ENCRYPTION_KEY)
        self.http = httpx.AsyncClient(base_url=self.sandbox_url, timeout=120)
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

    # ---- sandbox
    async def new_realm(self) -> str:
        r = await self.http.post("/_sandbox/realms", json={"sample": True})
        r.raise_for_status()
        realm = str(r.json()["realmId"])
        # KNOWN BUG (issue 15): the client bursts past 10 requests/s, so the bench lifts that sandbox limit.
        (await self.http.put(f"/_sandbox/realms/{realm}/limits", json={"callsPerSecond": 1000})).raise_for_status()
        return realm

    async def set_faults(self, realm: str, **faults: Any) -> dict[str, Any]:
        r = await self.http.put(f"/_sandbox/realms/{realm}/faults", json=faults)
        r.raise_for_status()
        return dict(r.json())

    async def set_latency(self, realms: Sequence[str], latency: dict[str, Any] | None = None) -> None:
        for realm in realms:
            await self.set_faults(realm, **(latency or QBO_LATENCY))

    async def realm_log(self, realm: str, since: float = 0) -> list[dict[str, Any]]:
        r = await self.http.get(f"/_sandbox/realms/{realm}/log", params={"since": since})
        r.raise_for_status()
        return list(r.json())

    async def activities(self, realm: str) -> list[dict[str, Any]]:
        r = await self.http.get(f"/_sandbox/realms/{realm}/entities/TimeActivity")
        r.raise_for_status()
        return [a for a in r.json()["items"] if a.get("status") != "Deleted"]

    # ---- Core data + integrations
    async def add_company(self, index: int, *, enabled: bool = True, realm: str | None = None) -> BenchCompany:
        from qbo_integration.connections.crypto import aad_for
        from qbo_integration.connections.models import Integration
        from qbo_integration.core_platform.models import Company, CostCode, Project, User
        from qbo_integration.mapping.models import MappingProfile

        realm = realm or await self.new_realm()
        grant = await self.http.post(f"/_sandbox/realms/{realm}/grants")
        grant.raise_for_status()
        tokens = grant.json()
        now = datetime.now(UTC)
        c = BenchCompany(index, uuid.uuid4(), uuid.uuid4(), realm, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(),
                         tokens["access_token"])
        aad = aad_for(c.integration_id)
        async with self.sm() as s:
            s.add(Company(id=c.company_id, name=f"Bench Co {index}", timezone=DEFAULT_TZ,
                          admin_email=f"admin{index}@bench.test"))
            await s.flush()
            s.add(User(id=c.worker_id, company_id=c.company_id, name="Emily Platt", email=f"w{index}@bench.test",
                       external_ids={"qbo": "1"}))
            s.add(Project(id=c.project_id, company_id=c.company_id, name="Cool Cars", external_ids={"qbo": "1"}))
            s.add(CostCode(id=c.cost_code_id, company_id=c.company_id, code="100", name="Framing"))
            s.add(MappingProfile(id=uuid.uuid4(), company_id=c.company_id, name="Default", active=True,
                                 cost_code_field="ServiceItem",
                                 config={"costCodeMapping": {str(c.cost_code_id): "1"},
                                         "hourlyRates": {"default": HOURLY_RATE}}))
            s.add(Integration(
                id=c.integration_id, company_id=c.company_id, type="quickbooks", enabled=enabled, status="healthy",
                realm_id=realm, qbo_company_name=f"Bench Co {index}", connection_status="connected",
                connection_changed_at=now, connected_by="bench",
                access_token_enc=self.cipher.encrypt(tokens["access_token"], aad),
                refresh_token_enc=self.cipher.encrypt(tokens["refresh_token"], aad),
                access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
                refresh_token_expires_at=now + timedelta(seconds=int(tokens["x_refresh_token_expires_in"])),
            ))
            await s.commit()
        self.companies.append(c)
        return c

    async def add_companies(self, n: int, **kw: Any) -> list[BenchCompany]:
        start = len(self.companies)
        return [await self.add_company(start + i, **kw) for i in range(n)]

    async def add_timecards(self, c: BenchCompany, n: int, *, approved: bool = True,
                            approved_at: datetime | None = None) -> list[uuid.UUID]:
        """n timecards (bulk insert), varying length 4.0-8.0 h with a 30-minute break."""
        from qbo_integration.core_platform.models import Timecard

        ids: list[uuid.UUID] = []
        now = approved_at or datetime.now(UTC)
        rows = []
        for i in range(n):
            tid = uuid.uuid4()
            k = len(c.timecards) + i
            start = BASE_DAY + timedelta(days=k // 4, hours=(k % 4) * 0.25)
            hours = 4.5 + (k % 9) * 0.5
            rows.append({
                "id": tid, "company_id": c.company_id, "worker_id": c.worker_id, "project_id": c.project_id,
                "cost_code_id": c.cost_code_id, "clock_in": start, "clock_out": start + timedelta(hours=hours),
                "break_minutes": 30, "total_hours": Decimal(str(hours - 0.5)), "billable": True,
                "notes": bench_tag(tid), "status": "approved" if approved else "submitted",
                "approved_at": now if approved else None, "version": 1,
            })
            ids.append(tid)
        async with self.sm() as s:
            for start_i in range(0, len(rows), 2000):
                await s.execute(insert(Timecard), rows[start_i:start_i + 2000])
            await s.commit()
        c.timecards.extend(ids)
        return ids

    async def approve(self, c: BenchCompany, timecard_id: uuid.UUID) -> datetime:
        """Approve a submitted timecard as Core does (version + 1) and publish `timecard.approved`."""
        import json

        from qbo_integration.core_platform.models import Timecard

        now = datetime.now(UTC)
        async with self.sm() as s:
            version = (await s.execute(
                update(Timecard).where(Timecard.id == timecard_id)
                .values(status="approved", approved_at=now, version=Timecard.version + 1)
                .returning(Timecard.version))).scalar_one()
            await s.commit()
        event = {"event": "timecard.approved", "eventId": str(uuid.uuid4()), "occurredAt": now.isoformat(),
                 "companyId": str(c.company_id), "timecardId": str(timecard_id), "version": version}
        await self.redis.publish(self.channel_prefix + "timecard.approved", json.dumps(event))
        return now

    async def approve_many(self, c: BenchCompany, timecard_ids: Sequence[uuid.UUID]) -> int:
        """Approve several timecards in one statement, then publish one event each.

        Returns how many events could not be published (Redis down): the sweep must find those."""
        import json

        from qbo_integration.core_platform.models import Timecard

        now = datetime.now(UTC)
        async with self.sm() as s:
            rows = (await s.execute(
                update(Timecard).where(Timecard.id.in_(list(timecard_ids)))
                .values(status="approved", approved_at=now, version=Timecard.version + 1)
                .returning(Timecard.id, Timecard.version))).all()
            await s.commit()
        unpublished = 0
        for tid, version in rows:
            event = {"event": "timecard.approved", "eventId": str(uuid.uuid4()), "occurredAt": now.isoformat(),
                     "companyId": str(c.company_id), "timecardId": str(tid), "version": version}
            try:
                await self.redis.publish(self.channel_prefix + "timecard.approved", json.dumps(event))
            except Exception:  # noqa: BLE001 - Redis is down: Core's event is lost, as pub/sub does
                unpublished += 1
        return unpublished

    async def set_enabled(self, companies: Sequence[BenchCompany], enabled: bool) -> None:
        from qbo_integration.connections.models import Integration

        async with self.sm() as s:
            await s.execute(update(Integration).where(Integration.company_id.in_([c.company_id for c in companies]))
                            .values(enabled=enabled))
            await s.commit()

    async def request_sync(self, companies: Sequence[BenchCompany]) -> float:
        """Sync Now for each company (public sync.service.request_sync); returns the monotonic start."""
        from qbo_integration.sync.service import request_sync

        t0 = time.monotonic()
        for c in companies:
            async with self.sm() as s:
                await request_sync(s, self.queue, c.company_id, trigger="admin")
                await s.commit()
                await self.queue.flush(s)
        return t0
