"""Honest waits (issue 31): health and Sync Now say how many timecards wait for what, and until when,
with QuickBooks made to lose answers, go down, throttle and trip the breaker through the sandbox's faults.
No "pending" without a reason and a time; no "0 synced" for timecards that wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbo_integration.sync import engine, intake, outcome, tasks
from tests.support import sync as h

P = "/api/v1/integrations/quickbooks"


def _at(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


async def _approve(ctx, sessionmaker, core, n: int = 1, start=h.DENVER_DAY) -> list:
    tids = []
    for i in range(n):
        tid = await h.add_timecard(sessionmaker, core, start=start + timedelta(days=i))
        await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
        tids.append(tid)
    return tids


async def _health(client, auth_headers, company_id) -> dict:
    r = await client.get(f"{P}/health", params={"companyId": str(company_id)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _fresh_health(client, auth_headers, company_id, check) -> dict:
    """The health answer is kept a second per process: wait for one computed after the change."""
    async def ready():
        body = await _health(client, auth_headers, company_id)
        return body if check(body) else None
    return await h.wait_for(ready)


def _by_reason(body: dict) -> dict[str, dict]:
    return {w["reason"]: w for w in body["waiting"]}


async def test_lost_answers_then_an_outage_say_confirming_until_the_settle_deadline(
        client, auth_headers, live, sessionmaker, sandbox, ctx, clock):
    cc, core = live
    tids = await _approve(ctx, sessionmaker, core, 3)
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"commitThenDropRate": 1.0})
    await engine.run_company_sync(ctx, core.company_id)  # QBO commits the batch; the answer is lost
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"downForSeconds": 600})
    rows = [await h.row(sessionmaker, t) for t in tids]
    assert {(r.state, r.error_kind, r.operation) for r in rows} == {("failed", "transient", "settle")}
    deadline = max(outcome.unknown_for_sure_at(r) for r in rows)  # the rule, read through its function
    sent = min(r.pending_since for r in rows)

    body = await _fresh_health(client, auth_headers, core.company_id, lambda b: b["waiting"])
    waits = _by_reason(body)
    assert list(waits) == ["confirming"], body["waiting"]
    w = waits["confirming"]
    assert (w["count"], w["needsYou"]) == (3, False)
    assert _at(w["until"]) == deadline and _at(w["since"]) == sent
    assert "3 timecards waiting to confirm with QuickBooks after the outage at" in w["message"]
    assert "they go by" in w["message"] and "Nothing to do" in w["message"]
    assert (body["waitingTimecards"], body["needsAttention"], body["retryingTimecards"]) == (3, 0, 3)

    # Sync Now on them: it says what happens and when, not "queued" and then "0 synced"
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id),
                                                 "timecardIds": [str(t) for t in tids]}, headers=auth_headers)
    assert r.status_code == 202, r.text
    answer = r.json()
    [w] = answer["waiting"]
    assert (w["reason"], w["count"], _at(w["until"])) == ("confirming", 3, deadline)
    assert "cannot go now" in answer["message"] and "waiting to confirm" in answer["message"]
    await tasks.sync_company(ctx, str(core.company_id), answer["jobId"])  # nothing is due yet: sends nothing
    st = (await client.get(f"{P}/sync-status/{answer['jobId']}", headers=auth_headers)).json()
    assert (st["status"], st["results"]["synced"]) == ("completed", 0)
    [w] = st["waiting"]
    assert (w["reason"], w["count"], _at(w["until"])) == ("confirming", 3, deadline)

    # QuickBooks is back: past the deadline every one is settled, exactly once, and nothing waits
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
    clock.now = max(deadline, datetime.now(UTC)) + timedelta(seconds=1)
    await engine.run_company_sync(ctx, core.company_id)
    assert {(await h.row(sessionmaker, t)).state for t in tids} == {"synced"}
    assert len(await h.activities(sandbox, cc.realm_id)) == 3
    body = await _fresh_health(client, auth_headers, core.company_id, lambda b: not b["waiting"])
    assert (body["waitingTimecards"], body["pendingTimecards"]) == (0, 0)


async def test_a_429_says_throttled_until_the_pause_ends_and_sync_now_says_so(
        client, auth_headers, live, sessionmaker, sandbox, ctx):
    cc, core = live
    [tid] = await _approve(ctx, sessionmaker, core)
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"throttleNextRequests": 1})
    await engine.run_company_sync(ctx, core.company_id)  # a 429 without Retry-After: a 60 s pause
    row = await h.row(sessionmaker, tid)
    assert (row.state, row.error_kind) == ("pending", "wait")

    body = await _fresh_health(client, auth_headers, core.company_id, lambda b: b["waiting"])
    [w] = body["waiting"]
    assert (w["reason"], w["count"], _at(w["until"])) == ("throttled", 1, row.next_attempt_at)
    assert "QuickBooks asked us to slow down — next try by" in w["message"]

    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id), "timecardIds": [str(tid)]},
                          headers=auth_headers)
    [w] = r.json()["waiting"]
    assert (w["reason"], _at(w["until"])) == ("throttled", row.next_attempt_at)
    one = (await client.get(f"{P}/health/timecards", params={"companyId": str(core.company_id),
                                                             "timecardId": str(tid)}, headers=auth_headers)).json()
    state = one["timecards"][str(tid)]
    assert (state["reason"], state["needsYou"]) == ("throttled", False)
    assert state["message"].startswith("Waiting: QuickBooks asked us to slow down, next try")


async def test_an_open_breaker_says_until_when_for_every_timecard_it_holds(
        client, auth_headers, live, sessionmaker, sandbox, clock, sandbox_server, arq_redis, settings):
    cc, core = live
    api = h.make_api(sandbox_server.base_url, arq_redis, sessionmaker, settings, clock, breaker=True)
    ctx = h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=clock, settings=settings)
    try:
        await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"error503Rate": 1.0})
        [first] = await _approve(ctx, sessionmaker, core)
        await engine.run_company_sync(ctx, core.company_id)
        for wait in (1, 5, 15, 60):  # five failed calls in a row open the breaker
            clock.advance(minutes=wait)
            await engine.run_company_sync(ctx, core.company_id)
        breaker = await api.breaker_state(core.company_id)
        assert breaker.state == "open"
        clock.now = datetime.now(UTC)  # the API's time
        [second] = await _approve(ctx, sessionmaker, core)
        await engine.run_company_sync(ctx, core.company_id)  # open: nothing is sent, the row waits
    finally:
        await api.aclose()
    first_row = await h.row(sessionmaker, first)
    # a 503 may have landed: the first is looked up before anything else, at its 5th retry, 4 h away
    assert first_row.operation == "settle" and first_row.next_attempt_at > breaker.reopens_at

    body = await _fresh_health(client, auth_headers, core.company_id,
                               lambda b: sum(w["count"] for w in b["waiting"]) == 2)
    waits = _by_reason(body)
    assert list(waits) == ["confirming", "breaker_open"], body["waiting"]
    w = waits["breaker_open"]
    assert (w["count"], w["needsYou"]) == (1, False)
    assert abs((_at(w["until"]) - breaker.reopens_at).total_seconds()) < 2
    assert _at(waits["confirming"]["until"]) == max(first_row.next_attempt_at, outcome.unknown_for_sure_at(first_row))
    assert "QuickBooks stopped answering, so calls are paused until" in w["message"]
    assert body["status"] == "failed"


async def test_refused_and_retrying_timecards_say_who_acts(client, auth_headers, live, sessionmaker, sandbox, ctx):
    """A refused timecard needs someone (and is counted in needsAttention); one QuickBooks failed to take is
    retried by itself at a time: the dashboard's problems and its "Needs your attention" count agree."""
    cc, core = live
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/preferences",
                      json={"AccountingInfoPrefs": {"BookCloseDate": "2026-03-31"}})
    [closed] = await _approve(ctx, sessionmaker, core)  # dated 2026-03-02: in the closed period
    [retrying] = await _approve(ctx, sessionmaker, core, start=h.DENVER_DAY + timedelta(days=40))
    await engine.run_company_sync(ctx, core.company_id)
    assert [(await h.row(sessionmaker, t)).state for t in (closed, retrying)] == ["failed", "synced"]
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"error500Rate": 1.0})
    version = await h.change_timecard(sessionmaker, retrying, notes="Framing, level 3")
    await intake.handle_event(ctx, h.event("timecard.updated", core, retrying, version))
    await engine.run_company_sync(ctx, core.company_id)  # the update fails: retried on the schedule
    row = await h.row(sessionmaker, retrying)
    assert (row.state, row.error_kind, row.operation) == ("failed", "transient", "update")

    body = await _fresh_health(client, auth_headers, core.company_id,
                               lambda b: sum(w["count"] for w in b["waiting"]) == 2)
    waits = _by_reason(body)
    assert set(waits) == {"books_closed", "retry_scheduled"}
    assert waits["books_closed"]["needsYou"] and "the books are closed through Mar 31" in \
        waits["books_closed"]["message"]
    assert _at(waits["retry_scheduled"]["until"]) == row.next_attempt_at
    assert (body["needsAttention"], body["waitingTimecards"]) == (1, 1)
    assert body["needsAttention"] == body["failedTimecards"] + body["deadLettered"]

    r = await client.get(f"{P}/health/timecards", headers=auth_headers,
                         params=[("companyId", str(core.company_id)), ("timecardId", str(closed)),
                                 ("timecardId", str(retrying))])
    states = r.json()["timecards"]
    assert (states[str(closed)]["reason"], states[str(closed)]["needsYou"]) == ("books_closed", True)
    # (its sentence is sync/story/explain.py's: see /work/notes/waits-api.md on a batch-refused row's ledger)
    assert (states[str(retrying)]["reason"], states[str(retrying)]["needsYou"]) == ("retry_scheduled", False)
    assert states[str(retrying)]["message"].startswith("Waiting:")


async def test_timecard_states_refuse_bad_input_and_hide_other_companies(client, auth_headers, live, sessionmaker,
                                                                         ctx, make_token):
    import uuid

    cc, core = live
    [tid] = await _approve(ctx, sessionmaker, core)
    cid = str(core.company_id)
    url = f"{P}/health/timecards"
    r = await client.get(url, params={"companyId": cid}, headers=auth_headers)
    assert (r.status_code, r.json()) == (200, {"timecards": {}})
    assert (await client.get(url, params={"companyId": cid, "timecardId": "nope"},
                             headers=auth_headers)).status_code == 422
    too_many = [("companyId", cid)] + [("timecardId", str(uuid.uuid4())) for _ in range(201)]
    assert (await client.get(url, params=too_many, headers=auth_headers)).status_code == 422
    other = {"Authorization": f"Bearer {make_token(uuid.uuid4())}"}
    assert (await client.get(url, params={"companyId": cid, "timecardId": str(tid)},
                             headers=other)).status_code == 403
    r = await client.get(url, params={"companyId": cid, "timecardId": [str(tid), str(uuid.uuid4())]},
                         headers=auth_headers)
    assert r.status_code == 200 and list(r.json()["timecards"]) == [str(tid)]
