"""The story routes' query strings and answers (camelCase on the wire), validated strictly."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from qbo_integration.api.inputs import STORABLE, ApiDate
from qbo_integration.sync.story.explain import Action, SyncState
from qbo_integration.sync.story.models import StoryKind

Words = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), STORABLE]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=200), STORABLE]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class StoryQuery(_In):
    company_id: uuid.UUID = Field(alias="companyId", description="The CrewFlow company id (UUID)")
    cursor: Cursor | None = Field(None, description="nextCursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


class FindQuery(_In):
    company_id: uuid.UUID = Field(alias="companyId", description="The CrewFlow company id (UUID)")
    worker: Words | None = Field(None, description="Part of the worker's name (case does not matter)")
    project: Words | None = Field(None, description="Part of the project's name (case does not matter)")
    from_: ApiDate | None = Field(None, alias="from", description="YYYY-MM-DD, inclusive, the company's dates")
    to: ApiDate | None = Field(None, description="YYYY-MM-DD, inclusive, the company's dates")
    state: SyncState | None = Field(None, description="Only timecards in this state")
    cursor: Cursor | None = Field(None, description="nextCursor of the previous page")
    limit: int = Field(50, ge=1, le=200)

    @model_validator(mode="after")
    def _ordered(self) -> FindQuery:
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("to must be on or after from")
        return self


class SyncStateOut(_Out):
    state: SyncState
    sentence: str = Field(description="The state in plain words; times in it are the company's local time")
    until: datetime | None = Field(description="When the state is expected to change (UTC), if known")
    actions: list[Action]


class TimecardSyncState(SyncStateOut):
    qbo_id: str | None = Field(alias="qboId", description="QuickBooks' TimeActivity Id, when it holds one")
    realm_id: str | None = Field(alias="realmId")
    synced_at: datetime | None = Field(alias="syncedAt")


class TimecardWords(_Out):
    worker: str
    project: str
    date: date
    hours: float
    status: str = Field(description="The timecard's status in CrewFlow")
    version: int
    label: str = Field(description="worker · project · date · hours")


class FieldChange(_Out):
    field: str
    from_: Any = Field(alias="from")
    to: Any


class StoryEvent(_Out):
    id: str = Field(description="Opaque; newest first")
    at: datetime
    kind: StoryKind
    code: str = Field(description="What happened, per kind (e.g. create, throttled, sync_now)")
    summary: str = Field(description="One line for a person")
    facts: dict[str, Any] = Field(description="The details (request ids, QuickBooks' answer, fields)")
    request_id: str | None = Field(alias="requestId")
    job_id: str | None = Field(alias="jobId")
    realm_id: str | None = Field(alias="realmId")
    changes: list[FieldChange] | None = Field(None, description="A version: what changed from the one before")


class TimecardSyncOut(_Out):
    timecard_id: uuid.UUID = Field(alias="timecardId")
    timezone: str = Field(description="The company's time zone: the sentences' local times")
    timecard: TimecardWords | None = Field(description="null when CrewFlow deleted the timecard")
    sync: TimecardSyncState
    story: list[StoryEvent]
    next_cursor: str | None = Field(alias="nextCursor")


class FoundTimecard(TimecardWords):
    timecard_id: uuid.UUID = Field(alias="timecardId")
    sync: SyncStateOut
    qbo_id: str | None = Field(alias="qboId")


class TimecardsOut(_Out):
    items: list[FoundTimecard]
    timezone: str
    next_cursor: str | None = Field(alias="nextCursor")
