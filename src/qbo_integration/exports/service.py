"""Fallback CSV of unsynced approved timecards: build, store, record, announce.

"Unsynced" = approved in Core and not in QuickBooks: no sync record that is `synced` or carries a
QBO id (a synced timecard waiting for an update is already in QBO; importing it again would double it).
Timecards are read through the core gateway only. Nothing here commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration import logs
from qbo_integration.config import Settings
from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.gateway import CoreGateway, require_company
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.core_platform.zones import company_zone
from qbo_integration.errors import NotFound
from qbo_integration.exports.csv_format import render
from qbo_integration.exports.storage import PREFIX, ExportStorage
from qbo_integration.metrics import EXPORTS
from qbo_integration.monitoring import audit, notify
from qbo_integration.monitoring.models import CsvExport
from qbo_integration.sync.models import TimecardSyncRecord

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/integrations/quickbooks"
LINK_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
_CHUNK = 5000


def day_bounds(start: date | None, end: date | None, tz: str) -> tuple[datetime | None, datetime | None]:
    """[start 00:00, end+1 00:00) in the company's timezone, as aware instants (a zone Core stores badly
    is a 409 naming it). The dates are bounded by the API (api/inputs.ApiDate), so end+1 exists."""
    zone = company_zone(tz)
    lo = datetime.combine(start, time.min, zone) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min, zone) if end else None
    return lo, hi


async def _in_qbo(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = list(ids[i:i + _CHUNK])
        rows = await session.execute(
            select(TimecardSyncRecord.timecard_id).where(
                TimecardSyncRecord.timecard_id.in_(chunk),
                or_(TimecardSyncRecord.state == "synced", TimecardSyncRecord.qbo_id.is_not(None)),
            )
        )
        found.update(rows.scalars())
    return found


async def unsynced_timecards(session: AsyncSession, company: CompanyView, *, start: date | None = None,
                             end: date | None = None) -> list[TimecardView]:
    gw = CoreGateway(session)
    lo, hi = day_bounds(start, end, company.timezone)
    if lo is None and hi is None:
        ids = [r[0] for r in await gw.approved_timecard_versions(company.id)]
    else:
        ids = await gw.timecard_ids_in_range(
            company.id, lo or datetime(1970, 1, 1, tzinfo=UTC), hi or datetime(9999, 1, 1, tzinfo=UTC))
    in_qbo = await _in_qbo(session, ids) if ids else set()
    wanted = [i for i in ids if i not in in_qbo]
    views: dict[uuid.UUID, TimecardView] = {}
    for i in range(0, len(wanted), _CHUNK):
        views.update(await gw.get_timecards(wanted[i:i + _CHUNK]))
    return sorted(views.values(), key=lambda t: (t.clock_in, t.worker.name, str(t.id)))


def filename_for(company: CompanyView, created: datetime, start: date | None, end: date | None) -> str:
    span = f"{start or 'all'}_{end or 'now'}"
    return f"quickbooks-unsynced-timecards-{span}-{created:%Y%m%dT%H%M%SZ}.csv"


async def create_export(session: AsyncSession, settings: Settings, storage: ExportStorage, company_id: uuid.UUID,
                        *, reason: str, start: date | None = None, end: date | None = None,
                        actor: str | None = None, now: datetime | None = None,
                        store_empty: bool = True) -> tuple[CsvExport | None, bytes, str]:
    """Build the CSV, store it, add a csv_exports row and an audit row. Returns (row, bytes, filename)."""
    now = now or datetime.now(UTC)
    company = await require_company(session, company_id)
    timecards = await unsynced_timecards(session, company, start=start, end=end)
    data = render(timecards, company.timezone)
    name = filename_for(company, now, start, end)
    if not timecards and not store_empty:
        return None, data, name
    export_id = uuid.uuid4()
    key = f"{PREFIX}{company_id}/{export_id}/{name}"
    await storage.put(key, data)
    row = CsvExport(id=export_id, company_id=company_id, reason=reason, storage_key=key, row_count=len(timecards),
                    params={"startDate": start.isoformat() if start else None,
                            "endDate": end.isoformat() if end else None, "storage": storage.kind,
                            "filename": name},
                    created_at=now, expires_at=now + timedelta(days=settings.export_retention_days))
    session.add(row)
    EXPORTS.labels(reason=reason).inc()
    integration_id = (await session.execute(
        select(Integration.id).where(Integration.company_id == company_id))).scalar_one_or_none()
    if integration_id is not None:
        await audit.record(session, integration_id=integration_id, company_id=company_id, action="export_csv",
                     status="success", actor=actor or "system",
                     request_payload={"reason": reason, "startDate": row.params["startDate"],
                                      "endDate": row.params["endDate"]},
                     response_payload={"exportId": str(export_id), "rows": len(timecards), "storage": storage.kind})
    await session.flush()
    with logs.log_context(company_id=company_id):
        logger.info("fallback CSV stored", extra=logs.log_fields(export_id=str(export_id), rows=len(timecards),
                                                                 reason=reason, storage=storage.kind))
    return row, data, name


async def download_link(settings: Settings, storage: ExportStorage, row: CsvExport) -> str:
    url = await storage.link(row.storage_key, expires_seconds=LINK_SECONDS)
    return url or f"{settings.public_base_url.rstrip('/')}{API_PREFIX}/exports/{row.id}?companyId={row.company_id}"


async def export_and_notify(session: AsyncSession, settings: Settings, storage: ExportStorage,
                            company_id: uuid.UUID, reason: str, *, now: datetime | None = None) -> CsvExport | None:
    """The automatic export (breaker open): store the CSV and queue the email with its link."""
    row, _, _ = await create_export(session, settings, storage, company_id, reason=reason, now=now,
                                    store_empty=False)
    if row is None:
        logger.info("no unsynced timecards: no fallback CSV needed")
        return None
    url = await download_link(settings, storage, row)
    await notify.export_ready(session, company_id, export_id=row.id, url=url, row_count=row.row_count,
                              reason=reason, now=now)
    return row


async def get_export(session: AsyncSession, company_id: uuid.UUID, export_id: uuid.UUID) -> CsvExport:
    row = await session.get(CsvExport, export_id)
    if row is None or row.company_id != company_id:
        raise NotFound(f"Export {export_id} not found")
    return row
