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
