"""One UPDATE for many rows, each with its own values (`UPDATE … FROM (VALUES …)`): a sync round
writes back hundreds of rows in one statement instead of one each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import cast, column, null, update, values
from sqlalchemy.sql.dml import Update


def update_from_values(model: type[Any], rows: Sequence[Mapping[str, Any]], *, match: Sequence[str],
                       assign: Sequence[str]) -> Update:
    """UPDATE the mapped class's table SET each `assign` column to the row's value WHERE every `match`
    column equals the row's. Each VALUES column carries its table column's type, so NULLs and JSON bind as they
    would in a plain UPDATE. Add further conditions with `.where(...)` on the result."""
    table = model.__table__
    names = [*match, *assign]

    def value(r: Mapping[str, Any], n: str) -> Any:
        # A typed SQL NULL: not JSON 'null', and not an untyped NULL that makes an all-NULL column text.
        return cast(null(), table.c[n].type) if r[n] is None else r[n]

    v = values(*[column(n, table.c[n].type) for n in names], name="v").data(
        [tuple(value(r, n) for n in names) for r in rows])
    return update(model).where(*(table.c[n] == v.c[n] for n in match)).values({n: v.c[n] for n in assign})
