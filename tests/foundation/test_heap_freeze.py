"""The served API freezes its start-up heap, so the collector's full passes skip it (heap.py)."""

from __future__ import annotations

import gc

from asgi_lifespan import LifespanManager

from qbo_integration.app import create_app


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


async def test_the_served_app_exempts_its_start_up_heap_from_collection(settings, redis):
    application = create_app(settings, freeze_heap=True)
    try:
        async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
            assert gc.get_freeze_count() > 0
            # made at start-up, alive as long as the process: no longer walked by a full collection
            assert not _tracked(application.router)
            assert not _tracked(application.state.services)
            made_later: list[object] = [object()]
            assert _tracked(made_later)  # what requests make is still collected
    finally:
        gc.unfreeze()


async def test_an_app_built_for_tests_leaves_the_collector_alone(settings, redis):
    gc.unfreeze()
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        assert gc.get_freeze_count() == 0
        assert _tracked(application.router)
