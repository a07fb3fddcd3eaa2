"""Directory import: time and QBO calls to import a company with 5,000 employees and 5,000 customers.

The sandbox realm starts empty; the employees and customers are created through the admin API
(half the customers are sub-customers/jobs of the other half), with QBO-like latency added to
every API call (400 ms +- 100 ms). Then, in this process, the real import (directory.import_flow):
  1. first import (full listing, 1,000 rows per query page)
  2. incremental with nothing changed (CDC)
  3. incremental after renaming 100 employees, deactivating 50 customers, adding 20 of each (CDC)
  4. incremental past CDC's 30-day look-back (the LastUpdatedTime query fallback)

    .venv/bin/python bench/directory_import.py            # 5,000 + 5,000
    .venv/bin/python bench/directory_import.py --small    # 1,000 + 1,000
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from common import QBO_LATENCY, Stack, arg_parser, log, machine, print_grid, print_table, run
from sqlalchemy import func, select


async def create_entities(stack: Stack, realm: str, entity: str, bodies: list[dict[str, Any]],
                          concurrency: int = 8) -> list[dict[str, Any]]:
    sem = asyncio.Semaphore(concurrency)
    out: list[dict[str, Any]] = [{} for _ in bodies]

    async def one(i: int, body: dict[str, Any]) -> None:
        async with sem:
            for attempt in range(5):  # the admin API is plain HTTP: retry a dropped connection
                try:
                    r = await stack.http.post(f"/_sandbox/realms/{realm}/entities/{entity}", json=body)
                    break
                except httpx.TransportError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.5)
            r.raise_for_status()
            out[i] = r.json()

    await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    return out


async def populate(stack: Stack, realm: str, employees: int, customers: int) -> None:
    log(f"creating {employees} employees and {customers} customers in realm {realm}")
    await create_entities(stack, realm, "Employee", [
        {"DisplayName": f"Worker {i:05d}", "GivenName": "Worker", "FamilyName": f"{i:05d}", "Active": True,
         "PrimaryEmailAddr": {"Address": f"worker{i:05d}@bench.test"}} for i in range(employees)])
    parents = await create_entities(stack, realm, "Customer", [
        {"DisplayName": f"Client {i:05d}", "FullyQualifiedName": f"Client {i:05d}", "Active": True, "Job": False}
        for i in range(customers // 2)])
    await create_entities(stack, realm, "Customer", [
        {"DisplayName": f"Job {i:05d}", "FullyQualifiedName": f"Client {i:05d}:Job {i:05d}", "Active": True,
         "Job": True, "ParentRef": {"value": parents[i]["Id"]}} for i in range(customers - customers // 2)])
    await create_entities(stack, realm, "Item", [
        {"Name": f"Labor {i}", "FullyQualifiedName": f"Labor {i}", "Type": "Service", "Active": True}
        for i in range(20)])
    await create_entities(stack, realm, "Class", [
        {"Name": f"Division {i}", "FullyQualifiedName": f"Division {i}", "Active": True} for i in range(10)])


async def change_some(stack: Stack, realm: str) -> None:
    await create_entities(stack, realm, "Employee", [{"Id": str(i), "DisplayName": f"Renamed {i:05d}"}
                                                     for i in range(1, 101)])
    await create_entities(stack, realm, "Customer", [{"Id": str(i), "Active": False} for i in range(1, 51)])
    await create_entities(stack, realm, "Employee", [
        {"DisplayName": f"New Hire {i}", "Active": True, "PrimaryEmailAddr": {"Address": f"new{i}@bench.test"}}
        for i in range(20)])
    await create_entities(stack, realm, "Customer", [{"DisplayName": f"New Client {i}", "Active": True}
                                                     for i in range(20)])


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--employees", type=int, default=None)
    p.add_argument("--customers", type=int, default=None)
    args = p.parse_args()
    n_emp = args.employees or (1000 if args.small else 5000)
    n_cust = args.customers or (1000 if args.small else 5000)
    async with Stack.open("directory-import") as stack:
        from qbo_integration.config import get_settings
        from qbo_integration.core_platform.models import Project, User
        from qbo_integration.directory import fetching, import_flow
        from qbo_integration.mapping.profiles import profile_targets
        from qbo_integration.services import build_services
        from qbo_integration.sync.models import SyncJob

        os.environ.update(stack.env())
        get_settings.cache_clear()
        services = await build_services(get_settings(), stack.sm, stack.redis)
        r = await stack.http.post("/_sandbox/realms", json={"sample": False})
        r.raise_for_status()
        realm = r.json()["realmId"]
        await stack.http.put(f"/_sandbox/realms/{realm}/limits", json={"enabled": True})
        t0 = time.perf_counter()
        await populate(stack, realm, n_emp, n_cust)
        log(f"populated in {time.perf_counter() - t0:.1f}s")
        company = await stack.add_company(0, enabled=False, realm=realm)
        await stack.set_latency([realm], QBO_LATENCY)

        rows: list[list[Any]] = []

        async def measure(label: str) -> dict[str, Any]:
            since = time.time()
            t = time.perf_counter()
            res = await import_flow.run_import(stack.sm, services.qbo, stack.queue, company.company_id,
                                               mapped=profile_targets)
            elapsed = time.perf_counter() - t
            assert res["status"] == "completed", res
            requests = len(await stack.realm_log(realm, since))
            async with stack.sm() as s:
                job = await s.get(SyncJob, uuid.UUID(res["jobId"]))
                calls = job.qbo_calls if job else -1
            d = res["directory"]
            dir_written = sum(v.get("created", 0) + v.get("updated", 0) for v in d.values())
            rows.append([label, res["mode"], f"{elapsed:.2f}", calls, requests,
                         f"{res['users']['created']}/{res['users']['updated']}",
                         f"{res['projects']['created']}/{res['projects']['updated']}",
                         dir_written, len(res["newlyOrphaned"])])
            log(f"{label}: {elapsed:.2f}s, {calls} QBO calls")
            return res

        # The records were all created moments ago; an incremental import re-reads CURSOR_OVERLAP before its
        # cursor (the previous import's start: clock skew), so let the creations age past that first, as
        # in real life, to measure CDC rather than the creations.
        wait = fetching.CURSOR_OVERLAP.total_seconds() + 5
        log(f"waiting {wait:.0f}s so the creations fall outside the cursor overlap")
        await asyncio.sleep(wait)
        first = await measure("first import")
        await measure("incremental, no change")
        await change_some(stack, realm)
        third = await measure("incremental, 240 changes")
        async with stack.sm() as s:  # pretend the last import is 40 days old
            job = (await s.execute(select(SyncJob).where(SyncJob.company_id == company.company_id,
                                                         SyncJob.status == "completed")
                                   .order_by(SyncJob.started_at.desc()).limit(1))).scalar_one()
            job.results = {**job.results, "cursor": (datetime.now(UTC) - timedelta(days=40)).isoformat()}
            await s.commit()
        await measure("incremental past 30 days")
        async with stack.sm() as s:
            users = (await s.execute(select(func.count()).select_from(User)
                                     .where(User.company_id == company.company_id))).scalar_one()
            projects = (await s.execute(select(func.count()).select_from(Project)
                                        .where(Project.company_id == company.company_id))).scalar_one()
        await services.aclose()
        print_grid(f"Directory import, {n_emp} employees + {n_cust} customers (QBO latency 400 +- 100 ms/call)",
                   ["run", "mode", "seconds", "QBO calls", "sandbox requests", "users new/upd",
                    "projects new/upd", "directory rows written", "newly orphaned"], rows)
        print_table("Result", [
            ("Core users after", users), ("Core projects after", projects),
            ("first import users matched by email", first["users"]["matchedByEmail"]),
            ("orphaned by the changes", len(third["newlyOrphaned"])),
            ("machine", machine()),
        ])


if __name__ == "__main__":
    run(main())
