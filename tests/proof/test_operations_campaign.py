"""Randomized operations campaign: seeded histories of everything Core and an admin can do, under faults.

Each seed is one company (its own sandbox realm) whose history comes from `ops_plan.plan(seed)`:
approve, edit (hours, project, cost code, notes), unapprove, re-approve, delete, Sync Now on random
subsets, dead-letter requeue, a mapping change that breaks then fixes the timecards of one cost
code, disconnect and reconnect (the OAuth flow), live sync off and on (after a dry run). Beside it
(ops_plan.people, ops_people): a bookkeeper edits and deletes synced time entries inside QuickBooks and
makes the worker's employee inactive then active again, the admin resolves drift findings (push, accept,
dismiss), closes and reopens the books, and a third of the seeds switch to another QuickBooks company
(refused first without "switch"). The realms' webhooks reach the API over HTTP, as the dev stack wires
them. Its realm
injects 5xx, timeouts, commit-then-drop (single calls and batches alike), late commits, 429 storms and expired
tokens, at rates derived from the seed, and a short request-id memory for some seeds. All seeds
run at once in one stack (one sandbox, two `tests.proof.fast_worker` workers on a private Redis);
meanwhile a worker is SIGKILLed with rows in flight and Redis is restarted (everything it held lost).

Then the faults stop, the admin does the end of the day (Sync Now; dead letters requeued while any
remain) and, once nothing is pending or in flight, QBO's duplicates and orphans are counted; then the
admin reconciles (which finds the bookkeeper's changes a webhook missed, and repairs duplicates and
orphans: hence the count before it), pushes CrewFlow's version over every finding still open, and once
quiet again `ops_check.check` compares QBO with Core. It prints lost / duplicated / orphaned / stale /
status-mismatch / audit-missing / drift-missed / drift-false / foreign-ids counts per seed (all must be
0; ops_check_people says what the last three demand) and, for each bad timecard, its Core row, outbox
row, TimeActivities and history.

    OPS_CAMPAIGN_SEEDS=1234,99 pytest tests/proof/test_operations_campaign.py -s   # replay seeds
    OPS_CAMPAIGN_COUNT=500 OPS_CAMPAIGN_BATCH=25 pytest tests/proof/test_operations_campaign.py -s  # full size

Default (CI): 20 seeds (1..20), one batch. OPS_CAMPAIGN_FIRST_SEED moves the range.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, Stack  # noqa: E402
from ops_check import COUNTS, SeedResult, check  # noqa: E402
from ops_company import OpsCompany  # noqa: E402
from ops_plan import Step, plan  # noqa: E402

from qbo_integration.queue import QUEUE_NAME  # noqa: E402
from tests.private_redis import PrivateRedis  # noqa: E402
from tests.proof import fast_worker  # noqa: E402


def _seeds() -> list[int]:
    given = os.environ.get("OPS_CAMPAIGN_SEEDS")
    if given:
        return [int(s) for s in given.replace(" ", ",").split(",") if s.strip()]
    first = int(os.environ.get("OPS_CAMPAIGN_FIRST_SEED", "1"))
    return list(range(first, first + int(os.environ.get("OPS_CAMPAIGN_COUNT", "20"))))


SEEDS = _seeds()
BATCH = int(os.environ.get("OPS_CAMPAIGN_BATCH", "25"))
SETTLE_TIMEOUT = float(os.environ.get("OPS_CAMPAIGN_SETTLE_TIMEOUT", "300"))
WORKER_ENV = {
    "SYNC_SWEEP_MINUTES": "1",
    "QBO_TIMEOUT_SECONDS": "2",  # the sandbox's timeouts sleep 3 s: our client gives up first
    # Retries a few seconds apart: wide enough for an edit, an unapproval or a Sync Now to land between a
    # lost call and its retry (where exactly-once is hardest), short enough to settle quickly.
    "CAMPAIGN_RETRY_SECONDS": "3,5,8,12,16",
    "CAMPAIGN_LEASE_SECONDS": "8",  # production: 30 s, renewed every 10 s
    "CAMPAIGN_LOCK_SECONDS": "10",
    "CAMPAIGN_BREAKER_OPEN": "2",
    "CAMPAIGN_THROTTLE_WAIT": "1",
}
WEBHOOK_TIMEOUT = 180.0  # a webhook job waiting for our own write to settle retries after 60 s
UNSETTLED = "state IN ('pending', 'in_flight', 'dead') OR (state = 'failed' AND error_kind = 'transient')"


@pytest.fixture
def ops_redis(tmp_path: Path):
    r = PrivateRedis(tmp_path)
    yield r
    r.stop()


@contextlib.asynccontextmanager
async def ops_api(stack: Stack, database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The service's API in-process, on the campaign's Redis (its queue is the workers' queue) and sandbox;
    and the URL of its webhook route served over HTTP (uvicorn in a thread), where the sandbox delivers."""
    from qbo_integration.app import create_app
    from qbo_integration.config import Settings
    from tests.console.stack import API_PREFIX, LiveApi, bind_free_socket

    base = stack.sandbox_url
    settings = Settings(QBOI_ENV="test", DATABASE_URL=database_url, REDIS_URL=stack.redis_url,
                        EXPORT_DIR=tempfile.mkdtemp(prefix="qbo-ops-exports-"), QBO_API_BASE_URL=base,
                        QBO_AUTHORIZE_URL=f"{base}/connect/oauth2", QBO_TOKEN_URL=f"{base}/oauth2/v1/tokens/bearer",
                        QBO_REVOKE_URL=f"{base}/v2/oauth2/tokens/revoke",
                        QBO_DISCOVERY_URL=f"{base}/.well-known/openid_configuration",
                        EVENT_CHANNEL_PREFIX=stack.channel_prefix)
    # The API's own QBO calls (reconnect's test, the dry run) get the workers' compressed clocks: with
    # production's (60 s after a 429, minutes of backoff) one admin click would outlast the CI budget.
    os.environ.update({k: v for k, v in WORKER_ENV.items() if k.startswith("CAMPAIGN_")})
    undo = fast_worker.patch()
    hooks = None
    try:
        hooks = LiveApi(lambda: create_app(settings), bind_free_socket()).start()
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            # An exception in the app is a 500 to the admin (who tries again), as behind a real server; each
            # is recorded (server_errors) and fails the campaign.
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
                                         base_url="http://testserver", timeout=120,
                                         event_hooks={"response": [_record_server_error]}) as client:
                yield client, f"{hooks.base_url}{API_PREFIX}/webhooks"
    finally:
        if hooks is not None:
            await asyncio.to_thread(hooks.stop)
        undo()
        for k in WORKER_ENV:
            if k.startswith("CAMPAIGN_"):
                os.environ.pop(k, None)


