"""Engine and session factory. One engine per process, opened by the app lifespan or worker startup."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(database_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """At most `pool_size + max_overflow` connections; a session waits (30 s) for one beyond that."""
    # hide_parameters: a failed statement's error (and so its logged traceback) shows the SQL, never the
    # values, which can hold customer data or tokens.
    return create_async_engine(database_url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True,
                               hide_parameters=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
