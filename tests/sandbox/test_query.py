"""Query: QBO's SQL subset, paging, COUNT, the inactive filter."""

from __future__ import annotations

from .conftest import fault_error, time_activity


async def _all(company, sql: str) -> list[dict]:
    r = await company.query(sql)
    assert r.status_code == 200, r.text
    return next((v for k, v in r.json()["QueryResponse"].items() if isinstance(v, list)), [])


async def test_paging_and_max_results_is_rows_returned(company):
    r = await company.query("SELECT * FROM Employee WHERE Active IN (true, false) ORDERBY Id STARTPOSITION 1 MAXRESULTS 10")
    body = r.json()
    assert set(body) == {"QueryResponse", "time"}
    qr = body["QueryResponse"]
    assert qr["startPosition"] == 1 and qr["maxResults"] == 10 and len(qr["Employee"]) == 10
    ids = []
    start = 1
    while True:
        qr = (await company.query(f"SELECT * FROM Employee WHERE Active IN (true, false) STARTPOSITION {start} "
                                  "MAXRESULTS 10")).json()["QueryResponse"]
        page = qr.get("Employee", [])
        ids += [e["Id"] for e in page]
        if len(page) < 10:
            break
        start += 10
    assert len(ids) == 25 and len(set(ids)) == 25
    assert qr["maxResults"] == 5 and qr["startPosition"] == 21


async def test_empty_result_is_empty_query_response(company):
    r = await company.query("SELECT * FROM Employee WHERE DisplayName = 'Nobody Here'")
    assert r.status_code == 200 and r.json()["QueryResponse"] == {}


async def test_count(company):
    r = await company.query("SELECT COUNT(*) FROM Employee")
    assert set(r.json()["QueryResponse"]) == {"totalCount"}
    active = r.json()["QueryResponse"]["totalCount"]
    total = (await company.query("SELECT COUNT(*) FROM Employee WHERE Active IN (true, false)")
             ).json()["QueryResponse"]["totalCount"]
    inactive = (await company.query("select count(*) from Employee where Active = false")
                ).json()["QueryResponse"]["totalCount"]
    assert total == 25 and active + inactive == total and inactive >= 1


async def test_inactive_hidden_by_default(company):
    rows = await _all(company, "SELECT * FROM Employee MAXRESULTS 1000")
    assert rows and all(e["Active"] for e in rows)
    rows = await _all(company, "SELECT * FROM Customer MAXRESULTS 1000")
    assert all(c["Active"] for c in rows)
    assert any(c.get("Job") for c in rows)
    everyone = await _all(company, "SELECT * FROM Customer WHERE Active IN (true, false) MAXRESULTS 1000")
    assert len(everyone) > len(rows)


async def test_default_page_is_100_and_max_is_1000(company):
    for i in range(3):
        await company.post("/class", {"Name": f"Extra {i}"})
    rows = await _all(company, "SELECT * FROM Class")
    assert len(rows) == 8
    assert len(await _all(company, "SELECT * FROM Class MAXRESULTS 1000")) == 8


async def test_where_operators(company):
    rows = await _all(company, "SELECT * FROM Item WHERE Name LIKE '%Labor%'")
    assert [i["Name"] for i in rows] == ["Framing Labor"]
    rows = await _all(company, "SELECT * FROM Item WHERE Name IN ('Hours', 'Concrete') ORDERBY Name DESC")
    assert [i["Name"] for i in rows] == ["Hours", "Concrete"]
    rows = await _all(company, "SELECT * FROM Item WHERE Type = 'Service' AND Id >= '3' AND Id < '5'")
    assert [i["Id"] for i in rows] == ["3", "4"]
    rows = await _all(company, "select * from Employee where DisplayName = 'nobody'")
    assert rows == []
    rows = await _all(company, "SELECT * FROM Customer WHERE DisplayName LIKE 'Cool%'")
    assert rows[0]["DisplayName"] == "Cool Cars"


async def test_last_updated_time_filter(company, clock):
    before = (await company.get(f"/companyinfo/{company.realm_id}")).json()["time"]
    clock.advance(2)
    r = await company.post("/timeactivity", time_activity())
    ta = r.json()["TimeActivity"]
    rows = await _all(company, f"SELECT * FROM TimeActivity WHERE Metadata.LastUpdatedTime > '{before}'")
    assert [t["Id"] for t in rows] == [ta["Id"]]
    rows = await _all(company, f"SELECT * FROM Employee WHERE Metadata.LastUpdatedTime > '{before}'")
    assert rows == []


async def test_query_by_post_application_text(company):
    r = await company.http.post(f"{company.base}/query", params={"minorversion": 75},
                                content=b"SELECT * FROM Class", headers={**company.headers,
                                                                       "Content-Type": "application/text"})
    assert r.status_code == 200 and len(r.json()["QueryResponse"]["Class"]) == 5


async def test_query_errors(company):
    for sql in ("SELECT * FROM Invoicez", "SELEKT * FROM Employee",
                "SELECT * FROM Employee WHERE Active = true OR Active = false"):
        r = await company.query(sql)
        assert r.status_code == 400, sql
        assert fault_error(r)["code"] in ("4000", "4001")
