"""Drift in a company's health: the open findings, counted on their partial index, as a HealthSignal.

monitoring sits below reconciliation, so health does not import this: the composition
(`services.Services.health_signals`) hands it to `health.service.company_health`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnClause, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.health.service import HealthSignal
from qbo_integration.reconciliation.models import DriftFinding

KEY = "openDriftFindings"
_OPEN: ColumnClause[str] = literal_column("'open'")  # a literal: the partial index ix_drift_findings_company_open is then usable


async def drift_signal(session: AsyncSession, company_id: uuid.UUID) -> HealthSignal:
    count = int((await session.execute(
        select(func.count()).select_from(DriftFinding)
        .where(DriftFinding.company_id == company_id, DriftFinding.status == _OPEN)
    )).scalar_one())
    reason = (f"{count} TimeActivit{'y was' if count == 1 else 'ies were'} changed or deleted inside QuickBooks "
              "since CrewFlow synced them: push CrewFlow's version, keep QuickBooks', or dismiss each on the "
              "dashboard") if count else None
    return HealthSignal(key=KEY, count=count, degraded_reason=reason)
