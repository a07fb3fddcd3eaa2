"""Drift: a synced TimeActivity edited or deleted in QBO by a QBO user, told apart from our own writes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.reconciliation import drift, versions
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.sync import engine, intake
from qbo_integration.webhooks import reactions
from qbo_integration.webhooks.models import WebhookEvent
from tests.support import sync as h
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
            out = await reactions.process(sessionmaker, api, queue, ctx["redis"], cc.company_id)
            return out if out["events"] else None

        result = await _wait_for(processed, timeout=60)
        assert result and result["timeActivities"] == {"changed": 1}, result
        [finding] = await _findings(sessionmaker, cc.company_id)
        assert (finding.kind, finding.source, finding.timecard_id) == ("changed", "webhook", tid)
    finally:
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/webhook")


async def _reads_since(sandbox, realm: str, since: float) -> list[dict]:
    log = (await sandbox.get(f"/_sandbox/realms/{realm}/log", params={"since": since})).json()
    return [e for e in log if not e["write"]]


async def test_the_echoes_of_our_own_writes_cost_no_read(ctx, live, sessionmaker, sandbox, api, settings, live_api,
                                                         queue):
    """Intuit meters reads: our create's and our update's webhook echoes are told from the events' times and
    operations against what QBO answered our writes, not by reading the record back."""
    cc, core = live
    r = await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/webhook",
                          json={"url": f"{live_api.base_url}{URL}", "verifierToken": settings.webhook_verifier()})
    assert r.status_code == 200
    try:
        start = (await sandbox.get(f"/_sandbox/realms/{cc.realm_id}/log")).json()
        since = start[-1]["ts"] + 0.0001 if start else 0.0
        tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
        v2 = await h.change_timecard(sessionmaker, tid, notes="edited in CrewFlow")
        await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
        assert (await engine.run_company_sync(ctx, core.company_id))["synced"] == 1
        seen: dict[str, int] = {}

        async def both_echoes():
            out = await reactions.process(sessionmaker, api, queue, ctx["redis"], cc.company_id)
            for k, n in (out.get("timeActivities") or {}).items():
                seen[k] = seen.get(k, 0) + n
            async with sessionmaker() as s:
                events = (await s.execute(select(WebhookEvent.operation, WebhookEvent.status)
                                          .where(WebhookEvent.entity_id == qbo_id))).all()
            return sorted(events) == [("Create", "done"), ("Update", "done")]

        assert await _wait_for(both_echoes, timeout=60)
        assert seen == {"echo": 1} or seen == {"echo": 2}, seen  # one job may take both events
        reads = await _reads_since(sandbox, cc.realm_id, since)
        assert reads == [], reads
        assert await _findings(sessionmaker, cc.company_id) == []
    finally:
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/webhook")


async def test_records_someone_else_changed_are_read_together_in_one_query(ctx, live, sessionmaker, sandbox, api):
    cc, core = live
    (t1, q1), (t2, q2) = [await _synced_timecard(ctx, sessionmaker, core) for _ in range(2)]
    for qbo_id in (q1, q2):
        edit = await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity",
                                  json={"Id": qbo_id, "Hours": 5})
        assert edit.status_code == 200, edit.text
    log = (await sandbox.get(f"/_sandbox/realms/{cc.realm_id}/log")).json()
    since = log[-1]["ts"] + 0.0001
    later = datetime.now(UTC) + timedelta(seconds=1)  # the edits' events, dated after our writes
    client = api.company(cc.company_id, cc.realm_id)
    out = await drift.check_many(sessionmaker, client, cc.company_id,
                                 {q: [versions.Seen(later, "Update")] for q in (q1, q2)}, source="webhook")
    assert out == {q1: drift.Outcome.CHANGED, q2: drift.Outcome.CHANGED}
    reads = await _reads_since(sandbox, cc.realm_id, since)
    assert [r["path"].rsplit("/", 1)[-1] for r in reads] == ["query"]
    assert {f.timecard_id for f in await _findings(sessionmaker, cc.company_id)} == {t1, t2}


DRIFT = "/api/v1/integrations/quickbooks/drift"


async def test_admin_keeps_qbo_version_or_dismisses(ctx, live, sessionmaker, sandbox, api, client, make_token):
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    client_ = api.company(cc.company_id, cc.realm_id)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 4})
    assert await drift.check(sessionmaker, client_, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED

    listed = await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["timecardId"], item["qboId"], item["kind"], item["qboView"]["Hours"]) == (str(tid), qbo_id, "changed", 4)

    bad = await client.post(f"{DRIFT}/{item['id']}/resolve", json={"companyId": str(cc.company_id), "action": "nuke"},
                            headers=headers)
    assert bad.status_code == 422
    other = await client.post(f"{DRIFT}/{uuid.uuid4()}/resolve", json={"companyId": str(cc.company_id),
                                                                      "action": "accept"}, headers=headers)
    assert other.status_code == 404
    kept = await client.post(f"{DRIFT}/{item['id']}/resolve", json={"companyId": str(cc.company_id), "action": "accept"},
                             headers=headers)
    assert kept.status_code == 200, kept.text
    again = await client.post(f"{DRIFT}/{item['id']}/resolve", json={"companyId": str(cc.company_id),
                                                                    "action": "dismiss"}, headers=headers)
    assert again.status_code == 409 and "already resolved" in again.json()["error"]["message"]
    # The kept version is ours now: its echo is not drift, and our next write starts from its SyncToken.
    assert await drift.check(sessionmaker, client_, cc.company_id, qbo_id, source="webhook") == drift.Outcome.ECHO
    assert (await h.row(sessionmaker, tid)).qbo_sync_token == "1"
    assert (await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)).json()["items"] == []

    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{qbo_id}")
    assert await drift.check(sessionmaker, client_, cc.company_id, qbo_id, source="webhook") == drift.Outcome.DELETED
    [gone] = (await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)).json()["items"]
    refused = await client.post(f"{DRIFT}/{gone['id']}/resolve", json={"companyId": str(cc.company_id),
                                                                      "action": "accept"}, headers=headers)
    assert refused.status_code == 409 and "deleted" in refused.json()["error"]["message"]
    dismissed = await client.post(f"{DRIFT}/{gone['id']}/resolve", json={"companyId": str(cc.company_id),
                                                                        "action": "dismiss"}, headers=headers)
    assert dismissed.status_code == 200
    async with sessionmaker() as s:
        actions = (await s.execute(select(AuditLogEntry.action).where(AuditLogEntry.timecard_id == tid)
                                   .order_by(AuditLogEntry.created_at))).scalars().all()
    assert [a for a in actions if a.startswith(("drift", "qbo_drift"))] == [
        "qbo_drift_detected", "drift_accepted", "qbo_drift_detected", "drift_dismissed"]


async def test_an_admins_decision_and_a_sync_round_of_the_timecard_do_not_deadlock(ctx, live, sessionmaker, sandbox,
                                                                                    api):
    """The write-back holds the timecard's outbox row and then closes its findings (supersede); an admin
    keeping QBO's version at that moment waits for the row before the finding, so the round commits and the
    decision is told the finding was superseded (it deadlocked: the decision held the finding first)."""
    from sqlalchemy import text

    from qbo_integration.errors import Conflict
    from qbo_integration.reconciliation import findings
    from qbo_integration.sync import outbox_repository
    from qbo_integration.sync.written import Written

    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 4})
    client = api.company(cc.company_id, cc.realm_id)
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED
    [finding] = await _findings(sessionmaker, cc.company_id)

    async def decide():
        async with sessionmaker() as s:
            await findings.resolve(s, ctx["queue"], cc.company_id, finding.id, "accept", actor="admin")
            await s.commit()

    async with sessionmaker() as round_:
        await outbox_repository.lock_rows(round_, cc.company_id, timecard_ids=[tid])
        decision = asyncio.create_task(decide())

        async def waiting_for_a_lock():
            async with sessionmaker() as s:
                return (await s.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                             "current_database() AND wait_event_type = 'Lock'"))).scalar()

        assert await _wait_for(waiting_for_a_lock, timeout=30)
        await findings.supersede(round_, cc.company_id, [Written(tid)])
        await round_.commit()
    with pytest.raises(Conflict):
        await decision
    [after] = await _findings(sessionmaker, cc.company_id)
    assert after.status == "superseded"


async def test_drift_of_another_company_is_not_found(ctx, live, sessionmaker, sandbox, api, client, make_token):
    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 4})
    await drift.check(sessionmaker, api.company(cc.company_id, cc.realm_id), cc.company_id, qbo_id, source="webhook")
    [finding] = await _findings(sessionmaker, cc.company_id)
    stranger = uuid.uuid4()
    resp = await client.post(f"{DRIFT}/{finding.id}/resolve", json={"companyId": str(stranger), "action": "dismiss"},
                             headers={"Authorization": f"Bearer {make_token(stranger)}"})
    assert resp.status_code == 404
    [still] = await _findings(sessionmaker, cc.company_id)
    assert still.status == "open"


async def test_push_sends_crewflows_version_again_over_an_edit_and_after_a_delete(ctx, live, sessionmaker, sandbox,
                                                                                 api, client, make_token, clock):
    from datetime import UTC, datetime, timedelta

    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    [ours] = await h.activities(sandbox, cc.realm_id)
    client_ = api.company(cc.company_id, cc.realm_id)

    async def push() -> None:
        [item] = (await client.get(DRIFT, params={"companyId": str(cc.company_id)}, headers=headers)).json()["items"]
        r = await client.post(f"{DRIFT}/{item['id']}/resolve", json={"companyId": str(cc.company_id),
                                                                    "action": "push"}, headers=headers)
        assert r.status_code == 200, r.text
        clock.now = datetime.now(UTC) + timedelta(seconds=1)  # the request stamps rows in real time
        await engine.run_company_sync(ctx, core.company_id)

    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Description": "edited"})
    assert await drift.check(sessionmaker, client_, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED
    await push()
    [again] = await h.activities(sandbox, cc.realm_id)
    assert again["Id"] == qbo_id and again["Description"] == ours["Description"] and again["SyncToken"] == "2"
    assert await drift.check(sessionmaker, client_, cc.company_id, qbo_id, source="webhook") == drift.Outcome.ECHO

    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{qbo_id}")
    assert await drift.check(sessionmaker, client_, cc.company_id, qbo_id, source="webhook") == drift.Outcome.DELETED
    await push()
    [recreated] = await h.activities(sandbox, cc.realm_id)  # exactly one live record again
    assert recreated["Id"] != qbo_id and recreated["Description"] == ours["Description"]
    row = await h.row(sessionmaker, tid)
    assert (row.state, row.qbo_id) == ("synced", recreated["Id"])
    assert [f.status for f in await _findings(sessionmaker, cc.company_id)] == ["pushed", "pushed"]


async def test_an_edit_seen_while_the_admin_keeps_the_one_before_it_stays_a_finding(ctx, live, sessionmaker, sandbox,
                                                                                      api):
    """Operations campaign seed 6 (stale 1): the bookkeeper edited TA 6 twice; the admin kept the first
    edit while the check of the second was deciding. The check's finding update waited for the admin's
    lock and then rewrote the *accepted* finding to the second edit, so nothing ever reported it and
    CrewFlow's version never went back. The check now takes the outbox row first and decides again."""
    from sqlalchemy import text

    from qbo_integration.reconciliation import findings

    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    realm = f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity"
    client = api.company(cc.company_id, cc.realm_id)
    assert (await sandbox.post(realm, json={"Id": qbo_id, "Hours": 4})).status_code == 200
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED
    [first] = await _findings(sessionmaker, cc.company_id)
    assert (await sandbox.post(realm, json={"Id": qbo_id, "Hours": 5})).status_code == 200

    async def waiting_for_a_lock():
        async with sessionmaker() as s:
            return (await s.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                         "current_database() AND wait_event_type = 'Lock'"))).scalar()

    async with sessionmaker() as admin:
        await findings.resolve(admin, ctx["queue"], cc.company_id, first.id, "accept", actor="admin")
        second_look = asyncio.create_task(
            drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook"))
        assert await _wait_for(waiting_for_a_lock, timeout=30)
        await admin.commit()
    assert await second_look == drift.Outcome.BUSY  # the row moved under it: the webhook job looks again
    assert await drift.check(sessionmaker, client, cc.company_id, qbo_id, source="webhook") == drift.Outcome.CHANGED
    after = {f.status: f for f in await _findings(sessionmaker, cc.company_id)}
    assert (after["accepted"].id, after["accepted"].qbo_sync_token) == (first.id, "1")
    assert (after["open"].qbo_sync_token, after["open"].our_sync_token, after["open"].qbo_view["Hours"]) == (
        "2", "1", 5)


async def _failed_on_an_employee_made_active_again(ctx, live, sessionmaker, sandbox, api):
    """A timecard failed "employee inactive" from our copy; the bookkeeper then made the employee active."""
    from qbo_integration.directory import import_flow
    from qbo_integration.mapping.profiles import profile_targets

    cc, core = live
    employees = f"/_sandbox/realms/{cc.realm_id}/entities/Employee"
    assert (await sandbox.post(employees, json={"Id": "1", "Active": False})).status_code == 200
    imported = await import_flow.run_import(sessionmaker, api, ctx["queue"], cc.company_id, mapped=profile_targets)
    assert imported["status"] == "completed", imported
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    await engine.run_company_sync(ctx, core.company_id)
    row = await h.row(sessionmaker, tid)
    assert (row.state, row.error_kind) == ("failed", "mapping"), row.last_error
    assert (await sandbox.post(employees, json={"Id": "1", "Active": True})).status_code == 200
    return cc, core, tid


async def _goes_once(ctx, live, sessionmaker, sandbox, clock, tid) -> None:
    cc, core = live
    assert (await h.row(sessionmaker, tid)).state == "pending"
    clock.advance(minutes=1)  # re-queued "now" on the wall clock, which the test's clock lags
    await engine.run_company_sync(ctx, core.company_id)
    assert (await h.row(sessionmaker, tid)).state == "synced"
    assert len(await h.activities(sandbox, cc.realm_id)) == 1


async def test_a_timecard_failed_on_an_inactive_employee_goes_once_a_webhook_says_active(ctx, live, sessionmaker,
                                                                                           sandbox, api, clock):
    """Operations campaign of 21c7029, seed 191 (lost 1, stale 3, status_mismatch 4): the bookkeeper made
    the worker's employee inactive, then active again. A round failed 4 rows "employee inactive" from our
    copy of the directory; the webhook's refresh then made the copy active, but nothing re-queued the rows,
    and they stayed failed. The refresh now re-queues mapping failures once its copy is committed."""
    from qbo_integration.directory import import_flow
    from qbo_integration.mapping.profiles import profile_targets

    cc, core, tid = await _failed_on_an_employee_made_active_again(ctx, live, sessionmaker, sandbox, api)
    await import_flow.refresh_records(sessionmaker, api, ctx["queue"], cc.company_id, cc.realm_id,
                                      {"Employee": {"1"}}, {}, mapped=profile_targets)
    await _goes_once(ctx, live, sessionmaker, sandbox, clock, tid)


async def test_a_timecard_failed_on_an_inactive_employee_goes_once_an_import_says_active(ctx, live, sessionmaker,
                                                                                         sandbox, api, clock):
    """Operations campaign of 61b765b, seed 367 (lost 1, stale 1, status_mismatch 2): the bookkeeper made
    the worker's employee inactive, then active again 2 s later. The webhook's refresh read it inactive, no
    event came of the second change, and the end of the day's Sync Now failed 2 rows "employee inactive"
    from our copy. The import that later read it active re-queued nothing, so they stayed failed."""
    from qbo_integration.directory import import_flow
    from qbo_integration.mapping.profiles import profile_targets

    cc, core, tid = await _failed_on_an_employee_made_active_again(ctx, live, sessionmaker, sandbox, api)
    again = await import_flow.run_import(sessionmaker, api, ctx["queue"], cc.company_id, mapped=profile_targets,
                                         trigger="cron")
    assert again["status"] == "completed" and again["mode"] == "cdc", again
    await _goes_once(ctx, live, sessionmaker, sandbox, clock, tid)
