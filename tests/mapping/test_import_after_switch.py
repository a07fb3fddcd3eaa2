"""After a switch of QuickBooks company our directory copy is empty: the next import must read every record
of the new company, not the changes since the old company's last import."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from qbo_integration.directory import import_flow
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.realms.switch import switch_realm
from qbo_integration.sync.models import SyncJob
from tests.support.sync import switch_company_now


async def test_the_first_import_after_a_switch_reads_every_record(sessionmaker, services, queue, connected_company):
    cc = connected_company
    first = await import_flow.run_import(sessionmaker, services.qbo, queue, cc.company_id, mapped=profile_targets)
    assert first["mode"] == "full"
    async with sessionmaker() as s:
        # The old company's last import started 3 minutes after the records it now reads last changed.
        job = await s.get(SyncJob, uuid.UUID(first["jobId"]))
        assert job is not None
        job.results = {**job.results, "cursor": (datetime.now(UTC) + timedelta(minutes=3)).isoformat()}
        await switch_realm(s, integration_id=job.integration_id, company_id=cc.company_id, old_realm="111",
                           new_realm=cc.realm_id, actor="test")
        await s.commit()
    again = await import_flow.run_import(sessionmaker, services.qbo, queue, cc.company_id, mapped=profile_targets)
    async with sessionmaker() as s:
        held = (await s.execute(select(func.count()).select_from(QboDirectoryRecord)
                                .where(QboDirectoryRecord.company_id == cc.company_id))).scalar_one()
    assert again["mode"] == "full", again
    assert held > 0, again


async def test_an_import_of_the_old_company_that_ends_after_a_switch_is_not_applied(
        sessionmaker, services, queue, connected_company, monkeypatch):
    """A daily import read the old company; the admin switched before it wrote. Its records, its links to
    CrewFlow users and its cursor would make the new company's first import a CDC of the wrong company."""
    from qbo_integration.core_platform.models import User
    from qbo_integration.directory import fetching

    cc = connected_company
    first = await import_flow.run_import(sessionmaker, services.qbo, queue, cc.company_id, mapped=profile_targets)
    assert first["status"] == "completed", first
    real_fetch = fetching.fetch

    async def fetch_then_switch(*args, **kwargs):
        fetched = await real_fetch(*args, **kwargs)
        await switch_company_now(sessionmaker, cc.company_id, cc.realm_id)  # lands between reads and writes
        return fetched

    monkeypatch.setattr(fetching, "fetch", fetch_then_switch)
    late = await import_flow.run_import(sessionmaker, services.qbo, queue, cc.company_id, mapped=profile_targets,
                                        trigger="cron")
    async with sessionmaker() as s:
        held = (await s.execute(select(func.count()).select_from(QboDirectoryRecord)
                                .where(QboDirectoryRecord.company_id == cc.company_id))).scalar_one()
        linked = (await s.execute(select(func.count()).select_from(User)
                                  .where(User.company_id == cc.company_id, User.external_ids.has_key("qbo")))).scalar_one()
        cursor = await import_flow.last_cursor(s, cc.company_id)
        job = await s.get(SyncJob, uuid.UUID(late["jobId"]))
    assert late["status"] == "failed", late
    assert (held, linked, cursor) == (0, 0, None)
    assert job is not None and job.status == "failed"
    assert job.errors[0]["message"] == import_flow.REALM_CHANGED
    assert job.errors[0]["willRetry"] is False