WORKER_EXITED = "WORKER EXITED"
server_errors: list[str] = []  # the API's 5xx answers other than a 503 (an outage it names)


async def _record_server_error(response: httpx.Response) -> None:
    if response.status_code >= 500 and response.status_code != 503:
        await response.aread()
        server_errors.append(f"{response.request.method} {response.request.url.path} -> {response.status_code} "
                             f"{response.text[:200]}")


class Disruptions:
    """The stack-wide disruptions of a batch: one SIGKILLed worker (with rows in flight) and one Redis restart."""

    def __init__(self, stack: Stack, redis: PrivateRedis) -> None:
        self.stack, self.redis = stack, redis
        self.t0 = time.monotonic()
        self.done: dict[str, float] = {}
        self.exits: list[str] = []  # workers that exited on their own (not the SIGKILLed one)

    def log(self, key: str, what: str) -> None:
        self.done[key] = round(time.monotonic() - self.t0, 1)
        print(f"  [{self.done[key]:6.1f} s] {what}", flush=True)

    async def tick(self) -> None:
        t = time.monotonic() - self.t0
        if "kill" not in self.done and t >= 3:
            in_flight = (await self.stack.state_counts()).get("in_flight", 0)
            if in_flight or t >= 8:
                victim = self.stack.workers[0]
                victim.kill9()
                self.stack.workers.remove(victim)
                self.log("kill", f"SIGKILL worker pid {victim.pid} with {in_flight} rows in flight")
                self.stack.start_worker()
        if "redis" not in self.done and t >= 6:
            await asyncio.to_thread(self.redis.restart)
            self.log("redis", "Redis restarted (queue, locks, limiter windows, dedupe keys lost)")
        for w in list(self.stack.workers):  # a worker that exited on its own fails the campaign (restarted to go on)
            if w.proc.poll() is not None:
                self.stack.workers.remove(w)
                self.stack.start_worker()
                self.exits.append(f"{WORKER_EXITED} pid {w.pid} (exit code {w.proc.returncode})")
                self.log(f"exit-{w.pid}", f"worker pid {w.pid} had exited ({w.proc.returncode}); restarted")


