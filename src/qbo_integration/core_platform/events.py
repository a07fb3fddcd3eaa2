"""Core Platform's events (core-contract.md), validated strictly: the schema of what Core publishes and
what we publish back. It lives with the Core gateway, below sync (which takes events in) and worker/ (which
listens for them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

TIMECARD_EVENTS = ("timecard.approved", "timecard.updated", "timecard.unapproved", "timecard.deleted")
OUTGOING_EVENTS = ("timecard.synced", "timecard.sync_failed")


def channel(event: str, prefix: str | None = None) -> str:
    """The pub/sub channel of an event: Core's channel is the event name; EVENT_CHANNEL_PREFIX (empty in
    production) goes in front so test runs, benches and a dev stack sharing one Redis stay apart
    (pub/sub channels are global across database numbers)."""
    if prefix is None:
        from qbo_integration.config import get_settings

        prefix = get_settings().event_channel_prefix
    return prefix + event


class CoreEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    event: Literal["timecard.approved", "timecard.updated", "timecard.unapproved", "timecard.deleted"]
    event_id: uuid.UUID = Field(alias="eventId")
    occurred_at: datetime = Field(alias="occurredAt")
    company_id: uuid.UUID = Field(alias="companyId")
    timecard_id: uuid.UUID = Field(alias="timecardId")
    version: StrictInt = Field(ge=0)
