"""What an ops-campaign company does through the admin's doors: the service's HTTP API with an admin
token (Sync Now, mapping, reconnect through the OAuth flow, dry run and live sync). A base of OpsCompany,
which holds the state these read (stack, api, headers, cards, the history's log)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from common import BASE_DAY
from ops_plan import Step
from sqlalchemy import select

from tests.connections import flow

API = "/api/v1/integrations/quickbooks"
HOURLY_RATE = 45  # billable time needs an HourlyRate in QBO (the sandbox enforces it)


class OpsState:
    """What OpsCompany holds that its bases (OpsAdmin, OpsPeople, OpsSwitch) read and write."""

    stack: Any
    api: httpx.AsyncClient
    headers: dict[str, str]
    cards: list[uuid.UUID]
    sync_jobs: list[str]
    plan: Any
    people: Any  # ops_people.People
    bench: Any
    realm_b: str | None
    realm_now: str | None
    webhook_url: str | None
    employee_qbo: str
    project_qbo: list[str]
    item_qbo: list[str]
    contents: dict[int, dict[int, tuple]]
    company_id: uuid.UUID
    realm: str
    seed: int
    memory_set: bool
    problems: list[str]


class OpsAdmin(OpsState):

    async def sync_now(self, ids: list[uuid.UUID], cards: list[int] | None = None) -> str | None:
        from qbo_integration.core_platform.models import Timecard

        async with self.stack.sm() as s:  # Sync Now names existing timecards only (a deleted one is a 4xx)
            existing = set((await s.execute(select(Timecard.id).where(Timecard.id.in_(ids)))).scalars()) if ids \
                else set()
        named = [t for t in ids if t in existing]
        if ids and not named:
            return None
        body: dict[str, Any] = {"companyId": str(self.company_id)}
        if named:
            body["timecardIds"] = [str(t) for t in named]
        r = await self.api.post(f"{API}/sync-now", json=body, headers=self.headers)
        what = f"sync now {'all' if not named else [self.cards.index(t) for t in named]} -> {r.status_code}"
        if r.status_code != 202:
            what += f" {r.text[:100]}"
        self.log(None, what)
        for t in named:
            self.log(self.cards.index(t), what)
        if r.status_code == 202:
            job = str(r.json()["jobId"])
            self.sync_jobs.append(job)
            return job
        return None

    async def put_mapping(self, *, broken: bool) -> None:
        m = self._cost_code_map(broken=broken)
        mapping: dict[str, Any] = {
            "costCodeField": "ServiceItem", "hourlyRates": {"default": HOURLY_RATE},  # QBO bills billable time at a rate
            "costCodeMapping": [{"crewflowCostCodeId": k, "qboServiceItemId": v} for k, v in m.items()]}
        if self.realm_now:  # switched company: Core forgot the old one's links, so the admin maps people too
            mapping["employeeMapping"] = [{"crewflowWorkerId": str(self.bench.worker_id),
                                           "qboEmployeeId": self.employee_qbo}]
            mapping["customerMapping"] = [{"crewflowProjectId": str(p), "qboCustomerId": q}
                                          for p, q in zip(self.projects, self.project_qbo, strict=True)]
        body = {"companyId": str(self.company_id), "mapping": mapping}
        for _ in range(5):
            r = await self.api.put(f"{API}/mapping", json=body, headers=self.headers)
            if r.status_code == 200:
                break
        self.log(None, f"mapping {'broken (cost code 1 unmapped)' if broken else 'fixed'} -> {r.status_code} "
                       f"{r.text[:120] if r.status_code != 200 else r.json().get('requeued')}")
        assert r.status_code == 200, f"seed {self.seed}: PUT mapping -> {r.status_code} {r.text}"

    async def connection_state(self) -> tuple[str, bool]:
        from qbo_integration.connections.models import Integration

        async with self.stack.sm() as s:
            row = (await s.execute(select(Integration.connection_status, Integration.enabled)
                                   .where(Integration.company_id == self.company_id))).one()
        return str(row[0]), bool(row[1])

    async def reconnect(self) -> None:
        for attempt in range(6):
            try:
                url = await flow.start(self.api, self.company_id, self.headers)
                # The consent form's decision, as the admin's browser posts it (the campaign's sandbox runs
                # with --auto-approve, whose GET would pick its default realm rather than this one).
                form = {**flow.query_of(url), "decision": "approve", "realmId": self.realm}
                decided = await self.stack.http.post("/connect/oauth2/decision", data=form)
                assert decided.status_code == 302, decided.text
                resp = await flow.callback(self.api, flow.query_of(decided.headers["location"]), headers=self.headers)
                self.log(None, f"reconnect (OAuth flow) -> {resp.status_code}")
            except (AssertionError, httpx.HTTPError) as exc:
                self.log(None, f"reconnect attempt {attempt + 1} failed: {str(exc)[:120]}")
            if (await self.connection_state())[0] == "connected":
                await self.ensure_live()
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"seed {self.seed}: could not reconnect")

    async def ensure_live(self) -> None:
        """Live sync on: a passed dry run for the current mapping revision first, as the API demands."""
        if (await self.connection_state())[1]:
            self.log(None, "live sync already on")
            return
        day = BASE_DAY.date()
        for attempt in range(8):
            dr = await self.api.post(f"{API}/dry-run", headers=self.headers, json={
                "companyId": str(self.company_id), "startDate": (day - timedelta(days=1)).isoformat(),
                "endDate": (day + timedelta(days=20)).isoformat()})
            r = await self.api.post(f"{API}/live-sync", json={"companyId": str(self.company_id), "enabled": True},
                                    headers=self.headers)
            self.log(None, f"dry run -> {dr.status_code} {dr.json().get('message', '')[:60] if dr.status_code == 200 else dr.text[:80]}; "
                           f"live sync on -> {r.status_code}")
            if r.status_code == 200:
                return
            if dr.status_code == 200 and "No approved timecards" in dr.text:
                await self._approve_one_for_dry_run()
            elif dr.status_code == 200 and "books are closed" in dr.text and self.people.closed_through is None:
                # Issue 28 (6): the dry run reads the books' preferences as the last import stored them, so
                # after the books reopened it still refuses until "Import again" reads them afresh.
                self.people.notes.append("dry run refused for books closed after they reopened: Import again")
                await self.import_again(240)
            elif dr.status_code == 200 and "inactive in QuickBooks" in dr.text and not self.people.employee_inactive:
                # Seed 121 (2026-12-07): the bookkeeper reactivated the employee, but the webhook's refresh
                # and the daily import both met QuickBooks' 500s, and the import's retry waits 5 minutes:
                # the admin, told to reactivate someone who is active, clicks Import again.
                self.people.notes.append("dry run refused for an employee reactivated in QuickBooks: Import again")
                await self.import_again(240)
            await asyncio.sleep(0.3 * (attempt + 1))
        raise AssertionError(f"seed {self.seed}: could not turn live sync back on")

    async def _approve_one_for_dry_run(self) -> None:
        """A dry run needs an approved timecard to check: the admin approves one (a step of its history)."""
        from qbo_integration.core_platform.models import Timecard

        async with self.stack.sm() as s:
            alive = set((await s.execute(select(Timecard.id).where(Timecard.company_id == self.company_id))).scalars())
        for i, tid in enumerate(self.cards):
            if tid in alive:
                await self._approve(Step("approve", i))
                return