async def _unsettled(stack: Stack, companies: list[OpsCompany]) -> dict[str, int]:
    rows = await stack.sql(f"SELECT state, count(*) FROM timecard_sync_records WHERE company_id = ANY(:ids) "
                           f"AND ({UNSETTLED}) GROUP BY state", ids=[c.company_id for c in companies])
    return {str(k): int(v) for k, v in rows}


async def _settle(stack: Stack, companies: list[OpsCompany], dis: Disruptions,
                  t0: float) -> tuple[bool, list[str]]:
    """End of the day: faults off, Sync Now per company, requeue dead letters while any; wait until quiet."""
    notes: list[str] = []
    for oc in companies:
        await oc.stop_faults()
        state, enabled = await oc.connection_state()
        if state != "connected" or not enabled:  # a reconnect or live-sync step the Redis restart broke
            notes.append(f"seed {oc.seed}: ended {state}, live sync {enabled}: the admin fixes that first")
            try:
                if state != "connected":
                    await oc.reconnect()
                await oc.ensure_live()
            except AssertionError as exc:  # the check then shows what it cost
                oc.problems.append(f"end of the day: {exc}")
    final_jobs = {oc.seed: await oc.sync_now([]) for oc in companies}
    return await _quiet(stack, companies, dis, [j for j in final_jobs.values() if j], notes, t0)


async def _quiet(stack: Stack, companies: list[OpsCompany], dis: Disruptions, jobs: list[str],
                 notes: list[str], t0: float | None = None) -> tuple[bool, list[str]]:
    """Wait until nothing is pending, in flight or queued and these jobs ended; requeue dead letters meanwhile.
    With `t0`: also say when the timecards last settled (no row unsettled, these jobs ended), apart from
    the queue (a deferred job, say an import's retry 5 minutes on, keeps the queue busy, no timecard)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    quiet = 0
    requeues = 0
    rows_since: float | None = None
    while time.monotonic() < deadline:
        await dis.tick()
        left = await _unsettled(stack, companies)
        open_jobs = (await stack.sql(
            "SELECT count(*) FROM sync_jobs WHERE id = ANY(:ids) AND status IN ('pending', 'running')",
            ids=jobs))[0][0]
        if left.get("dead"):
            for oc in companies:
                dead = (await stack.sql("SELECT count(*) FROM timecard_sync_records WHERE company_id = :c "
                                        "AND state = 'dead'", c=oc.company_id))[0][0]
                if dead:
                    await oc.do(Step("requeue"))
                    requeues += 1
        queued = await stack.redis.zcard(QUEUE_NAME)  # deferred jobs too (a webhook job waiting a minute)
        quiet = quiet + 1 if not left and not open_jobs and not queued else 0
        rows_since = (rows_since or time.monotonic()) if not left and not open_jobs else None
        if quiet >= 3:
            if t0 is not None and rows_since is not None:
                notes.append(f"timecards settled at {rows_since - t0:.1f} s")
            notes.append(f"settled; dead-letter requeues at the end: {requeues}")
            return True, notes
        await asyncio.sleep(1.0)
    notes.append(f"not settled within {SETTLE_TIMEOUT}s: {await _unsettled(stack, companies)}")
    return False, notes


async def _drift_day_end(oc: OpsCompany) -> None:
    """The admin's end of the day for drift: webhooks worked off, a reconciliation, every open finding pushed."""
    if left := await oc.webhooks_done(WEBHOOK_TIMEOUT):
        oc.people.notes.append(f"{len(left)} webhook events left before the reconciliation: {left[:5]}")
    await oc.reconcile(SETTLE_TIMEOUT)
    pushed = await oc.push_open_findings()
    oc.log(None, f"end of the day: {pushed} open drift findings pushed")


