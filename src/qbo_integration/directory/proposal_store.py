"""The one module with SQL on directory_proposals (directory.models.DirectoryProposal). Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.directory.models import DirectoryProposal as P
from qbo_integration.directory.service import keyed_rows


async def states(session: AsyncSession, company_id: uuid.UUID) -> dict[tuple[str, str], str]:
    """(entity_type, qbo_id) → status of every proposal the company has."""
    rows = await session.execute(select(P.entity_type, P.qbo_id, P.status).where(P.company_id == company_id))
    return {(r.entity_type, r.qbo_id): r.status for r in rows}


async def upsert_open(session: AsyncSession, company_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
    """New open proposals, or fresh names and candidates for ones still open (a decided one is kept as
    decided). rows: {entity_type, qbo_id, qbo_name, candidates}."""
    if not rows:
        return
    stmt = insert(P).values([{"id": uuid.uuid4(), "company_id": company_id, "status": "open", **r} for r in rows])
    stmt = stmt.on_conflict_do_update(
        constraint="uq_directory_proposals_key",
        set_={"qbo_name": stmt.excluded.qbo_name, "candidates": stmt.excluded.candidates, "updated_at": func.now()},
        where=P.status == "open")
    await session.execute(stmt)


async def settle_open(session: AsyncSession, company_id: uuid.UUID, links: dict[tuple[str, str], uuid.UUID],
                      *, by: str) -> None:
    """Open proposals the import has now linked for sure (a rival candidate went away): `linked`."""
    now = utc_now()
    for (entity, qbo_id), crewflow_id in links.items():
        await session.execute(update(P).where(P.company_id == company_id, P.entity_type == entity,
                                              P.qbo_id == qbo_id, P.status == "open")
                              .values(status="linked", crewflow_id=crewflow_id, decided_by=by, decided_at=now)
                              .execution_options(synchronize_session=False))


async def get(session: AsyncSession, company_id: uuid.UUID, proposal_id: uuid.UUID, *,
              for_update: bool = False) -> P | None:
    stmt = select(P).where(P.company_id == company_id, P.id == proposal_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_key(session: AsyncSession, company_id: uuid.UUID, entity: str, qbo_id: str) -> P | None:
    stmt = select(P).where(P.company_id == company_id, P.entity_type == entity, P.qbo_id == qbo_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def listed(session: AsyncSession, company_id: uuid.UUID, *, open_only: bool) -> list[P]:
    stmt = select(P).where(P.company_id == company_id)
    if open_only:
        stmt = stmt.where(P.status == "open")
    return list((await session.execute(stmt.order_by(P.entity_type.desc(), P.qbo_name, P.qbo_id))).scalars())


async def merge_of(session: AsyncSession, company_id: uuid.UUID, replaced_id: uuid.UUID) -> P | None:
    """The recorded merge that retired this worker or project, if any (a merge asked for again)."""
    stmt = select(P).where(P.company_id == company_id, P.status == "merged", P.replaced_id == replaced_id)
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def record_merge(session: AsyncSession, company_id: uuid.UUID, entity: str, qbo_id: str, qbo_name: str, *,
                       into: uuid.UUID, replaced: uuid.UUID, by: str) -> None:
    """The QuickBooks record's row says it was merged: linked to `into`, `replaced` retired."""
    values = {"status": "merged", "crewflow_id": into, "replaced_id": replaced, "decided_by": by,
              "decided_at": utc_now(), "qbo_name": qbo_name}
    stmt = insert(P).values(id=uuid.uuid4(), company_id=company_id, entity_type=entity, qbo_id=qbo_id,
                            candidates=[], **values)
    await session.execute(stmt.on_conflict_do_update(constraint="uq_directory_proposals_key",
                                                     set_={**values, "updated_at": func.now()}))


def company_rows(company_id: uuid.UUID) -> Select[tuple[str, Any]]:
    """The company's proposals as (ref, record): they name the realm's record ids, so a switch to another
    realm archives them (a decision about one company's employee 5 is not one about another's)."""
    return keyed_rows(P, company_id)


async def delete_company_rows(session: AsyncSession, company_id: uuid.UUID) -> int:
    result = await session.execute(delete(P).where(P.company_id == company_id)
                                   .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
