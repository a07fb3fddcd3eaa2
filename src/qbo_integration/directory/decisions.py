"""What the admin decides about the directory import's work: answer a proposal (link the QuickBooks record
to a CrewFlow worker or project, have a new one made, or skip it), and merge back a record the import
created by mistake (the QuickBooks link moves to the right record; the empty one is retired, never
deleted, and refused while it has timecards). Each decision is audited. Services never commit.

Every write takes the company's directory lock first (the import's), so an import and decisions, or two
decisions, never interleave: the second of two decisions on one proposal sees the first, and answers the
same (a repeated click) or 409 (a different answer)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections.service import get_integration
from qbo_integration.core_platform.directory_gateway import CoreRecord, DirectoryGateway
from qbo_integration.directory import proposal_store
from qbo_integration.directory import service as directory
from qbo_integration.directory.lock import lock
from qbo_integration.directory.matching import BULK_ACCEPT, hold_shared, pool, suggest
from qbo_integration.directory.models import DirectoryProposal
from qbo_integration.errors import Conflict, NotFound, Unprocessable
from qbo_integration.monitoring import audit

NOUN = {"Employee": "worker", "Customer": "project"}
QBO_NOUN = {"Employee": "employee", "Customer": "customer"}
DONE = {"link": "linked", "create": "created", "skip": "skipped"}
ACTIONS = {"link": "directory_proposal_linked", "create": "directory_proposal_created",
           "skip": "directory_proposal_skipped"}
MERGED = "directory_merged"


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def question(p: DirectoryProposal, candidates: list[dict[str, Any]]) -> str:
    if p.status != "open":
        return f"QuickBooks' {p.qbo_name}: {_said(p)}"
    if candidates:
        return f"QuickBooks has {p.qbo_name}. Is this {_or([c['name'] for c in candidates])}?"
    return (f"QuickBooks has {p.qbo_name}, which is not linked to any CrewFlow {NOUN[p.entity_type]}: link it to "
            f"one, create a new {NOUN[p.entity_type]}, or skip it.")


async def _current(session: AsyncSession, company_id: uuid.UUID, rows: list[DirectoryProposal]) \
        -> dict[uuid.UUID, dict[str, Any]]:
    """Each proposal's candidates that can still be chosen (active, not linked since), and the QuickBooks
    record's email."""
    gw = DirectoryGateway(session)
    free: dict[str, dict[str, CoreRecord]] = {}
    held: set[tuple[str, str | None]] = set()
    for entity in {p.entity_type for p in rows}:
        free[entity] = {str(r.id): r for r in await gw.unlinked(company_id, entity)}
        held |= {(entity, r.qbo_id) for r in await gw.linked(company_id, entity)}
    known = await directory.lookup(session, company_id, [(p.entity_type, p.qbo_id) for p in rows])
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for p in rows:
        cands = [{**c, "name": free[p.entity_type][c["crewflowId"]].name} for c in p.candidates or []
                 if c.get("crewflowId") in free[p.entity_type]] if p.status == "open" else list(p.candidates or [])
        rec = known.get((p.entity_type, p.qbo_id))
        # an open question whose record got linked some other way (by hand in CrewFlow) is moot
        out[p.id] = {"candidates": cands, "qbo_email": rec.email if rec else None,
                     "usable": bool(rec and rec.usable) and (p.entity_type, p.qbo_id) not in held}
    return out


def proposal_view(p: DirectoryProposal, now: dict[str, Any]) -> dict[str, Any]:
    return {"proposal_id": p.id, "entity_type": p.entity_type, "qbo_id": p.qbo_id, "qbo_name": p.qbo_name,
            "qbo_email": now["qbo_email"], "status": p.status, "question": question(p, now["candidates"]),
            "candidates": now["candidates"], "crewflow_id": p.crewflow_id, "replaced_id": p.replaced_id,
            "decided_by": p.decided_by, "decided_at": p.decided_at, "created_at": p.created_at}


async def list_proposals(session: AsyncSession, company_id: uuid.UUID, *, open_only: bool = True) -> dict[str, Any]:
    """The open proposals (whose QuickBooks record is still active), or every one with `open_only=False`,
    and the merges to offer."""
    rows = await proposal_store.listed(session, company_id, open_only=open_only)
    now = await _current(session, company_id, rows)
    shown = [p for p in rows if now[p.id]["usable"] or p.status != "open"]
    return {"proposals": [proposal_view(p, now[p.id]) for p in shown],
            "merges": await merge_offers(session, company_id)}


