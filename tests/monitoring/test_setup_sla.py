"""Setup tracker: the route, the SLA cron's thresholds (once each, highest when several)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from qbo_integration.monitoring import setup, setup_sla
from qbo_integration.monitoring.models import AlertOutbox

P = "/api/v1/integrations/quickbooks"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def alerts_of(sessionmaker) -> list[AlertOutbox]:
    async with sessionmaker() as s:
        return list((await s.execute(select(AlertOutbox).order_by(AlertOutbox.created_at))).scalars())


async def run(sessionmaker, settings, now) -> int:
    async with sessionmaker() as s:
        n = await setup_sla.check_setup_sla(s, settings, now=now)
        await s.commit()
    return n


async def test_thresholds_alert_once_each(sessionmaker, settings, company):
    async with sessionmaker() as s:
        await setup.mark_step(s, company.id, "connected", now=T0)
        await setup.mark_step(s, company.id, "directory_imported", now=T0 + timedelta(hours=1))
        await s.commit()
    assert await run(sessionmaker, settings, T0 + timedelta(hours=23)) == 0
    assert await run(sessionmaker, settings, T0 + timedelta(hours=24, minutes=1)) == 1
    assert await run(sessionmaker, settings, T0 + timedelta(hours=30)) == 0
    assert await run(sessionmaker, settings, T0 + timedelta(hours=41)) == 1
    assert await run(sessionmaker, settings, T0 + timedelta(hours=47)) == 0
    rows = await alerts_of(sessionmaker)
    assert [r.dedupe_key for r in rows] == ["24h", "40h"]
    assert "Field mapping saved" in rows[0].body and "QuickBooks connected" not in rows[0].body
    assert "2026-11-22 08:00 UTC" in rows[1].body


async def test_missed_thresholds_send_one_and_completed_setups_none(sessionmaker, settings, company):
    other = uuid.uuid4()
    async with sessionmaker() as s:
        await setup.ensure_started(s, company.id, now=T0)
        for step in setup.STEPS:
            await setup.mark_step(s, other, step, now=T0)
        await s.commit()
    assert await run(sessionmaker, settings, T0 + timedelta(hours=45)) == 1
    (row,) = await alerts_of(sessionmaker)
    assert row.company_id == company.id and row.dedupe_key == "40h"
    assert await run(sessionmaker, settings, T0 + timedelta(hours=46)) == 0


async def test_thresholds_are_configurable(sessionmaker, settings, company):
    cfg = settings.model_copy(update={"setup_alert_hours_csv": "2"})
    async with sessionmaker() as s:
        await setup.ensure_started(s, company.id, now=T0)
        await s.commit()
    assert await run(sessionmaker, cfg, T0 + timedelta(hours=3)) == 1


async def test_setup_route(client, sessionmaker, company, auth_headers):
    async with sessionmaker() as s:
        await setup.mark_step(s, company.id, "connected", now=datetime.now(UTC) - timedelta(hours=2))
        await s.commit()
    r = await client.get(f"{P}/setup", headers=auth_headers, params={"companyId": str(company.id)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [st["step"] for st in body["steps"]] == list(setup.STEPS)
    assert body["steps"][0]["done"] and not body["steps"][1]["done"]
    assert 7100 < body["elapsedSeconds"] < 7400 and not body["complete"]
    assert 45 * 3600 < body["remainingSeconds"] <= 46 * 3600 and body["alertThresholdsHours"] == [24.0, 40.0]
    r = await client.get(f"{P}/setup", headers=auth_headers, params={"companyId": "zzz"})
    assert r.status_code == 422 and "companyId" in r.json()["error"]["message"]
    r = await client.get(f"{P}/setup", headers=auth_headers, params={"companyId": str(uuid.uuid4())})
    assert r.status_code == 403
