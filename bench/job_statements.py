"""The SQL statements of ONE company's sync job, in order, and counted by shape (issue 33).

A company with N approved timecards (20 by default, as in the 1,000 x 20 fleet) gets a Sync Now; one
counting worker (bench/counting_worker.py, $STATEMENT_LOG) runs its job against the sandbox; the
statements that job sent (its arq job and the tasks it starts) are printed: each with the code that
sent it, then grouped by shape (verb, table, caller). Deterministic for a given code: the main figure
of "statements per company job". The worker starts before the company exists, as in bench/fleet.py.

    .venv/bin/python bench/job_statements.py                 # 20 timecards, the list and the shapes
    .venv/bin/python bench/job_statements.py --timecards 5 --quiet   # only the shapes
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path

from common import PYTHON, Stack, arg_parser, log, run
from procs import ROOT

_TABLE = re.compile(r"^(SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM|WITH \w+ AS \(.*? FROM)\s+\(?(\w+)", re.I)


def shape(sql: str) -> str:
    """`VERB table`: the statement's verb and the first table it names."""
    verb = sql.split(None, 1)[0].upper() if sql else "?"
    m = _TABLE.match(sql)
    return f"{verb} {m.group(2) if m else '?'}"


def read_log(path: Path, company: str) -> tuple[list[dict], list[dict]]:
    mine, other = [], []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        (mine if rec["job"] == company else other).append(rec)
    return mine, other


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--timecards", type=int, default=20)
    p.add_argument("--quiet", action="store_true", help="only the counts by shape")
    args = p.parse_args()
    async with Stack.open("jobstatements") as stack:
        log_path = stack.logdir / "statements.jsonl"
        stack.worker_argv = [PYTHON, str(ROOT / "bench" / "counting_worker.py")]
        stack.worker_env_extra["STATEMENT_LOG"] = str(log_path)
        stack.start_workers(1)
        await stack.workers_ready()
        await asyncio.sleep(3.0)  # the start-up sweep finds nothing
        c = await stack.add_company(0)
        await stack.add_timecards(c, args.timecards)
        await stack.request_sync([c])
        if not await stack.wait_synced([c], args.timecards, timeout=120):
            raise SystemExit("the timecards did not sync")
        await asyncio.sleep(2.0)  # the job finishes its row after the write-back
        mine, other = read_log(log_path, str(c.company_id))
    if not args.quiet:
        for i, rec in enumerate(mine, 1):
            n = f" x{rec['n']}" if rec["n"] != 1 else ""
            print(f"{i:3} {rec['caller']:<58} {rec['sql'][:110]}{n}")
    by_shape = Counter((shape(r["sql"]), r["caller"].split(" ", 1)[-1]) for r in mine)
    print(f"\n{len(mine)} statements in the job of one company with {args.timecards} timecards "
          f"(executions: {sum(r['n'] for r in mine)}); by shape and caller:")
    for (sh, caller), k in sorted(by_shape.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{k:4}  {sh:<40} {caller}")
    verbs = Counter(shape(r["sql"]).split()[0] for r in mine)
    print("by verb: " + ", ".join(f"{v} {k}" for v, k in verbs.most_common()))
    log(f"{len(other)} statements of the worker outside the job meanwhile")


if __name__ == "__main__":
    run(main())
