"""Dashboard details and the audit log in the browser: status colour from the health route, clicking an
error shows its message and timecard, dead letters re-queued, audit filters, pages and the CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.console.flows import script_errors, sign_in
from tests.mapping.factories import add_project, add_timecard, add_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(2400)]

DEAD_ERROR = "QuickBooks refused: Invalid Reference Id (Employee 77 is inactive)"
AUDIT_ERROR = "Object Not Found: Customer 404"


def label(start: datetime) -> str:
    """How the console names the seeded timecard: worker · project · date (the company's zone) · hours."""
    from zoneinfo import ZoneInfo

    return f"Rita Rivets · Depot Roof · {start.astimezone(ZoneInfo('America/Denver')).date().isoformat()} · 7.5 h"


async def _seed(sessionmaker, cc) -> tuple[str, datetime]:
    from qbo_integration.monitoring import audit
    from qbo_integration.sync.models import TimecardSyncRecord

    start = datetime.now(UTC) - timedelta(days=1)
    async with sessionmaker() as s:
        w = add_worker(s, cc.company_id, "Rita Rivets")
        p = add_project(s, cc.company_id, "Depot Roof")
        await s.flush()
        tc = add_timecard(s, cc.company_id, w, p, clock_in=start, clock_out=start + timedelta(hours=8))
        await s.flush()
        s.add(TimecardSyncRecord(company_id=cc.company_id, timecard_id=tc.id, operation="create", state="dead",
                                 attempts=6, timecard_version=1, last_error=DEAD_ERROR, last_error_code="2500",
                                 error_kind="transient"))
        for i in range(30):
            failed = i % 10 == 9
            await audit.record(s, integration_id=cc.integration_id, company_id=cc.company_id,
                               action="timecard_sync", status="failure" if failed else "success", timecard_id=tc.id,
                               worker_id=w.id, project_id=p.id, qbo_id=None if failed else str(100 + i),
                               error_message=AUDIT_ERROR if failed else None,
                               request_payload={"EmployeeRef": {"value": "77"}})
        await s.commit()
        return str(tc.id), start


async def test_dashboard_errors_dead_letters_and_audit_log(probe, live, connected_company, make_token, sessionmaker):
    page = probe.page
    timecard_id, start = await _seed(sessionmaker, connected_company)
    await sign_in(probe, live, make_token(connected_company.company_id), "dashboard")
    await page.wait_for_selector("#health-status")
    assert await page.get_attribute("#health-status", "data-status") == "degraded"
    assert "1 timecard(s) could not be sent after several tries" in await page.inner_text("#health-status")
    assert await page.text_content("#errors-24h .tile-value") == "3"
    assert await page.get_attribute("#breaker", "data-state") == "closed"

    # Click an error: its message and timecard.
    await page.click("#recent-errors .error-item")
    await page.wait_for_selector("#error-detail:not([hidden])")
    assert await page.text_content("#error-message") == AUDIT_ERROR
    assert await page.text_content("#error-timecard") == label(start)
    assert await page.get_attribute("#error-timecard", "data-timecard-id") == timecard_id
    await probe.shot("dashboard-error-detail")
    await page.click("#dead-letters .error-item")
    assert await page.text_content("#error-message") == DEAD_ERROR

    # Re-queue the dead letter.
    await page.click("#dead-letters .requeue")
    await page.wait_for_selector("#dead-out .msg-ok")
    assert "1 timecard(s) queued again" in await page.text_content("#dead-out")
    await page.wait_for_function("document.querySelector('#dead-count .tile-value').textContent === '0'")

    # Audit log: 30 entries over 2 pages, a failure filter, the CSV of that filter.
    await page.click("text=View logs")
    await page.wait_for_selector("#audit-table table")
    assert await page.text_content("#page-info") == "Page 1 of 2 · 30 entries"
    assert await page.locator("#audit-table tr.entry").count() == 25
    await page.click("#page-next")
    await page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Page 2 of 2')")
    assert await page.locator("#audit-table tr.entry").count() == 5
    await page.select_option("#f-status", "failure")
    await page.click("#audit-filters button[type=submit]")
    await page.wait_for_function("document.querySelector('#page-info').textContent === 'Page 1 of 1 · 3 entries'")
    await page.click("#audit-table tr.entry")
    assert AUDIT_ERROR in await page.text_content("#audit-table tr.details:not([hidden])")
    assert await page.text_content("#audit-table tr.entry .timecard-name") == label(start)
    assert await page.text_content("#audit-table tr.details:not([hidden]) .worker-name") == "Rita Rivets"
    await probe.shot("audit-log-filtered")
    async with page.expect_download() as info:
        await page.click("#audit-csv")
    download = await info.value
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(open(path, encoding="utf-8-sig").read())))  # noqa: ASYNC230
    assert len(rows) == 3 and {r["status"] for r in rows} == {"failure"}
    assert {r["errorMessage"] for r in rows} == {AUDIT_ERROR}

    # A bad filter is answered in words, not a crash.
    await page.fill("#f-workerId", "not-a-uuid")
    await page.click("#audit-filters button[type=submit]")
    await page.wait_for_selector("#audit-out .msg-error")
    assert 'Worker: Nothing is called "not-a-uuid"' in await page.text_content("#audit-out")
    assert script_errors(probe) == []


