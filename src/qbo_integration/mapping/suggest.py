"""Suggestions for unmapped CrewFlow records: exact email, normalised name, then fuzzy name (rapidfuzz)
with a confidence score. Pure functions plus one loader."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.mapping import directory
from qbo_integration.mapping.directory import DirEntry
from qbo_integration.mapping.directory_import import normalise
from qbo_integration.mapping.profiles import active_config

FUZZY_MIN = 80  # rapidfuzz score (0-100) below which a name is not suggested
FUZZY_WEIGHT = 0.9  # a fuzzy match is never as sure as an exact one
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class Suggestion:
    qbo_id: str
    name: str
    email: str | None
    confidence: float
    reason: str  # email | name | fuzzy


def suggest(name: str, email: str | None, candidates: Sequence[DirEntry], *,
            limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    out: dict[str, Suggestion] = {}
    if email:
        key = normalise(email)
        for c in candidates:
            if c.email and normalise(c.email) == key:
                out[c.qbo_id] = Suggestion(c.qbo_id, c.name, c.email, 1.0, "email")
    key = normalise(name)
    for c in candidates:
        if c.qbo_id not in out and normalise(c.name) == key:
            out[c.qbo_id] = Suggestion(c.qbo_id, c.name, c.email, 0.95, "name")
    if len(out) < limit and key:
        rest = [c for c in candidates if c.qbo_id not in out]
        matches = process.extract(key, [normalise(c.name) for c in rest], scorer=fuzz.token_sort_ratio,
                                  score_cutoff=FUZZY_MIN, limit=limit)
        for _, score, idx in matches:
            c = rest[idx]
            out[c.qbo_id] = Suggestion(c.qbo_id, c.name, c.email, round(score / 100 * FUZZY_WEIGHT, 2), "fuzzy")
    return sorted(out.values(), key=lambda s: -s.confidence)[:limit]


def _s(s: Suggestion, id_key: str) -> dict[str, Any]:
    return {id_key: s.qbo_id, "name": s.name, "email": s.email, "confidence": s.confidence, "reason": s.reason}


async def suggestions(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any]:
    """For every worker / project / cost code without a mapping: the likeliest QBO records."""
    cfg = await active_config(session, company_id)
    gw = CoreGateway(session)
    usable = [e for e in await directory.list_entries(session, company_id) if e.usable]
    emps = [e for e in usable if e.entity_type == "Employee"]
    custs = [e for e in usable if e.entity_type == "Customer"]
    cc_entity = cfg.cost_code_entity
    cc_targets = [e for e in usable if e.entity_type == cc_entity and (cc_entity != "Item" or e.item_type in (None, "Service"))]
    workers = [{"crewflowWorkerId": str(w.id), "name": w.name, "email": w.email,
                "suggestions": [_s(s, "qboEmployeeId") for s in suggest(w.name, w.email, emps)]}
               for w in await gw.list_workers(company_id)
               if str(w.id) not in cfg.employees and not w.external_ids.get("qbo")]
    projects = [{"crewflowProjectId": str(p.id), "name": p.name,
                 "suggestions": [_s(s, "qboCustomerId") for s in suggest(p.name, None, custs)]}
                for p in await gw.list_projects(company_id)
                if str(p.id) not in cfg.customers and not p.external_ids.get("qbo")]
    id_key = "qboClassId" if cc_entity == "Class" else "qboServiceItemId"
    cost_codes = []
    for c in await gw.list_cost_codes(company_id):
        if str(c.id) in cfg.cost_codes:
            continue
        by_name = suggest(c.name, None, cc_targets)
        by_code = suggest(c.code, None, cc_targets) if c.code != c.name else []
        merged = {s.qbo_id: s for s in sorted(by_code + by_name, key=lambda s: s.confidence)}
        best = sorted(merged.values(), key=lambda s: -s.confidence)[:MAX_SUGGESTIONS]
        cost_codes.append({"crewflowCostCodeId": str(c.id), "code": c.code, "name": c.name,
                           "suggestions": [_s(s, id_key) for s in best]})
    return {"costCodeField": cfg.cost_code_field, "workers": workers, "projects": projects, "costCodes": cost_codes}
