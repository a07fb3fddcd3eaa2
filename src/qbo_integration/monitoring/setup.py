"""The 48-hour setup guarantee: a checklist per company, first time of each step only.

`mark_step` is what other domains call (connections, sync, mapping); it never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.metrics import SETUP_SECONDS
from qbo_integration.monitoring.models import SetupChecklist

STEPS = (
    "connected",
    "directory_imported",
    "mapping_saved",
    "dry_run_passed",
    "live_sync_enabled",
    "first_timecard_synced",
)
STEP_LABELS = {
    "connected": "QuickBooks connected",
    "directory_imported": "Employees and customers imported",
    "mapping_saved": "Field mapping saved",
    "dry_run_passed": "Dry run passed",
    "live_sync_enabled": "Live sync enabled",
    "first_timecard_synced": "First timecard synced",
}
DEFAULT_DEADLINE = timedelta(hours=48)

Checklist = SetupChecklist  # a company's checklist row, as get_checklist gives it and summarise takes it
_table = SetupChecklist.__table__


def _col(step: str) -> str:
    if step not in STEPS:
        raise ValueError(f"unknown setup step {step!r}; expected one of {', '.join(STEPS)}")
    return f"{step}_at"


async def ensure_started(session: AsyncSession, company_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Start the clock for a company (no-op when its checklist exists)."""
    now = now or utc_now()
    await session.execute(
        insert(SetupChecklist).values(company_id=company_id, started_at=now).on_conflict_do_nothing()
    )


async def mark_step(session: AsyncSession, company_id: uuid.UUID, step: str, *,
                    now: datetime | None = None) -> bool:
    """Record `step` the first time it happens (starting the clock if needed). True if this was the first time.

    When every step is done the checklist is completed once and the setup-time metric observed.
    """
    col = _col(step)
    now = now or utc_now()
    c = _table.c
    # Evaluated on the row as it was: the step is new here and every other step was done already.
    completes = and_(c.completed_at.is_(None), c[col].is_(None), *[c[_col(s)].is_not(None) for s in STEPS if s != step])
    stmt = (
        insert(SetupChecklist)
        .values(company_id=company_id, started_at=now, **{col: now})
        .on_conflict_do_update(
            index_elements=[c.company_id],
            set_={col: func.coalesce(c[col], now), "completed_at": case((completes, literal(now, c.completed_at.type)), else_=c.completed_at)},
        )
        .returning(c[col], c.completed_at, c.started_at)
    )
    at, completed, started = (await session.execute(stmt)).one()
    first = at == now
    if first and completed == now and started is not None:
        SETUP_SECONDS.observe(max(0.0, (now - started).total_seconds()))
    return first


@dataclass(frozen=True)
class SetupSummary:
    company_id: uuid.UUID
    started_at: datetime | None
    completed_at: datetime | None
    steps: list[dict[str, Any]]
    elapsed_seconds: float
    deadline_at: datetime | None
    remaining_seconds: float | None
    alerts_sent: list[Any]

    @property
    def complete(self) -> bool:
        return self.completed_at is not None

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s["doneAt"] is not None)


async def get_checklist(session: AsyncSession, company_id: uuid.UUID) -> SetupChecklist | None:
    return (await session.execute(
        select(SetupChecklist).where(SetupChecklist.company_id == company_id)
    )).scalar_one_or_none()


def summarise(row: SetupChecklist | None, company_id: uuid.UUID, *, now: datetime,
              deadline: timedelta = DEFAULT_DEADLINE) -> SetupSummary:
    steps = [{"step": s, "label": STEP_LABELS[s], "doneAt": getattr(row, _col(s)) if row else None} for s in STEPS]
    if row is None:
        return SetupSummary(company_id, None, None, steps, 0.0, None, None, [])
    end = row.completed_at or now
    deadline_at = row.started_at + deadline
    remaining = None if row.completed_at else (deadline_at - now).total_seconds()
    return SetupSummary(
        company_id=company_id, started_at=row.started_at, completed_at=row.completed_at, steps=steps,
        elapsed_seconds=max(0.0, (end - row.started_at).total_seconds()), deadline_at=deadline_at,
        remaining_seconds=remaining, alerts_sent=list(row.alerts_sent or []),
    )


async def get_summary(session: AsyncSession, company_id: uuid.UUID, *, now: datetime | None = None,
                      deadline: timedelta = DEFAULT_DEADLINE) -> SetupSummary:
    return summarise(await get_checklist(session, company_id), company_id,
                     now=now or utc_now(), deadline=deadline)
