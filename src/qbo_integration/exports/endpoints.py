"""Routes: the fallback CSV download and stored exports (local storage)."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ConfigDict, Field

from qbo_integration.api.deps import CompanyAdmin, SessionDep, SettingsDep
from qbo_integration.exports import service
from qbo_integration.exports.storage import storage_for
from qbo_integration.monitoring.schemas import CompanyQuery, DateRange

router = APIRouter(tags=["exports"])
logger = logging.getLogger(__name__)


class ExportQuery(DateRange):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    company_id: uuid.UUID = Field(alias="companyId")


def _csv(data: bytes, filename: str, export_id: uuid.UUID | None = None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if export_id:
        headers["X-Export-Id"] = str(export_id)
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/export-csv", summary="CSV of approved timecards not yet in QuickBooks (admin)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def export_csv(q: Annotated[ExportQuery, Query()], admin: CompanyAdmin, session: SessionDep,
                     settings: SettingsDep) -> Response:
    prepared = await service.prepare_export(session, q.company_id, start=q.start_date, end=q.end_date)
    await session.commit()  # the read ends here: no transaction stays open across the storage put
    storage = storage_for(settings)
    await storage.put(prepared.key, prepared.data)
    row = await service.record_export(session, settings, storage, prepared, reason="manual", actor=admin.sub)
    return _csv(prepared.data, prepared.name, row.id)


@router.get("/exports/{export_id}", summary="Download a stored fallback CSV (admin)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}, 307: {}})
async def get_export(export_id: uuid.UUID, q: Annotated[CompanyQuery, Query()], admin: CompanyAdmin,
                     session: SessionDep, settings: SettingsDep) -> Response:
    row = await service.get_export(session, q.company_id, export_id)
    storage = storage_for(settings)
    url = await storage.link(row.storage_key, expires_seconds=300)
    if url:
        return RedirectResponse(url, status_code=307)
    try:
        data = await storage.get(row.storage_key)
    except FileNotFoundError as exc:
        from qbo_integration.errors import NotFound

        raise NotFound("This export has expired or was removed; create a new one") from exc
    return _csv(data, (row.params or {}).get("filename") or f"export-{row.id}.csv", row.id)
