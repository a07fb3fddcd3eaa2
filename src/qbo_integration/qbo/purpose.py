"""Why a QBO read is made: every read is metered by Intuit, so each is tagged with its purpose.

The purpose travels in a context variable, so a caller tags a block of calls without the client's
signatures changing (`with reading_for(DRIFT_CHECK): ...`); asyncio tasks started inside the block
inherit it. The observer's `on_read` hook reads `current()` when it counts the read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SETTLE_UNKNOWN_WRITE = "settle_unknown_write"  # a write whose answer was lost, a stale SyncToken: never deferred
DIRECTORY_IMPORT = "directory_import"  # the first (full) import of a company's directory
DIRECTORY_REFRESH = "directory_refresh"  # the daily CDC call, records a webhook named
DRIFT_CHECK = "drift_check"  # a TimeActivity someone else changed (webhook)
RECONCILIATION = "reconciliation"  # the nightly (or admin's) comparison
CONNECTION_TEST = "connection_test"  # connect, test-connection, company info
PREFERENCES = "preferences"  # the books' rules (closing date, class and location tracking)
MAPPING_CHECK = "mapping_check"  # test mapping: do the mapped records still exist
OTHER = "other"  # a read nobody tagged (a bug to fix: every read should say why)

PURPOSES = (SETTLE_UNKNOWN_WRITE, DIRECTORY_IMPORT, DIRECTORY_REFRESH, DRIFT_CHECK, RECONCILIATION, CONNECTION_TEST,
            PREFERENCES, MAPPING_CHECK, OTHER)

_current: ContextVar[str | None] = ContextVar("qbo_read_purpose", default=None)


def current() -> str:
    return _current.get() or OTHER


@contextmanager
def reading_for(purpose: str) -> Iterator[None]:
    """Reads made inside this block are counted under `purpose` (the innermost block wins)."""
    token = _current.set(purpose)
    try:
        yield
    finally:
        _current.reset(token)
