"""Import the QBO directory: Employees → Core users, Customers (with sub-customers/jobs) → Core projects,
and all of Employee/Vendor/Customer/Item/Class/Department mirrored in qbo_directory_records.

Vendors (1099 subcontractors) are only mirrored: a worker becomes a subcontractor by the mapping
profile's `vendorMapping`, never by the import. Customers and jobs are named as QBO shows them, by
`FullyQualifiedName` ("Parent:Job"); a parent's new name is carried into its jobs' names here, since a
CDC answer holds the renamed parent but not the jobs whose full name changed with it.

Two halves: `fetch` talks to QBO (reads only) and `apply` writes our tables and Core's, in the
caller's transaction. Matching: stored QBO id (external_ids.qbo), then employee email, then the matching
rule the wizard's suggestions use, where exactly one CrewFlow record matches with bulk-accept confidence
(directory.linking). A record that only might be someone is proposed to the admin (directory_proposals),
never created; one that resembles nothing in CrewFlow is created (FR-3, FR-4). Nothing is ever deleted:
a record that goes inactive, is deleted or vanishes in QBO is marked in our copy, and `orphaned` when
something in CrewFlow still points at it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.directory_gateway import CoreProject, CoreUser, DirectoryGateway
from qbo_integration.directory import proposal_store
from qbo_integration.directory.linking import Candidate, Local, place
from qbo_integration.directory.matching import normalise
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.directory.service import DirEntry
from qbo_integration.qbo.client import CompanyClient
from qbo_integration.qbo.models import QboEntity
from qbo_integration.untrusted import storable_json, storable_text

ENTITIES = ("Employee", "Vendor", "Customer", "Item", "Class", "Department")
PEOPLE = ("Employee", "Vendor")  # named by DisplayName; the others by FullyQualifiedName
NESTED = ("Customer", "Item", "Class", "Department")  # ParentRef + FullyQualifiedName "Parent:Child"
CDC_LOOKBACK = timedelta(days=30)
CDC_SAFETY = timedelta(hours=1)  # switch to the query fallback a little before QBO would refuse
CDC_MAX_OBJECTS = 1000  # one CDC answer holds at most this many: more may have been cut off
CURSOR_OVERLAP = timedelta(minutes=2)  # clock skew between us and QBO; re-reading is harmless


@dataclass
class Fetched:
    mode: str  # full | cdc | since
    records: dict[str, list[QboEntity]]
    complete: bool  # a full listing: records we know that are absent have vanished


def _qbo_time(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat()


async def fetch(client: CompanyClient, *, cursor: datetime | None, now: datetime, force_full: bool = False) -> Fetched:
    """Full listing on the first import (or when asked); CDC within its 30-day look-back; otherwise a
    `Metadata.LastUpdatedTime >` query per entity (also used when a CDC answer may have been cut off)."""
    if cursor is None or force_full:
        lists = await asyncio.gather(*(client.query_all(f"SELECT * FROM {e} WHERE Active IN (true, false) ORDERBY Id")
                                       for e in ENTITIES))
        return Fetched("full", dict(zip(ENTITIES, lists, strict=True)), complete=True)
    since = cursor - CURSOR_OVERLAP
    if now - since < CDC_LOOKBACK - CDC_SAFETY:
        changed = await client.cdc(ENTITIES, _qbo_time(since))
        if sum(len(v) for v in changed.values()) < CDC_MAX_OBJECTS:
            return Fetched("cdc", {e: changed.get(e, []) for e in ENTITIES}, complete=False)
    stamp = _qbo_time(since)
    lists = await asyncio.gather(*(client.query_all(
        f"SELECT * FROM {e} WHERE Metadata.LastUpdatedTime > '{stamp}' AND Active IN (true, false) ORDERBY Id")
        for e in ENTITIES))
    return Fetched("since", dict(zip(ENTITIES, lists, strict=True)), complete=False)


# ---------------------------------------------------------------------------------------- normalise
def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
        return parsed.astimezone(UTC) if parsed is not None and parsed.tzinfo else parsed
    except (ValueError, OverflowError):  # OverflowError: before year 1 in UTC (0001-01-01T00:00+14:00)
        return None


def _text(value: Any, limit: int) -> str:
    """QBO's text as a column can hold it: QuickBooks' data is untrusted (a NUL, a lone surrogate, too long)."""
    return storable_text(str(value), limit)


def to_row(entity: str, e: QboEntity) -> DirEntry:
    data = e.to_qbo()
    display = data.get("DisplayName") or " ".join(
        p for p in (data.get("GivenName"), data.get("FamilyName")) if p) or data.get("CompanyName") or ""
    if entity in PEOPLE:
        name = display
    else:
        name = data.get("FullyQualifiedName") or (display if entity == "Customer" else data.get("Name")) or ""
    email = (data.get("PrimaryEmailAddr") or {}).get("Address") if entity in PEOPLE else None
    parent = (data.get("ParentRef") or {}).get("value")
    item_type = data.get("Type") if entity == "Item" else None
    return DirEntry(
        entity_type=entity, qbo_id=_text(data.get("Id"), 64), name=_text(name, 300),
        email=_text(str(email).strip(), 320) if email else None, active=data.get("Active") is not False,
        deleted=e.deleted, parent_qbo_id=_text(parent, 64) if parent else None,
        item_type=_text(item_type, 30) if item_type is not None else None,
        qbo_updated_at=_parse_time((data.get("MetaData") or {}).get("LastUpdatedTime")), raw=storable_json(data),
        display=_text(display, 300),
    )


def leaf_name(entity: str, name: str, raw: dict[str, Any] | None) -> str:
    """A nested record's own name, without its parents' ("Oak St Remodel" of "Cool Cars:Oak St Remodel")."""
    own = (raw or {}).get("DisplayName" if entity == "Customer" else "Name")
    return str(own) if own else name.rsplit(":", 1)[-1]


# ---------------------------------------------------------------------------------------- apply
@dataclass
class ImportCounts:
    directory: Counter[str] = field(default_factory=Counter)  # "<Entity>.created|updated|unchanged"
    users_created: int = 0
    users_updated: int = 0
    users_matched_by_email: int = 0
    users_matched_by_name: int = 0
    users_proposed: int = 0
    projects_created: int = 0
    projects_updated: int = 0
    projects_matched_by_name: int = 0
    projects_proposed: int = 0
    newly_orphaned: list[dict[str, str]] = field(default_factory=list)
    # every QBO record linked to an existing CrewFlow record by this import (the caller audits each)
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.users_created or self.users_updated or self.projects_created or self.projects_updated
                    or any(v for k, v in self.directory.items() if not k.endswith("unchanged")))

    def as_dict(self) -> dict[str, Any]:
        per_entity: dict[str, dict[str, int]] = {}
        for key, n in self.directory.items():
            entity, what = key.split(".")
            per_entity.setdefault(entity, {})[what] = n
        return {"directory": per_entity,
                "users": {"created": self.users_created, "updated": self.users_updated,
                          "matchedByEmail": self.users_matched_by_email, "matchedByName": self.users_matched_by_name,
                          "proposed": self.users_proposed},
                "projects": {"created": self.projects_created, "updated": self.projects_updated,
                             "matchedByName": self.projects_matched_by_name, "proposed": self.projects_proposed},
                "newlyOrphaned": self.newly_orphaned, "changed": self.changed}


_DIR_FIELDS = ("name", "email", "active", "deleted", "orphaned", "parent_qbo_id", "item_type", "qbo_updated_at",
               "raw")


# (entity, qbo id) pairs that something in CrewFlow's mapping points at (mapping.profiles.profile_targets,
# handed in by the caller: the directory imports nothing of mapping).
MappedKeys = Callable[[AsyncSession, uuid.UUID], Awaitable[set[tuple[str, str]]]]


class _Applier:
    def __init__(self, session: AsyncSession, company_id: uuid.UUID, mapped: MappedKeys) -> None:
        self.session = session
        self.company_id = company_id
        self.mapped = mapped
        self.gw = DirectoryGateway(session)
        self.counts = ImportCounts()
        self.dir_inserts: list[dict[str, Any]] = []
        self.dir_updates: list[dict[str, Any]] = []
        self.new_users: list[CoreUser] = []
        self.changed_users: dict[uuid.UUID, CoreUser] = {}
        self.new_projects: list[CoreProject] = []
        self.changed_projects: dict[uuid.UUID, CoreProject] = {}
        # QBO employees / customers no CrewFlow record is linked to: placed once every row is read
        self.unplaced: dict[str, dict[str, DirEntry]] = {"Employee": {}, "Customer": {}}
        self.new_proposals: list[dict[str, Any]] = []
        self.settled: dict[tuple[str, str], uuid.UUID] = {}

    async def load(self) -> None:
        t = QboDirectoryRecord
        rows = await self.session.execute(
            select(t.id, t.entity_type, t.qbo_id, *(getattr(t, f) for f in _DIR_FIELDS))
            .where(t.company_id == self.company_id))
        self.known: dict[tuple[str, str], dict[str, Any]] = {
            (r.entity_type, r.qbo_id): {"id": r.id, **{f: getattr(r, f) for f in _DIR_FIELDS}} for r in rows}
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
        if entity == "Employee" and qbo_id in self.user_by_qbo:
            return True
        if entity == "Customer" and qbo_id in self.project_by_qbo:
            return True
        return (entity, qbo_id) in self.profile_targets

    # --- Core side
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

    def place_unplaced(self, entity: str) -> None:
        """Link what the rule is sure of, propose what it is not, create what resembles nothing in CrewFlow.
        A record the mapping profile points at, or whose proposal the admin decided, is left alone."""
        unplaced = self.unplaced[entity]
        waiting = {q for q in unplaced if (entity, q) not in self.profile_targets
                   and self.proposal_states.get((entity, q), "open") == "open"}
        if not waiting:
            return
        if entity == "Employee":
            local = [Local(u.id, u.name, u.email) for u in self.users if u.active and not u.external_ids.get("qbo")]
        else:
            local = [Local(p.id, p.name) for p in self.projects if p.status == "active" and not p.external_ids.get("qbo")]
        plan = place(local, self.usable(entity), waiting, use_email=entity == "Employee")
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

    def usable(self, entity: str) -> list[DirEntry]:
        """Our copy of the directory as this import leaves it: the wizard's candidates of this kind."""
        rows = [(q, v) for (e, q), v in self.known.items() if e == entity]
        rows += [(v["qbo_id"], v) for v in self.dir_inserts if v["entity_type"] == entity]
        return [DirEntry(entity, q, str(v.get("name") or ""), v.get("email"), True, False, False)
                for q, v in rows if v.get("active") and not v.get("deleted") and not v.get("orphaned")]

    # --- our copy
    def put_dir(self, values: dict[str, Any], key: tuple[str, str]) -> None:
        old = self.known.get(key)
        entity = key[0]
        if old is None:
            self.dir_inserts.append({"id": uuid.uuid4(), "company_id": self.company_id, "entity_type": entity,
                                     "qbo_id": key[1], **values})
            self.counts.directory[f"{entity}.created"] += 1
            return
        diff = {f: v for f, v in values.items() if old.get(f) != v}
        if diff:
            self.dir_updates.append({"id": old["id"], **diff})
            self.counts.directory[f"{entity}.updated"] += 1
            if diff.get("orphaned") is True:
                self.counts.newly_orphaned.append({"entityType": entity, "qboId": key[1], "name": values.get("name")
                                                   or old.get("name") or ""})
        else:
            self.counts.directory[f"{entity}.unchanged"] += 1
        old.update(values)

    def record(self, r: DirEntry) -> None:
        key = (r.entity_type, r.qbo_id)
        old = self.known.get(key)
        if old is not None and r.qbo_updated_at and old.get("qbo_updated_at") and \
                r.qbo_updated_at < old["qbo_updated_at"]:
            self.counts.directory[f"{r.entity_type}.unchanged"] += 1  # an older view than the one we hold
            return
        if r.deleted:
            if old is None:
                return  # deleted before we ever saw it: nothing points at it
            self.put_dir({"deleted": True, "active": False,
                          "orphaned": self.linked(*key), "qbo_updated_at": r.qbo_updated_at or old["qbo_updated_at"]},
                         key)
            return
        usable = r.active
        if usable and r.entity_type == "Employee":
            self.upsert_user(r)
        elif usable and r.entity_type == "Customer":
            self.upsert_project(r)
        self.put_dir({"name": r.name, "email": r.email, "active": r.active, "deleted": False,
                      "orphaned": (not usable) and self.linked(*key), "parent_qbo_id": r.parent_qbo_id,
                      "item_type": r.item_type, "qbo_updated_at": r.qbo_updated_at, "raw": r.raw}, key)

    def vanished(self, entity: str, seen: set[str]) -> None:
        for (e, qbo_id), old in list(self.known.items()):
            if e == entity and qbo_id not in seen and not old["deleted"]:
                self.put_dir({"deleted": True, "active": False, "orphaned": self.linked(e, qbo_id)}, (e, qbo_id))

    def rename_children(self, entity: str) -> None:
        """Each nested record named "<parent's full name>:<own name>" from what we now hold, so a parent
        renamed in QBO renames its jobs (and theirs) even when QBO did not send the jobs again."""
        recs = {q: old for (e, q), old in self.known.items() if e == entity}
        full: dict[str, str] = {}

        def name_of(qbo_id: str, depth: int = 0) -> str:
            if qbo_id in full:
                return full[qbo_id]
            old = recs[qbo_id]
            parent = old.get("parent_qbo_id")
            if not parent or parent not in recs or depth > 20:  # QBO nests at most 5 levels
                full[qbo_id] = str(old.get("name") or "")
            else:
                own = leaf_name(entity, str(old.get("name") or ""), old.get("raw"))
                full[qbo_id] = f"{name_of(parent, depth + 1)}:{own}"[:300]
            return full[qbo_id]

        for qbo_id, old in recs.items():
            if old.get("parent_qbo_id") and name_of(qbo_id) != old.get("name"):
                self.put_dir({"name": full[qbo_id]}, (entity, qbo_id))

    async def flush(self) -> None:
        if self.dir_inserts:
            await self.session.execute(insert(QboDirectoryRecord), self.dir_inserts)
        for row in self.dir_updates:
            rid = row.pop("id")
            await self.session.execute(update(QboDirectoryRecord).where(QboDirectoryRecord.id == rid).values(**row)
                                       .execution_options(synchronize_session=False))
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


async def apply(session: AsyncSession, company_id: uuid.UUID, fetched: Fetched, mapped: MappedKeys) -> ImportCounts:
    """Write what QBO said into our copy and Core's users/projects (caller's transaction). `mapped`: what
    the mapping points at (a record it points at that goes inactive or away is marked orphaned)."""
    ap = _Applier(session, company_id, mapped)
    await ap.load()
    # Parents before sub-customers, so a job's parent is known when the job is processed.
    for entity in ENTITIES:
        rows = [to_row(entity, e) for e in fetched.records.get(entity, [])]
        rows.sort(key=lambda r: (r.parent_qbo_id is not None, r.qbo_id))
        for r in rows:
            if r.qbo_id and r.qbo_id != "None":
                ap.record(r)
        if fetched.complete:
            ap.vanished(entity, {r.qbo_id for r in rows})
        if entity in NESTED:
            ap.rename_children(entity)
    for entity in ("Employee", "Customer"):  # every name final (rename_children) before matching by name
        ap.place_unplaced(entity)
    await ap.flush()
    return ap.counts
