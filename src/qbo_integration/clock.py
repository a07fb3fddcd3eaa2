"""The service's one wall clock. Code that must be testable with a movable clock takes a `Clock` (the
sync reads one from its job context: sync/context.py); everything else calls `utc_now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
