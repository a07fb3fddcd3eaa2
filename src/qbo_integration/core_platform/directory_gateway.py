"""The directory import's writes to Core (users and projects), and the reads the mapping pages need.

Users come from QBO Employees (role `field_worker`), projects from QBO Customers (status `active`).
Matching is done by the caller (directory.core_records, directory.decisions); this module only reads and
writes rows, inside the caller's transaction. It never deletes and never commits: a record linked back
to the right one is retired (a user made inactive, a project archived).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.models import Project, Timecard, User


@dataclass
class CoreUser:
    id: uuid.UUID
    name: str
    email: str | None
    active: bool
    external_ids: dict[str, Any]


@dataclass
class CoreProject:
    id: uuid.UUID
    name: str
    status: str
    external_ids: dict[str, Any]


@dataclass(frozen=True)
class CoreRecord:
    """A worker (entity Employee) or project (entity Customer) as the admin's decisions see it."""

    id: uuid.UUID
    name: str
    email: str | None
    active: bool  # a user's `active`, a project's status `active`
    qbo_id: str | None  # external_ids.qbo


@dataclass(frozen=True)
class UnsyncedRefs:
    """Approved timecards not yet in QBO, counted per worker / project / cost code."""

    workers: dict[uuid.UUID, int]
    projects: dict[uuid.UUID, int]
    cost_codes: dict[uuid.UUID, int]