CLOSED_ERROR = ("QuickBooks books are closed through 2026-10-31: this timecard (2026-10-15) cannot be sent. "
                "Export it as CSV, or sync it once the books reopen.")


async def test_a_closed_period_failure_offers_the_csv_and_a_retry(probe, live, connected_company, make_token,
                                                                  sessionmaker):
    """Issue 15: the message, then its two ways out, each doing what it says."""
    from sqlalchemy import update

    from qbo_integration.connections.models import Integration
    from qbo_integration.monitoring import audit
    from qbo_integration.sync.models import TimecardSyncRecord

    cc, page = connected_company, probe.page
    start = datetime(2026, 10, 15, 15, 0, tzinfo=UTC)  # 09:00 in Denver
    async with sessionmaker() as s:
        await s.execute(update(Integration).where(Integration.id == cc.integration_id).values(enabled=True))
        w = add_worker(s, cc.company_id, "Rita Rivets")
        p = add_project(s, cc.company_id, "Depot Roof")
        await s.flush()
        tc = add_timecard(s, cc.company_id, w, p, clock_in=start, clock_out=start + timedelta(hours=8),
                          sync_status="failed")
        await s.flush()
        s.add(TimecardSyncRecord(company_id=cc.company_id, timecard_id=tc.id, operation="create", state="failed",
                                 attempts=0, timecard_version=1, last_error=CLOSED_ERROR,
                                 last_error_code="books_closed", error_kind="validation"))
        await audit.record(s, integration_id=cc.integration_id, company_id=cc.company_id, action="sync_timecard",
                           status="failure", timecard_id=tc.id, worker_id=w.id, project_id=p.id,
                           error_message=CLOSED_ERROR)
        await s.commit()
    await sign_in(probe, live, make_token(cc.company_id), "dashboard")
    await page.click("#recent-errors .error-item")
    await page.wait_for_selector("#error-detail:not([hidden]) #closed-books")
    assert await page.text_content("#error-message") == CLOSED_ERROR
    assert await page.text_content("#closed-books-csv") == "Export 2026-10-15 as CSV"
    await probe.shot("dashboard-closed-books")
    async with page.expect_download() as info:
        await page.click("#closed-books-csv")
    path = await (await info.value).path()
    rows = list(csv.DictReader(io.StringIO(open(path, encoding="utf-8-sig").read())))  # noqa: ASYNC230
    assert [r["CrewFlow Timecard ID"] for r in rows] == [str(tc.id)]

    await page.click("#closed-books-retry")
    await page.wait_for_selector("#closed-books-out .msg-info")
    assert "Queued again" in await page.text_content("#closed-books-out")
    async with sessionmaker() as s:
        row = (await s.execute(select(TimecardSyncRecord).where(TimecardSyncRecord.timecard_id == tc.id))).scalar_one()
    assert row.state == "pending"


