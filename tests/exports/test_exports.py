"""Fallback CSV: content, unsynced selection, S3 (moto server on loopback) and local storage, routes."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

import aioboto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.exports import csv_format, service
from qbo_integration.exports import endpoints as export_endpoints
from qbo_integration.exports import tasks as export_tasks
from qbo_integration.exports.models import CsvExport
from qbo_integration.exports.storage import LIFECYCLE_RULE_ID, LocalStorage, S3Storage, storage_for
from qbo_integration.monitoring.models import AlertOutbox
from qbo_integration.sync.models import TimecardSyncRecord
from qbo_integration.worker.queue import JobQueue
from tests.monitoring.helpers import seed_timecards
from tests.monitoring.smtp import free_port
from tests.txprobe import idle_in_transaction

P = "/api/v1/integrations/quickbooks"


@pytest.fixture(scope="module")
def moto_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(settings, moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    return settings.model_copy(update={"s3_bucket": bucket, "s3_endpoint_url": moto_server})


def parse(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


async def mark_synced(sessionmaker, company_id, timecard_ids, *, state="synced", qbo_id="77"):
    async with sessionmaker() as s:
        for tid in timecard_ids:
            s.add(TimecardSyncRecord(id=uuid.uuid4(), company_id=company_id, timecard_id=tid, state=state,
                                     operation="none" if state == "synced" else "update", qbo_id=qbo_id))
        await s.commit()


def test_formula_cells_are_neutralised():
    for bad in ("=1+2", "+SUM(A1)", "-3", "@cmd", "\tx", "\rx"):
        assert csv_format.neutralise(bad) == "'" + bad
    assert csv_format.neutralise("Plain") == "Plain"
    assert csv_format.neutralise(None) == ""


async def test_unsynced_rows_columns_and_timezone(sessionmaker, company):
    seeded = await seed_timecards(sessionmaker, company.id, 4, worker_name="=HYPERLINK(\"x\")", notes="@evil")
    await seed_timecards(sessionmaker, company.id, 1, status="submitted")  # not approved: never exported
    await mark_synced(sessionmaker, company.id, seeded.timecard_ids[:1])
    await mark_synced(sessionmaker, company.id, seeded.timecard_ids[1:2], state="pending", qbo_id="78")  # in QBO
    await mark_synced(sessionmaker, company.id, seeded.timecard_ids[2:3], state="failed", qbo_id=None)
    async with sessionmaker() as s:
        co = await CoreGateway(s).get_company(company.id)
        views = await service.unsynced_timecards(s, co)
    assert [v.id for v in views] == seeded.timecard_ids[2:]
    rows = parse(csv_format.render(views, "America/Denver"))
    assert list(rows[0].keys()) == list(csv_format.COLUMNS)
    first = rows[0]
    # 2026-11-04 15:00 UTC is 08:00 in Denver (MST, UTC-7)
    assert first["Date"] == "11/04/2026" and first["Start Time"] == "8:00 AM" and first["End Time"] == "4:30 PM"
    assert first["Hours"] == "8.00" and first["Billable"] == "Yes" and first["Customer"] == "Main St Remodel"
    assert first["Employee"] == "'=HYPERLINK(\"x\")" and first["Description"] == "'@evil"
    assert first["CrewFlow Timecard ID"] == str(seeded.timecard_ids[2])


async def test_s3_export_sets_lifecycle_and_presigned_link_downloads(sessionmaker, company, s3_settings):
    seeded = await seed_timecards(sessionmaker, company.id, 3)
    storage = storage_for(s3_settings)
    assert isinstance(storage, S3Storage)
    row = await service.export_and_notify(sessionmaker, s3_settings, storage, _RecordingQueue(), company.id,
                                          "breaker_open")
    assert row is not None and row.row_count == 3
    session = aioboto3.Session()
    async with session.client("s3", endpoint_url=s3_settings.s3_endpoint_url, region_name="us-east-1") as s3:
        rules = (await s3.get_bucket_lifecycle_configuration(Bucket=s3_settings.s3_bucket))["Rules"]
        obj = await s3.get_object(Bucket=s3_settings.s3_bucket, Key=row.storage_key)
        body = await obj["Body"].read()
    assert [(r["ID"], r["Expiration"]["Days"]) for r in rules] == [(LIFECYCLE_RULE_ID, 30)]
    assert [r["CrewFlow Timecard ID"] for r in parse(body)] == [str(i) for i in seeded.timecard_ids]
    async with sessionmaker() as s:
        alert = (await s.execute(select(AlertOutbox))).scalar_one()
    assert alert.kind == "export_ready" and alert.recipients == ["admin@acme.test"]
    link = next(w for w in alert.body.split() if w.startswith("http"))
    assert "X-Amz-Signature" in link and "How to import into QuickBooks Online" in alert.body
    async with httpx.AsyncClient() as c:
        got = await c.get(link)
    assert got.status_code == 200 and got.content == body


async def test_no_unsynced_timecards_no_export_no_email(sessionmaker, company, settings):
    queue = _RecordingQueue()
    assert await service.export_and_notify(sessionmaker, settings, LocalStorage(settings.export_dir), queue,
                                           company.id, "x") is None
    assert queue.sent == []
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(AlertOutbox))).scalar_one() == 0


async def test_export_csv_route_filters_dates_and_stores_locally(client, sessionmaker, company, auth_headers, settings):
    seeded = await seed_timecards(sessionmaker, company.id, 5)  # Nov 2..6, 08:00 Denver
    r = await client.get(f"{P}/export-csv", headers=auth_headers,
                         params={"companyId": str(company.id), "startDate": "2026-11-03", "endDate": "2026-11-05"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert [x["CrewFlow Timecard ID"] for x in parse(r.content)] == [str(i) for i in seeded.timecard_ids[1:4]]
    export_id = r.headers["x-export-id"]
    stored = await client.get(f"{P}/exports/{export_id}", headers=auth_headers, params={"companyId": str(company.id)})
    assert stored.status_code == 200 and stored.content == r.content
    async with sessionmaker() as s:
        row = await s.get(CsvExport, uuid.UUID(export_id))
        assert row.reason == "manual" and row.row_count == 3 and row.params["startDate"] == "2026-11-03"


@pytest.mark.parametrize(("params", "status", "needle"), [
    ({"companyId": "nope"}, 422, "companyId"),
    ({}, 422, "companyId"),
    ({"startDate": "2026-11-05", "endDate": "2026-11-01"}, 422, "endDate must be on or after startDate"),
    ({"startDate": "2026-13-01"}, 422, "startDate"),
    ({"startDate": "2020-01-01", "endDate": "2026-01-01"}, 422, "at most 366 days"),
    ({"bogus": "1"}, 422, "bogus"),
])
async def test_export_csv_bad_input(client, company, auth_headers, params, status, needle):
    q = {"companyId": str(company.id), **params} if "companyId" not in params and params != {} else params
    r = await client.get(f"{P}/export-csv", headers=auth_headers, params=q)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]["message"] or needle in str(r.json()["error"].get("details"))


async def test_export_routes_access_rules(client, sessionmaker, company, auth_headers, make_token):
    other = uuid.uuid4()
    r = await client.get(f"{P}/export-csv", headers=auth_headers, params={"companyId": str(other)})
    assert r.status_code == 403
    worker = {"Authorization": f"Bearer {make_token(company.id, role='field_worker')}"}
    r = await client.get(f"{P}/export-csv", headers=worker, params={"companyId": str(company.id)})
    assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
    r = await client.get(f"{P}/exports/{uuid.uuid4()}", headers=auth_headers, params={"companyId": str(company.id)})
    assert r.status_code == 404
    r = await client.get(f"{P}/exports/not-a-uuid", headers=auth_headers, params={"companyId": str(company.id)})
    assert r.status_code == 422
    ghost = uuid.uuid4()
    r = await client.get(f"{P}/export-csv", headers={"Authorization": f"Bearer {make_token(ghost)}"},
                         params={"companyId": str(ghost)})
    assert r.status_code == 404 and r.json()["error"]["message"] == "Unknown company"
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(CsvExport))).scalar_one() == 0


def test_day_bounds_use_company_timezone():
    lo, hi = service.day_bounds(date(2026, 11, 3), date(2026, 11, 3), "America/Denver")
    assert lo == datetime(2026, 11, 3, 7, 0, tzinfo=UTC) and hi == datetime(2026, 11, 4, 7, 0, tzinfo=UTC)


class _ProbingStorage(LocalStorage):
    """Local storage whose put first looks, from another connection, for transactions left open."""

    def __init__(self, root: str, sessionmaker) -> None:
        super().__init__(root)
        self.sessionmaker = sessionmaker
        self.open_during_put: list[int] = []

    async def put(self, key: str, data: bytes) -> None:
        self.open_during_put.append(await idle_in_transaction(self.sessionmaker))
        await super().put(key, data)


class _RecordingQueue(JobQueue):
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def enqueue(self, function: str, *args, **kwargs) -> str | None:
        self.sent.append(function)
        return None


async def test_the_export_job_holds_no_transaction_across_the_storage_put(sessionmaker, company, settings,
                                                                          monkeypatch):
    await seed_timecards(sessionmaker, company.id, 2)
    storage = _ProbingStorage(settings.export_dir, sessionmaker)
    monkeypatch.setattr(export_tasks, "storage_for", lambda _settings: storage)
    queue = _RecordingQueue()
    out = await export_tasks.export_unsynced({"settings": settings, "sessionmaker": sessionmaker, "queue": queue},
                                             str(company.id))
    assert storage.open_during_put == [0]
    assert out["rows"] == 2 and queue.sent == ["deliver_alerts"]
    async with sessionmaker() as s:
        row = await s.get(CsvExport, uuid.UUID(out["exportId"]))
        alert = (await s.execute(select(AlertOutbox))).scalar_one()
    assert row is not None and row.row_count == 2 and (await storage.get(row.storage_key)).count(b"\n") == 3
    assert alert.kind == "export_ready" and str(row.id) in alert.body


async def test_the_export_route_holds_no_transaction_across_the_storage_put(client, sessionmaker, company,
                                                                            auth_headers, settings, monkeypatch):
    await seed_timecards(sessionmaker, company.id, 2)
    storage = _ProbingStorage(settings.export_dir, sessionmaker)
    monkeypatch.setattr(export_endpoints, "storage_for", lambda _settings: storage)
    r = await client.get(f"{P}/export-csv", headers=auth_headers, params={"companyId": str(company.id)})
    assert r.status_code == 200, r.text
    assert storage.open_during_put == [0]
    async with sessionmaker() as s:
        row = await s.get(CsvExport, uuid.UUID(r.headers["x-export-id"]))
    assert row is not None and row.row_count == 2 and await storage.get(row.storage_key) == r.content
