"""One record as a readable page: where the console's "Open in QuickBooks" lands under the sandbox."""

from __future__ import annotations

from .conftest import time_activity


async def test_a_time_activity_reads_as_a_page_of_its_own(company):
    made = (await company.post("/timeactivity", time_activity())).json()["TimeActivity"]
    await company.post("/timeactivity", time_activity(Description="Another entry"))
    r = await company.admin("GET", f"/entities/TimeActivity/{made['Id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert f"<h1>Time activity {made['Id']}</h1>" in page
    assert f"<th>Employee</th><td>{made['EmployeeRef']['name']} (#1)</td>" in page
    assert "<th>Date</th><td>2026-03-02</td>" in page and "Framing, level 2" in page
    assert "Another entry" not in page and '{"' not in page  # that one record, no JSON

    await company.post("/timeactivity", {"Id": made["Id"], "SyncToken": made["SyncToken"]}, operation="delete")
    gone = await company.admin("GET", f"/entities/TimeActivity/{made['Id']}")
    assert gone.status_code == 200 and "deleted in QuickBooks" in gone.text
    missing = await company.admin("GET", "/entities/TimeActivity/999999")
    assert missing.status_code == 404 and "No TimeActivity 999999" in missing.text
