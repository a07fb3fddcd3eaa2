"""Test mapping and the dry run check the company's books (issue 15): a timecard dated on or before
QuickBooks' closing date, and a class while class tracking is off, are reported with the admin's words,
from the preferences read at the directory import; nothing is written to QBO."""

from __future__ import annotations

from datetime import UTC, datetime

from qbo_integration.connections.books import get_rules
from qbo_integration.directory import import_flow
from qbo_integration.mapping.profiles import profile_targets
from tests.mapping import factories as f
from tests.mapping.test_dry_run import API, _by_qbo, _writes

CLOSED = {"field": "TxnDate", "kind": "books",
          "message": "QuickBooks books are closed through 2026-07-02: this timecard (2026-07-02) cannot be sent",
          "fix": "Export it as CSV, or sync it once the books reopen"}


async def test_closed_books_and_class_tracking_in_test_mapping_and_dry_run(
        client, auth_headers, imported, sessionmaker, sandbox, services, queue):
    from qbo_integration.core_platform.models import Project, User

    cid, realm = imported.company_id, imported.realm_id
    r = await sandbox.put(f"/_sandbox/realms/{realm}/preferences", json={"AccountingInfoPrefs": {
        "BookCloseDate": "2026-07-02", "ClassTrackingPerTxn": False}})
    assert r.status_code == 200, r.text
    assert (await import_flow.run_import(sessionmaker, services.qbo, queue, cid, mapped=profile_targets))["status"] == "completed"
    async with sessionmaker() as s:
        rules = await get_rules(s, cid)
    assert (str(rules.close_date), rules.class_tracking, rules.department_tracking) == ("2026-07-02", False, True)

    emp1, cool = await _by_qbo(sessionmaker, User, cid, "1"), await _by_qbo(sessionmaker, Project, cid, "1")
    async with sessionmaker() as s:
        cc = f.add_cost_code(s, cid, "100", "Framing")
        await s.flush()
        closed = f.add_timecard(s, cid, emp1, cool, cc)  # 2026-07-02 in the company's zone
        open_ = f.add_timecard(s, cid, emp1, cool, cc, clock_in=datetime(2026, 7, 3, 13, 0, tzinfo=UTC),
                               clock_out=datetime(2026, 7, 3, 20, 0, tzinfo=UTC))
        await s.commit()
    classes = (await sandbox.get(f"/_sandbox/realms/{realm}/entities/Class")).json()["items"]
    mapping = {"costCodeField": "Class", "hourlyRates": {"default": 65},  # billable time needs a bill rate
               "costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboClassId": classes[0]["Id"]}]}
    r = await client.put(f"{API}/mapping", headers=auth_headers, json={"companyId": str(cid), "mapping": mapping})
    assert r.status_code == 200, r.text
    since = datetime.now(UTC).timestamp()

    r = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(closed.id)},
                          headers=auth_headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["valid"] is False and out["preview"]["TxnDate"] == "2026-07-02"
    assert out["errors"][0] == CLOSED
    assert out["errors"][1]["field"] == "ClassRef" and out["errors"][1]["message"].startswith(
        "Class tracking is turned off in QuickBooks, but the mapping sends a class")
    assert "remove the class mapping in Mapping → Cost codes" in out["errors"][1]["fix"]

    r = await client.post(f"{API}/dry-run", headers=auth_headers,
                          json={"companyId": str(cid), "startDate": "2026-07-01", "endDate": "2026-07-31"})
    assert r.status_code == 200, r.text
    run = r.json()
    by_id = {t["timecardId"]: t for t in run["timecards"]}
    assert run["passed"] is False and [e["field"] for e in by_id[str(closed.id)]["errors"]] == ["TxnDate", "ClassRef"]
    assert [e["field"] for e in by_id[str(open_.id)]["errors"]] == ["ClassRef"]
    _, writes = await _writes(sandbox, realm, since)
    assert writes == []


