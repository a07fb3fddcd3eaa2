"""Fallback CSV of unsynced approved timecards: build, store, record, announce.

"Unsynced" = approved in Core and not in QuickBooks: no sync record that is `synced` or carries a
QBO id (a synced timecard waiting for an update is already in QBO; importing it again would double it).
Timecards are read through the core gateway only. Nothing here commits but `export_and_notify`, a
job flow given a sessionmaker: no transaction stays open across the storage put (S3 is a network call).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration import logs
from qbo_integration.clock import utc_now
from qbo_integration.config import Settings
from qbo_integration.connections.service import integration_id as connection_integration_id
from qbo_integration.core_platform.gateway import CoreGateway, require_company
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.core_platform.zones import day_bounds
from qbo_integration.errors import NotFound
from qbo_integration.exports.csv_format import render
from qbo_integration.exports.models import CsvExport
from qbo_integration.exports.storage import PREFIX, ExportStorage
from qbo_integration.metrics import EXPORTS
from qbo_integration.monitoring import audit, notify
from qbo_integration.queue import DELIVER_ALERTS, JobQueue, commit_and_flush
from qbo_integration.sync import outbox_repository
from qbo_integration.sync.story import events as story

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/integrations/quickbooks"
LINK_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
_CHUNK = 5000


async def unsynced_timecards(session: AsyncSession, company: CompanyView, *, start: date | None = None,
                             end: date | None = None) -> list[TimecardView]:
    gw = CoreGateway(session)
    lo, hi = day_bounds(start, end, company.timezone)
    if lo is None and hi is None:
        ids = [r[0] for r in await gw.approved_timecard_versions(company.id)]
    else:
        ids = await gw.timecard_ids_in_range(
            company.id, lo or datetime(1970, 1, 1, tzinfo=UTC), hi or datetime(9999, 1, 1, tzinfo=UTC))
    in_qbo = await outbox_repository.in_qbo(session, ids) if ids else set()
    wanted = [i for i in ids if i not in in_qbo]
    views: dict[uuid.UUID, TimecardView] = {}
    for i in range(0, len(wanted), _CHUNK):
        views.update(await gw.get_timecards(wanted[i:i + _CHUNK]))
    return sorted(views.values(), key=lambda t: (t.clock_in, t.worker.name, str(t.id)))


def filename_for(company: CompanyView, created: datetime, start: date | None, end: date | None) -> str:
    span = f"{start or 'all'}_{end or 'now'}"
    return f"quickbooks-unsynced-timecards-{span}-{created:%Y%m%dT%H%M%SZ}.csv"


@dataclass(frozen=True)
class PreparedExport:
    """A built CSV not stored yet: plain values, so the storage put needs no transaction open."""

    id: uuid.UUID
    company_id: uuid.UUID
    key: str
    name: str
    data: bytes
    row_count: int
    start: date | None
    end: date | None
    created_at: datetime
    timecard_ids: tuple[uuid.UUID, ...] = ()  # the timecards in it (each one's sync story says so)


async def prepare_export(session: AsyncSession, company_id: uuid.UUID, *, start: date | None = None,
                         end: date | None = None, now: datetime | None = None) -> PreparedExport:
    """Read the unsynced timecards and render the CSV. Reads only; the caller ends this transaction
    before the CSV is put in storage (a network call for S3)."""
    now = now or utc_now()
    company = await require_company(session, company_id)
    timecards = await unsynced_timecards(session, company, start=start, end=end)
    name = filename_for(company, now, start, end)
    export_id = uuid.uuid4()
    return PreparedExport(id=export_id, company_id=company_id, key=f"{PREFIX}{company_id}/{export_id}/{name}",
                          name=name, data=render(timecards, company.timezone), row_count=len(timecards),
                          start=start, end=end, created_at=now, timecard_ids=tuple(t.id for t in timecards))


async def record_export(session: AsyncSession, settings: Settings, storage: ExportStorage,
                        prepared: PreparedExport, *, reason: str, actor: str | None = None) -> CsvExport:
    """The csv_exports row and the audit row of a CSV already stored. No network call."""
    company_id, now = prepared.company_id, prepared.created_at
    row = CsvExport(id=prepared.id, company_id=company_id, reason=reason, storage_key=prepared.key,
                    row_count=prepared.row_count,
                    params={"startDate": prepared.start.isoformat() if prepared.start else None,
                            "endDate": prepared.end.isoformat() if prepared.end else None, "storage": storage.kind,
                            "filename": prepared.name},
                    created_at=now, expires_at=now + timedelta(days=settings.export_retention_days))
    session.add(row)
    EXPORTS.labels(reason=reason).inc()
    integration_id = await connection_integration_id(session, company_id)
    if integration_id is not None:
        await audit.record(session, integration_id=integration_id, company_id=company_id, action="export_csv",
                     status="success", actor=actor or "system",
                     request_payload={"reason": reason, "startDate": row.params["startDate"],
                                      "endDate": row.params["endDate"]},
                     response_payload={"exportId": str(prepared.id), "rows": prepared.row_count,
                                       "storage": storage.kind})
    await story.record(session, story.admin(company_id, prepared.timecard_ids, "export_csv", now, reason=reason,
                                            exportId=str(prepared.id), actor=actor or "system"))
    await session.flush()
    with logs.log_context(company_id=company_id):
        logger.info("fallback CSV stored", extra=logs.log_fields(export_id=str(prepared.id), rows=prepared.row_count,
                                                                 reason=reason, storage=storage.kind))
    return row


async def download_link(settings: Settings, storage: ExportStorage, row: CsvExport | PreparedExport) -> str:
    key = row.storage_key if isinstance(row, CsvExport) else row.key
    url = await storage.link(key, expires_seconds=LINK_SECONDS)
    return url or f"{settings.public_base_url.rstrip('/')}{API_PREFIX}/exports/{row.id}?companyId={row.company_id}"


async def export_and_notify(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                            storage: ExportStorage, queue: JobQueue, company_id: uuid.UUID, reason: str, *,
                            now: datetime | None = None) -> CsvExport | None:
    """The automatic export (breaker open): store the CSV and queue the email with its link.

    The job's own boundaries: a read transaction, the storage put and the link with none open, then one
    write transaction. A CSV stored whose rows then fail to commit is left to the bucket's expiry rule."""
    async with sessionmaker() as session:
        prepared = await prepare_export(session, company_id, now=now)
    if prepared.row_count == 0:
        logger.info("no unsynced timecards: no fallback CSV needed")
        return None
    await storage.put(prepared.key, prepared.data)
    url = await download_link(settings, storage, prepared)
    async with sessionmaker() as session:
        row = await record_export(session, settings, storage, prepared, reason=reason)
        await notify.export_ready(session, company_id, export_id=row.id, url=url, row_count=row.row_count,
                                  reason=reason, now=now)
        queue.after_commit(session, DELIVER_ALERTS)
        await commit_and_flush(session, queue)
    return row


async def get_export(session: AsyncSession, company_id: uuid.UUID, export_id: uuid.UUID) -> CsvExport:
    row = await session.get(CsvExport, export_id)
    if row is None or row.company_id != company_id:
        raise NotFound(f"Export {export_id} not found")
    return row
