"""The company's books' rules in the sync (issue 15): a timecard dated in a closed period, or carrying a
location while QuickBooks' location tracking is off, fails once with the admin's message and is not
retried; once the books allow it again it syncs, exactly once. Against the sandbox over real HTTP."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from qbo_integration.connections.books import get_rules
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.directory import import_flow
from qbo_integration.exports.service import unsynced_timecards
from qbo_integration.mapping.models import MappingProfile
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.sync import engine, intake, service
from tests.support import sync as h

CLOSED = ("QuickBooks books are closed through 2026-03-31: this timecard (2026-03-02) cannot be sent. "
          "Export it as CSV, or sync it once the books reopen.")


async def _prefs(sandbox, realm: str, **acct) -> None:
    r = await sandbox.put(f"/_sandbox/realms/{realm}/preferences", json={"AccountingInfoPrefs": acct})
    assert r.status_code == 200, r.text


async def _approve(ctx, sessionmaker, core) -> uuid.UUID:
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    return tid


async def _import(ctx, api, company_id) -> None:
    result = await import_flow.run_import(ctx["sessionmaker"], api, ctx["queue"], company_id, mapped=profile_targets)
    assert result["status"] == "completed", result


async def _writes(sandbox, realm: str) -> list[dict]:
    return [e for e in await h.sandbox_log(sandbox, realm) if e["method"] == "POST"]


async def _not_retried(ctx, clock, core, sandbox, realm: str, tid: uuid.UUID, writes: int) -> None:
    """Hours later, another sync job: the timecard is still failed and QBO was asked nothing more."""
    clock.advance(hours=6)
    await engine.run_company_sync(ctx, core.company_id)
    r = await h.row(ctx["sessionmaker"], tid)
    assert (r.state, r.error_kind) == ("failed", "validation")
    assert len(await _writes(sandbox, realm)) == writes


async def test_closed_period_fails_once_with_the_close_date_then_syncs_once_the_books_reopen(
        ctx, live, api, sessionmaker, sandbox, clock):
    cc, core = live
    await _prefs(sandbox, cc.realm_id, BookCloseDate="2026-03-31")
    await _import(ctx, api, core.company_id)  # reads the preferences: the close date is known here
    async with sessionmaker() as s:
        assert (await get_rules(s, core.company_id)).close_date == date(2026, 3, 31)
    tid = await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)

    r = await h.row(sessionmaker, tid)
    assert (r.state, r.error_kind, r.last_error_code, r.last_error) == ("failed", "validation", "books_closed", CLOSED)
    assert (await h.core_timecard(sessionmaker, tid)).sync_status == "failed"
    assert await _writes(sandbox, cc.realm_id) == []  # refused before sending
    await _not_retried(ctx, clock, core, sandbox, cc.realm_id, tid, writes=0)
    async with sessionmaker() as s:  # the fallback CSV offers it meanwhile
        company = await CoreGateway(s).get_company(core.company_id)
        assert company is not None
        assert tid in [t.id for t in await unsynced_timecards(s, company, start=date(2026, 3, 2), end=date(2026, 3, 2))]

    await _prefs(sandbox, cc.realm_id, BookCloseDate="2026-03-15")  # moved earlier, but March 2 is still closed
    await _import(ctx, api, core.company_id)
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.last_error_code) == ("failed", "books_closed")
    await _prefs(sandbox, cc.realm_id, BookCloseDate="2026-02-28")  # the books reopen for March
    await _import(ctx, api, core.company_id)
    assert (await h.row(sessionmaker, tid)).state == "pending"  # queued again by the import itself
    await engine.run_company_sync(ctx, core.company_id)
    r = await h.row(sessionmaker, tid)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (r.state, r.qbo_id, r.last_error) == ("synced", ta["Id"], None)
    assert len(await _writes(sandbox, cc.realm_id)) == 1


async def test_qbo_refusal_with_stale_preferences_names_the_close_date_and_sync_now_sends_it_once_reopened(
        ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    await _prefs(sandbox, cc.realm_id, BookCloseDate="2026-03-31")  # closed in QBO; our copy never read
    tid = await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)

    r = await h.row(sessionmaker, tid)
    assert (r.state, r.error_kind, r.last_error_code, r.last_error) == ("failed", "validation", "books_closed", CLOSED)
    assert len(await _writes(sandbox, cc.realm_id)) == 1  # QBO answered 6210 once
    async with sessionmaker() as s:  # and the refusal made the sync read the preferences again
        assert (await get_rules(s, core.company_id)).close_date == date(2026, 3, 31)
    await _not_retried(ctx, clock, core, sandbox, cc.realm_id, tid, writes=1)

    await _prefs(sandbox, cc.realm_id, BookCloseDate=None)  # reopened in QBO; our copy still says closed
    async with sessionmaker() as s:  # the admin's "Sync now" on that timecard
        job = await service.request_sync(s, ctx["queue"], core.company_id, [tid], now=clock())
        await s.commit()
    await engine.run_company_sync(ctx, core.company_id, job.id)
    r = await h.row(sessionmaker, tid)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (r.state, r.qbo_id) == ("synced", ta["Id"])
    assert len(await _writes(sandbox, cc.realm_id)) == 2  # the refused one and the one that landed


async def test_location_with_tracking_off_fails_with_what_to_change_then_syncs_once_it_is_on(
        ctx, live, api, sessionmaker, sandbox, clock):
    cc, core = live
    depts = (await sandbox.get(f"/_sandbox/realms/{cc.realm_id}/entities/Department")).json()["items"]
    async with sessionmaker() as s:
        profile = (await s.execute(select(MappingProfile).where(MappingProfile.company_id == core.company_id))
                   ).scalar_one()
        profile.config = {**profile.config, "locationMapping": {str(core.project_id): depts[0]["Id"]}}
        await s.commit()
    await _prefs(sandbox, cc.realm_id, TrackDepartments=False)
    await _import(ctx, api, core.company_id)
    tid = await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)

    r = await h.row(sessionmaker, tid)
    assert (r.state, r.error_kind, r.last_error_code) == ("failed", "validation", "location_tracking_off")
    assert r.last_error.startswith("Location tracking is turned off in QuickBooks, but the mapping sends a location")
    assert "Turn on location tracking in QuickBooks" in r.last_error and "remove the project's location mapping" \
        in r.last_error
    assert await _writes(sandbox, cc.realm_id) == []
    await _not_retried(ctx, clock, core, sandbox, cc.realm_id, tid, writes=0)

    await _prefs(sandbox, cc.realm_id, TrackDepartments=True)
    await _import(ctx, api, core.company_id)
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert ta["DepartmentRef"]["value"] == depts[0]["Id"]
    assert (await h.row(sessionmaker, tid)).state == "synced" and len(await _writes(sandbox, cc.realm_id)) == 1


async def test_qbo_refusing_a_batch_for_closed_books_fails_each_timecard_with_the_message(
        ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    await _prefs(sandbox, cc.realm_id, BookCloseDate="2026-03-31")  # our copy never read
    tids = [await _approve(ctx, sessionmaker, core) for _ in range(3)]
    await engine.run_company_sync(ctx, core.company_id)
    writes = await _writes(sandbox, cc.realm_id)
    assert [e["path"].rsplit("/", 1)[-1] for e in writes] == ["batch"]
    for tid in tids:
        r = await h.row(sessionmaker, tid)
        assert (r.state, r.error_kind, r.last_error_code, r.last_error) == (
            "failed", "validation", "books_closed", CLOSED)
    await _not_retried(ctx, clock, core, sandbox, cc.realm_id, tids[0], writes=1)
    assert await h.activities(sandbox, cc.realm_id) == []


async def _sync_now(ctx, sessionmaker, core, clock, tids) -> None:
    async with sessionmaker() as s:
        job = await service.request_sync(s, ctx["queue"], core.company_id, tids, now=clock())
        await s.commit()
    await engine.run_company_sync(ctx, core.company_id, job.id)


async def test_an_update_and_a_delete_qbo_refused_for_closed_books_go_through_once_the_books_reopen(
        ctx, live, sessionmaker, sandbox, clock):
    """Issue 28, finding 2: QBO answers a repeated request id with its stored answer, so a retry that
    reused the refused attempt's id got the old 6210 back for ever, with the books open again."""
    cc, core = live
    edited, unapproved = await _approve(ctx, sessionmaker, core), await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)
    assert len(await h.activities(sandbox, cc.realm_id)) == 2
    await _prefs(sandbox, cc.realm_id, BookCloseDate="2026-03-31")  # closed in QBO; our copy never read
    v2 = await h.change_timecard(sessionmaker, edited, notes="edited after the close")
    await intake.handle_event(ctx, h.event("timecard.updated", core, edited, v2))
    v3 = await h.change_timecard(sessionmaker, unapproved, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, unapproved, v3))
    await engine.run_company_sync(ctx, core.company_id)
    for tid in (edited, unapproved):
        r = await h.row(sessionmaker, tid)
        assert (r.state, r.last_error_code) == ("failed", "books_closed")

    clock.advance(minutes=10)
    await _prefs(sandbox, cc.realm_id, BookCloseDate=None)  # reopened in QBO; our copy still says closed
    await _sync_now(ctx, sessionmaker, core, clock, [edited, unapproved])
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert ta["Description"] == "edited after the close"
    r = await h.row(sessionmaker, edited)
    assert (r.state, r.qbo_id, r.last_error) == ("synced", ta["Id"], None)
    r = await h.row(sessionmaker, unapproved)
    assert (r.state, r.qbo_id) == ("synced", None)
    assert (await h.core_timecard(sessionmaker, unapproved)).sync_status == "not_synced"
