"""Metrics/alert hooks. Every method is async and optional; the default does nothing."""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    async def on_breaker_change(self, company_id: str, old: str, new: str) -> None: ...
    async def on_call(self, status: int | None) -> None: ...
    async def on_read(self, company_id: str) -> None: ...  # a read call answered (metered by Intuit)
    async def on_limiter_wait(self, seconds: float) -> None: ...
    async def on_token_refresh(self, outcome: str) -> None: ...


class NullObserver:
    """The no-op default. Subclass it and override what you need."""

    async def on_breaker_change(self, company_id: str, old: str, new: str) -> None:
        return None

    async def on_call(self, status: int | None) -> None:
        return None

    async def on_read(self, company_id: str) -> None:
        return None

    async def on_limiter_wait(self, seconds: float) -> None:
        return None

    async def on_token_refresh(self, outcome: str) -> None:
        return None


def hook(observer: object, name: str):
    """The observer's coroutine method `name`, or a no-op if it lacks one."""
    fn = getattr(observer, name, None)
    return fn if fn is not None else getattr(NullObserver(), name)
