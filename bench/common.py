"""Shared harness for the benches and the fault campaign (tests/proof).

Everything runs on loopback: a dedicated PostgreSQL database per run (created, migrated, dropped),
a Redis database number >= 10 claimed per run (same claim keys as tests/services.py), the sandbox
in its own process with QBO-like latency, and real `qbo-integration worker` subprocesses.

    async with Stack.open("throughput") as stack:
        companies = [await stack.add_company(i) for i in range(3)]
        await stack.add_timecards(companies[0], 500)
        stack.start_workers(2)
        t0 = await stack.request_sync(companies)
        await stack.wait_synced(total, timeout=120)
        rec = await stack.reconcile(companies)

The pieces live in procs.py, stores.py, stack.py (with sandbox_admin.py, core_data.py, readback.py) and
report.py; this module re-exports them.
"""
from __future__ import annotations

from core_data import BASE_DAY, DEFAULT_TZ, BenchCompany, bench_tag  # noqa: F401
from procs import (  # noqa: F401
    BIN,
    CLI,
    PYTHON,
    SandboxProcess,
    WorkerProcess,
    free_port,
    port_open,
    proc_cpu_seconds,
    proc_status_kb,
    stop_process,
    wait_port,
)
from readback import Reconciliation, timeactivity_hours  # noqa: F401
from report import (  # noqa: F401
    arg_parser,
    log,
    machine,
    percentile,
    print_grid,
    print_table,
    run,
    synced_rate,
)
from sandbox_admin import QBO_LATENCY  # noqa: F401
from stack import Stack, env_for  # noqa: F401
from stores import (  # noqa: F401
    CLAIM_TTL,
    PG_ADMIN_URL,
    REDIS_BASE_URL,
    _dsn,
    _schema_key,
    _template,
    _with_db,
    claim_redis_db,
    create_database,
    drop_database,
    release_redis_db,
)
