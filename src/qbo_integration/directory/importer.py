"""Apply what QBO said of its directory, in the caller's transaction: our copy (directory/our_copy.py) and
Core's users and projects (directory/core_records.py), record by record, parents before their jobs; then
the records no CrewFlow record is linked to are placed (linked, proposed or created), once every name is
final. Reading QBO is directory/fetching.py; the job around both, directory/import_flow.py.

Vendors (1099 subcontractors) are only mirrored: a worker becomes a subcontractor by the mapping
profile's `vendorMapping`, never by the import. Nothing is ever deleted: a record that goes inactive, is
deleted or vanishes in QBO is marked in our copy, and `orphaned` when something in CrewFlow still points
at it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.directory.core_records import CoreRecords, MappedKeys
from qbo_integration.directory.counts import ImportCounts
from qbo_integration.directory.fetching import ENTITIES, NESTED, Fetched, to_row
from qbo_integration.directory.our_copy import DirectoryCopy
from qbo_integration.directory.service import DirEntry

__all__ = ["ENTITIES", "Fetched", "ImportCounts", "MappedKeys", "apply"]


def _record(copy: DirectoryCopy, core: CoreRecords, r: DirEntry) -> None:
    if copy.is_older(r):
        copy.counts.directory[f"{r.entity_type}.unchanged"] += 1  # an older view than the one we hold
        return
    if r.deleted:
        copy.put_deleted(r, orphaned=core.linked(r.entity_type, r.qbo_id))
        return
    if r.active:
        core.upsert(r)
    copy.put_record(r, orphaned=not r.active and core.linked(r.entity_type, r.qbo_id))


async def apply(session: AsyncSession, company_id: uuid.UUID, fetched: Fetched, mapped: MappedKeys) -> ImportCounts:
    """Write what QBO said into our copy and Core's users/projects (caller's transaction). `mapped`: what
    the mapping points at (a record it points at that goes inactive or away is marked orphaned)."""
    counts = ImportCounts()
    copy, core = DirectoryCopy(session, company_id, counts), CoreRecords(session, company_id, mapped, counts)
    await copy.load()
    await core.load()
    # Parents before sub-customers, so a job's parent is known when the job is processed.
    for entity in ENTITIES:
        rows = [to_row(entity, e) for e in fetched.records.get(entity, [])]
        rows.sort(key=lambda r: (r.parent_qbo_id is not None, r.qbo_id))
        for r in rows:
            if r.qbo_id and r.qbo_id != "None":
                _record(copy, core, r)
        if fetched.complete:
            copy.vanished(entity, {r.qbo_id for r in rows}, core.linked)
        if entity in NESTED:
            copy.rename_children(entity)
    for entity in ("Employee", "Customer"):  # every name final (rename_children) before matching by name
        core.place_unplaced(entity, copy.usable(entity))
    await copy.flush()
    await core.flush()
    return counts
