"""Re-export of `core_platform.events` for `sync/writeback.py`, which still imports the schema from here
(that file is being changed elsewhere; once it imports `core_platform.events`, delete this module and its
ignored import in pyproject.toml)."""

from qbo_integration.core_platform.events import OUTGOING_EVENTS, TIMECARD_EVENTS, CoreEvent, channel

__all__ = ["OUTGOING_EVENTS", "TIMECARD_EVENTS", "CoreEvent", "channel"]
