"""Helpers for the bad-input tests: a content hash of the whole database, the error-shape check."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def db_state(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Every table's full content as one hash per table: equal before and after means nothing changed."""
    from qbo_integration.db.models import metadata

    out = {}
    async with sessionmaker() as s:
        for t in metadata.sorted_tables:
            name = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
            out[name] = (await s.execute(text(
                f"SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') "
                f"FROM {name} x"))).scalar_one()
    return out


def error_of(resp: httpx.Response) -> dict[str, Any]:
    """The answer's {"error": {...}}, asserting the one documented shape and a message a person can read."""
    assert resp.headers.get("content-type", "").startswith("application/json"), (resp.status_code, resp.text[:300])
    body = resp.json()
    err = body["error"]
    assert set(err) <= {"code", "message", "details", "requestId"} and err["requestId"], body
    assert isinstance(err["message"], str) and len(err["message"]) >= 10, body
    return err
