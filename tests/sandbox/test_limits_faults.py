"""Throttling and fault injection, over real HTTP against the threaded server."""

from __future__ import annotations

import asyncio
import time
from xml.etree import ElementTree

from .conftest import fault_error, new_company, time_activity

NS = "{http://schema.intuit.com/finance/v3}"


def _assert_throttled(r) -> None:
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(r.content)
    assert root.tag == NS + "IntuitResponse" and root.get("time")
    fault = root.find(NS + "Fault")
    assert fault is not None and fault.get("type") == "SERVICE"
    error = fault.find(NS + "Error")
    assert error is not None and error.get("code") == "3001"
    assert error.findtext(NS + "Message") == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    assert error.findtext(NS + "Detail") == "The request limit was reached.  Try again later"
    assert r.headers["intuit_tid"]


def _max_in_any_window(log: list[dict], window: float = 60.0) -> int:
    accepted = sorted((e["ts"], e["items"]) for e in log if not e["throttled"])
    best, lo, total = 0, 0, 0
    for ts, n in accepted:
        total += n
        while accepted[lo][0] <= ts - window:
            total -= accepted[lo][1]
            lo += 1
        best = max(best, total)
    return best


async def test_501st_call_in_a_minute_is_429_xml(http, clock):
    c = await new_company(http)
    path = f"/companyinfo/{c.realm_id}"
    with clock.frozen():  # only the per-request tick moves time: 500 calls in 50 s, however slow the machine
        for _ in range(500):
            r = await c.get(path)
            assert r.status_code == 200
        _assert_throttled(await c.get(path))
        _assert_throttled(await c.post("/timeactivity", time_activity()))
    log = await c.log()
    assert _max_in_any_window(log) == 500
    assert sum(e["throttled"] for e in log) == 2
    clock.advance(61)
    assert (await c.get(path)).status_code == 200


async def test_batch_items_count_as_calls(http, clock):
    c = await new_company(http)
    items = [{"bId": f"q{i}", "Query": "SELECT COUNT(*) FROM Class"} for i in range(30)]
    with clock.frozen():
        for _ in range(16):  # 480 calls
            assert (await c.post("/batch", {"BatchItemRequest": items})).status_code == 200
        _assert_throttled(await c.post("/batch", {"BatchItemRequest": items}))  # 510 > 500
        for _ in range(20):
            assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200
        _assert_throttled(await c.get(f"/companyinfo/{c.realm_id}"))
    assert _max_in_any_window(await c.log()) == 500


async def test_forty_batches_per_minute(http, clock):
    c = await new_company(http)
    one = {"BatchItemRequest": [{"bId": "q", "Query": "SELECT COUNT(*) FROM Class"}]}
    with clock.frozen():
        for _ in range(40):
            assert (await c.post("/batch", one)).status_code == 200
        _assert_throttled(await c.post("/batch", one))
        assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200  # single calls still pass


async def test_ten_concurrent_requests(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"latencyMs": 800})
    results = await asyncio.gather(*(c.get(f"/companyinfo/{c.realm_id}") for _ in range(12)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 10 + [429] * 2


async def test_limits_off_switch(http):
    c = await new_company(http)
    r = await c.admin("PUT", "/limits", json={"enabled": False})
    assert r.json()["enabled"] is False
    items = [{"bId": f"q{i}", "Query": "SELECT COUNT(*) FROM Class"} for i in range(30)]
    for _ in range(45):  # 1350 calls and 45 batches
        assert (await c.post("/batch", {"BatchItemRequest": items})).status_code == 200
    await c.admin("PUT", "/limits", json={"enabled": True})
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200


async def test_latency_fixed_plus_jitter(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"latencyMs": 150, "jitterMs": 50, "seed": 1})
    t0 = time.perf_counter()
    r = await c.get(f"/companyinfo/{c.realm_id}")
    elapsed = time.perf_counter() - t0
    server_ms = float(r.headers["x-sandbox-time-ms"])
    assert r.status_code == 200 and elapsed >= 0.15 and 150 <= server_ms < 1500  # slack for a busy machine
    await c.admin("DELETE", "/faults")
    fastest = min([float((await c.get(f"/companyinfo/{c.realm_id}")).headers["x-sandbox-time-ms"])
                   for _ in range(3)])
    assert fastest < 50


async def test_error_rates(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"error500Rate": 1})
    r = await c.get(f"/companyinfo/{c.realm_id}")
    assert r.status_code == 500 and fault_error(r)["type"] == "SystemFault" and fault_error(r)["code"] == "10000"
    await c.admin("PUT", "/faults", json={"error503Rate": 1})
    assert (await c.post("/timeactivity", time_activity())).status_code == 503
    assert (await c.admin("GET", "/entities/TimeActivity")).json()["items"] == []
    await c.admin("PUT", "/faults", json={"error500Rate": 0.5, "seed": 7})
    codes = [(await c.get(f"/companyinfo/{c.realm_id}")).status_code for _ in range(40)]
    assert 5 < codes.count(500) < 35 and codes.count(200) + codes.count(500) == 40
    await c.admin("DELETE", "/faults")
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200


