"""One company of the operations campaign: its setup and the execution of its plan (ops_plan).

Everything goes through the same doors as in production: Core's tables plus a published event
(approve, edit, unapprove, delete: what Core does), the service's HTTP API with an admin token
(Sync Now, dead-letter requeue, mapping, disconnect/reconnect through the OAuth flow, dry run and
live sync), and the sandbox's admin API (faults, 429 storms, expired tokens, request-id memory).
What the bookkeeper and the admin do beside that (drift, books, the worker's employee, another QuickBooks
company) is ops_people's. Each step is recorded in a per-timecard history the checker prints for a bad
timecard.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from common import BASE_DAY, BenchCompany, Stack
from ops_admin import API, HOURLY_RATE, OpsAdmin
from ops_people import PEOPLE_STEPS, OpsPeople, People
from ops_plan import CardPlan, Plan, Step
from ops_switch import OpsSwitch
from sqlalchemy import delete, insert, update

BREAK_MINUTES = 30


def notes_for(tid: uuid.UUID, rev: int) -> str:
    """The timecard note (it becomes the TimeActivity's Description): how the checker finds its records."""
    return f"ops {tid} r{rev}"


@dataclass
class OpsCompany(OpsPeople, OpsSwitch, OpsAdmin):
    stack: Stack
    api: httpx.AsyncClient
    plan: Plan
    bench: BenchCompany
    headers: dict[str, str]
    t0: float
    projects: list[uuid.UUID] = field(default_factory=list)
    project_qbo: list[str] = field(default_factory=list)
    cost_codes: list[uuid.UUID] = field(default_factory=list)
    item_qbo: list[str] = field(default_factory=list)
    cards: list[uuid.UUID] = field(default_factory=list)
    history: dict[int | None, list[str]] = field(default_factory=dict)  # None: company-wide steps
    problems: list[str] = field(default_factory=list)  # harness-side hiccups (an API call that failed)
    sync_jobs: list[str] = field(default_factory=list)
    memory_set: bool = False
    bursts: list[asyncio.Task] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)  # where the history's time went, per step kind
    webhook_url: str | None = None  # where the sandbox delivers the realms' change notifications
    people: People = field(default_factory=People)  # what the bookkeeper and the admin did (ops_people)
    employee_qbo: str = "1"  # the worker's QuickBooks employee (Stack.add_company links it)
    realm_b: str | None = None  # the other QuickBooks company of a seed that switches
    realm_now: str | None = None  # realm_b once switched
    contents: dict[int, dict[int, tuple]] = field(default_factory=dict)  # card -> Core version -> its content

    @property
    def seed(self) -> int:
        return self.plan.seed

    @property
    def company_id(self) -> uuid.UUID:
        return self.bench.company_id

    @property
    def realm(self) -> str:
        return self.realm_now or self.bench.realm_id

    def log(self, card: int | None, what: str) -> None:
        self.history.setdefault(card, []).append(f"{time.monotonic() - self.t0:6.1f}s {what}")

    # ------------------------------------------------------------------------------------ setup

    async def setup(self) -> None:
        from qbo_integration.core_platform.models import CostCode, Project, Timecard
        from qbo_integration.mapping.models import MappingProfile

        c = self.bench
        customers = [e for e in await self._entities("Customer") if e.get("Active") and not e.get("Job")]
        items = [e for e in await self._entities("Item") if e.get("Active") and e.get("Type") == "Service"]
        self.project_qbo = [str(customers[0]["Id"]), str(customers[1]["Id"])]
        self.item_qbo = [str(items[0]["Id"]), str(items[1]["Id"])]
        second_project, second_code = uuid.uuid4(), uuid.uuid4()
        self.projects = [c.project_id, second_project]
        self.cost_codes = [c.cost_code_id, second_code]
        async with self.stack.sm() as s:
            await s.execute(update(Project).where(Project.id == c.project_id)
                            .values(external_ids={"qbo": self.project_qbo[0]}))
            s.add(Project(id=second_project, company_id=c.company_id, name=f"Second job {self.seed}",
                          external_ids={"qbo": self.project_qbo[1]}))
            s.add(CostCode(id=second_code, company_id=c.company_id, code="200", name="Finish"))
            await s.flush()
            await s.execute(update(MappingProfile).where(MappingProfile.company_id == c.company_id)
                            .values(config={"costCodeMapping": self._cost_code_map(broken=False),
                                            "hourlyRates": {"default": HOURLY_RATE, "projects": {}}}))
            rows = []
            for cp in self.plan.cards:
                tid = uuid.uuid4()
                self.cards.append(tid)
                rows.append(self._content(tid, cp) | {
                    "id": tid, "company_id": c.company_id, "worker_id": c.worker_id, "billable": True,
                    "status": "submitted", "version": 1, "clock_in": self._clock_in(cp)})
            await s.execute(insert(Timecard), rows)
            await s.commit()
        self.contents = {cp.index: {1: self.content_key(cp.index)} for cp in self.plan.cards}
        c.timecards.extend(self.cards)
        await self.people_setup()
        self.log(None, f"setup: {len(self.cards)} submitted timecards, projects -> Customer {self.project_qbo}, "
                       f"cost codes -> Item {self.item_qbo}" + (f"; realm B {self.realm_b}" if self.realm_b else ""))

    async def import_directory(self, timeout: float) -> None:
        """The mapping API checks ids against our copy of the QBO directory: import it once, before faults."""
        r = await self.api.post(f"{API}/directory/import", json={"companyId": str(self.company_id)},
                                headers=self.headers)
        assert r.status_code == 202, r.text
        job = r.json()["jobId"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = await self.api.get(f"{API}/directory/import/{job}", params={"companyId": str(self.company_id)},
                                   headers=self.headers)
            status = r.json().get("status")
            if status in ("completed", "failed"):
                assert status == "completed", f"seed {self.seed}: directory import failed: {r.text}"
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"seed {self.seed}: directory import did not finish within {timeout}s")

    async def start_faults(self) -> None:
        await self.set_faults(**self.plan.faults)
        if self.plan.memory_seconds is not None:
            r = await self.stack.http.put(f"/_sandbox/realms/{self.realm}/request-ids",
                                          json={"memorySeconds": self.plan.memory_seconds})
            self.memory_set = r.status_code == 200
        self.log(None, f"faults {self.plan.faults}, request-id memory "
                       f"{self.plan.memory_seconds if self.memory_set else 'forever'}")

    async def stop_faults(self) -> None:
        await asyncio.gather(*self.bursts, return_exceptions=True)
        await self.stack.http.delete(f"/_sandbox/realms/{self.realm}/faults")

    def _cost_code_map(self, *, broken: bool) -> dict[str, str]:
        m = {str(self.cost_codes[0]): self.item_qbo[0]}
        if not broken:
            m[str(self.cost_codes[1])] = self.item_qbo[1]
        return m

    @staticmethod
    def _clock_in(cp: CardPlan) -> datetime:
        return BASE_DAY + timedelta(days=cp.index // 3, hours=(cp.index % 3) * 0.5)

    def _content(self, tid: uuid.UUID, cp: CardPlan) -> dict[str, Any]:
        clock_in = self._clock_in(cp)
        return {"project_id": self.projects[cp.project], "cost_code_id": self.cost_codes[cp.cost_code],
                "clock_out": clock_in + timedelta(hours=cp.hours, minutes=BREAK_MINUTES),
                "break_minutes": BREAK_MINUTES, "total_hours": Decimal(str(cp.hours)),
                "notes": notes_for(tid, cp.notes_rev)}

    async def _entities(self, entity: str) -> list[dict[str, Any]]:
        r = await self.stack.http.get(f"/_sandbox/realms/{self.realm}/entities/{entity}")
        r.raise_for_status()
        return list(r.json()["items"])

    # ------------------------------------------------------------------------------------ running

    async def run(self) -> None:
        for step in self.plan.steps:
            if step.pause:
                await asyncio.sleep(step.pause)
            t = time.monotonic()
            try:
                await self.do(step)
            except Exception as exc:  # noqa: BLE001 - a harness call that failed (Redis restarting...) is logged
                self.problems.append(f"{step.describe()}: {type(exc).__name__}: {exc}")
                self.log(step.card, f"{step.describe()} -> harness error {type(exc).__name__}: {exc}")
            self.step_seconds[step.kind] = self.step_seconds.get(step.kind, 0.0) + time.monotonic() - t

    async def do(self, step: Step) -> None:
        k = step.kind
        if k == "approve_many":
            await self._approve_many(step)
        elif k in ("approve", "unapprove", "delete", "edit"):
            await getattr(self, f"_{k}")(step)
        elif k == "sync_now":
            ids = [self.cards[i] for i in step.args["cards"]]
            await self.sync_now(ids, step.args["cards"])
        elif k == "requeue":
            r = await self.api.post(f"{API}/dead-letters/requeue", json={"companyId": str(self.company_id)},
                                    headers=self.headers)
            self.log(None, f"requeue dead letters -> {r.status_code} {r.text[:80]}")
        elif k == "drop_burst":
            await self.set_faults(**{**self.plan.faults, "commitThenDropRate": 1.0})
            self.log(None, f"commit-then-drop burst {step.args['seconds']} s (every write)")
            self.bursts.append(asyncio.create_task(self._end_burst(step.args["seconds"])))
        elif k == "storm":
            await self.set_faults(**self.plan.faults, throttleStormSeconds=step.args["seconds"])
            self.log(None, f"429 storm {step.args['seconds']} s")
        elif k == "expire":
            r = await self.stack.http.post(f"/_sandbox/realms/{self.realm}/tokens/expire")
            self.log(None, f"access tokens expired -> {r.json()}")
        elif k in ("map_break", "map_fix"):
            await self.put_mapping(broken=k == "map_break")
        elif k == "disconnect":
            r = await self.api.request("DELETE", f"{API}/disconnect", params={"companyId": str(self.company_id)},
                                       headers=self.headers)
            self.log(None, f"disconnect -> {r.status_code}")
        elif k == "reconnect":
            await self.reconnect()
        elif k == "live_off":
            r = await self.api.post(f"{API}/live-sync", json={"companyId": str(self.company_id), "enabled": False},
                                    headers=self.headers)
            self.log(None, f"live sync off -> {r.status_code}")
        elif k == "live_on":
            await self.ensure_live()
        elif k in PEOPLE_STEPS:
            await self.do_people(step)
        else:
            raise ValueError(f"unknown step {k}")

    async def _end_burst(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.set_faults(**self.plan.faults)
        self.log(None, "commit-then-drop burst over")

    async def set_faults(self, **faults: Any) -> None:
        """PUT the realm's faults; a loaded sandbox may drop a kept-alive connection, so try again."""
        for attempt in range(5):
            try:
                await self.stack.set_faults(self.realm, **faults)
                return
            except httpx.TransportError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5)

    async def _publish(self, event: str, tid: uuid.UUID, version: int) -> None:
        body = {"event": event, "eventId": str(uuid.uuid4()), "occurredAt": datetime.now(UTC).isoformat(),
                "companyId": str(self.company_id), "timecardId": str(tid), "version": version}
        try:
            await self.stack.redis.publish(self.stack.channel_prefix + event, json.dumps(body))
        except Exception:  # noqa: BLE001 - Redis is down: the event is lost, as pub/sub does; the sweep finds it
            self.log(self.cards.index(tid), f"  {event} v{version} NOT published (Redis down)")

    def content_key(self, card: int) -> tuple:
        """What a timecard's TimeActivity carries, as the plan has it now (approvals leave it as it was)."""
        cp = self.plan.cards[card]
        return cp.hours, cp.project, cp.cost_code, cp.notes_rev

    async def _core_update(self, tid: uuid.UUID, **values: Any) -> int | None:
        from qbo_integration.core_platform.models import Timecard

        async with self.stack.sm() as s:
            version = (await s.execute(update(Timecard).where(Timecard.id == tid)
                                       .values(version=Timecard.version + 1, updated_at=datetime.now(UTC), **values)
                                       .returning(Timecard.version))).scalar_one_or_none()
            await s.commit()
        if version is not None:
            i = self.cards.index(tid)
            self.contents.setdefault(i, {})[version] = self.content_key(i)
        return version

    async def _approve(self, step: Step) -> None:
        assert step.card is not None
        tid = self.cards[step.card]
        v = await self._core_update(tid, status="approved", approved_at=datetime.now(UTC))
        self.log(step.card, f"approve -> v{v}")
        if v is not None:
            await self._publish("timecard.approved", tid, v)

    async def _approve_many(self, step: Step) -> None:
        """Several approvals in one Core transaction (a supervisor approving the week), then one event each."""
        from qbo_integration.core_platform.models import Timecard

        tids = [self.cards[i] for i in step.args["cards"]]
        async with self.stack.sm() as s:
            got = dict((await s.execute(update(Timecard).where(Timecard.id.in_(tids))
                                        .values(status="approved", approved_at=datetime.now(UTC),
                                                version=Timecard.version + 1, updated_at=datetime.now(UTC))
                                        .returning(Timecard.id, Timecard.version))).all())
            await s.commit()
        for i, tid in zip(step.args["cards"], tids, strict=True):
            self.log(i, f"approve (with {len(tids) - 1} others) -> v{got.get(tid)}")
            if got.get(tid) is not None:
                self.contents.setdefault(i, {})[got[tid]] = self.content_key(i)
        for tid in tids:
            if tid in got:
                await self._publish("timecard.approved", tid, got[tid])

    async def _unapprove(self, step: Step) -> None:
        assert step.card is not None
        tid = self.cards[step.card]
        v = await self._core_update(tid, status="submitted", approved_at=None)
        self.log(step.card, f"unapprove -> v{v}")
        if v is not None:
            await self._publish("timecard.unapproved", tid, v)

    async def _delete(self, step: Step) -> None:
        from qbo_integration.core_platform.models import Timecard

        assert step.card is not None
        tid = self.cards[step.card]
        async with self.stack.sm() as s:
            v = (await s.execute(delete(Timecard).where(Timecard.id == tid).returning(Timecard.version))
                 ).scalar_one_or_none()
            await s.commit()
        self.log(step.card, f"delete (was v{v})")
        if v is not None:
            await self._publish("timecard.deleted", tid, v + 1)

    async def _edit(self, step: Step) -> None:
        assert step.card is not None
        cp = self.plan.cards[step.card]
        what = step.args["field"]
        if what == "hours":
            cp.hours = float(step.args["value"])
        elif what == "project":
            cp.project = 1 - cp.project
        elif what == "cost_code":
            cp.cost_code = 1 - cp.cost_code
        else:
            cp.notes_rev = int(step.args["value"])
        tid = self.cards[step.card]
        content = self._content(tid, cp)
        v = await self._core_update(tid, **content)
        self.log(step.card, f"edit {what} -> v{v} ({cp.hours} h, project {cp.project}, cost code {cp.cost_code}, "
                            f"r{cp.notes_rev})")
        if v is not None:
            await self._publish("timecard.updated", tid, v)
