"""db.bulk: one UPDATE or INSERT for many rows, each with its own values, on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, Integer, Numeric, String, Text, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from qbo_integration.db.bulk import insert_from_values, update_from_values
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
    binds as its own type (an untyped NULL array would be text[] and the UPDATE fail)."""
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


class _Scratch(DeclarativeBase):
    pass


class Typed(_Scratch):
    """A column of every kind the bulk statements may carry (a temporary table, see `_typed_table`)."""

    __tablename__ = "bulk_typed"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ref: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    code: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    n: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flag: Mapped[bool | None] = mapped_column(Boolean)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    doc: Mapped[dict | list | str | None] = mapped_column(JSONB)


async def _typed_table(s) -> None:
    # Dropped when the test's transaction ends: nothing is left behind, and parallel runs do not meet.
    await s.execute(text("CREATE TEMP TABLE bulk_typed (id uuid PRIMARY KEY, ref uuid, code varchar(20), note text, "
                         "n integer, at timestamptz, flag boolean, amount numeric(12, 2), doc jsonb) ON COMMIT DROP"))


async def _typed_rows(s) -> dict[uuid.UUID, dict]:
    s.expire_all()
    return {r.id: {c: getattr(r, c) for c in Typed.__table__.c.keys()} for r in (await s.execute(select(Typed))).scalars()}


def _typed_values() -> list[dict]:
    at = datetime(2026, 3, 8, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    full = {"ref": uuid.uuid4(), "code": "a,b", "note": 'quote \' "double" {brace} back\\slash é', "n": 2**31 - 1,
            "at": at, "flag": True, "amount": Decimal("1234.56"), "doc": {"Id": "7", "Line": [{"n": 1}, None]}}
    nulls = dict.fromkeys(full)
    return [
        {"id": uuid.uuid4(), **full},
        {"id": uuid.uuid4(), **nulls},
        {"id": uuid.uuid4(), "ref": None, "code": "", "note": "", "n": 0, "at": at, "flag": False,
         "amount": Decimal("-0.50"), "doc": []},
        # A JSON array is one value of the column, not a dimension of the SQL array that carries the column.
        {"id": uuid.uuid4(), **nulls, "doc": [1, "two", [3, 4], {"five": [6]}]},
        {"id": uuid.uuid4(), **nulls, "doc": [[1, 2], [3, 4]]},
        {"id": uuid.uuid4(), **nulls, "doc": "just a string"},
    ]


async def test_every_column_type_and_null_round_trips_through_insert_and_update(sessionmaker):
    rows = _typed_values()
    async with sessionmaker() as s:
        await _typed_table(s)
        await s.execute(insert_from_values(Typed, rows))
        assert await _typed_rows(s) == {r["id"]: r for r in rows}

        # Every row takes another row's values (NULLs over values, values over NULLs, arrays over objects).
        shifted = [{**rows[(i + 1) % len(rows)], "id": r["id"]} for i, r in enumerate(rows)]
        columns = [c for c in Typed.__table__.c.keys() if c != "id"]
        res = await s.execute(update_from_values(Typed, shifted, match=("id",), assign=columns))
        assert res.rowcount == len(rows)
        assert await _typed_rows(s) == {r["id"]: r for r in shifted}
        json_nulls = (await s.execute(text("SELECT count(*) FROM bulk_typed WHERE doc = 'null'::jsonb"))).scalar_one()
        assert json_nulls == 0  # None is SQL NULL, never JSON null


async def test_a_json_array_in_the_first_row_is_one_value_not_a_second_dimension(sessionmaker):
    """Without a fixed dimension, SQLAlchemy took a first value that is a list for a nested SQL array and
    sent its items as array elements (asyncpg: "non-homogeneous array", or rows of the wrong shape)."""
    rows = [{"id": uuid.uuid4(), "doc": doc} for doc in ([1, [2, 3]], [[1], [2]], {"a": 1}, None)]
    async with sessionmaker() as s:
        await _typed_table(s)
        await s.execute(insert_from_values(Typed, rows))
        swapped = [{**r, "doc": [r["doc"], "again"]} for r in rows]
        await s.execute(update_from_values(Typed, swapped, match=("id",), assign=("doc",)))
        got = {r.id: r.doc for r in (await s.execute(select(Typed).execution_options(populate_existing=True))).scalars()}
    assert got == {r["id"]: r["doc"] for r in swapped}


async def test_a_column_that_is_none_in_every_row_keeps_its_type(sessionmaker):
    rows = [{"id": uuid.uuid4(), **{c: None for c in Typed.__table__.c.keys() if c != "id"}} for _ in range(2)]
    async with sessionmaker() as s:
        await _typed_table(s)
        await s.execute(insert_from_values(Typed, rows))
        await s.execute(update_from_values(Typed, rows, match=("id",), assign=[c for c in rows[0] if c != "id"]))
        assert await _typed_rows(s) == {r["id"]: r for r in rows}


def test_the_typed_statements_compile_once_whatever_the_rows():
    a, b = _typed_values(), _typed_values()[:2]
    columns = [c for c in a[0] if c != "id"]
    assert insert_from_values(Typed, a)._generate_cache_key() == insert_from_values(Typed, b)._generate_cache_key()
    assert (update_from_values(Typed, a, match=("id",), assign=columns)._generate_cache_key()
            == update_from_values(Typed, b, match=("id",), assign=columns)._generate_cache_key())