async def merge_offers(session: AsyncSession, company_id: uuid.UUID) -> list[dict[str, Any]]:
    """A QuickBooks record linked to a CrewFlow record with no timecards, while another, unlinked CrewFlow
    record matches it with bulk-accept confidence: most likely the import made a second record for one
    person (or project). Offered, never done, until the admin says so."""
    gw = DirectoryGateway(session)
    offers: list[dict[str, Any]] = []
    entries = [e for e in await directory.list_entries(session, company_id) if e.usable]
    for entity in ("Employee", "Customer"):
        linked = {r.qbo_id: r for r in await gw.linked(company_id, entity) if r.active and r.qbo_id}
        if not linked:
            continue
        counts = await gw.timecard_counts(company_id, entity, [r.id for r in linked.values()])
        empty = {q: r for q, r in linked.items() if not counts.get(r.id)}
        if not empty:
            continue
        open_ = await gw.unlinked(company_id, entity)
        kind = pool([e for e in entries if e.entity_type == entity])
        rows = hold_shared([suggest(r.name, r.email, kind) for r in open_])
        for into, row in zip(open_, rows, strict=True):
            top = row[0] if row else None
            if top is None or top.confidence < BULK_ACCEPT or top.qbo_id not in empty:
                continue
            ghost = empty[top.qbo_id]
            offers.append({
                "entity_type": entity, "qbo_id": top.qbo_id, "qbo_name": top.name, "from_id": ghost.id,
                "from_name": ghost.name, "into_id": into.id, "into_name": into.name, "confidence": top.confidence,
                "reason": top.reason,
                "question": (f"QuickBooks' {top.name} is linked to {ghost.name}, a CrewFlow {NOUN[entity]} with no "
                             f"timecards. Is it {into.name}? Linking it to {into.name} deactivates the empty "
                             f"{ghost.name}.")})
    return offers


async def _integration_id(session: AsyncSession, company_id: uuid.UUID) -> uuid.UUID:
    integ = await get_integration(session, company_id)
    if integ is None:
        raise Conflict("QuickBooks has never been connected for this company: connect it and import the directory "
                       "first", code="not_connected")
    return integ.id


def _worker(entity: str, record_id: uuid.UUID | None) -> uuid.UUID | None:
    return record_id if entity == "Employee" else None


def _project(entity: str, record_id: uuid.UUID | None) -> uuid.UUID | None:
    return record_id if entity == "Customer" else None


async def _linkable(gw: DirectoryGateway, company_id: uuid.UUID, entity: str, record_id: uuid.UUID,
                    qbo_id: str) -> CoreRecord:
    """The CrewFlow record a QuickBooks record may be linked to: this company's, active, linked to nothing
    else (or already to this very record)."""
    rec = await gw.record(company_id, entity, record_id)
    if rec is None:
        raise NotFound(f"Unknown CrewFlow {NOUN[entity]} for this company")
    if rec.qbo_id and rec.qbo_id != qbo_id:
        raise Conflict(f"{rec.name} is already linked to another QuickBooks {QBO_NOUN[entity]} (#{rec.qbo_id})",
                       code="already_linked")
    if not rec.active:
        raise Conflict(f"{rec.name} is inactive in CrewFlow: choose an active {NOUN[entity]}", code="inactive")
    return rec


async def decide(session: AsyncSession, company_id: uuid.UUID, proposal_id: uuid.UUID, decision: str,
                 crewflow_id: uuid.UUID | None, *, actor: str) -> tuple[dict[str, Any], bool, str]:
    """Answer a proposal: link (to `crewflow_id`), create or skip. Returns (proposal view, changed, message).
    The same answer again changes nothing; a different answer to a decided proposal is a Conflict."""
    await lock(session, company_id)
    p = await proposal_store.get(session, company_id, proposal_id, for_update=True)
    if p is None:
        raise NotFound("Unknown proposal for this company")
    entity, noun = p.entity_type, NOUN[p.entity_type]
    if p.status != "open":
        if p.status == DONE[decision] and (decision != "link" or p.crewflow_id == crewflow_id):
            return proposal_view(p, (await _current(session, company_id, [p]))[p.id]), False, \
                f"Already done: {_said(p)}"
        raise Conflict(f"This proposal was already answered: {_said(p)}", code="already_decided")
    rec = (await directory.lookup(session, company_id, [(entity, p.qbo_id)])).get((entity, p.qbo_id))
    if decision != "skip" and (rec is None or not rec.usable):
        raise Conflict(f"QuickBooks' {p.qbo_name} {rec.state_words if rec else 'is not in the imported directory'}: "
                       "nothing to link or create; skip it", code="not_usable")
    gw = DirectoryGateway(session)
    holders = await gw.holders(company_id, entity, p.qbo_id)
    if decision != "skip" and holders:
        raise Conflict(f"QuickBooks' {p.qbo_name} is already linked to {holders[0].name}", code="already_linked")
    integration_id = await _integration_id(session, company_id)
    target: uuid.UUID | None = None
    if decision == "link":
        assert crewflow_id is not None and rec is not None  # the schema requires it for link; usable checked above
        chosen = await _linkable(gw, company_id, entity, crewflow_id, p.qbo_id)
        await gw.link(entity, chosen.id, p.qbo_id, name=_own_name(rec), email=rec.email)
        target, message = chosen.id, f"Linked: QuickBooks' {p.qbo_name} is {chosen.name} in CrewFlow."
    elif decision == "create":
        assert rec is not None
        target = await gw.create(company_id, entity, name=_own_name(rec), email=rec.email, qbo_id=p.qbo_id)
        message = f"Created the CrewFlow {noun} {_own_name(rec)}, linked to QuickBooks' {p.qbo_name}."
    else:
        message = f"Skipped: QuickBooks' {p.qbo_name} stays unlinked, and later imports leave it alone."
    p.status, p.crewflow_id, p.decided_by, p.decided_at = DONE[decision], target, actor, utc_now()
    await session.flush()
    await audit.record(session, integration_id=integration_id, company_id=company_id, action=ACTIONS[decision],
                       status="success", actor=actor, qbo_id=p.qbo_id, worker_id=_worker(entity, target),
                       project_id=_project(entity, target),
                       request_payload={"proposalId": str(p.id), "entityType": entity, "qboName": p.qbo_name,
                                        "decision": decision, "crewflowId": str(target) if target else None})
    return proposal_view(p, (await _current(session, company_id, [p]))[p.id]), True, message


