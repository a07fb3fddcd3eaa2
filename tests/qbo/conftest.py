"""Fixtures of the qbo tests: `setup`, a unit QboApi whose sleeps are recorded, not slept."""

from __future__ import annotations

import pytest

from .helpers import Sleeps, unit_api


@pytest.fixture
async def setup(redis):
    sleeps = Sleeps()
    api, store = unit_api(redis, sleep=sleeps)
    yield api, store, sleeps
    await api.aclose()