async def _seed_drift(sessionmaker, cc) -> list[str]:
    from qbo_integration.reconciliation.models import DriftFinding

    start = datetime.now(UTC) - timedelta(days=2)
    ids = []
    async with sessionmaker() as s:
        w = add_worker(s, cc.company_id, "Dana Drywall")
        p = add_project(s, cc.company_id, "Mill Loft")
        await s.flush()
        for kind, qbo_id in (("changed", "501"), ("deleted", "502")):
            tc = add_timecard(s, cc.company_id, w, p, clock_in=start, clock_out=start + timedelta(hours=8))
            await s.flush()
            row = DriftFinding(company_id=cc.company_id, timecard_id=tc.id, qbo_id=qbo_id, kind=kind,
                               source="reconciliation", our_sync_token="0",
                               qbo_sync_token="1" if kind == "changed" else None,
                               qbo_view={"Id": qbo_id, "Hours": 1} if kind == "changed" else None)
            s.add(row)
            await s.flush()
            ids.append(str(row.id))
        await s.commit()
    return ids


async def test_dashboard_drift_reconciliation_and_reconnect(probe, live, connected_company, make_token,
                                                           sessionmaker, sandbox_server):
    """Drift findings on the dashboard (count, the list, dismiss), Run reconciliation, and a connection near
    its hard expiry: the Reconnect link, and the API's reconnect URL opened by a browser (no bearer)."""
    import re

    from sqlalchemy import select

    from qbo_integration.connections.models import Integration
    from qbo_integration.reconciliation.models import DriftFinding, ReconciliationRun

    page = probe.page
    changed_id, deleted_id = await _seed_drift(sessionmaker, connected_company)
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
        row.refresh_token_hard_expires_at = datetime.now(UTC) + timedelta(days=10, hours=1)
        await s.commit()
    await sign_in(probe, live, make_token(connected_company.company_id), "dashboard")
    await page.wait_for_selector("#drift table")
    assert await page.text_content("#drift-count .tile-value") == "2"
    status = await page.text_content("#health-status")
    assert "2 time entries were changed or deleted inside QuickBooks" in status
    assert "The QuickBooks connection expires on" in status
    assert await page.locator("#drift tbody tr").count() == 2
    deleted_row = page.locator(f"#drift tr[data-finding-id='{deleted_id}']")
    assert "deleted in QuickBooks" in await deleted_row.text_content()
    assert "Mill Loft" in await deleted_row.text_content()
    assert await deleted_row.locator(".drift-accept").count() == 0  # a deleted entry cannot be kept
    assert await page.locator(f"#drift tr[data-finding-id='{changed_id}'] .drift-accept").count() == 1
    await probe.shot("dashboard-drift")

    await deleted_row.locator(".drift-dismiss").click()
    await page.wait_for_selector("#drift-out .msg-ok")
    assert "Dismissed" in await page.text_content("#drift-out")
    await page.wait_for_function("document.querySelector('#drift-count .tile-value').textContent === '1'")
    async with sessionmaker() as s:
        statuses = dict((await s.execute(select(DriftFinding.qbo_id, DriftFinding.status))).all())
    assert statuses == {"501": "open", "502": "dismissed"}

    await page.click("#run-reconciliation")
    await page.wait_for_selector("#reconcile-out .msg")
    assert "Reconciliation" in await page.text_content("#reconcile-out")
    async with sessionmaker() as s:
        runs = (await s.execute(select(ReconciliationRun.trigger))).scalars().all()
    assert runs == ["admin"]

    # Ten days left: the expiry tile offers Reconnect, which starts the flow for this company.
    assert await page.text_content("#connection-expiry .tile-value") == "in 10 days"
    await page.click("#reconnect-link")
    await page.wait_for_selector("#reconnect-button")
    await page.click("#reconnect-button")
    await page.wait_for_url(re.compile(re.escape(sandbox_server.base_url) + r"/connect/oauth2"))
    await page.select_option("#realmId", connected_company.realm_id)
    await page.click("button[value=approve]")
    await page.wait_for_url(re.compile(r"/console/#/connected\?realmId=" + connected_company.realm_id))
    async with sessionmaker() as s:
        after = (await s.execute(select(Integration))).scalar_one()
    assert after.refresh_token_hard_expires_at > datetime.now(UTC) + timedelta(days=4 * 365)

    # Intuit's Reconnect URL (or an alert's link) opened in the browser: no bearer, so the console's page.
    await page.goto(f"{live.base_url}/api/v1/integrations/quickbooks/reconnect")
    await page.wait_for_url(re.compile(r"/console/#/reconnect$"))
    await page.wait_for_selector("#reconnect-button")
    assert script_errors(probe) == []
