"""Keep the garbage collector's full passes short in long-running processes.

A full (generation 2) collection walks every tracked object. After start-up the API holds about
185,000 of them (FastAPI's routes and schemas, SQLAlchemy's metadata, pydantic models) that live
as long as the process, so each full pass took about 165 ms, every 2-3 s under load, and stalled
every request in flight: that was the p99 of company health under 100 connections
(docs/benchmarks.md). Freezing the start-up heap moves those objects to the permanent generation,
which collections skip; objects made later are collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then exempt everything still alive from later collections. Returns the count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
