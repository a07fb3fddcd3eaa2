"""Audit log API: filters, pagination, CSV with the same filters, retention, bad input."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from qbo_integration.monitoring import audit, retention
from qbo_integration.monitoring.models import AuditLogEntry
from tests.monitoring.helpers import add_audit
from tests.monitoring.test_health import make_integration

P = "/api/v1/integrations/quickbooks"


@pytest.fixture
async def history(sessionmaker, company):
    """30 rows: Nov 1..30 (noon UTC), every 3rd a failure, worker/project/timecard ids on some."""
    iid = await make_integration(sessionmaker, company.id)
    worker, project, timecard = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for day in range(1, 31):
        await add_audit(sessionmaker, iid, company.id, created_at=datetime(2026, 11, day, 12, tzinfo=UTC),
                        status="failure" if day % 3 == 0 else "success",
                        action="sync_timecard" if day % 2 else "import_directory",
                        worker_id=worker if day <= 10 else None, project_id=project if day % 5 == 0 else None,
                        timecard_id=timecard if day == 7 else None, error_message="=cmd|' /C calc'!A0" if day == 9 else None)
    return {"integration_id": iid, "worker": worker, "project": project, "timecard": timecard}


async def get(client, headers, company, **params):
    return await client.get(f"{P}/audit-log", headers=headers, params={"companyId": str(company.id), **params})


async def test_pagination(client, auth_headers, company, history):
    r = await get(client, auth_headers, company, page=2, limit=7)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["pagination"] == {"page": 2, "limit": 7, "total": 30, "totalPages": 5}
    assert [x["createdAt"][:10] for x in body["logs"]] == [f"2026-11-{d:02d}" for d in range(23, 16, -1)]
    last = (await get(client, auth_headers, company, page=5, limit=7)).json()
    assert len(last["logs"]) == 2
    assert (await get(client, auth_headers, company, page=9, limit=7)).json()["logs"] == []


async def test_filters(client, auth_headers, company, history):
    async def total(**kw) -> int:
        r = await get(client, auth_headers, company, **kw)
        assert r.status_code == 200, r.text
        return r.json()["pagination"]["total"]

    assert await total(status="failure") == 10
    assert await total(action="import_directory") == 15
    assert await total(workerId=str(history["worker"])) == 10
    assert await total(projectId=str(history["project"])) == 6
    assert await total(timecardId=str(history["timecard"])) == 1
    # dates are whole days in the company's timezone (Denver): Nov 10 12:00 UTC is Nov 10 05:00 there
    assert await total(startDate="2026-11-10", endDate="2026-11-12") == 3
    assert await total(startDate="2026-11-10", endDate="2026-11-12", status="failure", action="sync_timecard") == 0
    assert await total(startDate="2026-11-28") == 3


async def test_csv_same_filters_and_neutralised(client, auth_headers, company, history, monkeypatch):
    from qbo_integration.monitoring import audit_query

    monkeypatch.setattr(audit_query, "CSV_BATCH", 4)  # several keyset batches
    r = await client.get(f"{P}/audit-log.csv", headers=auth_headers,
                         params={"companyId": str(company.id), "status": "success", "endDate": "2026-11-20"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    expect = [d for d in range(20, 0, -1) if d % 3]
    assert [row["createdAt"][:10] for row in rows] == [f"2026-11-{d:02d}" for d in expect]
    assert {row["status"] for row in rows} == {"success"}
    r = await client.get(f"{P}/audit-log.csv", headers=auth_headers,
                         params={"companyId": str(company.id), "startDate": "2026-11-09", "endDate": "2026-11-09"})
    (row,) = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert row["errorMessage"].startswith("'=cmd")


@pytest.mark.parametrize(("params", "needle"), [
    ({"limit": "201"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"page": "0"}, "page"),
    ({"page": "abc"}, "page"),
    ({"startDate": "2026-11-05", "endDate": "2026-11-01"}, "endDate must be on or after startDate"),
    ({"startDate": "yesterday"}, "startDate"),
    ({"status": "maybe"}, "status"),
    ({"action": "DROP TABLE"}, "action"),
    ({"workerId": "42"}, "workerId"),
    ({"projectId": "x"}, "projectId"),
    ({"timecardId": "x"}, "timecardId"),
    ({"companyId": "x"}, "companyId"),
    ({"unknownFilter": "1"}, "unknownFilter"),
])
async def test_bad_input(client, auth_headers, company, params, needle):
    for path in ("/audit-log", "/audit-log.csv"):
        if path.endswith(".csv") and set(params) & {"page", "limit"}:
            continue
        r = await client.get(f"{P}{path}", headers=auth_headers, params={"companyId": str(company.id), **params})
        assert r.status_code == 422, (path, r.text)
        err = r.json()["error"]
        assert needle in err["message"] or needle in str(err.get("details")), err


async def test_access(client, auth_headers, company, make_token):
    r = await client.get(f"{P}/audit-log", headers=auth_headers, params={"companyId": str(uuid.uuid4())})
    assert r.status_code == 403
    ghost = uuid.uuid4()
    r = await client.get(f"{P}/audit-log.csv", headers={"Authorization": f"Bearer {make_token(ghost)}"},
                         params={"companyId": str(ghost)})
    assert r.status_code == 404


async def test_retention_deletes_only_old_rows_in_batches(sessionmaker, company):
    iid = await make_integration(sessionmaker, company.id)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    for days in (200, 120, 91, 90.5, 89, 1):
        await add_audit(sessionmaker, iid, company.id, created_at=now - timedelta(days=days))
    deleted = await retention.purge_audit_log(sessionmaker, days=90, now=now, batch=2)
    assert deleted == 4
    async with sessionmaker() as s:
        left = (await s.execute(select(func.count()).select_from(AuditLogEntry))).scalar_one()
    assert left == 2


async def test_audit_record_redacts_secrets(sessionmaker, company):
    iid = await make_integration(sessionmaker, company.id)
    async with sessionmaker() as s:
        row = await audit.record(s, integration_id=iid, company_id=company.id, action="connect", status="success",
                                 request_payload={"refresh_token": "rt-123", "realmId": "1"},
                                 error_message="Authorization: Bearer abc.def.ghi")
        await s.commit()
    assert row.request_payload == {"refresh_token": "[redacted]", "realmId": "1"}
    assert "abc.def" not in (row.error_message or "")
