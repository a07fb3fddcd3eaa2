"""Reading the audit log: filters, pagination, and a streamed CSV with the same filters."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnClause, Select, and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.core_platform.zones import day_bounds
from qbo_integration.csv_cells import neutralise
from qbo_integration.monitoring.models import AuditLogEntry

CSV_COLUMNS = ("createdAt", "action", "status", "timecardId", "qboId", "workerId", "projectId", "jobId",
               "actor", "errorMessage", "id")
CSV_BATCH = 1000
# A literal, not a bound parameter: asyncpg prepares statements and after five runs PostgreSQL may use a
# generic plan, which cannot use a partial index whose predicate is a parameter. With a million audit
# rows the bound-parameter error count took 130 ms a call (the literal one uses the partial index).
FAILURE: ColumnClause[str] = literal_column("'failure'")


@dataclass(frozen=True)
class AuditFilter:
    company_id: uuid.UUID
    start: date | None = None
    end: date | None = None
    status: str | None = None
    action: str | None = None
    worker_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    timecard_id: uuid.UUID | None = None


def _where(f: AuditFilter, timezone: str) -> list[Any]:
    lo, hi = day_bounds(f.start, f.end, timezone)
    conds: list[Any] = [AuditLogEntry.company_id == f.company_id]
    if lo is not None:
        conds.append(AuditLogEntry.created_at >= lo)
    if hi is not None:
        conds.append(AuditLogEntry.created_at < hi)
    for col, value in ((AuditLogEntry.status, f.status), (AuditLogEntry.action, f.action),
                       (AuditLogEntry.worker_id, f.worker_id), (AuditLogEntry.project_id, f.project_id),
                       (AuditLogEntry.timecard_id, f.timecard_id)):
        if value is not None:
            conds.append(col == value)
    return conds


def recent_failures(company_id: uuid.UUID, since: datetime, cap: int) -> Select[Any]:
    """The ids of the company's failure rows since `since`, at most `cap` (on ix_audit_log_company_failures)."""
    return (select(AuditLogEntry.id)
            .where(AuditLogEntry.company_id == company_id, AuditLogEntry.created_at >= since,
                   AuditLogEntry.status == FAILURE)
            .limit(cap))


def entry_dict(e: AuditLogEntry, *, payloads: bool = True) -> dict[str, Any]:
    """One row as the API shows it; without `payloads` (a non-admin's view) the request and response
    bodies are left out: they hold TimeActivity rates and people's emails (README, "Roles")."""
    return {
        "id": str(e.id), "createdAt": e.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "action": e.action, "status": e.status, "timecardId": str(e.timecard_id) if e.timecard_id else None,
        "qboId": e.qbo_id, "workerId": str(e.worker_id) if e.worker_id else None,
        "projectId": str(e.project_id) if e.project_id else None, "jobId": str(e.job_id) if e.job_id else None,
        "actor": e.actor, "errorMessage": e.error_message,
        "requestPayload": e.request_payload if payloads else None,
        "responsePayload": e.response_payload if payloads else None,
    }


async def page(session: AsyncSession, f: AuditFilter, timezone: str, *, page_no: int, limit: int,
               payloads: bool = True) -> dict[str, Any]:
    conds = _where(f, timezone)
    total = int((await session.execute(select(func.count()).select_from(AuditLogEntry).where(*conds))).scalar_one())
    rows = (await session.execute(
        select(AuditLogEntry).where(*conds)
        .order_by(AuditLogEntry.created_at.desc(), AuditLogEntry.id.desc())
        .offset((page_no - 1) * limit).limit(limit)
    )).scalars().all()
    return {"logs": [entry_dict(r, payloads=payloads) for r in rows],
            "pagination": {"page": page_no, "limit": limit, "total": total,
                           "totalPages": (total + limit - 1) // limit}}


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def stream_csv(sessionmaker: async_sessionmaker[AsyncSession], f: AuditFilter,
               timezone: str) -> AsyncIterator[bytes]:
    """Newest first, keyset-paginated in batches, each batch in its own short session. The filter is
    turned into SQL here, before the answer starts: a bad one raises now, not mid-stream."""
    return _csv_rows(sessionmaker, _where(f, timezone))


async def _csv_rows(sessionmaker: async_sessionmaker[AsyncSession], conds: list[Any]) -> AsyncIterator[bytes]:
    yield ("\ufeff" + _csv_line(list(CSV_COLUMNS))).encode()
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt: Select = select(AuditLogEntry).where(*conds)
        if after is not None:
            at, last_id = after
            stmt = stmt.where(or_(AuditLogEntry.created_at < at,
                                  and_(AuditLogEntry.created_at == at, AuditLogEntry.id < last_id)))
        stmt = stmt.order_by(AuditLogEntry.created_at.desc(), AuditLogEntry.id.desc()).limit(CSV_BATCH)
        async with sessionmaker() as session:
            rows = (await session.execute(stmt)).scalars().all()
        if not rows:
            return
        chunk = []
        for r in rows:
            d = entry_dict(r)
            chunk.append(_csv_line([neutralise(d[c]) if d[c] is not None else "" for c in CSV_COLUMNS]))
        yield "".join(chunk).encode()
        if len(rows) < CSV_BATCH:
            return
        after = (rows[-1].created_at, rows[-1].id)
