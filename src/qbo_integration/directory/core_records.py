"""Core's users and projects as an import leaves them: each QBO employee or customer linked to the CrewFlow
worker or project it is, by the stored QBO id (external_ids.qbo), then the employee's email, then the
matching rule the wizard's suggestions use where exactly one CrewFlow record matches with bulk-accept
confidence (directory.linking). A record that only might be someone is proposed to the admin
(directory_proposals), never created; one that resembles nothing in CrewFlow is created (FR-3, FR-4). A
linked record's name (and a user's email) follows QuickBooks. Nothing is ever deleted."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.directory_gateway import CoreProject, CoreUser, DirectoryGateway
from qbo_integration.directory import proposal_store
from qbo_integration.directory.counts import ImportCounts
from qbo_integration.directory.linking import Candidate, Local, place
from qbo_integration.directory.matching import normalise
from qbo_integration.directory.service import DirEntry

# (entity, qbo id) pairs that something in CrewFlow's mapping points at (mapping.profiles.profile_targets,
# handed in by the caller: the directory imports nothing of mapping).
MappedKeys = Callable[[AsyncSession, uuid.UUID], Awaitable[set[tuple[str, str]]]]


class CoreRecords:
    def __init__(self, session: AsyncSession, company_id: uuid.UUID, mapped: MappedKeys, counts: ImportCounts) -> None:
        self.session = session
        self.company_id = company_id
        self.mapped = mapped
        self.counts = counts
        self.gw = DirectoryGateway(session)
        self.new_users: list[CoreUser] = []
        self.changed_users: dict[uuid.UUID, CoreUser] = {}
        self.new_projects: list[CoreProject] = []
        self.changed_projects: dict[uuid.UUID, CoreProject] = {}
        # QBO employees / customers no CrewFlow record is linked to: placed once every row is read
        self.unplaced: dict[str, dict[str, DirEntry]] = {"Employee": {}, "Customer": {}}
        self.new_proposals: list[dict[str, Any]] = []
        self.settled: dict[tuple[str, str], uuid.UUID] = {}

    async def load(self) -> None:
        self.users = await self.gw.users(self.company_id)
        self.projects = await self.gw.projects(self.company_id)
        self.user_by_qbo = {str(u.external_ids["qbo"]): u for u in self.users if u.external_ids.get("qbo")}
        self.user_by_email: dict[str, CoreUser] = {}
        for u in self.users:
            if u.email and not u.external_ids.get("qbo"):
                self.user_by_email.setdefault(normalise(u.email), u)
        self.project_by_qbo = {str(p.external_ids["qbo"]): p for p in self.projects if p.external_ids.get("qbo")}
        self.profile_targets = await self.mapped(self.session, self.company_id)
        self.proposal_states = await proposal_store.states(self.session, self.company_id)

    def linked(self, entity: str, qbo_id: str) -> bool:
        """Something in CrewFlow points at this QBO record (a worker, a project or the mapping)."""
        if entity == "Employee" and qbo_id in self.user_by_qbo:
            return True
        if entity == "Customer" and qbo_id in self.project_by_qbo:
            return True
        return (entity, qbo_id) in self.profile_targets

    def upsert(self, r: DirEntry) -> None:
        """An active employee or customer: follow its linked record, else place it with the others later."""
        if r.entity_type == "Employee":
            self.upsert_user(r)
        elif r.entity_type == "Customer":
            self.upsert_project(r)

    def upsert_user(self, r: DirEntry) -> None:
        u = self.user_by_qbo.get(r.qbo_id)
        if u is None and r.email:
            u = self.user_by_email.pop(normalise(r.email), None)
            if u is not None:
                self.counts.users_matched_by_email += 1
                self.link_user(u, r, "email", 1.0)
                return
        if u is None:
            self.unplaced["Employee"][r.qbo_id] = r
            return
        self.follow_user(u, r)

    def follow_user(self, u: CoreUser, r: DirEntry) -> None:
        """A linked user's name and email follow QuickBooks (FR-3)."""
        email = r.email or u.email  # QBO without an email never erases Core's
        if u.name != r.name or (u.email or None) != (email or None):
            u.name, u.email = r.name, email
            self.changed_users[u.id] = u

    def link_user(self, u: CoreUser, r: DirEntry, reason: str, confidence: float) -> None:
        self.note_link(r, u.id, u.name, reason, confidence)
        u.external_ids = {**u.external_ids, "qbo": r.qbo_id}
        self.user_by_qbo[r.qbo_id] = u
        self.changed_users[u.id] = u
        self.follow_user(u, r)

    def upsert_project(self, r: DirEntry) -> None:
        p = self.project_by_qbo.get(r.qbo_id)
        if p is None:
            self.unplaced["Customer"][r.qbo_id] = r
            return
        self.follow_project(p, r)

    def follow_project(self, p: CoreProject, r: DirEntry) -> None:
        if p.name != (r.display or r.name):
            p.name = r.display or r.name
            self.changed_projects[p.id] = p

    def link_project(self, p: CoreProject, r: DirEntry, reason: str, confidence: float) -> None:
        self.note_link(r, p.id, p.name, reason, confidence)
        p.external_ids = {**p.external_ids, "qbo": r.qbo_id}
        self.project_by_qbo[r.qbo_id] = p
        self.changed_projects[p.id] = p
        self.follow_project(p, r)

    def note_link(self, r: DirEntry, crewflow_id: uuid.UUID, crewflow_name: str, reason: str,
                  confidence: float) -> None:
        if self.proposal_states.get((r.entity_type, r.qbo_id)) == "open":  # answered by this link
            self.settled[(r.entity_type, r.qbo_id)] = crewflow_id
        self.counts.links.append({"entityType": r.entity_type, "qboId": r.qbo_id, "qboName": r.name,
                                  "crewflowId": str(crewflow_id), "crewflowName": crewflow_name, "reason": reason,
                                  "confidence": confidence})

    def place_unplaced(self, entity: str, usable: list[DirEntry]) -> None:
        """Link what the rule is sure of, propose what it is not, create what resembles nothing in CrewFlow.
        `usable`: our copy's candidates of this kind. A record the mapping profile points at, or whose
        proposal the admin decided, is left alone."""
        unplaced = self.unplaced[entity]
        waiting = {q for q in unplaced if (entity, q) not in self.profile_targets
                   and self.proposal_states.get((entity, q), "open") == "open"}
        if not waiting:
            return
        if entity == "Employee":
            local = [Local(u.id, u.name, u.email) for u in self.users if u.active and not u.external_ids.get("qbo")]
        else:
            local = [Local(p.id, p.name) for p in self.projects if p.status == "active" and not p.external_ids.get("qbo")]
        plan = place(local, usable, waiting, use_email=entity == "Employee")
        users = {u.id: u for u in self.users}
        projects = {p.id: p for p in self.projects}
        for q in sorted(waiting):
            r = unplaced[q]
            sure, maybe = plan.links.get(q), plan.proposals.get(q)
            if sure is not None:
                if entity == "Employee":
                    self.counts.users_matched_by_name += 1
                    self.link_user(users[sure.crewflow_id], r, sure.reason, sure.confidence)
                else:
                    self.counts.projects_matched_by_name += 1
                    self.link_project(projects[sure.crewflow_id], r, sure.reason, sure.confidence)
            elif maybe is not None or (entity, q) in self.proposal_states:
                self.propose(r, maybe or [])
            elif entity == "Employee":
                u = CoreUser(uuid.uuid4(), r.name, r.email, True, {"qbo": q})
                self.new_users.append(u)
                self.user_by_qbo[q] = u
            else:
                p = CoreProject(uuid.uuid4(), r.display or r.name, "active", {"qbo": q})
                self.new_projects.append(p)
                self.project_by_qbo[q] = p

    def propose(self, r: DirEntry, candidates: list[Candidate]) -> None:
        self.new_proposals.append({"entity_type": r.entity_type, "qbo_id": r.qbo_id, "qbo_name": r.name,
                                   "candidates": [c.as_json() for c in candidates]})
        if r.entity_type == "Employee":
            self.counts.users_proposed += 1
        else:
            self.counts.projects_proposed += 1

    async def flush(self) -> None:
        await self.gw.create_users(self.company_id, self.new_users)
        await self.gw.update_users(list(self.changed_users.values()))
        await self.gw.create_projects(self.company_id, self.new_projects)
        await self.gw.update_projects(list(self.changed_projects.values()))
        await proposal_store.upsert_open(self.session, self.company_id, self.new_proposals)
        await proposal_store.settle_open(self.session, self.company_id, self.settled, by="system:import")
        self.counts.users_created = len(self.new_users)
        self.counts.users_updated = len(self.changed_users)
        self.counts.projects_created = len(self.new_projects)
        self.counts.projects_updated = len(self.changed_projects)