class DirectoryGateway:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def users(self, company_id: uuid.UUID) -> list[CoreUser]:
        rows = await self.session.execute(
            select(User.id, User.name, User.email, User.active, User.external_ids).where(User.company_id == company_id)
        )
        return [CoreUser(r.id, r.name, r.email, bool(r.active), dict(r.external_ids or {})) for r in rows]

    async def projects(self, company_id: uuid.UUID) -> list[CoreProject]:
        rows = await self.session.execute(
            select(Project.id, Project.name, Project.status, Project.external_ids)
            .where(Project.company_id == company_id)
        )
        return [CoreProject(r.id, r.name, r.status, dict(r.external_ids or {})) for r in rows]

    async def create_users(self, company_id: uuid.UUID, rows: Sequence[CoreUser]) -> None:
        if rows:
            await self.session.execute(insert(User), [
                {"id": u.id, "company_id": company_id, "name": u.name[:200], "email": u.email,
                 "role": "field_worker", "active": True, "external_ids": u.external_ids} for u in rows])

    async def update_users(self, rows: Sequence[CoreUser]) -> None:
        """name, email and external_ids of existing users (never role or active)."""
        for u in rows:
            await self.session.execute(
                update(User).where(User.id == u.id)
                .values(name=u.name[:200], email=u.email, external_ids=u.external_ids, updated_at=func.now())
                .execution_options(synchronize_session=False))

    async def create_projects(self, company_id: uuid.UUID, rows: Sequence[CoreProject]) -> None:
        if rows:
            await self.session.execute(insert(Project), [
                {"id": p.id, "company_id": company_id, "name": p.name[:300], "status": "active",
                 "external_ids": p.external_ids} for p in rows])

    async def update_projects(self, rows: Sequence[CoreProject]) -> None:
        """name and external_ids of existing projects (never status)."""
        for p in rows:
            await self.session.execute(
                update(Project).where(Project.id == p.id)
                .values(name=p.name[:300], external_ids=p.external_ids, updated_at=func.now())
                .execution_options(synchronize_session=False))

    async def unsynced_refs(self, company_id: uuid.UUID) -> UnsyncedRefs:
        base = (Timecard.company_id == company_id, Timecard.status == "approved", Timecard.sync_status != "synced")

        async def counts(col: Any) -> dict[uuid.UUID, int]:
            rows = await self.session.execute(
                select(col, func.count()).where(*base, col.is_not(None)).group_by(col))
            return {r[0]: int(r[1]) for r in rows}

        return UnsyncedRefs(workers=await counts(Timecard.worker_id), projects=await counts(Timecard.project_id),
                            cost_codes=await counts(Timecard.cost_code_id))

    # --- one worker or project at a time (the admin's decisions); entity: Employee (users) or Customer (projects)
    async def record(self, company_id: uuid.UUID, entity: str, record_id: uuid.UUID) -> CoreRecord | None:
        return next(iter(await self._records(entity, _table(entity).company_id == company_id,
                                             _table(entity).id == record_id)), None)

    async def holders(self, company_id: uuid.UUID, entity: str, qbo_id: str) -> list[CoreRecord]:
        """The records whose external_ids.qbo is this QuickBooks id (one, unless Core was edited by hand)."""
        t = _table(entity)
        return await self._records(entity, t.company_id == company_id, t.external_ids["qbo"].astext == qbo_id)

    async def unlinked(self, company_id: uuid.UUID, entity: str) -> list[CoreRecord]:
        """Active records not linked to QuickBooks: what a QuickBooks record may be linked to."""
        t = _table(entity)
        active = t.active.is_(True) if entity == "Employee" else t.status == "active"
        return await self._records(entity, t.company_id == company_id, active, ~t.external_ids.has_key("qbo"))

    async def linked(self, company_id: uuid.UUID, entity: str) -> list[CoreRecord]:
        t = _table(entity)
        return await self._records(entity, t.company_id == company_id, t.external_ids.has_key("qbo"))

    async def _records(self, entity: str, *where: Any) -> list[CoreRecord]:
        if entity == "Employee":
            rows = await self.session.execute(select(User.id, User.name, User.email, User.active, User.external_ids)
                                              .where(*where).order_by(User.name))
            return [CoreRecord(r.id, r.name, r.email, bool(r.active), _qbo(r.external_ids)) for r in rows]
        rows = await self.session.execute(select(Project.id, Project.name, Project.status, Project.external_ids)
                                          .where(*where).order_by(Project.name))
        return [CoreRecord(r.id, r.name, None, r.status == "active", _qbo(r.external_ids)) for r in rows]

    async def link(self, entity: str, record_id: uuid.UUID, qbo_id: str, *, name: str, email: str | None) -> None:
        """external_ids.qbo set; name (and a user's email, when QBO has one) follow QuickBooks from now on,
        as the import keeps them for every linked record."""
        t = _table(entity)
        values: dict[str, Any] = {"external_ids": t.external_ids.op("||")(func.jsonb_build_object("qbo", qbo_id)),
                                  "name": name[:_NAME_MAX[entity]], "updated_at": func.now()}
        if entity == "Employee" and email:
            values["email"] = email
        await self.session.execute(update(t).where(t.id == record_id).values(**values)
                                   .execution_options(synchronize_session=False))

    async def retire(self, entity: str, record_id: uuid.UUID) -> None:
        """Unlinked from QuickBooks and made inactive (a user) or archived (a project); never deleted."""
        t = _table(entity)
        values: dict[str, Any] = {"external_ids": t.external_ids.op("-")("qbo"), "updated_at": func.now()}
        values.update({"active": False} if entity == "Employee" else {"status": "archived"})
        await self.session.execute(update(t).where(t.id == record_id).values(**values)
                                   .execution_options(synchronize_session=False))

    async def create(self, company_id: uuid.UUID, entity: str, *, name: str, email: str | None,
                     qbo_id: str) -> uuid.UUID:
        new_id = uuid.uuid4()
        if entity == "Employee":
            await self.create_users(company_id, [CoreUser(new_id, name, email, True, {"qbo": qbo_id})])
        else:
            await self.create_projects(company_id, [CoreProject(new_id, name, "active", {"qbo": qbo_id})])
        return new_id

    async def timecard_counts(self, company_id: uuid.UUID, entity: str,
                              ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many timecards (any status) each of these workers or projects has; absent = none."""
        if not ids:
            return {}
        col = Timecard.worker_id if entity == "Employee" else Timecard.project_id
        rows = await self.session.execute(select(col, func.count()).where(Timecard.company_id == company_id,
                                                                         col.in_(list(ids))).group_by(col))
        return {r[0]: int(r[1]) for r in rows}


_NAME_MAX = {"Employee": 200, "Customer": 300}


def _table(entity: str) -> Any:
    return User if entity == "Employee" else Project


def _qbo(external_ids: dict[str, Any] | None) -> str | None:
    value = (external_ids or {}).get("qbo")
    return str(value) if value else None
