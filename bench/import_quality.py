"""Import quality: the directory import itself run over the messy directory of bench/matching_quality.py.

The same generated directory (fixed seed): 500 CrewFlow workers and 500 CrewFlow projects already in
Core, and a QuickBooks company whose employees and customers are mostly the same people and jobs written
another way (typos, nicknames, case, middle initials, "Reyes, Jack", personal emails, namesakes, jobs
under parents), plus office staff and customers CrewFlow does not have. The real import
(directory.importer.apply, in a fresh migrated PostgreSQL database) places every QuickBooks record, and
each outcome is scored against the known truth:

  linked right / linked wrong   linked to an existing CrewFlow record: the true one, or another
  created right / created wrong a new CrewFlow record: nothing in CrewFlow was it, or something was
  proposed (true one offered)   left to the admin; how many proposals list the true record
  recall                        linked right / QuickBooks records that have a true CrewFlow record

The target is 0 linked wrong and 0 created wrong: a wrong link sends hours to the wrong person, a wrong
creation is a second CrewFlow worker for one person.

    .venv/bin/python bench/import_quality.py             # 500 + 500, seed 18
    .venv/bin/python bench/import_quality.py --seed 7    # another directory
It runs on older code too (no proposals there), for a before/after comparison.
Needs the local PostgreSQL (a database is created and dropped); no Redis, no network, no sandbox.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from matching_quality import Case, messy_directory
from stores import create_database, drop_database

from qbo_integration.directory.service import DirEntry


def _employee(e: DirEntry) -> dict[str, Any]:
    return {"Id": e.qbo_id, "DisplayName": e.name, "Active": True,
            **({"PrimaryEmailAddr": {"Address": e.email}} if e.email else {})}


def _customer(c: DirEntry, ids: dict[str, str]) -> dict[str, Any]:
    if ":" not in c.name:
        return {"Id": c.qbo_id, "DisplayName": c.name, "FullyQualifiedName": c.name, "Active": True}
    parent, own = c.name.rsplit(":", 1)
    body = {"Id": c.qbo_id, "DisplayName": own, "FullyQualifiedName": c.name, "Active": True, "Job": True}
    if parent in ids:
        body["ParentRef"] = {"value": ids[parent]}
    return body


async def run_import(database_url: str, workers: Sequence[Case], emps: Sequence[DirEntry], projects: Sequence[Case],
                     custs: Sequence[DirEntry]) -> dict[str, Any]:
    from sqlalchemy import select

    from qbo_integration.core_platform.models import Company, Project, User
    from qbo_integration.db.session import make_engine, make_sessionmaker
    from qbo_integration.directory import importer
    from qbo_integration.directory import models as directory_models
    from qbo_integration.mapping.profiles import profile_targets
    from qbo_integration.qbo.models import entity_model

    engine = make_engine(database_url, pool_size=2)
    sm = make_sessionmaker(engine)
    cid = uuid.uuid4()
    worker_ids = [uuid.uuid4() for _ in workers]
    project_ids = [uuid.uuid4() for _ in projects]
    try:
        async with sm() as s:
            s.add(Company(id=cid, name="Summit Ridge", timezone="America/Denver"))
            await s.flush()
            s.add_all(User(id=i, company_id=cid, name=c.name, email=c.email, role="field_worker", active=True,
                           external_ids={}) for i, c in zip(worker_ids, workers, strict=True))
            s.add_all(Project(id=i, company_id=cid, name=c.name, status="active", external_ids={})
                      for i, c in zip(project_ids, projects, strict=True))
            await s.commit()
        ids = {c.name: c.qbo_id for c in custs}
        fetched = importer.Fetched("full", {
            "Employee": [entity_model("Employee").model_validate(_employee(e)) for e in emps],
            "Customer": [entity_model("Customer").model_validate(_customer(c, ids)) for c in custs]}, complete=True)
        t0 = time.perf_counter()
        async with sm() as s:
            counts = await importer.apply(s, cid, fetched, profile_targets)
            await s.commit()
        seconds = time.perf_counter() - t0
        async with sm() as s:
            users = (await s.execute(select(User.id, User.external_ids).where(User.company_id == cid))).all()
            projs = (await s.execute(select(Project.id, Project.external_ids).where(Project.company_id == cid))).all()
            asked: dict[tuple[str, str], list[str]] = {}
            table = getattr(directory_models, "DirectoryProposal", None)  # None: code from before proposals
            if table is not None:
                for p in (await s.execute(select(table).where(table.company_id == cid))).scalars():
                    asked[(p.entity_type, p.qbo_id)] = [c["crewflowId"] for c in p.candidates]
        return {"seconds": seconds, "counts": counts.as_dict(), "asked": asked,
                "Employee": {str((x.external_ids or {}).get("qbo")): x.id for x in users if (x.external_ids or {}).get("qbo")},
                "Customer": {str((x.external_ids or {}).get("qbo")): x.id for x in projs if (x.external_ids or {}).get("qbo")},
                "worker_ids": worker_ids, "project_ids": project_ids}
    finally:
        await engine.dispose()


def score(entity: str, cases: Sequence[Case], local_ids: list[uuid.UUID], records: Sequence[DirEntry],
          out: dict[str, Any]) -> dict[str, Any]:
    truth = {c.truth: local_ids[i] for i, c in enumerate(cases) if c.truth}  # qbo id → the CrewFlow record it is
    mine = set(local_ids)
    holder = out[entity]
    k: Counter[str] = Counter()
    wrong: list[str] = []
    for r in records:
        held = holder.get(r.qbo_id)
        if held is not None and held in mine:
            right = truth.get(r.qbo_id) == held
            k["linked right" if right else "linked wrong"] += 1
            if not right:
                wrong.append(f"linked {r.name!r} to {cases[local_ids.index(held)].name!r}")
        elif held is not None:
            bad = r.qbo_id in truth
            k["created wrong" if bad else "created right"] += 1
            if bad:
                wrong.append(f"created {r.name!r} beside {cases[local_ids.index(truth[r.qbo_id])].name!r}")
        elif (entity, r.qbo_id) in out["asked"]:
            k["proposed"] += 1
            if str(truth.get(r.qbo_id)) in out["asked"][(entity, r.qbo_id)]:
                k["proposed, true one offered"] += 1
        else:
            k["left alone"] += 1
    matchable = len(truth)
    return {"k": k, "matchable": matchable, "records": len(records), "wrong": wrong}


def report(title: str, s: dict[str, Any]) -> None:
    k = s["k"]
    print(f"\n== {title}: {s['records']} QuickBooks records, {s['matchable']} of them already in CrewFlow")
    for key in ("linked right", "linked wrong", "created right", "created wrong", "proposed",
                "proposed, true one offered", "left alone"):
        print(f"  {key:>27}: {k[key]}")
    print(f"  {'recall (linked right)':>27}: {100 * k['linked right'] / s['matchable']:.1f} %")
    print(f"  {'recall after the proposals':>27}: "
          f"{100 * (k['linked right'] + k['proposed, true one offered']) / s['matchable']:.1f} % "
          "(the admin links the true record offered)")
    for line in s["wrong"][:10]:
        print(f"    WRONG: {line}")


async def main() -> None:
    seed, emps, workers, custs, projects = messy_directory(__doc__.split("\n")[0])
    name, url = await create_database("import_quality")
    try:
        out = await run_import(url, workers, emps, projects, custs)
    finally:
        await drop_database(name)
    print(f"import quality, seed {seed}: {len(workers)} CrewFlow workers and {len(projects)} projects before "
          f"the import; the import took {out['seconds']:.1f} s")
    print(f"import counts: users {out['counts']['users']}, projects {out['counts']['projects']}")
    report("Employees -> CrewFlow workers", score("Employee", workers, out["worker_ids"], emps, out))
    report("Customers -> CrewFlow projects", score("Customer", projects, out["project_ids"], custs, out))


if __name__ == "__main__":
    asyncio.run(main())
