"""The one door to Core Platform's data (core-contract.md).

Everything else asks this module for timecards, workers, projects and cost
codes, and hands it sync results. A second implementation (Core's HTTP admin
API) can replace this one without touching the sync engine. It never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from qbo_integration.core_platform.models import Company, CostCode, Project, Timecard, User
from qbo_integration.core_platform.views import (
    CompanyView,
    CostCodeView,
    ProjectView,
    TimecardView,
    WorkerView,
)
from qbo_integration.db.bulk import update_from_values
from qbo_integration.errors import NotFound


def _company(c: Company) -> CompanyView:
    return CompanyView(id=c.id, name=c.name, timezone=c.timezone or "UTC", admin_email=c.admin_email)


# Each view is built from labelled plain columns (not ORM entities: a reconcile reads thousands of
# timecards), the same columns whether listed alone or joined to a timecard.
def _worker_columns(u: Any = User) -> tuple[Any, ...]:
    return (u.id.label("u_id"), u.name.label("u_name"), u.email.label("u_email"), u.active.label("u_active"),
            u.external_ids.label("u_ext"))


def _project_columns(p: Any = Project) -> tuple[Any, ...]:
    return (p.id.label("p_id"), p.name.label("p_name"), p.status.label("p_status"), p.external_ids.label("p_ext"))


def _cost_code_columns(c: Any = CostCode) -> tuple[Any, ...]:
    return (c.id.label("c_id"), c.code.label("c_code"), c.name.label("c_name"), c.active.label("c_active"))


def _worker(r: Any) -> WorkerView:
    return WorkerView(id=r.u_id, name=r.u_name, email=r.u_email, active=r.u_active, external_ids=dict(r.u_ext or {}))


def _project(r: Any) -> ProjectView:
    return ProjectView(id=r.p_id, name=r.p_name, status=r.p_status, external_ids=dict(r.p_ext or {}))


def _cost_code(r: Any) -> CostCodeView:
    return CostCodeView(id=r.c_id, code=r.c_code, name=r.c_name, active=r.c_active)


_TIMECARD_COLUMNS = (Timecard.id, Timecard.company_id, Timecard.clock_in, Timecard.clock_out, Timecard.break_minutes,
                     Timecard.total_hours, Timecard.billable, Timecard.notes, Timecard.status, Timecard.approved_at,
                     Timecard.updated_at, Timecard.version, Timecard.sync_status, Timecard.qbo_id)


@dataclass(frozen=True)
class TimecardChange:
    id: uuid.UUID
    status: str
    version: int
    clock_in: datetime


class CoreGateway:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_company(self, company_id: uuid.UUID) -> CompanyView | None:
        c = await self.session.get(Company, company_id)
        return _company(c) if c else None

    async def get_timecards(self, timecard_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TimecardView]:
        """Current rows with their worker, project and cost code, keyed by id (missing ids = deleted).

        Plain columns, not ORM entities: a whole-company reconcile reads thousands, and four entities
        a timecard were most of its CPU; each worker, project and cost code becomes one view."""
        if not timecard_ids:
            return {}
        cc = aliased(CostCode)
        stmt = (
            select(*_TIMECARD_COLUMNS, *_worker_columns(), *_project_columns(), *_cost_code_columns(cc))
            .join(User, User.id == Timecard.worker_id)
            .join(Project, Project.id == Timecard.project_id)
            .outerjoin(cc, cc.id == Timecard.cost_code_id)
            .where(Timecard.id.in_(list(timecard_ids)))
        )
        workers: dict[uuid.UUID, WorkerView] = {}
        projects: dict[uuid.UUID, ProjectView] = {}
        codes: dict[uuid.UUID, CostCodeView] = {}
        out: dict[uuid.UUID, TimecardView] = {}
        for r in (await self.session.execute(stmt)).all():
            worker = workers.get(r.u_id) or workers.setdefault(r.u_id, _worker(r))
            project = projects.get(r.p_id) or projects.setdefault(r.p_id, _project(r))
            code = None if r.c_id is None else codes.get(r.c_id) or codes.setdefault(r.c_id, _cost_code(r))
            out[r.id] = TimecardView(
                id=r.id, company_id=r.company_id, worker=worker, project=project, cost_code=code,
                clock_in=r.clock_in, clock_out=r.clock_out, break_minutes=r.break_minutes or 0,
                total_hours=r.total_hours, billable=bool(r.billable), notes=r.notes, status=r.status,
                approved_at=r.approved_at, updated_at=r.updated_at, version=r.version, sync_status=r.sync_status,
                qbo_id=r.qbo_id,
            )
        return out

    async def get_timecard(self, timecard_id: uuid.UUID) -> TimecardView | None:
        return (await self.get_timecards([timecard_id])).get(timecard_id)

    async def approved_timecard_versions(
        self, company_id: uuid.UUID, *, since: date | None = None
    ) -> list[tuple[uuid.UUID, int, datetime | None]]:
        """(id, version, approved_at) of every approved timecard of a company (for the sweep)."""
        stmt = select(Timecard.id, Timecard.version, Timecard.approved_at).where(
            Timecard.company_id == company_id, Timecard.status == "approved"
        )
        if since is not None:
            stmt = stmt.where(Timecard.clock_in >= datetime.combine(since, time.min, UTC))
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(stmt)).all()]

    async def timecards_changed_since(self, company_id: uuid.UUID, since: datetime) -> list[TimecardChange]:
        """Every timecard of the company Core changed at or after `since` (by its updated_at), any status."""
        stmt = select(Timecard.id, Timecard.status, Timecard.version, Timecard.clock_in).where(
            Timecard.company_id == company_id, Timecard.updated_at >= since)
        return [TimecardChange(r.id, r.status, r.version, r.clock_in) for r in (await self.session.execute(stmt)).all()]

    async def recent_approved_ids(self, company_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
        """The `limit` most recently approved timecards of a company, newest first, limited in SQL."""
        stmt = (select(Timecard.id).where(Timecard.company_id == company_id, Timecard.status == "approved")
                .order_by(Timecard.approved_at.desc().nulls_last(), Timecard.id).limit(limit))
        return list((await self.session.execute(stmt)).scalars())

    async def timecard_ids_in_range(self, company_id: uuid.UUID, start: datetime, end: datetime,
                                    *, status: str = "approved") -> list[uuid.UUID]:
        stmt = select(Timecard.id).where(
            Timecard.company_id == company_id, Timecard.status == status,
            Timecard.clock_in >= start, Timecard.clock_in < end,
        ).order_by(Timecard.clock_in)
        return list((await self.session.execute(stmt)).scalars())

    async def timecards_belong_to(self, company_id: uuid.UUID, timecard_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """The subset of ids that exist and belong to this company."""
        if not timecard_ids:
            return set()
        stmt = select(Timecard.id).where(Timecard.company_id == company_id, Timecard.id.in_(list(timecard_ids)))
        return set((await self.session.execute(stmt)).scalars())

    async def timecard_companies(self, timecard_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """{timecard id: company id} for the ids that exist (to tell "not found" from "not yours")."""
        if not timecard_ids:
            return {}
        stmt = select(Timecard.id, Timecard.company_id).where(Timecard.id.in_(list(timecard_ids)))
        return {r[0]: r[1] for r in (await self.session.execute(stmt)).all()}

    async def write_sync_result(self, timecard_id: uuid.UUID, *, sync_status: str, qbo_id: str | None,
                                synced_at: datetime | None) -> None:
        """Only these three columns of core.timecards are ours to write."""
        await self.session.execute(
            update(Timecard).where(Timecard.id == timecard_id)
            .values(sync_status=sync_status, qbo_id=qbo_id, qbo_synced_at=synced_at)
            .execution_options(synchronize_session=False)
        )

    async def write_sync_results(self, results: Sequence[tuple[uuid.UUID, str, str | None, datetime | None]]) -> None:
        """`write_sync_result` for many timecards, in one statement: (id, sync_status, qbo_id, synced_at)."""
        if results:
            rows = [{"id": t, "sync_status": st, "qbo_id": q, "qbo_synced_at": at} for t, st, q, at in results]
            await self.session.execute(
                update_from_values(Timecard, rows, match=("id",), assign=("sync_status", "qbo_id",
                                                                                    "qbo_synced_at"))
                .execution_options(synchronize_session=False))

    async def forget_realm(self, company_id: uuid.UUID) -> tuple[int, int, int]:
        """The company switched to another QuickBooks company: its timecards are not synced there (sync
        status, QBO ids cleared), and its workers' and projects' QBO ids (`external_ids.qbo`) named the old
        company's records. Returns (timecards, workers, projects) changed."""
        tcs = await self.session.execute(
            update(Timecard).where(Timecard.company_id == company_id,
                                   (Timecard.qbo_id.is_not(None)) | (Timecard.sync_status != "not_synced"))
            .values(sync_status="not_synced", qbo_id=None, qbo_synced_at=None)
            .execution_options(synchronize_session=False))
        counts = [int(tcs.rowcount)]  # type: ignore[attr-defined]
        for model in (User, Project):
            res = await self.session.execute(
                update(model).where(model.company_id == company_id, model.external_ids.has_key("qbo"))
                .values(external_ids=model.external_ids.op("-", return_type=JSONB)("qbo")).execution_options(synchronize_session=False))
            counts.append(int(res.rowcount))  # type: ignore[attr-defined]
        return counts[0], counts[1], counts[2]

    async def set_sync_status_many(self, timecard_ids: Sequence[uuid.UUID], sync_status: str) -> None:
        """sync_status only, for many timecards at once (the sweep marking new work `pending`)."""
        if timecard_ids:
            await self.session.execute(
                update(Timecard).where(Timecard.id.in_(list(timecard_ids))).values(sync_status=sync_status)
                .execution_options(synchronize_session=False)
            )

    async def list_workers(self, company_id: uuid.UUID) -> list[WorkerView]:
        rows = await self.session.execute(select(*_worker_columns()).where(User.company_id == company_id)
                                          .order_by(User.name))
        return [_worker(r) for r in rows]

    async def list_projects(self, company_id: uuid.UUID) -> list[ProjectView]:
        rows = await self.session.execute(select(*_project_columns()).where(Project.company_id == company_id)
                                          .order_by(Project.name))
        return [_project(r) for r in rows]

    async def list_cost_codes(self, company_id: uuid.UUID) -> list[CostCodeView]:
        rows = await self.session.execute(select(*_cost_code_columns()).where(CostCode.company_id == company_id)
                                          .order_by(CostCode.code))
        return [_cost_code(r) for r in rows]

    async def recently_synced(self, company_id: uuid.UUID, limit: int) -> list[tuple[uuid.UUID, datetime | None]]:
        """(timecard id, qbo_synced_at) of the company's timecards last written to QBO, newest first; those
        written in one batch (the same instant) by their work, the latest clock-in first."""
        rows = await self.session.execute(
            select(Timecard.id, Timecard.qbo_synced_at)
            .where(Timecard.company_id == company_id, Timecard.sync_status == "synced", Timecard.qbo_id.is_not(None))
            .order_by(Timecard.qbo_synced_at.desc().nulls_last(), Timecard.clock_in.desc(), Timecard.id).limit(limit))
        return [(r[0], r[1]) for r in rows.all()]

    async def find_timecard_ids(self, company_id: uuid.UUID, text: str, zone: str, limit: int) -> list[uuid.UUID]:
        """The company's timecards (any status) whose worker, project or local date (YYYY-MM-DD in `zone`)
        holds every word of `text`, the latest clock-in first, limited in SQL."""
        day = func.to_char(func.timezone(zone, Timecard.clock_in), "YYYY-MM-DD")
        stmt = (select(Timecard.id).join(User, User.id == Timecard.worker_id)
                .join(Project, Project.id == Timecard.project_id).where(Timecard.company_id == company_id))
        for word in text.split():
            like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(User.name.ilike(like, escape="\\"), Project.name.ilike(like, escape="\\"),
                                  day.like(like, escape="\\")))
        stmt = stmt.order_by(Timecard.clock_in.desc(), Timecard.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())


async def require_company(session: AsyncSession, company_id: uuid.UUID) -> CompanyView:
    """The company, or NotFound (a 404) when Core has no such company."""
    company = await CoreGateway(session).get_company(company_id)
    if company is None:
        raise NotFound("Unknown company")
    return company
