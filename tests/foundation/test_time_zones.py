"""Time zones: a bad company zone from Core is a clear error, and no code uses the server's local zone."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.models import Company, Project, Timecard, User
from qbo_integration.core_platform.views import CompanyView
from qbo_integration.core_platform.zones import BadCompanyTimezone, company_zone

BAD_ZONES = ["Mountain", "America/Nowhere", "../../etc/passwd", "America/Denver\x00", " "]


@pytest.mark.parametrize("bad", BAD_ZONES)
def test_a_bad_zone_is_a_clear_conflict(bad):
    cid = uuid.uuid4()
    with pytest.raises(BadCompanyTimezone) as err:
        company_zone(bad, cid)
    assert err.value.status_code == 409
    assert repr(bad) in err.value.message and str(cid) in err.value.message and "IANA" in err.value.message


def test_good_and_missing_zones():
    assert company_zone("America/Denver").key == "America/Denver"
    assert company_zone(None).key == company_zone("").key == "UTC"


def test_the_outbox_txn_date_names_the_bad_zone():
    from qbo_integration.sync import outbox

    company = CompanyView(id=uuid.uuid4(), name="Acme", timezone="Mountain", admin_email=None)

    class Tc:
        clock_in = datetime(2026, 7, 2, 13, 0, tzinfo=UTC)

    with pytest.raises(BadCompanyTimezone, match="'Mountain'"):
        outbox.txn_date(company, Tc())  # type: ignore[arg-type]


async def test_health_reports_a_bad_zone_instead_of_crashing(sessionmaker):
    from qbo_integration.health import service as health

    async with sessionmaker() as s:
        c = Company(id=uuid.uuid4(), name="Bad Zone Co", timezone="Mountain Time")
        s.add(c)
        await s.commit()
        h = await health.company_health(s, None, c.id)
    assert h["status"] == "failed"  # never connected
    assert any("'Mountain Time'" in r and "IANA" in r for r in h["reasons"]), h["reasons"]


@pytest.fixture
def server_zone(monkeypatch):
    """Run with the process's local zone set far from UTC (UTC-11), as a server might be."""
    monkeypatch.setenv("TZ", "Pacific/Pago_Pago")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_sweep_window_does_not_depend_on_the_servers_zone(sessionmaker, server_zone):
    since = date(2026, 7, 2)
    async with sessionmaker() as s:
        c = Company(id=uuid.uuid4(), name="Acme", timezone="UTC")
        u = User(id=uuid.uuid4(), company_id=c.id, name="W")
        p = Project(id=uuid.uuid4(), company_id=c.id, name="P", status="active")
        s.add(c)
        await s.flush()
        s.add_all([u, p])
        await s.flush()
        start = datetime(2026, 7, 2, 5, 0, tzinfo=UTC)  # after 00:00 UTC on `since`, before 00:00 in UTC-11
        tc = Timecard(id=uuid.uuid4(), company_id=c.id, worker_id=u.id, project_id=p.id, clock_in=start,
                      clock_out=start + timedelta(hours=8), total_hours=Decimal("8"), status="approved",
                      approved_at=start, version=1)
        s.add(tc)
        await s.commit()
        got = await CoreGateway(s).approved_timecard_versions(c.id, since=since)
    assert [r[0] for r in got] == [tc.id]
