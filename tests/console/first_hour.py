"""A company as an office admin meets it in its first hour (issue 29): the sandbox realm's directory as an
import leaves it, CrewFlow workers and projects (some matched, one in capitals, many with long names), a
month of approved timecards (some sent), audit rows of every kind, a timecard that could not be sent.
Seeded straight into the tables, so the tests do not depend on what the directory import decides."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.console.conftest import PageProbe
from tests.mapping.factories import (
    add_cost_code,
    add_profile,
    add_project,
    add_record,
    add_timecard,
    add_worker,
)

# Every page, and what shows once it is drawn.
PAGES = (("setup", "#checklist"), ("connect", "#test-connection"), ("mapping", "#crew-list"),
         ("test", "#run-dry-run"), ("dashboard", "#recent-runs"), ("audit", "#audit-table table"))
LONG_PROJECT = "Riverside Lofts - Phase 2 (Building C, North Wing) Interior Framing and Drywall"
NO_SCROLL_JS = """() => {
  const w = window.innerWidth;
  const out = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1
    && ![...e.children].some(c => c.getBoundingClientRect().right > w + 1))
    .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
  return [document.documentElement.scrollWidth, w, out];
}"""


@dataclass
class Seeded:
    workers: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    employees: dict[str, str] = field(default_factory=dict)  # QBO name -> id
    timecards: list[uuid.UUID] = field(default_factory=list)  # newest first
    synced: list[uuid.UUID] = field(default_factory=list)
    shouty: uuid.UUID | None = None  # the worker in capitals, no email, not matched


async def _entities(sandbox: Any, realm_id: str, entity: str) -> list[dict]:
    return (await sandbox.get(f"/_sandbox/realms/{realm_id}/entities/{entity}")).json()["items"]


async def seed_first_hour(sessionmaker: Any, sandbox: Any, cc: Any, *, extra_workers: int = 30,
                          timecards: int = 30, synced: int = 10) -> Seeded:
    """The directory of cc's sandbox realm; 5 workers matched to its first employees, the 6th employee's
    name in capitals as an unmatched worker (a 95 % suggestion), `extra_workers` more with long names."""
    from qbo_integration.monitoring import audit
    from qbo_integration.sync.models import TimecardSyncRecord

    cid, out = cc.company_id, Seeded()
    employees = [e for e in await _entities(sandbox, cc.realm_id, "Employee") if e.get("Active", True)]
    customers = [c for c in await _entities(sandbox, cc.realm_id, "Customer") if c.get("Active", True)]
    items = [i for i in await _entities(sandbox, cc.realm_id, "Item") if i.get("Type") == "Service"]
    vendors = await _entities(sandbox, cc.realm_id, "Vendor")
    async with sessionmaker() as s:
        for e in employees:
            add_record(s, cid, "Employee", e["Id"], e["DisplayName"], email=(e.get("PrimaryEmailAddr") or {}).get("Address"))
            out.employees[e["DisplayName"]] = e["Id"]
        for v in vendors:
            add_record(s, cid, "Vendor", v["Id"], v["DisplayName"])
        for c in customers:
            add_record(s, cid, "Customer", c["Id"], c["FullyQualifiedName"])
        for i in items:
            add_record(s, cid, "Item", i["Id"], i["Name"], item_type="Service")
        workers = []
        for e in employees[:5]:
            w = add_worker(s, cid, e["DisplayName"], (e.get("PrimaryEmailAddr") or {}).get("Address"))
            workers.append(w)
            out.workers[w.name] = w.id
        shouty = add_worker(s, cid, employees[5]["DisplayName"].upper())
        out.workers[shouty.name] = shouty.id
        for i in range(extra_workers):
            w = add_worker(s, cid, f"Worker {i:03d} Longname-Hyphenated Extraordinarily")
            out.workers[w.name] = w.id
        projects = [add_project(s, cid, c["DisplayName"]) for c in customers[:3]]
        projects.append(add_project(s, cid, LONG_PROJECT))
        codes = [add_cost_code(s, cid, f"0{n + 1}-100", items[n]["Name"]) for n in range(3)]
        await s.flush()
        out.shouty = shouty.id
        add_profile(s, cid, {
            "employeeMapping": {str(w.id): employees[n]["Id"] for n, w in enumerate(workers)},
            "customerMapping": {str(p.id): customers[n % 3]["Id"] for n, p in enumerate(projects)},
            "costCodeMapping": {str(c.id): items[n]["Id"] for n, c in enumerate(codes)},
            "hourlyRates": {"default": 65}, "costRates": {"default": 32}})
        now = datetime.now(UTC).replace(hour=14, minute=15, second=0, microsecond=0)  # 7:15 in Denver
        batch_at = now - timedelta(hours=1)
        for day in range(timecards):
            start = now - timedelta(days=day + 1)
            tc = add_timecard(s, cid, workers[day % 5], projects[day % 4], codes[day % 3], clock_in=start,
                              clock_out=start + timedelta(hours=8, minutes=30), notes=f"Day {day + 1}: walls, level 2")
            out.timecards.append(tc.id)
            if day < synced:  # one batch: the same instant for all
                tc.sync_status, tc.qbo_id, tc.qbo_synced_at = "synced", str(100 + day), batch_at
                out.synced.append(tc.id)
        await s.flush()
        dead = out.timecards[-1]
        s.add(TimecardSyncRecord(company_id=cid, timecard_id=dead, operation="create", state="dead", attempts=6,
                                 timecard_version=1, error_kind="transient", last_error_code="2500",
                                 last_error="QuickBooks refused: Invalid Reference Id (Employee 77 is inactive)"))
        iid = cc.integration_id
        await audit.record(s, integration_id=iid, company_id=cid, action="connect", status="success", actor="user-1",
                           response_payload={"realmId": cc.realm_id, "companyName": cc.company_name})
        await audit.record(s, integration_id=iid, company_id=cid, action="sync_timecard", status="success",
                           timecard_id=out.synced[0], worker_id=workers[0].id, project_id=projects[0].id, qbo_id="100",
                           request_payload={"TxnDate": (now - timedelta(days=1)).date().isoformat(), "NameOf": "Employee",
                                            "EmployeeRef": {"value": employees[0]["Id"]},
                                            "CustomerRef": {"value": customers[0]["Id"]},
                                            "StartTime": "2026-12-01T07:15:00-07:00", "EndTime": "2026-12-01T15:45:00-07:00",
                                            "BillableStatus": "Billable", "HourlyRate": 65})
        await audit.record(s, integration_id=iid, company_id=cid, action="sync_timecard", status="failure",
                           timecard_id=dead, worker_id=workers[4].id, project_id=projects[3].id,
                           error_message="QuickBooks refused: Invalid Reference Id (Employee 77 is inactive) "
                           "while sending a time activity with a long description " + "x" * 120)
        await audit.record(s, integration_id=iid, company_id=cid, action="mapping_duplicates_confirmed", status="success",
                           actor="user-1", request_payload={
                               "profileId": str(uuid.uuid4()), "revision": 2,
                               "shared": [{"qboEmployeeId": employees[5]["Id"], "employeeName": employees[5]["DisplayName"],
                                           "workers": [{"id": str(shouty.id), "name": shouty.name},
                                                       {"id": str(uuid.uuid4()), "name": employees[5]["DisplayName"]}]}]})
        await audit.record(s, integration_id=iid, company_id=cid, action="breaker_open", status="failure",
                           actor="system", request_payload={"from": "closed", "to": "open"})
        await s.commit()
    return out


async def sideways(page: Any) -> tuple[int, int, list[str]]:
    """The page's width, the window's, and the deepest elements that stick out (for the failure message)."""
    return await page.evaluate(NO_SCROLL_JS)


async def assert_no_sideways_scroll(probe: PageProbe, what: str) -> None:
    scroll, width, wide = await sideways(probe.page)
    assert scroll <= width, f"{what}: the page is {scroll} px wide in a {width} px window: {wide}"


async def visible_text(page: Any, selector: str) -> str:
    """What a person reads there: innerText leaves out what is hidden (closed details, display: none)."""
    return await page.eval_on_selector(selector, "e => e.innerText")


async def in_viewport(page: Any, selector: str) -> bool:
    return await page.eval_on_selector(selector, """e => { const r = e.getBoundingClientRect();
      return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth; }""")


async def each_page(probe: PageProbe, live: Any, shot: str) -> AsyncIterator[str]:
    """Opens every page in turn and yields its name (the caller may open a row first); then a screenshot
    (`shot`-name-width; the mapping page's top only, its board is long) and no sideways scroll."""
    page = probe.page
    width = page.viewport_size["width"]
    for name, ready in PAGES:
        await page.goto(live.console(name))
        await page.wait_for_selector(ready)
        yield name
        await probe.shot(f"{shot}-{name}-{width}", full_page=name != "mapping")
        await assert_no_sideways_scroll(probe, name)
