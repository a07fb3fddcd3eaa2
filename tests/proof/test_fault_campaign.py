"""Fault campaign: approved timecards through real worker processes while everything goes wrong.

The sandbox injects 5xx (20 %), timeouts, commit-then-drop (5 %), late commits (2 %: applied after the
client gave up), a 429 storm and an expired token;
the campaign SIGKILLs a worker while it holds claimed rows and restarts it, restarts Redis (a
private redis-server, never the shared one), and stops PostgreSQL for a few seconds then starts it
again (a private server, never the shared one on :5432: the whole run's database lives on it). While
PostgreSQL is down an API (the app in this process) must answer 503, never 500; afterwards it, the
workers and their event listeners go on by themselves: the last wave of approvals is published only
after the restart. Afterwards the sandbox is reconciled against Core:
every approved timecard exactly once in QBO with the right hours, none extra, and every failure
the jobs counted has its audit row. Lost / duplicated / mismatched must all be 0.

Small by default (300 timecards, 3 companies); `FAULT_CAMPAIGN_SIZE=5000` runs the full size
(5 companies). The workers run `tests.proof.fast_worker`: the normal worker with the retry
schedule, reclaim delay, job lock and breaker open time scaled from minutes to seconds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from common import PYTHON, BenchCompany, Stack  # noqa: E402

from tests.private_postgres import PrivatePostgres  # noqa: E402
from tests.private_redis import PrivateRedis  # noqa: E402

SIZE = int(os.environ.get("FAULT_CAMPAIGN_SIZE", "300"))
COMPANIES = 3 if SIZE <= 1000 else 5
DEADLINE = float(os.environ.get("FAULT_CAMPAIGN_TIMEOUT", "240"))
FAULTS = {"error500Rate": 0.1, "error503Rate": 0.1, "timeoutRate": 0.02, "timeoutSeconds": 3,
          "commitThenDropRate": 0.05, "latencyMs": 50, "jitterMs": 100,
          # QBO going on with a write after the client gave up (2 s): committed 4 s after it arrived,
          # so a look-up soon after the timeout cannot see it yet (settled 2 s + 10 s after the last send).
          "lateCommitRate": 0.02, "lateCommitSeconds": 4,
          # Rates alone left some runs with no drop at all (300 timecards go out in ~21 batch requests:
          # 0.95^21 = 34 %): the first two writes of every company lose their answer for certain.
          "commitThenDropFirst": 2}
# At full size the first seconds go to claiming big backlogs: a 4 s storm could pass with no call in it.
STORM_SECONDS = 4 if SIZE <= 1000 else 15
WAVES = 15  # approvals arrive in this many waves, one a second (events), while the faults happen
POSTGRES_AT = WAVES + 3  # s after the start: all waves but the last are out (Core writes to the same server)
POSTGRES_DOWN = 5.0  # seconds PostgreSQL stays stopped
P = "/api/v1/integrations/quickbooks"
CAMPAIGN_ENV = {
    "SYNC_SWEEP_MINUTES": "1",  # the sweep finds the events lost while Redis was down
    "QBO_TIMEOUT_SECONDS": "2",  # the sandbox's "timeouts" sleep 3 s: our client gives up first
    "CAMPAIGN_RETRY_SECONDS": "2,5,10,20,40",  # production: 1, 5, 15, 60, 240 minutes
    "CAMPAIGN_LEASE_SECONDS": "10",  # production: 30 s, renewed every 10 s
    "CAMPAIGN_LOCK_SECONDS": "20",  # production: 300 s
    "CAMPAIGN_BREAKER_OPEN": "3",  # production: 30 minutes
    "CAMPAIGN_THROTTLE_WAIT": "2",  # production: 60 s (Intuit's advice after a 429)
}


@pytest.fixture
def private_redis(tmp_path: Path):
    r = PrivateRedis(tmp_path)
    yield r
    r.stop()


@pytest.fixture
def private_pg():
    pg = PrivatePostgres("campaign")
    yield pg
    pg.close()


@pytest.fixture
async def api(private_pg: PrivatePostgres, private_redis: PrivateRedis, sandbox_server):
    """The API (this process), on the campaign's PostgreSQL and Redis: probed while PostgreSQL is down."""
    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    base = sandbox_server.base_url
    app = create_app(Settings(QBOI_ENV="test", DATABASE_URL=private_pg.url, REDIS_URL=private_redis.url,  # type: ignore[call-arg]
                              QBO_API_BASE_URL=base, QBO_TOKEN_URL=f"{base}/oauth2/v1/tokens/bearer",
                              QBO_DISCOVERY_URL=""))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False), base_url="http://t") as c:
        yield c


