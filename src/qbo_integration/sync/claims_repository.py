"""The claims' repository: the only SQL on sync_claims, one row per claim of outbox rows by a sync round,
holding the claim's lease (sync/lease.py). outbox_repository joins these expressions into its own
statements: a row is held while its claim is live."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.sync.models import SyncClaim as Claim
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import State


def live(now: datetime):  # noqa: ANN202 - a SQL expression
    """The row's claim holds it still: its lease runs and it was not revoked."""
    return exists().where(Claim.claim_token == Row.claim_token, Claim.lease_until >= now, Claim.revoked.is_(False))


def lease_end(token_col: Any, row_lease: Any):  # noqa: ANN202 - a SQL expression
    """The end of an in-flight row's lease (its claim's, or its own from the code before sync_claims)."""
    claim = select(Claim.lease_until).where(Claim.claim_token == token_col).scalar_subquery()
    return func.greatest(row_lease, func.coalesce(claim, row_lease))


def earliest_live_lease(company_id: uuid.UUID, now: datetime) -> ScalarSelect[Any]:
    """The end of the company's first lease still running (a scalar subquery)."""
    return select(func.min(Claim.lease_until)).where(Claim.company_id == company_id, Claim.lease_until >= now,
                                                     Claim.revoked.is_(False)).scalar_subquery()


async def revoke_lapsed(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> None:
    """Mark the company's lapsed claims revoked, locked in claim_token order: a renewal waiting on one finds
    it revoked, and one that committed first made it live again (then it is not revoked)."""
    lapsed = (select(Claim.claim_token).where(Claim.company_id == company_id, Claim.lease_until < now,
                                              Claim.revoked.is_(False))
              .order_by(Claim.claim_token).with_for_update())
    await session.execute(update(Claim).where(Claim.claim_token.in_(lapsed)).values(revoked=True)
                          .execution_options(synchronize_session=False))


async def open_claim(session: AsyncSession, company_id: uuid.UUID, token: uuid.UUID | None,
                      until: datetime) -> None:
    """The claim just taken (if it took rows), and, in the same statement, forget the company's revoked
    claims that no in-flight row refers to any more."""
    unused = delete(Claim).where(Claim.company_id == company_id, Claim.revoked.is_(True), ~exists().where(
        Row.claim_token == Claim.claim_token, Row.state == State.IN_FLIGHT))
    if token is None:
        await session.execute(unused.execution_options(synchronize_session=False))
        return
    gone = unused.returning(Claim.claim_token).cte("gone")
    await session.execute(insert(Claim).values(claim_token=token, company_id=company_id, lease_until=until)
                          .add_cte(gone))


async def close(session: AsyncSession, tokens: set[uuid.UUID | None]) -> None:
    """The claims' rows are written back or given back: their holder sends nothing more for them."""
    await session.execute(delete(Claim).where(Claim.claim_token.in_([t for t in tokens if t is not None]))
                          .execution_options(synchronize_session=False))


async def renew(session: AsyncSession, tokens: list[uuid.UUID], until: datetime) -> set[uuid.UUID]:
    """Extend the lease of these claims to `until`, one row each, in one statement; returns the claims
    renewed. A revoked claim (its lease lapsed and its rows may be taken over) is never renewed."""
    if not tokens:
        return set()
    live = (select(Claim.claim_token).where(Claim.claim_token.in_(tokens), Claim.revoked.is_(False))
            .order_by(Claim.claim_token).with_for_update())
    res = await session.execute(update(Claim).where(Claim.claim_token.in_(live)).values(lease_until=until)
                                .returning(Claim.claim_token).execution_options(synchronize_session=False))
    return set(res.scalars())


async def delete_company(session: AsyncSession, company_id: uuid.UUID) -> None:
    await session.execute(delete(Claim).where(Claim.company_id == company_id)
                          .execution_options(synchronize_session=False))
