"""The pool hands out live connections without a round trip to check them.

pool_pre_ping sent BEGIN, `;` and ROLLBACK on every checkout (SQLAlchemy's asyncpg ping): three round
trips before each session's first statement. A connection the server closed is still never handed out.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from qbo_integration.db.session import make_engine


async def _driver(conn):
    return (await conn.get_raw_connection()).driver_connection


async def test_checkout_sends_nothing_to_postgres(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    sent: list[str] = []
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            (await _driver(conn)).add_query_logger(lambda record: sent.append(record.query))
        async with engine.connect() as conn:  # the same pooled connection, checked out again
            await conn.execute(text("SELECT 2"))
    finally:
        await engine.dispose()
    # What is left is the session's own transaction (BEGIN before SELECT 2) and the resets on return.
    assert ";" not in sent and sent.count("BEGIN;") == 1, sent


async def test_a_connection_the_server_closed_is_replaced_at_checkout(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            old_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            driver = await _driver(conn)
        other = make_engine(database_url, pool_size=1, max_overflow=0)  # the pool's one connection is idle
        try:
            async with other.connect() as admin:
                assert (await admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                            {"pid": old_pid})).scalar_one() is True
        finally:
            await other.dispose()
        for _ in range(200):  # the server has closed the socket; let the loop read the EOF
            if driver.is_closed():
                break
            await asyncio.sleep(0.01)
        assert driver.is_closed()
        async with engine.connect() as conn:
            new_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()
    assert new_pid != old_pid
