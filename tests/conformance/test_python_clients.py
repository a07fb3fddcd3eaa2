"""intuit-oauth + python-quickbooks, unpatched, against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException, ValidationException
from quickbooks.helpers import qb_datetime_utc_offset_format
from quickbooks.objects.base import Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.employee import Employee
from quickbooks.objects.timeactivity import TimeActivity

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT


def _connect(base_url: str) -> tuple[AuthClient, str]:
    """The whole OAuth dance as an app does it: discovery, authorize (auto-approved), code exchange."""
    auth = AuthClient(CLIENT_ID, CLIENT_SECRET, REDIRECT, base_url + "/.well-known/openid_sandbox_configuration/")
    url = auth.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL])
    redirect = requests.get(url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    q = {k: v[0] for k, v in parse_qs(urlparse(redirect.headers["location"]).query).items()}
    assert q["state"] == auth.state_token
    auth.get_bearer_token(q["code"], realm_id=q["realmId"])
    return auth, q["realmId"]


def _qb(auth: AuthClient, base_url: str, realm_id: str) -> QuickBooks:
    qb = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=realm_id, minorversion=75)
    qb.api_url_v3 = base_url + "/v3"  # where "Intuit" is; the library's own setting
    return qb


def _ref(value: str) -> Ref:
    ref = Ref()
    ref.value = value
    return ref


def _time_activity(day: str = "2026-03-02", hours: int = 8) -> TimeActivity:
    ta = TimeActivity()
    ta.NameOf = "Employee"
    ta.EmployeeRef, ta.CustomerRef, ta.ItemRef = _ref("1"), _ref("1"), _ref("1")
    ta.TxnDate, ta.Hours, ta.Minutes = day, hours, 0
    ta.BillableStatus, ta.HourlyRate = "Billable", 65
    ta.Description = "conformance"
    return ta


@pytest.fixture
def connected(conformance_sandbox, realm, monkeypatch):
    # oauthlib refuses plain http unless told this is a local test (its documented switch).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    base = conformance_sandbox.base_url
    auth, realm_id = _connect(base)
    assert realm_id == realm
    return auth, _qb(auth, base, realm_id), base


def test_oauth_discovery_tokens_userinfo_refresh_revoke(connected):
    auth, _qb_client, _base = connected
    assert auth.jwks_uri.endswith("/op/v1/jwks") and auth.user_info_url
    assert auth.access_token and auth.refresh_token and auth.expires_in == 3600
    assert auth.x_refresh_token_expires_in > 0
    me = auth.get_user_info()
    assert me.status_code == 200 and me.json()["sub"]
    old = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token != old
    with pytest.raises(AuthClientError) as bad:
        auth.refresh(refresh_token=old)  # superseded (grace 0)
    assert bad.value.status_code == 400
    assert auth.revoke() is True
    with pytest.raises(AuthClientError):
        auth.refresh()


def test_query_paging_and_count(connected):
    _auth, qb, _base = connected
    everyone = Employee.where("Active IN (true, false)", order_by="Id", max_results=1000, qb=qb)
    assert len(everyone) == 25
    pages, start = [], 1
    while True:
        page = Employee.where("Active IN (true, false)", order_by="Id", start_position=start, max_results=10, qb=qb)
        pages += page
        if len(page) < 10:
            break
        start += 10
    assert [e.Id for e in pages] == [e.Id for e in everyone]
    assert Employee.count("Active IN (true, false)", qb=qb) == 25
    assert Customer.filter(DisplayName="Cool Cars", qb=qb)[0].DisplayName == "Cool Cars"


def test_create_read_update_stale_delete(connected):
    _auth, qb, _base = connected
    created = _time_activity().save(qb=qb)
    assert created.Id and created.SyncToken == "0"
    got = TimeActivity.get(created.Id, qb=qb)
    assert got.Description == "conformance" and got.HourlyRate == 65
    got.Description = "updated"
    updated = got.save(qb=qb)
    assert updated.SyncToken == "1" and TimeActivity.get(created.Id, qb=qb).Description == "updated"
    got.SyncToken = "0"  # stale
    with pytest.raises(QuickbooksException) as stale:
        got.save(qb=qb)
    assert stale.value.error_code == 5010
    current = TimeActivity.get(created.Id, qb=qb)
    current.delete(qb=qb)
    with pytest.raises(QuickbooksException) as gone:
        TimeActivity.get(created.Id, qb=qb)
    assert gone.value.error_code == 610


def test_requestid_replay_answers_the_first_result(connected, conformance_sandbox, realm):
    _auth, qb, _base = connected
    first = _time_activity().save(qb=qb, request_id="conf-replay-1")
    again = _time_activity(hours=3).save(qb=qb, request_id="conf-replay-1")
    assert again.Id == first.Id and again.Hours == 8
    assert len(conformance_sandbox.state.slots[realm].realm.rows("TimeActivity")) == 1


def test_batch_of_thirty(connected, conformance_sandbox, realm):
    _auth, qb, _base = connected
    result = batch_create([_time_activity(day=f"2026-03-{d:02d}") for d in range(1, 31)], qb=qb)
    assert len(result.successes) == 30 and result.faults == []
    assert len(conformance_sandbox.state.slots[realm].realm.rows("TimeActivity")) == 30


def test_change_data_capture(connected):
    _auth, qb, _base = connected
    since = qb_datetime_utc_offset_format(datetime.now(UTC) - timedelta(minutes=5), "+00:00")
    worker = Employee()
    worker.GivenName, worker.FamilyName = "Conny", "Formance"
    worker = worker.save(qb=qb)
    changed = change_data_capture([Employee], since, qb=qb)
    assert worker.Id in [e.Id for e in changed.Employee]


def test_fault_shapes(connected, conformance_sandbox, realm):
    _auth, qb, _base = connected
    with pytest.raises(ValidationException) as bad_query:
        Employee.where("PrimaryEmailAddr = 'x@example.com'", qb=qb)
    assert bad_query.value.error_code == 4001 and "not queryable" in bad_query.value.detail
    with pytest.raises(ValidationException) as too_many:
        Employee.where("Active = true", max_results=1001, qb=qb)
    assert too_many.value.error_code == 4001
    missing = _time_activity()
    missing.EmployeeRef = None
    with pytest.raises(ValidationException) as required:
        missing.save(qb=qb)
    assert required.value.error_code == 2020
    slot = conformance_sandbox.state.slots[realm]
    slot.realm.preferences["AccountingInfoPrefs"]["BookCloseDate"] = "2026-03-31"
    with pytest.raises(QuickbooksException) as closed:
        _time_activity(day="2026-03-15").save(qb=qb)
    assert closed.value.error_code == 6210 and closed.value.message == "Account Period Closed"
    slot.faults.storm_until = slot.faults.storm_until or 1e12  # throttled: the XML 429 QBO sends
    try:
        with pytest.raises(QuickbooksException) as throttled:
            Employee.all(qb=qb)
        assert "ThrottleExceeded" in str(throttled.value.message)
    finally:
        slot.faults.storm_until = 0.0
