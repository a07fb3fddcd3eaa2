"""Switching a company to another QuickBooks company, deliberately (issue 28).

A record id belongs to the realm that issued it. When the admin confirms the switch (the connect flow
started with `switchCompany=true`), the callback calls `switch_realm` in the transaction that stores the
new connection, before it is committed: the old realm's outbox rows, mapping profiles, directory copy and
the import's proposals are archived (`realm_archive`, kept for audit, never read by the sync) and removed, its open drift
findings are archived, Core forgets the old QBO ids, and live sync is off. The approved timecards are then
new creates in the new realm, sent once the admin has mapped, dry-run and enabled live sync again.
Webhook events stored for the old realm are dropped when processed (webhooks check the realm); an import
or reconciliation that read the old realm writes nothing after the switch (`connections.service.still_on_realm`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, insert, literal, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.directory import import_flow, proposal_store
from qbo_integration.directory import service as directory
from qbo_integration.mapping import profiles
from qbo_integration.monitoring import audit
from qbo_integration.realms.models import RealmArchive
from qbo_integration.reconciliation import findings
from qbo_integration.sync import outbox_repository

ACTION = "quickbooks_company_switched"


async def _archive(session: AsyncSession, company_id: uuid.UUID, realm_id: str, kind: str, rows: Select[Any]) -> int:
    sub = rows.subquery()
    # include_defaults=False: the id's Python default would be one value for every row; the server's is per row
    result = await session.execute(insert(RealmArchive).from_select(
        ["company_id", "realm_id", "kind", "ref", "record"],
        select(literal(company_id, UUID(as_uuid=True)), literal(realm_id), literal(kind), sub.c.ref, sub.c.record),
        include_defaults=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def switch_realm(session: AsyncSession, *, integration_id: uuid.UUID, company_id: uuid.UUID, old_realm: str,
                       new_realm: str, actor: str) -> dict[str, int]:
    """Set the old realm's sync history aside for `new_realm`. The caller holds the integration row locked
    and commits; nothing here calls QuickBooks."""
    counts = {
        "syncRecords": await _archive(session, company_id, old_realm, "sync_record",
                                      outbox_repository.company_rows(company_id)),
        "mappingProfiles": await _archive(session, company_id, old_realm, "mapping_profile",
                                          profiles.company_profiles(company_id)),
        "directoryRecords": await _archive(session, company_id, old_realm, "directory_record",
                                           directory.company_records(company_id)),
        "directoryProposals": await _archive(session, company_id, old_realm, "directory_proposal",
                                             proposal_store.company_rows(company_id)),
    }
    await outbox_repository.delete_company_rows(session, company_id)
    await profiles.delete_company_profiles(session, company_id)
    await directory.delete_company_records(session, company_id)
    await import_flow.forget_cursor(session, company_id)
    await proposal_store.delete_company_rows(session, company_id)
    counts["driftFindings"] = await findings.archive_open(session, company_id, actor="system:realm_switch")
    timecards, workers, projects = await CoreGateway(session).forget_realm(company_id)
    counts |= {"timecardsReset": timecards, "workersUnlinked": workers, "projectsUnlinked": projects}
    await audit.record(session, integration_id=integration_id, company_id=company_id, action=ACTION,
                       status="success", actor=actor,
                       response_payload={"fromRealmId": old_realm, "toRealmId": new_realm, **counts})
    return counts