async def test_timeout_sleeps_then_504(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"timeoutRate": 1, "timeoutSeconds": 0.3})
    t0 = time.perf_counter()
    r = await c.post("/timeactivity", time_activity())
    assert r.status_code == 504 and time.perf_counter() - t0 >= 0.3
    assert (await c.admin("GET", "/entities/TimeActivity")).json()["items"] == []


async def test_commit_then_drop(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"commitThenDropRate": 1})
    r = await c.post("/timeactivity", time_activity(), requestid="ctd-1")
    assert r.status_code == 503
    items = (await c.admin("GET", "/entities/TimeActivity")).json()["items"]
    assert len(items) == 1  # the write happened though the client saw a failure
    await c.admin("DELETE", "/faults")
    retry = await c.post("/timeactivity", time_activity(), requestid="ctd-1")
    assert retry.status_code == 200 and retry.json()["TimeActivity"]["Id"] == items[0]["Id"]
    assert len((await c.admin("GET", "/entities/TimeActivity")).json()["items"]) == 1
    assert [e["note"] for e in (await c.log())[-2:]] == ["commit-then-drop", "replayed"]


async def test_commit_then_drop_first_n_writes_for_certain(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"commitThenDropFirst": 2})
    answers = [(await c.post("/timeactivity", time_activity(), requestid=f"ctdf-{n}")).status_code for n in range(3)]
    assert answers == [503, 503, 200]
    assert len((await c.admin("GET", "/entities/TimeActivity")).json()["items"]) == 3  # all three committed
    bad = await c.admin("PUT", "/faults", json={"commitThenDropFirst": -1})
    assert bad.status_code in (400, 422)


async def test_throttle_next_requests_whenever_they_come(http):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"throttleNextRequests": 2})
    _assert_throttled(await c.get(f"/companyinfo/{c.realm_id}"))
    _assert_throttled(await c.get(f"/companyinfo/{c.realm_id}"))
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200


async def test_throttle_storm_and_down(http, clock):
    c = await new_company(http)
    await c.admin("PUT", "/faults", json={"throttleStormSeconds": 30})
    _assert_throttled(await c.get(f"/companyinfo/{c.realm_id}"))
    clock.advance(31)
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200
    await c.admin("PUT", "/faults", json={"downForSeconds": 10})
    r = await c.get(f"/companyinfo/{c.realm_id}")
    assert r.status_code == 503 and fault_error(r)["type"] == "SystemFault"
    await c.admin("DELETE", "/faults")
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200


async def test_bad_fault_settings_rejected(company):
    r = await company.admin("PUT", "/faults", json={"error500Rate": 2})
    assert r.status_code == 422
    r = await company.admin("PUT", "/faults", json={"nonsense": 1})
    assert r.status_code == 422


async def test_log_records_writes_and_items(company):
    await company.post("/timeactivity", time_activity())
    await company.query("SELECT * FROM Class")
    log = await company.log()
    assert [(e["method"], e["write"], e["status"]) for e in log[-2:]] == [("POST", True, 200), ("GET", False, 200)]
    assert set(log[-1]) >= {"ts", "method", "path", "status", "write", "items", "throttled"}
    later = await company.admin("GET", "/log", params={"since": log[-1]["ts"] + 0.0001})
    assert later.json() == []


async def test_log_names_the_records_a_write_names(company):
    """Which records of the realm a client updated or deleted (their ids are in the body, not the path)."""
    ta = (await company.post("/timeactivity", time_activity())).json()["TimeActivity"]
    await company.post("/timeactivity", {**time_activity(Hours=7), "Id": ta["Id"], "SyncToken": "0"},
                       operation="update")
    await company.post("/timeactivity", {"Id": "999", "SyncToken": "0"}, operation="delete")  # no such record
    await company.post("/batch", {"BatchItemRequest": [
        {"bId": "1", "operation": "delete", "TimeActivity": {"Id": ta["Id"], "SyncToken": "1"}},
        {"bId": "2", "operation": "create", "TimeActivity": time_activity()}]})
    await company.get(f"/timeactivity/{ta['Id']}")  # a read: in its path, as ever
    log = await company.log()
    assert [(e["status"], e["ids"]) for e in log[-5:]] == [
        (200, []), (200, [f"TimeActivity/{ta['Id']}"]), (400, ["TimeActivity/999"]),
        (200, [f"TimeActivity/{ta['Id']}"]), (400, [])]
