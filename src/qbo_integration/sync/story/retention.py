"""The story is kept SYNC_STORY_RETENTION_DAYS (at least 400: a year of questions about a timecard, and the
month after a year-end close); the monitoring retention job prunes it (handed this by services.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import utc_now
from qbo_integration.sync.story import repository


async def prune_story(sessionmaker: async_sessionmaker[AsyncSession], settings: Any,
                      now: datetime | None = None) -> int:
    """Delete story rows older than the retention. Returns how many."""
    cutoff = (now or utc_now()) - timedelta(days=settings.sync_story_retention_days)
    return await repository.prune(sessionmaker, cutoff)