async def _dump(stack: Stack, companies: list[BenchCompany], since: float, folder: Path) -> None:
    ids = [c.company_id for c in companies]
    rows = {
        "events": await stack.sql(
            "SELECT company_id::text, timecard_id::text, extract(epoch from at) - :since, kind, code, facts::text, "
            "request_id, job_id::text FROM timecard_sync_events WHERE company_id = ANY(:ids) ORDER BY at, id",
            ids=ids, since=since),
        "jobs": await stack.sql(
            "SELECT company_id::text, id::text, trigger, status, extract(epoch from started_at) - :since, "
            "extract(epoch from completed_at) - :since, timecards_synced, timecards_failed, qbo_calls, qbo_batches, "
            "results::text FROM sync_jobs WHERE company_id = ANY(:ids) ORDER BY started_at", ids=ids, since=since),
    }
    logs = {str(c.company_id): [dict(e, ts=e["ts"] - since) for e in await stack.realm_log(c.realm_id, since)]
            for c in companies}
    _write(folder, {**{k: [list(r) for r in v] for k, v in rows.items()}, "qbo": logs})


def _write(folder: Path, files: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{name}.json").write_text(json.dumps(data, default=str))


async def _faults(stack: Stack, companies: list[BenchCompany], **extra: Any) -> None:
    for c in companies:
        await stack.set_faults(c.realm_id, **FAULTS, seed=c.index + 1, **extra)


class Campaign:
    """The disruptions, each fired once when the sync has progressed far enough."""

    def __init__(self, stack: Stack, companies: list[BenchCompany], redis: PrivateRedis, pg: PrivatePostgres,
                 api: httpx.AsyncClient) -> None:
        self.stack = stack
        self.companies = companies
        self.redis = redis
        self.pg = pg
        self.api = api
        self.done: dict[str, float] = {}
        self.worker_restarts = 0
        self.t0 = time.monotonic()
        self.postgres_back = asyncio.Event()
        # Core's approvals share its database: none is written while PostgreSQL is stopped (a wave in progress
        # finishes first, the next one waits for the restart).
        self.core_writes = asyncio.Lock()
        self.api_down: dict[str, list[int]] = {}  # request -> statuses while PostgreSQL was down
        self.api_after: list[int] = []  # statuses until the API answered as before

    def log(self, key: str, what: str) -> None:
        self.done[key] = round(time.monotonic() - self.t0, 1)
        print(f"  [{self.done[key]:6.1f} s] {what}", flush=True)

    async def step(self, counts: dict[str, int]) -> None:
        t = time.monotonic() - self.t0
        if "storm" not in self.done and t >= 2:
            await self.stack.set_faults(self.companies[0].realm_id, **FAULTS, seed=99,
                                        throttleStormSeconds=STORM_SECONDS, throttleNextRequests=3)
            # A storm of seconds alone could pass with no call in it: the next 3 calls are throttled too.
            self.log("storm", f"429 storm ({STORM_SECONDS} s, and the next 3 calls) on company 0")
        if "expire" not in self.done and t >= 4:
            for c in self.companies:
                await self.stack.http.post(f"/_sandbox/realms/{c.realm_id}/tokens/expire")
            self.log("expire", "every access token expired")
        if "kill" not in self.done and t >= 6 and counts.get("in_flight", 0) > 0:
            victim = self.stack.workers[0]
            victim.kill9()
            self.log("kill", f"SIGKILL worker pid {victim.pid} with {counts['in_flight']} rows in flight")
            self.stack.workers.remove(victim)
            self.stack.start_worker()
            self.log("restart", "worker restarted")
        if "redis" not in self.done and t >= 10:
            await asyncio.to_thread(self.redis.restart)
            self.log("redis", "Redis restarted (all of its data lost)")
        if "postgres" not in self.done and "redis" in self.done and t >= POSTGRES_AT:
            await self.restart_postgres(counts)
        for w in list(self.stack.workers):  # a worker that exited on its own fails the campaign (restarted to go on)
            if w.proc.poll() is not None:
                self.stack.workers.remove(w)
                self.stack.start_worker()
                self.worker_restarts += 1
                self.log(f"exit-{w.pid}", f"worker pid {w.pid} had exited ({w.proc.returncode}); restarted")


    def _requests(self) -> dict[str, tuple[str, str, dict[str, Any]]]:
        from qbo_integration.api.auth import mint_token
        from qbo_integration.config import Settings

        c = self.companies[0]
        auth = {"Authorization": "Bearer " + mint_token(Settings(QBOI_ENV="test"), company_id=c.company_id,  # type: ignore[call-arg]
                                                        role="admin")}
        return {"GET connection": ("GET", f"{P}/connection", {"params": {"companyId": str(c.company_id)},
                                                              "headers": auth}),
                "POST sync-now": ("POST", f"{P}/sync-now", {"json": {"companyId": str(c.company_id)}, "headers": auth}),
                "GET ready": ("GET", "/ready", {})}

    async def _ask(self) -> dict[str, int]:
        return {name: (await self.api.request(method, url, **kw)).status_code
                for name, (method, url, kw) in self._requests().items()}

    async def restart_postgres(self, counts: dict[str, int]) -> None:
        """Stop PostgreSQL, ask the API while it is down, start it again, ask until it answers as before."""
        async with self.core_writes:
            await self._restart_postgres(counts)

    async def _restart_postgres(self, counts: dict[str, int]) -> None:
        await asyncio.to_thread(self.pg.stop, "fast")
        self.log("postgres-down", f"PostgreSQL stopped with {counts.get('in_flight', 0)} rows in flight")
        try:
            end = time.monotonic() + POSTGRES_DOWN
            while time.monotonic() < end:
                for name, status in (await self._ask()).items():
                    self.api_down.setdefault(name, []).append(status)
                await asyncio.sleep(0.5)
        finally:
            await asyncio.to_thread(self.pg.start)
        await self.stack.engine.dispose()  # this process's own pool: its connections died with the server
        self.log("postgres", f"PostgreSQL started again; the API answered {self.api_down} while it was down")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answers = await self._ask()
            self.api_after += list(answers.values())
            if answers == {"GET connection": 200, "POST sync-now": 202, "GET ready": 200}:
                break
            await asyncio.sleep(0.5)
        self.log("api-back", f"the API answers as before ({len(self.api_after)} requests after the start)")
        self.postgres_back.set()


@pytest.mark.timeout(int(os.environ.get("FAULT_CAMPAIGN_TEST_TIMEOUT", "1800")))
async def test_fault_campaign_no_loss_no_duplicate(sandbox_server, private_redis: PrivateRedis,
                                                  private_pg: PrivatePostgres, api: httpx.AsyncClient) -> None:
    async with Stack.open("campaign", sandbox_url=sandbox_server.base_url, database_url=private_pg.url,
                          redis_url=private_redis.url) as stack:
        stack.worker_argv = [PYTHON, "-m", "tests.proof.fast_worker"]
        stack.worker_env_extra = dict(CAMPAIGN_ENV)
        companies = await stack.add_companies(COMPANIES)
        for i, c in enumerate(companies):
            await stack.add_timecards(c, SIZE // COMPANIES + (1 if i < SIZE % COMPANIES else 0), approved=False)
        await _faults(stack, companies)
        stack.start_workers(2)
        await stack.workers_ready()
        since = time.time()
        campaign = Campaign(stack, companies, private_redis, private_pg, api)
        print(f"\nfault campaign: {SIZE} timecards, {COMPANIES} companies, 2 workers", flush=True)
        campaign.log("start", f"approvals start: {WAVES - 1} waves, one a second, each timecard.approved published; "
                              "the last one after PostgreSQL's restart")
        unpublished = 0

        async def approve_in_waves() -> None:
            nonlocal unpublished
            for wave in range(WAVES):
                if wave == WAVES - 1:  # Core's last approvals come after the restart: listeners must be back
                    await campaign.postgres_back.wait()
                    campaign.log("last-wave", "the last wave of approvals published")
                async with campaign.core_writes:
                    for c in companies:
                        ids = c.timecards[wave::WAVES]
                        if ids:
                            unpublished += await stack.approve_many(c, ids)
                await asyncio.sleep(1)

        waves = asyncio.create_task(approve_in_waves())
        try:
            finished = await stack.wait_synced(companies, SIZE, DEADLINE, interval=0.5, on_tick=campaign.step)
        finally:
            if not campaign.postgres_back.is_set():  # ended before the restart: the last wave never goes out
                waves.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waves
        campaign.log("end", "all synced" if finished else "deadline reached")
        for c in companies:  # stop injecting before the sandbox is read back
            await stack.http.delete(f"/_sandbox/realms/{c.realm_id}/faults")

        counts = await stack.state_counts(companies)
        rec = await stack.reconcile(companies)
        http = await stack.http_stats(companies, since)
        notes: dict[str, int] = {}
        slowest_write = 0.0  # ms a write spent in the sandbox: the settle margin (timeout + 10 s) must exceed it
        # QBO's budget spent per 20 s (items admitted: writes, look-ups), against 5 x 500 a minute: the gaps are
        # where the engine left QBO idle.
        spent: collections.Counter[int] = collections.Counter()
        lookups: collections.Counter[int] = collections.Counter()
        by_realm: dict[int, collections.Counter[int]] = {}
        for i, c in enumerate(companies):
            by_realm[i] = collections.Counter()
            for e in await stack.realm_log(c.realm_id, since):
                if not e.get("throttled") and e.get("status") != 429:
                    spent[int((e["ts"] - since) // 20) * 20] += int(e.get("items") or 1)
                    by_realm[i][int((e["ts"] - since) // 20) * 20] += int(e.get("items") or 1)
                    if e.get("method") == "GET" and "/query" in e.get("path", ""):
                        lookups[int((e["ts"] - since) // 20) * 20] += 1
                if e.get("note"):
                    notes[e["note"]] = notes.get(e["note"], 0) + 1
                if e.get("write") and e.get("note") != "timeout":
                    slowest_write = max(slowest_write, float(e.get("ms") or 0))
        audit = await stack.audit_counts(companies)
        failed_by_jobs = (await stack.sql(
            "SELECT coalesce(sum(timecards_failed), 0) FROM sync_jobs WHERE company_id = ANY(:ids)",
            ids=[c.company_id for c in companies]))[0][0]
        # Timecards' failures only: a breaker that opened under the 5xx rates writes a failure row of its own.
        from qbo_integration.sync.writeback import ACTIONS

        audit_failures = sum(n for (action, st), n in audit.items() if st == "failure" and action in ACTIONS.values())
        # A timecard's failure row says which timecard and why; the breaker's own rows (breaker_open, a
        # company's event) name no timecard by design.
        bad_audit = (await stack.sql(
            "SELECT count(*) FROM integration_audit_log WHERE company_id = ANY(:ids) AND status = 'failure' "
            "AND action = ANY(:actions) AND (error_message IS NULL OR error_message = '' OR timecard_id IS NULL)",
            ids=[c.company_id for c in companies], actions=sorted(set(ACTIONS.values()))))[0][0]
        leaked = (await stack.sql(
            "SELECT count(*) FROM integration_audit_log WHERE company_id = ANY(:ids) AND ("
            + " OR ".join(f"position(:t{i} in coalesce(error_message,'') || coalesce(request_payload::text,'') "
                          f"|| coalesce(response_payload::text,'')) > 0" for i in range(len(companies))) + ")",
            ids=[c.company_id for c in companies], **{f"t{i}": c.access_token for i, c in enumerate(companies)}))[0][0]
        without_success = (await stack.sql(
            "SELECT count(*) FROM core.timecards t WHERE t.company_id = ANY(:ids) AND t.status = 'approved' "
            "AND NOT EXISTS (SELECT 1 FROM integration_audit_log a WHERE a.timecard_id = t.id "
            "AND a.status = 'success')", ids=[c.company_id for c in companies]))[0][0]

        print("\n== fault campaign result")
        for k, v in rec.rows():
            print(f"  {k:28} {v}")
        print(f"  {'outbox states':28} {counts}")
        print(f"  {'faults seen by the sandbox':28} {notes}")
        print(f"  {'HTTP to QBO':28} {http}")
        print(f"  {'slowest write in the sandbox':28} {slowest_write / 1000:.1f} s (late commits included)")
        print(f"  {'disruptions (s after start)':28} {campaign.done}")
        faults = [campaign.done[k] for k in ("storm", "expire", "kill", "redis", "postgres") if k in campaign.done]
        if faults and "end" in campaign.done:
            print(f"  {'converged after last fault':28} {campaign.done['end'] - max(faults):.1f} s")
        # The pace: a steady rate to the end is the backlog draining; a flat tail is timecards waiting.
        synced_at = [t.timestamp() - since for v in (await stack.synced_times(companies)).values() for t in v]
        pace = collections.Counter(int(t // 20) * 20 for t in synced_at)
        print(f"  {'synced per 20 s from start':28} {dict(sorted(pace.items()))}")
        print(f"  {'QBO items spent per 20 s':28} {dict(sorted(spent.items()))} (at most {len(companies) * 500 // 3} a 20 s)")
        print(f"  {'queries per 20 s':28} {dict(sorted(lookups.items()))}")
        synced_by = await stack.synced_times(companies)
        for i, c in enumerate(companies):
            last = max((t.timestamp() - since for t in synced_by.get(c.company_id, [])), default=0.0)
            print(f"  {f'company {i}: last synced':28} {last:.1f} s; items per 20 s {dict(sorted(by_realm[i].items()))}")
        # The tail's stories: what the last timecards to sync waited for (kind/code of every event).
        tail = await stack.sql(
            "WITH last AS (SELECT timecard_id FROM timecard_sync_records WHERE company_id = ANY(:ids) "
            "ORDER BY synced_at DESC LIMIT 500) SELECT e.kind || '/' || e.code, count(*) FROM timecard_sync_events e "
            "JOIN last USING (timecard_id) GROUP BY 1 ORDER BY 2 DESC", ids=[c.company_id for c in companies])
        print(f"  {'the last 500 synced: story':28} {dict(tail)}")
        allstory = await stack.sql(
            "SELECT kind || '/' || code, count(*) FROM timecard_sync_events WHERE company_id = ANY(:ids) "
            "GROUP BY 1 ORDER BY 2 DESC", ids=[c.company_id for c in companies])
        print(f"  {'every story event':28} {dict(allstory)}")
        dump = os.environ.get("FAULT_CAMPAIGN_DUMP")  # a folder: the run's stories, jobs and QBO logs, to read later
        if dump:
            await _dump(stack, companies, since, Path(dump))
        print(f"  {'events lost (Redis down)':28} {unpublished}")
        print(f"  {'API, PostgreSQL down':28} {campaign.api_down}")
        print(f"  {'API, PostgreSQL back':28} {campaign.api_after}")
        print(f"  {'audit rows':28} {dict(sorted((f'{a}/{s}', n) for (a, s), n in audit.items()))}")
        print(f"  {'failures: jobs vs audit':28} {failed_by_jobs} vs {audit_failures}")
        if rec.examples:
            print("  examples:", rec.examples)

        assert finished, f"not every timecard synced within {DEADLINE}s: {counts}"
        assert (rec.lost, rec.duplicated, rec.mismatched, rec.extra) == (0, 0, 0, 0), rec.examples
        assert rec.present == SIZE
        assert {"kill", "redis", "postgres", "storm", "expire", "last-wave"} <= set(campaign.done), campaign.done
        # While PostgreSQL was down the API said so (503, Retry-After), never a 500; then it answered as before.
        assert campaign.api_down and all(set(v) == {503} for v in campaign.api_down.values()), campaign.api_down
        assert campaign.api_after[-3:] == [200, 202, 200] and set(campaign.api_after) <= {200, 202, 503}, \
            campaign.api_after
        assert notes.get("error500", 0) + notes.get("error503", 0) > 0, "the sandbox injected no 5xx"
        assert notes.get("commit-then-drop", 0) > 0, "no commit-then-drop happened"
        assert notes.get("storm", 0) > 0, "no 429 storm answer was seen"
        assert int(failed_by_jobs) == audit_failures, "a failure counted by a job has no audit row (or vice versa)"
        assert bad_audit == 0, "failure audit rows without a message or timecard"
        assert leaked == 0, "an access token appears in the audit log"
        # Workers survive Redis restarts (worker/outage.py): one that exited on its own is a bug.
        assert campaign.worker_restarts == 0, f"{campaign.worker_restarts} worker(s) exited: {campaign.done}"
        assert without_success == 0, "an approved timecard has no success audit row"
