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
    event.listen(engine.sync_engine, "do_connect", _connect)
    return engine


class DatabaseUnreachable(ConnectionRefusedError):
    """The database server could not be reached or does not take connections now (restarting, failing
    over): a ConnectionError, which the API answers with 503 and workers wait out like any outage."""


def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
    """Open a connection; a server that is down or in the middle of starting or stopping raises
    DatabaseUnreachable. asyncpg reports these as whatever the socket said (FileNotFoundError for a
    unix socket that is gone, OSError for a host name it cannot resolve) or as PostgreSQL's "the
    database system is starting up / shutting down" (CannotConnectNowError)."""
    from asyncpg.exceptions import CannotConnectNowError

    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, CannotConnectNowError) as exc:
        if isinstance(exc, DatabaseUnreachable):
            raise
        raise DatabaseUnreachable(f"the database did not accept a connection: {type(exc).__name__}") from exc


def _refuse_closed(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """Instead of pool_pre_ping: a connection the server closed (a restart, an idle timeout, a terminated
    backend) is replaced at checkout. pre_ping did that with three round trips a checkout (asyncpg's
    BEGIN, `;`, ROLLBACK); asyncpg already knows when the server closed the socket."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
