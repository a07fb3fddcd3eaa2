"""QuickBooks' directory is untrusted input: names, emails and item types holding a NUL or a lone
surrogate, over-long, or of odd types, are stored safely by the import (which completes for the company)."""

from __future__ import annotations

import json

from sqlalchemy import select

from qbo_integration.core_platform.models import User
from qbo_integration.directory import import_flow
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.mapping.profiles import profile_targets


async def _put(sandbox, realm: str, entity: str, record: dict) -> str:
    body = json.dumps(record).encode()  # \u0000 and \ud800 travel as escapes
    r = await sandbox.post(f"/_sandbox/realms/{realm}/entities/{entity}", content=body,
                           headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    return str(r.json()["Id"])


async def test_hostile_directory_records_are_stored_safely(sessionmaker, services, queue, connected_company, sandbox):
    realm = connected_company.realm_id
    emp = await _put(sandbox, realm, "Employee", {"DisplayName": "Ann\x00 Lee", "GivenName": "Ann", "Active": True,
                                                  "PrimaryEmailAddr": {"Address": "ann\ud800@example.test"}})
    long_name = "Customer " + "x" * 400
    cust = await _put(sandbox, realm, "Customer", {"DisplayName": long_name, "Active": True})
    item = await _put(sandbox, realm, "Item", {"Name": "Odd \udfff item", "Type": "Service\x00", "Active": True})
    result = await import_flow.run_import(sessionmaker, services.qbo, queue, connected_company.company_id,
                                          mapped=profile_targets)
    assert result["status"] == "completed", result
    async with sessionmaker() as s:
        rows = {(r.entity_type, r.qbo_id): r for r in (await s.execute(select(QboDirectoryRecord))).scalars()}
        users = {u.external_ids.get("qbo"): u for u in (await s.execute(select(User))).scalars()}
    assert rows[("Employee", emp)].name == "Ann\ufffd Lee"
    assert rows[("Employee", emp)].email == "ann\ufffd@example.test"
    assert rows[("Employee", emp)].raw["DisplayName"] == "Ann\ufffd Lee"
    assert users[emp].name == "Ann\ufffd Lee"
    assert rows[("Customer", cust)].name == long_name[:300]
    assert rows[("Item", item)].name == "Odd \ufffd item" and rows[("Item", item)].item_type == "Service\ufffd"


def test_a_time_before_year_one_in_utc_is_no_time():
    """The sandbox stamps MetaData itself, so this one is read directly."""
    from qbo_integration.directory.fetching import _parse_time

    assert _parse_time("0001-01-01T00:00:00+14:00") is None
    assert _parse_time("2026-12-01T10:00:00-08:00").isoformat() == "2026-12-01T18:00:00+00:00"
