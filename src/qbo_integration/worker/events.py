"""Core Platform's events (core-contract.md), validated strictly."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

TIMECARD_EVENTS = ("timecard.approved", "timecard.updated", "timecard.unapproved", "timecard.deleted")
OUTGOING_EVENTS = ("timecard.synced", "timecard.sync_failed")


class CoreEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    event: Literal["timecard.approved", "timecard.updated", "timecard.unapproved", "timecard.deleted"]
    event_id: uuid.UUID = Field(alias="eventId")
    occurred_at: datetime = Field(alias="occurredAt")
    company_id: uuid.UUID = Field(alias="companyId")
    timecard_id: uuid.UUID = Field(alias="timecardId")
    version: StrictInt = Field(ge=0)
