"""Access tokens per company: refreshed ahead of expiry, one refresh at a time across processes.

QBO rotates refresh tokens and a superseded one may fail at once with invalid_grant, so two
workers refreshing together would disconnect the company. The rule (Airbyte/singer style):

1. fast path: the cached (or stored) access token is valid for more than `margin` -> use it;
2. otherwise take a Redis lock for the company (redis.asyncio Lock with a timeout, so a crashed
   holder cannot block forever), then RE-LOAD from the store (double-check): another process may
   have refreshed while we waited;
3. still stale -> refresh once, `store.save()` the new pair (committed) BEFORE anyone uses the
   new access token, release the lock;
4. invalid_grant -> `store.mark_lost()` and raise CONNECTION_LOST.

A 401/3200 on a call asks for a forced refresh (`stale_token=` the token that was refused): under
the lock, if the store already holds a different access token, that one is used without a refresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from .errors import ConnectionLostError, QboError, TransientError
from .models import TokenSet
from .resolution import Remedy


@runtime_checkable
class TokenStore(Protocol):
    async def load(self, company_id: str) -> TokenSet | None: ...

    async def save(self, company_id: str, tokens: TokenSet, *, replacing: str | None = None) -> None:
        """Durably store (committed) before returning: the new access token is used right after.
        `replacing`: the refresh token the pair was obtained with; a store whose company was
        disconnected or reconnected meanwhile stores nothing and raises (disconnect wins)."""

    async def mark_lost(self, company_id: str, reason: str) -> None: ...


class Refresher(Protocol):
    async def refresh(self, refresh_token: str) -> TokenSet: ...


class MemoryTokenStore:
    """For tests and the demo."""

    def __init__(self) -> None:
        self.tokens: dict[str, TokenSet] = {}
        self.lost: dict[str, str] = {}
        self.saves = 0

    async def load(self, company_id: str) -> TokenSet | None:
        return self.tokens.get(str(company_id))

    async def save(self, company_id: str, tokens: TokenSet, *, replacing: str | None = None) -> None:
        self.saves += 1
        self.tokens[str(company_id)] = tokens
        self.lost.pop(str(company_id), None)

    async def mark_lost(self, company_id: str, reason: str) -> None:
        self.lost[str(company_id)] = reason


class TokenManager:
    def __init__(
        self,
        oauth: Refresher,
        store: TokenStore,
        redis,
        *,
        margin_seconds: float = 300.0,
        lock_seconds: float = 30.0,
        prefix: str = "qbo",
        clock: Callable[[], float] = time.time,
        on_refresh: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.oauth = oauth
        self.store = store
        self.redis = redis
        self.margin = margin_seconds
        self.lock_seconds = lock_seconds
        self.prefix = prefix
        self.clock = clock
        self.on_refresh = on_refresh
        self._cache: dict[str, TokenSet] = {}
        self._local_locks: dict[str, asyncio.Lock] = {}
        self.refreshes = 0  # refreshes this process performed

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _fresh(self, tokens: TokenSet | None) -> bool:
        return tokens is not None and not tokens.expires_within(self.margin, self._now())

    def forget(self, company_id: str) -> None:
        self._cache.pop(str(company_id), None)

    async def access_token(self, company_id: str, *, stale_token: str | None = None) -> str:
        """A usable access token. `stale_token`: the one QBO just refused (forces a refresh)."""
        company_id = str(company_id)
        cached = self._cache.get(company_id)
        if stale_token is None and self._fresh(cached):
            return cached.access_token  # type: ignore[union-attr]
        if (
            stale_token is not None
            and cached is not None
            and cached.access_token != stale_token
            and self._fresh(cached)
        ):
            return cached.access_token
        if stale_token is None:
            stored = await self._load(company_id)
            if self._fresh(stored):
                return stored.access_token  # type: ignore[union-attr]
        lock = self._local_locks.setdefault(company_id, asyncio.Lock())
        async with lock:  # one coroutine per process queues on the Redis lock
            return await self._refresh_locked(company_id, stale_token)

    async def _load(self, company_id: str) -> TokenSet | None:
        tokens = await self.store.load(company_id)
        if tokens is None:
            self._cache.pop(company_id, None)
            raise ConnectionLostError("the company is not connected to QuickBooks (no tokens stored)")
        self._cache[company_id] = tokens
        return tokens

    async def _refresh_locked(self, company_id: str, stale_token: str | None) -> str:
        lock = self.redis.lock(
            f"{self.prefix}:refresh:{company_id}",
            timeout=self.lock_seconds,
            blocking_timeout=self.lock_seconds + 5,
        )
        if not await lock.acquire():
            raise TransientError("could not take the token refresh lock in time")
        try:
            current = await self._load(company_id)  # double-check after acquiring
            assert current is not None
            if self._fresh(current) and (stale_token is None or current.access_token != stale_token):
                await self._hook("reused")
                return current.access_token
            try:
                new = await self.oauth.refresh(current.refresh_token)
            except QboError as exc:
                if exc.resolution.remedy is Remedy.CONNECTION_LOST:
                    self._cache.pop(company_id, None)
                    await self.store.mark_lost(
                        company_id, "QuickBooks refused the refresh token (invalid_grant): reconnect"
                    )
                    await self._hook("lost")
                    raise ConnectionLostError(
                        "QuickBooks connection lost: the refresh token was refused; an admin must reconnect",
                        code=exc.code,
                        status=exc.status,
                        intuit_tid=exc.intuit_tid,
                    ) from None
                await self._hook("failed")
                raise
            try:  # durable before first use; refused if the company was disconnected meanwhile
                await self.store.save(company_id, new, replacing=current.refresh_token)
            except BaseException:
                self._cache.pop(company_id, None)
                raise
            self._cache[company_id] = new
            self.refreshes += 1
            await self._hook("refreshed")
            return new.access_token
        finally:
            try:
                await lock.release()
            except Exception:  # lock expired meanwhile: nothing to release
                pass

    async def _hook(self, outcome: str) -> None:
        if self.on_refresh is not None:
            try:
                await self.on_refresh(outcome)
            except Exception:
                pass
