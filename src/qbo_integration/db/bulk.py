"""One UPDATE or INSERT for many rows, each with its own values: a sync round writes back hundreds
of rows in one statement instead of one each.

The rows travel as one array parameter per column, `UPDATE … FROM unnest(CAST(:a AS uuid[]), …) AS
v(…)`, not as a `VALUES` list: the statement's text is the same whatever the rows, so SQLAlchemy
compiles it once and PostgreSQL plans it once. A `VALUES` list with the data in it cannot be cached:
compiling a round's write-back anew each time was a quarter of a worker's CPU in the fleet bench,
and a multi-row INSERT's `VALUES` list is compiled anew too (docs/benchmarks.md)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, bindparam, cast, column, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, Insert, insert
from sqlalchemy.sql.dml import Update


@functools.cache
def _array(table: Any, name: str) -> ARRAY[Any]:
    """The array type that carries a column: one dimension (a JSON array value is one element, not a
    nested SQL array), and a JSON column's None is SQL NULL as for every other column (not JSON 'null').
    One object a column, so its cache key is worked out once, not on every statement."""
    t = table.c[name].type
    return ARRAY(JSONB(none_as_null=True) if isinstance(t, JSON) else t, dimensions=1)


def _rows_as_arrays(table: Any, rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Any:
    """`unnest(CAST(:bulk_a AS type[]), …) AS anon(a, …)`: the rows as a table, one array parameter a column."""
    arrays = [cast(bindparam(f"bulk_{n}", [r[n] for r in rows], type_=_array(table, n)), _array(table, n))
              for n in names]
    return func.unnest(*arrays).table_valued(*[column(n, table.c[n].type) for n in names]).render_derived()


def update_from_values(model: type[Any], rows: Sequence[Mapping[str, Any]], *, match: Sequence[str],
                       assign: Sequence[str]) -> Update:
    """UPDATE the mapped class's table SET each `assign` column to the row's value WHERE every `match`
    column equals the row's. Each array carries its table column's type, so NULLs and JSON bind as they
    would in a plain UPDATE. Add further conditions with `.where(...)` on the result."""
    table = model.__table__
    v = _rows_as_arrays(table, rows, [*match, *assign])
    return update(model).where(*(table.c[n] == v.c[n] for n in match)).values({n: v.c[n] for n in assign})


def insert_from_values(model: type[Any], rows: Sequence[Mapping[str, Any]]) -> Insert:
    """INSERT the rows (dicts with the same keys) into the mapped class's table, in one statement
    (PostgreSQL's INSERT: add `.on_conflict_do_nothing(...)` on the result)."""
    table = model.__table__
    names = list(rows[0])
    v = _rows_as_arrays(table, rows, names)
    return insert(model).from_select(names, select(*(v.c[n] for n in names)))
