"""`qbo-integration worker` that counts the SQL statements it sends to PostgreSQL (for the benches).

Every execution counts once per parameter set (an executemany of 300 rows is 300 statements on the
server, as pg_stat_statements would count it); `round_trips` counts calls into the driver;
`compiled` counts statements SQLAlchemy compiled because its cache did not have them (the first use
of each shape, or a statement with no cache key: `uncacheable`), and `sql_texts` the distinct SQL
strings sent (asyncpg prepares each one on every connection, keeping 100 per connection). The
totals are written to $STATEMENT_COUNT_FILE as JSON twice a second and at exit; a `{pid}` in the
path is replaced by the process id (several workers, one file each).

With $STATEMENT_LOG set, every statement is also appended to that file as a JSON line: the company
whose sync job sent it (None outside a job), the code that sent it (the innermost frame of ours outside
db/) and its SQL; bench/job_statements.py reads it.

    STATEMENT_COUNT_FILE=/tmp/n.json python bench/counting_worker.py
    STATEMENT_COUNT_FILE=/tmp/counts/{pid}.json python bench/counting_worker.py
"""

from __future__ import annotations

import atexit
import contextvars
import json
import os
import sys
import threading
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.engine.interfaces import CacheStats  # noqa: E402

COUNTS: Counter = Counter()
_TEXTS: set[str] = set()
_LOCK = threading.Lock()
_LOG = os.environ.get("STATEMENT_LOG", "")
_JOB: contextvars.ContextVar[str | None] = contextvars.ContextVar("statement_job", default=None)


def _verb(statement: str) -> str:
    words = statement.lstrip().split(None, 1)
    return words[0].upper() if words else "?"


@event.listens_for(Engine, "before_cursor_execute")
def _count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
    many = executemany and parameters and isinstance(parameters[0], list | tuple | dict)
    n = len(parameters) if many else 1
    with _LOCK:
        COUNTS["statements"] += n
        COUNTS["round_trips"] += 1
        COUNTS[_verb(statement)] += n
        _TEXTS.add(statement)
        COUNTS["sql_texts"] = len(_TEXTS)
        compiled = context.compiled is not None and context.cache_hit in (CacheStats.CACHE_MISS,
                                                                          CacheStats.NO_CACHE_KEY)
        if compiled:
            COUNTS["compiled"] += 1
            COUNTS["uncacheable"] += context.cache_hit is CacheStats.NO_CACHE_KEY
        if os.environ.get("STATEMENT_SHAPES"):
            COUNTS[f"{statement[:70]}|{executemany}|{type(parameters).__name__}"] += 1
            if compiled:
                COUNTS[f"compiled {context.cache_hit.name}|{statement[:120]}"] += 1
    if _LOG:
        _log_statement(statement, n)


def _caller() -> str:
    """The innermost frame of ours outside db/ (the code that asked for the statement). SQLAlchemy's
    asyncio layer runs the execution in a child greenlet: the caller's frames are its parent's."""
    import greenlet

    g = greenlet.getcurrent()
    frames = traceback.extract_stack(g.parent.gr_frame) if g.parent is not None else []
    for frame in reversed(traceback.extract_stack() + frames):
        f = frame.filename
        if "qbo_integration" in f and "/db/" not in f:
            return f"{f.rsplit('qbo_integration/', 1)[-1]}:{frame.lineno} {frame.name}"
    return "?"


def _log_statement(statement: str, n: int) -> None:
    line = json.dumps({"job": _JOB.get(), "n": n, "caller": _caller(), "sql": " ".join(statement.split())})
    with _LOCK, open(_LOG, "a") as f:
        f.write(line + "\n")


def _tag_sync_jobs() -> None:
    """Statements sent inside a company's sync job (and the tasks it starts) carry its company id."""
    from qbo_integration.sync import engine

    run = engine.run_company_sync

    async def tagged(job_ctx: Any, company_id: Any, *args: Any, **kw: Any) -> Any:
        token = _JOB.set(str(company_id))
        try:
            return await run(job_ctx, company_id, *args, **kw)
        finally:
            _JOB.reset(token)

    engine.run_company_sync = tagged  # type: ignore[assignment]


def _dump() -> None:
    path = os.environ.get("STATEMENT_COUNT_FILE", "").replace("{pid}", str(os.getpid()))
    if not path:
        return
    with _LOCK:
        data = dict(COUNTS)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _dumper() -> None:
    stop = threading.Event()
    while not stop.wait(0.5):
        _dump()


def main() -> int:
    threading.Thread(target=_dumper, daemon=True).start()
    atexit.register(_dump)
    if _LOG:
        _tag_sync_jobs()
    from qbo_integration.cli import main as cli_main

    return cli_main(["worker"])


if __name__ == "__main__":
    raise SystemExit(main())
