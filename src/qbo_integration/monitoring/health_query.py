"""The database half of a company's health in three statements: the company with its integration and
setup checklist; every count in one row; the last runs.

The counts statement (an aggregate and scalar subqueries, each on an index):
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

from sqlalchemy import ColumnClause, and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.models import Company
from qbo_integration.core_platform.zones import BadCompanyTimezone, company_zone
from qbo_integration.monitoring.models import AuditLogEntry, SetupChecklist
from qbo_integration.sync import policy
from qbo_integration.sync import service as sync_service
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.models import TimecardSyncRecord as Row

# Literals, not bound parameters: asyncpg prepares statements and after five runs PostgreSQL may use a
# generic plan, which cannot use a partial index whose predicate is a parameter. With a million audit
# rows the bound-parameter error count took 130 ms a call (the literal one uses the partial index).
FAILURE: ColumnClause[str] = literal_column("'failure'")
SYNCED: ColumnClause[str] = literal_column("'synced'")
_OPEN_STATES = ("pending", "in_flight", "failed", "dead")
RECENT_RUNS = 10
ERROR_COUNT_CAP = 10_000


@dataclass(frozen=True)
class Snapshot:
    zone_problem: str | None  # Core's time zone for the company is not an IANA zone ("today" is then UTC)
    integration: dict[str, Any] | None  # the Integration columns health shows; None: never connected
    checklist: SetupChecklist | None
    pending: int  # outbox rows pending or in flight
    unqueued: int  # approved timecards in range with no outbox row yet
    retrying: int  # failed for a passing reason, waiting for their retry
    needs_fix: int  # failed for a mapping or data reason: a human must act
    dead: int
    oldest_due_pending: datetime | None
    synced_today: int
    errors: int


_INTEGRATION_COLUMNS = (Integration.realm_id, Integration.connection_status, Integration.connection_changed_at,
                        Integration.connection_reason, Integration.qbo_company_name, Integration.enabled,
                        Integration.last_sync_at, Integration.sync_start_date, Integration.refresh_token_expires_at,
                        Integration.refresh_token_hard_expires_at)


def bounded_errors(company_id: uuid.UUID, since: datetime, cap: int) -> Any:
    return (select(AuditLogEntry.id)
            .where(AuditLogEntry.company_id == company_id, AuditLogEntry.created_at >= since,
                   AuditLogEntry.status == FAILURE)
            .limit(cap))


def _head_query(company_id: uuid.UUID) -> Any:
    return (select(Company.timezone, *_INTEGRATION_COLUMNS, Integration.id.label("integration_id"), SetupChecklist)
            .select_from(Company)
            .outerjoin(Integration, Integration.company_id == Company.id)
            .outerjoin(SetupChecklist, SetupChecklist.company_id == Company.id)
            .where(Company.id == company_id))


def counts_query(company_id: uuid.UUID, *, now: datetime, today_start: datetime, zone: str,
                 start_date: date | None, error_cap: int) -> Any:
    transient = Row.error_kind == literal_column(f"'{policy.TRANSIENT}'")
    states = (
        select(
            func.count().filter(Row.state.in_(("pending", "in_flight"))).label("pending"),
            func.count().filter(and_(Row.state == "failed", transient)).label("retrying"),
            func.count().filter(and_(Row.state == "failed", or_(Row.error_kind.is_(None), ~transient)))
            .label("needs_fix"),
            func.count().filter(Row.state == "dead").label("dead"),
            func.min(Row.next_attempt_at).filter(Row.state == "pending").label("oldest"),
        )
        .where(Row.company_id == company_id, Row.state.in_(_OPEN_STATES))
        .subquery("states")
    )
    synced_today = (select(func.count()).where(Row.company_id == company_id, Row.state == SYNCED,
                                              Row.synced_at >= today_start).scalar_subquery())
    errors = (select(func.count()).select_from(bounded_errors(company_id, now - timedelta(hours=24), error_cap)
                                               .subquery()).scalar_subquery())
    unqueued = sync_service.unqueued_approved(company_id, start_date, zone).scalar_subquery()
    return select(states.c.pending, states.c.retrying, states.c.needs_fix, states.c.dead, states.c.oldest,
                  synced_today.label("synced_today"), errors.label("errors"), unqueued.label("unqueued"))


async def snapshot(session: AsyncSession, company_id: uuid.UUID, now: datetime, error_cap: int) -> Snapshot | None:
    head = (await session.execute(_head_query(company_id))).one_or_none()
    if head is None:
        return None
    integration = ({c.key: getattr(head, c.key) for c in _INTEGRATION_COLUMNS}
                   if head.integration_id is not None else None)
    try:
        zone, zone_problem = company_zone(head.timezone, company_id), None
    except BadCompanyTimezone as exc:  # still report health; "today" falls back to UTC
        zone, zone_problem = ZoneInfo("UTC"), exc.message
    today_start = datetime.combine(now.astimezone(zone).date(), time.min, zone)
    row = (await session.execute(counts_query(
        company_id, now=now, today_start=today_start, zone=zone.key,
        start_date=integration["sync_start_date"] if integration else None, error_cap=error_cap))).one()
    return Snapshot(zone_problem=zone_problem, integration=integration, checklist=head.SetupChecklist,
                    pending=int(row.pending), unqueued=int(row.unqueued), retrying=int(row.retrying),
                    needs_fix=int(row.needs_fix), dead=int(row.dead), oldest_due_pending=row.oldest,
                    synced_today=int(row.synced_today), errors=int(row.errors))


async def recent_runs(session: AsyncSession, company_id: uuid.UUID) -> list[SyncJob]:
    return list((await session.execute(
        select(SyncJob).where(SyncJob.company_id == company_id).order_by(SyncJob.created_at.desc()).limit(RECENT_RUNS)
    )).scalars())
