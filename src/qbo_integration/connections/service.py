"""The company's QuickBooks connection: the integration row, its status changes and their audit rows.

Public (docs/internal-contracts.md): `get_integration`, `get_or_create_integration`,
`require_connected`, `mark_lost`. Services never commit: the request or job boundary does.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections.crypto import TokenCipher, aad_for
from qbo_integration.connections.models import Integration
from qbo_integration.connections.schemas import ConnectionOut
from qbo_integration.errors import Conflict
from qbo_integration.logs import log_context
from qbo_integration.monitoring import alerts, audit, token_expiry
from qbo_integration.qbo import TokenSet

logger = logging.getLogger(__name__)

NOT_CONNECTED = "QuickBooks is not connected for this company"


class NotConnected(Conflict):
    code = "not_connected"



async def get_integration(session: AsyncSession, company_id: uuid.UUID, *, for_update: bool = False) -> Integration | None:
    stmt = select(Integration).where(Integration.company_id == company_id, Integration.type == "quickbooks")
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def still_on_realm(session: AsyncSession, company_id: uuid.UUID, realm_id: str) -> Integration | None:
    """The integration row if its QuickBooks company is still `realm_id`, held FOR SHARE to the end of the
    caller's transaction: what a job read from that realm is written only if no switch of QuickBooks
    company (which holds the row FOR NO KEY UPDATE) committed before, and none can commit in between.
    A disconnect keeps the realm: its records still belong to the company."""
    stmt = (select(Integration).where(Integration.company_id == company_id, Integration.type == "quickbooks")
            .with_for_update(read=True))
    row = (await session.execute(stmt)).scalar_one_or_none()
    return row if row is not None and row.realm_id == realm_id else None


def is_connected(integration: Integration | None) -> bool:
    return integration is not None and integration.connection_status == "connected" and bool(integration.realm_id)


def is_live(integration: Integration | None) -> bool:
    """Live sync: enabled by the admin and connected."""
    return integration is not None and bool(integration.enabled) and is_connected(integration)


async def live_integrations(session: AsyncSession) -> list[Integration]:
    """Every integration with live sync on and a connected QuickBooks company."""
    stmt = select(Integration).where(
        Integration.enabled.is_(True), Integration.connection_status == "connected", Integration.type == "quickbooks"
    )
    return list((await session.execute(stmt)).scalars())


_SUMMARY_COLUMNS = (Integration.realm_id, Integration.connection_status, Integration.connection_changed_at,
                   Integration.connection_reason, Integration.qbo_company_name, Integration.enabled,
                   Integration.last_sync_at, Integration.sync_start_date, Integration.refresh_token_expires_at,
                   Integration.refresh_token_hard_expires_at)


async def connection_summary(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any] | None:
    """The connection's columns health shows, by name; None: the company never connected."""
    row = (await session.execute(
        select(*_SUMMARY_COLUMNS).where(Integration.company_id == company_id))).one_or_none()
    return {c.key: getattr(row, c.key) for c in _SUMMARY_COLUMNS} if row is not None else None


async def integration_id(session: AsyncSession, company_id: uuid.UUID) -> uuid.UUID | None:
    """The company's integration id (audit rows carry it); None: the company never connected."""
    return (await session.execute(
        select(Integration.id).where(Integration.company_id == company_id))).scalar_one_or_none()


async def get_or_create_integration(session: AsyncSession, company_id: uuid.UUID, *,
                                    for_update: bool = False) -> Integration:
    """The company's row, created (never_connected) if missing; safe against a concurrent create."""
    row = await get_integration(session, company_id, for_update=for_update)
    if row is not None:
        return row
    await session.execute(
        insert(Integration)
        .values(id=uuid.uuid4(), company_id=company_id, type="quickbooks")
        .on_conflict_do_nothing(constraint="uq_integrations_company_id_type")
    )
    row = await get_integration(session, company_id, for_update=for_update)
    assert row is not None
    return row


async def require_connected(session: AsyncSession, company_id: uuid.UUID) -> Integration:
    row = await get_integration(session, company_id)
    if row is None or row.connection_status != "connected" or not row.realm_id:
        raise NotConnected(NOT_CONNECTED)
    return row


def connection_view(company_id: uuid.UUID, row: Integration | None) -> ConnectionOut:
    if row is None:
        return ConnectionOut(company_id=company_id, status="never_connected")
    return ConnectionOut(
        company_id=company_id, status=row.connection_status,  # type: ignore[arg-type]
        realm_id=row.realm_id, company_name=row.qbo_company_name, changed_at=row.connection_changed_at,
        reason=row.connection_reason, connected_by=row.connected_by, last_test_at=row.last_test_at,
        last_test_ok=row.last_test_ok, sync_enabled=bool(row.enabled),
        **_expiry_view(row),
    )


def _expiry_view(row: Integration) -> dict[str, Any]:
    due = token_expiry.deadline(row.refresh_token_expires_at, row.refresh_token_hard_expires_at)
    if row.connection_status != "connected" or due is None:
        return {}
    return {"refresh_token_expires_at": due.at, "refresh_token_hard_expires_at": row.refresh_token_hard_expires_at}


