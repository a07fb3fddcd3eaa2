"""GET /mapping/records: both sides of the mapping wizard, and its refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.mapping.factories import add_cost_code, add_project, add_record, add_timecard, add_worker

URL = "/api/v1/integrations/quickbooks/mapping/records"


async def test_lists_both_sides_and_recent_timecards(client, company, auth_headers, sessionmaker):
    async with sessionmaker() as s:
        w = add_worker(s, company.id, "Ann Beam", "ann@acme.test", qbo="5")
        p = add_project(s, company.id, "Depot")
        c = add_cost_code(s, company.id, "01-100", "Framing")
        add_record(s, company.id, "Employee", "5", "Ann Beam", email="ann@acme.test")
        add_record(s, company.id, "Employee", "6", "Old Hand", active=False)
        add_record(s, company.id, "Item", "1", "Hours", item_type="Service")
        add_record(s, company.id, "Item", "9", "Lumber", item_type="Inventory")
        add_record(s, company.id, "Class", "77", "Remodel")
        await s.flush()
        tc = add_timecard(s, company.id, w, p, c, clock_in=datetime(2026, 11, 2, 15, tzinfo=UTC),
                          clock_out=datetime(2026, 11, 2, 23, tzinfo=UTC))
        add_timecard(s, company.id, w, p, c, status="draft")
        await s.commit()
    resp = await client.get(URL, params={"companyId": str(company.id)}, headers=auth_headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["workers"] == [{"id": str(w.id), "name": "Ann Beam", "email": "ann@acme.test", "active": True,
                                "qboId": "5"}]
    assert body["projects"][0]["name"] == "Depot" and body["projects"][0]["qboId"] is None
    assert body["costCodes"] == [{"id": str(c.id), "code": "01-100", "name": "Framing", "active": True}]
    assert [e["qboId"] for e in body["qbo"]["Employee"]] == ["5", "6"]
    assert body["qbo"]["Employee"][1]["active"] is False
    assert [i["name"] for i in body["qbo"]["Item"]] == ["Hours"]  # only service items
    assert body["qbo"]["Class"][0]["qboId"] == "77" and body["qbo"]["Customer"] == []
    assert [t["id"] for t in body["timecards"]] == [str(tc.id)]  # approved only
    assert body["timecards"][0]["worker"] == "Ann Beam" and body["timecards"][0]["hours"] == 7.5


async def test_refusals(client, company, auth_headers, make_token):
    no_token = await client.get(URL, params={"companyId": str(company.id)})
    assert no_token.status_code == 401
    bad = await client.get(URL, params={"companyId": "nope"}, headers=auth_headers)
    assert bad.status_code == 422 and "companyId" in bad.json()["error"]["message"]
    missing = await client.get(URL, headers=auth_headers)
    assert missing.status_code == 422
    other = await client.get(URL, params={"companyId": str(uuid.uuid4())}, headers=auth_headers)
    assert other.status_code == 403
    ghost = uuid.uuid4()
    unknown = await client.get(URL, params={"companyId": str(ghost)},
                               headers={"Authorization": f"Bearer {make_token(ghost)}"})
    assert unknown.status_code == 404 and "not found" in unknown.json()["error"]["message"]


async def test_recent_timecards_are_the_newest_25_and_limited_in_sql(client, company, auth_headers, sessionmaker):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    async with sessionmaker() as s:
        w = add_worker(s, company.id, "Ann Beam", "ann@acme.test")
        p = add_project(s, company.id, "Depot")
        await s.flush()
        cards = [add_timecard(s, company.id, w, p, clock_in=datetime(2026, 11, 1, 15, tzinfo=UTC) + timedelta(days=i),
                              clock_out=datetime(2026, 11, 1, 23, tzinfo=UTC) + timedelta(days=i)) for i in range(30)]
        await s.commit()
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        resp = await client.get(URL, params={"companyId": str(company.id)}, headers=auth_headers)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert resp.status_code == 200, resp.text
    assert [t["id"] for t in resp.json()["timecards"]] == [str(t.id) for t in reversed(cards)][:25]
    # the page is cut in SQL: no statement reads the company's approved timecards without a LIMIT
    listing = [q for q in statements if "FROM core.timecards WHERE core.timecards.company_id" in q]
    assert listing and all(" LIMIT " in q for q in listing), listing