def _own_name(rec: directory.DirEntry) -> str:
    """What CrewFlow calls the record: an employee's display name, a customer's (or job's) own name."""
    return rec.name.rsplit(":", 1)[-1] if rec.entity_type == "Customer" else rec.name


def _said(p: DirectoryProposal) -> str:
    who = f" by {p.decided_by}" if p.decided_by else ""
    return {"linked": "linked to a CrewFlow record", "created": "a new CrewFlow record was created",
            "skipped": "skipped", "merged": "merged"}.get(p.status, p.status) + who + "."


async def merge(session: AsyncSession, company_id: uuid.UUID, entity: str, from_id: uuid.UUID, into_id: uuid.UUID, *,
                actor: str) -> tuple[dict[str, Any], bool, str]:
    """Move the QuickBooks link of `from_id` (a record the import created by mistake) to `into_id` and retire
    `from_id` (a worker made inactive, a project archived). Refused while `from_id` has timecards."""
    noun = NOUN[entity]
    if from_id == into_id:
        raise Unprocessable(f"Choose two different {noun}s to merge")
    await lock(session, company_id)
    gw = DirectoryGateway(session)
    src = await gw.record(company_id, entity, from_id)
    if src is None:
        raise NotFound(f"Unknown CrewFlow {noun} for this company (fromId)")
    if await gw.record(company_id, entity, into_id) is None:
        raise NotFound(f"Unknown CrewFlow {noun} for this company (intoId)")
    if src.qbo_id is None:
        done = await proposal_store.merge_of(session, company_id, from_id)
        if done is not None and done.crewflow_id == into_id and done.entity_type == entity:
            return _merge_view(entity, done.qbo_id, from_id, into_id), False, \
                f"Already done: {src.name} was merged into the {noun} QuickBooks' {done.qbo_name} is linked to."
        raise Conflict(f"{src.name} is not linked to a QuickBooks {QBO_NOUN[entity]}: there is nothing to move",
                       code="not_linked")
    dest = await _linkable(gw, company_id, entity, into_id, src.qbo_id)
    cards = (await gw.timecard_counts(company_id, entity, [from_id])).get(from_id, 0)
    if cards:
        raise Conflict(f"{src.name} has {cards} timecard(s), so it is not the empty record the import made: it "
                       f"stays as it is. Move its timecards to {dest.name} in CrewFlow first, then merge.",
                       code="has_timecards", details={"timecards": cards})
    rec = (await directory.lookup(session, company_id, [(entity, src.qbo_id)])).get((entity, src.qbo_id))
    integration_id = await _integration_id(session, company_id)
    qbo_name = rec.name if rec else src.name
    await gw.retire(entity, from_id)
    await gw.link(entity, into_id, src.qbo_id, name=_own_name(rec) if rec else dest.name,
                  email=rec.email if rec else None)
    await proposal_store.record_merge(session, company_id, entity, src.qbo_id, qbo_name, into=into_id,
                                      replaced=from_id, by=actor)
    await audit.record(session, integration_id=integration_id, company_id=company_id, action=MERGED,
                       status="success", actor=actor, qbo_id=src.qbo_id, worker_id=_worker(entity, into_id),
                       project_id=_project(entity, into_id),
                       request_payload={"entityType": entity, "qboName": qbo_name, "fromId": str(from_id),
                                        "fromName": src.name, "intoId": str(into_id), "intoName": dest.name})
    return _merge_view(entity, src.qbo_id, from_id, into_id), True, \
        f"Merged: QuickBooks' {qbo_name} is now {dest.name}; {src.name} is {'inactive' if entity == 'Employee' else 'archived'}."


def _merge_view(entity: str, qbo_id: str, from_id: uuid.UUID, into_id: uuid.UUID) -> dict[str, Any]:
    return {"entity_type": entity, "qbo_id": qbo_id, "from_id": from_id, "into_id": into_id}