async def realm_owner(session: AsyncSession, realm_id: str) -> uuid.UUID | None:
    """The company that has this realm connected right now, if any."""
    return (
        await session.execute(
            select(Integration.company_id).where(
                Integration.realm_id == realm_id, Integration.connection_status == "connected"
            )
        )
    ).scalar_one_or_none()


HARD_EXPIRY_JITTER = timedelta(days=1)


def kept_hard_expiry(stored: datetime | None, told: datetime | None) -> datetime | None:
    """The grant's hard expiry after a refresh. It does not move for a grant: an answer without it keeps the
    stored one, and an answer within a day of it (seconds left, counted from a slightly different clock)
    keeps it too, so the date an alert was sent for stays the date. Only a clearly different answer wins."""
    if told is None or (stored is not None and abs(told - stored) <= HARD_EXPIRY_JITTER):
        return stored
    return told


def store_connection(row: Integration, cipher: TokenCipher, tokens: TokenSet, *, realm_id: str,
                     company_name: str | None, user_sub: str, now: datetime | None = None) -> None:
    """Put a fresh grant on the row (tokens encrypted, bound to the row by the AAD)."""
    now = now or utc_now()
    aad = aad_for(row.id)
    row.access_token_enc = cipher.encrypt(tokens.access_token, aad)
    row.refresh_token_enc = cipher.encrypt(tokens.refresh_token, aad)
    row.access_token_expires_at = tokens.access_expires_at
    row.refresh_token_expires_at = tokens.refresh_expires_at
    row.refresh_token_hard_expires_at = tokens.refresh_hard_expires_at  # a new grant: its own maximum
    row.realm_id = realm_id
    row.qbo_company_name = company_name
    row.connection_status = "connected"
    row.connection_changed_at = now
    row.connection_reason = None
    row.connected_by = user_sub
    row.last_test_at = now
    row.last_test_ok = True
    row.status = "healthy"
    row.error_message = None


def clear_connection(row: Integration, *, status: str, reason: str, now: datetime | None = None) -> None:
    """Drop the tokens and stop live sync; realm, name, history and mappings are kept."""
    row.access_token_enc = None
    row.refresh_token_enc = None
    row.access_token_expires_at = None
    row.refresh_token_expires_at = None
    row.refresh_token_hard_expires_at = None
    row.connection_status = status
    row.connection_reason = reason[:1000]
    row.connection_changed_at = now or utc_now()
    row.enabled = False


async def audit_row(session: AsyncSession, row: Integration, action: str, ok: bool, *, actor: str | None = None,
                    error: str | None = None, details: dict[str, Any] | None = None) -> None:
    await audit.record(session, integration_id=row.id, company_id=row.company_id, action=action,
                       status="success" if ok else "failure", actor=actor, error_message=error,
                       response_payload=details)


async def mark_lost(session: AsyncSession, company_id: uuid.UUID, reason: str, *,
                    now: datetime | None = None) -> bool:
    """QuickBooks refused the grant (invalid_grant): status `lost` with the reason, tokens dropped,
    live sync off, an audit row and an alert for the admin. False when there was nothing to lose."""
    row = await get_integration(session, company_id, for_update=True)
    if row is None or row.connection_status != "connected":
        return False
    with log_context(company_id=company_id, realm_id=row.realm_id):
        clear_connection(row, status="lost", reason=reason, now=now)
        row.status = "failed"
        row.error_message = reason[:1000]
        await audit_row(session, row, "connection_lost", False, error=reason)
        await alerts.queue_alert(
            session, company_id, "connection_lost",
            "QuickBooks connection lost",
            f"QuickBooks stopped accepting this company's connection ({reason}). Timecards are not syncing "
            "until an admin reconnects QuickBooks in the CrewFlow integration settings.",
            dedupe_key=f"connection_lost:{row.realm_id}",
        )
        logger.warning("QuickBooks connection lost")
    return True


async def record_test(session: AsyncSession, row: Integration, *, ok: bool, company_name: str | None,
                      error: str | None, actor: str | None, now: datetime | None = None) -> None:
    row.last_test_at = now or utc_now()
    row.last_test_ok = ok
    if ok and company_name:
        row.qbo_company_name = company_name
    await audit_row(session, row, "test_connection", ok, actor=actor, error=error,
                    details={"companyName": company_name} if ok else None)


async def connected_company_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(select(Integration.company_id).where(Integration.connection_status == "connected"))
    return list(rows.scalars())


async def queue_daily_for_connected(sessionmaker: Any, queue: Any, function: str, key: str) -> int:
    """One `function(company_id, None)` job per connected company, job id `{key}:{company_id}:{day}` (a cron
    firing twice in a day queues nothing new). Returns how many companies."""
    async with sessionmaker() as s:
        company_ids = await connected_company_ids(s)
    day = utc_now().date().isoformat()
    for cid in company_ids:
        await queue.enqueue(function, str(cid), None, _job_id=f"{key}:{cid}:{day}")
    return len(company_ids)
