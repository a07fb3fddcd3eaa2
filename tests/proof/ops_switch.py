"""Another QuickBooks company for an ops-campaign company (ops_plan.people's `switch`): realm B, set up with
its own time entries at the ids ours have in A, and the admin's switch to it through the service's HTTP
API: disconnect, the connect flow to B refused without "Switch QuickBooks company" (409 other_realm,
nothing changed), then confirmed; Import again, the mapping to B's records, a dry run, live sync on.
A base of OpsCompany, beside OpsPeople and OpsAdmin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from common import BASE_DAY
from ops_admin import API, OpsState
from ops_plan import Step
from sqlalchemy import select

from tests.connections import flow


class OpsSwitch(OpsState):
    async def other_company(self) -> str:
        """Realm B: sample people (other names at the same ids as A's) and time entries of its own, not ours,
        at ids 1.. as ours are in A: a write naming one of A's ids there would change one of them."""
        r = await self.stack.http.post("/_sandbox/realms", json={"sample": True,
                                                                 "companyName": f"Other Books {self.seed}"})
        r.raise_for_status()
        b = str(r.json()["realmId"])
        (await self.stack.http.put(f"/_sandbox/realms/{b}/limits", json={"callsPerSecond": 1000})).raise_for_status()
        employee = (await self._sandbox_entities("Employee", b))[0]
        customer = next(c for c in await self._sandbox_entities("Customer", b) if c.get("Active") and not c.get("Job"))
        for n in range(3 + self.seed % 6):
            (await self.stack.http.post(f"/_sandbox/realms/{b}/entities/TimeActivity", json={
                "TxnDate": (BASE_DAY + timedelta(days=n)).date().isoformat(), "NameOf": "Employee",
                "EmployeeRef": {"value": employee["Id"]}, "CustomerRef": {"value": customer["Id"]},
                "Hours": 2, "Minutes": 0, "Description": f"Other Books' own entry {n}"})).raise_for_status()
        return b

    async def connect_flow(self, realm: str, *, switch: bool = False) -> httpx.Response:
        """The OAuth connect flow to `realm` as the admin's browser runs it; `switch`: "Switch QuickBooks
        company" confirmed. The consent form's decision is posted as the browser would (the campaign's
        sandbox runs with --auto-approve, whose GET would pick its default realm rather than this one)."""
        params = {"companyId": str(self.company_id), "format": "json", **({"switchCompany": "true"} if switch else {})}
        started = await self.api.get(f"{API}/connect", params=params, headers=self.headers)
        assert started.status_code == 200, started.text
        form = {**flow.query_of(started.json()["authorizeUrl"]), "decision": "approve", "realmId": realm}
        decided = await self.stack.http.post("/connect/oauth2/decision", data=form)
        assert decided.status_code == 302, decided.text
        return await flow.callback(self.api, flow.query_of(decided.headers["location"]), headers=self.headers)

    async def _hire_worker(self, realm: str) -> str:
        from qbo_integration.core_platform.models import User

        async with self.stack.sm() as s:
            name, email = (await s.execute(select(User.name, User.email).where(User.id == self.bench.worker_id))).one()
        same = [e for e in await self._sandbox_entities("Employee", realm)
                if str((e.get("PrimaryEmailAddr") or {}).get("Address", "")).lower() == str(email).lower()]
        if same:  # the worker is already on that company's payroll (rehired if inactive): the admin maps them
            if not same[0].get("Active"):
                (await self.stack.http.post(f"/_sandbox/realms/{realm}/entities/Employee",
                                            json={"Id": same[0]["Id"], "Active": True})).raise_for_status()
            return str(same[0]["Id"])
        first, _, last = str(name).partition(" ")
        r = await self.stack.http.post(f"/_sandbox/realms/{realm}/entities/Employee", json={
            "GivenName": first, "FamilyName": last, "DisplayName": name, "PrintOnCheckName": name, "Active": True,
            "BillableTime": False, "PrimaryEmailAddr": {"Address": email}})
        r.raise_for_status()
        return str(r.json()["Id"])

    async def _integration_realm(self) -> tuple[str | None, str]:
        from qbo_integration.connections.models import Integration

        async with self.stack.sm() as s:
            row = (await s.execute(select(Integration.realm_id, Integration.connection_status)
                                   .where(Integration.company_id == self.company_id))).one()
        return row[0], str(row[1])

    async def _switch(self, step: Step) -> None:
        assert self.realm_b is not None
        old, b = self.realm, self.realm_b
        r = await self.api.request("DELETE", f"{API}/disconnect", params={"companyId": str(self.company_id)},
                                   headers=self.headers)
        self.log(None, f"switch: disconnect -> {r.status_code}")
        refused = await self.connect_flow(b)  # the other company without "switch": refused, nothing changed
        code = refused.json().get("error", {}).get("code") if refused.status_code != 200 else None
        self.log(None, f"switch: connect {b} without switchCompany -> {refused.status_code} {code}")
        self.people.answers[f"connect other realm {refused.status_code} {code}"] += 1
        # The worker works for the other company too: its employee there has the worker's email, which the
        # directory import matches (else it creates a CrewFlow user of its own for that employee, and mapping
        # the worker to it answers 409 duplicate_employee).
        self.employee_qbo = await self._hire_worker(b)
        if (refused.status_code, code) != (409, "other_realm") or (await self._integration_realm())[0] != old:
            self.problems.append(f"connecting realm {b} without switchCompany -> {refused.status_code} {refused.text[:200]}")
        for attempt in range(6):
            at = datetime.now(UTC)
            try:
                resp = await self.connect_flow(b, switch=True)
                self.log(None, f"switch: connect {b} with switchCompany -> {resp.status_code} {resp.text[:100]}")
            except (AssertionError, httpx.HTTPError) as exc:
                self.log(None, f"switch attempt {attempt + 1} failed: {str(exc)[:120]}")
            if await self._integration_realm() == (b, "connected"):
                self.people.switched_at = at
                break
            await asyncio.sleep(0.5)
        else:
            self.people.switch_failed = True
            raise AssertionError(f"seed {self.seed}: could not switch to realm {b}")
        self.realm_now = b
        await self.stack.http.delete(f"/_sandbox/realms/{old}/faults")
        await self.set_faults(**self.plan.faults)  # the new company's QuickBooks fails like the old one's
        if self.memory_set:
            await self.stack.http.put(f"/_sandbox/realms/{b}/request-ids",
                                      json={"memorySeconds": self.plan.memory_seconds})
        if not await self.import_again(300, tries=5):
            raise AssertionError(f"seed {self.seed}: realm {b}'s directory could not be imported")
        # The admin maps again from B's directory: other people than A's mapping named (ids that exist in A too).
        customers = [e for e in await self._sandbox_entities("Customer") if e.get("Active") and not e.get("Job")]
        items = [e for e in await self._sandbox_entities("Item") if e.get("Active") and e.get("Type") == "Service"]
        self.project_qbo = [str(customers[2]["Id"]), str(customers[3]["Id"])]
        self.item_qbo = [str(items[2]["Id"]), str(items[3]["Id"])]
        await self.put_mapping(broken=False)
        await self.ensure_live()
        self.log(None, f"switched to realm {b}: worker -> Employee {self.employee_qbo}, projects -> Customer "
                       f"{self.project_qbo}, cost codes -> Item {self.item_qbo}")

