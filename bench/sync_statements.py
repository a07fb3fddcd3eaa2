"""Database statements per synced timecard: N approved timecards of one company through one real
worker (bench/counting_worker.py counts what it sends to PostgreSQL), into the sandbox.

Issue 17 asks for a set-based round: at most 0.2 statements per synced timecard in bulk. Counted
from the worker being ready (its start-up is left out) to the last timecard synced; an executemany
counts once per row, as the server runs it.

    .venv/bin/python bench/sync_statements.py            # 3,000 timecards
    .venv/bin/python bench/sync_statements.py --small    # 600
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from common import PYTHON, Stack, arg_parser, log, machine, print_table, run
from procs import ROOT


def _read(path: Path) -> dict[str, int]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--timecards", type=int, default=None)
    args = p.parse_args()
    n = args.timecards or (600 if args.small else 3000)
    async with Stack.open("statements") as stack:
        counts_file = stack.logdir / "statements.json"
        stack.worker_argv = [PYTHON, str(ROOT / "bench" / "counting_worker.py")]
        stack.worker_env_extra["STATEMENT_COUNT_FILE"] = str(counts_file)
        c = await stack.add_company(0)
        await stack.add_timecards(c, n)
        await stack.request_sync([c])
        stack.start_workers(1)
        await stack.workers_ready()
        await asyncio.sleep(1.0)  # one dump interval: the start-up's statements are in the file
        before = _read(counts_file)
        t0 = time.monotonic()
        done = await stack.wait_synced([c], n, timeout=n / 500 * 60 * 2 + 120)
        wall = time.monotonic() - t0
        await asyncio.sleep(1.0)
        after = _read(counts_file)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        rec = await stack.reconcile([c])
        log(f"statements {delta}")
        per = delta.get("statements", 0) / max(n, 1)
        verbs = sorted(((k, v) for k, v in delta.items() if k not in ("statements", "round_trips")),
                       key=lambda kv: -kv[1])
        rows = [
            ("machine", machine()),
            ("timecards", f"{n} (one company), 1 worker"),
            ("all synced", done),
            ("wall time, worker ready -> last synced", f"{wall:.1f} s"),
            ("statements (server executions)", f"{delta.get('statements', 0)} = {per:.3f} per synced timecard"),
            ("driver round trips", f"{delta.get('round_trips', 0)} = "
                                   f"{delta.get('round_trips', 0) / max(n, 1):.3f} per synced timecard"),
            ("by verb", ", ".join(f"{k} {v}" for k, v in verbs)),
        ] + [(f"reconcile: {k}", v) for k, v in rec.rows()]
        print_table("sync statements", rows)
        if not rec.clean:
            raise SystemExit(1)


if __name__ == "__main__":
    run(main())
