"""The request loop: headers, minorversion, requestid kept across retries, 3 tries, backoff, Retry-After."""

from __future__ import annotations

import httpx
import pytest
import respx

from qbo_integration.qbo import BatchOp, ErrorAction, QboError

from .helpers import COMPANY, FAULT_500, REALM, TA, THROTTLE, api_url, tokens, unit_api


@respx.mock
async def test_every_request_has_headers_and_minorversion(setup):
    api, _, _ = setup
    route = respx.get(api_url(f"companyinfo/{REALM}")).respond(
        200, json={"CompanyInfo": {"CompanyName": "X"}}
    )
    info = await api.company(COMPANY, REALM).company_info()
    assert info.CompanyName == "X"
    req = route.calls.last.request
    assert req.url.params["minorversion"] == "75"
    assert "requestid" not in req.url.params
    assert req.headers["Authorization"] == "Bearer at-1"
    assert req.headers["Accept"] == "application/json"


@respx.mock
async def test_write_retries_with_identical_requestid_then_succeeds(setup):
    api, _, sleeps = setup
    route = respx.post(api_url("timeactivity")).mock(
        side_effect=[httpx.Response(503), httpx.ReadTimeout("boom"), httpx.Response(200, json=TA)]
    )
    client = api.company(COMPANY, REALM)
    ta = await client.create_time_activity({"NameOf": "Employee"}, request_id="tc-42-v1")
    assert ta.Id == "14"
    assert route.call_count == 3
    ids = {c.request.url.params["requestid"] for c in route.calls}
    assert ids == {"tc-42-v1"}
    assert all(c.request.headers["Content-Type"] == "application/json" for c in route.calls)
    assert client.stats.calls == 3 and client.stats.retries == 2
    # capped exponential backoff with jitter: attempt 1 in [0.25, 0.5], attempt 2 in [0.5, 1.0]
    assert len(sleeps.calls) == 2
    assert 0.25 <= sleeps.calls[0] <= 0.5 and 0.5 <= sleeps.calls[1] <= 1.0


@respx.mock
async def test_at_most_three_tries_then_retry_error(setup):
    api, _, sleeps = setup
    route = respx.post(api_url("timeactivity")).respond(500, json=FAULT_500, headers={"intuit_tid": "t-9"})
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r1")
    assert route.call_count == 3
    assert ei.value.resolution.action == ErrorAction.RETRY and ei.value.code == "10000" and ei.value.intuit_tid == "t-9"
    assert len(sleeps.calls) == 2


@respx.mock
async def test_validation_is_not_retried(setup):
    api, _, sleeps = setup
    body = {
        "Fault": {"Error": [{"Message": "Invalid Reference Id", "code": "2500", "element": "CustomerRef"}]}
    }
    route = respx.post(api_url("timeactivity")).respond(400, json=body)
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r1")
    assert route.call_count == 1 and not sleeps.calls
    assert ei.value.resolution.action == ErrorAction.VALIDATION and ei.value.element == "CustomerRef"


@respx.mock
async def test_retry_after_within_cap_is_honoured(setup):
    api, _, sleeps = setup
    route = respx.get(api_url(f"companyinfo/{REALM}")).mock(
        side_effect=[
            httpx.Response(429, content=THROTTLE.encode(), headers={"Retry-After": "3"}),
            httpx.Response(200, json={"CompanyInfo": {}}),
        ]
    )
    client = api.company(COMPANY, REALM)
    await client.company_info()
    assert route.call_count == 2
    assert sleeps.calls == [3.0]
    assert client.stats.throttled == 1


@respx.mock
async def test_retry_after_beyond_cap_is_raised_for_the_job_queue(setup):
    api, _, sleeps = setup
    route = respx.get(api_url(f"companyinfo/{REALM}")).respond(429, content=THROTTLE.encode())
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).company_info()
    assert route.call_count == 1 and not sleeps.calls
    assert ei.value.resolution.action == ErrorAction.RATE_LIMITED and ei.value.retry_after == 60.0
    # "paused", like the limiter's own: the outbox waits without spending an attempt; QBO's fault is kept
    assert ei.value.code == "paused" and ei.value.status == 429 and ei.value.errors[0].code == "3001"
    assert not ei.value.counts_for_breaker