async def _run_batch(stack: Stack, client: httpx.AsyncClient, webhook_url: str, make_token: Any, redis: PrivateRedis,
                     seeds: list[int], since: float, answers: Counter,
                     other_realms: list[Any]) -> tuple[list[SeedResult], list[str]]:
    t0 = time.monotonic()
    companies: list[OpsCompany] = []
    for seed in seeds:
        bench = await stack.add_company(seed)
        oc = OpsCompany(stack, client, plan(seed), bench, {"Authorization": f"Bearer {make_token(bench.company_id)}"},
                        t0, webhook_url=webhook_url)
        await oc.setup()
        companies.append(oc)
    await asyncio.gather(*(oc.import_directory(600) for oc in companies))
    for oc in companies:
        await oc.start_faults()
    print(f"\n  batch of {len(seeds)} seeds ready in {time.monotonic() - t0:.1f} s; "
          f"{sum(len(oc.plan.steps) for oc in companies)} steps start", flush=True)
    dis = Disruptions(stack, redis)
    runs = asyncio.gather(*(oc.run() for oc in companies))
    while not runs.done():
        await dis.tick()
        await asyncio.wait([runs], timeout=0.5)
    await runs
    while "redis" not in dis.done or "kill" not in dis.done:  # a short batch: the disruptions still happen
        await dis.tick()
        await asyncio.sleep(0.5)
    spent: Counter = Counter()
    for oc in companies:
        spent.update(oc.step_seconds)
    print(f"  steps done at {time.monotonic() - t0:.1f} s; seconds per step kind (all companies): "
          f"{ {k: round(v, 1) for k, v in spent.most_common()} }; settling", flush=True)
    settled, notes = await _settle(stack, companies, dis, t0)
    print(f"  {'; '.join(notes[-2:]) if settled else notes[-1]} at {time.monotonic() - t0:.1f} s", flush=True)
    # Duplicates and orphans as the sync left them: the reconciliation below repairs both.
    before = {oc.seed: await check(oc, full=False) for oc in companies}
    await asyncio.gather(*(_drift_day_end(oc) for oc in companies))
    settled2, notes = await _quiet(stack, companies, dis, [], notes)
    for oc in companies:
        if left := await oc.webhooks_done(WEBHOOK_TIMEOUT):
            oc.people.left = len(left)
            oc.people.notes.append(f"{len(left)} webhook events left at the check: {left[:5]}")
    print(f"  end of the day for drift (reconciliation, open findings pushed): {notes[-1]} at "
          f"{time.monotonic() - t0:.1f} s", flush=True)
    settled = settled and settled2
    results = [_with_repaired(before[oc.seed], await check(oc, since=since)) for oc in companies]
    if os.environ.get("OPS_CAMPAIGN_VERBOSE"):
        for oc in companies:
            for card, lines in sorted(oc.history.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
                print(f"  seed {oc.seed} {'company' if card is None else f'tc{card}'}:\n      " + "\n      ".join(lines))
    if not settled:
        notes.append("UNSETTLED")
    notes.extend(dis.exits)
    for oc in companies:
        notes.extend(f"seed {oc.seed} harness: {p}" for p in oc.problems)
        notes.extend(f"seed {oc.seed}: {n}" for n in oc.people.notes)
        answers.update(oc.people.answers)
        answers.update(oc.people.tally)
        if oc.people.left:
            answers["webhook events left unprocessed at the check"] += oc.people.left
            answers["seeds with webhook events left unprocessed"] += 1
        if oc.realm_b:
            other_realms.append(types.SimpleNamespace(realm_id=oc.realm_b))
    return results, notes


def _with_repaired(before: SeedResult, after: SeedResult) -> SeedResult:
    """The final result, with the duplicates and orphans the reconciliation repaired counted."""
    for k in ("duplicated", "orphaned"):
        if before.counts[k] > after.counts[k]:
            after.counts[k] = before.counts[k]
            after.bad += [f"(before the reconciliation) {line}" for line in before.bad if f"{k}:" in line]
    return after


@pytest.mark.timeout(int(os.environ.get("OPS_CAMPAIGN_TEST_TIMEOUT", "3600")))
async def test_operations_campaign_exactly_once(test_services, sessionmaker, ops_redis, make_token) -> None:
    results: list[SeedResult] = []
    notes: list[str] = []
    injected: Counter = Counter()
    answers: Counter = Counter()  # the admin's answers (drift resolutions, another company), drift's tallies
    server_errors.clear()
    other_realms: list[Any] = []  # the QuickBooks companies the seeds that switch moved to
    since = time.time()
    # The sandbox runs in its own process (Stack starts it): in this one it would share the GIL with the
    # API and the harness, and 20 companies' histories would crawl.
    async with Stack.open("ops-campaign", database_url=test_services.database_url, redis_url=ops_redis.url) as stack, \
            ops_api(stack, test_services.database_url) as (client, webhook_url):
        from qbo_integration.db.session import make_engine, make_sessionmaker

        await stack.engine.dispose()  # twenty companies' histories at once: more connections than the default
        stack.engine = make_engine(stack.database_url, pool_size=12)
        stack.sm = make_sessionmaker(stack.engine)
        stack.worker_argv = [PYTHON, "-m", "tests.proof.fast_worker"]
        stack.worker_env_extra = dict(WORKER_ENV)
        stack.start_workers(2)
        await stack.workers_ready()
        print(f"\noperations campaign: seeds {SEEDS[0]}..{SEEDS[-1]} ({len(SEEDS)}), batches of {BATCH}", flush=True)
        for start in range(0, len(SEEDS), BATCH):
            batch_results, batch_notes = await _run_batch(stack, client, webhook_url, make_token, ops_redis,
                                                          SEEDS[start:start + BATCH], since, answers, other_realms)
            results += batch_results
            notes += batch_notes
            # Printed as each batch ends: a run cut short (its timeout, a stopped session) keeps what it judged.
            bad = [r.seed for r in batch_results if not r.clean]
            print(f"  batch judged: seeds {batch_results[0].seed}..{batch_results[-1].seed}, "
                  f"{len(results)} of {len(SEEDS)} so far; bad seeds in this batch: {bad or 'none'}; "
                  + ", ".join(f"{k} {sum(r.counts[k] for r in batch_results)}" for k in COUNTS), flush=True)
        for c in [*stack.companies, *other_realms]:
            for e in await stack.realm_log(c.realm_id, since):
                if e.get("note"):
                    injected[e["note"]] += 1
        http = await stack.http_stats([*stack.companies, *other_realms], since)

    total: Counter = Counter()
    print("\n== operations campaign: per seed (" + " / ".join(COUNTS) + ")")
    for r in results:
        total.update(r.counts)
        print(f"  seed {r.seed:6}: " + " ".join(f"{r.counts[k]:3}" for k in COUNTS) + ("" if r.clean else "  <- BAD"))
    print("  total      : " + ", ".join(f"{k} {total[k]}" for k in COUNTS))
    print(f"  faults the sandbox injected: {dict(injected)}")
    print(f"  HTTP to QBO: {http}")
    print("  what people did, and what came of it:\n    " + "\n    ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
    for n in notes:
        print(f"  {n}")
    for e in server_errors:
        print(f"  API SERVER ERROR: {e}")
    bad = [r for r in results if not r.clean]
    detail = "\n".join(line for r in bad for line in r.bad)
    if bad:
        print("\n== bad timecards\n" + detail)
    replay = ",".join(str(r.seed) for r in bad)
    assert not bad and "UNSETTLED" not in notes, (
        f"{len(bad)} of {len(results)} seeds broke exactly-once: " + ", ".join(f"{k} {total[k]}" for k in COUNTS)
        + f"\nreplay: OPS_CAMPAIGN_SEEDS={replay} pytest tests/proof/test_operations_campaign.py -s\n" + detail[:20000])
    assert not server_errors, f"the API answered {len(server_errors)} server errors: {server_errors[:10]}"
    # Workers survive Redis restarts (worker/outage.py): one that exited on its own is a bug.
    assert not [n for n in notes if n.startswith(WORKER_EXITED)], "a worker exited during the campaign"
    assert injected.get("commit-then-drop", 0) > 0, f"no commit-then-drop happened: {dict(injected)}"
    assert injected.get("error500", 0) + injected.get("error503", 0) > 0, "the sandbox injected no 5xx"
    # 429 storms are 2-4 s windows a loaded machine may leave empty: their answers are printed, not required.
