"""The directory import's writes to Core (users and projects), and the reads the mapping pages need.

Users come from QBO Employees (role `field_worker`), projects from QBO Customers (status `active`).
Matching is done by the caller (directory.importer); this module only reads and writes rows,
in bulk, inside the caller's transaction. It never deletes and never commits.
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
