"""Issue 28: drift when people act. A bookkeeper edits or deletes a synced entry inside QuickBooks while
CrewFlow keeps editing the timecard, and the admin resolves the findings. CrewFlow is the system of record
for approved time: its later write supersedes the bookkeeper's version (recorded, never silent), a
superseded finding can never create a second record, and our own write whose answer was lost is never
taken for someone else's. Against the sandbox over real HTTP, with the real engine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.reconciliation import drift
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.sync import engine, intake
from tests.support import sync as h

DRIFT = "/api/v1/integrations/quickbooks/drift"


async def _synced(ctx, sessionmaker, core) -> tuple[uuid.UUID, str]:
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    assert (await engine.run_company_sync(ctx, core.company_id))["synced"] == 1
    row = await h.row(sessionmaker, tid)
    return tid, row.qbo_id


async def _edit_in_crewflow(ctx, sessionmaker, core, tid, notes: str) -> None:
    v = await h.change_timecard(sessionmaker, tid, notes=notes)
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v))


async def _findings(sessionmaker, company_id) -> list[DriftFinding]:
    async with sessionmaker() as s:
        return list((await s.execute(select(DriftFinding).where(DriftFinding.company_id == company_id)
                                     .order_by(DriftFinding.detected_at))).scalars())


async def _audit_actions(sessionmaker, tid) -> list[str]:
    async with sessionmaker() as s:
        rows = (await s.execute(select(AuditLogEntry.action).where(AuditLogEntry.timecard_id == tid)
                                .order_by(AuditLogEntry.created_at))).scalars().all()
    return [a for a in rows if "drift" in a]


async def test_pushing_a_deleted_finding_after_crewflow_recreated_the_entry_creates_no_second_one(
        ctx, live, sessionmaker, sandbox, api, client, make_token, clock):
    """Finding 3: the bookkeeper deleted TA 71; Core then edited the timecard, whose update found the
    record gone and re-created it (TA 99); pushing the still-open finding created a third (TA 106)."""
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    tid, first = await _synced(ctx, sessionmaker, core)
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{first}")
    qbo = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, qbo, cc.company_id, first, source="webhook") == drift.Outcome.DELETED
    [finding] = (await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)).json()["items"]

    await _edit_in_crewflow(ctx, sessionmaker, core, tid, "edited in CrewFlow")
    for _ in range(2):  # the update finds the record gone; the next round re-creates it
        await engine.run_company_sync(ctx, core.company_id)
        clock.advance(minutes=2)
    [recreated] = await h.activities(sandbox, cc.realm_id)
    assert recreated["Id"] != first and recreated["Description"] == "edited in CrewFlow"

    pushed = await client.post(f"{DRIFT}/{finding['id']}/resolve",
                               json={"companyId": str(cc.company_id), "action": "push"}, headers=headers)
    assert pushed.status_code == 409, pushed.text
    assert "superseded" in pushed.json()["error"]["message"]
    clock.now = datetime.now(UTC) + timedelta(minutes=1)
    await engine.run_company_sync(ctx, core.company_id)
    assert [t["Id"] for t in await h.activities(sandbox, cc.realm_id)] == [recreated["Id"]]
    assert [f.status for f in await _findings(sessionmaker, cc.company_id)] == ["superseded"]
    assert (await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)).json()["items"] == []
    [history] = (await client.get(DRIFT, params={"companyId": str(cc.company_id), "status": "resolved"},
                                  headers=headers)).json()["items"]
    assert (history["status"], history["qboId"], history["kind"]) == ("superseded", first, "deleted")
    assert await _audit_actions(sessionmaker, tid) == ["qbo_drift_detected", "drift_superseded"]


async def test_our_own_update_whose_answer_was_lost_is_not_drift(ctx, live, sessionmaker, sandbox, api, clock):
    """Finding 4: a failed row retrying an update whose answer was lost counted as settled; QBO's SyncToken,
    bumped by our own update, was taken for someone else's change."""
    cc, core = live
    tid, qbo_id = await _synced(ctx, sessionmaker, core)
    await _edit_in_crewflow(ctx, sessionmaker, core, tid, "edited in CrewFlow")
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"commitThenDropRate": 1.0})
    await engine.run_company_sync(ctx, core.company_id)  # the update lands; its answer is lost
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
    row = await h.row(sessionmaker, tid)
    assert (row.state, row.pending_op) == ("failed", "update")
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert ta["SyncToken"] == "1" and row.qbo_sync_token == "0"

    qbo = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, qbo, cc.company_id, qbo_id, source="webhook") == drift.Outcome.BUSY
    clock.advance(minutes=20)
    await engine.run_company_sync(ctx, core.company_id)  # the retry settles it
    assert (await h.row(sessionmaker, tid)).state == "synced"
    assert await drift.check(sessionmaker, qbo, cc.company_id, qbo_id, source="webhook") == drift.Outcome.ECHO
    assert await _findings(sessionmaker, cc.company_id) == []


