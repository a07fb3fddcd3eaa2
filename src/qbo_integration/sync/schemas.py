"""Sync routes' inputs and outputs (PRD §4.2 shapes, camelCase on the wire), validated strictly."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qbo_integration.api.inputs import ApiDate
from qbo_integration.sync.story.schemas import SyncStateOut

MAX_TIMECARD_IDS = 500


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class SyncNowIn(_In):
    company_id: uuid.UUID = Field(alias="companyId")
    timecard_ids: list[uuid.UUID] | None = Field(None, alias="timecardIds", max_length=MAX_TIMECARD_IDS)


class WaitOut(_Out):
    """How many timecards wait for one reason, and until when (sync/waits.py)."""

    reason: str = Field(description="sending | confirming | throttled | breaker_open | retry_scheduled | "
                        "not_picked_up | live_sync_off | not_connected | books_closed | needs_mapping | refused | dead")
    count: int
    needs_you: bool = Field(alias="needsYou", description="a person must act; otherwise it goes by itself")
    since: datetime | None = None
    until: datetime | None = Field(None, description="when they go by themselves (None: now, or once someone acts)")
    message: str = Field(description="the line in words, times in the company's time zone")


class SyncNowOut(_Out):
    job_id: uuid.UUID = Field(alias="jobId")
    message: str = "Sync job queued"
    waiting: list[WaitOut] = Field(default_factory=list,
                                   description="what this Sync Now cannot send now, per reason, and when it goes")


class SyncResults(_Out):
    synced: int
    failed: int
    errors: list[dict[str, Any]]


class SyncStatusOut(_Out):
    job_id: uuid.UUID = Field(alias="jobId")
    status: Literal["pending", "running", "completed", "failed"]
    progress: int = Field(ge=0, le=100)
    results: SyncResults
    total: int
    qbo_calls: int = Field(alias="qboCalls")
    batches: int
    retries: int
    trigger: str
    note: str | None = None
    waiting: list[WaitOut] = Field(default_factory=list, description="once the job has finished: what of its "
                                   "timecards still waits, per reason, and when it goes")
    created_at: datetime = Field(alias="createdAt")
    started_at: datetime | None = Field(None, alias="startedAt")
    completed_at: datetime | None = Field(None, alias="completedAt")


class CompanyQuery(_In):
    company_id: uuid.UUID = Field(alias="companyId")


class DeadLetter(_Out):
    timecard_id: uuid.UUID = Field(alias="timecardId")
    sync: SyncStateOut | None = Field(None, description="The timecard's sync state in plain words (as everywhere)")
    operation: str
    attempts: int
    error: str | None
    error_code: str | None = Field(alias="errorCode")
    qbo_id: str | None = Field(alias="qboId")
    updated_at: datetime = Field(alias="updatedAt")


class DeadLettersOut(_Out):
    items: list[DeadLetter]
    count: int


class RequeueIn(_In):
    company_id: uuid.UUID = Field(alias="companyId")
    timecard_ids: list[uuid.UUID] | None = Field(None, alias="timecardIds", max_length=MAX_TIMECARD_IDS)


class RequeueOut(_Out):
    requeued: int


class SyncSettingsIn(_In):
    company_id: uuid.UUID = Field(alias="companyId")
    sync_start_date: ApiDate | None = Field(alias="syncStartDate", description="YYYY-MM-DD; null = send everything")


class SyncSettingsOut(_Out):
    company_id: uuid.UUID = Field(alias="companyId")
    sync_start_date: date | None = Field(alias="syncStartDate")