def test_qbo_refusals_explained_in_the_same_words():
    from datetime import date

    from qbo_integration.connections.books import UNREAD, BookRules
    from qbo_integration.mapping import books
    from qbo_integration.qbo import ValidationError

    closed = ValidationError("Account Period Closed", code="6200", element="TxnDate",
                             detail="The account period has closed. The transaction date 2026-07-02 is on or before "
                                    "the closing date 2026-07-31.")
    # our copy never read, or older than QBO's books: the date QBO names (when it names one)
    assert books.explain(closed, UNREAD, {}, "2026-07-02") == ("books_closed", books.CLOSED_PREFIX + (
        " through 2026-07-31: this timecard (2026-07-02) cannot be sent. Export it as CSV, or sync it once the "
        "books reopen."))
    real = ValidationError("Account Period Closed", code="6210", detail=(  # QBO's words name no date
        "The account period has closed and the account books cannot be updated through the QBO Services API. "
        "Please use the QBO website to make these changes."))
    assert books.explain(real, BookRules(close_date=date(2026, 7, 31)), {}, "2026-07-02")[1].startswith(
        "QuickBooks books are closed through 2026-07-31: this timecard (2026-07-02) cannot be sent.")
    bare = ValidationError("Account Period Closed", code="6200")
    assert books.explain(bare, BookRules(close_date=date(2026, 6, 30)), {}, "2026-07-02")[1].startswith(
        "QuickBooks books are closed for this timecard's date: this timecard (2026-07-02) cannot be sent.")
    assert books.explain(bare, BookRules(close_date=date(2026, 7, 31)), {}, "2026-07-02")[1].startswith(
        "QuickBooks books are closed through 2026-07-31:")
    cls = ValidationError("A business validation error has occurred while processing your request", code="6000",
                          element="ClassRef", detail="Business Validation Error: Class tracking is turned off")
    code, text = books.explain(cls, UNREAD, {"ClassRef": {"value": "5", "name": "Remodel"}}, "2026-07-02")
    assert code == "class_tracking_off" and "a class ('Remodel')" in text and "Turn on class tracking" in text
    other = ValidationError("Invalid Reference Id", code="2500", element="ClassRef")
    assert books.explain(other, UNREAD, {}, "2026-07-02") is None and books.explain(None, UNREAD, {}, None) is None


async def test_the_dry_run_reads_the_preferences_again_when_its_copy_says_closed(
        client, auth_headers, imported, sessionmaker, sandbox, services, queue):
    """Issue 28, finding 6: after the books reopened inside QuickBooks the dry run still refused "closed
    through …" until a directory import read the preferences again, so re-enabling live sync after a
    reconnect needed "Import again" first."""
    from qbo_integration.core_platform.models import Project, User

    cid, realm = imported.company_id, imported.realm_id
    r = await sandbox.put(f"/_sandbox/realms/{realm}/preferences", json={"AccountingInfoPrefs": {
        "BookCloseDate": "2026-07-02"}})
    assert r.status_code == 200, r.text
    assert (await import_flow.run_import(sessionmaker, services.qbo, queue, cid, mapped=profile_targets))["status"] == "completed"
    emp1, cool = await _by_qbo(sessionmaker, User, cid, "1"), await _by_qbo(sessionmaker, Project, cid, "1")
    async with sessionmaker() as s:
        cc = f.add_cost_code(s, cid, "100", "Framing")
        await s.flush()
        f.add_timecard(s, cid, emp1, cool, cc)  # 2026-07-02 in the company's zone: closed in our copy
        await s.commit()
    r = await client.put(f"{API}/mapping", headers=auth_headers, json={"companyId": str(cid), "mapping": {
        "costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}],
        "hourlyRates": {"default": 65}}})
    assert r.status_code == 200, r.text
    r = await sandbox.put(f"/_sandbox/realms/{realm}/preferences", json={"AccountingInfoPrefs": {"BookCloseDate": None}})
    assert r.status_code == 200, r.text  # reopened inside QuickBooks; no import since

    r = await client.post(f"{API}/dry-run", headers=auth_headers,
                          json={"companyId": str(cid), "startDate": "2026-07-01", "endDate": "2026-07-31"})
    assert r.status_code == 200, r.text
    assert r.json()["passed"] is True, r.json()["timecards"]
    async with sessionmaker() as s:
        assert (await get_rules(s, cid)).close_date is None  # and our copy is fresh again
