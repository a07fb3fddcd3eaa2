"""Reconciliation against the sandbox: a seeded duplicate and orphan are found and repaired; edits and
deletes made in QBO with webhooks off are found as drift; the report reads back over the API and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.reconciliation import service
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.sync import engine, intake
from tests.support import sync as h

BUDGET = service.Budget(window_days=400, max_reads=50)
RECON = "/api/v1/integrations/quickbooks/reconciliation"


async def _synced(ctx, sessionmaker, core, n: int) -> list[tuple]:
    tids = []
    for i in range(n):
        tid = await h.add_timecard(sessionmaker, core, notes=f"Work item {i}")
        await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
        tids.append(tid)
    result = await engine.run_company_sync(ctx, core.company_id)
    assert result["synced"] == n, result
    return [(tid, (await h.row(sessionmaker, tid)).qbo_id) for tid in tids]


async def _reconcile(sessionmaker, api, ctx, cid):
    return await service.run(sessionmaker, api, ctx["queue"], ctx["redis"], cid, None, BUDGET, trigger="admin")


async def test_a_seeded_duplicate_and_orphan_are_found_and_repaired(ctx, live, sessionmaker, sandbox, api, clock):
    cc, core = live
    (t1, q1), (t2, q2), (t3, q3) = await _synced(ctx, sessionmaker, core, 3)
    clean = await _reconcile(sessionmaker, api, ctx, cc.company_id)
    assert clean["status"] == "completed" and clean["complete"], clean
    assert (clean["missing"], clean["duplicate"], clean["orphan"], clean["drift"]) == (0, 0, 0, 0), clean

    [ours] = [ta for ta in await h.activities(sandbox, cc.realm_id) if ta["Id"] == q1]
    twin = {k: v for k, v in ours.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}
    dup = (await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json=twin)).json()
    # An orphan: t2 was unapproved in Core, and the event that said so was lost (the sweep has not run yet).
    await h.change_timecard(sessionmaker, t2, status="submitted")

    found = await _reconcile(sessionmaker, api, ctx, cc.company_id)
    assert (found["missing"], found["duplicate"], found["orphan"], found["drift"]) == (0, 1, 1, 0), found
    ids = {ta["Id"] for ta in await h.activities(sandbox, cc.realm_id)}
    assert dup["Id"] not in ids and q1 in ids  # the duplicate was deleted, ours kept
    assert (await h.row(sessionmaker, t2)).state == "pending"  # handed back to the engine
    clock.now = datetime.now(UTC) + timedelta(seconds=1)  # the hand-back is stamped in real time
    await engine.run_company_sync(ctx, core.company_id)
    assert q2 not in {ta["Id"] for ta in await h.activities(sandbox, cc.realm_id)}
    again = await _reconcile(sessionmaker, api, ctx, cc.company_id)
    assert (again["missing"], again["duplicate"], again["orphan"], again["drift"]) == (0, 0, 0, 0), again
    async with sessionmaker() as s:
        audited = (await s.execute(select(AuditLogEntry.action).where(AuditLogEntry.action.like("reconcile_%"))
                                   .order_by(AuditLogEntry.created_at))).scalars().all()
    assert sorted(audited) == ["reconcile_duplicate", "reconcile_orphan"]


async def test_edits_and_deletes_in_qbo_are_found_without_webhooks(ctx, live, sessionmaker, sandbox, api):
    cc, core = live
    (t1, q1), (t2, q2) = await _synced(ctx, sessionmaker, core, 2)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": q1, "Hours": 1})
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{q2}")
    found = await _reconcile(sessionmaker, api, ctx, cc.company_id)
    assert (found["missing"], found["duplicate"], found["orphan"], found["drift"]) == (1, 0, 0, 1), found
    async with sessionmaker() as s:
        rows = (await s.execute(select(DriftFinding.timecard_id, DriftFinding.kind, DriftFinding.source)
                                .order_by(DriftFinding.kind))).all()
    assert [tuple(r) for r in rows] == [(t1, "changed", "reconciliation"), (t2, "deleted", "reconciliation")]


async def test_the_report_over_the_api_and_as_csv(ctx, live, sessionmaker, sandbox, api, client, make_token):
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    (t1, q1), = await _synced(ctx, sessionmaker, core, 1)
    assert (await client.get(f"{RECON}/latest", params={"companyId": str(cc.company_id)},
                             headers=headers)).status_code == 404
    queued = await client.post(RECON, json={"companyId": str(cc.company_id)}, headers=headers)
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["runId"]
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{q1}")
    done = await service.run(sessionmaker, api, ctx["queue"], ctx["redis"], cc.company_id, run_id, BUDGET)
    assert done["status"] == "completed" and done["missing"] == 1, done
    again = await service.run(sessionmaker, api, ctx["queue"], ctx["redis"], cc.company_id, run_id, BUDGET)
    assert again == {"status": "skipped"}  # at-least-once delivery of the job runs it once

    latest = (await client.get(f"{RECON}/latest", params={"companyId": str(cc.company_id)}, headers=headers)).json()
    assert latest["runId"] == run_id and latest["counts"]["missing"] == 1 and latest["qboReads"] >= 1
    report = await client.get(f"{RECON}/{run_id}/report.csv", params={"companyId": str(cc.company_id)}, headers=headers)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [(r["kind"], r["qbo_id"], r["timecard_id"]) for r in rows] == [("missing", q1, str(t1))]

    stranger = (await client.get(f"{RECON}/{run_id}", params={"companyId": str(cc.company_id)},
                                 headers={"Authorization": f"Bearer {make_token(cc.company_id, role='admin')}"}))
    assert stranger.status_code == 200
    bad = await client.post(RECON, json={"companyId": str(cc.company_id), "extra": 1}, headers=headers)
    assert bad.status_code == 422


async def test_a_small_read_budget_makes_a_partial_run(ctx, live, sessionmaker, sandbox, api):
    cc, core = live
    await _synced(ctx, sessionmaker, core, 3)
    out = await service.run(sessionmaker, api, ctx["queue"], ctx["redis"], cc.company_id, None,
                            service.Budget(window_days=400, max_reads=1))
    assert out["status"] == "completed" and out["complete"] is False and out["reads"] == 1


async def test_a_company_past_its_daily_read_budget_defers_the_run_without_reading(ctx, live, sessionmaker,
                                                                                   sandbox, api):
    from qbo_integration.monitoring import read_meter
    from qbo_integration.qbo import purpose as purposes

    cc, core = live
    await _synced(ctx, sessionmaker, core, 1)
    for _ in range(3):  # today's earlier reconciliation reads
        await read_meter.count_read(ctx["redis"], cc.company_id, purpose=purposes.RECONCILIATION)
    log_before = len((await sandbox.get(f"/_sandbox/realms/{cc.realm_id}/log")).json())
    out = await service.run(sessionmaker, api, ctx["queue"], ctx["redis"], cc.company_id, None,
                            service.Budget(window_days=14, max_reads=50, daily_reads=3), trigger="nightly")
    assert out["status"] == "deferred", out
    assert len((await sandbox.get(f"/_sandbox/realms/{cc.realm_id}/log")).json()) == log_before
    assert (await read_meter.deferred_today(ctx["redis"], cc.company_id)) == {"reconciliation": 1}
    async with sessionmaker() as s:
        run = await service.latest_run(s, cc.company_id)
    assert run is not None and run.status == "failed" and run.error == service.DEFERRED


async def test_a_run_that_read_the_old_company_records_nothing_after_a_switch(ctx, live, sessionmaker, sandbox, api,
                                                                            monkeypatch):
    """The admin switched QuickBooks company while a run was reading the old one: what it found names the old
    company's records (whose ids the new company may reuse), so none of it is recorded."""
    cc, core = live
    (t1, q1), _ = await _synced(ctx, sessionmaker, core, 2)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": q1, "Hours": 1})
    real = service._read_and_compare

    async def read_then_switch(*args, **kwargs):
        findings = await real(*args, **kwargs)
        await h.switch_company_now(sessionmaker, cc.company_id, cc.realm_id)
        return findings

    monkeypatch.setattr(service, "_read_and_compare", read_then_switch)
    late = await _reconcile(sessionmaker, api, ctx, cc.company_id)
    async with sessionmaker() as s:
        audited = (await s.execute(select(AuditLogEntry.action).where(AuditLogEntry.action.like("reconcile_%")))).all()
        findings = (await s.execute(select(DriftFinding.id).where(DriftFinding.status == "open"))).all()
    assert (late["status"], late.get("error"), audited, findings) == ("failed", service.REALM_CHANGED, [], []), late
