"""Engine and session factory. One engine per process, opened by the app lifespan or worker startup."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(database_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """At most `pool_size + max_overflow` connections; a session waits (30 s) for one beyond that."""
    # hide_parameters: a failed statement's error (and so its logged traceback) shows the SQL, never the
    # values, which can hold customer data or tokens.
    engine = create_async_engine(database_url, pool_size=pool_size, max_overflow=max_overflow,
                                 hide_parameters=True)
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """Instead of pool_pre_ping: a connection the server closed (a restart, an idle timeout, a terminated
    backend) is replaced at checkout. pre_ping did that with three round trips a checkout (asyncpg's
    BEGIN, `;`, ROLLBACK); asyncpg already knows when the server closed the socket."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