@respx.mock
async def test_429s_spend_no_try(setup):
    """Two 429s then two 500s: the 429s are pacing, so the third real try still happens and succeeds
    (they used to count as tries: the call failed after the first 500)."""
    api, _, sleeps = setup
    throttled = httpx.Response(429, content=THROTTLE.encode(), headers={"Retry-After": "2"})
    route = respx.get(api_url(f"companyinfo/{REALM}")).mock(
        side_effect=[throttled, throttled, httpx.Response(500, json=FAULT_500), httpx.Response(500, json=FAULT_500),
                     httpx.Response(200, json={"CompanyInfo": {"CompanyName": "X"}})]
    )
    client = api.company(COMPANY, REALM)
    assert (await client.company_info()).CompanyName == "X"
    assert route.call_count == 5 and sleeps.calls[:2] == [2.0, 2.0]
    assert client.stats.throttled == 2 and client.stats.retries == 2


@respx.mock
async def test_a_throttle_that_never_ends_is_raised_after_a_few_waits(setup):
    api, _, sleeps = setup
    route = respx.get(api_url(f"companyinfo/{REALM}")).respond(
        429, content=THROTTLE.encode(), headers={"Retry-After": "1"}
    )
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).company_info()
    assert ei.value.code == "paused" and route.call_count == api.config.retry.max_throttled_waits + 1
    assert sleeps.calls == [1.0] * api.config.retry.max_throttled_waits


@respx.mock
async def test_401_forces_one_refresh_then_retries_once(setup):
    api, store, _ = setup
    lower = {"fault": {"error": [{"message": "errorCode=003200", "code": "3200"}], "type": "AUTHENTICATION"}}
    api_route = respx.get(api_url(f"companyinfo/{REALM}")).mock(
        side_effect=[httpx.Response(401, json=lower), httpx.Response(200, json={"CompanyInfo": {}})]
    )
    token_route = respx.post("https://qbo.test/oauth2/v1/tokens/bearer").respond(
        200,
        json={
            "access_token": "at-2",
            "refresh_token": "rt-2",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8726400,
            "token_type": "bearer",
        },
    )
    await api.company(COMPANY, REALM).company_info()
    assert token_route.call_count == 1
    form = token_route.calls.last.request.content.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=rt-1" in form
    assert token_route.calls.last.request.headers["Authorization"].startswith("Basic ")
    assert [c.request.headers["Authorization"] for c in api_route.calls] == ["Bearer at-1", "Bearer at-2"]
    assert store.tokens[COMPANY].refresh_token == "rt-2"  # rotated token saved


@respx.mock
async def test_second_401_after_refresh_is_raised(setup):
    api, _, _ = setup
    respx.get(api_url(f"companyinfo/{REALM}")).respond(401)
    token_route = respx.post("https://qbo.test/oauth2/v1/tokens/bearer").respond(
        200, json={"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}
    )
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).company_info()
    assert ei.value.resolution.action == ErrorAction.REFRESH and token_route.call_count == 1


@respx.mock
async def test_invalid_grant_marks_connection_lost(redis):
    from qbo_integration.qbo import MemoryTokenStore

    store = MemoryTokenStore()
    store.tokens[COMPANY] = tokens(expires_in=60)  # inside the 5-minute margin: refresh first
    api, _ = unit_api(redis, store=store)
    respx.post("https://qbo.test/oauth2/v1/tokens/bearer").respond(400, json={"error": "invalid_grant"})
    api_route = respx.get(api_url(f"companyinfo/{REALM}")).respond(200, json={"CompanyInfo": {}})
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).company_info()
    assert ei.value.resolution.action == ErrorAction.CONNECTION_LOST
    assert COMPANY in store.lost and api_route.call_count == 0
    assert "rt-1" not in str(ei.value)
    await api.aclose()


