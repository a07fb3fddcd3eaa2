"""db.bulk.update_from_values: one UPDATE for many rows, each with its own values, on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text

from qbo_integration.db.bulk import update_from_values
from qbo_integration.sync.models import TimecardSyncRecord as Row


async def _rows(sessionmaker, n: int, token: uuid.UUID) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    async with sessionmaker() as s:
        s.add_all([Row(id=i, company_id=uuid.uuid4(), timecard_id=uuid.uuid4(), state="in_flight", claim_token=token,
                       pending_op="create", pending_body={"old": True}, pending_since=datetime.now(UTC))
                   for i in ids])
        await s.commit()
    return ids


async def test_each_row_gets_its_own_values_and_only_matching_rows_change(sessionmaker):
    token = uuid.uuid4()
    ids = await _rows(sessionmaker, 3, token)
    values = [
        {"id": ids[0], "claim_token": token, "pending_op": "update", "pending_body": {"Id": "7", "n": [1, "b"]}},
        {"id": ids[1], "claim_token": token, "pending_op": "delete", "pending_body": {"Id": "8"}},
        {"id": ids[2], "claim_token": uuid.uuid4(), "pending_op": "update", "pending_body": {}},  # token differs
    ]
    async with sessionmaker() as s:
        res = await s.execute(update_from_values(Row, values, match=("id", "claim_token"),
                                                 assign=("pending_op", "pending_body")).returning(Row.id))
        assert set(res.scalars()) == {ids[0], ids[1]}
        await s.commit()
        got = {r.id: (r.pending_op, r.pending_body) for r in (await s.execute(select(Row))).scalars()}
    assert got == {ids[0]: ("update", {"Id": "7", "n": [1, "b"]}), ids[1]: ("delete", {"Id": "8"}),
                   ids[2]: ("create", {"old": True})}


async def test_none_is_a_typed_sql_null_even_when_a_whole_column_is_none(sessionmaker):
    """A JSON column's None is SQL NULL (not JSON 'null'); a column that is None in every row still
    binds as its own type (an untyped NULL would make the VALUES column text and the UPDATE fail)."""
    token = uuid.uuid4()
    ids = await _rows(sessionmaker, 2, token)
    values = [{"id": i, "pending_body": None, "pending_since": None, "pending_op": None} for i in ids]
    async with sessionmaker() as s:
        await s.execute(update_from_values(Row, values, match=("id",),
                                           assign=("pending_body", "pending_since", "pending_op")))
        await s.commit()
        nulls = (await s.execute(text(
            "SELECT count(*) FROM timecard_sync_records WHERE pending_body IS NULL AND pending_since IS NULL "
            "AND pending_op IS NULL"))).scalar_one()
    assert nulls == 2


def test_the_statement_compiles_once_whatever_the_rows():
    """The rows are parameters, not SQL text: SQLAlchemy caches one compiled statement for every round
    (a VALUES list with the data in it had no cache key, so each round compiled it anew)."""
    def stmt(n: int):
        rows = [{"id": uuid.uuid4(), "pending_op": "create", "pending_body": {"n": i} if i % 2 else None}
                for i in range(n)]
        return update_from_values(Row, rows, match=("id",), assign=("pending_op", "pending_body"))

    first, other = stmt(3)._generate_cache_key(), stmt(300)._generate_cache_key()
    assert first is not None
    assert first == other


async def test_insert_from_values_inserts_each_row_once_and_compiles_once(sessionmaker):
    from qbo_integration.db.bulk import insert_from_values

    def rows(n: int) -> list[dict]:
        return [{"id": uuid.uuid4(), "company_id": uuid.uuid4(), "timecard_id": uuid.uuid4(), "state": "pending",
                 "pending_body": {"n": i} if i % 2 else None} for i in range(n)]

    first, other = rows(2), rows(5)
    assert insert_from_values(Row, first)._generate_cache_key() == insert_from_values(Row, other)._generate_cache_key()
    async with sessionmaker() as s:
        await s.execute(insert_from_values(Row, first))
        # a row already there is skipped quietly; the new one goes in
        await s.execute(insert_from_values(Row, [first[0], other[0]]).on_conflict_do_nothing(index_elements=["id"]))
        await s.commit()
        got = {r.id: r.pending_body for r in (await s.execute(select(Row))).scalars()}
    assert got == {first[0]["id"]: None, first[1]["id"]: {"n": 1}, other[0]["id"]: None}
