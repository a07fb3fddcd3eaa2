"""The versions our writes left (reconciliation/versions.py): one statement a round, compiled once."""

from __future__ import annotations

import uuid

from sqlalchemy import event, select
from sqlalchemy.engine.default import DefaultExecutionContext

from qbo_integration.reconciliation import versions
from qbo_integration.reconciliation.models import WrittenVersion
from qbo_integration.sync.written import Held, Written


def _round(n: int, token: str) -> list[Written]:
    return [Written(uuid.uuid4(), holds=Held(str(1000 + i), token, f"2026-12-07T10:00:0{i % 10}-08:00"))
            for i in range(n)]


async def test_a_rounds_versions_are_stored_by_one_statement_sqlalchemy_compiles_once(engine, sessionmaker):
    """A multi-row VALUES list was compiled anew every round (its text holds one parameter per value):
    300 rows, 1,200 parameters, in every round of the fleet benchmark's 250. Fails on f5dd9d6."""
    company = uuid.uuid4()
    hits: list[str] = []

    def seen(conn, cursor, statement, parameters, context: DefaultExecutionContext, executemany):  # noqa: ANN001
        if "qbo_written_versions" in statement:
            hits.append(context.cache_hit.name)

    event.listen(engine.sync_engine, "after_cursor_execute", seen)
    try:
        for n, token in ((3, "0"), (7, "1"), (2, "2")):
            async with sessionmaker() as s:
                await versions.remember(s, company, _round(n, token))
                await s.commit()
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", seen)
    assert hits[0] in ("CACHE_MISS", "CACHE_HIT") and hits[1:] == ["CACHE_HIT", "CACHE_HIT"], hits
    async with sessionmaker() as s:
        rows = (await s.execute(select(WrittenVersion.qbo_id, WrittenVersion.sync_token)
                                .where(WrittenVersion.company_id == company))).all()
    # the later rounds overwrite the versions of the same records
    assert dict(rows) == {**{str(1000 + i): "0" for i in range(3)}, **{str(1000 + i): "1" for i in range(7)},
                          "1000": "2", "1001": "2"}