@respx.mock
async def test_batch_splits_orders_and_derives_request_ids(setup):
    api, _, _ = setup
    seen: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = __import__("json").loads(request.content)
        seen.append({"params": dict(request.url.params), "body": body})
        items = []
        for item in reversed(body["BatchItemRequest"]):  # order not guaranteed: answer reversed
            desc = item["TimeActivity"]["Description"]
            if desc == "bad-7":
                items.append(
                    {
                        "bId": item["bId"],
                        "Fault": {
                            "type": "ValidationFault",
                            "Error": [
                                {"Message": "Invalid Reference Id", "code": "2500", "element": "EmployeeRef"}
                            ],
                        },
                    }
                )
            else:
                items.append({"bId": item["bId"], "TimeActivity": {"Id": desc, "SyncToken": "0"}})
        return httpx.Response(200, json={"BatchItemResponse": items, "time": "t"})

    route = respx.post(api_url("batch")).mock(side_effect=answer)
    ops = [
        BatchOp("create", payload={"Description": "bad-7" if i == 7 else f"ta-{i}"}, request_id=f"tc-{i}")
        for i in range(65)
    ]
    results = await api.company(COMPANY, REALM).batch(ops)
    assert route.call_count == 3
    sizes = sorted(len(s["body"]["BatchItemRequest"]) for s in seen)
    assert sizes == [5, 30, 30]
    for s in seen:
        assert all(len(i["bId"]) <= 10 for i in s["body"]["BatchItemRequest"])
        assert len(s["params"]["requestid"]) <= 36 and s["params"]["minorversion"] == "75"
    assert len({s["params"]["requestid"] for s in seen}) == 3
    assert [r.index for r in results] == list(range(65))
    assert results[0].entity["Id"] == "ta-0" and results[64].entity["Id"] == "ta-64"
    assert results[7].error.resolution.action == ErrorAction.VALIDATION and results[7].error.element == "EmployeeRef"
    # same items -> same requestid (a retry by a later job repeats it)
    from qbo_integration.qbo import batch_request_id

    assert batch_request_id(ops[:30]) == batch_request_id(list(ops[:30]))
    assert batch_request_id(ops[:30]) != batch_request_id(ops[30:60])


@respx.mock
async def test_query_pages_until_short_page_and_detects_loops(setup):
    api, _, _ = setup
    calls: list[str] = []

    def pages(request: httpx.Request) -> httpx.Response:
        q = request.url.params["query"]
        calls.append(q)
        start = int(q.split("STARTPOSITION")[1].split()[0])
        n = 2 if start < 5 else 1
        rows = [{"Id": str(start + i), "DisplayName": f"E{start + i}"} for i in range(n)]
        return httpx.Response(
            200, json={"QueryResponse": {"Employee": rows, "startPosition": start, "maxResults": n}}
        )

    respx.get(api_url("query")).mock(side_effect=pages)
    client = api.company(COMPANY, REALM)
    rows = [r async for r in client.query("SELECT * FROM Employee", page_size=2)]
    assert [r.Id for r in rows] == ["1", "2", "3", "4", "5"]
    assert calls[0] == "SELECT * FROM Employee STARTPOSITION 1 MAXRESULTS 2" and len(calls) == 3

    # a server that ignores STARTPOSITION: the repeated page stops the iterator
    respx.get(api_url("query")).respond(
        200, json={"QueryResponse": {"Employee": [{"Id": "1"}, {"Id": "2"}], "maxResults": 2}}
    )
    rows = [r async for r in client.query("SELECT * FROM Employee", page_size=2)]
    assert [r.Id for r in rows] == ["1", "2"]


@respx.mock
async def test_count_and_get_not_found(setup):
    api, _, _ = setup
    route = respx.get(api_url("query")).respond(200, json={"QueryResponse": {"totalCount": 27}})
    client = api.company(COMPANY, REALM)
    assert await client.count("SELECT * FROM Employee WHERE Active = true") == 27
    assert route.calls.last.request.url.params["query"] == "SELECT COUNT(*) FROM Employee WHERE Active = true"
    respx.get(api_url("timeactivity/99")).respond(
        400,
        json={
            "Fault": {"Error": [{"Message": "Object Not Found", "code": "610"}], "type": "ValidationFault"}
        },
    )
    with pytest.raises(QboError) as ei:
        await client.get_time_activity("99")
    assert ei.value.resolution.action == ErrorAction.NOT_FOUND
