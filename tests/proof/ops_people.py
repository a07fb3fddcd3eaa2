"""What people do beside Core in an ops-campaign company (ops_plan.people): a bookkeeper editing and deleting
synced time entries inside QuickBooks and deactivating the worker's employee (through the sandbox's admin
API, as a QuickBooks user would: no API limits, no faults, a webhook for each change), and the admin
resolving drift findings and closing and reopening the books (through the service's HTTP API); switching
to another QuickBooks company is ops_switch's. A base of OpsCompany, beside OpsSwitch and OpsAdmin.

`People` is what the checker (ops_check_people) needs to judge the outcome: every bookkeeper change, the
versions the admin kept, the pushes, the switch.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from common import BASE_DAY
from ops_admin import API, OpsState
from ops_plan import Step
from sqlalchemy import select

PEOPLE_STEPS = ("bk_edit", "bk_delete", "resolve", "books_close", "books_open", "emp_break", "emp_fix", "switch")
WEBHOOK_VERIFIER = "dev-only-webhook-verifier"  # Settings' default in dev and test, as the dev stack wires it


@dataclass
class BkChange:
    """One change the bookkeeper made to a synced time entry inside QuickBooks."""

    realm: str
    card: int
    tid: uuid.UUID
    qbo_id: str
    kind: str  # edit | delete
    token: str | None  # the SyncToken the edit left (None: deleted)
    at: datetime  # just before the change


@dataclass
class Kept:
    """The admin accepted QuickBooks' version of a timecard's entry (finding `accept`: 200)."""

    realm: str
    card: int
    qbo_id: str
    token: str | None
    view: dict[str, Any]
    core_version: int  # Core's version when the admin accepted
    content: tuple | None  # Core's content then (ops_company.content_key)
    synced: tuple | None  # the content of the version the outbox had synced then (None: not known)
    at: datetime


@dataclass
class People:
    changes: list[BkChange] = field(default_factory=list)
    kept: dict[int, Kept] = field(default_factory=dict)  # card -> the newest version the admin kept
    pushed: dict[int, datetime] = field(default_factory=dict)  # card -> the newest push the API took (200)
    switched_at: datetime | None = None
    switch_failed: bool = False  # the admin could not switch to the other company (a defect: counted)
    closed_through: date | None = None
    employee_inactive: bool = False  # the bookkeeper made the worker's employee inactive and not active again
    answers: Counter = field(default_factory=Counter)  # "resolve accept 409" -> n, and the like
    tally: Counter = field(default_factory=Counter)  # what became of the bookkeeper's changes and the findings
    left: int = 0  # webhook events still unprocessed when the checker looked
    own: dict[str, dict[str, str]] = field(default_factory=dict)  # realm -> its own TimeActivities (Id -> state)
    notes: list[str] = field(default_factory=list)


def _card_date(index: int) -> date:
    return (BASE_DAY + timedelta(days=index // 3)).date()


class OpsPeople(OpsState):
    # ------------------------------------------------------------------------------------ setup

    async def people_setup(self) -> None:
        """Webhooks for the company's realm (and the other company's, for a seed that switches)."""
        self.people.own[self.realm] = await self._own_entries(self.realm)
        await self._subscribe(self.realm)
        if any(s.kind == "switch" for s in self.plan.steps):
            self.realm_b = await self.other_company()
            self.people.own[self.realm_b] = await self._own_entries(self.realm_b)
            await self._subscribe(self.realm_b)

    async def _own_entries(self, realm: str) -> dict[str, str]:
        r = await self.stack.http.get(f"/_sandbox/realms/{realm}/entities/TimeActivity",
                                      params={"includeDeleted": "1"})
        r.raise_for_status()
        return {str(t["Id"]): f"SyncToken {t.get('SyncToken')}{' deleted' if t.get('status') == 'Deleted' else ''}"
                for t in r.json()["items"]}

    async def _subscribe(self, realm: str) -> None:
        if self.webhook_url:
            r = await self.stack.http.put(f"/_sandbox/realms/{realm}/webhook",
                                          json={"url": self.webhook_url, "verifierToken": WEBHOOK_VERIFIER})
            r.raise_for_status()

    async def _sandbox_entities(self, entity: str, realm: str | None = None) -> list[dict[str, Any]]:
        r = await self.stack.http.get(f"/_sandbox/realms/{realm or self.realm}/entities/{entity}")
        r.raise_for_status()
        return list(r.json()["items"])

    # ------------------------------------------------------------------------------------ steps

    async def do_people(self, step: Step) -> None:
        await getattr(self, f"_{step.kind}")(step)

    async def _synced_entries(self) -> list[tuple[int, str, dict[str, Any]]]:
        """(card, TimeActivity id, the record) of approved timecards whose outbox row is settled on a record
        QBO holds: what a bookkeeper can find and touch. Books closed: entries dated in them are out of reach."""
        from qbo_integration.core_platform.models import Timecard
        from qbo_integration.sync.models import TimecardSyncRecord as Row

        async with self.stack.sm() as s:
            rows = (await s.execute(select(Row.timecard_id, Row.qbo_id).join(Timecard, Timecard.id == Row.timecard_id)
                                    .where(Row.company_id == self.company_id, Row.state == "synced",
                                           Row.pending_op.is_(None), Row.qbo_id.is_not(None),
                                           Timecard.status == "approved"))).all()
        live = {str(t["Id"]): t for t in await self._sandbox_entities("TimeActivity")}
        out = []
        for tid, qbo_id in rows:
            i = self.cards.index(tid)
            ta = live.get(str(qbo_id))
            closed = self.people.closed_through is not None and _card_date(i) <= self.people.closed_through
            if ta is not None and str(ta.get("Description", "")).startswith(f"ops {tid}") and not closed:
                out.append((i, str(qbo_id), ta))
        return sorted(out, key=lambda e: e[0])

    async def _bk_target(self, step: Step) -> tuple[int, str, dict[str, Any]] | None:
        entries = await self._synced_entries()
        if not entries:
            self.log(None, f"bookkeeper: {step.kind} - no synced entry to touch")
            return None
        return entries[min(len(entries) - 1, int(step.args["pick"] * len(entries)))]

    async def _bk_edit(self, step: Step) -> None:
        target = await self._bk_target(step)
        if target is None:
            return
        i, qbo_id, ta = target
        n = sum(1 for c in self.people.changes if c.card == i) + 1
        body: dict[str, Any] = {"Id": qbo_id}
        if step.args["what"] in ("notes", "both"):  # the timecard's id stays first: the checker finds it by that
            body["Description"] = f"{ta.get('Description')} (bookkeeper {n})"
        if step.args["what"] in ("break", "both"):
            body |= {"BreakHours": 0, "BreakMinutes": 15 if int(ta.get("BreakMinutes") or 0) != 15 else 45}
        at = datetime.now(UTC)
        r = await self.stack.http.post(f"/_sandbox/realms/{self.realm}/entities/TimeActivity", json=body)
        r.raise_for_status()
        token = str(r.json().get("SyncToken"))
        self.people.changes.append(BkChange(self.realm, i, self.cards[i], qbo_id, "edit", token, at))
        self.log(i, f"bookkeeper edits TA {qbo_id} in QuickBooks ({step.args['what']}) -> SyncToken {token}")

    async def _bk_delete(self, step: Step) -> None:
        target = await self._bk_target(step)
        if target is None:
            return
        i, qbo_id, _ = target
        at = datetime.now(UTC)
        r = await self.stack.http.delete(f"/_sandbox/realms/{self.realm}/entities/TimeActivity/{qbo_id}")
        r.raise_for_status()
        self.people.changes.append(BkChange(self.realm, i, self.cards[i], qbo_id, "delete", None, at))
        self.log(i, f"bookkeeper deletes TA {qbo_id} in QuickBooks")

    async def open_findings(self) -> list[dict[str, Any]]:
        r = await self.api.get(f"{API}/drift", params={"companyId": str(self.company_id)}, headers=self.headers)
        if r.status_code != 200:
            self.log(None, f"drift list -> {r.status_code} {r.text[:100]}")
            return []
        return sorted(r.json()["items"], key=lambda f: (f["timecardId"], f["detectedAt"], f["id"]))

    async def _resolve(self, step: Step) -> None:
        found = await self.open_findings()
        if not found:
            self.log(None, f"admin: {step.describe()} - no open drift finding")
            return
        f = found[min(len(found) - 1, int(step.args["pick"] * len(found)))]
        await self.resolve(f, step.args["action"])

    async def resolve(self, f: dict[str, Any], action: str) -> int:
        """POST .../drift/{id}/resolve as the admin; records what the model needs of a 200."""
        tid = uuid.UUID(f["timecardId"])
        i = self.cards.index(tid)
        before = await self._versions(tid)
        at = datetime.now(UTC)
        r = await self.api.post(f"{API}/drift/{f['id']}/resolve", json={"companyId": str(self.company_id),
                                                                       "action": action}, headers=self.headers)
        self.people.answers[f"resolve {action} {r.status_code}"] += 1
        said = "" if r.status_code == 200 else f" {r.json().get('error', {}).get('message', r.text)[:90]}"
        self.log(i, f"admin: {action} drift finding ({f['kind']} TA {f['qboId']}, SyncToken "
                    f"{(f.get('qboView') or {}).get('SyncToken')}) -> {r.status_code}{said}")
        if r.status_code == 200 and action == "push":
            self.people.pushed[i] = at
        elif r.status_code == 200 and action == "accept":
            out = r.json()
            seen = self.contents.get(i, {})
            self.people.kept[i] = k = Kept(self.realm, i, out["qboId"], (out.get("qboView") or {}).get("SyncToken"),
                                           out.get("qboView") or {}, before[0], seen.get(before[0]),
                                           seen.get(before[1]) if before[1] is not None else None, at)
            self.log(i, f"  kept: TA {k.qbo_id} at SyncToken {k.token}; Core v{before[0]}, synced v{before[1]}")
        elif r.status_code not in (200, 409, 503):  # 409: resolved meanwhile, superseded, or refused as said
            self.problems.append(f"resolve {action} -> {r.status_code} {r.text[:200]}")
        return r.status_code

    async def _versions(self, tid: uuid.UUID) -> tuple[int, int | None]:
        """(Core's version of the timecard, the version its outbox row has synced)."""
        from qbo_integration.core_platform.models import Timecard
        from qbo_integration.sync.models import TimecardSyncRecord as Row

        async with self.stack.sm() as s:
            v = (await s.execute(select(Timecard.version).where(Timecard.id == tid))).scalar_one_or_none()
            sv = (await s.execute(select(Row.synced_version).where(Row.timecard_id == tid))).scalar_one_or_none()
        return int(v or 0), sv

    async def _set_books(self, close: date | None) -> None:
        r = await self.stack.http.put(f"/_sandbox/realms/{self.realm}/preferences",
                                      json={"AccountingInfoPrefs": {"BookCloseDate": close.isoformat() if close else None}})
        r.raise_for_status()
        self.people.closed_through = close

    async def _books_close(self, step: Step) -> None:
        close = BASE_DAY.date() + timedelta(days=step.args["days"])
        await self._set_books(close)
        self.log(None, f"bookkeeper closes the books through {close} (cards {[i for i in range(len(self.cards)) if _card_date(i) <= close]})")

    async def _books_open(self, step: Step) -> None:
        await self._set_books(None)
        self.log(None, f"bookkeeper reopens the books; the admin: {step.args['how']}")
        await self._after_fix(step.args["how"])

    async def _after_fix(self, how: str) -> None:
        if how == "import":  # "Import again": the directory and the books' preferences read afresh
            if not await self.import_again(240):
                await self.sync_now([])
        elif how == "sync_now":
            await self.sync_now([])

    async def import_again(self, timeout: float, tries: int = 1) -> bool:
        """Import again; an admin whose import QuickBooks failed clicks again (up to `tries` times)."""
        for attempt in range(tries):
            try:
                await self.import_directory(timeout)
            except (AssertionError, httpx.HTTPError) as exc:
                self.log(None, f"import again failed (try {attempt + 1}): {str(exc)[:300]}")
                await asyncio.sleep(2)
                continue
            self.log(None, "import again -> completed")
            return True
        return False

    async def _set_employee(self, active: bool) -> None:
        """The bookkeeper's change, made for certain: a loaded sandbox may drop a kept-alive connection, and a
        reactivation that never happened left seed 173's timecards refused while the check expected them
        in QuickBooks (2026-12-07, load 11). Setting Active again is harmless."""
        for attempt in range(5):
            try:
                r = await self.stack.http.post(f"/_sandbox/realms/{self.realm}/entities/Employee",
                                               json={"Id": self.employee_qbo, "Active": active})
                r.raise_for_status()
                return
            except httpx.TransportError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5)

    async def _emp_break(self, step: Step) -> None:
        await self._set_employee(False)
        self.people.employee_inactive = True
        self.log(None, f"bookkeeper makes employee {self.employee_qbo} (the worker's) inactive in QuickBooks")

    async def _emp_fix(self, step: Step) -> None:
        await self._set_employee(True)
        self.people.employee_inactive = False
        self.log(None, f"bookkeeper makes employee {self.employee_qbo} active again; the admin: {step.args['how']}")
        await self._after_fix(step.args["how"])

    # ------------------------------------------------------------------------------------ end of the day

    async def webhooks_done(self, timeout: float) -> list[str]:
        """Wait until the company's webhook events are processed (or given up). Returns the ones left: events
        still pending with no job queued or running for them for 5 s are stranded (nothing would take them
        until the company's next delivery), and waiting longer would not help."""
        from qbo_integration.queue import QUEUE_NAME
        from qbo_integration.webhooks.models import WebhookEvent as E

        deadline = time.monotonic() + timeout
        idle = 0
        left: list[Any] = []
        prefix = f"webhooks:{self.company_id}:"
        while time.monotonic() < deadline and idle < 5:
            async with self.stack.sm() as s:
                left = list((await s.execute(select(E.status, E.attempts, E.error, E.entity, E.entity_id, E.realm_id,
                                                    E.received_at).where(
                    E.company_id == self.company_id, E.status.in_(("pending", "processing")))
                    .order_by(E.received_at))).all())
            if not left:
                return []
            queued = [m for m in await self.stack.redis.zrange(QUEUE_NAME, 0, -1) if m.decode().startswith(prefix)]
            running = await self.stack.redis.keys(f"arq:in-progress:{prefix}*")
            idle = idle + 1 if not queued and not running else 0
            await asyncio.sleep(1.0)
        return [f"{e.entity} {e.entity_id} (realm {e.realm_id}) {e.status}, {e.attempts} attempts, received "
                f"{e.received_at:%H:%M:%S}, error {e.error!r}" for e in left]

    async def reconcile(self, timeout: float) -> dict[str, Any] | None:
        """The admin's "Reconcile now", waited for: QBO's records read and compared with what was synced."""
        r = await self.api.post(f"{API}/reconciliation", json={"companyId": str(self.company_id)},
                                headers=self.headers)
        if r.status_code != 202:
            self.people.notes.append(f"reconciliation -> {r.status_code} {r.text[:100]}")
            return None
        run = r.json()["runId"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await self.api.get(f"{API}/reconciliation/{run}", params={"companyId": str(self.company_id)},
                                     headers=self.headers)
            out = got.json()
            if out.get("status") in ("completed", "failed"):
                self.log(None, f"reconciliation {out['status']}: counts {out.get('counts')}, complete "
                               f"{out.get('complete')} {out.get('error') or ''}")
                return dict(out)
            await asyncio.sleep(1.0)
        self.people.notes.append(f"reconciliation {run} did not finish within {timeout}s")
        return None

    async def push_open_findings(self) -> int:
        """CrewFlow is the system of record: at the end of the day the admin sends its version again over
        every finding still open (a 409 is a finding CrewFlow's own write superseded meanwhile)."""
        n = 0
        for f in await self.open_findings():
            await self.resolve(f, "push")
            n += 1
        return n
