"""Drift: a synced TimeActivity edited or deleted in QBO by a QBO user, told apart from our own writes."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.sync import engine, intake
from qbo_integration.webhooks import drift, reactions
from qbo_integration.webhooks.models import DriftFinding
from tests.sync import helpers as h
from tests.webhooks.test_sandbox_delivery import URL, _wait_for


async def _synced_timecard(ctx, sessionmaker, core) -> tuple[uuid.UUID, str]:
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    result = await engine.run_company_sync(ctx, core.company_id)
    assert result["synced"] == 1, result
    row = await h.row(sessionmaker, tid)
    assert row is not None and row.qbo_id
    return tid, row.qbo_id


async def _findings(sessionmaker, company_id) -> list[DriftFinding]:
    async with sessionmaker() as s:
        return list((await s.execute(select(DriftFinding).where(DriftFinding.company_id == company_id))).scalars())


async def test_our_write_is_an_echo_a_bookkeepers_edit_and_delete_are_drift(ctx, live, sessionmaker, sandbox, api):
    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    client = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.ECHO
    assert await drift.check(sessionmaker, client, cc.company_id, "999999", source="webhook") == drift.Outcome.NOT_OURS

    edit = await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 3})
    assert edit.status_code == 200, edit.text
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED
    [finding] = await _findings(sessionmaker, cc.company_id)
    assert (finding.kind, finding.status, finding.timecard_id, finding.our_sync_token, finding.qbo_sync_token) == (
        "changed", "open", tid, "0", "1")
    assert finding.qbo_view["Hours"] == 3

    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{qbo_id}")
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.DELETED
    [finding] = await _findings(sessionmaker, cc.company_id)
    assert (finding.kind, finding.qbo_view) == ("deleted", None)
    async with sessionmaker() as s:
        audits = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status, AuditLogEntry.error_message)
                                  .where(AuditLogEntry.action == drift.ACTION))).all()
    assert [a.error_message for a in audits] == [
        "The synced time entry was changed in QuickBooks by someone else",
        "The synced time entry was deleted in QuickBooks"]


async def test_an_outstanding_write_of_ours_makes_the_check_wait(ctx, live, sessionmaker, sandbox, api):
    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    v2 = await h.change_timecard(sessionmaker, tid, notes="edited in CrewFlow")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))  # pending, not yet sent
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 2})
    client = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.BUSY
    assert await _findings(sessionmaker, cc.company_id) == []


async def test_webhook_shows_drift_within_seconds(ctx, live, sessionmaker, sandbox, api, settings, live_api, queue):
    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    r = await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/webhook",
                          json={"url": f"{live_api.base_url}{URL}", "verifierToken": settings.webhook_verifier()})
    assert r.status_code == 200
    try:
        await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity",
                           json={"Id": qbo_id, "Description": "changed by the bookkeeper"})

        async def processed():
            out = await reactions.process(sessionmaker, api, queue, cc.company_id)
            return out if out["events"] else None

        result = await _wait_for(processed, timeout=60)
        assert result and result["timeActivities"] == {"changed": 1}, result
        [finding] = await _findings(sessionmaker, cc.company_id)
        assert (finding.kind, finding.source, finding.timecard_id) == ("changed", "webhook", tid)
    finally:
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/webhook")