async def test_a_crewflow_edit_after_a_bookkeepers_edit_is_sent_and_supersedes_the_finding(
        ctx, live, sessionmaker, sandbox, api):
    """Finding 5: CrewFlow's later edit silently overwrote the bookkeeper's, and the open finding could then
    only be dismissed. Now the edit is sent and the finding closes as superseded, audited."""
    cc, core = live
    tid, qbo_id = await _synced(ctx, sessionmaker, core)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 3})
    qbo = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, qbo, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED

    await _edit_in_crewflow(ctx, sessionmaker, core, tid, "CrewFlow wins")
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (ta["Id"], ta["Description"]) == (qbo_id, "CrewFlow wins")
    [finding] = await _findings(sessionmaker, cc.company_id)
    assert (finding.status, finding.resolved_by, finding.qbo_view["Hours"]) == ("superseded", "system:sync", 3)
    assert await drift.check(sessionmaker, qbo, cc.company_id, qbo_id, source="webhook") == drift.Outcome.ECHO
    assert await _audit_actions(sessionmaker, tid) == ["qbo_drift_detected", "drift_superseded"]


async def test_a_bookkeepers_edit_overwritten_before_any_finding_is_recorded_as_superseded(
        ctx, live, sessionmaker, sandbox, api):
    """The same race with the webhook still on its way: the version CrewFlow's edit replaced is kept in the
    drift history (not a silent overwrite), and the late webhook's check finds our own write."""
    cc, core = live
    tid, qbo_id = await _synced(ctx, sessionmaker, core)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 5})
    await _edit_in_crewflow(ctx, sessionmaker, core, tid, "CrewFlow wins")
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert ta["Description"] == "CrewFlow wins"
    [finding] = await _findings(sessionmaker, cc.company_id)
    assert (finding.status, finding.kind, finding.source, finding.qbo_view["Hours"]) == (
        "superseded", "changed", "sync", 5)
    qbo = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, qbo, cc.company_id, qbo_id, source="webhook") == drift.Outcome.ECHO
    assert await _audit_actions(sessionmaker, tid) == ["drift_superseded"]


async def test_a_kept_version_does_not_hide_an_edit_of_the_timecards_re_created_record(
        ctx, live, sessionmaker, sandbox, api, client, make_token, clock):
    """Found by the operations campaign (seed 4): drift.record took an edit for one the admin had kept when
    any accepted finding of the timecard had the same SyncToken, whatever the record."""
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    tid, first = await _synced(ctx, sessionmaker, core)
    qbo = api.company(cc.company_id, cc.realm_id)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": first, "Hours": 4})
    assert await drift.check(sessionmaker, qbo, cc.company_id, first, source="webhook") == drift.Outcome.CHANGED
    [item] = (await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)).json()["items"]
    r = await client.post(f"{DRIFT}/{item['id']}/resolve", json={"companyId": str(cc.company_id), "action": "accept"},
                          headers=headers)
    assert r.status_code == 200, r.text
    v = await h.change_timecard(sessionmaker, tid, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tid, v))
    await engine.run_company_sync(ctx, core.company_id)
    clock.advance(minutes=2)
    v = await h.change_timecard(sessionmaker, tid, status="approved")
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, v))
    await engine.run_company_sync(ctx, core.company_id)
    [second] = await h.activities(sandbox, cc.realm_id)
    assert second["Id"] != first
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": second["Id"], "Hours": 4})
    assert await drift.check(sessionmaker, qbo, cc.company_id, second["Id"], source="webhook") == drift.Outcome.CHANGED


async def test_two_checks_of_one_timecard_at_once_open_one_finding(ctx, live, sessionmaker, sandbox):
    """Found by the operations campaign (seed 33): a webhook job's check and another raced, both inserted an
    open finding, one failed on uq_drift_findings_open and its job died with its events claimed."""
    import asyncio

    from qbo_integration.sync import known

    cc, core = live
    tid, qbo_id = await _synced(ctx, sessionmaker, core)
    async with sessionmaker() as s:
        ours = await known.by_qbo_id(s, cc.company_id, qbo_id)
    assert ours is not None

    async def check_once(hold: float) -> drift.Outcome:
        async with sessionmaker() as s:
            out = await drift.record(s, cc.company_id, ours, None, source="webhook")
            await asyncio.sleep(hold)  # the other check runs meanwhile
            await s.commit()
        return out

    assert await asyncio.gather(check_once(0.3), check_once(0.0)) == [drift.Outcome.DELETED, drift.Outcome.DELETED]
    assert [f.status for f in await _findings(sessionmaker, cc.company_id)] == ["open"]
