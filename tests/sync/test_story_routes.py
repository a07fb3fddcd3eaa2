"""GET timecards/{id}/sync and GET timecards: the state in words, the story paged, the finder, and every
refusal (another company's timecard 404, bad query 422, roles)."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from qbo_integration.core_platform.models import Company
from qbo_integration.sync import engine, intake
from qbo_integration.sync.models import TimecardSyncRecord
from tests.support import sync as h

P = "/api/v1/integrations/quickbooks"


async def _synced(ctx, sessionmaker, core, **kw) -> uuid.UUID:
    tid = await h.add_timecard(sessionmaker, core, **kw)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    await engine.run_company_sync(ctx, core.company_id)
    return tid


async def test_a_synced_timecard_says_so_and_pages_its_story(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core)
    v2 = await h.change_timecard(sessionmaker, tid, notes="Roof", total_hours=7.5)
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await engine.run_company_sync(ctx, core.company_id)
    r = await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": str(core.company_id), "limit": 4},
                         headers=auth_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    row = await h.row(sessionmaker, tid)
    assert body["sync"]["state"] == "in_quickbooks" and body["sync"]["qboId"] == row.qbo_id
    assert body["sync"]["sentence"].startswith("In QuickBooks since ")
    assert body["sync"]["sentence"].endswith(f"(time entry {row.qbo_id})")
    assert body["sync"]["actions"] == ["open_in_quickbooks"] and body["timezone"] == "America/Denver"
    assert body["timecard"]["worker"] == "Emily Platt" and body["timecard"]["version"] == 2
    first = body["story"]
    assert [e["kind"] for e in first] == ["attempt", "decision", "version", "attempt"]  # newest first
    assert first[2]["summary"].startswith("Version 2 (approved): ")
    assert {c["field"]: c["to"] for c in first[2]["changes"]} == {"hours": 7.5, "notes": "Roof"}
    assert body["nextCursor"]
    r2 = await client.get(f"{P}/timecards/{tid}/sync", headers=auth_headers,
                          params={"companyId": str(core.company_id), "cursor": body["nextCursor"]})
    rest = r2.json()["story"]
    assert [e["kind"] for e in rest] == ["decision", "version"] and r2.json()["nextCursor"] is None
    assert rest[1]["changes"] == [] and rest[1]["summary"] == "Version 1 (approved)"


async def test_needs_you_and_not_sent_sentences(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core, hours=0.25, break_minutes=30)
    body = (await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": str(core.company_id)},
                             headers=auth_headers)).json()
    assert body["sync"]["state"] == "needs_you" and body["sync"]["sentence"].startswith("Needs you: ")
    async with sessionmaker() as s:
        await s.execute(update(TimecardSyncRecord).where(TimecardSyncRecord.timecard_id == tid)
                        .values(error_kind="validation", last_error_code="books_closed", last_error="closed"))
        await s.commit()
    body = (await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": str(core.company_id)},
                             headers=auth_headers)).json()
    assert body["sync"]["state"] == "not_sent"
    assert body["sync"]["sentence"].startswith("Not sent: the books are closed")
    assert body["sync"]["actions"] == ["export_csv", "retry_now"]


async def test_finder_by_worker_date_and_state(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    synced = await _synced(ctx, sessionmaker, core)
    broken = await _synced(ctx, sessionmaker, core, hours=0.25, break_minutes=30,
                           start=h.DENVER_DAY.replace(day=3))
    cid = str(core.company_id)

    async def find(**params):
        r = await client.get(f"{P}/timecards", params={"companyId": cid, **params}, headers=auth_headers)
        assert r.status_code == 200, r.text
        return r.json()

    assert [i["timecardId"] for i in (await find(worker="emily"))["items"]] == [str(broken), str(synced)]
    assert [i["timecardId"] for i in (await find(state="in_quickbooks"))["items"]] == [str(synced)]
    assert [i["timecardId"] for i in (await find(state="needs_you"))["items"]] == [str(broken)]
    assert (await find(**{"from": "2026-03-03", "to": "2026-03-03"}))["items"][0]["timecardId"] == str(broken)
    assert (await find(project="no such project"))["items"] == []
    page = await find(limit=1)
    assert [i["timecardId"] for i in page["items"]] == [str(broken)] and page["nextCursor"]
    page2 = await find(limit=1, cursor=page["nextCursor"])
    assert [i["timecardId"] for i in page2["items"]] == [str(synced)]
    item = page2["items"][0]
    assert item["sync"]["state"] == "in_quickbooks" and item["label"].startswith("Emily Platt · Cool Cars · 2026-03-02")


async def test_another_companys_timecard_is_404_and_bad_queries_422(client, auth_headers, live, sessionmaker, ctx,
                                                                     make_token):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core)
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other", timezone="UTC")
        s.add(other)
        await s.commit()
    other_core = await h.seed_core(sessionmaker, other.id)
    theirs = await h.add_timecard(sessionmaker, other_core)
    cid = str(core.company_id)
    for t in (theirs, uuid.uuid4()):
        r = await client.get(f"{P}/timecards/{t}/sync", params={"companyId": cid}, headers=auth_headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    bad = [({"state": "lost"}, "state"), ({"from": "2026-03-04", "to": "2026-03-03"}, "to"),
           ({"from": "1999-01-01"}, "from"), ({"limit": 0}, "limit"), ({"cursor": "nope"}, "cursor"),
           ({"worker": "a\x00b"}, "worker"), ({"bogus": "1"}, "bogus")]
    for params, field in bad:
        r = await client.get(f"{P}/timecards", params={"companyId": cid, **params}, headers=auth_headers)
        assert r.status_code == 422, (params, r.text)
        assert field in r.text, (params, r.text)
    for params in ({"cursor": "x"}, {"limit": 500}):
        r = await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": cid, **params}, headers=auth_headers)
        assert r.status_code == 422, (params, r.text)
    r = await client.get(f"{P}/timecards/not-a-uuid/sync", params={"companyId": cid}, headers=auth_headers)
    assert r.status_code == 422


async def test_roles(client, live, sessionmaker, ctx, make_token):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core)
    cid = str(core.company_id)
    for role in ("supervisor", "field_worker", "admin"):
        headers = {"Authorization": f"Bearer {make_token(core.company_id, role)}"}
        assert (await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": cid}, headers=headers)
                ).status_code == 200
        assert (await client.get(f"{P}/timecards", params={"companyId": cid}, headers=headers)).status_code == 200
    foreign = {"Authorization": f"Bearer {make_token(uuid.uuid4())}"}
    assert (await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": cid}, headers=foreign)
            ).status_code == 403
    assert (await client.get(f"{P}/timecards", params={"companyId": cid}, headers=foreign)).status_code == 403
    assert (await client.get(f"{P}/timecards", params={"companyId": cid})).status_code == 401


async def _sentence(client, headers, company_id, tid) -> dict:
    r = await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": str(company_id)}, headers=headers)
    return {k: r.json()["sync"][k] for k in ("state", "sentence", "until", "actions")}


async def test_dead_letters_audit_log_and_sync_status_say_the_same_words(client, auth_headers, live, sessionmaker,
                                                                        ctx):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core)
    cid = str(core.company_id)
    logs = (await client.get(f"{P}/audit-log", params={"companyId": cid}, headers=auth_headers)).json()["logs"]
    [entry] = [e for e in logs if e["timecardId"] == str(tid)]
    assert entry["sync"] == await _sentence(client, auth_headers, core.company_id, tid)
    assert entry["sync"]["state"] == "in_quickbooks"
    async with sessionmaker() as s:
        await s.execute(update(TimecardSyncRecord).where(TimecardSyncRecord.timecard_id == tid)
                        .values(state="dead", attempts=5, last_error="QuickBooks answered 500"))
        await s.commit()
    [dead] = (await client.get(f"{P}/dead-letters", params={"companyId": cid}, headers=auth_headers)).json()["items"]
    assert dead["sync"] == await _sentence(client, auth_headers, core.company_id, tid)
    assert dead["sync"]["sentence"] == "Needs you: QuickBooks failed 5 times (QuickBooks answered 500) — retry now"


async def test_a_fallback_export_is_in_each_timecards_story(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core, hours=0.25, break_minutes=30)  # not sendable: stays out of QBO
    r = await client.get(f"{P}/export-csv", params={"companyId": str(core.company_id)}, headers=auth_headers)
    assert r.status_code == 200
    story = (await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": str(core.company_id)},
                              headers=auth_headers)).json()["story"]
    assert (story[0]["kind"], story[0]["code"], story[0]["facts"]["exportId"]) == (
        "admin", "export_csv", r.headers["X-Export-Id"])
    assert story[0]["summary"] == "Admin: Exported in the fallback CSV"


async def test_the_dry_run_shows_each_timecards_sync_state(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core)
    r = await client.post(f"{P}/dry-run", headers=auth_headers, json={
        "companyId": str(core.company_id), "startDate": "2026-03-01", "endDate": "2026-03-03"})
    assert r.status_code == 200, r.text
    [card] = r.json()["timecards"]
    assert card["sync"] == await _sentence(client, auth_headers, core.company_id, tid)


async def test_sync_now_says_who_asked(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    tid = await _synced(ctx, sessionmaker, core)
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id), "timecardIds": [str(tid)]},
                          headers=auth_headers)
    assert r.status_code == 202
    story = (await client.get(f"{P}/timecards/{tid}/sync", params={"companyId": str(core.company_id)},
                              headers=auth_headers)).json()["story"]
    assert (story[0]["code"], story[0]["facts"]["actor"], story[0]["summary"]) == ("sync_now", "user-1",
                                                                                   "Admin: Sync Now")
