"""Where the directory import puts a QuickBooks employee or customer that no CrewFlow record is linked to
(by QuickBooks id or email): linked to the CrewFlow record the matching rule finds, proposed to the
admin, or created. Pure functions.

The rule is the wizard's (directory.matching), applied the way the wizard applies it: every active,
unlinked CrewFlow worker (project) gets its suggestions over all usable QuickBooks employees
(customers), linked or not, then `hold_shared` over the list. A QuickBooks record is linked when it is a
CrewFlow record's top suggestion at or above BULK_ACCEPT: exactly what "Accept suggestions >= 90 %"
would accept, and the rule holds a match below that whenever two records could answer. Any other
suggestion of it makes it a proposal (the admin links, creates or skips). Only a record that no CrewFlow
record resembles at all is created (FR-3, FR-4)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qbo_integration.directory.matching import BULK_ACCEPT, MAX_SUGGESTIONS, hold_shared, pool, suggest
from qbo_integration.directory.service import DirEntry


@dataclass(frozen=True)
class Local:
    """A CrewFlow worker or project the import may link: active, not linked to QuickBooks yet."""

    id: uuid.UUID
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A CrewFlow record a QuickBooks record resembles, scored by the rule."""

    crewflow_id: uuid.UUID
    name: str
    email: str | None
    confidence: float
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"crewflowId": str(self.crewflow_id), "name": self.name, "email": self.email,
                "confidence": self.confidence, "reason": self.reason}


@dataclass
class Placement:
    links: dict[str, Candidate] = field(default_factory=dict)  # qbo id → the CrewFlow record it is linked to
    proposals: dict[str, list[Candidate]] = field(default_factory=dict)  # qbo id → what it resembles, best first
    # a qbo id of `incoming` in neither resembles nothing in CrewFlow: it is created


def place(local: Sequence[Local], directory: Sequence[DirEntry], incoming: set[str], *,
          use_email: bool) -> Placement:
    """Decide for each QuickBooks id of `incoming` (usable, linked to nothing). `directory`: every usable
    QuickBooks record of the kind, `incoming` among them (the candidates the wizard would show)."""
    out = Placement()
    if not incoming or not local:
        return out
    # every suggestion, not the wizard's three: a record the wizard would list fourth still resembles one
    candidates = pool(directory)
    rows = hold_shared([suggest(c.name, c.email if use_email else None, candidates, limit=max(len(directory), 1))
                        for c in local])
    seen: dict[str, list[Candidate]] = {}
    for c, row in zip(local, rows, strict=True):
        for i, s in enumerate(row):
            if s.qbo_id not in incoming:
                continue
            cand = Candidate(c.id, c.name, c.email, s.confidence, s.reason)
            if i == 0 and s.confidence >= BULK_ACCEPT:
                out.links[s.qbo_id] = cand
            seen.setdefault(s.qbo_id, []).append(cand)
    taken = {c.crewflow_id for c in out.links.values()}  # linked just now: no longer anyone else's candidate
    for qbo_id, cands in seen.items():
        free = [c for c in cands if c.crewflow_id not in taken]
        if qbo_id not in out.links and free:
            out.proposals[qbo_id] = sorted(free, key=lambda x: (-x.confidence, x.name))[:MAX_SUGGESTIONS]
    return out
