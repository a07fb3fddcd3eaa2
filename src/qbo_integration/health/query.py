"""The database half of a company's health, read through the domains' functions: the company
(core gateway), its setup checklist (monitoring.setup), the connection (connections.service), every
count in one statement, the last runs (sync.stats).

The counts statement (an aggregate and scalar subqueries, each on an index; sync's part is
sync.stats.company_counts, the errors monitoring.audit_query.recent_failures):
  - outbox states from ix_tsr_due (company_id, state, next_attempt_at), with the oldest due pending;
  - "synced today" from the partial index ix_tsr_company_synced_at; "today" starts at midnight in
    the company's time zone (checked in Python first: Core may hold a zone that is not one);
  - errors in the last 24 h from the partial audit index, bounded by ERROR_COUNT_CAP;
  - approved timecards on or after the sync start date (a date in the company's time zone, as
    sync.outbox.desire_of has it) that have no outbox row yet: the events or the sweep have not
    reached them, but they are not in QBO either, so Pending counts them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.service import connection_summary
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.zones import BadCompanyTimezone, company_zone
from qbo_integration.monitoring.audit_query import recent_failures
from qbo_integration.monitoring.setup import Checklist, get_checklist
from qbo_integration.sync import stats as sync_stats

RECENT_RUNS = 10
ERROR_COUNT_CAP = 10_000


@dataclass(frozen=True)
class Snapshot:
    zone: ZoneInfo  # the company's (UTC when Core's is not a zone)
    zone_problem: str | None  # Core's time zone for the company is not an IANA zone ("today" is then UTC)
    integration: dict[str, Any] | None  # the Integration columns health shows; None: never connected
    checklist: Checklist | None
    pending: int  # outbox rows pending or in flight
    unqueued: int  # approved timecards in range with no outbox row yet
    retrying: int  # failed for a passing reason, waiting for their retry
    needs_fix: int  # failed for a mapping or data reason: a human must act
    dead: int
    oldest_due_pending: datetime | None
    synced_today: int
    errors: int


def bounded_errors(company_id: uuid.UUID, since: datetime, cap: int) -> Any:
    return recent_failures(company_id, since, cap)


def counts_query(company_id: uuid.UUID, *, now: datetime, today_start: datetime, zone: str,
                 start_date: date | None, error_cap: int) -> Any:
    sync_counts = sync_stats.company_counts(company_id, today_start=today_start, zone=zone,
                                            start_date=start_date).subquery("sync_counts")
    errors = (select(func.count()).select_from(bounded_errors(company_id, now - timedelta(hours=24), error_cap)
                                               .subquery()).scalar_subquery())
    return select(sync_counts, errors.label("errors"))


async def snapshot(session: AsyncSession, company_id: uuid.UUID, now: datetime, error_cap: int) -> Snapshot | None:
    company = await CoreGateway(session).get_company(company_id)
    if company is None:
        return None
    checklist = await get_checklist(session, company_id)
    integration = await connection_summary(session, company_id)
    try:
        zone, zone_problem = company_zone(company.timezone, company_id), None
    except BadCompanyTimezone as exc:  # still report health; "today" falls back to UTC
        zone, zone_problem = ZoneInfo("UTC"), exc.message
    today_start = datetime.combine(now.astimezone(zone).date(), time.min, zone)
    row = (await session.execute(counts_query(
        company_id, now=now, today_start=today_start, zone=zone.key,
        start_date=integration["sync_start_date"] if integration else None, error_cap=error_cap))).one()
    return Snapshot(zone=zone, zone_problem=zone_problem, integration=integration, checklist=checklist,
                    pending=int(row.pending), unqueued=int(row.unqueued), retrying=int(row.retrying),
                    needs_fix=int(row.needs_fix), dead=int(row.dead), oldest_due_pending=row.oldest,
                    synced_today=int(row.synced_today), errors=int(row.errors))


async def recent_runs(session: AsyncSession, company_id: uuid.UUID) -> list[sync_stats.Run]:
    return await sync_stats.recent_runs(session, company_id, RECENT_RUNS)
