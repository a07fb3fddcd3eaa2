"""What a round wrote to QBO, handed to whoever must know (sync imports nothing above it).

CrewFlow is the system of record for approved time: a write of ours that lands after a bookkeeper
changed or deleted the record inside QBO supersedes their version. `reconciliation` closes the drift
findings such a write makes moot and records the versions it overwrote; the composition hands its
function over (`services.Services.on_written`, the job context's `on_written`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Overridden:
    """A version someone else saved in QBO that our write replaced: `view` is what QBO held (None when the
    record had been deleted there and our write re-creates it)."""

    qbo_id: str
    our_sync_token: str | None
    view: dict[str, Any] | None


@dataclass(frozen=True)
class Held:
    """The record as QBO answered our write: Id, SyncToken and its MetaData.LastUpdatedTime (QBO's text)."""

    qbo_id: str
    sync_token: str
    last_updated: str | None

    @classmethod
    def of(cls, record: dict[str, Any] | None) -> Held | None:
        if not record or record.get("Id") is None or record.get("SyncToken") is None:
            return None
        meta = record.get("MetaData")
        updated = meta.get("LastUpdatedTime") if isinstance(meta, dict) else None
        return cls(str(record["Id"]), str(record["SyncToken"]), updated if isinstance(updated, str) else None)


@dataclass(frozen=True)
class Written:
    """A timecard whose QBO record CrewFlow's write changed this round (created, updated, deleted,
    adopted, or found deleted in QBO and queued to be re-created)."""

    timecard_id: uuid.UUID
    overridden: Overridden | None = None
    # The version QBO answered our write with (None for a delete): a webhook echo of it needs no read.
    holds: Held | None = None


class WrittenHook(Protocol):
    async def __call__(self, session: AsyncSession, company_id: uuid.UUID, written: Sequence[Written]) -> None: ...
